"""Index arithmetic: searchsorted, unravel_index, ravel_multi_index, choose (NumPy's semantics,
NumPy's errors).

Each is an op whose `perform` follows NumPy, so out-of-range indices raise a
ValueError at run time. searchsorted, unravel_index and ravel_multi_index give
integers: their gradient is zero almost everywhere (searchsorted w.r.t. its
float inputs, as in Theano) or disconnected (integer inputs). choose is
differentiable in the choices (through the equivalent graph of switches).
"""

from __future__ import annotations

import numpy as np

from graphcore.config import config
from graphcore.graph import hooks
from graphcore.graph.basic import Apply
from graphcore.graph.null_type import disconnected_type
from graphcore.graph.op import Op
from graphcore.tensor import math
from graphcore.tensor.basic import as_tensor_variable, cast
from graphcore.tensor.creation import arange
from graphcore.tensor.shape import shape_i
from graphcore.tensor.type import TensorType


def _is_int(dtype):
    return np.dtype(dtype).kind in "iu"


def _float_zeros_like(x):
    dtype = x.type.dtype if np.dtype(x.type.dtype).kind in "fc" else config.floatX
    return math.zeros_like(x, dtype=dtype)


# ------------------------------------------------------------- searchsorted
class SearchsortedOp(Op):
    """np.searchsorted(x, v, side, sorter): where v's entries would go in the sorted vector x."""

    __props__ = ("side",)

    def __init__(self, side="left"):
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        self.side = side

    def make_node(self, x, v, sorter=None):
        x, v = as_tensor_variable(x), as_tensor_variable(v)
        if x.type.ndim != 1:
            raise TypeError(f"searchsorted: x must be a vector (1-d sorted array), got {x.type}")
        inputs = [x, v]
        if sorter is not None:
            sorter = as_tensor_variable(sorter)
            if sorter.type.ndim != 1 or not _is_int(sorter.type.dtype):
                raise TypeError(f"searchsorted: sorter must be an integer vector, got {sorter.type}")
            inputs.append(sorter)
        return Apply(self, inputs, [TensorType("int64", v.type.shape)()])

    def perform(self, node, inputs, output_storage):
        x, v, *sorter = inputs
        sorter = sorter[0] if sorter else None
        if sorter is not None and sorter.shape != x.shape:
            raise ValueError(f"searchsorted: sorter of shape {sorter.shape} does not match x of "
                             f"shape {x.shape}")
        out = np.searchsorted(x, v, side=self.side, sorter=sorter)
        output_storage[0][0] = np.asarray(out, dtype="int64")

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[1]]

    def L_op(self, inputs, outputs, output_grads):
        # piecewise constant in x and v: zero gradient (Theano's choice, so costs built on it
        # still differentiate); the integer sorter is not connected
        res = [_float_zeros_like(inputs[0]), _float_zeros_like(inputs[1])]
        return res + [disconnected_type()] * (len(inputs) - 2)

    def connection_pattern(self, node):
        return [[True], [True]] + [[False]] * (len(node.inputs) - 2)


def searchsorted(x, v, side="left", sorter=None):
    """np.searchsorted: int64 indices, shaped like v, where v would be inserted to keep x sorted."""
    return SearchsortedOp(side)(x, v, sorter)


# ----------------------------------------------------------- unravel_index
def _static_vector_length(dims, fname):
    dims = as_tensor_variable(dims)
    if dims.type.ndim != 1 or not _is_int(dims.type.dtype):
        raise TypeError(f"{fname}: dims must be an integer vector (or tuple of ints), got "
                        f"{dims.type}")
    n = dims.type.shape[0]
    if n is None:
        raise ValueError(f"{fname}: the length of dims must be known when the graph is built "
                         f"(pass a tuple, or a vector with a static shape); got {dims.type}")
    return cast(dims, "int64"), n


class UnravelIndex(Op):
    """np.unravel_index(indices, dims, order): one int64 coordinate array per dimension."""

    __props__ = ("order",)

    def __init__(self, order="C"):
        if order not in ("C", "F"):
            raise ValueError(f"unravel_index: order must be 'C' or 'F', got {order!r}")
        self.order = order

    def make_node(self, indices, dims):
        indices = as_tensor_variable(indices)
        if not _is_int(indices.type.dtype):
            raise TypeError(f"unravel_index: indices must be integers, got {indices.type}")
        dims, n = _static_vector_length(dims, "unravel_index")
        outs = [TensorType("int64", indices.type.shape)() for _ in range(n)]
        return Apply(self, [indices, dims], outs)

    def perform(self, node, inputs, output_storage):
        indices, dims = inputs
        res = np.unravel_index(indices, tuple(int(d) for d in dims), order=self.order)
        for cell, r in zip(output_storage, res):
            cell[0] = np.asarray(r, dtype="int64")

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]] * len(node.outputs)

    def L_op(self, inputs, outputs, output_grads):
        return [disconnected_type(), disconnected_type()]

    def connection_pattern(self, node):
        return [[False] * len(node.outputs)] * 2


