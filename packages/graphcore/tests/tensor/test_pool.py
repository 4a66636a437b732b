"""pool_2d and its gradient ops vs a per-window loop reference (Theano's algorithm)."""

import itertools

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.tensor.signal import pool
from graphcore.tensor.signal.pool import (AveragePoolGrad, DownsampleFactorMaxGradGrad,
                                          MaxPoolGrad, Pool, max_pool_2d_same_size, pool_2d,
                                          pool_3d)
from graphcore.testing import check_infer_shape, verify_grad

RNG = np.random.default_rng(99)


def ref_out_len(r, ws, st, pad, ignore_border):
    if ignore_border:
        return max((r + 2 * pad - ws) // st + 1, 0)
    if r == 0:
        return 0
    if st >= ws:
        return (r - 1) // st + 1
    return max(0, (r - 1 - ws + st) // st) + 1


def ref_pool(x, ws, ignore_border=True, stride=None, pad=None, mode="max"):
    """Window by window, as Theano's Pool.perform: regions clipped to the (padded) image."""
    nd = len(ws)
    stride = stride or ws
    pad = pad or (0,) * nd
    lead, img = x.shape[:-nd], x.shape[-nd:]
    padded = tuple(n + 2 * p for n, p in zip(img, pad))
    xp = np.zeros(lead + padded, dtype="float64")
    xp[(Ellipsis,) + tuple(slice(p, p + n) for p, n in zip(pad, img))] = x
    out_shape = tuple(ref_out_len(img[i], ws[i], stride[i], pad[i], ignore_border) for i in range(nd))
    out = np.zeros(lead + out_shape)
    axes = tuple(range(-nd, 0))
    for pos in itertools.product(*[range(n) for n in out_shape]):
        region = [Ellipsis]
        for i, k in enumerate(pos):
            lo = k * stride[i]
            hi = min(lo + ws[i], padded[i])
            if mode != "average_inc_pad":  # only the real image
                lo, hi = max(lo, pad[i]), min(hi, pad[i] + img[i])
            region.append(slice(lo, hi))
        r = xp[tuple(region)]
        if mode == "max":
            out[(Ellipsis,) + pos] = r.max(axis=axes)
        elif mode == "sum":
            out[(Ellipsis,) + pos] = r.sum(axis=axes)
        else:
            out[(Ellipsis,) + pos] = r.mean(axis=axes)
    return out


CASES = [  # ws, ignore_border, stride, pad
    ((2, 2), True, None, (0, 0)),
    ((2, 2), False, None, (0, 0)),
    ((3, 2), True, (1, 1), (0, 0)),
    ((3, 2), False, (1, 1), (0, 0)),
    ((3, 3), False, (2, 1), (0, 0)),
    ((2, 3), False, (3, 4), (0, 0)),
    ((3, 3), True, (2, 2), (1, 2)),
    ((2, 3), True, (1, 2), (1, 1)),
]


@pytest.mark.parametrize("mode", pool.MODES)
@pytest.mark.parametrize("ws,ignore_border,stride,pad", CASES, ids=str)
def test_pool_matches_reference(mode, ws, ignore_border, stride, pad):
    x = RNG.standard_normal((2, 3, 5, 7))
    xv = T.tensor4()
    out = pool_2d(xv, ws, ignore_border=ignore_border, stride=stride, pad=pad, mode=mode)
    got = theano.function([xv], out)(x)
    np.testing.assert_allclose(got, ref_pool(x, ws, ignore_border, stride, pad, mode),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 5), (3, 1, 6, 4), (0, 4, 4), (2, 0, 3), (1, 1)])
@pytest.mark.parametrize("ignore_border", [True, False])
def test_pool_leading_dims_and_empty_shapes(shape, ignore_border):
    x = RNG.standard_normal(shape)
    xv = T.tensor(dtype="float64", shape=(None,) * len(shape))
    for mode in pool.MODES:
        out = pool_2d(xv, (2, 2), ignore_border=ignore_border, mode=mode)
        got = theano.function([xv], out)(x)
        want = ref_pool(x, (2, 2), ignore_border, None, (0, 0), mode) if x.size else \
            np.zeros(shape[:-2] + tuple(ref_out_len(r, 2, 2, 0, ignore_border) for r in shape[-2:]))
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_pool_float32_int_and_old_argument_names():
    x = RNG.standard_normal((1, 4, 4)).astype("float32")
    xv = T.ftensor3()
    out = pool_2d(xv, ds=(2, 2), st=(1, 1), padding=(1, 1), mode="average_exc_pad")
    assert out.dtype == "float32"
    got = theano.function([xv], out)(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref_pool(x, (2, 2), True, (1, 1), (1, 1), "average_exc_pad"),
                               rtol=1e-6)
    iv = T.imatrix()
    xi = np.arange(16, dtype="int32").reshape(4, 4)
    fmax, fsum, favg = theano.function([iv], [pool_2d(iv, (2, 2)), pool_2d(iv, (2, 2), mode="sum"),
                                              pool_2d(iv, (2, 2), mode="average_inc_pad")])(xi)
    assert fmax.dtype == np.int32 and fsum.dtype == np.int32 and favg.dtype.kind == "f"
    np.testing.assert_array_equal(fmax, [[5, 7], [13, 15]])
    np.testing.assert_array_equal(fsum, [[10, 18], [42, 50]])
    np.testing.assert_allclose(favg, [[2.5, 4.5], [10.5, 12.5]])


