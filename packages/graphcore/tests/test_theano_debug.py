"""Theano's debugging aids as doc/tutorial/debug_faq.txt and modes.txt use them: test values
(config.compute_test_value, tag.test_value, print_test_value) and NanGuardMode stopping at the
op that made or read the bad value."""

import inspect
import warnings

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile import NanGuardError, NanGuardMode
from graphcore.config import config
from graphcore.graph.test_value import get_test_value


def _debug_faq_graph():
    W1 = theano.shared(np.random.rand(2, 10, 10), "W1")
    x = T.matrix("x")
    x.tag.test_value = np.random.rand(5, 10)
    func_of_W1 = W1.dimshuffle(2, 0, 1).flatten(2).T  # (20, 10), unknown to the types
    return x, func_of_W1


def test_a_shape_error_shows_where_the_graph_is_built():
    with config.change_flags(compute_test_value="warn"):
        x, func_of_W1 = _debug_faq_graph()
        assert func_of_W1.tag.test_value.shape == (20, 10)
        with pytest.raises(ValueError, match=r"\(5, 10\).*\(20, 10\).*not aligned") as info:
            T.dot(x, func_of_W1)  # the tutorial's faulty line
    frames = [f.name for f in info.traceback]
    assert "test_a_shape_error_shows_where_the_graph_is_built" in frames


def test_off_computes_nothing_and_the_error_comes_at_the_call():
    x, func_of_W1 = _debug_faq_graph()
    h1 = T.dot(x, func_of_W1)
    assert not hasattr(h1.tag, "test_value")
    f = theano.function([x], h1)
    with pytest.raises(ValueError, match="not aligned"):
        f(np.random.rand(5, 10))


def test_intermediate_values_carry_test_values():
    with config.change_flags(compute_test_value="raise"):
        x = T.dvector("x")
        x.tag.test_value = [1.0, 2.0]
        w = theano.shared(np.array([3.0, 4.0]), "w")
        y = (T.exp(x) * w + 1).sum()
        np.testing.assert_allclose(y.tag.test_value, (np.exp([1.0, 2.0]) * [3.0, 4.0] + 1).sum())
        np.testing.assert_allclose(get_test_value(x), [1.0, 2.0])
        assert get_test_value(w)[1] == 4.0 and get_test_value(T.constant(2.0)) == 2.0


@pytest.mark.parametrize("mode", ["raise", "warn", "ignore"])
def test_a_missing_test_value(mode):
    x = T.dvector("x")
    with config.change_flags(compute_test_value=mode):
        if mode == "raise":
            with pytest.raises(ValueError, match=r"Cannot compute test value: input 0 \(x\) of "
                                                 r"Op .*missing default value"):
                T.exp(x)
            return
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y = T.exp(x)
        assert not hasattr(y.tag, "test_value")
        assert [str(w.message) for w in caught if "test value" in str(w.message)] == (
            [] if mode == "ignore" else [caught[0].message.args[0]])


def test_print_test_value_shows_it_in_repr():
    with config.change_flags(compute_test_value="warn"):
        x = T.dvector("x")
        x.tag.test_value = np.array([1.0, 4.0])
        y = T.sqrt(x)
        y.name = "y"
    assert repr(y) == "y"
    with config.change_flags(print_test_value=True):
        assert repr(y) == "y\narray([1., 2.])"


# ------------------------------------------------------------------ NanGuardMode
def test_nan_guard_on_the_modes_page_example_names_the_dot():
    x = T.matrix()
    w = theano.shared(np.random.randn(5, 7))
    y = T.dot(x, w)
    fun = theano.function([x], y, mode=NanGuardMode(nan_is_error=True, inf_is_error=True,
                                                     big_is_error=True))
    infa = np.tile(np.inf, (3, 5))
    with pytest.raises(AssertionError, match=r"NanGuardMode: output 0 of .*[Dd]ot.* contains "
                                             r"(Inf|NaN); its input 0 .*an input of the "
                                             r"function\) contains Inf"):
        with np.errstate(invalid="ignore"):
            fun(infa)


def test_nan_guard_names_the_op_that_made_the_nan():
    x = T.dvector("x")
    y = T.log(x)  # made here from finite inputs
    line = inspect.currentframe().f_lineno - 1
    f = theano.function([x], T.exp(y) + 1, mode=NanGuardMode().excluding("fusion"))
    with pytest.raises(NanGuardError) as info:
        with np.errstate(invalid="ignore"):
            f(np.array([1.0, -1.0]))
    msg = str(info.value)
    assert msg.startswith("NanGuardMode: output 0 of Elemwise{log} contains NaN\n")
    assert "an input of the function" not in msg.splitlines()[0] and f"line {line}" in msg


def test_nan_guard_an_op_reading_a_bad_input_or_an_input_returned_as_is():
    x = T.dvector("x")
    f = theano.function([x], [T.exp(-x), x], mode=NanGuardMode())
    with pytest.raises(NanGuardError, match=r"read a bad value: input 0 \(x, an input of the "
                                            r"function\) contains Inf"):
        f(np.array([np.inf]))  # exp(-inf) = 0 is finite; x itself is not
    g = theano.function([x], x, mode=NanGuardMode())
    with pytest.raises(NanGuardError, match=r"input 0 \(x\) contains NaN"):
        g(np.array([np.nan]))


def test_nan_guard_accepts_infinite_constants():
    x = T.dvector("x")
    f = theano.function([x], T.maximum(x, -np.inf), mode=NanGuardMode())
    np.testing.assert_array_equal(f(np.array([1.0])), [1.0])
