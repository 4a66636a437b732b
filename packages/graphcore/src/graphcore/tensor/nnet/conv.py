"""2-D convolution (NCHW) and its two gradient ops, Theano's `nnet.conv2d` API.

Semantics (the reference; runtimes may map these ops to cuDNN/im2col+GEMM):

- ``Conv2d(...)(img (N, C, H, W), kern (F, C // num_groups, kh, kw))`` ->
  ``(N, F, Ho, Wo)``. With ``filter_flip`` (the default) it is a true
  convolution: the kernel is flipped in both spatial axes, then
  cross-correlated, as in Theano. Input channel group g (``C // num_groups``
  channels) feeds output channels ``[g F/num_groups, (g+1) F/num_groups)``.
- padding per spatial axis from ``border_mode``: 'valid' 0, 'full'
  ``dk - 1``, 'half' ``dk // 2`` where ``dk = (k - 1) * dilation + 1``; an int
  or a pair of ints pads both sides; a pair of pairs ``((top, bottom),
  (left, right))`` pads asymmetrically.
- ``Ho = (H + pad_top + pad_bottom - dk) // subsample + 1`` (and Wo alike).
- ``Conv2dGradInputs(...)(kern, topgrad, H, W)`` is d(<topgrad, conv>)/d img,
  ``Conv2dGradWeights(...)(img, topgrad, kh, kw)`` is d(<topgrad, conv>)/d kern.
  The spatial size of the result is an input because with subsampling the
  output shape does not determine it.

Each op's gradient is built from the other two, so second derivatives work.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from graphcore.graph.basic import Apply
from graphcore.graph.op import Op
from graphcore.tensor import math as m
from graphcore.tensor.basic import (NotScalarConstantError, as_tensor_variable, cast,
                                    get_scalar_constant_value)
from graphcore.tensor.shape import shape_i, specify_shape
from graphcore.tensor.type import TensorType, upcast_float_dtype


# ----------------------------------------------------------------- parameters
def _pair(value, what, minimum):
    if isinstance(value, (int, np.integer)):
        value = (value, value)
    try:
        a, b = value
        a, b = int(a), int(b)
    except (TypeError, ValueError):
        raise TypeError(f"conv2d: {what} must be an int or a pair of ints, got {value!r}") from None
    if a < minimum or b < minimum:
        raise ValueError(f"conv2d: {what} entries must be >= {minimum}, got {value!r}")
    return (a, b)


def normalize_border_mode(border_mode):
    """'valid'/'full'/'half', or ((top, bottom), (left, right)) explicit padding."""
    if isinstance(border_mode, str):
        if border_mode not in ("valid", "full", "half"):
            raise ValueError(f"conv2d: border_mode must be 'valid', 'full', 'half', an int or a "
                             f"tuple, got {border_mode!r}")
        return border_mode
    if isinstance(border_mode, (int, np.integer)):
        border_mode = (border_mode, border_mode)
    if not isinstance(border_mode, (tuple, list)) or len(border_mode) != 2:
        raise ValueError(f"conv2d: border_mode must be 'valid', 'full', 'half', an int or a pair, "
                         f"got {border_mode!r}")
    pads = []
    for p in border_mode:
        if isinstance(p, (int, np.integer)):
            p = (p, p)
        try:
            lo, hi = (int(v) for v in p)
        except (TypeError, ValueError):
            raise ValueError(f"conv2d: border_mode entries must be ints or (before, after) pairs, "
                             f"got {border_mode!r}") from None
        if lo < 0 or hi < 0:
            raise ValueError(f"conv2d: padding must be >= 0, got border_mode={border_mode!r}")
        pads.append((lo, hi))
    if pads == [(0, 0), (0, 0)]:
        return "valid"
    return tuple(pads)


def _pads(border_mode, kshape, dilation):
    """((top, bottom), (left, right)) for kernel spatial sizes kshape (ints or symbolic)."""
    if not isinstance(border_mode, str):
        return border_mode
    out = []
    for k, d in zip(kshape, dilation):
        dk = (k - 1) * d + 1
        if border_mode == "valid":
            p = 0
        elif border_mode == "full":
            p = dk - 1
        else:
            p = dk // 2
        out.append((p, p))
    return tuple(out)


def _out_len(size, k, pad, stride, dilation):
    dk = (k - 1) * dilation + 1
    return (size + pad[0] + pad[1] - dk) // stride + 1


def get_conv_output_shape(image_shape, kernel_shape, border_mode, subsample,
                          filter_dilation=(1, 1)):
    """Theano's helper: the (N, F, Ho, Wo) output shape; entries may be None (unknown)."""
    bm = normalize_border_mode(border_mode)
    sub = _pair(subsample, "subsample", 1)
    dil = _pair(filter_dilation or (1, 1), "filter_dilation", 1)
    out = [image_shape[0], kernel_shape[0]]
    for i in range(2):
        size, k = image_shape[2 + i], kernel_shape[2 + i]
        if size is None or k is None:
            out.append(None)
        else:
            pad = _pads(bm, (k, k), (dil[i], dil[i]))[0] if isinstance(bm, str) else bm[i]
            out.append(_out_len(size, k, pad, sub[i], dil[i]))
    return tuple(out)


