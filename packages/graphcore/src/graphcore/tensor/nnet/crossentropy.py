"""Cross-entropy losses: categorical (integer labels or one-hot), binary, and the fused
softmax + cross-entropy ops Theano's optimizer targets.

Op semantics (the reference every runtime implements; N rows, K classes,
labels are integers in [0, K), anything else is a ValueError naming the op,
the label and its row):

- ``CrossentropyCategorical1Hot()(coding_dist (N,K), true_idx (N,))``:
  ``nll[i] = -log(coding_dist[i, true_idx[i]])``.
- ``CrossentropyCategorical1HotGrad()(g_nll (N,), coding_dist, true_idx)``:
  zeros (N,K) except ``[i, true_idx[i]] = -g_nll[i] / coding_dist[i, true_idx[i]]``.
- ``CrossentropySoftmaxArgmax1HotWithBias()(x (N,K), b (K,), y_idx (N,))``:
  with ``z = x + b`` and ``lse = logsumexp(z, axis=1)``: ``nll = lse - z[i, y_idx[i]]``,
  ``softmax = exp(z - lse)``, ``argmax = argmax(z, axis=1)`` (int64).
- ``CrossentropySoftmax1HotWithBiasDx()(dnll (N,), sm (N,K), y_idx (N,))``:
  ``dx = sm * dnll[:, None]``, then ``dx[i, y_idx[i]] -= dnll[i]``.
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Apply
from graphcore.graph.null_type import disconnected_type
from graphcore.graph.op import Op
from graphcore.scalar.basic import is_discrete
from graphcore.tensor import math as m
from graphcore.tensor.basic import (NotScalarConstantError, alloc, as_tensor_variable, cast,
                                    get_scalar_constant_value)
from graphcore.tensor.dot import dot
from graphcore.tensor.extra_ops import unique
from graphcore.tensor.join import concatenate
from graphcore.tensor.nnet.softmax import SoftmaxGrad
from graphcore.tensor.shape import reshape, shape_i
from graphcore.tensor.type import TensorType, upcast_float_dtype


def _disconnected():
    return disconnected_type()


def _is_zero(v):
    """True when v is known to be all zeros (the filler grad() gives unused outputs)."""
    try:
        return get_scalar_constant_value(v) == 0
    except (NotScalarConstantError, TypeError):
        return False


def _as_matrix(op, x, what):
    x = as_tensor_variable(x)
    if x.type.ndim != 2:
        raise TypeError(f"{op}: {what} must be a matrix (N, K), got {x} of type {x.type}")
    return cast(x, upcast_float_dtype(x.type.dtype))


def _as_labels(op, y):
    y = as_tensor_variable(y)
    if y.type.ndim != 1 or not is_discrete(y.type.dtype) or y.type.dtype == "bool":
        raise TypeError(f"{op}: the labels must be an integer vector (N,), got {y} of type "
                        f"{y.type}")
    return y


def _as_vector(op, v, what, dtype=None):
    v = as_tensor_variable(v)
    if v.type.ndim != 1:
        raise TypeError(f"{op}: {what} must be a vector, got {v} of type {v.type}")
    return cast(v, dtype or upcast_float_dtype(v.type.dtype))


def _check_static_rows(op, *vs):
    sizes = {v.type.shape[0] for v in vs} - {None}
    if len(sizes) > 1:
        raise ValueError(f"{op}: the inputs disagree on the number of rows N: "
                         f"{[v.type.shape for v in vs]}")


def _rows(*vs):
    for v in vs:
        if v.type.shape[0] is not None:
            return v.type.shape[0]
    return None


def check_labels(op, y_idx, n_rows, n_classes):
    """Raise a ValueError naming `op` if the labels do not fit (N,) rows of K classes."""
    if y_idx.shape[0] != n_rows:
        raise ValueError(f"{op}: {y_idx.shape[0]} labels for {n_rows} rows")
    bad = (y_idx < 0) | (y_idx >= n_classes)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{op}: label {int(y_idx[i])} at row {i} is out of range [0, {n_classes})")


def _pick(a, y_idx):
    return a[np.arange(a.shape[0]), y_idx]


class OneHot(Op):
    """one_hot(y (N,), k) -> (N, k) with 1 at [i, y[i]] (used by the second derivatives)."""

    __props__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype).name

    def make_node(self, y, k):
        y = _as_labels(self, y)
        k = cast(as_tensor_variable(k), "int64")
        try:
            kk = int(get_scalar_constant_value(k))
        except NotScalarConstantError:
            kk = None
        return Apply(self, [y, k], [TensorType(self.dtype, (y.type.shape[0], kk))()])

    def perform(self, node, inputs, output_storage):
        y, k = inputs
        check_labels(self, y, y.shape[0], int(k))
        out = np.zeros((y.shape[0], int(k)), dtype=self.dtype)
        out[np.arange(y.shape[0]), y] = 1
        output_storage[0][0] = out

    def infer_shape(self, fgraph, node, input_shapes):
        return [(input_shapes[0][0], node.inputs[1])]

    def grad(self, inputs, gz):
        return [_disconnected(), _disconnected()]

    def connection_pattern(self, node):
        return [[False], [False]]


def _one_hot_like(y_idx, like):
    return OneHot(like.type.dtype)(y_idx, shape_i(like, 1))


class CrossentropyCategorical1Hot(Op):
    """nll[i] = -log(coding_dist[i, true_idx[i]]) for a (N,K) distribution and (N,) int labels."""

    def make_node(self, coding_dist, true_idx):
        cd = _as_matrix(self, coding_dist, "coding_dist")
        y = _as_labels(self, true_idx)
        _check_static_rows(self, cd, y)
        return Apply(self, [cd, y], [TensorType(cd.type.dtype, (_rows(cd, y),))()])

    def perform(self, node, inputs, output_storage):
        cd, y = inputs
        check_labels(self, y, cd.shape[0], cd.shape[1])
        with np.errstate(divide="ignore"):
            output_storage[0][0] = np.asarray(-np.log(_pick(cd, y)), dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [(input_shapes[0][0],)]

    def L_op(self, inputs, outputs, output_grads):
        cd, y = inputs
        return [CrossentropyCategorical1HotGrad()(output_grads[0], cd, y), _disconnected()]

    def connection_pattern(self, node):
        return [[True], [False]]


class CrossentropyCategorical1HotGrad(Op):
    """Gradient of CrossentropyCategorical1Hot: inputs (g_nll, coding_dist, true_idx).

    Zeros except [i, true_idx[i]] = -g_nll[i] / coding_dist[i, true_idx[i]].
    """

    def make_node(self, g_nll, coding_dist, true_idx):
        cd = _as_matrix(self, coding_dist, "coding_dist")
        g = _as_vector(self, g_nll, "g_nll", cd.type.dtype)
        y = _as_labels(self, true_idx)
        _check_static_rows(self, g, cd, y)
        return Apply(self, [g, cd, y], [TensorType(cd.type.dtype, (_rows(cd, g, y), cd.type.shape[1]))()])

    def perform(self, node, inputs, output_storage):
        g, cd, y = inputs
        check_labels(self, y, cd.shape[0], cd.shape[1])
        if g.shape[0] != cd.shape[0]:
            raise ValueError(f"{self}: g_nll has {g.shape[0]} rows, coding_dist {cd.shape[0]}")
        out = np.zeros(cd.shape, dtype=node.outputs[0].type.dtype)
        rows = np.arange(cd.shape[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            out[rows, y] = -g / cd[rows, y]
        output_storage[0][0] = out

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[1]]

    def L_op(self, inputs, outputs, output_grads):
        g, cd, y = inputs
        G = output_grads[0]
        oh = _one_hot_like(y, cd)
        g_pick = m.sum(m.mul(G, oh), axis=1)
        cd_pick = m.sum(m.mul(cd, oh), axis=1)
        d_g = m.neg(m.true_div(g_pick, cd_pick))
        d_cd = m.mul(oh, m.true_div(m.mul(g_pick, g), m.sqr(cd_pick)).dimshuffle(0, "x"))
        return [cast(d_g, g.type.dtype), cast(d_cd, cd.type.dtype), _disconnected()]

    def connection_pattern(self, node):
        return [[True], [True], [False]]


class CrossentropySoftmaxArgmax1HotWithBias(Op):
    """Fused softmax(x + b) cross-entropy with int labels: outputs (nll, softmax, argmax).

    Computed from log-sum-exp, so nll is finite and exact even where the
    softmax underflows (x of +-1000).
    """

    nout = 3

    def make_node(self, x, b, y_idx):
        x = _as_matrix(self, x, "x")
        b = _as_vector(self, b, "b")
        dtype = np.result_type(x.type.dtype, b.type.dtype).name
        x, b = cast(x, dtype), cast(b, dtype)
        y = _as_labels(self, y_idx)
        _check_static_rows(self, x, y)
        k, kb = x.type.shape[1], b.type.shape[0]
        if k is not None and kb is not None and k != kb:
            raise ValueError(f"{self}: x has {k} classes but b has {kb} entries")
        n = _rows(x, y)
        k = k if k is not None else kb
        return Apply(self, [x, b, y], [TensorType(dtype, (n,))(), TensorType(dtype, (n, k))(),
                                       TensorType("int64", (n,))()])

    def perform(self, node, inputs, output_storage):
        x, b, y = inputs
        if b.shape[0] != x.shape[1]:
            raise ValueError(f"{self}: x has {x.shape[1]} classes but b has {b.shape[0]} entries")
        check_labels(self, y, x.shape[0], x.shape[1])
        dtype = node.outputs[0].type.dtype
        z = x + b
        if z.size == 0:
            nll = np.zeros(x.shape[0], dtype=dtype)
            sm = np.zeros(z.shape, dtype=dtype)
            am = np.zeros(x.shape[0], dtype="int64")
        else:
            with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
                zmax = np.max(z, axis=1, keepdims=True)
                zmax = np.where(np.isfinite(zmax), zmax, 0)
                lse = zmax + np.log(np.sum(np.exp(z - zmax), axis=1, keepdims=True))
                sm = np.exp(z - lse)
                nll = lse[:, 0] - _pick(z, y)
            am = np.argmax(z, axis=1)
        output_storage[0][0] = np.asarray(nll, dtype=dtype)
        output_storage[1][0] = np.asarray(sm, dtype=dtype)
        output_storage[2][0] = np.asarray(am, dtype="int64")

    def infer_shape(self, fgraph, node, input_shapes):
        xs = input_shapes[0]
        return [(xs[0],), tuple(xs), (xs[0],)]

    def L_op(self, inputs, outputs, output_grads):
        x, b, y = inputs
        g_nll, g_sm = output_grads[0], output_grads[1]
        sm = outputs[1]
        terms = []
        if not _is_zero(g_nll):
            terms.append(CrossentropySoftmax1HotWithBiasDx()(g_nll, sm, y))
        if not _is_zero(g_sm):
            terms.append(SoftmaxGrad(1)(g_sm, sm))
        if not terms:
            dx = m.zeros_like(x)
        else:
            dx = terms[0] if len(terms) == 1 else m.add(*terms)
        db = m.sum(dx, axis=0)
        return [cast(dx, x.type.dtype), cast(db, b.type.dtype), _disconnected()]

    def connection_pattern(self, node):
        return [[True, True, False], [True, True, False], [False, False, False]]


class CrossentropySoftmax1HotWithBiasDx(Op):
    """Gradient of the fused op's nll: inputs (dnll (N,), sm (N,K), y_idx (N,)).

    dx = sm * dnll[:, None], with dnll[i] subtracted at [i, y_idx[i]].
    """

    def make_node(self, dnll, sm, y_idx):
        sm = _as_matrix(self, sm, "sm")
        dnll = _as_vector(self, dnll, "dnll")
        dtype = np.result_type(sm.type.dtype, dnll.type.dtype).name
        sm, dnll = cast(sm, dtype), cast(dnll, dtype)
        y = _as_labels(self, y_idx)
        _check_static_rows(self, dnll, sm, y)
        return Apply(self, [dnll, sm, y], [TensorType(dtype, (_rows(sm, dnll, y), sm.type.shape[1]))()])

    def perform(self, node, inputs, output_storage):
        dnll, sm, y = inputs
        check_labels(self, y, sm.shape[0], sm.shape[1])
        if dnll.shape[0] != sm.shape[0]:
            raise ValueError(f"{self}: dnll has {dnll.shape[0]} rows, sm {sm.shape[0]}")
        dx = sm * dnll[:, None]
        dx[np.arange(sm.shape[0]), y] -= dnll
        output_storage[0][0] = np.asarray(dx, dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[1]]

    def L_op(self, inputs, outputs, output_grads):
        dnll, sm, y = inputs
        G = output_grads[0]
        oh = _one_hot_like(y, sm)
        d_dnll = m.sub(m.sum(m.mul(G, sm), axis=1), m.sum(m.mul(G, oh), axis=1))
        d_sm = m.mul(G, dnll.dimshuffle(0, "x"))
        return [cast(d_dnll, dnll.type.dtype), cast(d_sm, sm.type.dtype), _disconnected()]

    def connection_pattern(self, node):
        return [[True], [True], [False]]


crossentropy_categorical_1hot = CrossentropyCategorical1Hot()
crossentropy_categorical_1hot_grad = CrossentropyCategorical1HotGrad()
crossentropy_softmax_argmax_1hot_with_bias = CrossentropySoftmaxArgmax1HotWithBias()
crossentropy_softmax_1hot_with_bias_dx = CrossentropySoftmax1HotWithBiasDx()


def crossentropy_softmax_1hot_with_bias(x, b, y_idx):
    """(nll, softmax(x + b)) for int labels y_idx: the fused, stable op."""
    nll, sm, _ = crossentropy_softmax_argmax_1hot_with_bias(x, b, y_idx)
    return nll, sm


def _zero_bias(x):
    x = as_tensor_variable(x)
    if x.type.ndim != 2:
        raise TypeError(f"crossentropy_softmax_1hot: x must be a matrix (N, K), got {x.type}")
    dtype = upcast_float_dtype(x.type.dtype)
    return alloc(np.zeros((), dtype=dtype), shape_i(x, 1))


def crossentropy_softmax_1hot(x, y_idx):
    """(nll, softmax(x)) for int labels y_idx (no bias)."""
    return crossentropy_softmax_1hot_with_bias(x, _zero_bias(x), y_idx)


def crossentropy_softmax_max_and_argmax_1hot_with_bias(x, b, y_idx):
    """(nll, max of softmax(x + b) per row, argmax per row)."""
    nll, sm, am = crossentropy_softmax_argmax_1hot_with_bias(x, b, y_idx)
    return nll, m.max(sm, axis=1), am


def crossentropy_softmax_max_and_argmax_1hot(x, y_idx):
    return crossentropy_softmax_max_and_argmax_1hot_with_bias(x, _zero_bias(x), y_idx)


def categorical_crossentropy(coding_dist, true_dist):
    """Cross-entropy between a predicted distribution and the targets, per row.

    coding_dist: (..., K) probabilities (each row sums to 1, e.g. a softmax).
    true_dist: one-hot/soft targets of the same shape, giving
    -sum(true_dist * log(coding_dist), axis=-1); or integer labels of shape
    (...,), giving -log(coding_dist[..., label]).
    """
    coding_dist = as_tensor_variable(coding_dist)
    true_dist = as_tensor_variable(true_dist)
    nd = coding_dist.type.ndim
    if nd < 1:
        raise TypeError(f"categorical_crossentropy: coding_dist must have at least one "
                        f"dimension, got {coding_dist.type}")
    if true_dist.type.ndim == nd:
        return m.neg(m.sum(m.mul(true_dist, m.log(coding_dist)), axis=nd - 1))
    if true_dist.type.ndim == nd - 1:
        if not is_discrete(true_dist.type.dtype) or true_dist.type.dtype == "bool":
            raise TypeError(f"categorical_crossentropy: targets with one dimension fewer than "
                            f"coding_dist must be integer labels, got {true_dist.type}")
        if nd == 2:
            return crossentropy_categorical_1hot(coding_dist, true_dist)
        if nd == 1:
            raise TypeError("categorical_crossentropy: integer labels need a coding_dist of at "
                            "least 2 dimensions (N, K)")
        lead = [shape_i(coding_dist, d) for d in range(nd - 1)]
        flat = reshape(coding_dist, [-1, shape_i(coding_dist, nd - 1)])
        nll = crossentropy_categorical_1hot(flat, reshape(true_dist, [-1]))
        return reshape(nll, lead)
    raise TypeError(f"categorical_crossentropy: true_dist must have the ndim of coding_dist "
                    f"({nd}, one-hot/probabilities) or {nd - 1} (integer labels), got "
                    f"{true_dist.type}")


def binary_crossentropy(output, target):
    """-(target * log(output) + (1 - target) * log(1 - output)), elementwise.

    output are probabilities in (0, 1); for logits use sigmoid_binary_crossentropy,
    which stays finite where sigmoid rounds to 0 or 1.
    """
    output = as_tensor_variable(output)
    return m.neg(m.add(m.mul(target, m.log(output)),
                       m.mul(m.sub(1.0, target), m.log(m.sub(1.0, output)))))


def sigmoid_binary_crossentropy(output, target):
    """binary_crossentropy(sigmoid(output), target) from the logits `output`, stably:
    target * softplus(-output) + (1 - target) * softplus(output)."""
    output = as_tensor_variable(output)
    return m.add(m.mul(target, m.softplus(m.neg(output))),
                 m.mul(m.sub(1.0, target), m.softplus(output)))


__all__ = ["CrossentropyCategorical1Hot", "CrossentropyCategorical1HotGrad",
           "CrossentropySoftmaxArgmax1HotWithBias", "CrossentropySoftmax1HotWithBiasDx", "OneHot",
           "crossentropy_categorical_1hot", "crossentropy_categorical_1hot_grad",
           "crossentropy_softmax_argmax_1hot_with_bias", "crossentropy_softmax_1hot_with_bias_dx",
           "crossentropy_softmax_1hot_with_bias", "crossentropy_softmax_1hot",
           "crossentropy_softmax_max_and_argmax_1hot_with_bias",
           "crossentropy_softmax_max_and_argmax_1hot", "categorical_crossentropy",
           "binary_crossentropy", "sigmoid_binary_crossentropy", "check_labels", "confusion_matrix"]


def confusion_matrix(actual, pred):
    """Theano's confusion_matrix: [conf_mat, order] for 1-d label vectors.

    order holds the sorted distinct labels of actual and pred;
    conf_mat[i, j] counts the rows whose actual label is order[i] and whose
    predicted label is order[j] (int64).
    """
    actual, pred = as_tensor_variable(actual), as_tensor_variable(pred)
    for name, v in (("actual", actual), ("pred", pred)):
        if v.type.ndim != 1:
            raise TypeError(f"confusion_matrix: {name} must be a vector, got {v.type}")
    order = unique(concatenate([actual, pred]))
    one_hot_a = cast(m.eq(actual.dimshuffle(0, "x"), order), "int64")
    one_hot_p = cast(m.eq(pred.dimshuffle(0, "x"), order), "int64")
    return [dot(one_hot_a.T, one_hot_p), order]
