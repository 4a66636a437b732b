"""T.nnet: activations, softmax family, cross-entropies, batch normalization, dropout.

Values are checked against NumPy/SciPy formulas, gradients against finite
differences, inferred shapes against computed ones.
"""

import numpy as np
import pytest
from scipy import special

import graphcore as theano
import graphcore.tensor as T
from graphcore.tensor import nnet
from graphcore.tensor.nnet import (CrossentropyCategorical1Hot, CrossentropyCategorical1HotGrad,
                                   CrossentropySoftmax1HotWithBiasDx,
                                   CrossentropySoftmaxArgmax1HotWithBias, LogSoftmax,
                                   LogSoftmaxGrad, Softmax, SoftmaxGrad)
from graphcore.testing import check_infer_shape, verify_grad

RNG = np.random.default_rng(7)


def run(inputs, outputs, *values):
    return theano.function(inputs, outputs)(*values)


# ---------------------------------------------------------------- activations
def ref_ultra_fast_sigmoid(x):
    h = 0.5 * np.asarray(x, dtype="float64")
    a = np.abs(h)
    z = np.where(a < 1.7, 1.5 * a / (1 + a),
                 np.where(a < 3, 0.935409070603099 + 0.0458812946797165 * (a - 1.7),
                          0.99505475368673))
    return 0.5 * (np.sign(h) * z + 1)


ALPHA, SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
ACTIVATIONS = {
    "sigmoid": (nnet.sigmoid, special.expit),
    "softplus": (nnet.softplus, lambda x: np.logaddexp(0, x)),
    "ultra_fast_sigmoid": (nnet.ultra_fast_sigmoid, ref_ultra_fast_sigmoid),
    "hard_sigmoid": (nnet.hard_sigmoid, lambda x: np.clip(0.2 * x + 0.5, 0, 1)),
    "relu": (nnet.relu, lambda x: np.maximum(x, 0)),
    "leaky_relu": (lambda x: nnet.relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    "elu": (nnet.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
    "elu_alpha": (lambda x: nnet.elu(x, 0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0)))),
    "selu": (nnet.selu, lambda x: SCALE * np.where(x > 0, x, ALPHA * np.expm1(np.minimum(x, 0)))),
    "softsign": (nnet.softsign, lambda x: x / (1 + np.abs(x))),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_activation_values(name, dtype):
    fn, ref = ACTIVATIONS[name]
    x = np.concatenate([np.linspace(-9, 9, 37), [-1000, 1000, 0, -3.4, 3.4]]).astype(dtype)
    xv = T.vector(dtype=dtype)
    got = run([xv], fn(xv), x)
    assert got.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, ref(x.astype("float64")), rtol=1e-5 if dtype == "float32" else 1e-12,
                               atol=1e-6 if dtype == "float32" else 1e-12)
    empty = run([xv], fn(xv), np.zeros(0, dtype=dtype))
    assert empty.shape == (0,)


def test_ultra_fast_sigmoid_approximates_sigmoid():
    x = np.linspace(-20, 20, 401)
    xv = T.vector()
    got = run([xv], nnet.ultra_fast_sigmoid(xv), x)
    assert np.max(np.abs(got - special.expit(x))) < 0.03


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_gradients(name):
    fn, _ = ACTIVATIONS[name]
    # keep away from the kinks (0, +-2.5 for hard_sigmoid, +-3.4 for ultra_fast_sigmoid)
    x = np.array([-7.3, -3.0, -1.2, -0.4, 0.3, 0.9, 2.1, 5.5])
    verify_grad(fn, [x], rng=np.random.default_rng(0))


def test_activation_gradients_stay_finite_at_extremes():
    xv = T.vector()
    x = np.array([-1000.0, 1000.0, 0.5])
    for name, (fn, _) in ACTIVATIONS.items():
        g = run([xv], T.grad(fn(xv).sum(), xv), x)
        assert np.all(np.isfinite(g)), name


def test_relu_with_tensor_alpha_and_integer_input():
    xv, av = T.vector(), T.scalar()
    x = np.array([-2.0, 3.0])
    out = nnet.relu(xv, av)
    np.testing.assert_allclose(run([xv, av], out, x, 0.25), [-0.5, 3.0])
    np.testing.assert_allclose(run([xv, av], T.grad(out.sum(), av), x, 0.25), -2.0)
    iv = T.ivector()
    got = run([iv], nnet.relu(iv), np.array([-3, 4], dtype="int32"))
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, [0, 4])


# ------------------------------------------------------------------- softmax
SHAPES_AXES = [((3, 5), -1), ((3, 5), 0), ((2, 3, 4), 1), ((2, 3, 4), None), ((6,), -1),
               ((0, 4), -1), ((3, 0), -1), ((2, 0, 3), 2)]


