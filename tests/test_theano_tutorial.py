"""Snippets of Theano's own tutorial, unchanged except for the imports, give Theano's answers."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore import In, function, pp, shared


def test_adding_two_scalars():
    x = T.dscalar("x")
    y = T.dscalar("y")
    z = x + y
    f = function([x, y], z)
    assert f(2, 3) == 5.0
    assert np.allclose(f(16.3, 12.1), 28.4)
    assert type(x) is T.TensorVariable
    assert x.type == T.dscalar().type
    assert pp(z) == "(x + y)"
    assert np.allclose(z.eval({x: 16.3, y: 12.1}), 28.4)


def test_adding_two_matrices():
    x = T.dmatrix("x")
    y = T.dmatrix("y")
    f = function([x, y], x + y)
    np.testing.assert_array_equal(f([[1, 2], [3, 4]], [[10, 20], [30, 40]]), [[11, 22], [33, 44]])
    np.testing.assert_array_equal(f(np.array([[1, 2], [3, 4]]), np.array([[10, 20], [30, 40]])),
                                  [[11, 22], [33, 44]])


def test_logistic_function():
    x = T.dmatrix("x")
    s = 1 / (1 + T.exp(-x))
    logistic = theano.function([x], s)
    np.testing.assert_allclose(logistic([[0, 1], [-1, -2]]),
                               [[0.5, 0.73105858], [0.26894142, 0.11920292]], rtol=1e-7)
    s2 = (1 + T.tanh(x / 2)) / 2
    logistic2 = theano.function([x], s2)
    np.testing.assert_allclose(logistic2([[0, 1], [-1, -2]]), logistic([[0, 1], [-1, -2]]))


def test_computing_more_than_one_thing_at_the_same_time():
    a, b = T.dmatrices("a", "b")
    diff = a - b
    abs_diff = abs(diff)
    diff_squared = diff ** 2
    f = theano.function([a, b], [diff, abs_diff, diff_squared])
    d, ad, d2 = f([[1, 1], [1, 1]], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(d, [[1, 0], [-1, -2]])
    np.testing.assert_array_equal(ad, [[1, 0], [1, 2]])
    np.testing.assert_array_equal(d2, [[1, 0], [1, 4]])


def test_default_values_for_arguments():
    x, y, w = T.dscalars("x", "y", "w")
    z = (x + y) * w
    f = function([x, In(y, value=1), In(w, value=2, name="w_by_name")], z)
    assert f(33) == 68.0
    assert f(33, 2) == 70.0
    assert f(33, 0, 1) == 33.0
    assert f(33, w_by_name=1) == 34.0
    assert f(33, w_by_name=1, y=0) == 33.0


def test_shared_variables_accumulator_copy_and_givens():
    state = shared(0)
    inc = T.iscalar("inc")
    accumulator = function([inc], state, updates=[(state, state + inc)])
    assert state.get_value() == 0
    assert accumulator(1) == 0
    assert state.get_value() == 1
    assert accumulator(300) == 1
    assert state.get_value() == 301
    state.set_value(-1)
    assert accumulator(3) == -1
    assert state.get_value() == 2
    decrementor = function([inc], state, updates=[(state, state - inc)])
    assert decrementor(2) == 2
    assert state.get_value() == 0

    fn_of_state = state * 2 + inc
    foo = T.scalar(dtype=state.dtype)
    skip_shared = function([inc, foo], fn_of_state, givens=[(state, foo)])
    assert skip_shared(1, 3) == 7
    assert state.get_value() == 0

    # Function.copy: swap the shared variable, or drop the updates
    state.set_value(10)
    new_state = theano.shared(0)
    new_accumulator = accumulator.copy(swap={state: new_state})
    new_accumulator(100)
    assert new_state.get_value() == 100
    assert state.get_value() == 10
    null_accumulator = accumulator.copy(delete_updates=True)
    null_accumulator(9000)
    assert state.get_value() == 10


def test_copy_errors_and_private_state():
    state = shared(0.0)
    x = T.dscalar("x")
    acc = T.dscalar("acc")
    f = function([x, In(acc, value=0.0, update=acc + x)], acc + state)
    f(5.0)
    g = f.copy()  # own copy of the In state
    h = f.copy(share_memory=True)  # shares the executable, not the state (Theano's copy)
    g(1.0)
    assert f["acc"] == 5.0 and g["acc"] == 6.0
    h(2.0)
    assert f["acc"] == 5.0 and h["acc"] == 7.0 and h.executable is f.executable
    with pytest.raises(ValueError, match="not a shared variable of this function"):
        f.copy(swap={shared(1.0): shared(2.0)})
    with pytest.raises(TypeError, match="cannot swap"):
        f.copy(swap={state: shared(np.zeros(2))})


def test_computing_gradients():
    x = T.dscalar("x")
    y = x ** 2
    gy = T.grad(y, x)
    f = theano.function([x], gy)
    assert f(4) == 8.0
    assert np.allclose(f(94.2), 188.4)

    x = T.dmatrix("x")
    s = T.sum(1 / (1 + T.exp(-x)))
    gs = T.grad(s, x)
    dlogistic = theano.function([x], gs)
    np.testing.assert_allclose(dlogistic([[0, 1], [-1, -2]]),
                               [[0.25, 0.19661193], [0.19661193, 0.10499359]], rtol=1e-7)


def test_conditions_with_switch():
    a, b = T.scalars("a", "b")
    x, y = T.matrices("x", "y")
    z_switch = T.switch(T.lt(a, b), T.mean(x), T.mean(y))
    f_switch = theano.function([a, b, x, y], z_switch)
    val1, val2 = 0.0, 1.0
    big_mat1 = np.ones((10, 10), dtype=theano.config.floatX)
    big_mat2 = np.ones((10, 10), dtype=theano.config.floatX) * 2
    assert f_switch(val1, val2, big_mat1, big_mat2) == 1.0
    assert f_switch(val2, val1, big_mat1, big_mat2) == 2.0


def test_broadcasting_tutorial():
    r = T.row()
    assert r.broadcastable == (True, False)
    mtr = T.matrix()
    assert mtr.broadcastable == (False, False)
    f_row = theano.function([r, mtr], [r + mtr])
    R = np.arange(3).reshape(1, 3)
    M = np.arange(9).reshape(3, 3)
    np.testing.assert_array_equal(f_row(R, M)[0], R + M)
    c = T.col()
    f_col = theano.function([c, mtr], [c + mtr])
    C = np.arange(3).reshape(3, 1)
    np.testing.assert_array_equal(f_col(C, M)[0], C + M)