def _static_int(v):
    try:
        return int(get_scalar_constant_value(v))
    except (NotScalarConstantError, TypeError, ValueError):
        return None


# ---------------------------------------------------------------- NumPy core
def _pad_input(x, pads):
    (pt, pb), (pl, pr) = pads
    if pt == pb == pl == pr == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))


def _windows(xp, kh, kw, out_h, out_w, stride, dilation):
    """(N, C, Ho, Wo, kh, kw) strided view of the padded input: the im2col columns."""
    n, c = xp.shape[:2]
    s_n, s_c, s_h, s_w = xp.strides
    return as_strided(xp, (n, c, out_h, out_w, kh, kw),
                      (s_n, s_c, s_h * stride[0], s_w * stride[1], s_h * dilation[0],
                       s_w * dilation[1]), writeable=False)


def _check_groups(op, channels, kern_channels, n_filters):
    g = op.num_groups
    if channels != kern_channels * g:
        raise ValueError(f"{op}: the input has {channels} channels but the filters expect "
                         f"{kern_channels} x num_groups={g} = {kern_channels * g}")
    if n_filters % g:
        raise ValueError(f"{op}: {n_filters} filters cannot be split into num_groups={g} groups")


def _spatial_out(op, in_hw, k_hw):
    pads = _pads(op.border_mode, k_hw, op.filter_dilation)
    out = []
    for i in range(2):
        o = _out_len(in_hw[i], k_hw[i], pads[i], op.subsample[i], op.filter_dilation[i])
        if o < 1 and in_hw[i] + pads[i][0] + pads[i][1] < (k_hw[i] - 1) * op.filter_dilation[i] + 1:
            raise ValueError(f"{op}: the padded input's spatial shape "
                             f"{tuple(s + p[0] + p[1] for s, p in zip(in_hw, pads))} is smaller "
                             f"than the (dilated) filter's {tuple((k - 1) * d + 1 for k, d in zip(k_hw, op.filter_dilation))}")
        out.append(o)
    return pads, tuple(out)


def _flip(w):
    return w[:, :, ::-1, ::-1]


def conv_forward(op, x, w):
    """The reference forward convolution (see the module docstring)."""
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    _check_groups(op, c, cg, f)
    pads, (oh, ow) = _spatial_out(op, (h, wd), (kh, kw))
    if op.filter_flip:
        w = _flip(w)
    g, fg = op.num_groups, f // op.num_groups
    out = np.zeros((n, f, oh, ow), dtype=np.result_type(x.dtype, w.dtype))
    if out.size == 0:
        return out
    cols = _windows(_pad_input(x, pads), kh, kw, oh, ow, op.subsample, op.filter_dilation)
    for k in range(g):
        part = np.tensordot(cols[:, k * cg:(k + 1) * cg], w[k * fg:(k + 1) * fg],
                            axes=([1, 4, 5], [1, 2, 3]))  # (N, Ho, Wo, Fg)
        out[:, k * fg:(k + 1) * fg] = part.transpose(0, 3, 1, 2)
    return out


