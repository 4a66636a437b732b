"""NanGuardMode and DebugMode: they pass correct functions and catch bad values, rewrites and ops."""

import inspect

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile import DebugMode, DebugModeError, NanGuardError, NanGuardMode
from graphcore.compile.rewrite_db import Query, rewrite_db

XV = np.array([0.5, 1.0, 2.0])


# ------------------------------------------------------------ NanGuardMode
def test_nan_guard_passes_finite_values():
    x = T.dvector("x")
    f = theano.function([x], T.log(x) * 2, mode=NanGuardMode())
    np.testing.assert_allclose(f(XV), np.log(XV) * 2)


def test_nan_guard_names_the_op_that_made_an_inf_and_the_user_line():
    x = T.dvector("x")
    y = T.log(x) * 2  # fusion may merge the two ops: either way, this is the line
    line = inspect.currentframe().f_lineno - 1
    f = theano.function([x], y, mode=NanGuardMode(), name="g")
    with pytest.raises(NanGuardError) as info:
        f(np.array([1.0, 0.0]))
    msg = str(info.value)
    assert "contains Inf" in msg and "log" in msg
    assert f'line {line}' in msg


def test_nan_guard_checks_inputs_nan_and_big_values():
    x = T.dvector("x")
    f = theano.function([x], x * 2, mode=NanGuardMode())
    with pytest.raises(NanGuardError, match=r"of Elemwise{mul} contains NaN; its input 0 \(x, an "
                                            r"input of the function\) contains NaN"):
        f(np.array([1.0, np.nan]))
    with pytest.raises(NanGuardError, match="magnitude 2e\\+10"):
        f(np.array([1e10]))
    lax = theano.function([x], x * 2, mode=NanGuardMode(nan_is_error=False, inf_is_error=False,
                                                        big_is_error=False))
    assert np.isnan(lax(np.array([np.nan]))[0])
    with pytest.raises(NanGuardError):
        theano.function([x], T.sqrt(x), mode="NanGuardMode")(np.array([-1.0]))


# --------------------------------------------------------------- DebugMode
def test_debug_mode_passes_a_correct_function():
    x, y = T.dvector("x"), T.dvector("y")
    s = theano.shared(np.zeros(3), "s")
    f = theano.function([x, y], [T.exp(x) * y + 1, (x * y).sum()], updates=[(s, s + x)],
                        mode=DebugMode())
    a, b = f(XV, XV)
    np.testing.assert_allclose(a, np.exp(XV) * XV + 1)
    np.testing.assert_allclose(b, (XV * XV).sum())
    np.testing.assert_allclose(s.get_value(), XV)
    g = theano.function([x], T.grad((T.tanh(x) ** 2).sum(), x), mode="DebugMode")
    np.testing.assert_allclose(g(XV), 2 * np.tanh(XV) * (1 - np.tanh(XV) ** 2))


class ExpToLog:
    """A wrong rewrite: exp(x) -> log(x)."""

    def apply(self, fgraph):
        for node in fgraph.toposort():
            if getattr(getattr(node.op, "scalar_op", None), "name", None) == "exp":
                fgraph.replace(node.outputs[0], T.log(node.inputs[0]), reason="wrong on purpose")


@pytest.fixture
def wrong_rewrite():
    db = rewrite_db()
    db.register("test_exp_to_log", ExpToLog(), "test_wrong_rewrite", phase="canonicalize")
    yield Query(include=("fast_run", "test_wrong_rewrite"))
    db.remove("test_exp_to_log")


def test_debug_mode_catches_a_wrong_rewrite(wrong_rewrite):
    x = T.dvector("x")
    f = theano.function([x], T.exp(x) + 1, mode=DebugMode(optimizer=wrong_rewrite))
    with pytest.raises(DebugModeError, match="output 0 .* differs from the original graph"):
        f(XV)
    # the same wrong rewrite in a normal mode silently computes log: what DebugMode is for
    g = theano.function([x], T.exp(x) + 1, mode=theano.Mode(linker="python",
                                                            optimizer=wrong_rewrite))
    np.testing.assert_allclose(g(XV), np.log(XV) + 1)


# an op overwriting an input it does not declare: tests/test_debugmode.py (every backend)