def test_max_pool_padding_is_ignored_for_negative_inputs():
    x = -np.ones((1, 1, 2, 2)) - RNG.random((1, 1, 2, 2))
    xv = T.tensor4()
    got = theano.function([xv], pool_2d(xv, (2, 2), stride=(1, 1), pad=(1, 1)))(x)
    assert np.all(got < 0)  # zero padding never wins the max
    np.testing.assert_allclose(got, ref_pool(x, (2, 2), True, (1, 1), (1, 1), "max"))


def test_pool_errors():
    xv = T.tensor4()
    with pytest.raises(ValueError, match="mode"):
        pool_2d(xv, (2, 2), mode="average")
    with pytest.raises(NotImplementedError, match="ignore_border"):
        pool_2d(xv, (2, 2), ignore_border=False, pad=(1, 1))
    with pytest.raises(ValueError, match="smaller than the window"):
        pool_2d(xv, (2, 2), pad=(2, 0))
    with pytest.raises(TypeError, match="at least 2 dimensions"):
        pool_2d(T.vector(), (2, 2))
    with pytest.raises(ValueError, match="ws"):
        pool_2d(xv)
    with pytest.raises(ValueError, match="ws"):
        pool_2d(xv, (0, 2))


@pytest.mark.parametrize("mode", pool.MODES)
@pytest.mark.parametrize("ws,ignore_border,stride,pad", [
    ((2, 2), True, None, (0, 0)),
    ((3, 2), False, (2, 1), (0, 0)),
    ((2, 3), True, (1, 2), (1, 1)),
], ids=str)
def test_pool_verify_grad(mode, ws, ignore_border, stride, pad):
    # distinct values so the max is unique and differentiable
    x = RNG.permutation(2 * 5 * 5).reshape(2, 5, 5).astype("float64") / 7.0
    verify_grad(lambda a: pool_2d(a, ws, ignore_border=ignore_border, stride=stride, pad=pad,
                                  mode=mode), [x], rng=np.random.default_rng(3))


def test_max_pool_grad_ties_all_receive_the_gradient():
    x = np.array([[1.0, 1.0], [0.0, 1.0]])
    xv = T.matrix()
    g = T.grad(pool_2d(xv, (2, 2)).sum(), xv)
    np.testing.assert_array_equal(theano.function([xv], g)(x), [[1, 1], [0, 1]])


@pytest.mark.parametrize("mode", ["sum", "average_inc_pad", "average_exc_pad"])
def test_average_pool_grad_second_derivative(mode):
    x = RNG.standard_normal((1, 5, 4))
    kw = dict(ws=(2, 3), ignore_border=True, stride=(1, 1), pad=(1, 1), mode=mode)
    gz = RNG.standard_normal(ref_pool(x, (2, 3), True, (1, 1), (1, 1), mode).shape)
    verify_grad(lambda g: AveragePoolGrad(**kw)(T.constant(x), g), [gz], rng=np.random.default_rng(4))