def conv_grad_weights(op, x, gz, kh, kw):
    n, c, h, wd = x.shape
    f, oh, ow = gz.shape[1], gz.shape[2], gz.shape[3]
    g = op.num_groups
    if c % g or f % g:
        raise ValueError(f"{op}: {c} input channels and {f} output channels must both be "
                         f"divisible by num_groups={g}")
    if gz.shape[0] != n:
        raise ValueError(f"{op}: the input has batch size {n}, topgrad {gz.shape[0]}")
    pads, expect = _spatial_out(op, (h, wd), (kh, kw))
    if expect != (oh, ow):
        raise ValueError(f"{op}: topgrad has spatial shape {(oh, ow)}, but an input of spatial "
                         f"shape {(h, wd)} and filters of {(kh, kw)} give {expect}")
    cg, fg = c // g, f // g
    out = np.zeros((f, cg, kh, kw), dtype=np.result_type(x.dtype, gz.dtype))
    if out.size == 0 or gz.size == 0:
        return out
    cols = _windows(_pad_input(x, pads), kh, kw, oh, ow, op.subsample, op.filter_dilation)
    for k in range(g):
        out[k * fg:(k + 1) * fg] = np.tensordot(gz[:, k * fg:(k + 1) * fg], cols[:, k * cg:(k + 1) * cg],
                                                axes=([0, 2, 3], [0, 2, 3]))
    return _flip(out).copy() if op.filter_flip else out


def conv_grad_inputs(op, w, gz, h, wd):
    f, cg, kh, kw = w.shape
    n, fz, oh, ow = gz.shape
    g = op.num_groups
    if fz != f:
        raise ValueError(f"{op}: topgrad has {fz} channels but there are {f} filters")
    if f % g:
        raise ValueError(f"{op}: {f} filters cannot be split into num_groups={g} groups")
    pads, expect = _spatial_out(op, (h, wd), (kh, kw))
    if expect != (oh, ow):
        raise ValueError(f"{op}: topgrad has spatial shape {(oh, ow)}, but an input of spatial "
                         f"shape {(h, wd)} and filters of {(kh, kw)} give {expect}")
    if op.filter_flip:
        w = _flip(w)
    (pt, pb), (pl, pr) = pads
    fg = f // g
    dtype = np.result_type(w.dtype, gz.dtype)
    gxp = np.zeros((n, cg * g, h + pt + pb, wd + pl + pr), dtype=dtype)
    (sh, sw), (dh, dw) = op.subsample, op.filter_dilation
    if gz.size and w.size:
        for k in range(g):
            # t[n, ho, wo, c, i, j] = sum_f gz[n, f, ho, wo] w[f, c, i, j]
            t = np.tensordot(gz[:, k * fg:(k + 1) * fg], w[k * fg:(k + 1) * fg], axes=([1], [0]))
            t = t.transpose(0, 3, 4, 5, 1, 2)  # (N, Cg, kh, kw, Ho, Wo)
            block = gxp[:, k * cg:(k + 1) * cg]
            for i in range(kh):
                for j in range(kw):
                    block[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                          j * dw:j * dw + sw * (ow - 1) + 1:sw] += t[:, :, i, j]
    return gxp[:, :, pt:pt + h, pl:pl + wd]


