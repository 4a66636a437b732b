"""Array creation: eye, identity_like, arange, linspace, tri/tril/triu, full_like."""

from __future__ import annotations

import numpy as np

from graphcore.config import config
from graphcore.graph.basic import Apply
from graphcore.graph.null_type import disconnected_type
from graphcore.graph.op import Op
from graphcore.tensor import math
from graphcore.tensor.basic import (NotScalarConstantError, alloc, as_tensor_variable, cast,
                                    constant, get_scalar_constant_value)
from graphcore.tensor.shape import get_static_shape_value, shape_i
from graphcore.tensor.type import TensorType


def _int_scalar(v, what, name):
    v = as_tensor_variable(v)
    if v.type.ndim != 0 or np.dtype(v.type.dtype).kind not in "iu":
        raise TypeError(f"{what}: {name} must be an integer scalar, got {v.type}")
    return cast(v, "int64")


def _disconnected(n):
    return [disconnected_type() for _ in range(n)]


class _DiagonalMatrix(Op):
    """Eye and Tri: an (n, m, k) -> `_numpy(n, m, k, dtype)` matrix, constant in its inputs."""

    __props__ = ("dtype",)

    def __init__(self, dtype=None):
        self.dtype = np.dtype(dtype or config.floatX).name

    def perform(self, node, inputs, output_storage):
        n, m, k = (int(v) for v in inputs)
        output_storage[0][0] = self._numpy(n, m, k, dtype=self.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [(node.inputs[0], node.inputs[1])]

    def grad(self, inputs, gz):
        return _disconnected(3)

    def connection_pattern(self, node):
        return [[False], [False], [False]]


class Eye(_DiagonalMatrix):
    """eye(n, m, k): an n x m array with ones on diagonal k (np.eye)."""

    _numpy = staticmethod(np.eye)

    def make_node(self, n, m, k):
        n, m, k = (_int_scalar(v, "eye", name) for v, name in ((n, "n"), (m, "M"), (k, "k")))
        sn, sm = get_static_shape_value(n), get_static_shape_value(m)
        for s, name in ((sn, "n"), (sm, "M")):
            if s is not None and s < 0:
                raise ValueError(f"eye: {name} must be non-negative, got {s}")
        return Apply(self, [n, m, k], [TensorType(self.dtype, (sn, sm))()])


def eye(n, m=None, k=0, dtype=None):
    """np.eye: ones on diagonal k of an n x m matrix (m defaults to n)."""
    return Eye(dtype)(n, n if m is None else m, k)


def identity_like(x, dtype=None):
    """An identity matrix of the shape (and by default the dtype) of the matrix x."""
    x = as_tensor_variable(x)
    if x.type.ndim != 2:
        raise TypeError(f"identity_like: expected a matrix, got {x.type}")
    return eye(shape_i(x, 0), shape_i(x, 1), 0, dtype=dtype or x.type.dtype)


class Tri(_DiagonalMatrix):
    """tri(N, M, k): ones at and below diagonal k of an N x M matrix (np.tri)."""

    _numpy = staticmethod(np.tri)

    def make_node(self, n, m, k):
        n, m, k = (_int_scalar(v, "tri", name) for v, name in ((n, "N"), (m, "M"), (k, "k")))
        shape = (get_static_shape_value(n), get_static_shape_value(m))
        return Apply(self, [n, m, k], [TensorType(self.dtype, shape)()])


def tri(N, M=None, k=0, dtype=None):
    """np.tri: an N x M matrix with ones at and below diagonal k (M defaults to N)."""
    return Tri(dtype)(N, N if M is None else M, k)


def _tri_mask(m, k, lower):
    m = as_tensor_variable(m)
    if m.type.ndim < 2:
        raise ValueError(f"{'tril' if lower else 'triu'}: expected at least 2 dimensions, "
                         f"got {m.type}")
    n0, n1 = shape_i(m, -2), shape_i(m, -1)
    if lower:
        return m, tri(n0, n1, k, dtype="bool")

    k = as_tensor_variable(k)
    return m, math.invert(tri(n0, n1, math.sub(k, 1) if not isinstance(k, int) else k - 1,
                              dtype="bool"))


def tril(m, k=0):
    """np.tril: m with the elements above diagonal k set to zero (last two axes)."""
    m, mask = _tri_mask(m, k, True)
    return math.switch(mask, m, constant(np.zeros((), dtype=m.type.dtype)))


def triu(m, k=0):
    """np.triu: m with the elements below diagonal k set to zero (last two axes)."""
    m, mask = _tri_mask(m, k, False)
    return math.switch(mask, m, constant(np.zeros((), dtype=m.type.dtype)))


def _arange_dtype(start, stop, step):
    """NumPy's arange dtype for these (possibly weak) scalars; Python floats give floatX."""
    dts = [v.type.dtype for v in (start, stop, step)]
    weak = [getattr(v, "weak", False) for v in (start, stop, step)]
    strong = [d for d, w in zip(dts, weak) if not w]
    weak_kinds = {np.dtype(d).kind for d, w in zip(dts, weak) if w}
    if strong:
        d = np.result_type(*strong)
        if "f" in weak_kinds and d.kind in "biu":
            d = np.dtype(config.floatX)
        if "c" in weak_kinds:
            d = np.result_type(d, np.complex128)
        return d.name
    return np.result_type(*dts).name


class ARange(Op):
    """arange(start, stop, step) of dtype `dtype` (np.arange)."""

    __props__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype).name

    def make_node(self, start, stop, step):
        start, stop, step = (as_tensor_variable(v) for v in (start, stop, step))
        for v, name in ((start, "start"), (stop, "stop"), (step, "step")):
            if v.type.ndim != 0:
                raise TypeError(f"arange: {name} must be a scalar, got {v.type}")
        vals = [_static_const(v) for v in (start, stop, step)]
        if vals[2] is not None and vals[2] == 0:
            raise ValueError("arange: step must not be zero")
        length = None
        if None not in vals:
            length = len(np.arange(*vals, dtype=self.dtype))
        return Apply(self, [start, stop, step], [TensorType(self.dtype, (length,))()])

    def perform(self, node, inputs, output_storage):
        start, stop, step = (np.asarray(v).item() for v in inputs)
        if step == 0:
            raise ValueError("arange: step must not be zero")
        output_storage[0][0] = np.arange(start, stop, step, dtype=self.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        static = node.outputs[0].type.shape[0]
        if static is not None:
            return [(static,)]
        start, stop, step = (cast(v, "float64") if np.dtype(v.type.dtype).kind != "c" else v
                             for v in node.inputs)
        n = math.ceil(math.true_div(math.sub(stop, start), step))  # NumPy's length rule
        return [(cast(math.maximum(n, 0), "int64"),)]

    def L_op(self, inputs, outputs, output_grads):
        start, stop, step = inputs
        gz = output_grads[0]
        if np.dtype(self.dtype).kind in "biu":
            return [math.zeros_like(start, dtype=config.floatX), disconnected_type(),
                    math.zeros_like(step, dtype=config.floatX)]

        n = shape_i(outputs[0], 0)
        return [cast(math.sum(gz), start.type.dtype), disconnected_type(),
                cast(math.sum(math.mul(gz, arange(n, dtype=self.dtype))), step.type.dtype)]

    def connection_pattern(self, node):
        return [[True], [False], [True]]


def _static_const(v):
    try:
        return get_scalar_constant_value(v)
    except (NotScalarConstantError, TypeError, ValueError):
        return None


def arange(start, stop=None, step=1, dtype=None):
    """np.arange(start, stop, step); with one argument, arange(stop) from 0."""
    if stop is None:
        start, stop = 0, start
    start, stop, step = (as_tensor_variable(v) for v in (start, stop, step))
    if dtype is None:
        dtype = _arange_dtype(start, stop, step)
    return ARange(dtype)(start, stop, step)


class Linspace(Op):
    """linspace(start, stop, num): num evenly spaced values (np.linspace)."""

    __props__ = ("endpoint", "dtype")

    def __init__(self, endpoint=True, dtype=None):
        self.endpoint = bool(endpoint)
        self.dtype = np.dtype(dtype or config.floatX).name

    def make_node(self, start, stop, num):
        start, stop = as_tensor_variable(start), as_tensor_variable(stop)
        for v, name in ((start, "start"), (stop, "stop")):
            if v.type.ndim != 0:
                raise TypeError(f"linspace: {name} must be a scalar, got {v.type}")
        num = _int_scalar(num, "linspace", "num")
        n = get_static_shape_value(num)
        if n is not None and n < 0:
            raise ValueError(f"linspace: num must be non-negative, got {n}")
        return Apply(self, [start, stop, num], [TensorType(self.dtype, (n,))()])

    def perform(self, node, inputs, output_storage):
        start, stop, num = inputs
        output_storage[0][0] = np.linspace(start.item(), stop.item(), int(num),
                                           endpoint=self.endpoint, dtype=self.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [(node.inputs[2],)]

    def L_op(self, inputs, outputs, output_grads):
        start, stop, num = inputs
        gz = output_grads[0]
        if np.dtype(self.dtype).kind in "biu":
            return [math.zeros_like(start, dtype=config.floatX),
                    math.zeros_like(stop, dtype=config.floatX), disconnected_type()]
        div = math.sub(num, 1) if self.endpoint else num
        div = cast(math.maximum(div, 1), self.dtype)
        frac = math.true_div(arange(num, dtype=self.dtype), div)  # d out_i / d stop
        g_stop = math.sum(math.mul(gz, frac))
        g_start = math.sub(math.sum(gz), g_stop)
        res = [g_start, g_stop]
        res = [cast(g, v.type.dtype) if np.dtype(v.type.dtype).kind in "fc"
               else math.zeros_like(v, dtype=config.floatX) for g, v in zip(res, (start, stop))]
        return res + [disconnected_type()]

    def connection_pattern(self, node):
        return [[True], [True], [False]]


def linspace(start, stop, num=50, endpoint=True, dtype=None):
    """np.linspace(start, stop, num, endpoint) of dtype `dtype` (default floatX)."""
    return Linspace(endpoint, dtype)(start, stop, num)


def full_like(x, fill_value, dtype=None):
    """An array of the shape of x filled with fill_value (dtype: dtype, else x's)."""
    x = as_tensor_variable(x)
    value = cast(as_tensor_variable(fill_value), dtype or x.type.dtype)
    return math.fill(x, value)


class _NdGrid:
    """T.mgrid[0:5, 0:3] (dense) and T.ogrid[...] (open) like NumPy's, for integer steps.

    Slice bounds may be symbolic scalars; a complex step (NumPy's point count)
    is not supported.
    """

    def __init__(self, sparse):
        self.sparse = sparse

    def __getitem__(self, index):
        if not isinstance(index, tuple):
            index = (index,)
        ranges = []
        for sl in index:
            if not isinstance(sl, slice):
                raise TypeError(f"{'ogrid' if self.sparse else 'mgrid'}: expected slices, got {sl!r}")
            if isinstance(sl.step, complex):
                raise NotImplementedError("mgrid/ogrid: complex steps (point counts) are not "
                                          "supported; use linspace")
            ranges.append(arange(0 if sl.start is None else sl.start, sl.stop,
                                 1 if sl.step is None else sl.step))
        n = len(ranges)
        shaped = [r.dimshuffle(["x"] * i + [0] + ["x"] * (n - i - 1)) for i, r in enumerate(ranges)]
        if self.sparse or n == 1:
            return shaped if n > 1 else ranges[0]
        dims = [shape_i(r, 0) for r in ranges]
        return [alloc(s, *dims) for s in shaped]


mgrid = _NdGrid(sparse=False)
ogrid = _NdGrid(sparse=True)

__all__ = ["Eye", "Tri", "ARange", "Linspace", "eye", "identity_like", "tri", "tril", "triu",
           "arange", "linspace", "full_like", "mgrid", "ogrid"]
