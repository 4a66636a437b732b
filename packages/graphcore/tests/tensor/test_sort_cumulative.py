"""sort/argsort and cumsum/cumprod against NumPy: axes, dtypes, NaNs, empty inputs,
inferred shapes and gradients."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode
from graphcore.gradient import verify_grad
from graphcore.testing import check_infer_shape

MODE = Mode(linker="python", optimizer=None)
RNG = np.random.default_rng(2)


def run(inputs, outputs, *values):
    return theano.function(inputs, outputs, mode=MODE)(*values)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "uint8", "bool"])
def test_sort_argsort_values(dtype):
    x = T.tensor(dtype=dtype, shape=(None, None))
    xv = RNG.integers(0, 4, size=(3, 5)).astype(dtype)  # many ties
    outs = run([x], [T.sort(x), T.sort(x, axis=0), T.sort(x, axis=None), T.argsort(x),
                     T.argsort(x, axis=0, kind="stable"), T.argsort(x, axis=None, kind="stable"),
                     T.sort(x, axis=-2, kind="mergesort")], xv)
    wants = [np.sort(xv), np.sort(xv, axis=0), np.sort(xv, axis=None), None,
             np.argsort(xv, axis=0, kind="stable"), np.argsort(xv, axis=None, kind="stable"),
             np.sort(xv, axis=0)]
    for out, want in zip(outs, wants):
        if want is not None:
            assert out.dtype == want.dtype
            np.testing.assert_array_equal(out, want)
    # default-kind argsort: any order of ties is fine, it must sort
    assert outs[3].dtype == "int64"
    np.testing.assert_array_equal(np.take_along_axis(xv, outs[3], axis=-1), np.sort(xv))
    e = np.zeros((0, 4), dtype=dtype)
    assert [o.shape for o in run([x], [T.sort(x), T.argsort(x, axis=0)], e)] == [(0, 4), (0, 4)]


def test_sort_nans_last_and_errors():
    x = T.dvector()
    xv = np.array([3.0, np.nan, -1.0, np.inf, 0.0])
    s, a = run([x], [T.sort(x), T.argsort(x)], xv)
    np.testing.assert_array_equal(s, np.sort(xv))
    np.testing.assert_array_equal(a, np.argsort(xv))
    with pytest.raises(ValueError, match="out of bounds"):
        T.sort(x, axis=1)
    with pytest.raises(ValueError, match="kind"):
        T.sort(x, kind="bogo")
    with pytest.raises(TypeError, match="not ordered"):
        T.sort(T.zvector())
    with pytest.raises(ValueError, match="0-d"):
        T.sort(T.dscalar(), axis=0)
    with pytest.raises(ValueError, match="order"):
        T.argsort(x, order="f")


def test_sort_grad():
    xv = RNG.permutation(12).reshape(3, 4).astype("float64") + RNG.uniform(0, 0.5, (3, 4))
    for fn in (lambda v: T.sort(v), lambda v: T.sort(v, axis=0), lambda v: T.sort(v, axis=None),
               lambda v: T.sort(v) * np.arange(4.0)):
        verify_grad(fn, [xv], n_tests=1, mode=MODE)
    # the gradient of the k-th smallest goes to where it came from
    x = T.dvector()
    g = run([x], T.grad(T.sum(T.sort(x) * np.array([1.0, 10.0, 100.0])), x), np.array([5.0, -1.0, 2.0]))
    np.testing.assert_array_equal(g, [100.0, 1.0, 10.0])


def test_sort_infer_shape():
    x = T.dmatrix()
    check_infer_shape(lambda v: [T.sort(v), T.argsort(v, axis=0), T.sort(v, axis=None)], [x],
                      [RNG.normal(size=(3, 4))], mode=MODE)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int8", "uint32", "bool"])
def test_cumsum_cumprod_values(dtype):
    x = T.tensor(dtype=dtype, shape=(None, None, None))
    xv = RNG.integers(0, 3, size=(2, 3, 4)).astype(dtype)
    if dtype == "int8":
        xv[0, 0, :] = 100  # the running sum leaves int8: it accumulates in int64, as NumPy
    outs = run([x], [T.cumsum(x), T.cumsum(x, axis=1), T.cumsum(x, axis=-1), T.cumprod(x, axis=0),
                     T.cumprod(x, axis=2), T.cumprod(x), T.cumsum(x, axis=1, dtype="float32")], xv)
    wants = [np.cumsum(xv), np.cumsum(xv, axis=1), np.cumsum(xv, axis=-1), np.cumprod(xv, axis=0),
             np.cumprod(xv, axis=2), np.cumprod(xv), np.cumsum(xv, axis=1).astype("float32")]
    for out, want in zip(outs, wants):
        assert out.dtype == want.dtype, (out.dtype, want.dtype)
        np.testing.assert_allclose(out, want, rtol=1e-6)
    e = np.zeros((2, 0, 3), dtype=dtype)
    assert [o.shape for o in run([x], [T.cumsum(x, axis=1), T.cumprod(x)], e)] == [(2, 0, 3), (0,)]


def test_cumulative_errors():
    x = T.dmatrix()
    with pytest.raises(ValueError, match="out of bounds"):
        T.cumsum(x, axis=2)
    with pytest.raises(TypeError, match="axis"):
        T.cumprod(x, axis=(0, 1))


def test_cumulative_grads():
    xv = RNG.uniform(0.5, 1.5, size=(3, 4))
    for fn in (lambda v: T.cumsum(v, axis=0), lambda v: T.cumsum(v, axis=1), lambda v: T.cumsum(v),
               lambda v: T.cumprod(v, axis=1), lambda v: T.cumprod(v, axis=0), lambda v: T.cumprod(v),
               lambda v: T.cumsum(T.cumsum(v, axis=1) ** 2, axis=1)):
        verify_grad(fn, [xv], n_tests=1, mode=MODE)


def test_cumprod_grad_with_zeros():
    for xv in (np.array([[2.0, 0.0, 3.0, 1.5], [0.0, 0.0, 2.0, -1.0]]),
               np.array([[0.0, 1.5, 2.0, 0.5], [1.0, 2.0, 0.0, 4.0]])):
        verify_grad(lambda v: T.cumprod(v, axis=1), [xv], n_tests=2, mode=MODE)
    x = T.dvector()
    g = run([x], T.grad(T.sum(T.cumprod(x)), x), np.array([2.0, 0.0, 3.0]))
    # d/dx of x0 + x0 x1 + x0 x1 x2 at (2, 0, 3)
    np.testing.assert_array_equal(g, [1.0, 2.0 + 6.0, 0.0])


def test_cumulative_infer_shape():
    x = T.tensor3()
    check_infer_shape(lambda v: [T.cumsum(v, axis=1), T.cumprod(v, axis=-1), T.cumsum(v)], [x],
                      [RNG.normal(size=(2, 3, 4))], mode=MODE)


def test_tensor_methods():
    x = T.dmatrix()
    xv = RNG.normal(size=(3, 4))
    outs = run([x], [x.sort(), x.argsort(axis=0), x.cumsum(1), x.cumprod(), x.sum(1, "float32", True),
                     x.mean(0, None, True)], xv)
    wants = [np.sort(xv), np.argsort(xv, axis=0), np.cumsum(xv, 1), np.cumprod(xv),
             xv.sum(1, dtype="float32", keepdims=True), xv.mean(0, keepdims=True)]
    for out, want in zip(outs, wants):
        assert out.dtype == want.dtype and out.shape == want.shape
        np.testing.assert_allclose(out, want, rtol=1e-6)
