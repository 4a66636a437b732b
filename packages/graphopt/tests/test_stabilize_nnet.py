"""Stabilization of the softmax family (graphcore.tensor.nnet ops)."""

import numpy as np

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode
from graphcore.tensor import nnet

RNG = np.random.default_rng(7)
X = np.array([[1000.0, -1000.0, 0.0, 3.0], [-1000.0, -999.0, -1001.0, -1000.0],
              [0.1, 0.2, 0.3, 0.4]])
Y = np.array([1, 2, 0])


def fast(inputs, outputs):
    return theano.function(inputs, outputs, mode=Mode(linker="python", optimizer="fast_run"))


def ref_log_softmax(v):
    m = v.max(axis=1, keepdims=True)
    return v - m - np.log(np.exp(v - m).sum(axis=1, keepdims=True))


def op_types(f):
    return {type(n.op).__name__ for n in f.maker.fgraph.apply_nodes}


def test_log_softmax_rewrite_is_finite_at_1000(helpers):
    x = T.matrix("x")
    out = T.log(nnet.softmax(x))
    f = fast([x], out)
    assert "LogSoftmax" in op_types(f) and "Softmax" not in op_types(f)
    got = f(X)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, ref_log_softmax(X), rtol=1e-12)
    helpers.check_same([x], out, [RNG.standard_normal((3, 4))])


def test_log_softmax_gradient_is_finite_at_1000():
    x = T.matrix("x")
    t = T.matrix("t")
    cost = -T.sum(t * T.log(nnet.softmax(x)))
    g = T.grad(cost, x)
    f = fast([x, t], [cost, g])
    tv = np.eye(4)[Y]
    c, gv = f(X, tv)
    assert np.isfinite(c) and np.all(np.isfinite(gv))
    sm = np.exp(ref_log_softmax(X))
    np.testing.assert_allclose(gv, sm * tv.sum(axis=1, keepdims=True) - tv, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(c, -np.sum(tv * ref_log_softmax(X)), rtol=1e-12)


def test_crossentropy_of_softmax_is_fused_and_stable(helpers):
    x = T.matrix("x")
    y = T.vector("y", dtype="int64")
    cost = T.mean(nnet.categorical_crossentropy(nnet.softmax(x), y))
    g = T.grad(cost, x)
    f = fast([x, y], [cost, g])
    types = op_types(f)
    assert "CrossentropySoftmaxArgmax1HotWithBias" in types
    assert "CrossentropySoftmax1HotWithBiasDx" in types
    assert "CrossentropyCategorical1Hot" not in types and "Softmax" not in types
    c, gv = f(X, Y)
    want_nll = -ref_log_softmax(X)[np.arange(3), Y]
    np.testing.assert_allclose(c, want_nll.mean(), rtol=1e-12)
    sm = np.exp(ref_log_softmax(X))
    want_g = sm.copy()
    want_g[np.arange(3), Y] -= 1
    np.testing.assert_allclose(gv, want_g / 3, rtol=1e-10, atol=1e-300)
    assert np.all(np.isfinite(gv))
    v = RNG.standard_normal((3, 4))
    helpers.check_same([x, y], [cost, g], [v, Y])
