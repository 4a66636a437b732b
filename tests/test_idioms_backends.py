"""The idioms of issue 12 on every backend: the fused graph computes NumPy's values on each.

The CPU runtime runs the fused crossentropy ops natively (int64 labels, which
the rewrites provide for any label dtype); the python backend runs each op's
perform. Both are compared with NumPy at ordinary and extreme logits.
"""

import numpy as np
import pytest

import graphcore.tensor as T
from graphcore.compile.function import function
from graphcore.compile.mode import Mode
from graphcore.tensor import nnet
from graphcore.testing import assert_allclose_backends, parametrize_backends

RNG = np.random.default_rng(21)
Z = np.concatenate([RNG.standard_normal((6, 5)),
                    [[1000.0, -1000.0, 0.0, 3.0, 1.0], [-1000.0, 1000.0, 999.0, 0.0, -5.0]]])
Y = np.array([0, 4, 2, 2, 1, 3, 1, 0], dtype="int32")  # the last two pick probabilities 0 and ~0


def ref_nll(zv, bv, yv):
    zb = zv + bv
    mx = zb.max(axis=1, keepdims=True)
    ls = zb - mx - np.log(np.exp(zb - mx).sum(axis=1, keepdims=True))
    n = len(yv)
    g = np.exp(ls)
    g[np.arange(n), yv] -= 1
    return -ls[np.arange(n), yv].mean(), g / n, g.sum(axis=0) / n


def test_nll_idiom_with_bias_on_every_backend():
    z, b, y = T.matrix("z"), T.vector("b"), T.ivector("y")
    loss = -T.mean(T.log(nnet.softmax(z + b))[T.arange(y.shape[0]), y])
    outs = [loss] + T.grad(loss, [z, b])
    bv = RNG.standard_normal(5)
    assert_allclose_backends([z, b, y], outs, [Z, bv, Y], rtol=1e-10, atol=1e-300, ref=ref_nll)


@parametrize_backends()
def test_nll_idiom_runs_the_fused_ops(backend):
    z, y = T.fmatrix("z"), T.bvector("y")
    loss = -T.sum(nnet.logsoftmax(z)[T.arange(y.shape[0]), y])
    f = function([z, y], [loss, T.grad(loss, z)], mode=Mode(linker=backend))
    names = [type(n.op).__name__ for n in f.maker.fgraph.toposort()]
    assert "CrossentropySoftmaxArgmax1HotWithBias" in names
    assert "CrossentropySoftmax1HotWithBiasDx" in names
    assert "AdvancedIncSubtensor" not in names and "AdvancedSubtensor" not in names
    c, g = f(Z.astype("float32"), Y.astype("int8"))
    want_c, want_g, _ = ref_nll(Z, 0.0, Y)
    assert np.isfinite(c) and np.all(np.isfinite(g))
    np.testing.assert_allclose(c, want_c * len(Y), rtol=1e-5)
    np.testing.assert_allclose(g, want_g * len(Y), rtol=1e-4, atol=1e-6)


@parametrize_backends()
def test_out_of_range_label_is_a_clear_error(backend):
    z, y = T.matrix("z"), T.ivector("y")
    loss = -T.mean(T.log(nnet.softmax(z))[T.arange(y.shape[0]), y])
    f = function([z, y], [loss, T.grad(loss, z)], mode=Mode(linker=backend))
    with pytest.raises(ValueError, match=r"label 5 at row 1 is out of range \[0, 5\)"):
        f(Z[:3], np.array([0, 5, 1], dtype="int32"))


def test_sigmoid_cross_entropy_on_every_backend():
    z, t = T.vector("z"), T.vector("t")
    cost = T.mean(nnet.binary_crossentropy(nnet.sigmoid(z), t))
    zv = np.array([-1000.0, -3.0, 0.0, 2.0, 1000.0])
    tv = np.array([1.0, 0.0, 0.5, 1.0, 0.0])

    def ref(zz, tt):
        sp = np.logaddexp(0, zz)
        sig = np.exp(-np.logaddexp(0, -zz))
        sig_neg = np.exp(-np.logaddexp(0, zz))
        ce = tt * (sp - zz) + (1 - tt) * sp
        return ce.mean(), ((1 - tt) * sig - tt * sig_neg) / len(zz)

    assert_allclose_backends([z, t], [cost, T.grad(cost, z)], [zv, tv], rtol=1e-12, atol=1e-300,
                             ref=ref)
