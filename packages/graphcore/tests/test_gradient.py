"""grad(): values against analytic derivatives, Theano's errors and options, verify_grad itself."""

import warnings

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.graph import Apply, Op
from graphcore.gradient import (DisconnectedInputError, GradientError, NullTypeGradError,
                                disconnected_grad, grad_undefined)
from graphcore.testing import verify_grad

XV = np.array([0.5, -1.5, 2.0])
YV = np.array([1.0, 2.0, -0.5])


def test_grad_values():
    x = T.dvector("x")
    g = T.grad((x ** 3).sum(), x)
    np.testing.assert_allclose(theano.function([x], g)(XV), 3 * XV ** 2)
    assert g.type == x.type


def test_grad_of_list_of_wrt_and_shared():
    x = T.dvector("x")
    w = theano.shared(np.array([1.0, 2.0, 3.0]), "w")
    b = theano.shared(0.5, "b")
    cost = ((x * w + b) ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    rw, rb = theano.function([x], [gw, gb])(XV)
    r = XV * np.array([1.0, 2.0, 3.0]) + 0.5
    np.testing.assert_allclose(rw, 2 * r * XV)
    np.testing.assert_allclose(rb, 2 * r.sum())
    assert gb.type.ndim == 0


def test_gradient_is_cast_to_the_wrt_dtype():
    x = T.fvector("x")
    g = T.grad((x * 2.0).sum(), x)
    assert g.dtype == "float32"


def test_non_scalar_cost_is_a_type_error():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="cost must be a scalar"):
        T.grad(x * 2, x)


def test_integer_cost_is_a_type_error():
    with pytest.raises(TypeError, match="integer dtype"):
        T.grad(T.ivector("i").sum(), T.ivector("j"))


def test_wrt_must_be_a_variable():
    with pytest.raises(TypeError, match=r"wrt\[0\] is a int"):
        T.grad((T.dvector() ** 2).sum(), 3)


def test_disconnected_inputs_raise_warn_ignore():
    x, y = T.dvector("x"), T.dvector("y")
    cost = (x ** 2).sum()
    with pytest.raises(DisconnectedInputError, match="does not depend on y"):
        T.grad(cost, [x, y])
    with pytest.raises(DisconnectedInputError):
        T.grad(cost, y, disconnected_inputs="raise")
    with pytest.warns(UserWarning, match="does not depend on y"):
        gx, gy = T.grad(cost, [x, y], disconnected_inputs="warn")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gy = T.grad(cost, y, disconnected_inputs="ignore")
    np.testing.assert_array_equal(theano.function([y], gy)(YV), np.zeros(3))
    assert T.grad(cost, y, disconnected_inputs="ignore", return_disconnected="None") is None
    with pytest.raises(ValueError, match="disconnected_inputs"):
        T.grad(cost, x, disconnected_inputs="maybe")


def test_consider_constant():
    x, y = T.dvector("x"), T.dvector("y")
    z = x * y
    g = T.grad((z * x).sum(), x, consider_constant=[z])
    np.testing.assert_allclose(theano.function([x, y], g)(XV, YV), XV * YV)
    g_full = T.grad((z * x).sum(), x)
    np.testing.assert_allclose(theano.function([x, y], g_full)(XV, YV), 2 * XV * YV)
    with pytest.raises(DisconnectedInputError):
        T.grad(z.sum(), x, consider_constant=[x])


def test_known_grads():
    x = T.dvector("x")
    z = x ** 2
    gz = T.dvector("gz")
    g = T.grad(None, x, known_grads={z: gz})
    np.testing.assert_allclose(theano.function([x, gz], g)(XV, YV), 2 * XV * YV)
    g2 = T.grad(z.sum(), x, known_grads={z: gz})  # adds to the cost's gradient
    np.testing.assert_allclose(theano.function([x, gz], g2)(XV, YV), 2 * XV * (YV + 1))
    with pytest.raises(AssertionError, match="known_grads"):
        T.grad(None, x)