@pytest.mark.parametrize("shape,axis", SHAPES_AXES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_and_log_softmax_values(shape, axis, dtype):
    x = (RNG.standard_normal(shape) * 3).astype(dtype)
    xv = T.tensor(dtype=dtype, shape=(None,) * len(shape))
    sm, lsm = run([xv], [nnet.softmax(xv, axis=axis), nnet.log_softmax(xv, axis=axis)], x)
    assert sm.dtype == lsm.dtype == np.dtype(dtype)
    assert sm.shape == lsm.shape == shape
    if x.size == 0:
        return
    tol = 1e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(sm, special.softmax(x.astype("float64"), axis=axis), rtol=tol * 10, atol=tol)
    np.testing.assert_allclose(lsm, special.log_softmax(x.astype("float64"), axis=axis), rtol=tol * 10,
                               atol=tol * 10)


def test_softmax_default_axis_is_last_and_keeps_vector_shape():
    xv = T.vector()
    out = nnet.softmax(xv)
    assert out.type.ndim == 1
    np.testing.assert_allclose(run([xv], out, np.array([1.0, 2.0])), special.softmax([1.0, 2.0]))
    mv = T.matrix()
    assert nnet.softmax(mv).owner.op == Softmax(1)
    assert nnet.log_softmax(mv, axis=0).owner.op == LogSoftmax(0)
    assert nnet.logsoftmax is nnet.log_softmax


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_is_stable_at_large_inputs(dtype):
    x = np.array([[1000, -1000, 0], [-1000, -1000, -1000], [1000, 1000, 999]], dtype=dtype)
    xv = T.matrix(dtype=dtype)
    sm, lsm = run([xv], [nnet.softmax(xv), nnet.log_softmax(xv)], x)
    assert np.all(np.isfinite(sm)) and np.all(np.isfinite(lsm))
    np.testing.assert_allclose(sm, special.softmax(x.astype("float64"), axis=1), rtol=1e-6)
    np.testing.assert_allclose(lsm, special.log_softmax(x.astype("float64"), axis=1), rtol=1e-6)
    y = np.array([1, 2, 0])
    for out in (nnet.softmax(xv), nnet.log_softmax(xv)):
        gw = T.matrix(dtype=dtype)
        g = run([xv, gw], T.grad((out * gw).sum(), xv), x, RNG.standard_normal(x.shape).astype(dtype))
        assert np.all(np.isfinite(g))
    onehot = T.constant(np.eye(3, dtype=dtype)[y])
    g = run([xv], T.grad(-(nnet.log_softmax(xv) * onehot).sum(), xv), x)
    np.testing.assert_allclose(g, special.softmax(x.astype("float64"), axis=1) - np.eye(3)[y],
                               atol=1e-6)


def test_softmax_of_integers_is_float():
    iv = T.lmatrix()
    out = nnet.softmax(iv)
    assert out.dtype == "float64"
    x = np.array([[1, 2, 3]])
    np.testing.assert_allclose(run([iv], out, x), special.softmax(x, axis=1))


@pytest.mark.parametrize("axis", [-1, 0, None])
def test_softmax_gradients(axis):
    x = RNG.standard_normal((3, 4))
    verify_grad(lambda a: nnet.softmax(a, axis=axis), [x], rng=np.random.default_rng(1))
    verify_grad(lambda a: nnet.log_softmax(a, axis=axis), [x], rng=np.random.default_rng(2))


def test_softmax_grad_ops_values_and_second_derivatives():
    dy = RNG.standard_normal((3, 4))
    x = RNG.standard_normal((3, 4))
    sm = special.softmax(x, axis=1)
    lsm = special.log_softmax(x, axis=1)
    a, b = T.matrix(), T.matrix()
    got_sm, got_lsm = run([a, b], [SoftmaxGrad(1)(a, b), LogSoftmaxGrad(1)(a, b)], dy, sm)
    np.testing.assert_allclose(got_sm, (dy - (dy * sm).sum(1, keepdims=True)) * sm)
    np.testing.assert_allclose(got_lsm, dy - np.exp(sm) * dy.sum(1, keepdims=True))
    verify_grad(lambda p, q: SoftmaxGrad(1)(p, q), [dy, sm], rng=np.random.default_rng(3))
    verify_grad(lambda p, q: SoftmaxGrad(0)(p, q), [dy, sm], rng=np.random.default_rng(3))
    verify_grad(lambda p, q: LogSoftmaxGrad(1)(p, q), [dy, lsm], rng=np.random.default_rng(4))
    verify_grad(lambda p, q: LogSoftmaxGrad(None)(p, q), [dy, lsm], rng=np.random.default_rng(4))


def test_softmax_hessian_vector_product_through_grad():
    x = RNG.standard_normal(4)
    v = RNG.standard_normal(4)
    xv = T.vector()
    cost = (nnet.softmax(xv) * T.constant(np.arange(4.0))).sum()
    g = T.grad(cost, xv)
    hv = T.grad((g * T.constant(v)).sum(), xv)
    got = run([xv], hv, x)
    eps = 1e-6
    f = theano.function([xv], g)
    np.testing.assert_allclose(got, (f(x + eps * v) - f(x - eps * v)) / (2 * eps), rtol=1e-6,
                               atol=1e-8)


def test_softmax_r_op():
    from graphcore.tensor.nnet.softmax import Softmax as S

    x = RNG.standard_normal((2, 3))
    v = RNG.standard_normal((2, 3))
    xv, vv = T.matrix(), T.matrix()
    node = S(1)(xv).owner
    rop = node.op.R_op([xv], [vv])[0]
    got = run([xv, vv], rop, x, v)
    eps = 1e-6
    num = (special.softmax(x + eps * v, axis=1) - special.softmax(x - eps * v, axis=1)) / (2 * eps)
    np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-9)


