"""Sorting along an axis: sort, argsort (NumPy semantics, NaNs last) and their gradients."""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Apply
from graphcore.graph.null_type import DisconnectedType, disconnected_type
from graphcore.graph.op import Op
from graphcore.tensor import math
from graphcore.tensor.basic import as_tensor_variable, cast
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


class _SortOp(Op):
    """Sort and ArgSort: one ordered (not complex) input x, a result of x's shape along `axis`."""

    __props__ = ("axis", "kind")

    def __init__(self, axis=-1, kind="quicksort"):
        self.axis = int(axis)
        self.kind = _check_kind(kind, type(self).__name__.lower())

    def _ordered_input(self, x):
        x = as_tensor_variable(x)
        if not -x.type.ndim <= self.axis < x.type.ndim:
            raise ValueError(f"{self}: axis {self.axis} is out of bounds for {x} of type {x.type}")
        if np.dtype(x.type.dtype).kind == "c":
            raise TypeError(f"{self}: complex numbers are not ordered")
        return x

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]


class Sort(_SortOp):
    """The values of x sorted along `axis` (ascending; NaNs last, as np.sort)."""

    def make_node(self, x):
        x = self._ordered_input(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.sort(inputs[0], axis=self.axis, kind=self.kind)

    def L_op(self, inputs, outputs, output_grads):
        # sort(x) = x permuted by argsort(x): the gradient is gz put back in x's order
        x, = inputs
        idx = ArgSort(self.axis, self.kind)(x)
        return [PermuteAlongAxis(self.axis)(output_grads[0], ArgSort(self.axis, "stable")(idx))]


class ArgSort(_SortOp):
    """Indices (int64) that sort x along `axis` (np.argsort)."""

    def make_node(self, x):
        x = self._ordered_input(x)
        return Apply(self, [x], [TensorType("int64", x.type.shape)()])

    def perform(self, node, inputs, output_storage):
        res = np.argsort(inputs[0], axis=self.axis, kind=self.kind)
        output_storage[0][0] = res.astype("int64", copy=False)

    def grad(self, inputs, gz):
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
        _, perm = inputs
        inverse = ArgSort(self.axis, "stable")(perm)
        return [PermuteAlongAxis(self.axis)(output_grads[0], inverse), disconnected_type()]

    def connection_pattern(self, node):
        return [[True], [False]]


class TopK(Op):
    """The |kth| largest (kth > 0) or smallest (kth < 0) entries along `axis` and their indices.

    Outputs (values, int64 indices), ordered from the most extreme; ties keep the
    lower index first. kth is a static int (as the output shape depends on it).
    """

    __props__ = ("axis", "kth")

    def __init__(self, axis, kth):
        self.axis = int(axis)
        self.kth = int(kth)
        if self.kth == 0:
            raise ValueError("topk: kth must be a non-zero int")

    def make_node(self, x):
        x = as_tensor_variable(x)
        if not 0 <= self.axis < x.type.ndim:
            raise ValueError(f"{self}: axis {self.axis} is out of bounds for {x} of type {x.type}")
        if np.dtype(x.type.dtype).kind == "c":
            raise TypeError(f"{self}: complex numbers are not ordered")
        n = x.type.shape[self.axis]
        if n is not None and abs(self.kth) > n:
            raise ValueError(f"{self}: |kth| = {abs(self.kth)} is larger than the length {n} of axis "
                             f"{self.axis}")
        shape = list(x.type.shape)
        shape[self.axis] = abs(self.kth)
        return Apply(self, [x], [TensorType(x.type.dtype, shape)(), TensorType("int64", shape)()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        k = abs(self.kth)
        if k > x.shape[self.axis]:
            raise ValueError(f"{self}: |kth| = {k} is larger than the length {x.shape[self.axis]} "
                             f"of axis {self.axis} (input shape {x.shape})")
        key = x if self.kth < 0 else _descending_key(x)
        idx = np.argsort(key, axis=self.axis, kind="stable")
        idx = np.take(idx, np.arange(k), axis=self.axis).astype("int64")
        output_storage[0][0] = np.take_along_axis(x, idx, axis=self.axis)
        output_storage[1][0] = idx

    def infer_shape(self, fgraph, node, input_shapes):
        shape = list(input_shapes[0])
        shape[self.axis] = abs(self.kth)
        return [tuple(shape)] * 2

    def L_op(self, inputs, outputs, output_grads):
        x, = inputs
        gz = output_grads[0]
        if isinstance(gz.type, DisconnectedType):
            return [math.zeros_like(x)]
        return [ScatterAlongAxis(self.axis)(x, outputs[1], gz)]

    def connection_pattern(self, node):
        return [[True, False]]


def _descending_key(x):
    """A key whose ascending order is x's descending order (NaNs still last)."""
    if x.dtype.kind == "b":
        return ~x
    if x.dtype.kind in "iu":
        return np.invert(x)  # order-reversing without overflow
    return np.where(np.isnan(x), np.inf, -x)


class ScatterAlongAxis(Op):
    """zeros_like(x) with `values` put at `indices` along `axis` (the gradient of a gather)."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def make_node(self, x, indices, values):
        x, indices, values = (as_tensor_variable(v) for v in (x, indices, values))
        return Apply(self, [x, indices, values], [TensorType(x.type.dtype, x.type.shape)()])

    def perform(self, node, inputs, output_storage):
        x, idx, values = inputs
        out = np.zeros(x.shape, dtype=node.outputs[0].type.dtype)
        np.put_along_axis(out, idx, values, axis=self.axis)
        output_storage[0][0] = out

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        x, idx, _ = inputs
        return [disconnected_type(), disconnected_type(), GatherAlongAxis(self.axis)(output_grads[0], idx)]

    def connection_pattern(self, node):
        return [[False], [False], [True]]


class GatherAlongAxis(Op):
    """np.take_along_axis(x, indices, axis)."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def make_node(self, x, indices):
        x, indices = as_tensor_variable(x), as_tensor_variable(indices)
        if indices.type.ndim != x.type.ndim or np.dtype(indices.type.dtype).kind not in "iu":
            raise TypeError(f"{self}: indices must be an integer tensor with the {x.type.ndim} "
                            f"dimensions of x, got {indices.type}")
        return Apply(self, [x, indices], [TensorType(x.type.dtype, indices.type.shape)()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.take_along_axis(inputs[0], inputs[1], axis=self.axis)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[1]]

    def L_op(self, inputs, outputs, output_grads):
        x, idx = inputs
        return [ScatterAlongAxis(self.axis)(x, idx, output_grads[0]), disconnected_type()]

    def connection_pattern(self, node):
        return [[True], [False]]


def _topk(x, kth, axis, what):
    x = as_tensor_variable(x)
    if not isinstance(kth, (int, np.integer)):
        raise TypeError(f"{what}: kth must be a Python int (the output shape depends on it), "
                        f"got {kth!r}")
    if axis is None:
        x, axis = x.flatten(), 0
    x, axis = _prepare(x, axis, what)
    return TopK(axis, kth)(x)


def topk(x, kth, axis=-1, sorted=True, idx_dtype="int64"):
    """The kth largest entries of x along `axis` (the |kth| smallest for kth < 0), most extreme
    first; differentiable."""
    return _topk(x, kth, axis, "topk")[0]


def argtopk(x, kth, axis=-1, sorted=True, idx_dtype="int64"):
    """The int64 indices of topk(x, kth, axis)."""
    return _topk(x, kth, axis, "argtopk")[1]


def topk_and_argtopk(x, kth, axis=-1, sorted=True, idx_dtype="int64"):
    """(topk(x, kth, axis), argtopk(x, kth, axis)) from one op."""
    values, indices = _topk(x, kth, axis, "topk_and_argtopk")
    return values, indices


def inverse_permutation(perm):
    """The inverse of the permutation(s) along the last axis of the integer tensor perm."""
    perm = as_tensor_variable(perm)
    if np.dtype(perm.type.dtype).kind not in "iu" or perm.type.ndim == 0:
        raise TypeError(f"inverse_permutation: expected an integer vector (or tensor), got {perm.type}")
    return ArgSort(perm.type.ndim - 1, "stable")(perm)


def permute_row_elements(x, y, inverse=False):
    """x with its last axis permuted by y (y[..., i] says which entry comes i-th); y may be a
    single vector used for every row. inverse=True applies the inverse permutation."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if np.dtype(y.type.dtype).kind not in "iu" or not 1 <= y.type.ndim <= x.type.ndim:
        raise TypeError(f"permute_row_elements: y must be an integer tensor with 1 to {x.type.ndim} "
                        f"dimensions, got {y.type}")
    y = cast(y, "int64")
    if y.type.ndim < x.type.ndim:
        y = y.dimshuffle(["x"] * (x.type.ndim - y.type.ndim) + list(range(y.type.ndim)))
    if inverse:
        y = ArgSort(y.type.ndim - 1, "stable")(y)
    return PermuteAlongAxis(x.type.ndim - 1)(x, y)


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


ArgSortOp = ArgSort  # Theano's names
TopKOp = TopK

__all__ = ["ArgSortOp", "TopKOp", "Sort", "ArgSort", "PermuteAlongAxis", "TopK", "ScatterAlongAxis", "GatherAlongAxis",
           "sort", "argsort", "topk", "argtopk", "topk_and_argtopk", "inverse_permutation",
           "permute_row_elements"]
