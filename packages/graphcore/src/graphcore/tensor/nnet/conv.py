"""2-D (NCHW) and 3-D (NCDHW) convolution and their gradient ops, Theano's
`nnet.conv2d` / `nnet.conv3d` API.

Semantics, written for 2-D (3-D adds a leading depth axis to each spatial
tuple; the reference, runtimes may map these ops to cuDNN/im2col+GEMM):

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

import itertools

import numpy as np

from graphcore.graph.basic import Apply
from graphcore.graph.null_type import disconnected_type
from graphcore.graph.op import Op
from graphcore.tensor.basic import as_tensor_variable, bilinear_R_op, cast
from graphcore.tensor.shape import get_static_shape_value, shape_i, specify_shape
from graphcore.tensor.type import TensorType, upcast_float_dtype


# ----------------------------------------------------------------- parameters
def int_tuple(value, what, minimum, nd, who="conv"):
    """An int or nd ints -> a tuple of nd ints >= minimum (window sizes, strides, pads)."""
    if isinstance(value, (int, np.integer)):
        value = (value,) * nd
    try:
        vals = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{who}: {what} must be an int or a tuple of {nd} ints, got {value!r}") from None
    if len(vals) != nd:
        raise ValueError(f"{who}: {what} must have {nd} entries, got {value!r}")
    if any(v < minimum for v in vals):
        raise ValueError(f"{who}: {what} entries must be >= {minimum}, got {value!r}")
    return vals


def normalize_border_mode(border_mode, nd=2):
    """'valid'/'full'/'half', or one (before, after) padding pair per spatial axis."""
    if isinstance(border_mode, str):
        if border_mode not in ("valid", "full", "half"):
            raise ValueError(f"conv: border_mode must be 'valid', 'full', 'half', an int or a "
                             f"tuple, got {border_mode!r}")
        return border_mode
    if isinstance(border_mode, (int, np.integer)):
        border_mode = (border_mode,) * nd
    if not isinstance(border_mode, (tuple, list)) or len(border_mode) != nd:
        raise ValueError(f"conv: border_mode must be 'valid', 'full', 'half', an int or a tuple "
                         f"of {nd} entries, got {border_mode!r}")
    pads = []
    for p in border_mode:
        if isinstance(p, (int, np.integer)):
            p = (p, p)
        try:
            lo, hi = (int(v) for v in p)
        except (TypeError, ValueError):
            raise ValueError(f"conv: border_mode entries must be ints or (before, after) pairs, "
                             f"got {border_mode!r}") from None
        if lo < 0 or hi < 0:
            raise ValueError(f"conv: padding must be >= 0, got border_mode={border_mode!r}")
        pads.append((lo, hi))
    if all(p == (0, 0) for p in pads):
        return "valid"
    return tuple(pads)


def _pads(border_mode, kshape, dilation):
    """One (before, after) pair per spatial axis for kernel sizes kshape (ints or symbolic)."""
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
                          filter_dilation=None):
    """Theano's helper: the (N, F, *spatial) output shape; entries may be None (unknown)."""
    nd = len(image_shape) - 2
    bm = normalize_border_mode(border_mode, nd)
    sub = int_tuple(subsample, "subsample", 1, nd)
    dil = int_tuple(filter_dilation or 1, "filter_dilation", 1, nd)
    out = [image_shape[0], kernel_shape[0]]
    for i in range(nd):
        size, k = image_shape[2 + i], kernel_shape[2 + i]
        if size is None or k is None:
            out.append(None)
        else:
            pad = _pads(bm, (k,), (dil[i],))[0] if isinstance(bm, str) else bm[i]
            out.append(_out_len(size, k, pad, sub[i], dil[i]))
    return tuple(out)


# ---------------------------------------------------------------- NumPy core
def _pad_input(x, pads):
    if all(p == (0, 0) for p in pads):
        return x
    return np.pad(x, ((0, 0), (0, 0)) + tuple(pads))


