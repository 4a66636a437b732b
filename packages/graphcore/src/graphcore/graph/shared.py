"""Shared variables: symbolic variables with a value that persists between function calls.

The graph layer holds the SharedVariable base, its value Container and the `shared()`
constructor registry, so a type defined in any layer registers its own shared variables
(tensors in graphcore.tensor.basic, random generators in graphcore.tensor.random.type).
graphcore.compile.sharedvalue re-exports these names (Theano's home for them).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from graphcore.graph.basic import Variable
from graphcore.graph.type import Type


class Container:
    """Holds a shared variable's current value; every compiled function reads the same one."""

    __slots__ = ("value", "__weakref__")

    def __init__(self, value: Any) -> None:
        self.value = value

    def __getstate__(self) -> dict[str, Any]:
        return {"value": self.value}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.value = state["value"]


class SharedVariable(Variable):
    """A variable whose value lives between calls; functions use it as an implicit input.

    `default_update`, when set, is an expression applied after each call of a
    function that uses this variable (unless that function updates it itself
    or was compiled with no_default_updates).
    """

    default_update: Variable  # absent until set: `hasattr(v, "default_update")` tells

    def __init__(self, type: Type, value: Any, name: str | None = None, strict: bool = False,
                 allow_downcast: bool | None = None, container: Container | None = None) -> None:
        super().__init__(type, None, None, name)
        if container is not None:
            self.container = container
        else:
            self.container = Container(type.filter(value, strict=strict, allow_downcast=allow_downcast,
                                                   name=name))
        self.strict = strict
        self.allow_downcast = allow_downcast

    def get_value(self, borrow: bool = False, return_internal_type: bool = False) -> Any:
        """The current value (a copy unless borrow=True)."""
        value = self.container.value
        return value if borrow else copy.deepcopy(value)

    def set_value(self, new_value: Any, borrow: bool = False) -> None:
        """Replace the value; it is checked against the type (a copy is stored unless borrow=True)."""
        try:
            value = self.type.filter(new_value, strict=self.strict,
                                     allow_downcast=self.allow_downcast, name=self.name)
        except TypeError as exc:
            what = f"input {self.name!r}: " if self.name else "value: "
            text = str(exc)
            if text.startswith(what):
                text = text[len(what):]
            text = text.replace("pass allow_input_downcast=True",
                                "create it with shared(..., allow_downcast=True)")
            raise TypeError(f"set_value of shared variable {self.name or self}: {text}") from None
        if not borrow and value is new_value:
            value = copy.deepcopy(value)
        self.container.value = value

    @property
    def value(self) -> Any:
        return self.get_value()

    def clone(self, name: str | None = None) -> SharedVariable:
        cp = type(self)(self.type, None, name=self.name if name is None else name,
                        strict=self.strict, allow_downcast=self.allow_downcast, container=self.container)
        cp.tag = copy.copy(self.tag)
        if hasattr(self, "default_update"):
            cp.default_update = self.default_update
        return cp

    def __str__(self) -> str:
        return self.name if self.name is not None else f"<shared {self.type}>"


SharedConstructor = Callable[..., "SharedVariable | None"]

_constructors: list[SharedConstructor] = []


def shared_constructor(fn: SharedConstructor) -> SharedConstructor:
    """Register `fn(value, name, strict, allow_downcast, borrow, **kw)`; newest first, None = not mine."""
    _constructors.insert(0, fn)
    return fn


def shared(value: Any, name: str | None = None, strict: bool = False, allow_downcast: bool | None = None,
           borrow: bool = False, **kwargs: Any) -> SharedVariable:
    """A shared variable holding `value` (copied unless borrow=True).

    Its static shape is unknown in every dimension (the value may later change
    shape); pass `shape=` or `broadcastable=` to fix some dimensions.
    """
    if isinstance(value, Variable):
        raise TypeError("shared() takes a value, not a symbolic variable")
    for ctor in _constructors:
        var = ctor(value, name=name, strict=strict, allow_downcast=allow_downcast, borrow=borrow, **kwargs)
        if var is not None:
            return var
    raise TypeError(f"shared(): no shared-variable type accepts a {type(value).__name__}")
