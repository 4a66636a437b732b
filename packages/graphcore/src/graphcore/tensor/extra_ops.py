"""Array manipulation ops: repeat, tile, roll, diagonal/diag (extract and allocate), bincount,
unique, bartlett, compress; Theano's extra_ops names (searchsorted & co. live in index_tricks)."""

from __future__ import annotations

import numpy as np

from graphcore.config import config
from graphcore.graph.basic import Apply, Variable
from graphcore.graph.null_type import disconnected_type
from graphcore.graph.hooks import tensor_api
from graphcore.graph.op import Op, ShapeInferenceNotImplemented
from graphcore.tensor import math
from graphcore.tensor.advanced_subtensor import flatnonzero, take
from graphcore.tensor.basic import alloc, as_tensor_variable, cast
from graphcore.tensor.creation import arange, eye
from graphcore.tensor.join import concatenate, split
from graphcore.tensor.shape import (get_static_shape_value, reshape, shape_i, shape_tuple,
                                    vector_entries)
from graphcore.tensor.subtensor import getitem
from graphcore.tensor.type import TensorType

# Theano's extra_ops also held these
from graphcore.tensor.cumulative import CumOp, cumprod, cumsum  # noqa: F401
from graphcore.tensor.index_tricks import (RavelMultiIndex, SearchsortedOp,  # noqa: F401
                                           UnravelIndex, ravel_multi_index, searchsorted,
                                           unravel_index)
from graphcore.tensor.shape import squeeze  # noqa: F401


def _is_int(dtype):
    return np.dtype(dtype).kind in "iu"


# ------------------------------------------------------------------ repeat
class Repeat(Op):
    """np.repeat(x, repeats, axis): each element along `axis` repeated (scalar or per-element)."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def make_node(self, x, repeats):
        x, repeats = as_tensor_variable(x), as_tensor_variable(repeats)
        if not _is_int(repeats.type.dtype) or repeats.type.ndim > 1:
            raise TypeError(f"repeat: repeats must be an integer scalar or vector, got {repeats.type}")
        if not 0 <= self.axis < x.type.ndim:
            raise ValueError(f"repeat: axis {self.axis} is out of range for {x} with "
                             f"{x.type.ndim} dimensions")
        shape = list(x.type.shape)
        if repeats.type.ndim == 0:
            r = get_static_shape_value(repeats)
            if r is not None and r < 0:
                raise ValueError(f"repeat: repeats must be non-negative, got {r}")
            n = shape[self.axis]
            shape[self.axis] = None if r is None or n is None else r * n
        else:
            n, rn = shape[self.axis], repeats.type.shape[0]
            if n is not None and rn is not None and rn not in (n, 1):
                raise ValueError(f"repeat: {rn} repeats for dimension {self.axis} of length {n}")
            total = None
            if hasattr(repeats, "data"):
                data = np.asarray(repeats.data)
                if np.any(data < 0):
                    raise ValueError(f"repeat: repeats must be non-negative, got {data}")
                if rn == 1:
                    total = None if n is None else int(data[0]) * n
                else:
                    total = int(np.sum(data))
            shape[self.axis] = total
        return Apply(self, [x, cast(repeats, "int64")], [TensorType(x.type.dtype, tuple(shape))()])

    def perform(self, node, inputs, output_storage):
        x, repeats = inputs
        try:
            output_storage[0][0] = np.repeat(x, repeats, axis=self.axis)
        except ValueError as exc:
            raise ValueError(f"repeat: x of shape {x.shape}, repeats of shape {repeats.shape} "
                             f"along axis {self.axis}: {exc}") from None

    def infer_shape(self, fgraph, node, input_shapes):
        x, repeats = node.inputs
        out = list(input_shapes[0])
        static = node.outputs[0].type.shape[self.axis]
        if static is not None:
            out[self.axis] = static
        elif repeats.type.ndim == 0:
            out[self.axis] = math.mul(out[self.axis], repeats)
        elif repeats.type.shape[0] == 1:
            out[self.axis] = math.mul(out[self.axis], math.sum(repeats))
        else:
            out[self.axis] = math.sum(repeats)
        return [tuple(out)]

    def grad(self, inputs, gz):
        x, repeats = inputs
        g = gz[0]
        if repeats.type.ndim == 0:
            shp = list(shape_tuple(x))
            shp.insert(self.axis + 1, repeats)
            gx = math.sum(reshape(g, shp), axis=self.axis + 1)
        else:
            gx = RepeatGrad(self.axis)(g, repeats, x)
        return [cast(gx, x.type.dtype), disconnected_type()]

    def connection_pattern(self, node):
        return [[True], [False]]


class RepeatGrad(Op):
    """The gradient of repeat with per-element repeats: sums of the repeated slices."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def make_node(self, g, repeats, x):
        return Apply(self, [g, repeats, x], [TensorType(g.type.dtype, x.type.shape)()])

    def perform(self, node, inputs, output_storage):
        g, repeats, x = inputs
        n = x.shape[self.axis]
        reps = np.broadcast_to(repeats, (n,))
        idx = np.repeat(np.arange(n), reps)
        out = np.zeros(x.shape, dtype=g.dtype)
        np.add.at(np.moveaxis(out, self.axis, 0), idx, np.moveaxis(g, self.axis, 0))
        output_storage[0][0] = out

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(input_shapes[2])]

    def grad(self, inputs, gz):
        return [Repeat(self.axis)(gz[0], inputs[1]), disconnected_type(), disconnected_type()]

    def connection_pattern(self, node):
        return [[True], [False], [False]]