def _im2col(xp, kshape, out, stride, dilation):
    """Columns (C, *kshape, N, *out) of the padded input: one strided slice copy per kernel offset."""
    n, c = xp.shape[:2]
    cols = np.empty((c,) + tuple(kshape) + (n,) + tuple(out), dtype=xp.dtype)
    xt = xp.swapaxes(0, 1)  # (C, N, *spatial)
    for offs in itertools.product(*[range(k) for k in kshape]):
        sl = tuple(slice(o * d, o * d + s * (m_ - 1) + 1, s)
                   for o, d, s, m_ in zip(offs, dilation, stride, out))
        cols[(slice(None),) + offs] = xt[(slice(None), slice(None)) + sl]
    return cols


def _check_groups(op, channels, kern_channels, n_filters):
    g = op.num_groups
    if channels != kern_channels * g:
        raise ValueError(f"{op}: the input has {channels} channels but the filters expect "
                         f"{kern_channels} x num_groups={g} = {kern_channels * g}")
    if n_filters % g:
        raise ValueError(f"{op}: {n_filters} filters cannot be split into num_groups={g} groups")


def _spatial_out(op, in_sp, k_sp):
    if any(k < 1 for k in k_sp):
        raise ValueError(f"{op}: the filters' spatial shape {tuple(k_sp)} has an empty dimension")
    pads = _pads(op.border_mode, k_sp, op.filter_dilation)
    padded = tuple(s + p[0] + p[1] for s, p in zip(in_sp, pads))
    dil_k = tuple((k - 1) * d + 1 for k, d in zip(k_sp, op.filter_dilation))
    if any(p < dk for p, dk in zip(padded, dil_k)):
        raise ValueError(f"{op}: the padded input's spatial shape {padded} is smaller than the "
                         f"(dilated) filter's {dil_k}")
    out = tuple(_out_len(in_sp[i], k_sp[i], pads[i], op.subsample[i], op.filter_dilation[i])
                for i in range(len(in_sp)))
    return pads, out


def _flip(w):
    return w[(slice(None), slice(None)) + (slice(None, None, -1),) * (w.ndim - 2)]


def conv_forward(op, x, w):
    """The reference forward convolution (see the module docstring)."""
    nd = x.ndim - 2
    n, c = x.shape[:2]
    f, cg = w.shape[:2]
    _check_groups(op, c, cg, f)
    pads, out_sp = _spatial_out(op, x.shape[2:], w.shape[2:])
    if op.filter_flip:
        w = _flip(w)
    g, fg = op.num_groups, f // op.num_groups
    out = np.zeros((n, f) + out_sp, dtype=np.result_type(x.dtype, w.dtype))
    if out.size == 0 or cg == 0:  # no channels: every output is an empty sum
        return out
    cols = _im2col(_pad_input(x, pads), w.shape[2:], out_sp, op.subsample, op.filter_dilation)
    cols = cols.reshape(c, -1, n * int(np.prod(out_sp)))  # (C, prod(k), N * prod(out))
    back = (1, 0) + tuple(range(2, nd + 2))
    for k in range(g):
        part = w[k * fg:(k + 1) * fg].reshape(fg, -1) @ cols[k * cg:(k + 1) * cg].reshape(-1, cols.shape[2])
        out[:, k * fg:(k + 1) * fg] = part.reshape((fg, n) + out_sp).transpose(back)
    return out


def conv_grad_weights(op, x, gz, kshape):
    n, c = x.shape[:2]
    f, out_sp = gz.shape[1], gz.shape[2:]
    g = op.num_groups
    if c % g or f % g:
        raise ValueError(f"{op}: {c} input channels and {f} output channels must both be "
                         f"divisible by num_groups={g}")
    if gz.shape[0] != n:
        raise ValueError(f"{op}: the input has batch size {n}, topgrad {gz.shape[0]}")
    pads, expect = _spatial_out(op, x.shape[2:], kshape)
    if expect != out_sp:
        raise ValueError(f"{op}: topgrad has spatial shape {out_sp}, but an input of spatial "
                         f"shape {x.shape[2:]} and filters of {tuple(kshape)} give {expect}")
    cg, fg = c // g, f // g
    out = np.zeros((f, cg) + tuple(kshape), dtype=np.result_type(x.dtype, gz.dtype))
    if out.size == 0 or gz.size == 0:
        return out
    cols = _im2col(_pad_input(x, pads), kshape, out_sp, op.subsample, op.filter_dilation)
    cols = cols.reshape(c, -1, n * int(np.prod(out_sp)))
    gzt = gz.swapaxes(0, 1).reshape(f, -1)  # (F, N * prod(out))
    for k in range(g):
        part = gzt[k * fg:(k + 1) * fg] @ cols[k * cg:(k + 1) * cg].reshape(-1, cols.shape[2]).T
        out[k * fg:(k + 1) * fg] = part.reshape((fg, cg) + tuple(kshape))
    return _flip(out).copy() if op.filter_flip else out


