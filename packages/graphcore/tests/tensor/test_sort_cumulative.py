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


@pytest.mark.parametrize("dtype", ["float64", "float32", "int16", "uint8"])
def test_topk_argtopk(dtype):
    x = T.tensor(dtype=dtype, shape=(None, None))
    xv = RNG.permutation(20).reshape(4, 5).astype(dtype)
    v, i = T.topk_and_argtopk(x, 2)
    outs = run([x], [T.topk(x, 3), T.argtopk(x, 3), T.topk(x, -2, axis=0), T.argtopk(x, -2, axis=0),
                     v, i, T.topk(x, 4, axis=None)], xv)
    desc = np.argsort(-xv.astype("float64"), axis=-1, kind="stable")
    asc0 = np.argsort(xv, axis=0, kind="stable")
    wants = [np.take_along_axis(xv, desc[:, :3], -1), desc[:, :3], np.take_along_axis(xv, asc0[:2], 0),
             asc0[:2], np.take_along_axis(xv, desc[:, :2], -1), desc[:, :2],
             np.sort(xv, axis=None)[::-1][:4]]
    for out, want in zip(outs, wants):
        np.testing.assert_array_equal(out, want)
    assert outs[0].dtype == dtype and outs[1].dtype == "int64"
    with pytest.raises(ValueError, match="larger than"):
        run([x], T.topk(x, 6), xv)
    with pytest.raises(ValueError, match="non-zero"):
        T.topk(x, 0)
    with pytest.raises(TypeError, match="Python int"):
        T.topk(x, T.lscalar())


def test_topk_grad_and_infer_shape():
    xv = RNG.permutation(12).reshape(3, 4) + RNG.uniform(0, 0.5, (3, 4))
    for fn in (lambda v: T.topk(v, 2), lambda v: T.topk(v, -2, axis=0), lambda v: T.topk(v, 3, axis=None)):
        verify_grad(fn, [xv], n_tests=1, mode=MODE)
    x = T.dmatrix()
    check_infer_shape(lambda v: [T.topk(v, 2), T.argtopk(v, -3, axis=0)], [x], [xv], mode=MODE)


def test_inverse_permutation_and_permute_row_elements():
    p, m = T.lvector(), T.dmatrix()
    pv = np.array([2, 0, 3, 1])
    mv = np.arange(12.0).reshape(3, 4)
    pm = T.lmatrix()
    pmv = np.array([RNG.permutation(4) for _ in range(3)])
    inv, rows, rows_inv, each = run([p, m, pm], [T.inverse_permutation(p), T.permute_row_elements(m, p),
                                                 T.permute_row_elements(m, p, inverse=True),
                                                 T.permute_row_elements(m, pm)], pv, mv, pmv)
    np.testing.assert_array_equal(inv, np.argsort(pv))
    np.testing.assert_array_equal(rows, mv[:, pv])
    np.testing.assert_array_equal(rows_inv, mv[:, np.argsort(pv)])
    np.testing.assert_array_equal(each, np.take_along_axis(mv, pmv, axis=1))
    verify_grad(lambda v: T.permute_row_elements(v, pv) * np.arange(4.0), [mv], n_tests=1, mode=MODE)
