"""Composite: a scalar op holding a graph of scalar ops (what elementwise fusion builds)."""

import pickle

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode
from graphcore.scalar import ops as so
from graphcore.scalar.composite import Composite
from graphcore.tensor.elemwise import Elemwise
from graphcore.tensor.type import TensorType


def s(dtype="float64"):
    return TensorType(dtype, ())()


def test_structure_name_and_dtypes():
    a, b = s(), s()
    c = Composite([a, b], [so.mul(so.exp(a), b)])
    assert str(c) == "Composite{exp(i0) * i1}"
    assert c.nin == 2 and c.nout == 1
    assert [type(n.op) for n in c.nodes] == [so.Exp, so.Mul]
    assert c.output_dtypes("float64", "float64") == ("float64",)
    with pytest.raises(TypeError, match="dtype"):
        c.output_dtypes("float32", "float64")


def test_structural_equality_and_hash():
    def make():
        a, b = s(), s()
        return Composite([a, b], [so.add(so.sin(a), b, 2.0)])

    c1, c2 = make(), make()
    assert c1 == c2 and hash(c1) == hash(c2)
    a, b = s(), s()
    c3 = Composite([a, b], [so.add(so.sin(b), a, 2.0)])  # inputs swapped
    assert c1 != c3
    a, b = s(), s()
    c4 = Composite([a, b], [so.add(so.sin(a), b, 3.0)])  # another constant
    assert c1 != c4
    assert Elemwise(c1) == Elemwise(c2)


def test_impl_matches_numpy_with_broadcasting_and_several_outputs():
    a, b = s(), s()
    e = so.exp(a)
    c = Composite([a, b], [so.mul(e, b), so.sub(e, 1.0), a])
    x, y = np.linspace(-1, 1, 6).reshape(2, 3), np.array([[2.0], [3.0]])
    out = c.impl(x, y)
    np.testing.assert_allclose(out[0], np.exp(x) * y)
    np.testing.assert_allclose(out[1], np.exp(x) - 1)
    np.testing.assert_array_equal(out[2], x)


def test_nested_composites_are_inlined():
    a = s()
    inner = Composite([a], [so.exp(a)])
    b = s()
    outer = Composite([b], [so.add(inner(b), 1.0)])
    assert not any(isinstance(n.op, Composite) for n in outer.nodes)
    np.testing.assert_allclose(outer.impl(np.array([0.0, 1.0])), np.exp([0.0, 1.0]) + 1)


def test_elemwise_of_composite_runs_on_reference_backend():
    a, b = s(), s()
    c = Composite([a, b], [so.true_div(so.sqr(a), so.add(b, 1.0))])
    x, y = T.matrix("x"), T.matrix("y")
    f = theano.function([x, y], Elemwise(c)(x, y), mode=Mode(linker="python", optimizer=None))
    xv, yv = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    np.testing.assert_allclose(f(xv, yv), xv ** 2 / 2)


def test_integer_and_boolean_composites():
    i, j = s("int64"), s("int64")
    c = Composite([i, j], [so.switch(so.gt(i, j), so.mul(i, 2), j)])
    assert c.output_dtypes("int64", "int64") == ("int64",)
    np.testing.assert_array_equal(c.impl(np.array([1, 5]), np.array([3, 2])), [3, 10])


def test_grad_raises_a_clear_error():
    a = s()
    c = Composite([a], [so.exp(a)])
    x = T.vector("x")
    y = Elemwise(c)(x)
    with pytest.raises(NotImplementedError, match="fusion"):
        T.grad(y.sum(), x)


def test_inner_inputs_must_be_0d_roots():
    x = T.vector("x")
    with pytest.raises(TypeError):
        Composite([x], [x])  # a vector is not a scalar input


def test_pickles():
    a, b = s(), s()
    c = Composite([a, b], [so.mul(so.exp(a), b)])
    c2 = pickle.loads(pickle.dumps(c))
    assert c2 == c and hash(c2) == hash(c)
    np.testing.assert_allclose(c2.impl(np.array([0.0]), np.array([2.0])), [2.0])


def test_outputs_never_share_buffers_with_inputs_or_each_other():
    a = s()
    t = so.tanh(a)
    c = Composite([a], [t, so.identity(t), so.identity(a)])
    x = np.linspace(0, 1, 4)
    o0, o1, o2 = c.impl(x)
    assert not np.shares_memory(o0, o1)
    assert not np.shares_memory(o2, x)
    o0[...] = 0  # an in-place consumer of one output leaves the others intact
    np.testing.assert_allclose(o1, np.tanh(x))