def conv_grad_inputs(op, w, gz, in_sp):
    f, cg, kshape = w.shape[0], w.shape[1], w.shape[2:]
    n, fz, out_sp = gz.shape[0], gz.shape[1], gz.shape[2:]
    g = op.num_groups
    if fz != f:
        raise ValueError(f"{op}: topgrad has {fz} channels but there are {f} filters")
    if f % g:
        raise ValueError(f"{op}: {f} filters cannot be split into num_groups={g} groups")
    in_sp = tuple(in_sp)
    pads, expect = _spatial_out(op, in_sp, kshape)
    if expect != out_sp:
        raise ValueError(f"{op}: topgrad has spatial shape {out_sp}, but an input of spatial "
                         f"shape {in_sp} and filters of {kshape} give {expect}")
    if op.filter_flip:
        w = _flip(w)
    fg = f // g
    dtype = np.result_type(w.dtype, gz.dtype)
    gxp = np.zeros((n, cg * g) + tuple(s + p[0] + p[1] for s, p in zip(in_sp, pads)), dtype=dtype)
    if gz.size and w.size:
        gzt = gz.swapaxes(0, 1).reshape(f, -1)  # (F, N * prod(out))
        for k in range(g):
            # t[c, *k, n, *out] = sum_f w[f, c, *k] gz[n, f, *out]
            t = (w[k * fg:(k + 1) * fg].reshape(fg, -1).T @ gzt[k * fg:(k + 1) * fg])
            t = t.reshape((cg,) + tuple(kshape) + (n,) + tuple(out_sp))
            block = gxp[:, k * cg:(k + 1) * cg]
            for offs in itertools.product(*[range(kk) for kk in kshape]):
                sl = tuple(slice(o * d, o * d + s * (m_ - 1) + 1, s) for o, d, s, m_ in
                           zip(offs, op.filter_dilation, op.subsample, out_sp))
                tk = t[(slice(None),) + offs]  # (Cg, N, *out)
                block[(slice(None), slice(None)) + sl] += tk.swapaxes(0, 1)
    crop = tuple(slice(p[0], p[0] + s) for p, s in zip(pads, in_sp))
    return gxp[(slice(None), slice(None)) + crop]


# ------------------------------------------------------------------------ ops
class _ConvBase(Op):
    """Shared parameters of the convolution ops; ``nd`` spatial dimensions (2 or 3)."""

    __props__ = ("border_mode", "subsample", "filter_flip", "filter_dilation", "num_groups")
    nd = 2

    def __init__(self, border_mode="valid", subsample=None, filter_flip=True,
                 filter_dilation=None, num_groups=1):
        nd = self.nd
        self.border_mode = normalize_border_mode(border_mode, nd)
        self.subsample = int_tuple(1 if subsample is None else subsample, "subsample", 1, nd)
        self.filter_flip = bool(filter_flip)
        self.filter_dilation = int_tuple(1 if filter_dilation is None else filter_dilation,
                                      "filter_dilation", 1, nd)
        if not isinstance(num_groups, (int, np.integer)) or num_groups < 1:
            raise ValueError(f"conv: num_groups must be an int >= 1, got {num_groups!r}")
        self.num_groups = int(num_groups)

    def _kwargs(self):
        return {p: getattr(self, p) for p in self.__props__}

    def _family(self, kind):
        return _FAMILIES[self.nd][kind](**self._kwargs())

    def _tensor(self, v, what):
        v = as_tensor_variable(v)
        if v.type.ndim != self.nd + 2:
            raise TypeError(f"{self}: {what} must be a {self.nd + 2}-d tensor, got {v} of type "
                            f"{v.type}")
        return v

    _tensor4 = _tensor  # the 2-d name

    def _floats(self, a, b):
        dtype = upcast_float_dtype(np.result_type(a.type.dtype, b.type.dtype).name)
        return cast(a, dtype), cast(b, dtype), dtype

    def _static_spatial(self, in_sp, k_sp):
        if None in in_sp or None in k_sp:
            return (None,) * self.nd
        try:
            return _spatial_out(self, in_sp, k_sp)[1]
        except ValueError as exc:
            raise ValueError(f"{exc} (from the static shapes)") from None

    def _sizes(self, sizes, what):
        if len(sizes) != self.nd:
            raise TypeError(f"{self}: expected {self.nd} spatial sizes of {what}, got {len(sizes)}")
        out = []
        for s in sizes:
            s = as_tensor_variable(s)
            if s.type.ndim != 0 or not s.type.dtype.startswith(("int", "uint")):
                raise TypeError(f"{self}: the spatial sizes of {what} must be integer scalars, "
                                f"got {s.type}")
            out.append(cast(s, "int64"))
        return out

    def _symbolic_out(self, in_sp, k_sp):
        pads = _pads(self.border_mode, k_sp, self.filter_dilation)
        return tuple(_out_len(in_sp[i], k_sp[i], pads[i], self.subsample[i], self.filter_dilation[i])
                     for i in range(self.nd))