def unravel_index(indices, dims, order="C"):
    """np.unravel_index: a tuple of int64 coordinate arrays (one per entry of dims) shaped like
    indices. The length of dims must be known when the graph is built."""
    out = UnravelIndex(order)(indices, dims)
    return tuple(out) if isinstance(out, list) else (out,)


# -------------------------------------------------------- ravel_multi_index
def _broadcast_static(shapes):
    nd = max((len(s) for s in shapes), default=0)
    out = []
    for d in range(nd):
        known = [s[d - nd + len(s)] for s in shapes if d - nd + len(s) >= 0]
        not_one = {k for k in known if k is not None and k != 1}
        if len(not_one) > 1:
            return None, sorted(not_one)
        if not_one:
            out.append(not_one.pop())
        elif all(k == 1 for k in known):
            out.append(1)
        else:
            out.append(None)
    return tuple(out), None


class RavelMultiIndex(Op):
    """np.ravel_multi_index(multi_index, dims, mode, order): flat int64 indices."""

    __props__ = ("mode", "order")

    def __init__(self, mode="raise", order="C"):
        modes = mode if isinstance(mode, tuple) else (mode,)
        for m in modes:
            if m not in ("raise", "wrap", "clip"):
                raise ValueError(f"ravel_multi_index: mode must be 'raise', 'wrap' or 'clip' "
                                 f"(or a tuple of them), got {m!r}")
        if order not in ("C", "F"):
            raise ValueError(f"ravel_multi_index: order must be 'C' or 'F', got {order!r}")
        self.mode, self.order = mode, order

    def make_node(self, *inputs):
        *multi_index, dims = inputs
        multi_index = [as_tensor_variable(i) for i in multi_index]
        for k, i in enumerate(multi_index):
            if not _is_int(i.type.dtype):
                raise TypeError(f"ravel_multi_index: multi_index[{k}] must be integers, got "
                                f"{i.type}")
        dims, n = _static_vector_length(dims, "ravel_multi_index")
        if n != len(multi_index):
            raise ValueError(f"ravel_multi_index: {len(multi_index)} index arrays for {n} dims")
        shape, clash = _broadcast_static([i.type.shape for i in multi_index])
        if shape is None:
            raise ValueError(f"ravel_multi_index: the index arrays cannot be broadcast together "
                             f"(lengths {clash} in one dimension)")
        return Apply(self, multi_index + [dims], [TensorType("int64", shape)()])

    def perform(self, node, inputs, output_storage):
        *multi_index, dims = inputs
        out = np.ravel_multi_index(tuple(multi_index), tuple(int(d) for d in dims),
                                   mode=self.mode, order=self.order)
        output_storage[0][0] = np.asarray(out, dtype="int64")

    def infer_shape(self, fgraph, node, input_shapes):
        shapes = input_shapes[:-1]
        nd = node.outputs[0].type.ndim
        out = []
        for d in range(nd):
            length = None
            for s in shapes:
                j = d - nd + len(s)
                if j < 0:
                    continue
                # broadcasting: a length of 1 gives way to the other
                length = s[j] if length is None else math.switch(math.eq(length, 1), s[j], length)
            out.append(length)
        return [tuple(out)]

    def L_op(self, inputs, outputs, output_grads):
        return [disconnected_type() for _ in inputs]

    def connection_pattern(self, node):
        return [[False]] * len(node.inputs)


def ravel_multi_index(multi_index, dims, mode="raise", order="C"):
    """np.ravel_multi_index: the flat int64 index of each coordinate tuple in an array of shape
    dims (index arrays broadcast together)."""
    if not isinstance(multi_index, (list, tuple)):
        raise TypeError(f"ravel_multi_index: multi_index must be a tuple or list of integer "
                        f"arrays, got {type(multi_index).__name__}")
    mode = tuple(mode) if isinstance(mode, list) else mode
    return RavelMultiIndex(mode, order)(*multi_index, dims)