def test_disconnected_grad_blocks_backprop():
    x = T.dvector("x")
    y = disconnected_grad(x ** 2)
    np.testing.assert_allclose(theano.function([x], y)(XV), XV ** 2)  # identity forward
    g = T.grad((y * x).sum(), x)
    np.testing.assert_allclose(theano.function([x], g)(XV), XV ** 2)
    with pytest.raises(DisconnectedInputError):
        T.grad(y.sum(), x)
    assert theano.gradient.stop_gradient is disconnected_grad


class NoGrad(Op):
    def make_node(self, a):
        a = T.as_tensor_variable(a)
        return Apply(self, [a], [a.type()])

    def perform(self, node, inputs, out):
        out[0][0] = inputs[0].copy()


class UndefinedGrad(NoGrad):
    def grad(self, inputs, g):
        return [grad_undefined(self, 0, inputs[0], "it is a step function")]


def test_null_gradients_raise_naming_the_op():
    x = T.dvector("x")
    with pytest.raises(NullTypeGradError, match="NoGrad does not implement the gradient"):
        T.grad(NoGrad()(x).sum(), x)
    with pytest.raises(NullTypeGradError, match="undefined. it is a step function"):
        T.grad(UndefinedGrad()(x).sum(), x)
    g = T.grad(NoGrad()(x).sum(), x, null_gradients="return")
    assert type(g.type).__name__ == "NullType"


def test_null_gradient_on_a_path_not_taken_is_fine():
    x, y = T.dvector("x"), T.dvector("y")
    g = T.grad((NoGrad()(y) * x).sum(), x)
    np.testing.assert_allclose(theano.function([x, y], g)(XV, YV), YV)


def test_gradient_of_integer_input_is_zero():
    x, i = T.dvector("x"), T.ivector("i")
    g = T.grad((x * i).sum(), i)
    assert g.dtype == theano.config.floatX
    np.testing.assert_array_equal(
        theano.function([x, i], g, on_unused_input="ignore")(XV, np.array([1, 2, 3], dtype="int32")),
        np.zeros(3))
    with pytest.raises(DisconnectedInputError):
        T.grad((x ** 2).sum(), i)


def test_grad_through_broadcasting_sums_over_the_broadcast_axes():
    m, r = T.dmatrix("m"), T.drow("r")
    g = T.grad((m * r).sum(), r)
    mv = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(theano.function([m, r], g)(mv, np.ones((1, 3))),
                               mv.sum(axis=0, keepdims=True))


def test_verify_grad_accepts_a_correct_gradient_and_catches_a_wrong_one():
    verify_grad(lambda a, b: (a * b) ** 2, [XV, YV])

    class WrongGrad(NoGrad):
        def perform(self, node, inputs, out):
            out[0][0] = inputs[0] ** 2

        def grad(self, inputs, g):
            return [g[0] * inputs[0]]  # should be 2 * x

    with pytest.raises(GradientError, match="input 0"):
        verify_grad(WrongGrad(), [XV])
    with pytest.raises(TypeError, match="gradients need floats"):
        verify_grad(lambda a: a, [np.array([1, 2])])


def test_grad_works_for_float32():
    verify_grad(lambda a: T.tanh(a) * a, [XV.astype("float32")])


def test_zero_grad_and_consider_constant_give_zeros_not_errors():
    from graphcore.gradient import consider_constant, zero_grad

    x = T.dvector("x")
    for fn in (zero_grad, consider_constant, T.zero_grad):
        y = fn(x ** 2)
        np.testing.assert_allclose(theano.function([x], y)(XV), XV ** 2)
        g = T.grad(y.sum(), x)  # connected: zeros, no DisconnectedInputError
        np.testing.assert_array_equal(theano.function([x], g)(XV), np.zeros(3))
        g2 = T.grad((y * x).sum(), x)
        np.testing.assert_allclose(theano.function([x], g2)(XV), XV ** 2)


