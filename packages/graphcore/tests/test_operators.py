"""TensorVariable operators and methods against NumPy, with verify_grad for the differentiable ones."""

import operator

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.testing import assert_allclose_backends, check_infer_shape, verify_grad

rng = np.random.default_rng(1234)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((3, 4)) + 3.0  # away from zero for division
POS = rng.uniform(0.5, 2.0, (3, 4))


def run(fn, *values, dtypes=None):
    """Compile fn over fresh symbolic inputs shaped like `values` and call it."""
    syms = [T.TensorType(np.asarray(v).dtype, (None,) * np.ndim(v))() for v in values]
    return theano.function(syms, fn(*syms))(*values)


def check(fn, np_fn, *values, rtol=1e-7):
    got = run(fn, *values)
    want = np_fn(*values)
    assert np.asarray(got).dtype == np.asarray(want).dtype, (got.dtype, np.asarray(want).dtype)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=rtol)


# ------------------------------------------------------------- arithmetic
ARITH = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow]


@pytest.mark.parametrize("op", ARITH, ids=lambda o: o.__name__)
def test_binary_arithmetic_matches_numpy(op):
    check(op, op, POS, B)
    check(lambda x: op(x, 2.0), lambda x: op(x, 2.0), POS)
    check(lambda x: op(3.0, x), lambda x: op(3.0, x), POS)


@pytest.mark.parametrize("op", ARITH, ids=lambda o: o.__name__)
def test_binary_arithmetic_gradients(op):
    verify_grad(op, [POS, B])


def test_floordiv_and_mod_on_ints_and_floats():
    ai = np.array([7, -7, 5, -5], dtype="int32")
    bi = np.array([2, 2, -3, -3], dtype="int32")
    check(operator.floordiv, operator.floordiv, ai, bi)
    check(operator.mod, operator.mod, ai, bi)
    check(operator.mod, operator.mod, A, B)
    check(operator.floordiv, operator.floordiv, A, B)


def test_unary_operators():
    check(operator.neg, operator.neg, A)
    check(abs, abs, A)
    check(operator.pos, operator.pos, A)
    verify_grad(operator.neg, [A])
    verify_grad(abs, [A])


def test_integer_true_division_gives_float64():
    a = np.array([1, 2, 3], dtype="int32")
    check(lambda x: x / 2, lambda x: x / 2, a)
    check(operator.truediv, operator.truediv, a, a + 1)


# ----------------------------------------------------------- comparisons
@pytest.mark.parametrize("op", [operator.lt, operator.le, operator.gt, operator.ge],
                         ids=lambda o: o.__name__)
def test_comparisons_give_bool(op):
    check(op, op, A, B - 3.0)
    check(lambda x: op(x, 0.0), lambda x: op(x, 0.0), A)


def test_eq_neq_are_functions_and_dunder_eq_is_identity():
    x = T.dvector()
    assert (x == x) is True and (x == T.dvector()) is False
    check(T.eq, np.equal, np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0]))
    check(T.neq, np.not_equal, np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0]))


def test_symbolic_truth_value_is_an_error():
    with pytest.raises(TypeError, match="truth value"):
        bool(T.dvector() < 1)


# ----------------------------------------------------------------- bitwise
INTS = np.array([0, 1, 5, -3, 127], dtype="int8")
INTS2 = np.array([3, 1, 6, 7, -1], dtype="int8")
BOOLS = np.array([True, False, True, False])
BOOLS2 = np.array([True, True, False, False])


@pytest.mark.parametrize("op", [operator.and_, operator.or_, operator.xor], ids=lambda o: o.__name__)
def test_bitwise_binary_on_ints_and_bools(op):
    check(op, op, INTS, INTS2)
    check(op, op, BOOLS, BOOLS2)


def test_invert_on_ints_and_bools():
    check(operator.invert, operator.invert, INTS)
    check(operator.invert, operator.invert, BOOLS)


def test_bitwise_on_floats_is_a_type_error():
    with pytest.raises(TypeError, match="float64"):
        T.dvector() & T.dvector()
    with pytest.raises(TypeError, match="float64"):
        ~T.dvector()


# ------------------------------------------------------ shape operations
def test_transpose_and_dimshuffle():
    x = rng.standard_normal((2, 3, 4))
    check(lambda v: v.T, lambda v: v.T, x)
    check(lambda v: v.transpose(1, 0, 2), lambda v: v.transpose(1, 0, 2), x)
    check(lambda v: v.dimshuffle(2, "x", 0, 1), lambda v: v.transpose(2, 0, 1)[:, None], x)
    check(lambda v: v.dimshuffle("x", 0, 1, 2).dimshuffle(1, 2, 3), lambda v: v, x)
    verify_grad(lambda v: v.T, [A])
    verify_grad(lambda v: v.dimshuffle(1, "x", 0), [A])


def test_dimshuffle_cannot_drop_a_non_broadcastable_axis():
    with pytest.raises(ValueError, match="cannot drop dimension 0"):
        T.dmatrix().dimshuffle(1)
    r = T.drow()
    assert r.dimshuffle(1).type.ndim == 1


def test_reshape_and_flatten():
    x = rng.standard_normal((2, 3, 4))
    check(lambda v: v.reshape((6, 4)), lambda v: v.reshape((6, 4)), x)
    check(lambda v: v.reshape((4, -1)), lambda v: v.reshape((4, -1)), x)
    check(lambda v: v.reshape(24), lambda v: v.reshape(24), x)
    check(lambda v: v.flatten(), lambda v: v.flatten(), x)
    check(lambda v: v.flatten(2), lambda v: v.reshape(2, -1), x)
    verify_grad(lambda v: v.reshape((4, 3)), [A])
    verify_grad(lambda v: v.flatten(), [A])


