"""Softmax and log-softmax along an axis, and their gradient ops.

Semantics every runtime implements (the C VM and CUDA backends run these
natively, so they are kept small):

- ``Softmax(axis)(x)``: ``e = exp(x - max(x, axis)); e / sum(e, axis)``.
- ``LogSoftmax(axis)(x)``: ``(x - max) - log(sum(exp(x - max), axis))``.
- ``SoftmaxGrad(axis)(dy, sm)``: ``(dy - sum(dy * sm, axis, keepdims)) * sm``.
- ``LogSoftmaxGrad(axis)(dy, logsm)``: ``dy - exp(logsm) * sum(dy, axis, keepdims)``.

``axis`` is an int (negative counts from the end) or None (all elements, as
``scipy.special.softmax(x, axis=None)``). Subtracting the max (replaced by
0 where it is not finite, scipy.special.log_softmax's rule) makes the values
finite for inputs like +-1000. For rows with inf/NaN, softmax(x) is
exp(scipy.special.log_softmax(x)): a +inf entry gives NaN there and 0 at the
finite entries, an all -inf row gives NaN. A node always holds the non-negative axis (Softmax(-1) on a
matrix builds a Softmax(1) node). Integer inputs are computed in
floatX-style float (int8/int16 -> float32, wider -> float64).

Decision: unlike Theano 1.0, whose softmax turned a vector into a (1, n)
matrix, the output always has the input's shape (NumPy/SciPy semantics).
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Apply
from graphcore.graph.op import Op
from graphcore.tensor import math as m
from graphcore.tensor.basic import as_tensor_variable, cast
from graphcore.tensor.type import TensorType, upcast_float_dtype


def _check_axis(op, x):
    """Validate op.axis for x and return the canonical op (non-negative axis) for the node.

    Nodes always hold the non-negative form, so Softmax(-1) and Softmax(1)
    applied to a matrix build equal nodes that merge, and rewrites see one axis.
    """
    nd = x.type.ndim
    if op.axis is None:
        return op
    if not -nd <= op.axis < nd:
        raise ValueError(f"{op}: axis {op.axis} is out of range for input {x} with {nd} "
                         "dimensions")
    return op if op.axis >= 0 else type(op)(op.axis % nd)


def _normalize_axis(axis, ndim, what):
    if axis is None:
        return None
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{what}: axis must be an int or None, got {axis!r}")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for an input with {ndim} "
                         "dimensions")
    return axis % ndim


def _float_input(x):
    x = as_tensor_variable(x)
    return cast(x, upcast_float_dtype(x.type.dtype))


def _same_float(*xs):
    xs = [as_tensor_variable(x) for x in xs]
    dtype = upcast_float_dtype(np.result_type(*[x.type.dtype for x in xs]).name)
    return [cast(x, dtype) for x in xs]


def _keep(axis):
    return dict(axis=axis, keepdims=True)


def _shifted(x, axis):
    """x - max(x, axis), the max replaced by 0 where not finite (SciPy's rule for inf/NaN)."""
    xmax = np.max(x, axis=axis, keepdims=True)
    return x - np.where(np.isfinite(xmax), xmax, 0)


def _softmax_value(x, axis):
    e = np.exp(_shifted(x, axis))
    return e / np.sum(e, **_keep(axis))


def _log_softmax_value(x, axis):
    shifted = _shifted(x, axis)
    with np.errstate(divide="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), **_keep(axis)))


class _AxisOp(Op):
    __props__ = ("axis",)

    def __init__(self, axis=-1):
        if axis is not None and not isinstance(axis, (int, np.integer)):
            raise TypeError(f"{type(self).__name__}: axis must be an int or None, got {axis!r}")
        self.axis = None if axis is None else int(axis)


class _NormalizeOp(_AxisOp):
    """Softmax and LogSoftmax: a float x in, `_value(x, axis)` of x's type out."""

    def make_node(self, x):
        x = _float_input(x)
        return Apply(_check_axis(self, x), [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        if x.size == 0:
            output_storage[0][0] = np.empty(x.shape, dtype=node.outputs[0].type.dtype)
            return
        with np.errstate(invalid="ignore", over="ignore"):
            output_storage[0][0] = self._value(x, self.axis).astype(
                node.outputs[0].type.dtype, copy=False)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]


class Softmax(_NormalizeOp):
    """exp(x) / sum(exp(x), axis), computed from x - max(x) so it never overflows."""

    fresh_outputs = True  # perform allocates its outputs (graphopt may overwrite them)

    _value = staticmethod(_softmax_value)

    def L_op(self, inputs, outputs, output_grads):
        return [SoftmaxGrad(self.axis)(output_grads[0], outputs[0])]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        return [SoftmaxGrad(self.axis)(eval_points[0], self(inputs[0]))]


class LogSoftmax(_NormalizeOp):
    """log(softmax(x)) computed as (x - max) - log(sum(exp(x - max))): finite at +-1000."""

    fresh_outputs = True  # perform allocates its outputs (graphopt may overwrite them)

    _value = staticmethod(_log_softmax_value)

    def L_op(self, inputs, outputs, output_grads):
        return [LogSoftmaxGrad(self.axis)(output_grads[0], outputs[0])]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        ev = eval_points[0]
        sm = m.exp(self(inputs[0]))
        return [m.sub(ev, m.sum(m.mul(ev, sm), **_keep(self.axis)))]


class _NormalizeGradOp(_AxisOp):
    """SoftmaxGrad and LogSoftmaxGrad: (dy, y) of one shape in, `_dx(dy, y)` of y's type out."""

    def make_node(self, dy, y):
        dy, y = _same_float(dy, y)
        op = _check_axis(self, y)
        if dy.type.ndim != y.type.ndim:
            raise TypeError(f"{self}: the inputs need the same number of dimensions, got "
                            f"{dy.type} and {y.type}")
        for d, (p, q) in enumerate(zip(dy.type.shape, y.type.shape)):
            if p is not None and q is not None and p != q:
                raise ValueError(f"{self}: input shapes {dy.type.shape} and {y.type.shape} "
                                 f"differ in dimension {d}")
        shape = tuple(p if p is not None else q for p, q in zip(dy.type.shape, y.type.shape))
        return Apply(op, [dy, y], [TensorType(y.type.dtype, shape)()])

    def perform(self, node, inputs, output_storage):
        dy, y = inputs
        if dy.shape != y.shape:
            raise ValueError(f"{self}: the inputs must have the same shape, got {dy.shape} and "
                             f"{y.shape}")
        output_storage[0][0] = np.asarray(self._dx(dy, y), dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[1]]


class SoftmaxGrad(_NormalizeGradOp):
    """Gradient of softmax: inputs (dy, sm); dx = (dy - sum(dy * sm, axis, keepdims)) * sm."""

    fresh_outputs = True  # perform allocates its outputs (graphopt may overwrite them)

    def _dx(self, dy, sm):
        return (dy - np.sum(dy * sm, **_keep(self.axis))) * sm

    def L_op(self, inputs, outputs, output_grads):
        dy, sm = inputs
        g = output_grads[0]
        # dx_k = sm_k dy_k - sm_k S, S = sum_j dy_j sm_j
        g_dy = SoftmaxGrad(self.axis)(g, sm)
        s = m.sum(m.mul(dy, sm), **_keep(self.axis))
        gsm = m.sum(m.mul(g, sm), **_keep(self.axis))
        g_sm = m.sub(m.mul(g, m.sub(dy, s)), m.mul(dy, gsm))
        return [cast(g_dy, dy.type.dtype), cast(g_sm, sm.type.dtype)]


class LogSoftmaxGrad(_NormalizeGradOp):
    """Gradient of log-softmax: inputs (dy, logsm); dx = dy - exp(logsm) * sum(dy, axis, keepdims)."""

    def _dx(self, dy, logsm):
        return dy - np.exp(logsm) * np.sum(dy, **_keep(self.axis))

    def L_op(self, inputs, outputs, output_grads):
        dy, logsm = inputs
        g = output_grads[0]
        sm = m.exp(logsm)
        g_dy = m.sub(g, m.sum(m.mul(g, sm), **_keep(self.axis)))
        g_logsm = m.neg(m.mul(m.mul(g, sm), m.sum(dy, **_keep(self.axis))))
        return [cast(g_dy, dy.type.dtype), cast(g_logsm, logsm.type.dtype)]


# ------------------------------------------------------------------ functions
def softmax(c, axis=-1):
    """exp(c) / sum(exp(c), axis): numerically stable; axis=None normalises over all elements."""
    c = _float_input(c)
    return Softmax(_normalize_axis(axis, c.type.ndim, "softmax"))(c)


def log_softmax(c, axis=-1):
    """log(softmax(c, axis)), computed stably (finite where softmax underflows to 0)."""
    c = _float_input(c)
    return LogSoftmax(_normalize_axis(axis, c.type.ndim, "log_softmax"))(c)


logsoftmax = log_softmax  # Theano's name


def softmax_with_bias(x, b):
    """softmax(x + b) over the last axis (Theano's SoftmaxWithBias as a function)."""
    return softmax(m.add(x, b), axis=-1)


def softmax_grad(dy, sm, axis=-1):
    dy, sm = _same_float(dy, sm)
    return SoftmaxGrad(_normalize_axis(axis, sm.type.ndim, "softmax_grad"))(dy, sm)


def log_softmax_grad(dy, logsm, axis=-1):
    dy, logsm = _same_float(dy, logsm)
    return LogSoftmaxGrad(_normalize_axis(axis, logsm.type.ndim, "log_softmax_grad"))(dy, logsm)


def softmax_graph(c, axis=-1):
    """softmax written out as exp(c) / sum(exp(c)) (Theano's name; unstable for large c)."""
    c = _float_input(c)
    e = m.exp(c)
    return m.true_div(e, m.sum(e, axis=axis, keepdims=True))


__all__ = ["Softmax", "LogSoftmax", "SoftmaxGrad", "LogSoftmaxGrad", "softmax", "log_softmax",
           "logsoftmax", "softmax_with_bias", "softmax_grad", "log_softmax_grad", "softmax_graph"]