# ------------------------------------------------------------------------ ops
class _ConvBase(Op):
    __props__ = ("border_mode", "subsample", "filter_flip", "filter_dilation", "num_groups")

    def __init__(self, border_mode="valid", subsample=(1, 1), filter_flip=True,
                 filter_dilation=(1, 1), num_groups=1):
        self.border_mode = normalize_border_mode(border_mode)
        self.subsample = _pair(subsample, "subsample", 1)
        self.filter_flip = bool(filter_flip)
        self.filter_dilation = _pair(filter_dilation, "filter_dilation", 1)
        if not isinstance(num_groups, (int, np.integer)) or num_groups < 1:
            raise ValueError(f"conv2d: num_groups must be an int >= 1, got {num_groups!r}")
        self.num_groups = int(num_groups)

    def _kwargs(self):
        return {p: getattr(self, p) for p in self.__props__}

    def _tensor4(self, v, what):
        v = as_tensor_variable(v)
        if v.type.ndim != 4:
            raise TypeError(f"{self}: {what} must be a 4-d tensor, got {v} of type {v.type}")
        return v

    def _floats(self, a, b):
        dtype = upcast_float_dtype(np.result_type(a.type.dtype, b.type.dtype).name)
        return cast(a, dtype), cast(b, dtype), dtype

    def _static_spatial(self, in_hw, k_hw):
        if None in in_hw or None in k_hw:
            return (None, None)
        try:
            return _spatial_out(self, in_hw, k_hw)[1]
        except ValueError as exc:
            raise ValueError(f"{exc} (from the static shapes)") from None

    def _scalar_size(self, v, what):
        v = as_tensor_variable(v)
        if v.type.ndim != 0 or not v.type.dtype.startswith(("int", "uint")):
            raise TypeError(f"{self}: {what} must be an integer scalar, got {v.type}")
        return cast(v, "int64")

    def _symbolic_out(self, in_hw, k_hw):
        pads = _pads(self.border_mode, k_hw, self.filter_dilation)
        return tuple(_out_len(in_hw[i], k_hw[i], pads[i], self.subsample[i], self.filter_dilation[i])
                     for i in range(2))


def _spatial_sizes(v):
    return shape_i(v, 2), shape_i(v, 3)


