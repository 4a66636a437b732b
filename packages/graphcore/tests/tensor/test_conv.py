"""conv2d and its gradient ops vs a direct-loop reference and scipy.signal; gradients by finite differences."""

import itertools

import numpy as np
import pytest
from scipy import signal

import graphcore as theano
import graphcore.tensor as T
from graphcore.tensor.nnet import conv2d
from graphcore.tensor.nnet.conv import (Conv2d, Conv2dGradInputs, Conv2dGradWeights,
                                        conv2d_grad_wrt_inputs, conv2d_grad_wrt_weights,
                                        conv2d_transpose, get_conv_output_shape)
from graphcore.testing import check_infer_shape, verify_grad


def ref_pads(border_mode, kshape, dilation):
    if isinstance(border_mode, int):
        border_mode = (border_mode, border_mode)
    out = []
    for i, (k, d) in enumerate(zip(kshape, dilation)):
        dk = (k - 1) * d + 1
        if border_mode == "valid":
            out.append((0, 0))
        elif border_mode == "full":
            out.append((dk - 1, dk - 1))
        elif border_mode == "half":
            out.append((dk // 2, dk // 2))
        else:
            p = border_mode[i]
            out.append((p, p) if isinstance(p, int) else tuple(p))
    return out


def ref_conv(x, w, border_mode="valid", subsample=(1, 1), filter_flip=True, dilation=(1, 1),
             groups=1):
    """Direct loops over every output element: the definition of grouped, dilated, strided conv."""
    if filter_flip:
        w = w[:, :, ::-1, ::-1]
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    pads = ref_pads(border_mode, (kh, kw), dilation)
    xp = np.pad(x.astype("float64"), ((0, 0), (0, 0), pads[0], pads[1]))
    oh = (h + sum(pads[0]) - (kh - 1) * dilation[0] - 1) // subsample[0] + 1
    ow = (wd + sum(pads[1]) - (kw - 1) * dilation[1] - 1) // subsample[1] + 1
    out = np.zeros((n, f, oh, ow))
    fg = f // groups
    for b, o, i, j in itertools.product(range(n), range(f), range(oh), range(ow)):
        g = o // fg
        acc = 0.0
        for ci, a, bb in itertools.product(range(cg), range(kh), range(kw)):
            acc += xp[b, g * cg + ci, i * subsample[0] + a * dilation[0],
                      j * subsample[1] + bb * dilation[1]] * w[o, ci, a, bb]
        out[b, o, i, j] = acc
    return out


RNG = np.random.default_rng(1234)
BORDER_MODES = ["valid", "full", "half", 1, (1, 2), ((1, 0), (0, 2))]


@pytest.mark.parametrize("border_mode", BORDER_MODES, ids=str)
@pytest.mark.parametrize("subsample", [(1, 1), (2, 1), (2, 3)], ids=str)
@pytest.mark.parametrize("dilation", [(1, 1), (2, 1)], ids=str)
@pytest.mark.parametrize("groups", [1, 2])
def test_conv2d_matches_direct_loops(border_mode, subsample, dilation, groups):
    x = RNG.standard_normal((2, 4, 6, 5))
    w = RNG.standard_normal((4, 4 // groups, 3, 2))
    img, kern = T.tensor4("img"), T.tensor4("kern")
    outs = [conv2d(img, kern, border_mode=border_mode, subsample=subsample, filter_flip=flip,
                   filter_dilation=dilation, num_groups=groups) for flip in (True, False)]
    f = theano.function([img, kern], outs)
    got = f(x, w)
    for flip, g in zip((True, False), got):
        want = ref_conv(x, w, border_mode, subsample, flip, dilation, groups)
        np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", ["valid", "full"])
def test_conv2d_matches_scipy(mode):
    x = RNG.standard_normal((2, 3, 7, 6))
    w = RNG.standard_normal((5, 3, 3, 4))
    img, kern = T.tensor4(), T.tensor4()
    f = theano.function([img, kern], [conv2d(img, kern, border_mode=mode),
                                      conv2d(img, kern, border_mode=mode, filter_flip=False)])
    conv, corr = f(x, w)
    want_conv = np.array([[sum(signal.convolve2d(x[n, c], w[o, c], mode=mode) for c in range(3))
                           for o in range(5)] for n in range(2)])
    want_corr = np.array([[sum(signal.correlate2d(x[n, c], w[o, c], mode=mode) for c in range(3))
                           for o in range(5)] for n in range(2)])
    np.testing.assert_allclose(conv, want_conv, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(corr, want_corr, rtol=1e-10, atol=1e-10)


def test_conv2d_float32_and_static_shapes():
    x = RNG.standard_normal((2, 2, 5, 5)).astype("float32")
    w = RNG.standard_normal((3, 2, 3, 3)).astype("float32")
    img, kern = T.ftensor4(), T.ftensor4()
    out = conv2d(img, kern, input_shape=(2, 2, 5, 5), filter_shape=(3, 2, 3, 3),
                 border_mode="half", subsample=2)
    assert out.dtype == "float32"
    assert out.type.shape == (2, 3, 3, 3)
    got = theano.function([img, kern], out)(x, w)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref_conv(x, w, "half", (2, 2)), rtol=1e-5, atol=1e-5)


def test_conv2d_mixed_and_integer_dtypes():
    img, kern = T.itensor4(), T.ftensor4()
    out = conv2d(img, kern)
    assert out.dtype == "float64"  # int32 with float32 promotes like NumPy
    x = np.arange(2 * 1 * 4 * 4, dtype="int32").reshape(2, 1, 4, 4)
    w = np.ones((1, 1, 2, 2), dtype="float32")
    np.testing.assert_allclose(theano.function([img, kern], out)(x, w), ref_conv(x, w))


def test_conv2d_empty_batch_and_filters():
    img, kern = T.tensor4(), T.tensor4()
    f = theano.function([img, kern], conv2d(img, kern, border_mode="full"))
    assert f(np.zeros((0, 2, 4, 4)), np.ones((3, 2, 2, 2))).shape == (0, 3, 5, 5)
    assert f(np.ones((2, 2, 4, 4)), np.ones((0, 2, 2, 2))).shape == (2, 0, 5, 5)
    np.testing.assert_array_equal(f(np.ones((2, 0, 4, 4)), np.ones((3, 0, 2, 2))), np.zeros((2, 3, 5, 5)))
    gx, gw = T.grad(conv2d(img, kern).sum(), [img, kern])
    g = theano.function([img, kern], [gx, gw])(np.ones((0, 2, 4, 4)), np.ones((3, 2, 2, 2)))
    assert g[0].shape == (0, 2, 4, 4)
    np.testing.assert_array_equal(g[1], np.zeros((3, 2, 2, 2)))
    with pytest.raises(ValueError, match="empty dimension"):
        f(np.ones((1, 2, 4, 4)), np.ones((1, 2, 0, 2)))


def test_conv2d_image_shape_alias_checks_at_run_time():
    img, kern = T.tensor4(), T.tensor4()
    out = conv2d(img, kern, image_shape=(None, 1, 4, 4))
    assert out.type.shape[1:] == (None, None, None)
    f = theano.function([img, kern], out)
    with pytest.raises(AssertionError):
        f(np.ones((1, 1, 5, 5)), np.ones((1, 1, 2, 2)))


def test_conv2d_errors_name_the_op_and_shapes():
    img, kern = T.tensor4(), T.tensor4()
    with pytest.raises(TypeError, match="4-d"):
        conv2d(T.matrix(), kern)
    with pytest.raises(ValueError, match="border_mode"):
        conv2d(img, kern, border_mode="same")
    with pytest.raises(ValueError, match="subsample"):
        conv2d(img, kern, subsample=(0, 1))
    with pytest.raises(ValueError, match="3 channels"):
        conv2d(T.tensor4(shape=(None, 3, None, None)), T.tensor4(shape=(2, 2, None, None)))
    f = theano.function([img, kern], conv2d(img, kern, num_groups=2))
    with pytest.raises(ValueError, match=r"Conv2d.*3 channels"):
        f(np.ones((1, 3, 4, 4)), np.ones((2, 2, 2, 2)))
    g = theano.function([img, kern], conv2d(img, kern))
    with pytest.raises(ValueError, match=r"Conv2d.*smaller than"):
        g(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)))
    with pytest.raises(NotImplementedError):
        conv2d(img, kern, unshared=True)
    with pytest.raises(TypeError, match="unexpected"):
        conv2d(img, kern, bogus=1)


@pytest.mark.parametrize("border_mode,subsample,dilation,groups,flip", [
    ("valid", (1, 1), (1, 1), 1, True),
    ("full", (2, 1), (1, 1), 1, False),
    ("half", (1, 2), (2, 1), 2, True),
    (((1, 0), (0, 2)), (2, 2), (1, 2), 1, True),
])
def test_conv2d_verify_grad(border_mode, subsample, dilation, groups, flip):
    x = RNG.standard_normal((2, 2, 5, 5))
    w = RNG.standard_normal((2, 2 // groups, 2, 3))
    verify_grad(lambda a, b: conv2d(a, b, border_mode=border_mode, subsample=subsample,
                                    filter_flip=flip, filter_dilation=dilation, num_groups=groups),
                [x, w], rng=np.random.default_rng(0))


@pytest.mark.parametrize("border_mode,subsample", [("valid", (1, 1)), ("half", (2, 2)),
                                                   ((1, 2), (2, 1))])
def test_gradient_ops_second_derivatives(border_mode, subsample):
    kw = dict(border_mode=border_mode, subsample=subsample)
    x = RNG.standard_normal((1, 2, 5, 4))
    w = RNG.standard_normal((3, 2, 2, 2))
    out_shape = get_conv_output_shape(x.shape, w.shape, border_mode, subsample)
    gz = RNG.standard_normal(out_shape)
    verify_grad(lambda b, g: conv2d_grad_wrt_inputs(g, b, input_shape=x.shape, **kw), [w, gz],
                rng=np.random.default_rng(1))
    verify_grad(lambda a, g: conv2d_grad_wrt_weights(a, g, filter_shape=w.shape, **kw), [x, gz],
                rng=np.random.default_rng(2))


def test_gradient_ops_are_the_adjoints_of_conv():
    # <gz, conv(x, w)> = <gradInputs(w, gz), x> = <gradWeights(x, gz), w>
    for bm, sub, dil in [("valid", (2, 2), (1, 1)), ("full", (1, 2), (2, 1)), (2, (3, 1), (1, 1))]:
        x = RNG.standard_normal((2, 2, 7, 6))
        w = RNG.standard_normal((3, 2, 3, 2))
        z = ref_conv(x, w, bm, sub, True, dil)
        gz = RNG.standard_normal(z.shape)
        op_kw = dict(border_mode=bm, subsample=sub, filter_dilation=dil)
        wv, gv, xv = T.tensor4(), T.tensor4(), T.tensor4()
        gx = Conv2dGradInputs(**op_kw)(wv, gv, 7, 6)
        gw = Conv2dGradWeights(**op_kw)(xv, gv, 3, 2)
        gxv, gwv = theano.function([wv, gv, xv], [gx, gw])(w, gz, x)
        np.testing.assert_allclose(np.sum(gxv * x), np.sum(gz * z), rtol=1e-10)
        np.testing.assert_allclose(np.sum(gwv * w), np.sum(gz * z), rtol=1e-10)


def test_conv2d_transpose_inverts_the_output_shape():
    x = RNG.standard_normal((1, 3, 3, 3))
    w = RNG.standard_normal((3, 2, 3, 3))  # (channels of x, channels of the result, kh, kw)
    xv, wv = T.tensor4(), T.tensor4()
    out = conv2d_transpose(xv, wv, output_shape=(1, 2, 7, 7), input_dilation=(2, 2))
    got = theano.function([xv, wv], out)(x, w)
    assert got.shape == (1, 2, 7, 7)
    # the adjoint of the strided convolution with the same filters
    y = RNG.standard_normal((1, 2, 7, 7))
    np.testing.assert_allclose(np.sum(got * y), np.sum(x * ref_conv(y, w, "valid", (2, 2))),
                               rtol=1e-10)


@pytest.mark.parametrize("border_mode,subsample,dilation", [
    ("valid", (1, 1), (1, 1)), ("full", (2, 1), (1, 2)), ("half", (2, 3), (1, 1)),
    ((1, 2), (1, 1), (2, 2)),
])
def test_infer_shape(border_mode, subsample, dilation):
    img, kern, gz = T.tensor4(), T.tensor4(), T.tensor4()
    kw = dict(border_mode=border_mode, subsample=subsample, filter_dilation=dilation)
    x = RNG.standard_normal((2, 2, 7, 6))
    w = RNG.standard_normal((4, 1, 3, 2))
    check_infer_shape(lambda a, b: conv2d(a, b, num_groups=2, **kw), [img, kern], [x, w])
    out_shape = get_conv_output_shape(x.shape, w.shape, border_mode, subsample, dilation)
    g = RNG.standard_normal(out_shape)
    check_infer_shape(lambda b, t: Conv2dGradInputs(num_groups=2, **kw)(b, t, 7, 6),
                      [kern, gz], [w, g])
    check_infer_shape(lambda a, t: Conv2dGradWeights(num_groups=2, **kw)(a, t, 3, 2),
                      [img, gz], [x, g])


def test_get_conv_output_shape_and_static_types():
    assert get_conv_output_shape((2, 3, 8, 7), (4, 3, 3, 2), "valid", (1, 1)) == (2, 4, 6, 6)
    assert get_conv_output_shape((2, 3, 8, 7), (4, 3, 3, 2), "full", (2, 2)) == (2, 4, 5, 4)
    assert get_conv_output_shape((2, 3, None, 7), (4, 3, 3, 2), "half", (1, 1)) == (2, 4, None, 8)
    out = conv2d(T.tensor4(shape=(2, 3, 8, 7)), T.tensor4(shape=(4, 3, 3, 2)), border_mode="full",
                 subsample=(2, 2))
    assert out.type.shape == (2, 4, 5, 4)


def test_ops_have_props_equality():
    assert Conv2d("half", (1, 1)) == Conv2d("half", 1)
    assert Conv2d(0) == Conv2d("valid")
    assert Conv2d(1) != Conv2d("valid")
    assert issubclass(T.nnet.AbstractConv2d, Conv2d)


def test_theano_abstract_conv_call_forms():
    from graphcore.tensor.nnet.abstract_conv import (AbstractConv2d, AbstractConv2d_gradInputs,
                                                     AbstractConv2d_gradWeights)

    x = RNG.standard_normal((2, 2, 6, 5))
    w = RNG.standard_normal((3, 2, 3, 3))
    z = ref_conv(x, w, "half", (2, 2))
    gz = RNG.standard_normal(z.shape)
    xv, wv, gv, sv = T.tensor4(), T.tensor4(), T.tensor4(), T.lvector()
    kw = dict(border_mode="half", subsample=(2, 2))
    fwd = AbstractConv2d(imshp=(None, 2, 6, 5), kshp=(3, 2, 3, 3), **kw)(xv, wv)
    assert isinstance(fwd.owner.op, Conv2d) and type(fwd.owner.op) is Conv2d
    assert fwd.type.shape == (None, 3, 3, 3)
    gi_tuple = AbstractConv2d_gradInputs(None, (3, 2, 3, 3), **kw)(wv, gv, (6, 5))
    gi_vector = AbstractConv2d_gradInputs(**kw)(wv, gv, sv)
    gw = AbstractConv2d_gradWeights(**kw)(xv, gv, (3, 3))
    f = theano.function([xv, wv, gv, sv], [fwd, gi_tuple, gi_vector, gw])
    got_z, got_gi, got_gi2, got_gw = f(x, w, gz, np.array([6, 5]))
    np.testing.assert_allclose(got_z, z, rtol=1e-10, atol=1e-12)
    ref_gi, ref_gw = theano.function([xv, wv, gv], T.grad((conv2d(xv, wv, **kw) * gv).sum(), [xv, wv]))(x, w, gz)
    np.testing.assert_allclose(got_gi, ref_gi, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_gi2, ref_gi, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_gw, ref_gw, rtol=1e-10, atol=1e-12)
    # the adjoint identity ties the gradients to the reference convolution
    np.testing.assert_allclose(np.sum(got_gi * x), np.sum(gz * z), rtol=1e-10)


def test_conv2d_r_op_is_the_directional_derivative():
    x, w = RNG.standard_normal((1, 2, 5, 5)), RNG.standard_normal((3, 2, 2, 2))
    ex, ew = RNG.standard_normal(x.shape), RNG.standard_normal(w.shape)
    xv, wv, exv, ewv = T.tensor4(), T.tensor4(), T.tensor4(), T.tensor4()
    op = Conv2d("full", (2, 1))
    rop = op.R_op([xv, wv], [exv, ewv])[0]
    got = theano.function([xv, wv, exv, ewv], rop)(x, w, ex, ew)
    # conv is bilinear: d/dt conv(x + t ex, w + t ew) at 0 = conv(ex, w) + conv(x, ew)
    want = ref_conv(ex, w, "full", (2, 1)) + ref_conv(x, ew, "full", (2, 1))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------- 3-d
def ref_conv_nd(x, w, pads, subsample, flip=True, dilation=None, groups=1):
    """Direct loops over output and kernel positions, any number of spatial axes."""
    nd = x.ndim - 2
    dilation = dilation or (1,) * nd
    if flip:
        w = w[(slice(None), slice(None)) + (slice(None, None, -1),) * nd]
    n, c = x.shape[:2]
    f, cg = w.shape[:2]
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    out_sp = tuple((xp.shape[2 + i] - (w.shape[2 + i] - 1) * dilation[i] - 1) // subsample[i] + 1
                   for i in range(nd))
    out = np.zeros((n, f) + out_sp)
    fg = f // groups
    for o in range(f):
        g = o // fg
        for pos in itertools.product(*[range(s) for s in out_sp]):
            for koff in itertools.product(*[range(k) for k in w.shape[2:]]):
                idx = tuple(p * s + k * d for p, s, k, d in zip(pos, subsample, koff, dilation))
                patch = xp[(slice(None), slice(g * cg, (g + 1) * cg)) + idx]  # (N, Cg)
                out[(slice(None), o) + pos] += patch @ w[(o, slice(None)) + koff]
    return out


@pytest.mark.parametrize("border_mode,pads", [
    ("valid", ((0, 0),) * 3), ("full", ((1, 1), (2, 2), (1, 1))), ("half", ((1, 1), (1, 1), (1, 1))),
    ((1, 0, 2), ((1, 1), (0, 0), (2, 2))), (((0, 1), (1, 0), (0, 0)), ((0, 1), (1, 0), (0, 0))),
], ids=str)
@pytest.mark.parametrize("subsample,groups,flip", [((1, 1, 1), 1, True), ((2, 1, 2), 2, False)], ids=str)
def test_conv3d_matches_direct_loops(border_mode, pads, subsample, groups, flip):
    x = RNG.standard_normal((2, 2, 4, 5, 3))
    w = RNG.standard_normal((2, 2 // groups, 2, 3, 2))
    xv, wv = T.tensor5(), T.tensor5()
    out = T.nnet.conv3d(xv, wv, border_mode=border_mode, subsample=subsample, filter_flip=flip,
                        num_groups=groups)
    got = theano.function([xv, wv], out)(x, w)
    np.testing.assert_allclose(got, ref_conv_nd(x, w, pads, subsample, flip, None, groups),
                               rtol=1e-10, atol=1e-12)


def test_conv3d_dilation_float32_and_static_shape():
    x = RNG.standard_normal((1, 1, 5, 4, 5)).astype("float32")
    w = RNG.standard_normal((2, 1, 2, 2, 2)).astype("float32")
    xv, wv = T.ftensor5(), T.ftensor5()
    out = T.nnet.conv3d(xv, wv, input_shape=x.shape, filter_shape=w.shape, filter_dilation=(2, 1, 2))
    assert out.dtype == "float32" and out.type.shape == (1, 2, 3, 3, 3)
    got = theano.function([xv, wv], out)(x, w)
    np.testing.assert_allclose(got, ref_conv_nd(x, w, ((0, 0),) * 3, (1, 1, 1), True, (2, 1, 2)),
                               rtol=1e-5, atol=1e-5)


def test_conv3d_gradients_and_infer_shape():
    from graphcore.tensor.nnet import Conv3dGradInputs, Conv3dGradWeights

    x = RNG.standard_normal((1, 2, 3, 4, 3))
    w = RNG.standard_normal((2, 1, 2, 2, 2))
    kw = dict(border_mode="half", subsample=(1, 2, 1), num_groups=2)
    verify_grad(lambda a, b: T.nnet.conv3d(a, b, **kw), [x, w], rng=np.random.default_rng(20))
    out_shape = get_conv_output_shape(x.shape, w.shape, "half", (1, 2, 1))
    gz = RNG.standard_normal(out_shape)
    verify_grad(lambda b, g: T.nnet.conv3d_grad_wrt_inputs(g, b, x.shape, **kw), [w, gz],
                rng=np.random.default_rng(21))
    verify_grad(lambda a, g: T.nnet.conv3d_grad_wrt_weights(a, g, w.shape, **kw), [x, gz],
                rng=np.random.default_rng(22))
    xv, wv, gv = T.tensor5(), T.tensor5(), T.tensor5()
    check_infer_shape(lambda a, b: T.nnet.conv3d(a, b, **kw), [xv, wv], [x, w])
    check_infer_shape(lambda b, g: Conv3dGradInputs(**kw)(b, g, 3, 4, 3), [wv, gv], [w, gz])
    check_infer_shape(lambda a, g: Conv3dGradWeights(**kw)(a, g, 2, 2, 2), [xv, gv], [x, gz])
    with pytest.raises(TypeError, match="5-d"):
        T.nnet.conv3d(T.tensor4(), wv)
    with pytest.raises(TypeError, match="3 spatial sizes"):
        Conv3dGradInputs()(wv, gv, 3, 4)


def test_theano_abstract_conv3d_call_forms():
    from graphcore.tensor.nnet import Conv3d
    from graphcore.tensor.nnet.abstract_conv import (AbstractConv3d, AbstractConv3d_gradInputs,
                                                     AbstractConv3d_gradWeights)

    x = RNG.standard_normal((1, 2, 4, 3, 5))
    w = RNG.standard_normal((2, 2, 2, 2, 3))
    kw = dict(border_mode="half", subsample=(1, 2, 2))
    z = ref_conv_nd(x, w, ((1, 1), (1, 1), (1, 1)), (1, 2, 2))
    gz = RNG.standard_normal(z.shape)
    xv, wv, gv = T.tensor5(), T.tensor5(), T.tensor5()
    fwd = AbstractConv3d(imshp=x.shape, kshp=None, **kw)(xv, wv)
    assert type(fwd.owner.op) is Conv3d
    gi = AbstractConv3d_gradInputs(**kw)(wv, gv, x.shape[2:])
    gw = AbstractConv3d_gradWeights(**kw)(xv, gv, T.as_tensor_variable(w.shape))
    got_z, got_gi, got_gw = theano.function([xv, wv, gv], [fwd, gi, gw])(x, w, gz)
    np.testing.assert_allclose(got_z, z, rtol=1e-10, atol=1e-12)
    # adjoint identities tie both gradient ops to the reference convolution
    np.testing.assert_allclose(np.sum(got_gi * x), np.sum(gz * z), rtol=1e-10)
    np.testing.assert_allclose(np.sum(got_gw * w), np.sum(gz * z), rtol=1e-10)


# ------------------------------------------------------ bilinear_upsampling
def ref_half_pixel_bilinear(img, r):
    """Bilinear interpolation at source coordinate (j + 0.5) / r - 0.5, clamped to the image."""
    out = img
    for ax in (2, 3):
        n = img.shape[ax]
        src = np.clip((np.arange(n * r) + 0.5) / r - 0.5, 0, n - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n - 1)
        t = (src - lo).reshape([-1 if d == ax else 1 for d in range(4)])
        out = np.take(out, lo, axis=ax) * (1 - t) + np.take(out, hi, axis=ax) * t
    return out


def ref_theano_bilinear(img, r):
    """Theano's algorithm by hand: repeat the border, scatter each pixel with the 1-d kernel."""
    kern = np.concatenate([np.arange(1, r + 1), np.arange(r - 1, 0, -1)]) / r
    pad = 2 * r - (r - 1) // 2 - 1
    out = np.pad(img, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    for ax in (2, 3):
        n_out = img.shape[ax] * r
        acc = np.zeros(out.shape[:ax] + (n_out + 2 * pad,) + out.shape[ax + 1:])
        for i in range(out.shape[ax]):
            for a, kv in enumerate(kern):
                idx = [slice(None)] * 4
                idx[ax] = i * r + a
                src = [slice(None)] * 4
                src[ax] = i
                acc[tuple(idx)] += kv * out[tuple(src)]
        crop = [slice(None)] * 4
        crop[ax] = slice(pad, pad + n_out)
        out = acc[tuple(crop)]
    return out


@pytest.mark.parametrize("ratio", [2, 3, 4, 5])
def test_bilinear_upsampling(ratio):
    from graphcore.tensor.nnet.abstract_conv import bilinear_upsampling

    img = RNG.standard_normal((2, 3, 4, 5))
    xv = T.tensor4()
    got = theano.function([xv], bilinear_upsampling(xv, ratio))(img)
    assert got.shape == (2, 3, 4 * ratio, 5 * ratio)
    np.testing.assert_allclose(got, ref_theano_bilinear(img, ratio), rtol=1e-12, atol=1e-12)
    if ratio % 2:  # odd ratios are exactly half-pixel bilinear interpolation
        np.testing.assert_allclose(got, ref_half_pixel_bilinear(img, ratio), rtol=1e-12, atol=1e-12)
    const = theano.function([xv], bilinear_upsampling(xv, ratio))(np.full((1, 1, 3, 3), 2.5))
    np.testing.assert_allclose(const, 2.5)


def test_bilinear_upsampling_theano_values_and_gradient():
    from graphcore.tensor.nnet.abstract_conv import bilinear_upsampling

    xv = T.tensor4()
    got = theano.function([xv], bilinear_upsampling(xv, 2, batch_size=1, num_input_channels=1))(
        np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    # ratio 2 repeats the last row/column once more than the first (Theano's documented asymmetry)
    np.testing.assert_allclose(got[0, 0], [[1.0, 1.5, 2.0, 2.0], [2.0, 2.5, 3.0, 3.0],
                                           [3.0, 3.5, 4.0, 4.0], [3.0, 3.5, 4.0, 4.0]])
    verify_grad(lambda a: bilinear_upsampling(a, 3), [RNG.standard_normal((1, 2, 3, 2))],
                rng=np.random.default_rng(50))
    with pytest.raises(NotImplementedError):
        bilinear_upsampling(xv, frac_ratio=(3, 2))


def test_separable_conv2d_is_depthwise_then_pointwise():
    x = RNG.standard_normal((2, 3, 6, 5))
    dw = RNG.standard_normal((6, 1, 3, 2))  # depth multiplier 2
    pw = RNG.standard_normal((4, 6, 1, 1))
    xv, dv, pv = T.tensor4(), T.tensor4(), T.tensor4()
    out = T.nnet.separable_conv2d(xv, dv, pv, num_channels=3, border_mode="half", subsample=(2, 1))
    got = theano.function([xv, dv, pv], out)(x, dw, pw)
    depthwise = ref_conv(x, dw, "half", (2, 1), True, (1, 1), groups=3)
    want = np.einsum("nchw,fc->nfhw", depthwise, pw[:, :, 0, 0])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    verify_grad(lambda a, b, c: T.nnet.separable_conv2d(a, b, c, 3), [x[:1, :, :4, :4], dw, pw],
                rng=np.random.default_rng(60))


def test_conv2d_float32_gradients():
    x = RNG.standard_normal((1, 2, 4, 4)).astype("float32")
    w = RNG.standard_normal((2, 2, 2, 2)).astype("float32")
    verify_grad(lambda a, b: conv2d(a, b, border_mode="half", subsample=(2, 1)), [x, w],
                rng=np.random.default_rng(70))
    xv, wv = T.ftensor4(), T.ftensor4()
    gx, gw = T.grad(conv2d(xv, wv).sum(), [xv, wv])
    assert gx.dtype == gw.dtype == "float32"
    got = theano.function([xv, wv], [gx, gw])(x, w)
    assert got[0].dtype == got[1].dtype == np.float32
