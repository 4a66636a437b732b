"""Sorting along an axis: sort, argsort (NumPy semantics, NaNs last) and their gradients."""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Apply
from graphcore.graph.op import Op
from graphcore.tensor.basic import as_tensor_variable
from graphcore.tensor.type import TensorType

_KINDS = ("quicksort", "mergesort", "heapsort", "stable")


def _check_kind(kind, what):
    if kind not in _KINDS:
        raise ValueError(f"{what}: kind must be one of {_KINDS}, got {kind!r}")
    return kind


def _prepare(a, axis, what):
    """(a, axis) with axis None meaning: flatten first (NumPy), and axis made non-negative."""
    a = as_tensor_variable(a)
    if axis is None:
        return a.flatten(), 0
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{what}: axis must be an int or None, got {axis!r}")
    nd = a.type.ndim
    if nd == 0:
        raise ValueError(f"{what}: cannot sort a 0-d tensor along an axis; use axis=None")
    if not -nd <= axis < nd:
        raise ValueError(f"{what}: axis {axis} is out of bounds for {a} with {nd} dimensions")
    return a, int(axis) % nd


class Sort(Op):
    """The values of x sorted along `axis` (ascending; NaNs last, as np.sort)."""

    __props__ = ("axis", "kind")

    def __init__(self, axis=-1, kind="quicksort"):
        self.axis = int(axis)
        self.kind = _check_kind(kind, "sort")

    def make_node(self, x):
        x = as_tensor_variable(x)
        if not -x.type.ndim <= self.axis < x.type.ndim:
            raise ValueError(f"{self}: axis {self.axis} is out of bounds for {x} of type {x.type}")
        if np.dtype(x.type.dtype).kind == "c":
            raise TypeError(f"{self}: complex numbers are not ordered")
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.sort(inputs[0], axis=self.axis, kind=self.kind)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        # sort(x) = x permuted by argsort(x): the gradient is gz put back in x's order
        x, = inputs
        idx = ArgSort(self.axis, self.kind)(x)
        return [PermuteAlongAxis(self.axis)(output_grads[0], ArgSort(self.axis, "stable")(idx))]


class ArgSort(Op):
    """Indices (int64) that sort x along `axis` (np.argsort)."""

    __props__ = ("axis", "kind")

    def __init__(self, axis=-1, kind="quicksort"):
        self.axis = int(axis)
        self.kind = _check_kind(kind, "argsort")

    def make_node(self, x):
        x = as_tensor_variable(x)
        if not -x.type.ndim <= self.axis < x.type.ndim:
            raise ValueError(f"{self}: axis {self.axis} is out of bounds for {x} of type {x.type}")
        if np.dtype(x.type.dtype).kind == "c":
            raise TypeError(f"{self}: complex numbers are not ordered")
        return Apply(self, [x], [TensorType("int64", x.type.shape)()])

    def perform(self, node, inputs, output_storage):
        res = np.argsort(inputs[0], axis=self.axis, kind=self.kind)
        output_storage[0][0] = res.astype("int64", copy=False)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def grad(self, inputs, gz):
        from graphcore.gradient import disconnected_type

        return [disconnected_type()]

    def connection_pattern(self, node):
        return [[False]]


class PermuteAlongAxis(Op):
    """x rearranged along `axis` by `perm` (np.take_along_axis), where each slice of perm is a
    permutation; the gradient applies the inverse permutation."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def make_node(self, x, perm):
        x, perm = as_tensor_variable(x), as_tensor_variable(perm)
        if perm.type.dtype != "int64" or perm.type.ndim != x.type.ndim:
            raise TypeError(f"{self}: perm must be an int64 tensor with the {x.type.ndim} dimensions "
                            f"of x, got {perm.type}")
        return Apply(self, [x, perm], [x.type()])

    def perform(self, node, inputs, output_storage):
        x, perm = inputs
        output_storage[0][0] = np.take_along_axis(x, perm, axis=self.axis)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        from graphcore.gradient import disconnected_type

        _, perm = inputs
        inverse = ArgSort(self.axis, "stable")(perm)
        return [PermuteAlongAxis(self.axis)(output_grads[0], inverse), disconnected_type()]

    def connection_pattern(self, node):
        return [[True], [False]]


def sort(a, axis=-1, kind="quicksort", order=None):
    """a sorted along `axis` (None: the flattened array), as np.sort; differentiable."""
    if order is not None:
        raise ValueError("sort: `order` (for structured arrays) is not supported")
    a, axis = _prepare(a, axis, "sort")
    return Sort(axis, kind)(a)


def argsort(a, axis=-1, kind="quicksort", order=None):
    """int64 indices that sort a along `axis` (None: the flattened array), as np.argsort."""
    if order is not None:
        raise ValueError("argsort: `order` (for structured arrays) is not supported")
    a, axis = _prepare(a, axis, "argsort")
    return ArgSort(axis, kind)(a)


__all__ = ["Sort", "ArgSort", "PermuteAlongAxis", "sort", "argsort"]
