"""Behaviours whole families of Theano programs rely on (issue 11, part 1): truthiness,
givens/clone reaching random streams' default updates, dict outputs, T.dscalar & co. being
TensorType instances, and the tutorial's R-operator example."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.function import UnusedInputError
from graphcore.sandbox.rng_mrg import MRG_RandomStreams
from graphcore.tensor import TensorType
from graphcore.tensor.shared_randomstreams import RandomStreams


# ------------------------------------------------------------------ truthiness
class _Layer:
    """A model constructor as Theano tutorials write it: `if not W:` means "none given"."""

    def __init__(self, W=None, b=None):
        if not W:
            W = theano.shared(np.ones((2, 2)), name="W")
        if not b:
            b = theano.shared(np.zeros(2), name="b")
        self.W, self.b = W, b


def test_shared_and_symbolic_variables_are_truthy():
    given = theano.shared(np.full((2, 2), 3.0))
    assert _Layer(W=given).W is given
    assert _Layer().W.get_value()[0, 0] == 1.0
    x = T.dvector("x")
    assert bool(x) and bool(x + 1) and bool(T.constant(0.0))


@pytest.mark.parametrize("make", [lambda x: x < 1, lambda x: x >= 1, lambda x: T.eq(x, 1),
                                  lambda x: T.neq(x, x)])
def test_a_comparison_result_has_no_truth_value(make):
    x = T.dvector("x")
    with pytest.raises(TypeError, match="truth value of the symbolic comparison"):
        bool(make(x))


def test_chained_comparison_raises():
    x, y = T.dvector(), T.dvector()
    with pytest.raises(TypeError, match="T.and_"):
        x < y < x  # noqa: B015  (Python evaluates bool(x < y))


# --------------------------------------------- givens and random streams' updates
@pytest.mark.parametrize("streams", [MRG_RandomStreams, RandomStreams])
def test_givens_reach_the_default_update_of_a_random_stream(streams):
    data = np.arange(20.0).reshape(10, 2)
    shared_data = theano.shared(data)
    i, x = T.lscalar("i"), T.dmatrix("x")
    srng = streams(7)
    noisy = srng.binomial(size=x.shape, n=1, p=0.5, dtype="float64") * x
    f = theano.function([i], noisy, givens={x: shared_data[i * 2:(i + 1) * 2]})
    draws = [f(3) for _ in range(8)]
    for d in draws:
        mask = d != 0
        np.testing.assert_array_equal(d[mask], data[6:8][mask])  # the minibatch, masked
    assert any(not np.array_equal(draws[0], d) for d in draws[1:])  # the generator advances


def test_clone_replace_reaches_the_default_update():
    data = theano.shared(np.arange(8.0).reshape(4, 2))
    i, x = T.lscalar("i"), T.dmatrix("x")
    noisy = RandomStreams(3).uniform(size=x.shape) + x
    minibatch = theano.clone(noisy, replace={x: data[i * 2:(i + 1) * 2]})
    f = theano.function([i], minibatch)
    a, b = f(1), f(1)
    assert a.shape == (2, 2) and not np.array_equal(a, b)
    assert np.all((a >= data.get_value()[2:4]) & (a < data.get_value()[2:4] + 1))
    # the original graph keeps its own update (reading x)
    g = theano.function([x], noisy)
    assert g(np.zeros((3, 1))).shape == (3, 1)


# ------------------------------------------------------------------ dict outputs
def test_dict_outputs_give_a_dict():
    a, b = T.dscalars("a", "b")
    f = theano.function([a, b], {"sum": a + b, "prod": a * b})
    out = f(2.0, 3.0)
    assert out == {"sum": 5.0, "prod": 6.0}
    assert f(a=1.0, b=4.0) == {"sum": 5.0, "prod": 4.0}
    assert f.output_keys == ["prod", "sum"]


def test_dict_outputs_with_updates():
    acc = theano.shared(0.0)
    a = T.dscalar("a")
    f = theano.function([a], {"before": acc * 1.0}, updates=[(acc, acc + a)])
    assert f(2.0) == {"before": 0.0} and f(1.0) == {"before": 2.0}
    assert acc.get_value() == 3.0


def test_dict_output_keys_must_be_strings():
    a = T.dscalar("a")
    with pytest.raises(TypeError, match="keys of a dict of outputs must be strings, got 1"):
        theano.function([a], {1: a})


# ------------------------------------------------------ TensorType instances
def test_prefixed_constructors_are_tensor_types():
    x = T.dscalar("x")
    assert x.type is T.dscalar and isinstance(T.dmatrix, TensorType)
    assert TensorType("float64", (False, False)) == T.dmatrix
    assert TensorType("float32", broadcastable=(True, False)) == T.frow
    assert T.imatrix("m").type is T.imatrix and T.imatrix("m").name == "m"
    assert [v.type for v in T.dmatrices("a", "b")] == [T.dmatrix, T.dmatrix]


@pytest.mark.parametrize("t, text", [
    (T.dscalar, "TensorType(float64, scalar)"), (T.fvector, "TensorType(float32, vector)"),
    (T.lmatrix, "TensorType(int64, matrix)"), (T.drow, "TensorType(float64, row)"),
    (T.dcol, "TensorType(float64, col)"), (T.dtensor3, "TensorType(float64, 3D)"),
    (TensorType("float64", (1, None, None)), "TensorType(float64, (True, False, False))"),
    (TensorType("float64", (3, None)), "TensorType(float64, shape=(3, ?))"),
])
def test_types_print_as_theano(t, text):
    assert str(t) == repr(t) == text
    assert str(t("v").type) == text


def test_type_call_keeps_the_constructor_keywords():
    assert T.dvector("v", shape=(3,)).type.shape == (3,)
    assert T.dmatrix(dtype="float32").type == T.fmatrix
    with pytest.raises(TypeError, match="2 dimensions"):
        T.dmatrix(shape=(3,))


# ------------------------------------------------------------ the R-op example
def test_rop_tutorial_example_compiles_with_w_as_an_input():
    W, V = T.dmatrices("W", "V")
    x = T.dvector("x")
    JV = T.Rop(T.dot(x, W), W, V)
    f = theano.function([W, V, x], JV)  # no UnusedInputError for W
    np.testing.assert_allclose(f([[1, 1], [1, 1]], [[2, 2], [2, 2]], [0, 1]), [2.0, 2.0])
    with pytest.raises(AssertionError, match=r"expected shape \(2, 2\), got \(2, 3\)"):
        f(np.ones((2, 2)), np.ones((2, 3)), [0.0, 1.0])


def test_unused_input_is_still_reported():
    W, V = T.dmatrices("W", "V")
    with pytest.raises(UnusedInputError):
        theano.function([W, V], V * 2)
