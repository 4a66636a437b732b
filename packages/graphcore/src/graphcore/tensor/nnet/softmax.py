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
from graphcore.graph.null_type import grad_not_implemented
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


def _on_last_axis(fn, axis, *arrays):
    """fn applied with `axis` moved last (None: over all elements), the result moved back."""
    if axis is None:
        shape = arrays[0].shape
        return fn(*[a.reshape(1, -1) for a in arrays]).reshape(shape)
    return np.moveaxis(fn(*[np.moveaxis(a, axis, -1) for a in arrays]), -1, axis)


def _first_max_mask(v):
    """True at the first maximum of each row (last axis)."""
    return np.arange(v.shape[-1]) == np.argmax(v, axis=-1)[..., None]


def _log1m_softmax_rows(x):
    """log(1 - softmax(x)) over the last axis as log(sum of the other entries' exp) - logsumexp(x).

    For all entries but a row's first maximum p <= 1/2, so log1p(-p) has no
    cancellation. For the first maximum the sum of the others is the
    logsumexp of the rest, shifted by their own max, so log(1 - softmax) is
    about -1000 (not -inf) at x = (1000, 0), where softmax rounds to 1.
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        shifted = _shifted(x, -1)
        e = np.exp(shifted)
        s = np.sum(e, axis=-1, keepdims=True)
        first = _first_max_mask(x)
        rest = np.where(first, -np.inf, shifted)
        mr = np.max(rest, axis=-1, keepdims=True)
        mr = np.where(np.isfinite(mr), mr, 0)
        rest_lse = mr + np.log(np.sum(np.exp(rest - mr), axis=-1, keepdims=True))
        # p <= 1/2 off the first maximum: log1p(-p) is exact there
        return np.where(first, rest_lse - np.log(s), np.log1p(-e / s))


def _log1m_softmax_grad_rows(g, x):
    """sum_i g_i d log(1 - p_i) / dx_k = sum_{i != k} g_i p_k p_i / (1 - p_i) - g_k p_k, in logs.

    With b = log(p / (1 - p)), the leave-one-out sum is shifted by the largest
    b of the row (its own entry by the second largest), so it is finite where
    p / (1 - p) overflows.
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ls = _log_softmax_value(x, -1)
        b = ls - _log1m_softmax_rows(x)
        first = _first_max_mask(b)
        b1 = np.max(b, axis=-1, keepdims=True)
        w = g * np.exp(b - b1)
        loo = np.sum(w, axis=-1, keepdims=True) - w  # every entry but the row's largest b
        rest = np.where(first, -np.inf, b)
        b2 = np.max(rest, axis=-1, keepdims=True)
        b2 = np.where(np.isfinite(b2), b2, 0)
        first_sum = np.sum(np.where(first, 0, g * np.exp(rest - b2)), axis=-1, keepdims=True)
        term = np.where(first, np.exp(ls + b2) * first_sum, np.exp(ls + b1) * loo)
        return term - g * np.exp(ls)


class Log1mSoftmax(_NormalizeOp):
    """log(1 - softmax(x)), finite where softmax rounds to 1 (about -1000 at x = (1000, 0))."""

    @staticmethod
    def _value(x, axis):
        return _on_last_axis(_log1m_softmax_rows, axis, x)

    def L_op(self, inputs, outputs, output_grads):
        return [Log1mSoftmaxGrad(self.axis)(output_grads[0], inputs[0])]


class Log1mSoftmaxGrad(_NormalizeGradOp):
    """Gradient of log1m_softmax: inputs (dy, x); finite where softmax(x) rounds to 0 or 1."""

    def _dx(self, dy, x):
        return _on_last_axis(_log1m_softmax_grad_rows, self.axis, dy, x)

    def L_op(self, inputs, outputs, output_grads):
        return [grad_not_implemented(self, k, v) for k, v in enumerate(inputs)]


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


def log1m_softmax(c, axis=-1):
    """log(1 - softmax(c, axis)), computed stably (what log(1 - softmax(c)) is rewritten to)."""
    c = _float_input(c)
    return Log1mSoftmax(_normalize_axis(axis, c.type.ndim, "log1m_softmax"))(c)


def log_softmax_grad(dy, logsm, axis=-1):
    dy, logsm = _same_float(dy, logsm)
    return LogSoftmaxGrad(_normalize_axis(axis, logsm.type.ndim, "log_softmax_grad"))(dy, logsm)


def softmax_graph(c, axis=-1):
    """softmax written out as exp(c) / sum(exp(c)) (Theano's name; unstable for large c)."""
    c = _float_input(c)
    e = m.exp(c)
    return m.true_div(e, m.sum(e, axis=axis, keepdims=True))


__all__ = ["Softmax", "LogSoftmax", "SoftmaxGrad", "LogSoftmaxGrad", "Log1mSoftmax", "Log1mSoftmaxGrad",
           "log1m_softmax", "softmax", "log_softmax",
           "logsoftmax", "softmax_with_bias", "softmax_grad", "log_softmax_grad", "softmax_graph"]
