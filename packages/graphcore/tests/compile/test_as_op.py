"""as_op: a NumPy function wrapped as an Op, as in Theano."""

import pickle

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.ops import as_op
from graphcore.gradient import NullTypeGradError


@as_op(itypes=[T.dmatrix], otypes=[T.dvector])
def row_norms(m):
    return np.sqrt((m ** 2).sum(axis=1))


@as_op(itypes=[T.dvector, T.dvector], otypes=[T.dvector, T.dscalar])
def diff_and_dot(a, b):
    return a - b, a @ b


def test_as_op_runs_the_function():
    x = T.dmatrix("x")
    f = theano.function([x], row_norms(x) * 2)
    m = np.array([[3.0, 4.0], [6.0, 8.0]])
    np.testing.assert_allclose(f(m), [10.0, 20.0])
    assert "row_norms" in str(row_norms)


def test_as_op_with_several_outputs():
    a, b = T.dvectors("a", "b")
    d, p = diff_and_dot(a, b)
    assert p.ndim == 0
    rd, rp = theano.function([a, b], [d, p])(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.testing.assert_allclose(rd, [-2.0, -2.0])
    assert rp == 11.0


def test_as_op_type_errors_and_no_gradient():
    with pytest.raises(TypeError, match="input 0 must be of type"):
        row_norms(T.ivector())
    with pytest.raises(TypeError, match="expected 1 inputs, got 2"):
        row_norms(T.dmatrix(), T.dmatrix())
    x = T.dmatrix("x")
    with pytest.raises(NullTypeGradError, match="row_norms"):
        T.grad(row_norms(x).sum(), x)
    with pytest.raises(TypeError, match="types such as T.dmatrix"):
        as_op(itypes=[3], otypes=[T.dvector])


def test_as_op_with_a_gradient_and_pickling():
    def grad(inputs, g):
        return [g[0] * 2]

    double = as_op(itypes=[T.dvector], otypes=[T.dvector], grad=grad)(_double)
    x = T.dvector("x")
    g = T.grad(double(x).sum(), x)
    np.testing.assert_allclose(theano.function([x], g)(np.ones(3)), [2.0, 2.0, 2.0])
    f = pickle.loads(pickle.dumps(theano.function([x], row_norms(x.dimshuffle("x", 0)))))
    np.testing.assert_allclose(f(np.array([3.0, 4.0])), [5.0])


def _double(v):
    return v * 2


def test_theano_top_level_names():
    for name in ("function", "shared", "In", "Out", "Mode", "config", "grad", "Rop", "Lop",
                 "subgraph_grad", "dot", "pp", "pprint", "debugprint", "clone", "as_op",
                 "DebugMode", "NanGuardMode", "ProfileStats", "change_flags", "FunctionGraph"):
        assert hasattr(theano, name), name
