"""Sigmoid cross-entropy, logsumexp and log-mean-exp: value AND gradient finite and exact at |z| = 1000."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.gradient import verify_grad
from graphcore.tensor import nnet

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
