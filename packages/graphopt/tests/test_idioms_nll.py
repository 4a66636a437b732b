"""The negative log-likelihood idiom in all its spellings compiles to the fused crossentropy ops.

Checked on the compiled graph (f.maker.fgraph.toposort()), against NumPy for
values, against finite differences for gradients, and at the extremes
(|z| = 1000, probabilities of exactly 0 and 1).
"""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.gradient import verify_grad
from graphcore.tensor import nnet

RNG = np.random.default_rng(12)
FUSED = "CrossentropySoftmaxArgmax1HotWithBias"
FUSED_DX = "CrossentropySoftmax1HotWithBiasDx"
# rows whose softmax has probabilities of exactly 1 and 0 in float64
EXTREME = np.array([[1000.0, -1000.0, 0.0, 3.0], [-1000.0, -999.0, -1001.0, -1000.0],
                    [0.1, 0.2, 0.3, 0.4], [-1000.0, 1000.0, 999.0, 0.0]])
EXTREME_Y = np.array([1, 2, 0, 0])  # rows 0 and 3 pick a probability that is exactly 0


def op_names(f):
    return [type(n.op).__name__ for n in f.maker.fgraph.toposort()]


def ref_log_softmax(v):
    mx = v.max(axis=1, keepdims=True)
    return v - mx - np.log(np.exp(v - mx).sum(axis=1, keepdims=True))


def ref_loss_and_grad(zv, yv, reduce="mean", bias=None):
    zb = zv if bias is None else zv + bias
    ls = ref_log_softmax(zb)
    n = zv.shape[0]
    nll = -ls[np.arange(n), yv]
    g = np.exp(ls)
    g[np.arange(n), yv] -= 1
    if reduce == "mean":
        return nll.mean(), g / n
    return nll.sum(), g


SPELLINGS = {
    # name: (reduce, builder(z, y) -> loss)
    "log_softmax_mean": ("mean", lambda z, y: -T.mean(T.log(nnet.softmax(z))[T.arange(y.shape[0]), y])),
    "log_softmax_sum": ("sum", lambda z, y: -T.sum(T.log(nnet.softmax(z))[T.arange(y.shape[0]), y])),
    "method_sum": ("sum", lambda z, y: -(T.log(nnet.softmax(z))[T.arange(y.shape[0]), y]).sum()),
    "logsoftmax_mean": ("mean", lambda z, y: -T.mean(nnet.logsoftmax(z)[T.arange(y.shape[0]), y])),
    "log_softmax_fn": ("mean", lambda z, y: -T.mean(nnet.log_softmax(z, axis=-1)[T.arange(y.shape[0]), y])),
    "log_outside": ("mean", lambda z, y: -T.mean(T.log(nnet.softmax(z)[T.arange(y.shape[0]), y]))),
    "log_outside_sum": ("sum", lambda z, y: -T.sum(T.log(nnet.softmax(z)[T.arange(y.shape[0]), y]))),
    "rows_of_z": ("mean", lambda z, y: -T.mean(T.log(nnet.softmax(z))[T.arange(z.shape[0]), y])),
    "logsoftmax_rows_of_z": ("sum", lambda z, y: -T.sum(nnet.logsoftmax(z)[T.arange(z.shape[0]), y])),
}


def _check_fused(f, length_of_labels=True):
    names = op_names(f)
    assert FUSED in names and FUSED_DX in names, names
    for absent in ("AdvancedIncSubtensor", "AdvancedSubtensor", "Softmax", "LogSoftmax",
                   "SoftmaxGrad", "LogSoftmaxGrad"):
        assert absent not in names, (absent, names)
    assert names.count(FUSED) == 1, names
    # no Cast/switch/ceil expression for the length of arange(y.shape[0]); with arange(z.shape[0])
    # the count of the mean is NumPy's broadcast of len(z) and len(y), a switch
    text = " ".join(str(n.op) for n in f.maker.fgraph.toposort())
    assert "ceil" not in text and ("switch" not in text or not length_of_labels), text


@pytest.mark.parametrize("name", sorted(SPELLINGS))
def test_spelling_is_fused_with_values_and_gradient(name):
    reduce, build = SPELLINGS[name]
    z = T.matrix("z")
    y = T.ivector("y")
    loss = build(z, y)
    f = theano.function([z, y], [loss, T.grad(loss, z)])
    _check_fused(f, length_of_labels="rows_of_z" not in name)
    random = (RNG.standard_normal((6, 5)), RNG.integers(0, 5, 6).astype("int32"))
    for zv, yv in (random, (EXTREME, EXTREME_Y.astype("int32"))):
        c, g = f(zv, yv)
        assert np.isfinite(c) and np.all(np.isfinite(g))
        want_c, want_g = ref_loss_and_grad(zv, yv, reduce)
        np.testing.assert_allclose(c, want_c, rtol=1e-12)
        np.testing.assert_allclose(g, want_g, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "uint32"])