def test_softmax_errors():
    with pytest.raises(ValueError, match="axis 2"):
        nnet.softmax(T.matrix(), axis=2)
    with pytest.raises(ValueError, match=r"Softmax.*axis 3"):
        Softmax(3)(T.matrix())
    with pytest.raises(TypeError, match="axis"):
        Softmax("last")
    with pytest.raises(ValueError, match="differ in dimension 1"):
        SoftmaxGrad(1)(T.matrix(shape=(2, 3)), T.matrix(shape=(2, 4)))
    a, b = T.matrix(), T.matrix()
    f = theano.function([a, b], SoftmaxGrad(1)(a, b))
    with pytest.raises(ValueError, match="SoftmaxGrad"):
        f(np.ones((2, 3)), np.ones((2, 4)))


def test_softmax_infer_shape():
    xv, yv = T.tensor3(), T.tensor3()
    x = RNG.standard_normal((2, 3, 4))
    check_infer_shape(lambda a: nnet.softmax(a, axis=1), [xv], [x])
    check_infer_shape(lambda a: nnet.log_softmax(a, axis=None), [xv], [x])
    check_infer_shape(lambda a, b: SoftmaxGrad(2)(a, b), [xv, yv], [x, x])
    check_infer_shape(lambda a, b: LogSoftmaxGrad(0)(a, b), [xv, yv], [x, x])


# ------------------------------------------------------------- cross-entropy
def ref_logsumexp_nll(x, b, y):
    z = x + b
    return special.logsumexp(z, axis=1) - z[np.arange(len(y)), y]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_crossentropy_softmax_argmax_1hot_with_bias(dtype):
    x = (RNG.standard_normal((5, 4)) * 2).astype(dtype)
    b = RNG.standard_normal(4).astype(dtype)
    y = np.array([0, 3, 1, 1, 2])
    xv, bv, yv = T.matrix(dtype=dtype), T.vector(dtype=dtype), T.lvector()
    nll, sm, am = nnet.crossentropy_softmax_argmax_1hot_with_bias(xv, bv, yv)
    assert nll.dtype == sm.dtype == dtype and am.dtype == "int64"
    got = run([xv, bv, yv], [nll, sm, am], x, b, y)
    tol = 1e-5 if dtype == "float32" else 1e-12
    x64, b64 = x.astype("float64"), b.astype("float64")
    np.testing.assert_allclose(got[0], ref_logsumexp_nll(x64, b64, y), rtol=tol, atol=tol)
    np.testing.assert_allclose(got[1], special.softmax(x64 + b64, axis=1), rtol=tol, atol=tol)
    np.testing.assert_array_equal(got[2], np.argmax(x + b, axis=1))
    assert got[2].dtype == np.int64


def test_crossentropy_softmax_is_stable_at_large_inputs():
    x = np.array([[1000.0, -1000.0, 0.0], [0.0, 0.0, 2000.0]])
    y = np.array([1, 0])
    xv, yv = T.matrix(), T.lvector()
    nll, sm = nnet.crossentropy_softmax_1hot(xv, yv)
    g = T.grad(nll.sum(), xv)
    got_nll, got_sm, got_g = run([xv, yv], [nll, sm, g], x, y)
    np.testing.assert_allclose(got_nll, [2000.0, 2000.0])
    np.testing.assert_allclose(got_sm, special.softmax(x, axis=1))
    np.testing.assert_allclose(got_g, special.softmax(x, axis=1) - np.eye(3)[y])


def test_crossentropy_softmax_gradients():
    x = RNG.standard_normal((4, 3))
    b = RNG.standard_normal(3)
    y = np.array([2, 0, 1, 2])
    yc = T.constant(y)
    verify_grad(lambda a, c: nnet.crossentropy_softmax_1hot_with_bias(a, c, yc)[0], [x, b],
                rng=np.random.default_rng(5))
    verify_grad(lambda a, c: nnet.crossentropy_softmax_1hot_with_bias(a, c, yc)[1], [x, b],
                rng=np.random.default_rng(6))
    # both outputs used at once
    verify_grad(lambda a, c: nnet.crossentropy_softmax_1hot_with_bias(a, c, yc)[0].dimshuffle(0, "x")
                * nnet.crossentropy_softmax_1hot_with_bias(a, c, yc)[1], [x, b],
                rng=np.random.default_rng(7))
    verify_grad(lambda a: nnet.crossentropy_softmax_max_and_argmax_1hot(a, yc)[1], [x],
                rng=np.random.default_rng(8))


def test_crossentropy_softmax_1hot_with_bias_dx():
    dnll = RNG.standard_normal(4)
    sm = special.softmax(RNG.standard_normal((4, 3)), axis=1)
    y = np.array([2, 0, 1, 2])
    a, b, yv = T.vector(), T.matrix(), T.lvector()
    got = run([a, b, yv], CrossentropySoftmax1HotWithBiasDx()(a, b, yv), dnll, sm, y)
    want = sm * dnll[:, None] - np.eye(3)[y] * dnll[:, None]
    np.testing.assert_allclose(got, want)
    yc = T.constant(y)
    verify_grad(lambda p, q: CrossentropySoftmax1HotWithBiasDx()(p, q, yc), [dnll, sm],
                rng=np.random.default_rng(9))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_crossentropy_categorical_1hot(dtype):
    p = special.softmax(RNG.standard_normal((5, 3)), axis=1).astype(dtype)
    y = np.array([0, 2, 2, 1, 0], dtype="int32")
    pv, yv = T.matrix(dtype=dtype), T.ivector()
    out = nnet.crossentropy_categorical_1hot(pv, yv)
    assert out.dtype == dtype
    got = run([pv, yv], out, p, y)
    np.testing.assert_allclose(got, -np.log(p[np.arange(5), y]), rtol=1e-6)
    yc = T.constant(y)
    verify_grad(lambda q: nnet.crossentropy_categorical_1hot(q, yc), [p.astype("float64")],
                rng=np.random.default_rng(10))
    g = RNG.standard_normal(5)
    got_g = run([pv, yv], CrossentropyCategorical1HotGrad()(T.constant(g), pv, yv), p, y)
    want_g = np.zeros_like(p, dtype="float64")
    want_g[np.arange(5), y] = -g / p[np.arange(5), y]
    np.testing.assert_allclose(got_g, want_g, rtol=1e-5)
    verify_grad(lambda gg, q: CrossentropyCategorical1HotGrad()(gg, q, yc),
                [g, p.astype("float64")], rng=np.random.default_rng(11))


