"""In and Out: how function() treats each input and output."""

from __future__ import annotations

from graphcore.graph.basic import Variable
from graphcore.graph.shared import Container


class In:
    """An input of a compiled function.

    value: default used when the argument is omitted (the input becomes
    optional); a `Container` (another function's `f.container[x]`) shares that
    storage with the other function. update: an expression whose value
    replaces the stored value after each call (a state, kept between calls);
    implicit: the caller may not pass a value (default: True exactly when
    value is a Container); mutable: the function may overwrite the argument's
    buffer; borrow: the function may keep a reference to it.
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
        self.implicit = isinstance(value, Container) if implicit is None else bool(implicit)
        self.borrow = borrow
        if update is not None and value is None:
            raise ValueError(f"In({self.name}): an input with an update needs a value")
        if self.implicit and value is None:
            raise ValueError(f"In({self.name}): an implicit input needs a value")

    @property
    def required(self):
        return self.value is None

    def __repr__(self):
        return f"In({self.variable})"


def as_in(item):
    """An element of function()'s input list as an In, with Theano's shortcuts: a Variable
    `r`; `(name, r)`; `(r, value)`; `((r, update), value)`; `(name, r, value)`;
    `(name, (r, update), value)`."""
    if isinstance(item, In):
        return item
    if isinstance(item, Variable):
        return In(item)
    if isinstance(item, tuple) and len(item) in (2, 3):
        if len(item) == 3:
            name, (target, value) = item[0], item[1:]
        elif isinstance(item[0], str):
            return In(item[1], name=item[0])
        else:
            name, (target, value) = None, item
        if isinstance(target, tuple) and len(target) == 2:
            return In(target[0], name=name, value=value, update=target[1])
        return In(target, name=name, value=value)
    raise TypeError(f"is a {type(item).__name__} ({item!r}), expected a symbolic Variable, an "
                    "In, or one of Theano's tuples: (name, r), (r, value), ((r, update), value), "
                    "(name, r, value), (name, (r, update), value)")


class Out:
    """An output; borrow=True lets the function return its internal buffer (no copy)."""

    def __init__(self, variable, borrow=False):
        self.variable = variable
        self.borrow = borrow

    def __repr__(self):
        return f"Out({self.variable}, borrow={self.borrow})"
