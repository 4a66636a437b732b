"""In and Out: how function() treats each input and output."""

from __future__ import annotations

from graphcore.graph.basic import Variable


class In:
    """An input of a compiled function.

    value: default used when the argument is omitted (the input becomes
    optional); update: an expression whose value replaces the stored default
    after each call (a private state); mutable: the function may overwrite the
    argument's buffer; borrow: the function may keep a reference to it.
    """

    def __init__(self, variable, name=None, value=None, update=None, mutable=None,
                 strict=False, allow_downcast=None, autoname=True, implicit=None, borrow=False,
                 shared=False):
        if not isinstance(variable, Variable):
            raise TypeError(f"In: expected a symbolic Variable, got {type(variable).__name__}")
        if variable.owner is not None:
            raise TypeError(f"In: {variable} is computed by {variable.owner.op}; function inputs must "
                            "be root variables (use givens= to substitute an expression)")
        self.variable = variable
        self.name = name if name is not None else (variable.name if autoname else None)
        self.value = value
        self.update = update
        self.mutable = bool(mutable) if mutable is not None else False
        self.strict = strict
        self.allow_downcast = allow_downcast
        self.implicit = implicit
        self.borrow = borrow
        if update is not None and value is None:
            raise ValueError(f"In({self.name}): an input with an update needs a value")

    @property
    def required(self):
        return self.value is None

    def __repr__(self):
        return f"In({self.variable})"


class Out:
    """An output; borrow=True lets the function return its internal buffer (no copy)."""

    def __init__(self, variable, borrow=False):
        self.variable = variable
        self.borrow = borrow

    def __repr__(self):
        return f"Out({self.variable}, borrow={self.borrow})"