def test_categorical_crossentropy_forms():
    p = special.softmax(RNG.standard_normal((4, 3)), axis=1)
    y = np.array([1, 0, 2, 2])
    onehot = np.eye(3)[y]
    soft = special.softmax(RNG.standard_normal((4, 3)), axis=1)
    pv, tv, yv = T.matrix(), T.matrix(), T.lvector()
    want = -np.log(p[np.arange(4), y])
    np.testing.assert_allclose(run([pv, yv], nnet.categorical_crossentropy(pv, yv), p, y), want)
    np.testing.assert_allclose(run([pv, tv], nnet.categorical_crossentropy(pv, tv), p, onehot), want)
    np.testing.assert_allclose(run([pv, tv], nnet.categorical_crossentropy(pv, tv), p, soft),
                               -(soft * np.log(p)).sum(1))
    p3 = special.softmax(RNG.standard_normal((2, 3, 4)), axis=-1)
    y3 = RNG.integers(0, 4, size=(2, 3))
    p3v, y3v = T.tensor3(), T.lmatrix()
    got3 = run([p3v, y3v], nnet.categorical_crossentropy(p3v, y3v), p3, y3)
    np.testing.assert_allclose(got3, -np.log(np.take_along_axis(p3, y3[..., None], -1)[..., 0]))
    empty = run([pv, yv], nnet.categorical_crossentropy(pv, yv), np.zeros((0, 3)), np.zeros(0, "int64"))
    assert empty.shape == (0,)
    with pytest.raises(TypeError, match="integer labels"):
        nnet.categorical_crossentropy(pv, T.vector())
    with pytest.raises(TypeError, match="true_dist"):
        nnet.categorical_crossentropy(pv, T.tensor3())


def test_out_of_range_labels_raise_naming_op_and_label():
    xv, yv = T.matrix(), T.lvector()
    x = RNG.standard_normal((3, 4))
    fns = {
        "CrossentropyCategorical1Hot": nnet.crossentropy_categorical_1hot(xv, yv),
        "CrossentropySoftmaxArgmax1HotWithBias": nnet.crossentropy_softmax_1hot(xv, yv)[0],
    }
    for name, out in fns.items():
        f = theano.function([xv, yv], out)
        with pytest.raises(ValueError, match=rf"{name}.*label 4 at row 1.*\[0, 4\)"):
            f(x, np.array([0, 4, 1]))
        with pytest.raises(ValueError, match=rf"{name}.*label -1 at row 2"):
            f(x, np.array([0, 1, -1]))
        with pytest.raises(ValueError, match=rf"{name}.*2 labels for 3 rows"):
            f(x, np.array([0, 1]))
    dv = T.vector()
    f = theano.function([dv, xv, yv], CrossentropySoftmax1HotWithBiasDx()(dv, xv, yv))
    with pytest.raises(ValueError, match=r"CrossentropySoftmax1HotWithBiasDx.*label 9"):
        f(np.ones(3), x, np.array([9, 0, 0]))
    with pytest.raises(TypeError, match="integer vector"):
        nnet.crossentropy_categorical_1hot(xv, T.vector())
    with pytest.raises(TypeError, match="matrix"):
        nnet.crossentropy_categorical_1hot(T.vector(), yv)
    with pytest.raises(ValueError, match="b has 5"):
        CrossentropySoftmaxArgmax1HotWithBias()(T.matrix(shape=(None, 4)), T.vector(shape=(5,)), yv)


def test_binary_crossentropy():
    p = special.expit(RNG.standard_normal((3, 4)))
    t = RNG.random((3, 4))
    pv, tv = T.matrix(), T.matrix()
    got = run([pv, tv], nnet.binary_crossentropy(pv, tv), p, t)
    np.testing.assert_allclose(got, -(t * np.log(p) + (1 - t) * np.log1p(-p)), rtol=1e-12)
    verify_grad(lambda q: nnet.binary_crossentropy(q, T.constant(t)), [p],
                rng=np.random.default_rng(12))


def test_sigmoid_binary_crossentropy_is_stable():
    x = np.array([-1000.0, -5.0, 0.0, 3.0, 1000.0])
    t = np.array([1.0, 0.0, 0.5, 1.0, 0.0])
    xv, tv = T.vector(), T.vector()
    out = nnet.sigmoid_binary_crossentropy(xv, tv)
    got, g = run([xv, tv], [out, T.grad(out.sum(), xv)], x, t)
    want = t * np.logaddexp(0, -x) + (1 - t) * np.logaddexp(0, x)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(g, special.expit(x) - t, atol=1e-12)
    xs = RNG.standard_normal(5)
    verify_grad(lambda a: nnet.sigmoid_binary_crossentropy(a, T.constant(t)), [xs],
                rng=np.random.default_rng(13))