def repeat(x, repeats, axis=None):
    """np.repeat: repeat the elements of x (flattened when axis is None) `repeats` times."""
    x = as_tensor_variable(x)
    if axis is None:
        x = x.flatten()
        axis = 0
    nd = x.type.ndim
    if not -nd <= axis < nd:
        raise ValueError(f"repeat: axis {axis} is out of range for {x} with {nd} dimensions")
    return Repeat(axis % nd)(x, repeats)


# -------------------------------------------------------------------- tile
def tile(x, reps, ndim=None):
    """np.tile: x repeated `reps` times along each axis (reps: ints or symbolic scalars).

    Built from alloc and reshape, so it has a gradient and runs on every backend.
    """
    x = as_tensor_variable(x)
    if isinstance(reps, Variable):
        if reps.type.ndim == 0:
            reps = [reps]
        else:
            entries = vector_entries(reps)
            if entries is None:
                raise ValueError("tile: give reps as a list of ints or scalars (a symbolic vector "
                                 "of unknown entries cannot be unpacked)")
            reps = entries
    elif isinstance(reps, (int, np.integer)):
        reps = [reps]
    reps = list(reps)
    for i, r in enumerate(reps):
        if isinstance(r, Variable) and (r.type.ndim != 0 or not _is_int(r.type.dtype)):
            raise TypeError(f"tile: reps[{i}] must be an integer scalar, got {r.type}")
    n = max(len(reps), x.type.ndim)
    if ndim is not None:
        if ndim < n:
            raise ValueError(f"tile: ndim={ndim} is smaller than the {n} dimensions needed")
        n = ndim
    reps = [1] * (n - len(reps)) + reps
    if x.type.ndim < n:
        x = x.dimshuffle(["x"] * (n - x.type.ndim) + list(range(x.type.ndim)))
    if all(isinstance(r, (int, np.integer)) and r == 1 for r in reps):
        return x
    dims = [s if s is not None else shape_i(x, d) for d, s in enumerate(x.type.shape)]
    pattern, target = [], []
    for d in range(n):
        pattern += ["x", d]
        target += [reps[d], dims[d]]

    big = alloc(x.dimshuffle(pattern), *target)
    return reshape(big, [int(r) * s if isinstance(r, (int, np.integer)) and isinstance(s, int)
                         else math.mul(cast(as_tensor_variable(r), "int64"), s)
                         for r, s in zip(reps, dims)])


