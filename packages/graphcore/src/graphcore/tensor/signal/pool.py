"""Pooling over the last two (pool_2d) or three (pool_3d) dimensions: Theano's
`theano.tensor.signal.pool`.

Semantics of ``Pool(ws, ignore_border, stride, pad, mode)(x)`` (the reference;
``len(ws)`` trailing dimensions are pooled, the leading ones are batch-like;
described here for 2-D, each pooled axis behaves alike):

- The image is padded by ``pad`` on both sides of each pooled axis
  (``pad < ws``, and only with ``ignore_border=True``, as in Theano).
- Output length per axis, for image length r:
  ignore_border: ``max((r + 2 pad - ws) // stride + 1, 0)``;
  otherwise ``(r - 1) // stride + 1`` if ``stride >= ws`` else
  ``max(0, (r - 1 - ws + stride) // stride) + 1`` (0 when r is 0): windows
  that run past the image are cut short.
- Window (i, j) covers padded rows ``[i stride, i stride + ws)``, clipped to
  the padded image. 'max' and 'sum' use only the real (unpadded) elements;
  'average_inc_pad' divides the sum by the number of window positions inside
  the padded image, 'average_exc_pad' by the number inside the real image.
- ``MaxPoolGrad(x, maxout, gz)`` gives each window's gz to every element of
  the window equal to its maximum (ties all receive it, as in Theano);
  ``AveragePoolGrad(x, gz)`` spreads gz / count ('sum': gz) over the window.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from graphcore.graph.basic import Apply
from graphcore.graph.null_type import disconnected_type
from graphcore.graph.op import Op
from graphcore.scalar.basic import is_discrete
from graphcore.tensor import math as m
from graphcore.tensor.basic import as_tensor_variable, cast
from graphcore.tensor.nnet.conv import int_tuple
from graphcore.tensor.type import TensorType, upcast_float_dtype

MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


def pool_output_length(r, ws, stride, pad, ignore_border):
    """Output length along one axis for image length r (an int or a symbolic scalar)."""
    symbolic = not isinstance(r, (int, np.integer))
    if ignore_border:
        n = (r + 2 * pad - ws) // stride + 1
        return m.maximum(n, 0) if symbolic else max(int(n), 0)
    if stride >= ws:
        n = (r - 1) // stride + 1
    else:
        inner = (r - 1 - ws + stride) // stride
        n = (m.maximum(inner, 0) if symbolic else max(int(inner), 0)) + 1
    if symbolic:
        return m.switch(m.eq(r, 0), 0, n)
    return 0 if r == 0 else int(n)


class _PoolBase(Op):
    """Pooling geometry over the last ``len(ws)`` dimensions (2 for pool_2d, 3 for pool_3d)."""

    __props__ = ("ws", "ignore_border", "stride", "pad", "mode")

    def __init__(self, ws, ignore_border=True, stride=None, pad=None, mode="max", ndim=None):
        nd = ndim if ndim is not None else (2 if isinstance(ws, (int, np.integer)) else len(tuple(ws)))
        self.ws = int_tuple(ws, "ws", 1, nd, "pool")
        self.stride = self.ws if stride is None else int_tuple(stride, "stride", 1, nd, "pool")
        self.pad = (0,) * nd if pad is None else int_tuple(pad, "pad", 0, nd, "pool")
        self.ignore_border = bool(ignore_border)
        if mode not in MODES:
            raise ValueError(f"pool: mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        if any(self.pad) and not self.ignore_border:
            raise NotImplementedError("pool: padding works only with ignore_border=True")
        if any(p >= w for p, w in zip(self.pad, self.ws)):
            raise ValueError(f"pool: padding {self.pad} must be smaller than the window {self.ws}")

    @property
    def ndim(self):
        """How many trailing dimensions are pooled."""
        return len(self.ws)

    def _input(self, x, what="the input"):
        x = as_tensor_variable(x)
        if x.type.ndim < self.ndim:
            raise TypeError(f"{self}: {what} must have at least {self.ndim} dimensions (pooling "
                            f"is over the last {self.ndim}), got {x} of type {x.type}")
        return x

    def out_shape(self, shape):
        """The output shape for an input `shape` (ints, symbolic scalars or None)."""
        nd = self.ndim
        lead, img = tuple(shape[:-nd]), shape[-nd:]
        out = []
        for i in range(nd):
            r = img[i]
            out.append(None if r is None else
                       pool_output_length(r, self.ws[i], self.stride[i], self.pad[i],
                                          self.ignore_border))
        return lead + tuple(out)

    # -- the NumPy reference ----------------------------------------------
    def _geometry(self, img):
        """Output lengths and the padded extent that covers every window."""
        out = tuple(pool_output_length(img[i], self.ws[i], self.stride[i], self.pad[i],
                                       self.ignore_border) for i in range(self.ndim))
        ext = tuple(max(img[i] + 2 * self.pad[i], (out[i] - 1) * self.stride[i] + self.ws[i])
                    for i in range(self.ndim))
        return out, ext

    def _inner(self, img):
        return (Ellipsis,) + tuple(slice(p, p + n) for p, n in zip(self.pad, img))

    def _padded(self, x, ext, fill):
        nd = self.ndim
        xp = np.full(x.shape[:-nd] + ext, fill, dtype=x.dtype)
        xp[self._inner(x.shape[-nd:])] = x
        return xp

    def _window_slices(self, out):
        for offsets in itertools.product(*[range(w) for w in self.ws]):
            yield (Ellipsis,) + tuple(slice(o, o + s * (n - 1) + 1, s)
                                      for o, s, n in zip(offsets, self.stride, out))

    def _counts(self, img, out):
        """How many elements each window averages over (inside the padded or the real image)."""
        per_axis = []
        for i in range(self.ndim):
            lo, hi = (0, img[i] + 2 * self.pad[i]) if self.mode == "average_inc_pad" else \
                (self.pad[i], self.pad[i] + img[i])
            start = np.arange(out[i]) * self.stride[i]
            per_axis.append(np.clip(np.minimum(start + self.ws[i], hi) - np.maximum(start, lo), 0, None))
        return functools.reduce(np.multiply.outer, per_axis)

    def _crop(self, xp, img):
        return xp[self._inner(img)]

    def _split(self, shape):
        return tuple(shape[:-self.ndim]), tuple(shape[-self.ndim:])


def _lowest(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return -np.inf
    if dtype.kind == "b":
        return False
    return np.iinfo(dtype).min


def pool_forward(op, x):
    lead, hw = op._split(x.shape)
    out, ext = op._geometry(hw)
    if 0 in out or x.size == 0:
        return np.zeros(lead + out, dtype=x.dtype)
    xp = op._padded(x, ext, _lowest(x.dtype) if op.mode == "max" else 0)
    res = None
    for sl in op._window_slices(out):
        v = xp[sl]
        if res is None:
            res = v.copy()
        elif op.mode == "max":
            np.maximum(res, v, out=res)
        else:
            res += v
    if op.mode.startswith("average"):
        res = res / op._counts(hw, out)
    return res


class Pool(_PoolBase):
    """Max/sum/average pooling with window ws over the last two dimensions of x."""

    def make_node(self, x):
        x = self._input(x)
        if self.mode.startswith("average"):
            x = cast(x, upcast_float_dtype(x.type.dtype))
        return Apply(self, [x], [TensorType(x.type.dtype, self.out_shape(x.type.shape))()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.asarray(pool_forward(self, inputs[0]),
                                          dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [self.out_shape(input_shapes[0])]

    def L_op(self, inputs, outputs, output_grads):
        x, = inputs
        if is_discrete(x.type.dtype):
            return [disconnected_type()]
        gz = output_grads[0]
        kw = dict(ws=self.ws, ignore_border=self.ignore_border, stride=self.stride, pad=self.pad,
                  mode=self.mode)
        if self.mode == "max":
            return [MaxPoolGrad(**kw)(x, outputs[0], gz)]
        return [AveragePoolGrad(**kw)(x, gz)]


class MaxPoolGrad(_PoolBase):
    """Gradient of max pooling: inputs (x, maxout, gz) -> gx, shape of x."""

    def __init__(self, ws, ignore_border=True, stride=None, pad=None, mode="max"):
        super().__init__(ws, ignore_border, stride, pad, mode)
        if mode != "max":
            raise ValueError(f"MaxPoolGrad: mode must be 'max', got {mode!r}")

    def make_node(self, x, maxout, gz):
        x = self._input(x)
        maxout = self._input(maxout, "maxout")
        gz = self._input(gz, "gz")
        if not (x.type.ndim == maxout.type.ndim == gz.type.ndim):
            raise TypeError(f"{self}: x, maxout and gz need the same number of dimensions, got "
                            f"{x.type}, {maxout.type} and {gz.type}")
        if np.dtype(x.type.dtype).kind != "f":
            raise TypeError(f"{self}: x must be a float tensor, got {x.type}")
        gz = cast(gz, x.type.dtype)
        maxout = cast(maxout, x.type.dtype)
        return Apply(self, [x, maxout, gz], [x.type()])

    def perform(self, node, inputs, output_storage):
        x, maxout, gz = inputs
        output_storage[0][0] = max_pool_grad(self, x, maxout, gz)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        x, maxout, gz = inputs
        ggx = output_grads[0]
        kw = dict(ws=self.ws, ignore_border=self.ignore_border, stride=self.stride, pad=self.pad)
        return [m.zeros_like(x), m.zeros_like(maxout),
                DownsampleFactorMaxGradGrad(**kw)(x, maxout, ggx)]


def _check_out(op, what, got, want):
    if tuple(got) != tuple(want):
        raise ValueError(f"{op}: {what} has shape {tuple(got)}, expected {tuple(want)} for the "
                         "pooled input")


def max_pool_grad(op, x, maxout, gz):
    lead, hw = op._split(x.shape)
    out, ext = op._geometry(hw)
    want = lead + out
    _check_out(op, "maxout", maxout.shape, want)
    _check_out(op, "gz", gz.shape, want)
    if 0 in out or x.size == 0:
        return np.zeros(x.shape, dtype=x.dtype)
    xp = op._padded(x, ext, _lowest(x.dtype))
    gxp = np.zeros(xp.shape, dtype=x.dtype)
    for sl in op._window_slices(out):
        gxp[sl] += np.where(xp[sl] == maxout, gz, 0)
    return op._crop(gxp, hw).copy()


class AveragePoolGrad(_PoolBase):
    """Gradient of sum/average pooling: inputs (x, gz) -> gx (x only gives the shape)."""

    def __init__(self, ws, ignore_border=True, stride=None, pad=None, mode="average_inc_pad"):
        super().__init__(ws, ignore_border, stride, pad, mode)
        if mode == "max":
            raise ValueError("AveragePoolGrad: mode must be 'sum' or an average mode, got 'max'")

    def make_node(self, x, gz):
        x = self._input(x)
        gz = self._input(gz, "gz")
        if x.type.ndim != gz.type.ndim:
            raise TypeError(f"{self}: x and gz need the same number of dimensions, got {x.type} "
                            f"and {gz.type}")
        dtype = upcast_float_dtype(np.result_type(x.type.dtype, gz.type.dtype).name)
        return Apply(self, [x, cast(gz, dtype)], [TensorType(dtype, x.type.shape)()])

    def perform(self, node, inputs, output_storage):
        x, gz = inputs
        lead, hw = self._split(x.shape)
        out, ext = self._geometry(hw)
        _check_out(self, "gz", gz.shape, lead + out)
        dtype = node.outputs[0].type.dtype
        if 0 in out or x.size == 0:
            output_storage[0][0] = np.zeros(x.shape, dtype=dtype)
            return
        if self.mode.startswith("average"):
            gz = gz / self._counts(hw, out)
        gxp = np.zeros(lead + ext, dtype=dtype)
        for sl in self._window_slices(out):
            gxp[sl] += gz
        output_storage[0][0] = self._crop(gxp, hw).copy()

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        x, gz = inputs
        kw = dict(ws=self.ws, ignore_border=self.ignore_border, stride=self.stride, pad=self.pad,
                  mode=self.mode)
        # gz -> gx is linear; its adjoint is the pooling itself
        return [disconnected_type(), cast(Pool(**kw)(output_grads[0]), gz.type.dtype)]

    def connection_pattern(self, node):
        return [[False], [True]]


class DownsampleFactorMaxGradGrad(_PoolBase):
    """Second derivative of max pooling: inputs (x, maxout, ggx) -> ggz, shape of maxout.

    ggz sums ggx over the elements of each window that equal its maximum (the
    adjoint of MaxPoolGrad).
    """

    def __init__(self, ws, ignore_border=True, stride=None, pad=None, mode="max"):
        super().__init__(ws, ignore_border, stride, pad, mode)

    def make_node(self, x, maxout, ggx):
        x = self._input(x)
        maxout = self._input(maxout, "maxout")
        ggx = self._input(ggx, "ggx")
        return Apply(self, [x, cast(maxout, x.type.dtype), cast(ggx, x.type.dtype)],
                     [TensorType(x.type.dtype, maxout.type.shape)()])

    def perform(self, node, inputs, output_storage):
        x, maxout, ggx = inputs
        lead, hw = self._split(x.shape)
        out, ext = self._geometry(hw)
        _check_out(self, "maxout", maxout.shape, lead + out)
        res = np.zeros(maxout.shape, dtype=x.dtype)
        if 0 not in out and x.size:
            xp = self._padded(x, ext, _lowest(x.dtype))
            gp = self._padded(ggx, ext, 0)
            for sl in self._window_slices(out):
                res += np.where(xp[sl] == maxout, gp[sl], 0)
        output_storage[0][0] = res

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[1]]

    def L_op(self, inputs, outputs, output_grads):
        x, maxout, ggx = inputs
        kw = dict(ws=self.ws, ignore_border=self.ignore_border, stride=self.stride, pad=self.pad)
        return [m.zeros_like(x), m.zeros_like(maxout), MaxPoolGrad(**kw)(x, maxout, output_grads[0])]


def _pool(what, nd, input, ws, ignore_border, stride, pad, mode, ds, st, padding):  # noqa: A002
    if ds is not None:
        if ws is not None:
            raise ValueError(f"{what}: give ws or its old name ds, not both")
        ws = ds
    if st is not None:
        if stride is not None:
            raise ValueError(f"{what}: give stride or its old name st, not both")
        stride = st
    if padding is not None:
        if pad is not None and any(pad):
            raise ValueError(f"{what}: give pad or its old name padding, not both")
        pad = padding
    if ws is None:
        raise ValueError(f"{what}: ws (the window shape) is required")
    if ignore_border is None:
        ignore_border = True
    op = Pool(ws, ignore_border, stride, pad, mode, ndim=nd)
    if op.ndim != nd:
        raise ValueError(f"{what}: ws must have {nd} entries, got {ws!r}")
    return op(op._input(input))


def pool_2d(input, ws=None, ignore_border=True, stride=None, pad=(0, 0), mode="max",  # noqa: A002
            ds=None, st=None, padding=None):
    """Pool the last two dimensions of `input` with windows `ws` (Theano's pool_2d).

    stride defaults to ws; pad (ints < ws) pads both sides and needs
    ignore_border=True; mode is 'max', 'sum', 'average_inc_pad' or
    'average_exc_pad'. ds, st and padding are Theano's old names for ws,
    stride and pad. Decision: ignore_border defaults to True (Theano 1.0
    warned and used False when it was not given).
    """
    return _pool("pool_2d", 2, input, ws, ignore_border, stride, pad, mode, ds, st, padding)


def pool_3d(input, ws=None, ignore_border=True, stride=None, pad=(0, 0, 0), mode="max",  # noqa: A002
            ds=None, st=None, padding=None):
    """Pool the last three dimensions of `input` (Theano's pool_3d); arguments as pool_2d."""
    return _pool("pool_3d", 3, input, ws, ignore_border, stride, pad, mode, ds, st, padding)


def max_pool_2d_same_size(input, patch_size):  # noqa: A002
    """Keep the maximum of each non-overlapping patch in place and zero the rest (Theano)."""
    x = as_tensor_variable(input)
    out = pool_2d(x, patch_size, ignore_border=True)
    op = MaxPoolGrad(patch_size, ignore_border=True)
    return op(x, out, out)


__all__ = ["Pool", "MaxPoolGrad", "AveragePoolGrad", "DownsampleFactorMaxGradGrad", "pool_2d",
           "pool_3d", "max_pool_2d_same_size", "pool_output_length"]