def test_crossentropy_infer_shape():
    xv, bv, yv, dv = T.matrix(), T.vector(), T.lvector(), T.vector()
    x = RNG.standard_normal((4, 3))
    b = RNG.standard_normal(3)
    y = np.array([0, 2, 1, 1])
    check_infer_shape(lambda a, c, i: CrossentropySoftmaxArgmax1HotWithBias()(a, c, i),
                      [xv, bv, yv], [x, b, y])
    p = special.softmax(x, axis=1)
    check_infer_shape(lambda a, i: CrossentropyCategorical1Hot()(a, i), [xv, yv], [p, y])
    check_infer_shape(lambda d, a, i: CrossentropyCategorical1HotGrad()(d, a, i), [dv, xv, yv],
                      [np.ones(4), p, y])
    check_infer_shape(lambda d, a, i: CrossentropySoftmax1HotWithBiasDx()(d, a, i), [dv, xv, yv],
                      [np.ones(4), p, y])
    from graphcore.tensor.nnet.crossentropy import OneHot

    check_infer_shape(lambda i, a: OneHot("float64")(i, a.shape[1]), [yv, xv], [y, x])
    p3v, y3v = T.tensor3(), T.lmatrix()
    check_infer_shape(lambda a, i: nnet.categorical_crossentropy(a, i), [p3v, y3v],
                      [special.softmax(RNG.standard_normal((2, 3, 4)), axis=-1),
                       RNG.integers(0, 4, size=(2, 3))])


# ------------------------------------------------------- batch normalization
def test_batch_normalization_test_form():
    x = RNG.standard_normal((4, 3))
    gamma, beta = RNG.standard_normal(3), RNG.standard_normal(3)
    mean, std = RNG.standard_normal(3), RNG.random(3) + 0.5
    xv, gv, bv, mv, sv = T.matrix(), T.vector(), T.vector(), T.vector(), T.vector()
    out = nnet.bn.batch_normalization(xv, gv, bv, mv, sv, mode="high_mem")
    got = run([xv, gv, bv, mv, sv], out, x, gamma, beta, mean, std)
    np.testing.assert_allclose(got, (x - mean) * (gamma / std) + beta)
    verify_grad(lambda *a: nnet.bn.batch_normalization(*a), [x, gamma, beta, mean, std],
                rng=np.random.default_rng(14))
    with pytest.raises(ValueError, match="mode"):
        nnet.bn.batch_normalization(xv, gv, bv, mv, sv, mode="fast")


@pytest.mark.parametrize("axes,param_shape", [("per-activation", (3, 4, 2)), ("spatial", (3,)),
                                              ((0, 1), (4, 2)), ("spatial", (1, 3, 1, 1))], ids=str)
def test_batch_normalization_train(axes, param_shape):
    x = RNG.standard_normal((5, 3, 4, 2))
    ax = {"per-activation": (0,), "spatial": (0, 2, 3)}.get(axes, axes)
    full = tuple(1 if d in ax else x.shape[d] for d in range(4))
    gamma = RNG.standard_normal(param_shape)
    beta = RNG.standard_normal(param_shape)
    rm, rv = RNG.standard_normal(param_shape), RNG.random(param_shape) + 0.5
    xv = T.tensor4()
    pv = [T.tensor(dtype="float64", shape=(None,) * len(param_shape)) for _ in range(4)]
    outs = nnet.bn.batch_normalization_train(xv, pv[0], pv[1], axes, 1e-3, 0.2, pv[2], pv[3])
    got = run([xv] + pv, list(outs), x, gamma, beta, rm, rv)
    mean = x.mean(axis=ax, keepdims=True)
    var = x.var(axis=ax, keepdims=True)
    invstd = 1 / np.sqrt(var + 1e-3)
    g, b = gamma.reshape(full), beta.reshape(full)
    np.testing.assert_allclose(got[0], (x - mean) * invstd * g + b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[1], mean.reshape(param_shape))
    np.testing.assert_allclose(got[2], invstd.reshape(param_shape))
    m = np.prod([x.shape[d] for d in ax])
    np.testing.assert_allclose(got[3], (rm.reshape(full) * 0.8 + mean * 0.2).reshape(param_shape))
    np.testing.assert_allclose(got[4], (rv.reshape(full) * 0.8 + var * m / (m - 1) * 0.2).reshape(param_shape))
    two = nnet.batch_normalization_train(xv, pv[0], pv[1], axes)
    assert len(two) == 3


def test_batch_normalization_train_gradient_and_test_form():
    x = RNG.standard_normal((4, 3))
    gamma, beta = RNG.standard_normal(3), RNG.standard_normal(3)
    verify_grad(lambda a, g, b: nnet.bn.batch_normalization_train(a, g, b)[0], [x, gamma, beta],
                rng=np.random.default_rng(15))
    mean, var = RNG.standard_normal(3), RNG.random(3) + 0.5
    xv, gv, bv, mv, vv = T.matrix(), T.vector(), T.vector(), T.vector(), T.vector()
    out = nnet.bn.batch_normalization_test(xv, gv, bv, mv, vv, epsilon=1e-2)
    got = run([xv, gv, bv, mv, vv], out, x, gamma, beta, mean, var)
    np.testing.assert_allclose(got, (x - mean) / np.sqrt(var + 1e-2) * gamma + beta)
    with pytest.raises(ValueError, match="gamma must have"):
        nnet.bn.batch_normalization_train(T.tensor3(), T.matrix(), T.matrix(), axes="spatial")
    with pytest.raises(ValueError, match="running_mean"):
        nnet.bn.batch_normalization_train(xv, gv, bv, running_mean=mv)