# -------------------------------------------------------------------- roll
def roll(x, shift, axis=None):
    """np.roll: elements shifted by `shift` along `axis` (x flattened when axis is None)."""
    x = as_tensor_variable(x)
    if axis is None:
        if x.type.ndim == 0:
            return x
        return reshape(roll(x.flatten(), shift, 0), shape_tuple(x))
    if isinstance(axis, (list, tuple)):
        shifts = shift if isinstance(shift, (list, tuple)) else [shift] * len(axis)
        if len(shifts) != len(axis):
            raise ValueError("roll: shift and axis must have the same length")
        for s, a in zip(shifts, axis):
            x = roll(x, s, a)
        return x
    nd = x.type.ndim
    if not -nd <= axis < nd:
        raise ValueError(f"roll: axis {axis} is out of range for {x} with {nd} dimensions")
    axis %= nd
    shift = as_tensor_variable(shift)
    if shift.type.ndim != 0 or not _is_int(shift.type.dtype):
        raise TypeError(f"roll: shift must be an integer scalar, got {shift.type}")
    n = shape_i(x, axis)
    s = math.mod(cast(shift, "int64"), math.maximum(n, 1))  # np.roll: shift modulo the length
    head, tail = split(x, [math.sub(n, s), s], 2, axis=axis)
    return concatenate([tail, head], axis=axis)


# ---------------------------------------------------------------- diagonal
def _diag_len(n1, n2, offset):
    if isinstance(n1, int) and isinstance(n2, int):
        return max(0, min(n1 - max(0, -offset), n2 - max(0, offset)))
    return math.maximum(math.minimum(math.sub(n1, max(0, -offset)), math.sub(n2, max(0, offset))), 0)


