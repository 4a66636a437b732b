"""Sigmoid cross-entropy, logsumexp and log-mean-exp: value AND gradient finite and exact at |z| = 1000."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.gradient import verify_grad
from graphcore.tensor import nnet
from graphcore.tensor.nnet.softmax import log1m_softmax

RNG = np.random.default_rng(3)
Z = np.array([-1000.0, -30.0, -1.0, 0.0, 1.0, 30.0, 1000.0, -1000.0, 1000.0])
TARGET = np.array([1.0, 0.0, 0.5, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0])
X = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -999.0], [1.0, 2.0, 3.0],
              [-np.inf, 0.0, 1.0]])


def ref_softplus(v):
    return np.logaddexp(0.0, v)


def ref_sigmoid_ce(z, t):
    return t * ref_softplus(-z) + (1 - t) * ref_softplus(z)


def ref_sigmoid(v):
    return np.exp(-np.logaddexp(0.0, -v))


def ref_sigmoid_ce_grad(z, t):
    """d/dz of ref_sigmoid_ce without cancellation: sigmoid(z) - t = (1 - t) sigmoid(z) - t sigmoid(-z)."""
    return (1 - t) * ref_sigmoid(z) - t * ref_sigmoid(-z)


def ref_lse(v):
    mx = v.max(axis=1, keepdims=True)
    return (mx + np.log(np.exp(v - mx).sum(axis=1, keepdims=True)))[:, 0]


SIGMOID_CE = {
    "hand_written": lambda z, t: -t * T.log(nnet.sigmoid(z)) - (1 - t) * T.log(1 - nnet.sigmoid(z)),
    "binary_crossentropy": lambda z, t: nnet.binary_crossentropy(nnet.sigmoid(z), t),
    "sigmoid_binary_crossentropy": lambda z, t: nnet.sigmoid_binary_crossentropy(z, t),
}


@pytest.mark.parametrize("name", sorted(SIGMOID_CE))
@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_sigmoid_cross_entropy_value_and_gradient_at_1000(name, reduce):
    z = T.vector("z")
    t = T.vector("t")
    ce = SIGMOID_CE[name](z, t)
    cost = T.sum(ce) if reduce == "sum" else T.mean(ce)
    f = theano.function([z, t], [cost, T.grad(cost, z)])
    c, g = f(Z, TARGET)
    assert np.isfinite(c) and np.all(np.isfinite(g)), (c, g)
    scale = 1.0 if reduce == "sum" else 1.0 / len(Z)
    np.testing.assert_allclose(c, ref_sigmoid_ce(Z, TARGET).sum() * scale, rtol=1e-13)
    np.testing.assert_allclose(g, ref_sigmoid_ce_grad(Z, TARGET) * scale, rtol=1e-12, atol=1e-300)
    # no division by a sigmoid left
    text = " ".join(str(n.op) for n in f.maker.fgraph.toposort())
    assert "reciprocal(sigmoid" not in text and "/ sigmoid" not in text, text


@pytest.mark.parametrize("name", sorted(SIGMOID_CE))
def test_sigmoid_cross_entropy_gradient_against_finite_differences(name):
    tv = RNG.uniform(0, 1, 6)
    verify_grad(lambda z: T.sum(SIGMOID_CE[name](z, T.constant(tv))), [RNG.standard_normal(6) * 3],
                rng=RNG)


def test_sigmoid_cross_entropy_on_a_matrix_with_broadcast_targets():
    z = T.matrix("z")
    t = T.vector("t")
    cost = T.mean(nnet.binary_crossentropy(nnet.sigmoid(z), t))
    f = theano.function([z, t], [cost, T.grad(cost, z)])
    zv = np.stack([Z[:4], -Z[:4]])
    tv = TARGET[:4]
    c, g = f(zv, tv)
    np.testing.assert_allclose(c, ref_sigmoid_ce(zv, tv).mean(), rtol=1e-13)
    np.testing.assert_allclose(g, ref_sigmoid_ce_grad(zv, tv) / zv.size, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("kind", ["sum", "mean"])
def test_log_sum_and_log_mean_of_exp_value_and_gradient_at_1000(kind):
    x = T.matrix("x")
    red = T.sum if kind == "sum" else T.mean
    out = T.log(red(T.exp(x), axis=1))
    cost = T.sum(out * T.constant(np.arange(1.0, 5.0)))
    f = theano.function([x], [out, T.grad(cost, x)])
    v, g = f(X)
    want = ref_lse(X) - (0 if kind == "sum" else np.log(3))
    np.testing.assert_allclose(v, want, rtol=1e-13)
    sm = np.exp(X - ref_lse(X)[:, None])
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, sm * np.arange(1.0, 5.0)[:, None], rtol=1e-12, atol=1e-300)


def test_log_mean_exp_over_all_elements():
    x = T.matrix("x")
    out = T.log(T.mean(T.exp(x)))
    f = theano.function([x], [out, T.grad(out, x)])
    v, g = f(X[:3])
    lse = ref_lse(X[:3].reshape(1, -1))[0]
    np.testing.assert_allclose(v, lse - np.log(9), rtol=1e-13)
    np.testing.assert_allclose(g, np.exp(X[:3] - lse), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("kind", ["sum", "mean"])
def test_log_sum_and_log_mean_of_exp_gradient_against_finite_differences(kind):
    red = T.sum if kind == "sum" else T.mean
    verify_grad(lambda x: T.log(red(T.exp(x), axis=1)), [RNG.standard_normal((3, 4))], rng=RNG)


# ------------------------------------------------------------- log(1 - softmax)
L1M_X = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -999.0, -1001.0], [1.0, 2.0, 3.0],
                  [5.0, 5.0, 1.0], [0.0, 30.0, -30.0]])


def ref_log1m_softmax(v, g):
    """log(1 - softmax(v)) over rows and the gradient of sum(g * it), in long double with the
    sums of the other entries taken explicitly (no 1 - p)."""
    v, g = v.astype(np.longdouble), g.astype(np.longdouble)
    e = np.exp(v)
    s = e.sum(axis=1, keepdims=True)
    k = v.shape[1]
    others = np.stack([np.delete(e, i, axis=1).sum(axis=1) for i in range(k)], axis=1)
    p, q = e / s, others / s
    grad = np.stack([np.delete(g * p[:, [j]] * p / q, j, axis=1).sum(axis=1) - g[:, j] * p[:, j]
                     for j in range(k)], axis=1)
    with np.errstate(divide="ignore"):  # log1p(-1) in the branch np.where does not take
        value = np.where(p <= 0.5, np.log1p(-p), np.log(q))
    return value.astype(float), grad.astype(float)


@pytest.mark.parametrize("spelling", ["log_one_minus", "log1p_neg"])
def test_log_one_minus_softmax_value_and_gradient_at_1000(spelling):
    x = T.matrix("x")
    g = T.matrix("g")
    sm = nnet.softmax(x)
    out = T.log(1 - sm) if spelling == "log_one_minus" else T.log1p(-sm)
    f = theano.function([x, g], [out, T.grad(T.sum(out * g), x)])
    names = [type(n.op).__name__ for n in f.maker.fgraph.toposort()]
    assert "Log1mSoftmax" in names and "Log1mSoftmaxGrad" in names and "Softmax" not in names, names
    gv = RNG.standard_normal(L1M_X.shape)
    v, dx = f(L1M_X, gv)
    want_v, want_dx = ref_log1m_softmax(L1M_X, gv)
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(dx))
    assert v[0, 0] == pytest.approx(-1000.0)
    np.testing.assert_allclose(v, want_v, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("axis", [0, 1, None])
def test_log1m_softmax_op_on_any_axis_against_finite_differences(axis):
    xv = RNG.standard_normal((3, 4))
    x = T.matrix("x")
    f = theano.function([x], log1m_softmax(x, axis=axis))
    sm = np.exp(xv - np.log(np.exp(xv).sum(axis=axis, keepdims=True)))
    np.testing.assert_allclose(f(xv), np.log1p(-sm), rtol=1e-12)
    verify_grad(lambda v: log1m_softmax(v, axis=axis), [xv], rng=RNG)
