"""Theano's module path `theano.tensor.nnet.abstract_conv`: the conv ops under their Theano names.

``AbstractConv2d(imshp, kshp, border_mode, subsample, filter_flip,
filter_dilation, num_groups)`` and its ``_gradInputs`` / ``_gradWeights``
(and the 3-d ``AbstractConv3d`` family)
take Theano's constructor arguments and call forms (the gradient ops are
called with the spatial shape as one argument: ``op(kern, topgrad, shape)``).
The nodes they build hold the canonical `Conv2d`, `Conv2dGradInputs` and
`Conv2dGradWeights` ops (`Conv3d`... for 3-d), so graphs built either way merge and the rewrites
and runtimes see one op per computation. imshp and kshp are shape hints:
they become static shapes of the inputs, checked when the function runs.
"""

import numpy as np

from graphcore.config import config
from graphcore.graph.basic import Variable
from graphcore.tensor import math as m
from graphcore.tensor.basic import as_tensor_variable, constant
from graphcore.tensor.join import concatenate
from graphcore.tensor.nnet.conv import (Conv2d, Conv2dGradInputs, Conv2dGradWeights,  # noqa: F401
                                        Conv3d, Conv3dGradInputs, Conv3dGradWeights,
                                        _apply_shape_hint, conv2d, conv2d_grad_wrt_inputs,
                                        conv2d_grad_wrt_weights, conv2d_transpose, conv3d,
                                        conv3d_grad_wrt_inputs, conv3d_grad_wrt_weights,
                                        get_conv_output_shape)
from graphcore.tensor.shape import reshape, shape_i


def _spatial_sizes(shape, nd, what):
    """The nd spatial sizes from a tuple (nd or nd + 2 entries) or a symbolic vector."""
    if isinstance(shape, Variable):
        if shape.type.ndim != 1:
            raise TypeError(f"{what}: the shape must be a vector, got {shape.type}")
        if shape.type.shape[0] not in (None, nd, nd + 2):
            _bad(shape, what)
        return tuple(shape[i] for i in range(-nd, 0))
    shape = tuple(shape)
    if len(shape) not in (nd, nd + 2):
        _bad(shape, what)
    return shape[-nd:]


def _bad(shape, what):
    raise ValueError(f"{what}: expected the spatial sizes (or the full shape), got {shape!r}")


class _TheanoArgs:
    def __init__(self, imshp=None, kshp=None, border_mode="valid", subsample=None,
                 filter_flip=True, filter_dilation=None, num_groups=1, unshared=False):
        if unshared:
            raise NotImplementedError(f"{type(self).__name__}: unshared convolution is not supported")
        super().__init__(border_mode, subsample, filter_flip, filter_dilation, num_groups)
        self.imshp = None if imshp is None else tuple(imshp)
        self.kshp = None if kshp is None else tuple(kshp)

    def _canonical(self):
        return self._base(**self._kwargs())


class _Forward(_TheanoArgs):
    def make_node(self, img, kern):
        img = _apply_shape_hint(self._tensor(img, "the input"), self.imshp, "imshp")
        kern = _apply_shape_hint(self._tensor(kern, "the filters"), self.kshp, "kshp")
        return self._canonical().make_node(img, kern)


class _GradInputs(_TheanoArgs):
    def make_node(self, kern, topgrad, shape, *rest):
        sizes = (shape, *rest) if rest else _spatial_sizes(shape, self.nd, str(self))
        kern = _apply_shape_hint(self._tensor(kern, "the filters"), self.kshp, "kshp")
        return self._canonical().make_node(kern, topgrad, *sizes)


class _GradWeights(_TheanoArgs):
    def make_node(self, img, topgrad, shape, *rest):
        sizes = (shape, *rest) if rest else _spatial_sizes(shape, self.nd, str(self))
        img = _apply_shape_hint(self._tensor(img, "the input"), self.imshp, "imshp")
        return self._canonical().make_node(img, topgrad, *sizes)


class AbstractConv2d(_Forward, Conv2d):
    """Theano's AbstractConv2d: ``AbstractConv2d(imshp, kshp, border_mode, ...)(img, kern)``."""

    _base = Conv2d