# ------------------------------------------------------------------- dropout
def test_dropout_with_random_stream():
    from graphcore.tensor import random

    srng = random.RandomStream(seed=3)
    xv = T.matrix()
    out = nnet.dropout(srng, xv, p=0.25)
    f = theano.function([xv], out)
    x = np.ones((200, 50))
    a, b = f(x), f(x)
    for r in (a, b):
        assert set(np.unique(r)) <= {0.0, 1 / 0.75}
        assert abs((r == 0).mean() - 0.25) < 0.02  # 10000 draws: the std of the rate is 0.0043
    assert not np.array_equal(a, b)  # the stream advances between calls
    unscaled = theano.function([xv], nnet.dropout(random.RandomStream(seed=3), xv, 0.5, rescale=False))(x)
    assert set(np.unique(unscaled)) <= {0.0, 1.0}
    assert nnet.dropout(srng, xv, 0) is xv
    with pytest.raises(ValueError, match="p must be"):
        nnet.dropout(srng, xv, 1.0)


def test_log_softmax_r_op():
    x = RNG.standard_normal((2, 3))
    v = RNG.standard_normal((2, 3))
    xv, vv = T.matrix(), T.matrix()
    node = LogSoftmax(1)(xv).owner
    got = run([xv, vv], node.op.R_op([xv], [vv])[0], x, v)
    eps = 1e-6
    num = (special.log_softmax(x + eps * v, axis=1) - special.log_softmax(x - eps * v, axis=1)) / (2 * eps)
    np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-9)


def test_theano_module_paths():
    from graphcore.tensor.nnet import abstract_conv, bn, sigm
    from graphcore.tensor.nnet import nnet as nnet_module
    from graphcore.tensor.signal import pool

    assert T.nnet is nnet
    assert nnet_module.softmax is nnet.softmax
    assert nnet_module.CrossentropySoftmaxArgmax1HotWithBias is CrossentropySoftmaxArgmax1HotWithBias
    assert sigm.ultra_fast_sigmoid is nnet.ultra_fast_sigmoid
    assert issubclass(abstract_conv.AbstractConv2d_gradInputs, nnet.Conv2dGradInputs)
    assert bn.batch_normalization_train is nnet.batch_normalization_train
    assert callable(pool.pool_2d)


def _tiny_convnet(x, w, w2, b, y):
    from graphcore.tensor.signal.pool import pool_2d

    h = nnet.relu(nnet.conv2d(x, w, border_mode="half"))
    h = pool_2d(h, (2, 2), ignore_border=True)
    logits = T.dot(T.flatten(h, 2), w2)
    return nnet.crossentropy_softmax_1hot_with_bias(logits, b, y)[0].mean()


def test_tiny_convnet_gradient_end_to_end():
    x = T.constant(RNG.standard_normal((2, 1, 4, 4)))
    y = T.constant(np.array([0, 2]))
    params = [RNG.standard_normal((2, 1, 3, 3)), RNG.standard_normal((8, 3)), RNG.standard_normal(3)]
    verify_grad(lambda w, w2, b: _tiny_convnet(x, w, w2, b, y), params, rng=np.random.default_rng(16))


def test_tiny_convnet_trains_with_sgd():
    rng = np.random.default_rng(17)
    xs = rng.standard_normal((6, 1, 4, 4))
    ys = np.array([0, 1, 2, 0, 1, 2])
    w = theano.shared(rng.standard_normal((2, 1, 3, 3)) * 0.5, name="w")
    w2 = theano.shared(rng.standard_normal((8, 3)) * 0.5, name="w2")
    b = theano.shared(np.zeros(3), name="b")
    xv, yv = T.tensor4(), T.lvector()
    loss = _tiny_convnet(xv, w, w2, b, yv)
    grads = T.grad(loss, [w, w2, b])
    step = theano.function([xv, yv], loss, updates=[(p, p - 0.1 * g) for p, g in zip([w, w2, b], grads)])
    losses = [float(step(xs, ys)) for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]


def test_dropout_with_symbolic_p():
    from graphcore.tensor import random

    xv, pv = T.matrix(), T.scalar()
    out = nnet.dropout(random.RandomStream(seed=5), xv, pv)
    r = theano.function([xv, pv], out)(np.ones((100, 100)), 0.5)
    assert set(np.unique(r)) <= {0.0, 2.0}
    assert abs((r == 0).mean() - 0.5) < 0.03


def test_softmax_nodes_hold_the_non_negative_axis():
    xv = T.tensor3()
    for op_cls in (Softmax, LogSoftmax):
        assert op_cls(-1)(xv).owner.op == op_cls(2)
        assert op_cls(-3)(xv).owner.op == op_cls(0)
        assert op_cls(None)(xv).owner.op == op_cls(None)
    for op_cls in (SoftmaxGrad, LogSoftmaxGrad):
        assert op_cls(-2)(xv, xv).owner.op == op_cls(1)
    x = RNG.standard_normal((2, 3, 4))
    np.testing.assert_allclose(run([xv], Softmax(-2)(xv), x), special.softmax(x, axis=1))