def test_max_pool_grad_grad():
    x = RNG.permutation(30).reshape(1, 5, 6).astype("float64")
    kw = dict(ws=(2, 2), ignore_border=False, stride=(2, 2))
    maxout = ref_pool(x, (2, 2), False, (2, 2), (0, 0), "max")
    gz = RNG.standard_normal(maxout.shape)
    xc, mc = T.constant(x), T.constant(maxout)
    verify_grad(lambda g: MaxPoolGrad(**kw)(xc, mc, g), [gz], rng=np.random.default_rng(5))
    ggx = RNG.standard_normal(x.shape)
    verify_grad(lambda g: DownsampleFactorMaxGradGrad(**kw)(xc, mc, g), [ggx],
                rng=np.random.default_rng(6))
    # second derivative through grad(): the adjoint pair
    xv = T.tensor3()
    y = pool_2d(xv, (2, 2), ignore_border=False)
    gy = T.grad((y ** 2).sum(), xv)  # 2 * y routed to the maxima
    hv = T.grad((gy * T.constant(ggx)).sum(), xv)
    got_g, got_h = theano.function([xv], [gy, hv])(x)
    mask = np.zeros_like(x)
    for i, j in itertools.product(range(3), range(3)):
        win = x[0, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
        a, b = np.unravel_index(np.argmax(win), win.shape)
        mask[0, 2 * i + a, 2 * j + b] = 1
    np.testing.assert_allclose(got_g, 2 * x * mask)
    np.testing.assert_allclose(got_h, 2 * ggx * mask)


@pytest.mark.parametrize("ws,ignore_border,stride,pad", CASES, ids=str)
def test_infer_shape(ws, ignore_border, stride, pad):
    x = RNG.standard_normal((2, 5, 7))
    xv, gv = T.tensor3(), T.tensor3()
    kw = dict(ws=ws, ignore_border=ignore_border, stride=stride, pad=pad)
    check_infer_shape(lambda a: pool_2d(a, mode="max", **kw), [xv], [x])
    out = ref_pool(x, ws, ignore_border, stride, pad, "max")
    g = RNG.standard_normal(out.shape)
    check_infer_shape(lambda a, m, gg: MaxPoolGrad(**kw)(a, m, gg), [xv, T.tensor3(), gv], [x, out, g])
    check_infer_shape(lambda a, gg: AveragePoolGrad(mode="sum", **kw)(a, gg), [xv, gv], [x, g])
    check_infer_shape(lambda a, m, gg: DownsampleFactorMaxGradGrad(**kw)(a, m, gg),
                      [xv, T.tensor3(), T.tensor3()], [x, out, x])
    xs = T.tensor(dtype="float64", shape=(2, 5, 7))
    assert pool_2d(xs, **kw).type.shape == out.shape


def test_infer_shape_of_empty_image():
    xv = T.tensor3()
    for ib in (True, False):
        check_infer_shape(lambda a: pool_2d(a, (3, 2), ignore_border=ib, stride=(1, 1)), [xv],
                          [np.zeros((2, 0, 1))])


def test_max_pool_2d_same_size():
    x = RNG.permutation(16).reshape(1, 4, 4).astype("float64")
    xv = T.tensor3()
    got = theano.function([xv], max_pool_2d_same_size(xv, (2, 2)))(x)
    want = np.zeros_like(x)
    for i, j in itertools.product(range(2), range(2)):
        win = x[0, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
        a, b = np.unravel_index(np.argmax(win), win.shape)
        want[0, 2 * i + a, 2 * j + b] = win[a, b]
    np.testing.assert_array_equal(got, want)


def test_pool_op_props():
    assert Pool((2, 2)) == Pool(2, True, (2, 2), 0, "max")
    assert Pool((2, 2), mode="sum") != Pool((2, 2))


@pytest.mark.parametrize("mode", pool.MODES)
@pytest.mark.parametrize("ws,ignore_border,stride,pad", [
    ((2, 2, 2), True, None, (0, 0, 0)),
    ((2, 3, 2), False, (1, 2, 3), (0, 0, 0)),
    ((3, 2, 2), True, (2, 1, 1), (1, 1, 0)),
], ids=str)
def test_pool_3d_matches_reference(mode, ws, ignore_border, stride, pad):
    x = RNG.standard_normal((2, 4, 5, 3))
    xv = T.tensor4()
    out = pool_3d(xv, ws, ignore_border=ignore_border, stride=stride, pad=pad, mode=mode)
    got = theano.function([xv], out)(x)
    np.testing.assert_allclose(got, ref_pool(x, ws, ignore_border, stride, pad, mode), rtol=1e-12,
                               atol=1e-12)
    check_infer_shape(lambda a: pool_3d(a, ws, ignore_border=ignore_border, stride=stride, pad=pad,
                                        mode=mode), [xv], [x])
    xg = RNG.permutation(x.size).reshape(x.shape) / 11.0
    verify_grad(lambda a: pool_3d(a, ws, ignore_border=ignore_border, stride=stride, pad=pad,
                                  mode=mode), [xg[:1]], rng=np.random.default_rng(7))


def test_pool_3d_errors():
    with pytest.raises(ValueError, match="3 entries"):
        pool_3d(T.tensor4(), (2, 2))
    with pytest.raises(TypeError, match="at least 3 dimensions"):
        pool_3d(T.matrix(), 2)


@pytest.mark.parametrize("mode", pool.MODES)
def test_pool_float32_gradients(mode):
    x = (RNG.permutation(2 * 4 * 5).reshape(2, 4, 5) / 9.0).astype("float32")
    verify_grad(lambda a: pool_2d(a, (2, 2), ignore_border=False, mode=mode), [x],
                rng=np.random.default_rng(71))
    xv = T.ftensor3()
    g = T.grad(pool_2d(xv, (2, 2), mode=mode).sum(), xv)
    assert g.dtype == "float32"
    assert theano.function([xv], g)(x).dtype == np.float32