def test_any_int_dtype_of_labels(dtype):
    z = T.matrix("z")
    y = T.vector("y", dtype=dtype)
    loss = -T.mean(T.log(nnet.softmax(z))[T.arange(y.shape[0]), y])
    f = theano.function([z, y], [loss, T.grad(loss, z)])
    _check_fused(f)
    zv = RNG.standard_normal((7, 3))
    yv = RNG.integers(0, 3, 7).astype(dtype)
    c, g = f(zv, yv)
    want_c, want_g = ref_loss_and_grad(zv, yv.astype("int64"))
    np.testing.assert_allclose(c, want_c, rtol=1e-12)
    np.testing.assert_allclose(g, want_g, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("floatx", ["float32", "float64"])
def test_softmax_of_z_plus_bias_keeps_the_bias_in_the_fused_op(floatx):
    x = T.matrix("x", dtype=floatx)
    W = T.matrix("W", dtype=floatx)
    b = T.vector("b", dtype=floatx)
    y = T.ivector("y")
    p = nnet.softmax(T.dot(x, W) + b)
    loss = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    gW, gb = T.grad(loss, [W, b])
    f = theano.function([x, W, b, y], [loss, gW, gb, T.argmax(p, axis=1)])
    names = op_names(f)
    assert FUSED in names and FUSED_DX in names and "Softmax" not in names, names
    fused = next(n for n in f.maker.fgraph.toposort() if type(n.op).__name__ == FUSED)
    assert fused.inputs[1].type.ndim == 1 and fused.inputs[1].owner is None  # b itself
    xv = RNG.standard_normal((8, 4)).astype(floatx)
    Wv = RNG.standard_normal((4, 3)).astype(floatx)
    bv = RNG.standard_normal(3).astype(floatx)
    yv = RNG.integers(0, 3, 8).astype("int32")
    c, gWv, gbv, pred = f(xv, Wv, bv, yv)
    want_c, want_g = ref_loss_and_grad(xv.astype("float64") @ Wv, yv, bias=bv)
    tol = 1e-5 if floatx == "float32" else 1e-12
    np.testing.assert_allclose(c, want_c, rtol=tol)
    np.testing.assert_allclose(gWv, xv.T.astype("float64") @ want_g, rtol=tol * 10, atol=tol)
    np.testing.assert_allclose(gbv, want_g.sum(axis=0), rtol=tol * 10, atol=tol)
    np.testing.assert_array_equal(pred, np.argmax(xv.astype("float64") @ Wv + bv, axis=1))


def test_softmax_and_loss_share_the_fused_pass():
    z = T.matrix("z")
    y = T.ivector("y")
    p = nnet.softmax(z)
    loss = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    f = theano.function([z, y], [loss, T.grad(loss, z), p])
    names = op_names(f)
    assert names.count(FUSED) == 1 and "Softmax" not in names, names
    zv = RNG.standard_normal((5, 4))
    yv = RNG.integers(0, 4, 5).astype("int32")
    _, _, pv = f(zv, yv)
    np.testing.assert_allclose(pv, np.exp(ref_log_softmax(zv)), rtol=1e-12)


@pytest.mark.parametrize("name", ["log_softmax_mean", "logsoftmax_mean", "log_outside_sum",
                                  "rows_of_z"])
def test_gradient_against_finite_differences(name):
    reduce, build = SPELLINGS[name]
    yv = np.array([2, 0, 1, 2, 3])
    verify_grad(lambda z: build(z, T.constant(yv)), [RNG.standard_normal((5, 4))], rng=RNG)


def test_gradient_with_bias_against_finite_differences():
    yv = np.array([2, 0, 1, 2])
    verify_grad(lambda z, b: -T.mean(T.log(nnet.softmax(z + b))[T.arange(yv.shape[0]), yv]),
                [RNG.standard_normal((4, 3)), RNG.standard_normal(3)], rng=RNG)


# ---------------------------------------------------------------- not fired
@pytest.mark.parametrize("label", [4, 7, -1])
def test_labels_out_of_range_raise_naming_the_label_and_the_classes(label):
    z = T.matrix("z")
    y = T.ivector("y")
    loss = -T.mean(T.log(nnet.softmax(z))[T.arange(y.shape[0]), y])
    f = theano.function([z, y], [loss, T.grad(loss, z)])
    _check_fused(f)
    yv = np.array([0, label, 1], dtype="int32")
    with pytest.raises(ValueError, match=rf"label {label} at row 1 is out of range \[0, 4\)"):
        f(RNG.standard_normal((3, 4)), yv)


def test_softmax_over_the_first_axis_is_not_fused():
    z = T.matrix("z")
    y = T.ivector("y")
    loss = -T.mean(T.log(nnet.softmax(z, axis=0))[T.arange(y.shape[0]), y])
    f = theano.function([z, y], [loss, T.grad(loss, z)])
    names = op_names(f)
    assert FUSED not in names and FUSED_DX not in names, names
    zv = RNG.standard_normal((4, 4))
    yv = np.array([3, 1, 0, 2], dtype="int32")
    c, g = f(zv, yv)
    ls = ref_log_softmax(zv.T).T
    np.testing.assert_allclose(c, -ls[np.arange(4), yv].mean(), rtol=1e-12)
    assert np.all(np.isfinite(g))


def test_arange_not_covering_all_rows_is_not_fused():
    z = T.matrix("z")
    y = T.ivector("y")
    loss = -T.mean(T.log(nnet.softmax(z))[T.arange(2), y[:2]])
    f = theano.function([z, y], [loss, T.grad(loss, z)])
    names = op_names(f)
    assert FUSED not in names and FUSED_DX not in names, names
    zv = RNG.standard_normal((5, 3))
    yv = np.array([2, 1, 0, 0, 1], dtype="int32")
    c, g = f(zv, yv)
    ls = ref_log_softmax(zv)
    np.testing.assert_allclose(c, -ls[[0, 1], [2, 1]].mean(), rtol=1e-12)
    want = np.zeros_like(zv)
    want[:2] = np.exp(ls[:2]) / 2
    want[[0, 1], [2, 1]] -= 0.5
    np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-15)