# ---------------------------------------------------------------- neighbours
def ref_images2neibs(x, shape, step, pad=(0, 0)):
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    rows = []
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(0, xp.shape[2] - shape[0] + 1, step[0]):
                for j in range(0, xp.shape[3] - shape[1] + 1, step[1]):
                    rows.append(xp[n, c, i:i + shape[0], j:j + shape[1]].ravel())
    return np.array(rows).reshape(-1, shape[0] * shape[1])


@pytest.mark.parametrize("image,shape,step,mode,pad", [
    ((4, 6), (2, 2), None, "valid", (0, 0)), ((4, 7), (2, 3), (1, 2), "valid", (0, 0)),
    ((5, 7), (2, 2), (2, 2), "ignore_borders", (0, 0)), ((5, 7), (3, 2), (2, 1), "ignore_borders", (0, 0)),
    ((5, 7), (3, 3), (1, 1), "half", (1, 1)), ((5, 7), (2, 3), (2, 2), "full", (1, 2)),
], ids=str)
def test_images2neibs(image, shape, step, mode, pad):
    x = RNG.standard_normal((2, 3) + image)
    xv = T.tensor4()
    out = nnet.images2neibs(xv, shape, step, mode)
    got = run([xv], out, x)
    np.testing.assert_array_equal(got, ref_images2neibs(x, shape, step or shape, pad))
    check_infer_shape(lambda a: nnet.images2neibs(a, shape, step, mode), [xv], [x])
    verify_grad(lambda a: nnet.images2neibs(a, shape, step, mode), [x[:1, :2]],
                rng=np.random.default_rng(30))


def test_neibs2images_inverts_and_is_the_adjoint():
    x = RNG.standard_normal((2, 2, 4, 6))
    xv, nv = T.tensor4(), T.matrix()
    patches = run([xv], nnet.images2neibs(xv, (2, 3)), x)
    back = run([nv], nnet.neibs2images(nv, (2, 3), x.shape), patches)
    np.testing.assert_array_equal(back, x)
    sv = T.lvector()
    back2 = run([nv, sv], nnet.neibs2images(nv, (2, 3), sv), patches, np.array(x.shape))
    np.testing.assert_array_equal(back2, x)
    # overlapping patches: <images2neibs(x), r> = <x, neibs2images(r)>
    p = run([xv], nnet.images2neibs(xv, (2, 2), (1, 1)), x)
    r = RNG.standard_normal(p.shape)
    adj = run([nv], nnet.neibs2images(nv, (2, 2), x.shape, neib_step=(1, 1)), r)
    np.testing.assert_allclose(np.sum(p * r), np.sum(x * adj), rtol=1e-12)
    verify_grad(lambda a: nnet.neibs2images(a, (2, 2), (1, 1, 3, 4), neib_step=(1, 1)),
                [RNG.standard_normal((6, 4))], rng=np.random.default_rng(31))


def test_images2neibs_errors():
    xv = T.tensor4()
    f = theano.function([xv], nnet.images2neibs(xv, (2, 2)))
    with pytest.raises(ValueError, match=r"Images2Neibs.*tile the image"):
        f(np.ones((1, 1, 5, 4)))
    with pytest.raises(ValueError, match="mode"):
        nnet.images2neibs(xv, (2, 2), mode="same")
    with pytest.raises(NotImplementedError, match="wrap_centered"):
        nnet.images2neibs(xv, (2, 2), mode="wrap_centered")
    with pytest.raises(TypeError, match="4-d"):
        nnet.images2neibs(T.matrix(), (2, 2))


