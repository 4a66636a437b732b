"""Shared variables: symbolic variables with a value that persists between function calls.

Theano's home for these names. The base class and the `shared()` registry live in
the graph layer (graphcore.graph.shared), the tensor kind in the tensor core
(graphcore.tensor.variable, its constructor in graphcore.tensor.basic), so the layers
below compile can make and recognise shared variables; this module re-exports them,
and adds Theano's `generic` type: shared variables of any Python object
(`shared({"epoch": 0})`, `shared(None)`, `shared("name")`), which functions read and
update like any other shared variable.
"""

import copy

import numpy as np

from graphcore.graph.shared import Container, SharedVariable, shared, shared_constructor
from graphcore.graph.type import Type
from graphcore.tensor.variable import TensorSharedVariable


class Generic(Type):
    """The type of any Python object (Theano's `generic`): filter accepts every value."""

    def filter(self, data, strict=False, allow_downcast=None, name=None):
        return data

    def values_eq(self, a, b):
        try:
            return bool(a == b)
        except Exception:  # objects whose == is elementwise or raises
            return a is b

    def value_signature(self, data):
        return id(data)

    def __eq__(self, other):
        return type(other) is type(self)

    def __hash__(self):
        return hash(type(self))

    def __str__(self):
        return "generic"

    __repr__ = __str__


generic = Generic()


class GenericSharedVariable(SharedVariable):
    """A shared variable holding any Python object."""


@shared_constructor
def generic_constructor(value, name=None, strict=False, allow_downcast=None, borrow=False,
                        **kwargs):
    """Objects no array type takes (dicts, strings, None, mixed lists) become generic."""
    if kwargs or isinstance(value, (np.ndarray, np.generic, np.random.Generator,
                                    np.random.RandomState, int, float, complex, bool)):
        return None
    try:
        kind = np.asarray(value).dtype.kind
    except Exception:
        kind = "O"
    if kind not in "OUSV":
        return None  # numbers and nested lists of numbers are tensors
    return GenericSharedVariable(generic, value if borrow else copy.deepcopy(value), name=name,
                                 strict=strict, allow_downcast=allow_downcast)


__all__ = ["Container", "SharedVariable", "TensorSharedVariable", "shared", "shared_constructor",
           "Generic", "generic", "GenericSharedVariable", "generic_constructor"]
