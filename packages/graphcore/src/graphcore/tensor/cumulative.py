"""Cumulative sums and products along an axis (np.cumsum, np.cumprod), with gradients."""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Apply
from graphcore.graph.null_type import disconnected_type, grad_not_implemented
from graphcore.graph.op import Op
from graphcore.tensor import math
from graphcore.tensor.basic import as_tensor_variable, cast
from graphcore.tensor.reduction import _sum_dtype
from graphcore.tensor.type import TensorType


class CumOp(Op):
    """Running sum (mode 'add') or product (mode 'mul') along `axis`; small ints widen as in NumPy."""

    __props__ = ("axis", "mode")

    def __init__(self, axis, mode="add"):
        if mode not in ("add", "mul"):
            raise ValueError(f"CumOp: mode must be 'add' or 'mul', got {mode!r}")
        self.axis = int(axis)
        self.mode = mode

    def __str__(self):
        return f"{'Cumsum' if self.mode == 'add' else 'Cumprod'}{{axis={self.axis}}}"

    def make_node(self, x):
        x = as_tensor_variable(x)
        if not 0 <= self.axis < x.type.ndim:
            raise ValueError(f"{self}: axis {self.axis} is out of bounds for {x} of type {x.type}")
        return Apply(self, [x], [TensorType(_sum_dtype(x.type.dtype), x.type.shape)()])

    def perform(self, node, inputs, output_storage):
        fn = np.cumsum if self.mode == "add" else np.cumprod
        output_storage[0][0] = fn(inputs[0], axis=self.axis, dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        x, = inputs
        gz = output_grads[0]
        if np.dtype(x.type.dtype).kind not in "fc":
            return [disconnected_type()]
        if self.mode == "add":
            # d/dx_i sum_j gz_j cumsum_j = sum_{j >= i} gz_j: a reversed cumulative sum
            return [cast(ReverseCumsum(self.axis)(gz), x.type.dtype)]
        return [cast(CumprodGrad(self.axis)(x, gz), x.type.dtype)]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        if self.mode == "add":
            return [self(eval_points[0])]
        return [cast(CumprodTangent(self.axis)(inputs[0], eval_points[0]),
                     self.make_node(inputs[0]).outputs[0].type.dtype)]


class ReverseCumsum(Op):
    """Running sum from the end of `axis` backwards (the gradient of cumsum)."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def make_node(self, g):
        g = as_tensor_variable(g)
        return Apply(self, [g], [TensorType(_sum_dtype(g.type.dtype), g.type.shape)()])

    def perform(self, node, inputs, output_storage):
        g = np.flip(inputs[0], axis=self.axis)
        res = np.cumsum(g, axis=self.axis, dtype=node.outputs[0].type.dtype)
        output_storage[0][0] = np.ascontiguousarray(np.flip(res, axis=self.axis))

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        return [cast(CumOp(self.axis, "add")(output_grads[0]), inputs[0].type.dtype)]


class _CumprodLinear(Op):
    """CumprodGrad and CumprodTangent: (x, a tensor broadcastable to x) -> x's shape along `axis`."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def make_node(self, x, v):
        x, v = as_tensor_variable(x), as_tensor_variable(v)
        dtype = np.result_type(np.dtype(x.type.dtype), np.dtype(v.type.dtype)).name
        return Apply(self, [x, v], [TensorType(dtype, x.type.shape)()])

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]