def _spatial_sizes(v):
    return tuple(shape_i(v, d) for d in range(2, v.type.ndim))


class _ConvForward(_ConvBase):
    def make_node(self, img, kern):
        img = self._tensor(img, "the input")
        kern = self._tensor(kern, "the filters")
        img, kern, dtype = self._floats(img, kern)
        c, kc, f = img.type.shape[1], kern.type.shape[1], kern.type.shape[0]
        if c is not None and kc is not None and c != kc * self.num_groups:
            raise ValueError(f"{self}: the input has {c} channels but the filters expect {kc} x "
                             f"num_groups={self.num_groups} = {kc * self.num_groups}")
        if f is not None and f % self.num_groups:
            raise ValueError(f"{self}: {f} filters cannot be split into num_groups={self.num_groups}")
        sp = self._static_spatial(img.type.shape[2:], kern.type.shape[2:])
        out = TensorType(dtype, (img.type.shape[0], f) + sp)()
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
        gx = self._family("inputs")(kern, gz, *_spatial_sizes(img))
        gw = self._family("weights")(img, gz, *_spatial_sizes(kern))
        return [cast(gx, img.type.dtype), cast(gw, kern.type.dtype)]

    def R_op(self, inputs, eval_points):
        return bilinear_R_op(self, inputs, eval_points)