class ExtractDiag(Op):
    """np.diagonal(x, offset, axis1, axis2): the diagonal moved to the last axis (a copy)."""

    __props__ = ("offset", "axis1", "axis2")

    def __init__(self, offset=0, axis1=0, axis2=1, view=False):
        # `view` is accepted for Theano compatibility; the result is always a copy
        self.offset, self.axis1, self.axis2 = int(offset), int(axis1), int(axis2)

    def make_node(self, x):
        x = as_tensor_variable(x)
        nd = x.type.ndim
        if nd < 2:
            raise ValueError(f"diagonal: expected at least 2 dimensions, got {x.type}")
        if not (0 <= self.axis1 < nd and 0 <= self.axis2 < nd) or self.axis1 == self.axis2:
            raise ValueError(f"diagonal: axes {self.axis1}, {self.axis2} are not two distinct "
                             f"axes of {x} with {nd} dimensions")
        s1, s2 = x.type.shape[self.axis1], x.type.shape[self.axis2]
        n = _diag_len(s1, s2, self.offset) if s1 is not None and s2 is not None else None
        rest = [s for d, s in enumerate(x.type.shape) if d not in (self.axis1, self.axis2)]
        return Apply(self, [x], [TensorType(x.type.dtype, tuple(rest) + (n,))()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.diagonal(inputs[0], self.offset, self.axis1, self.axis2).copy()

    def infer_shape(self, fgraph, node, input_shapes):
        sh = input_shapes[0]
        rest = [s for d, s in enumerate(sh) if d not in (self.axis1, self.axis2)]
        static = node.outputs[0].type.shape[-1]
        n = static if static is not None else _diag_len(sh[self.axis1], sh[self.axis2], self.offset)
        return [tuple(rest) + (n,)]

    def grad(self, inputs, gz):
        return [ExtractDiagGrad(self.offset, self.axis1, self.axis2)(inputs[0], gz[0])]

    def R_op(self, inputs, eval_points):
        return [None if eval_points[0] is None else self(eval_points[0])]


def _diag_index(shape, offset, axis1, axis2):
    n = len(np.diagonal(np.empty((shape[axis1], shape[axis2]), dtype=bool), offset))
    i = np.arange(n) + max(0, -offset)
    j = np.arange(n) + max(0, offset)
    return i, j


class ExtractDiagGrad(Op):
    """Zeros like x with `g` written on the diagonal that ExtractDiag reads."""

    __props__ = ("offset", "axis1", "axis2")

    def __init__(self, offset, axis1, axis2):
        self.offset, self.axis1, self.axis2 = int(offset), int(axis1), int(axis2)

    def make_node(self, x, g):
        x, g = as_tensor_variable(x), as_tensor_variable(g)
        return Apply(self, [x, g], [TensorType(g.type.dtype, x.type.shape)()])

    def perform(self, node, inputs, output_storage):
        x, g = inputs
        out = np.zeros(x.shape, dtype=node.outputs[0].type.dtype)
        i, j = _diag_index(x.shape, self.offset, self.axis1, self.axis2)
        np.moveaxis(out, (self.axis1, self.axis2), (-2, -1))[..., i, j] = g
        output_storage[0][0] = out

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(input_shapes[0])]

    def grad(self, inputs, gz):
        return [disconnected_type(), ExtractDiag(self.offset, self.axis1, self.axis2)(gz[0])]

    def connection_pattern(self, node):
        return [[False], [True]]


class AllocDiag(Op):
    """A square matrix with the vector v on diagonal `offset`, zeros elsewhere (np.diag of a vector)."""

    __props__ = ("offset",)

    def __init__(self, offset=0):
        self.offset = int(offset)

    def make_node(self, v):
        v = as_tensor_variable(v)
        if v.type.ndim != 1:
            raise ValueError(f"AllocDiag: expected a vector, got {v.type}")
        n = v.type.shape[0]
        m = None if n is None else n + abs(self.offset)
        return Apply(self, [v], [TensorType(v.type.dtype, (m, m))()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.diag(inputs[0], self.offset)

    def infer_shape(self, fgraph, node, input_shapes):
        n = input_shapes[0][0]
        m = n + abs(self.offset) if isinstance(n, int) else math.add(n, abs(self.offset))
        return [(m, m)]

    def grad(self, inputs, gz):
        return [ExtractDiag(self.offset, 0, 1)(gz[0])]

    def R_op(self, inputs, eval_points):
        return [None if eval_points[0] is None else self(eval_points[0])]


def diagonal(x, offset=0, axis1=0, axis2=1):
    """np.diagonal: the diagonal of x over axis1, axis2, appended as the last axis."""
    x = as_tensor_variable(x)
    nd = x.type.ndim
    if nd < 2:
        raise ValueError(f"diagonal: expected at least 2 dimensions, got {x.type}")
    for a in (axis1, axis2):
        if not -nd <= a < nd:
            raise ValueError(f"diagonal: axis {a} is out of range for {x} with {nd} dimensions")
    return ExtractDiag(offset, axis1 % nd, axis2 % nd)(x)


extract_diag = diagonal


def diag(v, k=0):
    """np.diag: a vector gives a matrix with it on diagonal k; a matrix gives its diagonal k."""
    v = as_tensor_variable(v)
    if v.type.ndim == 1:
        return AllocDiag(k)(v)
    if v.type.ndim == 2:
        return ExtractDiag(k, 0, 1)(v)
    raise ValueError(f"diag: expected a vector or a matrix, got {v.type}")


def alloc_diag(v, offset=0):
    """A matrix with v on diagonal `offset`."""
    return AllocDiag(offset)(v)


def fill_diagonal(a, val):
    """a with its main diagonal set to the scalar val (a copy; np.fill_diagonal for matrices)."""
    a = as_tensor_variable(a)
    if a.type.ndim != 2:
        raise ValueError(f"fill_diagonal: expected a matrix, got {a.type}")
    mask = eye(shape_i(a, 0), shape_i(a, 1), 0, dtype="bool")
    return math.switch(mask, cast(as_tensor_variable(val), a.type.dtype), a)


# ------------------------------------------------------------- diff, bincount
def diff(x, n=1, axis=-1):
    """np.diff: the n-th discrete difference along `axis` (slices, so it has a gradient)."""
    x = as_tensor_variable(x)
    nd = x.type.ndim
    if nd == 0:
        raise ValueError("diff: needs at least one dimension")
    if not -nd <= axis < nd:
        raise ValueError(f"diff: axis {axis} is out of range for {x} with {nd} dimensions")
    if n < 0:
        raise ValueError(f"diff: order n must be non-negative, got {n}")
    axis %= nd
    for _ in range(int(n)):
        hi = [slice(None)] * nd
        lo = [slice(None)] * nd
        hi[axis], lo[axis] = slice(1, None), slice(None, -1)
        a, b = getitem(x, tuple(hi)), getitem(x, tuple(lo))
        x = math.neq(a, b) if x.type.dtype == "bool" else math.sub(a, b)
    return x


class BinCount(Op):
    """np.bincount(x, weights, minlength) for a non-negative integer vector x."""

    __props__ = ("weighted",)

    def __init__(self, weighted=False):
        self.weighted = bool(weighted)

    def make_node(self, x, weights, minlength):
        x = as_tensor_variable(x)
        if x.type.ndim != 1 or not _is_int(x.type.dtype):
            raise TypeError(f"bincount: x must be an integer vector, got {x.type}")
        inputs = [x]
        dtype = "int64"
        if self.weighted:
            weights = as_tensor_variable(weights)
            if weights.type.ndim != 1:
                raise TypeError(f"bincount: weights must be a vector, got {weights.type}")
            dtype = np.result_type(weights.type.dtype, np.float64).name \
                if np.dtype(weights.type.dtype).kind in "biu" else weights.type.dtype
            inputs.append(weights)
        minlength = cast(as_tensor_variable(minlength), "int64")
        return Apply(self, inputs + [minlength], [TensorType(dtype, (None,))()])

    def perform(self, node, inputs, output_storage):
        x, *rest = inputs
        weights = rest[0] if self.weighted else None
        if x.size and x.min() < 0:
            raise ValueError(f"bincount: x must be non-negative, got a minimum of {x.min()}")
        if weights is not None and weights.shape != x.shape:
            raise ValueError(f"bincount: weights of shape {weights.shape} do not match x of "
                             f"shape {x.shape}")
        out = np.bincount(x, weights=weights, minlength=int(rest[-1]))
        output_storage[0][0] = out.astype(node.outputs[0].type.dtype, copy=False)

    def infer_shape(self, fgraph, node, input_shapes):
        x, minlength = node.inputs[0], node.inputs[-1]
        # max(x) + 1 (0 for an empty x), at least minlength

        top = math.add(math.max(concatenate([cast(x, "int64"), _minus_one()])), 1)
        return [(math.maximum(top, minlength),)]

    def L_op(self, inputs, outputs, output_grads):
        g = output_grads[0]
        res = [disconnected_type()]
        if self.weighted:
            res.append(cast(getitem(g, inputs[0]), inputs[1].type.dtype))
        return res + [disconnected_type()]

    def connection_pattern(self, node):
        return [[False]] + [[True]] * self.weighted + [[False]]


def _minus_one():
    return as_tensor_variable(np.array([-1], dtype="int64"))


def bincount(x, weights=None, minlength=None, assert_nonneg=False):
    """np.bincount: counts (or summed weights) of each value of the non-negative int vector x."""
    if minlength is None:
        minlength = 0
    op = BinCount(weights is not None)
    return op(x, weights, minlength) if weights is not None else op(x, None, minlength)


def to_one_hot(y, nb_class, dtype=None):
    """Theano's to_one_hot: a (len(y), nb_class) matrix with a 1 at (i, y[i])."""
    y = as_tensor_variable(y)
    if y.type.ndim != 1 or not _is_int(y.type.dtype):
        raise TypeError(f"to_one_hot: y must be an integer vector, got {y.type}")
    hot = math.eq(y.dimshuffle(0, "x"), arange(nb_class, dtype=y.type.dtype).dimshuffle("x", 0))
    return cast(hot, dtype or config.floatX)


def fill_diagonal_offset(a, val, offset):
    """a with diagonal `offset` set to the scalar val (a copy; Theano's fill_diagonal_offset)."""
    a = as_tensor_variable(a)
    if a.type.ndim != 2:
        raise ValueError(f"fill_diagonal_offset: expected a matrix, got {a.type}")
    mask = eye(shape_i(a, 0), shape_i(a, 1), offset, dtype="bool")
    return math.switch(mask, cast(as_tensor_variable(val), a.type.dtype), a)


class Unique(Op):
    """np.unique of the flattened x: sorted unique values, and optionally index/inverse/counts."""

    __props__ = ("return_index", "return_inverse", "return_counts")

    def __init__(self, return_index=False, return_inverse=False, return_counts=False):
        self.return_index = bool(return_index)
        self.return_inverse = bool(return_inverse)
        self.return_counts = bool(return_counts)

    def make_node(self, x):
        x = as_tensor_variable(x)
        outs = [TensorType(x.type.dtype, (None,))()]
        if self.return_index:
            outs.append(TensorType("int64", (None,))())
        if self.return_inverse:
            outs.append(TensorType("int64", (None,))())
        if self.return_counts:
            outs.append(TensorType("int64", (None,))())
        return Apply(self, [x], outs)

    def perform(self, node, inputs, output_storage):
        res = np.unique(inputs[0].reshape(-1), return_index=self.return_index,
                        return_inverse=self.return_inverse, return_counts=self.return_counts)
        res = res if isinstance(res, tuple) else (res,)
        for cell, var, r in zip(output_storage, node.outputs, res):
            cell[0] = np.asarray(r, dtype=var.type.dtype).reshape(-1)

    def infer_shape(self, fgraph, node, input_shapes):
        raise ShapeInferenceNotImplemented(self)  # the number of unique values is data


def unique(ar, return_index=False, return_inverse=False, return_counts=False):
    """np.unique of the flattened array: a tensor, or a list when extra outputs are asked for."""
    out = Unique(return_index, return_inverse, return_counts)(ar)
    return list(out) if isinstance(out, list) else out


# ---------------------------------------------------------- bartlett, compress
class Bartlett(Op):
    """np.bartlett(M): the triangular window of M points (float64; empty for M < 1)."""

    __props__ = ()

    def make_node(self, M):
        M = as_tensor_variable(M)
        if M.type.ndim != 0 or not _is_int(M.type.dtype):
            raise TypeError(f"bartlett: M must be an integer scalar, got {M.type}")

        m = get_static_shape_value(M)
        return Apply(self, [M], [TensorType("float64", (None if m is None else max(m, 0),))()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.bartlett(int(inputs[0])).astype("float64")

    def infer_shape(self, fgraph, node, input_shapes):
        return [(math.maximum(cast(node.inputs[0], "int64"), 0),)]

    def L_op(self, inputs, outputs, output_grads):
        return [disconnected_type()]

    def connection_pattern(self, node):
        return [[False]]


def bartlett(M):
    """np.bartlett: the Bartlett (triangular) window of M points, a float64 vector."""
    return Bartlett()(M)


def compress(condition, x, axis=None):
    """np.compress: the slices of x along `axis` (x flattened when None) where condition is true.

    condition may be shorter than that axis (NumPy's rule); the gradient flows to x.
    """
    condition = as_tensor_variable(condition)
    if condition.type.ndim != 1:
        raise TypeError(f"compress: condition must be a vector, got {condition.type}")
    return take(x, flatnonzero(condition), axis=axis)


__all__ = ["Repeat", "ExtractDiag", "AllocDiag", "repeat", "tile", "roll", "diagonal", "diag",
           "extract_diag", "alloc_diag", "fill_diagonal", "diff", "bincount", "BinCount", "to_one_hot",
           "CumOp", "cumsum", "cumprod", "squeeze", "fill_diagonal_offset", "Unique", "unique",
           "Bartlett", "bartlett", "compress", "SearchsortedOp", "searchsorted", "UnravelIndex",
           "unravel_index", "RavelMultiIndex", "ravel_multi_index"]

# for the tensor core below: TensorVariable's methods
tensor_api.register(repeat=repeat, diagonal=diagonal)
