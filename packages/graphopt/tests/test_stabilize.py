"""Stabilization: the rewritten graphs are finite where the naive ones overflow, and so are their gradients."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode
from graphcore.scalar import ops as so

RNG = np.random.default_rng(2)
EXTREMES = np.array([-1000.0, -50.0, -1.0, 0.0, 1e-12, 1.0, 50.0, 1000.0])


def fast(inputs, outputs):
    return theano.function(inputs, outputs, mode=Mode(linker="python", optimizer="fast_run"))


@pytest.mark.parametrize("build, scalar_cls, reference", [
    (lambda x: T.exp(x) - 1, so.Expm1, np.expm1),
    (lambda x: T.log(1 + x), so.Log1p, np.log1p),
    (lambda x: T.log(x + 1), so.Log1p, np.log1p),
    (lambda x: T.log(1 + T.exp(x)), so.Softplus, lambda v: np.logaddexp(0, v)),
    (lambda x: T.log1p(T.exp(x)), so.Softplus, lambda v: np.logaddexp(0, v)),
    (lambda x: T.log(T.sigmoid(x)), so.Softplus, lambda v: -np.logaddexp(0, -v)),
    (lambda x: T.log(1 - T.sigmoid(x)), so.Softplus, lambda v: -np.logaddexp(0, v)),
])
def test_stable_forms(helpers, build, scalar_cls, reference):
    x = T.vector("x")
    f = fast([x], build(x))
    assert helpers.has_scalar_op(f, scalar_cls)
    vals = EXTREMES if scalar_cls is not so.Log1p else np.abs(EXTREMES)
    got = f(vals)
    with np.errstate(all="ignore"):
        want = reference(vals)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
    assert np.all(np.isfinite(got) == np.isfinite(want))
    helpers.check_same([x], build(x), [RNG.random(6) * 0.5 + 0.1])


def test_expm1_is_accurate_near_zero():
    x = T.vector("x")
    f = fast([x], T.exp(x) - 1)
    np.testing.assert_allclose(f(np.array([1e-10])), [1.00000000005e-10], rtol=1e-14)


@pytest.mark.parametrize("build", [
    lambda x: T.sum(T.log(T.sigmoid(x))),
    lambda x: T.sum(T.log(1 - T.sigmoid(x))),
    lambda x: T.sum(T.log(1 + T.exp(x))),
])
def test_gradients_are_finite_at_extremes(build):
    x = T.vector("x")
    cost = build(x)
    g = T.grad(cost, x)
    f = fast([x], [cost, g])
    c, gv = f(EXTREMES)
    assert np.isfinite(c)
    assert np.all(np.isfinite(gv)), gv
    # central differences on moderate values agree
    v = np.array([-3.0, -0.5, 0.2, 2.0])
    eps = 1e-6
    fc = fast([x], cost)
    num = np.array([(fc(v + eps * e) - fc(v - eps * e)) / (2 * eps) for e in np.eye(4)])
    np.testing.assert_allclose(f(v)[1], num, rtol=1e-5, atol=1e-8)


def test_log_sum_exp_is_stable(helpers):
    x = T.matrix("x")
    out = T.log(T.sum(T.exp(x), axis=1))
    f = fast([x], out)
    v = np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -1002.0], [0.0, 0.5, 1.0]])
    m = v.max(axis=1, keepdims=True)
    want = (m + np.log(np.exp(v - m).sum(axis=1, keepdims=True))).ravel()
    np.testing.assert_allclose(f(v), want, rtol=1e-12)
    helpers.check_same([x], out, [RNG.random((3, 4))])


def test_log_sum_exp_gradient_is_finite_at_1000():
    x = T.matrix("x")
    cost = T.sum(T.log(T.sum(T.exp(x), axis=1)))
    g = T.grad(cost, x)
    f = fast([x], [cost, g])
    v = np.array([[1000.0, 999.0, 0.0], [-1000.0, -1000.0, -1001.0]])
    c, gv = f(v)
    sm = np.exp(v - v.max(axis=1, keepdims=True))
    sm /= sm.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(gv, sm, rtol=1e-12)  # the gradient is softmax(x)
    m = v.max(axis=1)
    np.testing.assert_allclose(c, np.sum(m + np.log(np.exp(v - m[:, None]).sum(axis=1))), rtol=1e-12)


def test_one_minus_sigmoid():
    x = T.vector("x")
    f = fast([x], 1 - T.sigmoid(x))
    from scipy.special import expit

    np.testing.assert_allclose(f(EXTREMES), expit(-EXTREMES), rtol=1e-12)
