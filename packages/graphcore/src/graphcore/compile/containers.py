"""Theano's container interface of a compiled function: `f[x]`, `f.value[x]`, `f.container[x]`.

A key is an input's position, its name, or its Variable; the shared variables a
function reads are found by Variable (and by name when no input has it). The
container of an input holds its stored value: the default of `In(x, value=)`,
the state of `In(x, value=, update=)`, a shared variable's value.
"""

from __future__ import annotations

from typing import Any

from graphcore.graph.basic import Variable
from graphcore.graph.shared import Container


def named_inputs_info(names: list[str], n_unnamed: int) -> str:
    """Theano's description of which inputs can be passed by keyword."""
    def plural(n: int) -> str:
        return "s" if n > 1 else ""

    if not names:
        if n_unnamed == 0:
            return "The function is supposed to have no input."
        if n_unnamed == 1:
            return ("The function has a single input variable which has no name, and thus cannot "
                    "be assigned through a keyword argument (use 'name=...' in a Variable's "
                    "constructor to give it a name).")
        return (f"The function has {n_unnamed} inputs, but none of them is named, and thus they "
                "cannot be assigned through keyword arguments (use 'name=...' in a Variable's "
                "constructor to give it a name).")
    text = f"The function has {len(names)} named input{plural(len(names))} ({', '.join(names)})"
    if n_unnamed == 0:
        return text + "."
    return (f"{text}, and {n_unnamed} unnamed input{plural(n_unnamed)} which thus cannot be "
            f"accessed through keyword argument{plural(n_unnamed)} (use 'name=...' in a "
            "variable's constructor to give it a name).")


def find_container(fn: Any, key: Any) -> Container:
    """The container behind `key` (position, name or Variable) in compiled function `fn`."""
    inputs = fn.maker.inputs
    k = None
    if isinstance(key, Variable):
        k = next((j for j, i in enumerate(inputs) if i.variable is key), None)
        if k is None:
            shared = next((s for s in fn.maker.implicit_shared if s is key), None)
            if shared is not None:
                return shared.container
    elif isinstance(key, str):
        k = fn.input_names.get(key)
        if k is None:
            shared = [s for s in fn.maker.implicit_shared if s.name == key]
            if len(shared) == 1:
                return shared[0].container
    elif isinstance(key, int) and not isinstance(key, bool) and -len(inputs) <= key < len(inputs):
        k = key % len(inputs)
    if k is None:
        names = [i.name for i in inputs if i.name is not None]
        raise TypeError(f"Unknown input or state: {key}. "
                        f"{named_inputs_info(names, len(inputs) - len(names))}")
    return fn.input_container(k)


class ValueView:
    """`f.value[key]`: read or set the stored value of an input or shared variable."""

    def __init__(self, fn: Any) -> None:
        self._fn = fn

    def __getitem__(self, key: Any) -> Any:
        return find_container(self._fn, key).value

    def __setitem__(self, key: Any, value: Any) -> None:
        self._fn[key] = value

    def __contains__(self, key: Any) -> bool:
        try:
            find_container(self._fn, key)
        except TypeError:
            return False
        return True


class ContainerView(ValueView):
    """`f.container[key]`: the Container itself (read-only mapping), to share with
    another function (`In(x, value=f.container[x])`) or to read later values."""

    def __getitem__(self, key: Any) -> Container:
        return find_container(self._fn, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        raise TypeError("f.container is read-only: set a value with f[key] = value or "
                        "f.value[key] = value")
