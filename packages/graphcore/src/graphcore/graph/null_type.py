"""The types of gradients that do not exist: disconnected, undefined, or not implemented.

They sit in the graph layer, below every op family, so that an op's `grad` can
say "no gradient here" without importing the gradient machinery above it.
"""

from __future__ import annotations

from graphcore.graph.type import Type


class DisconnectedType(Type):
    """The type of a gradient that does not exist because the output does not depend on the input."""

    def filter(self, data, strict=False, allow_downcast=None, name=None):
        raise TypeError("a disconnected gradient has no value")

    def __eq__(self, other):
        return type(other) is type(self)

    def __hash__(self):
        return hash(type(self))

    def __str__(self):
        return "DisconnectedType"


class NullType(Type):
    """The type of a gradient that is mathematically undefined or not implemented; `why` says which."""

    def __init__(self, why=""):
        self.why = why

    def filter(self, data, strict=False, allow_downcast=None, name=None):
        raise TypeError(f"undefined gradient: {self.why}")

    def __eq__(self, other):
        return type(other) is type(self) and other.why == self.why

    def __hash__(self):
        return hash((type(self), self.why))

    def __str__(self):
        return "NullType"


def disconnected_type():
    return DisconnectedType()()


def grad_undefined(op, x_pos, x, comment=""):
    """The gradient of `op` w.r.t. its input `x_pos` does not exist mathematically."""
    return NullType(f"the gradient of {op} with respect to input {x_pos} is undefined. {comment}")()


def grad_not_implemented(op, x_pos, x, comment=""):
    """`op` has no gradient implementation for its input `x_pos`."""
    return NullType(f"{op} does not implement the gradient with respect to input {x_pos}. "
                    f"{comment}")()