def test_reshape_to_a_wrong_size_names_the_shapes():
    x = T.dmatrix("x")
    f = theano.function([x], x.reshape((5, 5)))
    with pytest.raises(ValueError, match=r"\(3, 4\)|12"):
        f(A)


def test_shape_ndim_dtype_attributes():
    x = T.ftensor3("x")
    assert x.ndim == 3 and x.dtype == "float32"
    v = np.zeros((2, 3, 5), dtype="float32")
    s = theano.function([x], x.shape)(v)
    assert s.dtype == np.int64
    np.testing.assert_array_equal(s, [2, 3, 5])
    assert theano.function([x], T.shape_i(x, 2))(v) == 5


def test_astype_and_cast():
    check(lambda v: v.astype("int32"), lambda v: v.astype("int32"), A * 10)
    check(lambda v: v.astype("float32"), lambda v: v.astype("float32"), A, rtol=1e-6)
    check(lambda v: T.cast(v, "int8"), lambda v: v.astype("int8"), np.array([1.9, -1.9, 3.0]))
    assert T.dvector().astype("float64").owner is None  # a no-op cast adds nothing
    verify_grad(lambda v: v.astype("float64") * 2, [A])


# ----------------------------------------------------------- reductions
REDUCTIONS = ["sum", "mean", "max", "min", "prod", "std", "var"]


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1), -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(name, axis, keepdims):
    check(lambda v: getattr(v, name)(axis=axis, keepdims=keepdims),
          lambda v: getattr(np, name)(v, axis=axis, keepdims=keepdims), A)


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", [None, 1])
def test_reduction_gradients(name, axis):
    verify_grad(lambda v: getattr(v, name)(axis=axis), [A])


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_argmax_argmin(name, axis):
    check(lambda v: getattr(v, name)(axis=axis), lambda v: getattr(np, name)(v, axis=axis), A)
    check(lambda v: getattr(T, name)(v, axis=axis), lambda v: getattr(np, name)(v, axis=axis), A)


def test_reduction_dtypes_follow_numpy():
    i8 = np.array([[100, 100], [100, 100]], dtype="int8")
    check(lambda v: v.sum(), lambda v: v.sum(), i8)
    check(lambda v: v.mean(), lambda v: v.mean(), i8)
    f32 = A.astype("float32")
    check(lambda v: v.sum(axis=0), lambda v: v.sum(axis=0), f32, rtol=1e-5)
    check(lambda v: v.mean(axis=0), lambda v: v.mean(axis=0), f32, rtol=1e-5)
    bools = np.array([True, False, True])
    check(lambda v: v.sum(), lambda v: v.sum(), bools)


def test_reduction_bad_axis_names_it():
    with pytest.raises((ValueError, IndexError), match="2"):
        T.dmatrix().sum(axis=2)


def test_reductions_infer_shape():
    x = T.dmatrix("x")
    check_infer_shape(lambda v: [v.sum(axis=0), v.max(axis=1, keepdims=True), v.argmax(axis=0),
                                 v.mean(), v.var(axis=1)], [x], [A])


# --------------------------------------------------------- dot and clip
def test_dot_shapes_match_numpy():
    m, n = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    v, w = rng.standard_normal(4), rng.standard_normal(3)
    check(T.dot, np.dot, m, n)
    check(T.dot, np.dot, m, v)
    check(T.dot, np.dot, w, m)
    check(T.dot, np.dot, v, v)
    check(lambda a, b: a.dot(b), np.dot, m, n)
    check(lambda a, b: a @ b, np.matmul, m, n)
    verify_grad(T.dot, [m, n])
    verify_grad(T.dot, [m, v])
    verify_grad(T.dot, [w, m])
    verify_grad(T.dot, [v, v])


def test_dot_mismatch_is_a_clear_error():
    f = theano.function([a := T.dmatrix("a"), b := T.dmatrix("b")], T.dot(a, b))
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3, 4\)"):
        f(A, B)


def test_clip():
    check(lambda v: v.clip(-0.5, 0.5), lambda v: v.clip(-0.5, 0.5), A)
    check(lambda v: T.clip(v, -0.5, 0.5), lambda v: np.clip(v, -0.5, 0.5), A)
    i = np.array([-5, 0, 5], dtype="int16")
    check(lambda v: v.clip(-1, 1), lambda v: v.clip(-1, 1), i)
    # away from the clip boundaries the gradient is 1 inside and 0 outside
    pt = np.array([-0.9, -0.2, 0.1, 0.7])
    verify_grad(lambda v: v.clip(-0.5, 0.5), [pt])


# ------------------------------------------------------- float functions
@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "tanh", "sigmoid", "sin", "cos", "log1p",
                                  "expm1", "softplus"])
def test_unary_float_functions(name):
    ref = {"sigmoid": lambda v: 1 / (1 + np.exp(-v)), "softplus": lambda v: np.log1p(np.exp(v))}
    fn = getattr(T, name)
    check(fn, ref.get(name, getattr(np, name, None)), POS, rtol=1e-6)
    verify_grad(fn, [POS])


def test_every_backend_agrees_with_the_python_reference():
    x, y = T.dmatrix("x"), T.drow("y")
    outs = [x + y, (x * y).sum(axis=1), T.exp(x).max(), T.dot(x, x.T), (x > 0) & (y < 1)]
    assert_allclose_backends([x, y], outs, [A, A[:1]],
                             ref=lambda a, b: [a + b, (a * b).sum(axis=1), np.exp(a).max(),
                                               a @ a.T, (a > 0) & (b < 1)])