class _ConvGradWeights(_ConvBase):
    def make_node(self, img, topgrad, *kshape):
        img = self._tensor(img, "the input")
        topgrad = self._tensor(topgrad, "topgrad")
        img, topgrad, dtype = self._floats(img, topgrad)
        kshape = self._sizes(kshape, "the filters")
        c = img.type.shape[1]
        cg = c // self.num_groups if c is not None else None
        static = tuple(get_static_shape_value(k) for k in kshape)
        out = TensorType(dtype, (topgrad.type.shape[1], cg) + static)()
        return Apply(self, [img, topgrad, *kshape], [out])

    def perform(self, node, inputs, output_storage):
        img, gz, *kshape = inputs
        out = conv_grad_weights(self, img, gz, tuple(int(k) for k in kshape))
        output_storage[0][0] = np.asarray(out, dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        xs, gs = input_shapes[0], input_shapes[1]
        cg = xs[1] // self.num_groups if self.num_groups != 1 else xs[1]
        return [(gs[1], cg) + tuple(node.inputs[2:])]

    def L_op(self, inputs, outputs, output_grads):
        img, gz = inputs[:2]
        ggw = output_grads[0]
        gx = self._family("inputs")(ggw, gz, *_spatial_sizes(img))
        ggz = self._family("forward")(img, ggw)
        return [cast(gx, img.type.dtype), cast(ggz, gz.type.dtype)] + \
            [disconnected_type() for _ in inputs[2:]]

    def connection_pattern(self, node):
        return [[True], [True]] + [[False]] * (len(node.inputs) - 2)


class _ConvGradInputs(_ConvBase):
    def make_node(self, kern, topgrad, *in_shape):
        kern = self._tensor(kern, "the filters")
        topgrad = self._tensor(topgrad, "topgrad")
        kern, topgrad, dtype = self._floats(kern, topgrad)
        in_shape = self._sizes(in_shape, "the input")
        cg = kern.type.shape[1]
        c = cg * self.num_groups if cg is not None else None
        static = tuple(get_static_shape_value(s) for s in in_shape)
        out = TensorType(dtype, (topgrad.type.shape[0], c) + static)()
        return Apply(self, [kern, topgrad, *in_shape], [out])

    def perform(self, node, inputs, output_storage):
        kern, gz, *in_shape = inputs
        out = conv_grad_inputs(self, kern, gz, tuple(int(s) for s in in_shape))
        output_storage[0][0] = np.asarray(out, dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        ks, gs = input_shapes[0], input_shapes[1]
        c = ks[1] * self.num_groups if self.num_groups != 1 else ks[1]
        return [(gs[0], c) + tuple(node.inputs[2:])]

    def L_op(self, inputs, outputs, output_grads):
        kern, gz = inputs[:2]
        ggx = output_grads[0]
        gw = self._family("weights")(ggx, gz, *_spatial_sizes(kern))
        ggz = self._family("forward")(ggx, kern)
        return [cast(gw, kern.type.dtype), cast(ggz, gz.type.dtype)] + \
            [disconnected_type() for _ in inputs[2:]]

    def connection_pattern(self, node):
        return [[True], [True]] + [[False]] * (len(node.inputs) - 2)


class Conv2d(_ConvForward):
    """Forward 2-D convolution: (img (N,C,H,W), kern (F,C/groups,kh,kw)) -> (N,F,Ho,Wo)."""


class Conv2dGradWeights(_ConvGradWeights):
    """Gradient w.r.t. the filters: (img (N,C,H,W), topgrad (N,F,Ho,Wo), kh, kw) -> (F,C/groups,kh,kw)."""


class Conv2dGradInputs(_ConvGradInputs):
    """Gradient w.r.t. the input: (kern (F,C/groups,kh,kw), topgrad (N,F,Ho,Wo), H, W) -> (N,C,H,W).

    Also the transposed convolution ("deconvolution") of topgrad.
    """


class Conv3d(_ConvForward):
    """Forward 3-D convolution: (img (N,C,D,H,W), kern (F,C/groups,kd,kh,kw)) -> (N,F,Do,Ho,Wo)."""

    nd = 3


class Conv3dGradWeights(_ConvGradWeights):
    """Gradient of Conv3d w.r.t. the filters: (img, topgrad, kd, kh, kw)."""

    nd = 3


class Conv3dGradInputs(_ConvGradInputs):
    """Gradient of Conv3d w.r.t. the input: (kern, topgrad, D, H, W)."""

    nd = 3


_FAMILIES = {
    2: {"forward": Conv2d, "weights": Conv2dGradWeights, "inputs": Conv2dGradInputs},
    3: {"forward": Conv3d, "weights": Conv3dGradWeights, "inputs": Conv3dGradInputs},
}


# ------------------------------------------------------------------ functions
def _apply_shape_hint(v, shape, what):
    if shape is None:
        return v
    shape = tuple(shape)
    if len(shape) != v.type.ndim:
        raise ValueError(f"conv: {what} must have {v.type.ndim} entries (None for unknown), got "
                         f"{shape!r}")
    static = tuple(s if isinstance(s, (int, np.integer)) and not isinstance(s, bool) else
                   get_static_shape_value(s) if s is not None else None for s in shape)
    return specify_shape(v, static)


def _conv(nd, input, filters, input_shape, filter_shape, border_mode, subsample,  # noqa: A002
          filter_flip, image_shape, filter_dilation, num_groups, unshared, kwargs):
    what = f"conv{nd}d"
    if kwargs:
        raise TypeError(f"{what}: unexpected keyword arguments {sorted(kwargs)}")
    if unshared:
        raise NotImplementedError(f"{what}: unshared (locally connected) convolution is not "
                                  "supported")
    if image_shape is not None:
        if input_shape is not None:
            raise TypeError(f"{what}: give input_shape or its old name image_shape, not both")
        input_shape = image_shape
    op = _FAMILIES[nd]["forward"](border_mode, subsample, filter_flip, filter_dilation, num_groups)
    input = _apply_shape_hint(op._tensor(input, "the input"), input_shape, "input_shape")  # noqa: A001
    filters = _apply_shape_hint(op._tensor(filters, "the filters"), filter_shape, "filter_shape")
    return op(input, filters)


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
    return _conv(2, input, filters, input_shape, filter_shape, border_mode, subsample,
                 filter_flip, image_shape, filter_dilation, num_groups, unshared, kwargs)


def conv3d(input, filters, input_shape=None, filter_shape=None, border_mode="valid",  # noqa: A002
           subsample=(1, 1, 1), filter_flip=True, filter_dilation=(1, 1, 1), num_groups=1):
    """Theano's ``nnet.conv3d``: 3-D convolution of NCDHW volumes with (F, C/groups, kd, kh, kw)
    filters; the arguments mean what they mean for conv2d, with three spatial axes."""
    return _conv(3, input, filters, input_shape, filter_shape, border_mode, subsample,
                 filter_flip, None, filter_dilation, num_groups, False, {})


def _spatial_tail(shape, nd, what):
    if shape is None:
        raise TypeError(f"{what} is required")
    if hasattr(shape, "type"):  # a symbolic shape vector
        raise TypeError(f"{what} must be a tuple of ints or symbolic scalars, not a vector "
                        "variable")
    shape = tuple(shape)
    if len(shape) not in (nd, nd + 2):
        raise ValueError(f"{what} must have {nd + 2} entries (or the {nd} spatial ones), got "
                         f"{shape!r}")
    return shape[-nd:]


def _hint(shape, nd):
    return shape if shape is not None and len(tuple(shape)) == nd + 2 else None


def _grad_wrt_inputs(nd, output_grad, filters, input_shape, filter_shape, border_mode, subsample,
                     filter_flip, filter_dilation, num_groups):
    what = f"conv{nd}d_grad_wrt_inputs"
    sizes = _spatial_tail(input_shape, nd, f"{what}: input_shape")
    op = _FAMILIES[nd]["inputs"](border_mode, subsample, filter_flip, filter_dilation, num_groups)
    filters = _apply_shape_hint(op._tensor(filters, "the filters"), filter_shape, "filter_shape")
    out = op(filters, output_grad, *sizes)
    hint = _hint(input_shape, nd)
    return out if hint is None else _apply_shape_hint(out, hint, "input_shape")


def _grad_wrt_weights(nd, input, output_grad, filter_shape, input_shape, border_mode,  # noqa: A002
                      subsample, filter_flip, filter_dilation, num_groups):
    what = f"conv{nd}d_grad_wrt_weights"
    sizes = _spatial_tail(filter_shape, nd, f"{what}: filter_shape")
    op = _FAMILIES[nd]["weights"](border_mode, subsample, filter_flip, filter_dilation, num_groups)
    input = _apply_shape_hint(op._tensor(input, "the input"), input_shape, "input_shape")  # noqa: A001
    out = op(input, output_grad, *sizes)
    hint = _hint(filter_shape, nd)
    return out if hint is None else _apply_shape_hint(out, hint, "filter_shape")


def conv2d_grad_wrt_inputs(output_grad, filters, input_shape, filter_shape=None,
                           border_mode="valid", subsample=(1, 1), filter_flip=True,
                           filter_dilation=(1, 1), num_groups=1):
    """The gradient of conv2d w.r.t. its input (a transposed convolution of output_grad).

    input_shape gives the input's shape (its last two entries are required,
    ints or symbolic scalars): with subsampling several input sizes give the
    same output size.
    """
    return _grad_wrt_inputs(2, output_grad, filters, input_shape, filter_shape, border_mode,
                            subsample, filter_flip, filter_dilation, num_groups)


def conv2d_grad_wrt_weights(input, output_grad, filter_shape, input_shape=None,  # noqa: A002
                            border_mode="valid", subsample=(1, 1), filter_flip=True,
                            filter_dilation=(1, 1), num_groups=1):
    """The gradient of conv2d w.r.t. its filters; filter_shape's last two entries are required."""
    return _grad_wrt_weights(2, input, output_grad, filter_shape, input_shape, border_mode,
                             subsample, filter_flip, filter_dilation, num_groups)


def conv3d_grad_wrt_inputs(output_grad, filters, input_shape, filter_shape=None,
                           border_mode="valid", subsample=(1, 1, 1), filter_flip=True,
                           filter_dilation=(1, 1, 1), num_groups=1):
    """The gradient of conv3d w.r.t. its input; input_shape's last three entries are required."""
    return _grad_wrt_inputs(3, output_grad, filters, input_shape, filter_shape, border_mode,
                            subsample, filter_flip, filter_dilation, num_groups)


def conv3d_grad_wrt_weights(input, output_grad, filter_shape, input_shape=None,  # noqa: A002
                            border_mode="valid", subsample=(1, 1, 1), filter_flip=True,
                            filter_dilation=(1, 1, 1), num_groups=1):
    """The gradient of conv3d w.r.t. its filters; filter_shape's last three entries are required."""
    return _grad_wrt_weights(3, input, output_grad, filter_shape, input_shape, border_mode,
                             subsample, filter_flip, filter_dilation, num_groups)


def _separable(nd, input, depthwise_filters, pointwise_filters, num_channels, input_shape,  # noqa: A002
               depthwise_filter_shape, pointwise_filter_shape, border_mode, subsample,
               filter_flip, filter_dilation):
    depthwise = _conv(nd, input, depthwise_filters, input_shape, depthwise_filter_shape,
                      border_mode, subsample, filter_flip, None, filter_dilation, num_channels,
                      False, {})
    return _conv(nd, depthwise, pointwise_filters, None, pointwise_filter_shape, "valid", 1,
                 filter_flip, None, 1, 1, False, {})


def separable_conv2d(input, depthwise_filters, pointwise_filters, num_channels,  # noqa: A002
                     input_shape=None, depthwise_filter_shape=None, pointwise_filter_shape=None,
                     border_mode="valid", subsample=(1, 1), filter_flip=True,
                     filter_dilation=(1, 1)):
    """Depthwise then pointwise convolution (Theano's separable_conv2d).

    depthwise_filters (M * C, 1, kh, kw) convolve each of the C = num_channels
    input channels separately (M filters each, num_groups=C), then
    pointwise_filters (F, M * C, 1, 1) mix the channels.
    """
    return _separable(2, input, depthwise_filters, pointwise_filters, num_channels, input_shape,
                      depthwise_filter_shape, pointwise_filter_shape, border_mode, subsample,
                      filter_flip, filter_dilation)


def separable_conv3d(input, depthwise_filters, pointwise_filters, num_channels,  # noqa: A002
                     input_shape=None, depthwise_filter_shape=None, pointwise_filter_shape=None,
                     border_mode="valid", subsample=(1, 1, 1), filter_flip=True,
                     filter_dilation=(1, 1, 1)):
    """The 3-d separable convolution: depthwise (num_groups=num_channels) then pointwise."""
    return _separable(3, input, depthwise_filters, pointwise_filters, num_channels, input_shape,
                      depthwise_filter_shape, pointwise_filter_shape, border_mode, subsample,
                      filter_flip, filter_dilation)


def conv2d_transpose(input, filters, output_shape, filter_shape=None, border_mode="valid",  # noqa: A002
                     input_dilation=(1, 1), filter_flip=True, filter_dilation=(1, 1),
                     num_groups=1):
    """Transposed convolution: the gradient of conv2d(output, filters) w.r.t. output.

    ``input_dilation`` is the forward convolution's subsample. filters have
    shape (channels of input, channels of output / groups, kh, kw).
    """
    return conv2d_grad_wrt_inputs(input, filters, output_shape, filter_shape, border_mode,
                                  input_dilation, filter_flip, filter_dilation, num_groups)


__all__ = ["Conv2d", "Conv2dGradWeights", "Conv2dGradInputs", "Conv3d", "Conv3dGradWeights",
           "Conv3dGradInputs", "conv2d", "conv3d", "conv2d_grad_wrt_inputs",
           "conv2d_grad_wrt_weights", "conv3d_grad_wrt_inputs", "conv3d_grad_wrt_weights",
           "conv2d_transpose", "separable_conv2d", "separable_conv3d", "get_conv_output_shape",
           "normalize_border_mode"]