class CumprodGrad(_CumprodLinear):
    """The gradient of cumprod(x) along `axis` given gz, exact when x has zeros.

    g_i = sum_{j >= i} gz_j prod_{k <= j, k != i} x_k = P_{i-1} S_i with
    P the exclusive running product and S_i = gz_i + x_{i+1} S_{i+1} (no division by x).
    """

    def perform(self, node, inputs, output_storage):
        dtype = node.outputs[0].type.dtype
        x = np.moveaxis(np.asarray(inputs[0], dtype=dtype), self.axis, 0)
        gz = np.moveaxis(np.asarray(inputs[1], dtype=dtype), self.axis, 0)
        gz = np.broadcast_to(gz, x.shape)
        n = x.shape[0]
        out = np.empty(x.shape, dtype=dtype)
        if n:
            s = np.array(gz[n - 1], dtype=dtype)
            excl = np.cumprod(x, axis=0, dtype=dtype)  # P_i; P_{i-1} below
            for i in range(n - 1, -1, -1):
                if i < n - 1:
                    s = gz[i] + x[i + 1] * s
                out[i] = s * (excl[i - 1] if i > 0 else 1)
        output_storage[0][0] = np.ascontiguousarray(np.moveaxis(out, 0, self.axis))

    def L_op(self, inputs, outputs, output_grads):
        # linear in gz: its adjoint is the forward tangent of cumprod (second derivatives
        # w.r.t. x are not implemented)
        x, gz = inputs
        g = cast(CumprodTangent(self.axis)(x, output_grads[0]), outputs[0].type.dtype)
        return [grad_not_implemented(self, 0, x), _sum_to(g, gz)]


class CumprodTangent(_CumprodLinear):
    """The derivative of cumprod(x) along `axis` in the direction v (forward mode), zero-safe:

    T_j = T_{j-1} x_j + P_{j-1} v_j with P the running product (T_{-1} = 0, P_{-1} = 1).
    The same linear map is the adjoint of CumprodGrad w.r.t. gz.
    """

    def perform(self, node, inputs, output_storage):
        dtype = node.outputs[0].type.dtype
        x = np.moveaxis(np.asarray(inputs[0], dtype=dtype), self.axis, 0)
        v = np.broadcast_to(np.moveaxis(np.asarray(inputs[1], dtype=dtype), self.axis, 0),
                            x.shape)
        out = np.empty(x.shape, dtype=dtype)
        t = np.zeros(x.shape[1:], dtype=dtype)
        p = np.ones(x.shape[1:], dtype=dtype)
        for j in range(x.shape[0]):
            t = t * x[j] + p * v[j]
            p = p * x[j]
            out[j] = t
        output_storage[0][0] = np.ascontiguousarray(np.moveaxis(out, 0, self.axis))

    def L_op(self, inputs, outputs, output_grads):
        x, v = inputs
        g = cast(CumprodGrad(self.axis)(x, output_grads[0]), outputs[0].type.dtype)
        return [grad_not_implemented(self, 0, x), _sum_to(g, v)]


def _sum_to(g, like):
    """g summed over the dimensions where `like` was broadcast (static length 1), in its dtype."""
    axes = [d for d, n in enumerate(like.type.shape) if n == 1 and g.type.shape[d] != 1]
    if axes:
        g = math.sum(g, axis=axes, keepdims=True)
    return cast(g, like.type.dtype)


def _cum(x, axis, mode, dtype, what):
    x = as_tensor_variable(x)
    if axis is None:
        x, axis = x.flatten(), 0
    else:
        nd = x.type.ndim
        if not isinstance(axis, (int, np.integer)):
            raise TypeError(f"{what}: axis must be an int or None, got {axis!r}")
        if not -nd <= axis < nd:
            raise ValueError(f"{what}: axis {axis} is out of bounds for {x} with {nd} dimensions")
        axis = int(axis) % nd
    out = CumOp(axis, mode)(x)
    return out if dtype is None else cast(out, dtype)


def cumsum(x, axis=None, dtype=None):
    """Running sum along `axis` (None: over the flattened array), as np.cumsum."""
    return _cum(x, axis, "add", dtype, "cumsum")


def cumprod(x, axis=None, dtype=None):
    """Running product along `axis` (None: over the flattened array), as np.cumprod."""
    return _cum(x, axis, "mul", dtype, "cumprod")


__all__ = ["CumOp", "ReverseCumsum", "CumprodGrad", "CumprodTangent", "cumsum", "cumprod"]
