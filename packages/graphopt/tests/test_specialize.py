"""Specialization: cheap special cases and the BLAS forms."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode
from graphcore.scalar import ops as so
from graphcore.tensor.blas import Gemm, Gemv, Ger
from graphcore.tensor.dot import Dot

RNG = np.random.default_rng(4)


def no_fusion(inputs, outputs):
    return theano.function(inputs, outputs,
                           mode=Mode(linker="python", optimizer="fast_run").excluding("fusion"))


@pytest.mark.parametrize("build, cls", [
    (lambda x: x ** 2, so.Sqr),
    (lambda x: x ** 0.5, so.Sqrt),
    (lambda x: x ** -1, so.Reciprocal),
    (lambda x: x * x, so.Sqr),
    (lambda x: 1 / x, so.Reciprocal),
])
def test_power_and_division_special_cases(helpers, build, cls):
    x = T.vector("x")
    helpers.check_same([x], build(x), [RNG.random(5) + 0.5])
    f = no_fusion([x], build(x))
    (node,) = f.maker.fgraph.apply_nodes
    assert isinstance(node.op.scalar_op, cls)


def test_division_by_constant_becomes_multiplication(helpers):
    x = T.vector("x")
    helpers.check_same([x], x / 4.0, [RNG.random(5)])
    f = no_fusion([x], x / 4.0)
    (node,) = f.maker.fgraph.apply_nodes
    assert isinstance(node.op.scalar_op, so.Mul)


def test_integer_division_is_not_changed(helpers):
    x = T.vector("x", dtype="int64")
    f = helpers.check_same([x], x // 3, [np.arange(7)])
    assert f(np.arange(7)).dtype == np.int64


def test_sum_of_product_of_vectors_is_a_dot(helpers):
    x, y = T.vector("x"), T.vector("y")
    helpers.check_same([x, y], T.sum(x * y), [RNG.random(6), RNG.random(6)])
    f = no_fusion([x, y], T.sum(x * y))
    (node,) = f.maker.fgraph.apply_nodes
    assert isinstance(node.op, Dot)


@pytest.mark.parametrize("build", [
    lambda z, x, y, a: z + T.dot(x, y),
    lambda z, x, y, a: z - 0.5 * T.dot(x, y),
    lambda z, x, y, a: T.dot(x, y) * a + z,
    lambda z, x, y, a: z - a * T.dot(x, y),
])
def test_dot_plus_scaled_add_is_gemm(helpers, build):
    z, x, y = T.matrix("z"), T.matrix("x"), T.matrix("y")
    a = T.scalar("a")
    out = build(z, x, y, a)
    vals = [RNG.random((3, 5)), RNG.random((3, 4)), RNG.random((4, 5)), np.float64(0.7)]
    helpers.check_same([z, x, y, a], out, vals, on_unused_input="ignore")
    f = theano.function([z, x, y, a], out, mode=Mode(linker="python"), on_unused_input="ignore")
    assert [type(n.op) for n in f.maker.fgraph.apply_nodes if isinstance(n.op, (Gemm, Dot))] == [Gemm]


def test_matrix_vector_is_gemv(helpers):
    z, A, v = T.vector("z"), T.matrix("A"), T.vector("v")
    out = z + 2.0 * T.dot(A, v)
    helpers.check_same([z, A, v], out, [RNG.random(3), RNG.random((3, 4)), RNG.random(4)])
    f = theano.function([z, A, v], out, mode=Mode(linker="python"))
    assert any(isinstance(n.op, Gemv) for n in f.maker.fgraph.apply_nodes)


def test_outer_update_is_ger(helpers):
    A, x, y = T.matrix("A"), T.vector("x"), T.vector("y")
    out = A + 0.1 * T.outer(x, y)
    helpers.check_same([A, x, y], out, [RNG.random((3, 4)), RNG.random(3), RNG.random(4)])
    f = theano.function([A, x, y], out, mode=Mode(linker="python"))
    assert any(isinstance(n.op, Ger) for n in f.maker.fgraph.apply_nodes)


def test_sgd_update_on_shared_weight_uses_gemm_and_keeps_shared_value_safe():
    rng = np.random.default_rng(5)
    W = theano.shared(rng.random((4, 3)), name="W")
    x = T.matrix("x")
    cost = T.sum(T.sqr(T.dot(x, W)))
    g = T.grad(cost, W)
    f = theano.function([x], cost, updates=[(W, W - 0.01 * g)], mode=Mode(linker="python"))
    assert any(isinstance(n.op, Gemm) for n in f.maker.fgraph.apply_nodes)
    w0 = W.get_value().copy()
    xv = rng.random((2, 4))
    f(xv)
    want = w0 - 0.01 * (xv.T @ (2 * (xv @ w0)))
    np.testing.assert_allclose(W.get_value(), want, rtol=1e-12)