def test_grad_scale_and_grad_clip():
    from graphcore.gradient import grad_clip, grad_scale

    x = T.dvector("x")
    g = T.grad((grad_scale(x, 3.0) ** 2).sum(), x)
    np.testing.assert_allclose(theano.function([x], g)(XV), 3.0 * 2 * XV)
    gc = T.grad((grad_clip(x, -1.0, 1.0) ** 2).sum(), x)
    np.testing.assert_allclose(theano.function([x], gc)(XV), np.clip(2 * XV, -1.0, 1.0))
    np.testing.assert_allclose(theano.function([x], grad_clip(x, -1, 1))(XV), XV)
    with pytest.raises(ValueError, match="lower bound"):
        grad_clip(x, 1.0, -1.0)


def test_rop_and_lop_against_the_jacobian():
    W, x = T.dmatrix("W"), T.dvector("x")
    v, u, V = T.dvector("v"), T.dvector("u"), T.dmatrix("V")
    y = T.tanh(T.dot(W, x))
    f = theano.function([W, x, v, u, V], [T.Rop(y, x, v), T.Lop(y, x, u), T.Rop(y, W, V)])
    rng = np.random.default_rng(0)
    Wv, xv, vv, uv, Vv = rng.random((3, 4)), rng.random(4), rng.random(4), rng.random(3), \
        rng.random((3, 4))
    jv, uj, jV = f(Wv, xv, vv, uv, Vv)
    d = 1 - np.tanh(Wv @ xv) ** 2
    J = d[:, None] * Wv  # dy/dx
    np.testing.assert_allclose(jv, J @ vv)
    np.testing.assert_allclose(uj, uv @ J)
    np.testing.assert_allclose(jV, d * (Vv @ xv))  # directional derivative along V in W
    with pytest.raises(TypeError, match="eval_points"):
        T.Rop(y, x, T.dmatrix())
    with pytest.raises(ValueError, match="eval_points"):
        T.Lop([y, y], x, [u])


def test_jacobian_and_hessian_of_unknown_length():
    x = T.dvector("x")
    W = theano.shared(np.arange(12.0).reshape(3, 4) / 10, "W")
    y = T.tanh(T.dot(W, x))
    J = T.jacobian(y, x)
    assert J.ndim == 2 and J.dtype == "float64"
    xv = np.array([0.1, -0.2, 0.3, 0.4])
    Wv = W.get_value()
    np.testing.assert_allclose(theano.function([x], J)(xv),
                               (1 - np.tanh(Wv @ xv) ** 2)[:, None] * Wv)
    JW = T.jacobian(y, W)  # wrt a matrix: shape (len(y), 3, 4)
    got = theano.function([x], JW)(xv)
    assert got.shape == (3, 3, 4)
    np.testing.assert_allclose(got[1, 1], (1 - np.tanh(Wv @ xv)[1] ** 2) * xv)
    np.testing.assert_allclose(got[1, 0], 0.0)
    H = T.hessian((x ** 3).sum() + (x[0] * x[1]), x)
    np.testing.assert_allclose(theano.function([x], H)(np.array([1.0, 2.0])),
                               [[6.0, 1.0], [1.0, 12.0]])
    empty = theano.function([x], T.jacobian(x ** 2, x))(np.zeros(0))
    assert empty.shape == (0, 0)
    with pytest.raises(DisconnectedInputError):
        T.jacobian(y, T.dvector("z"))
    with pytest.raises(TypeError, match="must be a vector"):
        T.jacobian(T.dmatrix(), x)


def test_jacobian_of_static_length_unrolls():
    x = T.TensorType("float64", (2,))("x")
    J = T.jacobian(x ** 2, x)
    np.testing.assert_allclose(theano.function([x], J)(np.array([1.0, 3.0])),
                               [[2.0, 0.0], [0.0, 6.0]])
