"""Reductions against NumPy: axes (None, int, negative, tuple), keepdims, dtype/acc_dtype,
empty inputs, inferred shapes and gradients (prod with zeros, max with ties)."""

import numpy as np
import pytest
from scipy import special as sp

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode
from graphcore.gradient import verify_grad
from graphcore.testing import check_infer_shape

MODE = Mode(linker="python", optimizer=None)
RNG = np.random.default_rng(1)
AXES = [None, 0, 1, -1, (0, 2), (2, 0, 1), ()]


def run(inputs, outputs, *values):
    return theano.function(inputs, outputs, mode=MODE)(*values)


def values_for(dtype, shape):
    if dtype == "bool":
        return RNG.integers(0, 2, size=shape).astype(bool)
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(0, 5, size=shape).astype(dtype)
    return RNG.uniform(-2, 2, size=shape).astype(dtype)


def rtol(dtype):
    return 1e-5 if dtype in ("float32",) else 1e-12


REDUCTIONS = {
    "sum": (T.sum, np.sum), "prod": (T.prod, np.prod), "mean": (T.mean, np.mean),
    "max": (T.max, np.max), "min": (T.min, np.min), "all": (T.all, np.all), "any": (T.any, np.any),
    "var": (T.var, np.var), "std": (T.std, np.std),
    "logsumexp": (T.logsumexp, sp.logsumexp), "ptp": (T.ptp, np.ptp),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("dtype", ["float64", "float32", "int8", "uint16", "bool"])
def test_reduction_values_and_dtypes(name, dtype):
    fn, ref = REDUCTIONS[name]
    if name in ("var", "std", "logsumexp", "mean", "ptp") and dtype == "bool":
        dtype = "int32"
    x = T.tensor(dtype=dtype, shape=(None, None, None))
    xv = values_for(dtype, (2, 3, 4))
    outs = []
    for axis in AXES:
        outs += [fn(x, axis=axis), fn(x, axis=axis, keepdims=True)]
    got = run([x], outs, xv)
    for k, axis in enumerate(AXES):
        for keepdims, out in ((False, got[2 * k]), (True, got[2 * k + 1])):
            want = np.asarray(ref(xv, axis=axis, keepdims=keepdims))
            if name == "logsumexp":
                want = want.astype(out.dtype)
                assert out.dtype == (dtype if dtype in ("float32", "float64") else
                                     "float32" if np.dtype(dtype).itemsize <= 2 else "float64")
            else:
                assert out.dtype == want.dtype, (axis, out.dtype, want.dtype)
            assert out.shape == want.shape, (axis, keepdims)
            np.testing.assert_allclose(out, want, rtol=rtol(str(out.dtype)) * 10, atol=1e-6)


def test_empty_inputs():
    x = T.dmatrix()
    e = np.zeros((0, 3))
    s, p, a, an, s1, lse = run([x], [T.sum(x), T.prod(x, axis=0), T.all(x), T.any(x, axis=1),
                                     T.sum(x, axis=1), T.logsumexp(x, axis=0)], e)
    assert s == 0 and p.tolist() == [1, 1, 1] and bool(a) is True and an.shape == (0,)
    assert s1.shape == (0,)
    np.testing.assert_array_equal(lse, [-np.inf] * 3)
    with pytest.raises(ValueError, match="empty"):
        run([x], T.max(x, axis=0), e)
    with pytest.raises(ValueError, match="empty"):
        run([x], T.argmax(x, axis=0), e)
    with np.errstate(all="ignore"):
        assert np.isnan(run([x], T.mean(x), e))


def test_dtype_and_acc_dtype():
    b = T.bvector()
    bv = np.array([100, 100, 100], dtype="int8")
    s, s8, sf, p, mf = run([b], [T.sum(b), T.sum(b, dtype="int8"), T.sum(b, dtype="float32"),
                                 T.prod(b, acc_dtype="int64"), T.mean(b, dtype="float32")], bv)
    assert s.dtype == "int64" and s == 300  # small ints accumulate in 64 bits, as NumPy
    assert s8.dtype == "int8" and s8 == np.sum(bv, dtype="int8")
    assert sf.dtype == "float32" and sf == 300
    assert p.dtype == "int64" and p == 10 ** 6
    assert mf.dtype == "float32" and mf == 100
    f = T.fvector()
    fv = np.full(5, 0.1, dtype="float32")
    s64, m = run([f], [T.sum(f, acc_dtype="float64"), T.mean(f)], fv)
    assert s64.dtype == "float32" and m.dtype == "float32"
    np.testing.assert_allclose(s64, 0.5, rtol=1e-7)
    h = T.tensor(dtype="float16", shape=(None,))
    hv = np.full(5000, 0.1, dtype="float16")
    hm = run([h], T.mean(h), hv)  # accumulates in float32, as np.mean
    assert hm.dtype == "float16" and hm == np.mean(hv)
    with pytest.raises(TypeError, match="acc_dtype"):
        T.sum(T.dvector(), acc_dtype="float32")
    # Theano's (and NumPy's) argument order: sum(x, axis, dtype, keepdims)
    m = T.dmatrix()
    out = run([m], T.sum(m, 1, "float32", True), np.ones((2, 3)))
    assert out.dtype == "float32" and out.shape == (2, 1)


def test_axis_errors():
    x = T.dmatrix()
    with pytest.raises(ValueError, match="out of bounds"):
        T.sum(x, axis=2)
    with pytest.raises(ValueError, match="repeated"):
        T.max(x, axis=(0, -2))
    with pytest.raises(TypeError, match="axis"):
        T.mean(x, axis="rows")


def test_var_std_ddof():
    x = T.dmatrix()
    xv = RNG.normal(size=(4, 5))
    outs = run([x], [T.var(x, ddof=1), T.var(x, axis=0, ddof=2), T.std(x, axis=1, ddof=1),
                     T.var(x, axis=1, corrected=True, keepdims=True), x.std(axis=0), x.var()], xv)
    wants = [np.var(xv, ddof=1), np.var(xv, axis=0, ddof=2), np.std(xv, axis=1, ddof=1),
             np.var(xv, axis=1, ddof=1, keepdims=True), np.std(xv, axis=0), np.var(xv)]
    for out, want in zip(outs, wants):
        np.testing.assert_allclose(out, want, rtol=1e-12)


def test_argmax_argmin_max_and_argmax():
    x = T.tensor3()
    xv = RNG.normal(size=(2, 3, 4))
    xv[0, 1, :] = 5.0  # ties: the first index wins, as NumPy
    mx, amx = T.max_and_argmax(x, axis=2)
    outs = run([x], [T.argmax(x), T.argmax(x, axis=1), T.argmin(x, axis=-1, keepdims=True),
                     T.argmin(x, axis=(0, 2)), mx, amx, x.argmax(axis=0)], xv)
    flat02 = np.moveaxis(xv, 1, 0).reshape(3, -1)
    wants = [np.argmax(xv), np.argmax(xv, axis=1), np.argmin(xv, axis=-1, keepdims=True),
             np.argmin(flat02, axis=1), np.max(xv, axis=2), np.argmax(xv, axis=2),
             np.argmax(xv, axis=0)]
    for out, want in zip(outs, wants):
        assert out.dtype == "int64" or out.dtype == "float64"
        np.testing.assert_array_equal(out, want)
    i = T.ivector()
    assert run([i], T.argmax(i), np.array([3, 9, 9, 1], dtype="int32")) == 1


def test_logsumexp_is_stable():
    x = T.dmatrix()
    xv = np.array([[1000.0, 1000.0, -np.inf], [-1000.0, -1001.0, -1002.0], [-np.inf] * 3])
    out = run([x], T.logsumexp(x, axis=1), xv)
    np.testing.assert_allclose(out, sp.logsumexp(xv, axis=1))
    v = T.dvector()
    g = run([v], T.grad(T.logsumexp(v), v), xv[0])
    np.testing.assert_allclose(g, [0.5, 0.5, 0.0])


@pytest.mark.parametrize("fn", [
    lambda v: T.sum(v, axis=1), lambda v: T.sum(v ** 2, axis=(0, 2), keepdims=True),
    lambda v: T.prod(v, axis=2), lambda v: T.prod(v), lambda v: T.mean(v, axis=(1, 2)),
    lambda v: T.var(v, axis=0, ddof=1), lambda v: T.std(v, axis=1), lambda v: T.max(v, axis=1),
    lambda v: T.min(v), lambda v: T.logsumexp(v, axis=(0, 1)), lambda v: T.max_and_argmax(v, 2)[0],
], ids=["sum", "sum_sq_keep", "prod", "prod_all", "mean", "var", "std", "max", "min",
        "logsumexp", "max_and_argmax"])
def test_reduction_grads(fn):
    verify_grad(fn, [RNG.uniform(0.5, 2, size=(2, 3, 2))], n_tests=1, mode=MODE)


def test_prod_grad_with_zeros():
    one_zero = np.array([[2.0, 0.0, 3.0], [1.5, -2.0, 0.5]])
    two_zeros = np.array([[0.0, 0.0, 3.0], [0.0, 1.5, 2.0]])
    for xv in (one_zero, two_zeros):
        verify_grad(lambda v: T.prod(v, axis=1), [xv], n_tests=2, mode=MODE)
        verify_grad(lambda v: T.prod(v), [xv], n_tests=1, mode=MODE)
    x = T.dvector()
    g = run([x], T.grad(T.prod(x), x), np.array([2.0, 0.0, 3.0]))
    np.testing.assert_array_equal(g, [0.0, 6.0, 0.0])


def test_max_grad_with_ties():
    # a tie between two entries: each gets half the gradient, which is what central
    # differences measure (and the gradients still sum to the output's)
    xv = np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 0.5]])
    verify_grad(lambda v: T.max(v, axis=1), [xv], n_tests=2, mode=MODE)
    verify_grad(lambda v: T.min(-v, axis=1), [xv], n_tests=1, mode=MODE)
    x = T.dmatrix()
    g = run([x], T.grad(T.sum(T.max(x, axis=1)), x), xv)
    np.testing.assert_array_equal(g, [[0, 0.5, 0.5], [1, 0, 0]])


def test_integer_reductions_have_no_gradient():
    x, i = T.dvector(), T.ivector()
    cost = T.sum(x) + T.cast(T.sum(i), "float64") + T.cast(T.argmax(x), "float64")
    g = run([x, i], T.grad(cost, x), np.array([1.0, 2.0]), np.array([1, 2], dtype="int32"))
    np.testing.assert_array_equal(g, [1.0, 1.0])


def test_reduction_infer_shape():
    x = T.tensor3()
    xv = RNG.normal(size=(2, 3, 4))
    check_infer_shape(lambda v: [T.sum(v, axis=1), T.prod(v, axis=(0, 2), keepdims=True),
                                 T.max(v, axis=-1), T.argmax(v, axis=(0, 1)), T.mean(v, axis=0),
                                 T.var(v, axis=2), T.logsumexp(v, axis=1), T.all(v > 0, axis=0)],
                      [x], [xv], mode=MODE)
