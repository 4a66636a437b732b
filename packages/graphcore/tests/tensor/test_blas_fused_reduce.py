"""Gemm/Gemv/Ger (BLAS forms graphopt builds) and FusedReduce (reduction fused with its elementwise input)."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode
from graphcore.scalar import ops as so
from graphcore.scalar.composite import Composite
from graphcore.tensor.blas import Gemm, Gemv, Ger
from graphcore.tensor.fused_reduce import FusedReduce
from graphcore.tensor.type import TensorType

RNG = np.random.default_rng(8)


def run(inputs, out, *values):
    f = theano.function(inputs, out, mode=Mode(linker="python", optimizer=None))
    return f(*values)


@pytest.mark.parametrize("inplace", [False, True])
def test_gemm(inplace):
    z, x, y = T.matrix("z"), T.matrix("x"), T.matrix("y")
    a, b = T.scalar("a"), T.scalar("b")
    op = Gemm(inplace)
    assert op.destroy_map == ({0: [0]} if inplace else {})
    zv, xv, yv = RNG.random((3, 5)), RNG.random((3, 4)), RNG.random((4, 5))
    got = run([z, a, x, y, b], op(z, a, x, y, b), zv.copy(), 0.5, xv, yv, 2.0)
    np.testing.assert_allclose(got, 2.0 * zv + 0.5 * xv @ yv)
    got0 = run([z, a, x, y, b], op(z, a, x, y, b), zv.copy(), 0.5, xv, yv, 0.0)
    np.testing.assert_allclose(got0, 0.5 * xv @ yv)


def test_gemm_type_and_shape_errors():
    with pytest.raises(TypeError, match="matrix"):
        Gemm()(T.vector(), 1.0, T.matrix(), T.matrix(), 1.0)
    z, x, y = T.matrix("z"), T.matrix("x"), T.matrix("y")
    f = theano.function([z, x, y], Gemm()(z, 1.0, x, y, 1.0), mode=Mode(linker="python", optimizer=None))
    with pytest.raises(ValueError, match="do not match"):
        f(np.ones((2, 2)), np.ones((2, 3)), np.ones((2, 2)))


def test_gemv_and_ger():
    z, A, v = T.vector("z"), T.matrix("A"), T.vector("v")
    zv, Av, vv = RNG.random(3), RNG.random((3, 4)), RNG.random(4)
    np.testing.assert_allclose(run([z, A, v], Gemv()(z, 2.0, A, v, 0.5), zv, Av, vv),
                               0.5 * zv + 2.0 * Av @ vv)
    x, y = T.vector("x"), T.vector("y")
    xv, yv = RNG.random(3), RNG.random(4)
    np.testing.assert_allclose(run([A, x, y], Ger()(A, -1.0, x, y), Av, xv, yv),
                               Av - np.outer(xv, yv))


def test_blas_infer_shape():
    z, x, y = T.matrix("z"), T.matrix("x"), T.matrix("y")
    out = Gemm()(z, 1.0, x, y, 1.0)
    f = theano.function([z, x, y], out.shape, mode=Mode(linker="python"))
    np.testing.assert_array_equal(f(np.ones((2, 5)), np.ones((2, 3)), np.ones((3, 5))), [2, 5])


def _composite_sq_diff():
    a, b = TensorType("float64", ())(), TensorType("float64", ())()
    return Composite([a, b], [so.sqr(so.sub(a, b))])


@pytest.mark.parametrize("reduce_op, np_fn", [(so.add, np.sum), (so.maximum, np.max),
                                              (so.minimum, np.min), (so.mul, np.prod)])
@pytest.mark.parametrize("axis", [(0,), (1,), (0, 1)])
def test_fused_reduce_equals_reduce_of_elemwise(reduce_op, np_fn, axis):
    x, y = T.matrix("x"), T.matrix("y")
    op = FusedReduce(reduce_op, axis, _composite_sq_diff())
    out = op(x, y)
    xv, yv = RNG.random((3, 4)), RNG.random((3, 4))
    got = run([x, y], out, xv, yv)
    np.testing.assert_allclose(got, np_fn((xv - yv) ** 2, axis=axis))
    assert got.dtype == out.type.dtype


def test_fused_reduce_broadcasts_and_infers_shape():
    x, r = T.matrix("x"), T.row("r") if hasattr(T, "row") else None
    op = FusedReduce(so.add, (1,), _composite_sq_diff())
    out = op(x, r)
    xv, rv = RNG.random((3, 4)), RNG.random((1, 4))
    np.testing.assert_allclose(run([x, r], out, xv, rv), ((xv - rv) ** 2).sum(axis=1))
    f = theano.function([x, r], out.shape, mode=Mode(linker="python"))
    np.testing.assert_array_equal(f(xv, rv), [3])


def test_fused_reduce_equality():
    a = FusedReduce(so.add, (0,), _composite_sq_diff())
    b = FusedReduce(so.add, (0,), _composite_sq_diff())
    assert a == b and hash(a) == hash(b)
    assert a != FusedReduce(so.add, (1,), _composite_sq_diff())