# ------------------------------------------------------------------ choose
class Choose(Op):
    """np.choose(a, choices, mode): out[i] = choices[a[i]][i], everything broadcast together.

    Inputs: the int index array a, then either each choice (`stacked=False`) or one
    tensor whose first axis runs over the choices (`stacked=True`).
    """

    __props__ = ("mode", "stacked")

    def __init__(self, mode="raise", stacked=False):
        if mode not in ("raise", "wrap", "clip"):
            raise ValueError(f"choose: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
        self.mode, self.stacked = mode, bool(stacked)

    def make_node(self, a, *choices):
        a = as_tensor_variable(a)
        if not _is_int(a.type.dtype):
            raise TypeError(f"choose: a must be integers, got {a.type}")
        choices = [as_tensor_variable(c) for c in choices]
        if not choices:
            raise ValueError("choose: needs at least one choice")
        if self.stacked:
            if len(choices) != 1 or choices[0].type.ndim < 1:
                raise TypeError(f"choose: stacked choices must be one tensor of at least one "
                                f"dimension, got {[c.type for c in choices]}")
            shapes = [choices[0].type.shape[1:]]
        else:
            shapes = [c.type.shape for c in choices]
        shape, clash = _broadcast_static([a.type.shape] + shapes)
        if shape is None:
            raise ValueError(f"choose: a and the choices cannot be broadcast together (lengths "
                             f"{clash} in one dimension)")
        dtype = np.result_type(*[c.type.dtype for c in choices]).name
        return Apply(self, [a] + choices, [TensorType(dtype, shape)()])

    def perform(self, node, inputs, output_storage):
        a, *choices = inputs
        if self.stacked:
            choices = list(choices[0])
        n = len(choices)
        a = np.asarray(a)
        if self.mode == "raise":
            if a.size and (a.min() < 0 or a.max() >= n):
                raise ValueError(f"choose: index {a.min() if a.min() < 0 else a.max()} is out "
                                 f"of range for {n} choices (mode='raise')")
        elif self.mode == "clip":
            a = np.clip(a, 0, n - 1)
        else:
            a = np.mod(a, n)
        a, *choices = np.broadcast_arrays(a, *choices)
        out = np.empty(a.shape, dtype=node.outputs[0].type.dtype)
        for i, c in enumerate(choices):  # np.choose without its limit of 32/64 choices
            mask = a == i
            out[mask] = c[mask]
        output_storage[0][0] = out

    def infer_shape(self, fgraph, node, input_shapes):
        shapes = [input_shapes[0]] + ([input_shapes[1][1:]] if self.stacked else input_shapes[1:])
        nd = node.outputs[0].type.ndim
        out = []
        for d in range(nd):
            length = None
            for s in shapes:
                j = d - nd + len(s)
                if j >= 0:
                    length = s[j] if length is None else \
                        math.switch(math.eq(length, 1), s[j], length)
            out.append(length)
        return [tuple(out)]

    def _index(self, a, n):
        if self.mode == "clip":
            return math.clip(a, 0, n - 1)
        if self.mode == "wrap":
            return math.mod(a, n)
        return a

    def L_op(self, inputs, outputs, output_grads):
        # the same selection as a graph of switches, whose gradient handles the broadcasting
        a, *choices = inputs
        g = output_grads[0]
        if self.stacked:
            c = choices[0]
            d = max(a.type.ndim, c.type.ndim - 1)
            ap = a.dimshuffle(*(["x"] * (d - a.type.ndim + 1) + list(range(a.type.ndim))))
            cp = c.dimshuffle(0, *(["x"] * (d - c.type.ndim + 1) + list(range(1, c.type.ndim))))
            idx = arange(shape_i(c, 0), dtype="int64").dimshuffle(0, *(["x"] * d))
            mask = math.eq(self._index(ap, shape_i(c, 0)), idx)
            expr = math.sum(math.switch(mask, cp, 0), axis=0)
        else:
            n = len(choices)
            ai = self._index(a, n)
            expr = math.fill(a, choices[-1])
            for i in reversed(range(n - 1)):
                expr = math.switch(math.eq(ai, i), choices[i], expr)
        expr = cast(expr, outputs[0].type.dtype)
        gs = hooks.grad(None, choices, known_grads={expr: g}, disconnected_inputs="ignore",
                  return_disconnected="zero")
        return [disconnected_type()] + list(gs)

    def connection_pattern(self, node):
        return [[False]] + [[True]] * (len(node.inputs) - 1)


def choose(a, choices, out=None, mode="raise"):
    """np.choose: picks, for each entry of a, the entry of choices[a] (a list of tensors, or one
    tensor whose first axis indexes the choices), all broadcast together; differentiable in
    the choices."""
    if out is not None:
        raise ValueError("choose: out= is not supported; use the returned tensor")
    if isinstance(choices, (list, tuple)):
        return Choose(mode, stacked=False)(a, *choices)
    return Choose(mode, stacked=True)(a, choices)


__all__ = ["Choose", "choose", "SearchsortedOp", "searchsorted", "UnravelIndex", "unravel_index",
           "RavelMultiIndex", "ravel_multi_index"]