# ------------------------------------------------- every backend vs SciPy
SOFTMAX_VALUES = [
    np.array([[1.0, 2.0, 3.0], [1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0],
              [np.inf, 0.0, 1.0], [-np.inf, -np.inf, -np.inf]]),
    RNG.standard_normal((4, 7)) * 5,
    RNG.standard_normal(6),
    np.zeros((0, 3)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("k", range(len(SOFTMAX_VALUES)))
def test_softmax_family_on_every_backend(dtype, k):
    from graphcore.testing import assert_allclose_backends

    x = SOFTMAX_VALUES[k].astype(dtype)
    dy = RNG.standard_normal(x.shape).astype(dtype)
    xv, dv = T.tensor(dtype=dtype, shape=(None,) * x.ndim), T.tensor(dtype=dtype, shape=(None,) * x.ndim)
    outs = [nnet.softmax(xv), nnet.log_softmax(xv), SoftmaxGrad(-1)(dv, nnet.softmax(xv)),
            LogSoftmaxGrad(-1)(dv, nnet.log_softmax(xv))]

    def ref(a, d):
        with np.errstate(all="ignore"):
            a = a.astype("float64")
            # the documented rule for inf/NaN rows: softmax = exp(scipy's log_softmax)
            lsm = special.log_softmax(a, axis=-1) if a.size else np.zeros(a.shape)
            sm = np.exp(lsm)
            res = [sm, lsm, (d - (d * sm).sum(-1, keepdims=True)) * sm,
                   d - np.exp(lsm) * d.sum(-1, keepdims=True)]
        return [r.astype(dtype) for r in res]

    assert_allclose_backends([xv, dv], outs, [x, dy], ref=ref, rtol=1e-5 if dtype == "float32" else 1e-12,
                             atol=1e-6 if dtype == "float32" else 1e-14,
                             mode_kwargs={"optimizer": None})


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_crossentropy_ops_on_every_backend(dtype):
    from graphcore.testing import assert_allclose_backends

    x = (RNG.standard_normal((5, 4)) * 3).astype(dtype)
    x[0, 1] = 1000
    b = RNG.standard_normal(4).astype(dtype)
    y = np.array([1, 0, 3, 3, 2])
    dn = RNG.standard_normal(5).astype(dtype)
    xv, bv, yv, dv = T.matrix(dtype=dtype), T.vector(dtype=dtype), T.lvector(), T.vector(dtype=dtype)
    nll, sm, am = CrossentropySoftmaxArgmax1HotWithBias()(xv, bv, yv)
    dx = CrossentropySoftmax1HotWithBiasDx()(dv, sm, yv)

    def ref(a, c, i, d):
        z = a.astype("float64") + c
        s = special.softmax(z, axis=1)
        return [(special.logsumexp(z, axis=1) - z[np.arange(5), i]).astype(dtype), s.astype(dtype),
                np.argmax(z, axis=1), (s * d[:, None] - np.eye(4)[i] * d[:, None]).astype(dtype)]

    assert_allclose_backends([xv, bv, yv, dv], [nll, sm, am, dx], [x, b, y, dn], ref=ref,
                             rtol=1e-5 if dtype == "float32" else 1e-12,
                             atol=1e-5 if dtype == "float32" else 1e-12,
                             mode_kwargs={"optimizer": None})


def test_rop_through_conv_pool_softmax_is_the_directional_derivative():
    # Rop is built from two reverse passes: it needs every gradient op's own gradient
    from graphcore.gradient import Rop
    from graphcore.tensor.signal.pool import pool_2d

    rng = np.random.default_rng(40)
    x = rng.standard_normal((2, 1, 5, 5))
    w = rng.standard_normal((2, 1, 2, 2))
    v = rng.standard_normal(w.shape)
    xv, wv, vv = T.tensor4(), T.tensor4(), T.tensor4()

    def net(ww):
        h = pool_2d(nnet.elu(nnet.conv2d(xv, ww, border_mode="half")), (2, 2), ignore_border=False,
                    mode="max")
        return nnet.log_softmax(T.flatten(h, 2))

    jv = theano.function([xv, wv, vv], Rop(net(wv), wv, vv))(x, w, v)
    f = theano.function([xv, wv], net(wv))
    eps = 1e-6
    num = (f(x, w + eps * v) - f(x, w - eps * v)) / (2 * eps)
    np.testing.assert_allclose(jv, num, rtol=1e-5, atol=1e-7)


def test_float32_gradients_of_softmax_and_crossentropy():
    x = RNG.standard_normal((3, 4)).astype("float32")
    verify_grad(nnet.softmax, [x], rng=np.random.default_rng(72))
    verify_grad(nnet.log_softmax, [x], rng=np.random.default_rng(73))
    yc = T.constant(np.array([0, 3, 1]))
    verify_grad(lambda a: nnet.crossentropy_softmax_1hot(a, yc)[0], [x], rng=np.random.default_rng(74))
    xv = T.fmatrix()
    g = T.grad(nnet.crossentropy_softmax_1hot(xv, yc)[0].sum(), xv)
    assert g.dtype == "float32"


def test_h_softmax():
    rng = np.random.default_rng(80)
    b, n_in, n_classes, per_class, n_outputs = 4, 3, 3, 4, 10
    x = rng.standard_normal((b, n_in))
    W1, b1 = rng.standard_normal((n_in, n_classes)), rng.standard_normal(n_classes)
    W2, b2 = rng.standard_normal((n_classes, n_in, per_class)), rng.standard_normal((n_classes, per_class))
    target = np.array([0, 9, 5, 6])
    cls = special.softmax(x @ W1 + b1, axis=1)
    full = np.concatenate([cls[:, c:c + 1] * special.softmax(x @ W2[c] + b2[c], axis=1)
                           for c in range(n_classes)], axis=1)[:, :n_outputs]
    xv, tv = T.matrix(), T.lvector()
    w1, bb1, w2, bb2 = T.matrix(), T.vector(), T.tensor3(), T.matrix()
    all_p = nnet.h_softmax(xv, b, n_outputs, n_classes, per_class, w1, bb1, w2, bb2)
    tgt_p = nnet.h_softmax(xv, b, n_outputs, n_classes, per_class, w1, bb1, w2, bb2, target=tv)
    got_all, got_t = theano.function([xv, w1, bb1, w2, bb2, tv], [all_p, tgt_p])(x, W1, b1, W2, b2, target)
    np.testing.assert_allclose(got_all, full, rtol=1e-12)
    np.testing.assert_allclose(got_t, full[np.arange(b), target], rtol=1e-12)
    tc = T.constant(target)
    verify_grad(lambda a, p, q, r, s: nnet.h_softmax(a, b, n_outputs, n_classes, per_class, p, q, r, s,
                                                     target=tc), [x, W1, b1, W2, b2],
                rng=np.random.default_rng(81))


def test_confusion_matrix():
    actual = np.array([0, 2, 2, 5, 0, 2])
    pred = np.array([0, 2, 5, 5, 2, 7])
    av, pv = T.lvector(), T.lvector()
    conf, order = theano.function([av, pv], nnet.confusion_matrix(av, pv))(actual, pred)
    np.testing.assert_array_equal(order, [0, 2, 5, 7])
    want = np.zeros((4, 4), dtype="int64")
    for a, p in zip(actual, pred):
        want[list(order).index(a), list(order).index(p)] += 1
    np.testing.assert_array_equal(conf, want)
    assert conf.dtype == np.int64