class Conv2d(_ConvBase):
    """Forward 2-D convolution: (img (N,C,H,W), kern (F,C/groups,kh,kw)) -> (N,F,Ho,Wo)."""

    def make_node(self, img, kern):
        img = self._tensor4(img, "the input")
        kern = self._tensor4(kern, "the filters")
        img, kern, dtype = self._floats(img, kern)
        c, kc, f = img.type.shape[1], kern.type.shape[1], kern.type.shape[0]
        if c is not None and kc is not None and c != kc * self.num_groups:
            raise ValueError(f"{self}: the input has {c} channels but the filters expect {kc} x "
                             f"num_groups={self.num_groups} = {kc * self.num_groups}")
        if f is not None and f % self.num_groups:
            raise ValueError(f"{self}: {f} filters cannot be split into num_groups={self.num_groups}")
        oh, ow = self._static_spatial(img.type.shape[2:], kern.type.shape[2:])
        out = TensorType(dtype, (img.type.shape[0], f, oh, ow))()
        return Apply(self, [img, kern], [out])

    def perform(self, node, inputs, output_storage):
        out = conv_forward(self, *inputs)
        output_storage[0][0] = np.asarray(out, dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        xs, ks = input_shapes
        return [(xs[0], ks[0]) + self._symbolic_out(xs[2:], ks[2:])]

    def L_op(self, inputs, outputs, output_grads):
        img, kern = inputs
        gz = output_grads[0]
        gx = Conv2dGradInputs(**self._kwargs())(kern, gz, *_spatial_sizes(img))
        gw = Conv2dGradWeights(**self._kwargs())(img, gz, *_spatial_sizes(kern))
        return [cast(gx, img.type.dtype), cast(gw, kern.type.dtype)]

    def R_op(self, inputs, eval_points):
        img, kern = inputs
        ex, ew = eval_points
        terms = []
        if ex is not None:
            terms.append(self(ex, kern))
        if ew is not None:
            terms.append(self(img, ew))
        if not terms:
            return [None]
        return [terms[0] if len(terms) == 1 else m.add(*terms)]


class Conv2dGradWeights(_ConvBase):
    """Gradient w.r.t. the filters: (img (N,C,H,W), topgrad (N,F,Ho,Wo), kh, kw) -> (F,C/groups,kh,kw)."""

    def make_node(self, img, topgrad, kh, kw):
        img = self._tensor4(img, "the input")
        topgrad = self._tensor4(topgrad, "topgrad")
        img, topgrad, dtype = self._floats(img, topgrad)
        kh, kw = self._scalar_size(kh, "kh"), self._scalar_size(kw, "kw")
        c = img.type.shape[1]
        cg = c // self.num_groups if c is not None else None
        out = TensorType(dtype, (topgrad.type.shape[1], cg, _static_int(kh), _static_int(kw)))()
        return Apply(self, [img, topgrad, kh, kw], [out])

    def perform(self, node, inputs, output_storage):
        img, gz, kh, kw = inputs
        out = conv_grad_weights(self, img, gz, int(kh), int(kw))
        output_storage[0][0] = np.asarray(out, dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        xs, gs = input_shapes[0], input_shapes[1]
        cg = xs[1] // self.num_groups if self.num_groups != 1 else xs[1]
        return [(gs[1], cg, node.inputs[2], node.inputs[3])]

    def L_op(self, inputs, outputs, output_grads):
        from graphcore.gradient import disconnected_type

        img, gz, kh, kw = inputs
        ggw = output_grads[0]
        gx = Conv2dGradInputs(**self._kwargs())(ggw, gz, *_spatial_sizes(img))
        ggz = Conv2d(**self._kwargs())(img, ggw)
        return [cast(gx, img.type.dtype), cast(ggz, gz.type.dtype), disconnected_type(),
                disconnected_type()]

    def connection_pattern(self, node):
        return [[True], [True], [False], [False]]


class Conv2dGradInputs(_ConvBase):
    """Gradient w.r.t. the input: (kern (F,C/groups,kh,kw), topgrad (N,F,Ho,Wo), H, W) -> (N,C,H,W).

    Also the transposed convolution ("deconvolution") of topgrad.
    """

    def make_node(self, kern, topgrad, h, w):
        kern = self._tensor4(kern, "the filters")
        topgrad = self._tensor4(topgrad, "topgrad")
        kern, topgrad, dtype = self._floats(kern, topgrad)
        h, w = self._scalar_size(h, "the input height"), self._scalar_size(w, "the input width")
        cg = kern.type.shape[1]
        c = cg * self.num_groups if cg is not None else None
        out = TensorType(dtype, (topgrad.type.shape[0], c, _static_int(h), _static_int(w)))()
        return Apply(self, [kern, topgrad, h, w], [out])

    def perform(self, node, inputs, output_storage):
        kern, gz, h, w = inputs
        out = conv_grad_inputs(self, kern, gz, int(h), int(w))
        output_storage[0][0] = np.asarray(out, dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        ks, gs = input_shapes[0], input_shapes[1]
        c = ks[1] * self.num_groups if self.num_groups != 1 else ks[1]
        return [(gs[0], c, node.inputs[2], node.inputs[3])]

    def L_op(self, inputs, outputs, output_grads):
        from graphcore.gradient import disconnected_type

        kern, gz, h, w = inputs
        ggx = output_grads[0]
        gw = Conv2dGradWeights(**self._kwargs())(ggx, gz, *_spatial_sizes(kern))
        ggz = Conv2d(**self._kwargs())(ggx, kern)
        return [cast(gw, kern.type.dtype), cast(ggz, gz.type.dtype), disconnected_type(),
                disconnected_type()]

    def connection_pattern(self, node):
        return [[True], [True], [False], [False]]


# ------------------------------------------------------------------ functions
def _apply_shape_hint(v, shape, what):
    if shape is None:
        return v
    shape = tuple(shape)
    if len(shape) != 4:
        raise ValueError(f"conv2d: {what} must have 4 entries (None for unknown), got {shape!r}")
    static = tuple(s if isinstance(s, (int, np.integer)) and not isinstance(s, bool) else
                   _static_int(s) if s is not None else None for s in shape)
    return specify_shape(v, static)


def conv2d(input, filters, input_shape=None, filter_shape=None, border_mode="valid",  # noqa: A002
           subsample=(1, 1), filter_flip=True, image_shape=None, filter_dilation=(1, 1),
           num_groups=1, unshared=False, **kwargs):
    """Theano's ``nnet.conv2d``: 2-D convolution of NCHW images with (F, C/groups, kh, kw) filters.

    input_shape / filter_shape (image_shape is the old name) are optional
    4-tuples with None for unknown entries: they give the graph static shapes
    and are checked when the function runs. border_mode: 'valid', 'full',
    'half', an int, a pair of ints, or ((top, bottom), (left, right)).
    filter_flip=False gives cross-correlation (what most other libraries call
    convolution).
    """
    if kwargs:
        raise TypeError(f"conv2d: unexpected keyword arguments {sorted(kwargs)}")
    if unshared:
        raise NotImplementedError("conv2d: unshared (locally connected) convolution is not "
                                  "supported")
    if image_shape is not None:
        if input_shape is not None:
            raise TypeError("conv2d: give input_shape or its old name image_shape, not both")
        input_shape = image_shape
    op = Conv2d(border_mode, subsample, filter_flip, filter_dilation, num_groups)
    input = op._tensor4(input, "the input")  # noqa: A001
    filters = op._tensor4(filters, "the filters")
    input = _apply_shape_hint(input, input_shape, "input_shape")
    filters = _apply_shape_hint(filters, filter_shape, "filter_shape")
    return op(input, filters)


def _last_two(shape, what):
    if shape is None:
        raise TypeError(f"{what} is required")
    if hasattr(shape, "type"):  # a symbolic shape vector
        raise TypeError(f"{what} must be a tuple of ints or symbolic scalars, not a vector "
                        "variable")
    shape = tuple(shape)
    if len(shape) not in (2, 4):
        raise ValueError(f"{what} must have 4 entries (or the 2 spatial ones), got {shape!r}")
    return shape[-2], shape[-1]


def conv2d_grad_wrt_inputs(output_grad, filters, input_shape, filter_shape=None,
                           border_mode="valid", subsample=(1, 1), filter_flip=True,
                           filter_dilation=(1, 1), num_groups=1):
    """The gradient of conv2d w.r.t. its input (a transposed convolution of output_grad).

    input_shape gives the input's shape (its last two entries are required,
    ints or symbolic scalars): with subsampling several input sizes give the
    same output size.
    """
    h, w = _last_two(input_shape, "conv2d_grad_wrt_inputs: input_shape")
    op = Conv2dGradInputs(border_mode, subsample, filter_flip, filter_dilation, num_groups)
    filters = _apply_shape_hint(op._tensor4(filters, "the filters"), filter_shape, "filter_shape")
    return op(filters, output_grad, h, w)


def conv2d_grad_wrt_weights(input, output_grad, filter_shape, input_shape=None,  # noqa: A002
                            border_mode="valid", subsample=(1, 1), filter_flip=True,
                            filter_dilation=(1, 1), num_groups=1):
    """The gradient of conv2d w.r.t. its filters; filter_shape's last two entries are required."""
    kh, kw = _last_two(filter_shape, "conv2d_grad_wrt_weights: filter_shape")
    op = Conv2dGradWeights(border_mode, subsample, filter_flip, filter_dilation, num_groups)
    input = _apply_shape_hint(op._tensor4(input, "the input"), input_shape, "input_shape")  # noqa: A001
    return op(input, output_grad, kh, kw)


def conv2d_transpose(input, filters, output_shape, filter_shape=None, border_mode="valid",  # noqa: A002
                     input_dilation=(1, 1), filter_flip=True, filter_dilation=(1, 1),
                     num_groups=1):
    """Transposed convolution: the gradient of conv2d(output, filters) w.r.t. output.

    ``input_dilation`` is the forward convolution's subsample. filters have
    shape (channels of input, channels of output / groups, kh, kw).
    """
    return conv2d_grad_wrt_inputs(input, filters, output_shape, filter_shape, border_mode,
                                  input_dilation, filter_flip, filter_dilation, num_groups)


__all__ = ["Conv2d", "Conv2dGradWeights", "Conv2dGradInputs", "conv2d", "conv2d_grad_wrt_inputs",
           "conv2d_grad_wrt_weights", "conv2d_transpose", "get_conv_output_shape",
           "normalize_border_mode"]