class AbstractConv2d_gradInputs(_GradInputs, Conv2dGradInputs):  # noqa: N801  (Theano's name)
    """Theano's AbstractConv2d_gradInputs: ``op(kern, topgrad, shape)``, shape = the input's (H, W)."""

    _base = Conv2dGradInputs


class AbstractConv2d_gradWeights(_GradWeights, Conv2dGradWeights):  # noqa: N801
    """Theano's AbstractConv2d_gradWeights: ``op(img, topgrad, shape)``, shape = the filters' (kh, kw)."""

    _base = Conv2dGradWeights


class AbstractConv3d(_Forward, Conv3d):
    """Theano's AbstractConv3d: ``AbstractConv3d(imshp, kshp, border_mode, ...)(img, kern)``."""

    _base = Conv3d


class AbstractConv3d_gradInputs(_GradInputs, Conv3dGradInputs):  # noqa: N801
    """Theano's AbstractConv3d_gradInputs: ``op(kern, topgrad, shape)``, shape = the input's (D, H, W)."""

    _base = Conv3dGradInputs


class AbstractConv3d_gradWeights(_GradWeights, Conv3dGradWeights):  # noqa: N801
    """Theano's AbstractConv3d_gradWeights: ``op(img, topgrad, shape)``, shape = the filters' (kd, kh, kw)."""

    _base = Conv3dGradWeights


def bilinear_kernel_1D(ratio, normalize=True):  # noqa: N802  (Theano's name)
    """The 1-d bilinear interpolation kernel [1, 2, ..., ratio, ..., 2, 1] (/ ratio)."""
    ratio = int(ratio)
    kern = np.concatenate([np.arange(1, ratio + 1), np.arange(ratio - 1, 0, -1)]).astype(config.floatX)
    return constant(kern / ratio if normalize else kern)


def bilinear_upsampling(input, ratio=None, frac_ratio=None, batch_size=None,  # noqa: A002
                        num_input_channels=None, use_1D_kernel=True):
    """Upsample the last two dimensions of a 4-d tensor by an integer `ratio` (Theano's algorithm).

    The image is extended by repeating its border rows and columns, then each
    axis goes through a transposed convolution with the bilinear kernel of
    bilinear_kernel_1D (stride ratio), so a constant image stays constant and
    a linear ramp stays linear. Only integer ratios are supported.
    """
    if frac_ratio is not None or ratio is None:
        raise NotImplementedError("bilinear_upsampling: only an integer `ratio` is supported")
    ratio = int(ratio)
    if ratio < 1:
        raise ValueError(f"bilinear_upsampling: ratio must be >= 1, got {ratio}")
    x = as_tensor_variable(input)
    if x.type.ndim != 4:
        raise TypeError(f"bilinear_upsampling: the input must be a 4-d tensor, got {x.type}")
    if ratio == 1:
        return x
    n = batch_size if batch_size is not None else shape_i(x, 0)
    c = num_input_channels if num_input_channels is not None else shape_i(x, 1)
    rows, cols = shape_i(x, 2), shape_i(x, 3)
    up = reshape(x, [-1, 1, rows, cols])
    up = concatenate([up[:, :, :1, :], up, up[:, :, -1:, :]], axis=2)
    up = concatenate([up[:, :, :, :1], up, up[:, :, :, -1:]], axis=3)
    pad = 2 * ratio - (ratio - 1) // 2 - 1
    kern = bilinear_kernel_1D(ratio)
    kern = m.cast(kern, x.type.dtype) if kern.type.dtype != x.type.dtype else kern
    up_rows = conv2d_grad_wrt_inputs(up, kern.dimshuffle("x", "x", 0, "x"),
                                     (shape_i(up, 0), 1, rows * ratio, cols + 2),
                                     border_mode=(pad, 0), subsample=(ratio, 1))
    up_both = conv2d_grad_wrt_inputs(up_rows, kern.dimshuffle("x", "x", "x", 0),
                                     (shape_i(up, 0), 1, rows * ratio, cols * ratio),
                                     border_mode=(0, pad), subsample=(1, ratio))
    return reshape(up_both, [n, c, rows * ratio, cols * ratio])