def test_static_row_mismatch_is_not_fused():
    z = T.tensor("float64", shape=(5, 3), name="z")
    y = T.tensor("int32", shape=(3,), name="y")
    loss = -T.mean(T.log(nnet.softmax(z))[T.arange(y.shape[0]), y])
    f = theano.function([z, y], loss)
    assert FUSED not in op_names(f)
    zv = RNG.standard_normal((5, 3))
    yv = np.array([2, 1, 0], dtype="int32")
    np.testing.assert_allclose(f(zv, yv), -ref_log_softmax(zv)[np.arange(3), yv].mean(), rtol=1e-12)


def test_dynamic_row_mismatch_raises_a_clear_error():
    # decision (Theano's): with two inputs of unknown length the rewrite assumes one label
    # per row; a mismatch raises instead of reading only the first rows
    z = T.matrix("z")
    y = T.ivector("y")
    loss = -T.mean(T.log(nnet.softmax(z))[T.arange(y.shape[0]), y])
    f = theano.function([z, y], loss)
    with pytest.raises(ValueError, match="3 labels for 5 rows"):
        f(RNG.standard_normal((5, 3)), np.array([0, 1, 2], dtype="int32"))


# ------------------------------------------------- the other spellings of the loss
def test_categorical_crossentropy_with_int_labels_and_bias():
    z = T.matrix("z")
    b = T.vector("b")
    y = T.lvector("y")
    loss = T.mean(nnet.categorical_crossentropy(nnet.softmax(z + b), y))
    gz, gb = T.grad(loss, [z, b])
    f = theano.function([z, b, y], [loss, gz, gb])
    names = op_names(f)
    assert FUSED in names and FUSED_DX in names and "Softmax" not in names, names
    bv = np.array([0.5, -1.0, 0.0, 2.0])
    c, gzv, gbv = f(EXTREME, bv, EXTREME_Y)
    want_c, want_g = ref_loss_and_grad(EXTREME, EXTREME_Y, bias=bv)
    np.testing.assert_allclose(c, want_c, rtol=1e-12)
    np.testing.assert_allclose(gzv, want_g, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(gbv, want_g.sum(axis=0), rtol=1e-10, atol=1e-15)


def test_categorical_crossentropy_with_one_hot_targets_is_stable():
    z = T.matrix("z")
    t = T.matrix("t")
    loss = T.mean(nnet.categorical_crossentropy(nnet.softmax(z), t))
    f = theano.function([z, t], [loss, T.grad(loss, z)])
    names = op_names(f)
    assert "LogSoftmax" in names and "Softmax" not in names, names  # one pass
    tv = np.eye(4)[EXTREME_Y]
    c, g = f(EXTREME, tv)
    want_c, want_g = ref_loss_and_grad(EXTREME, EXTREME_Y)
    assert np.isfinite(c) and np.all(np.isfinite(g))
    np.testing.assert_allclose(c, want_c, rtol=1e-12)
    np.testing.assert_allclose(g, want_g, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("with_bias", [False, True])
def test_crossentropy_softmax_1hot_functions(with_bias):
    z = T.matrix("z")
    b = T.vector("b")
    y = T.lvector("y")
    if with_bias:
        nll, sm = nnet.crossentropy_softmax_1hot_with_bias(z, b, y)
        ins, bv = [z, b, y], np.array([1.0, -2.0, 0.0, 0.5])
    else:
        nll, sm = nnet.crossentropy_softmax_1hot(z, y)
        ins, bv = [z, y], None
    loss = T.mean(nll)
    f = theano.function(ins, [loss, T.grad(loss, z), sm])
    names = op_names(f)
    assert names.count(FUSED) == 1 and FUSED_DX in names and "Softmax" not in names, names
    args = [EXTREME] + ([bv] if with_bias else []) + [EXTREME_Y]
    c, g, smv = f(*args)
    want_c, want_g = ref_loss_and_grad(EXTREME, EXTREME_Y, bias=bv)
    np.testing.assert_allclose(c, want_c, rtol=1e-12)
    np.testing.assert_allclose(g, want_g, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(smv, np.exp(ref_log_softmax(EXTREME + (0 if bv is None else bv))),
                               rtol=1e-12)
