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

from graphcore.tensor.nnet.conv import (Conv2d, Conv2dGradInputs, Conv2dGradWeights,  # noqa: F401
                                        Conv3d, Conv3dGradInputs, Conv3dGradWeights,
                                        _apply_shape_hint, conv2d, conv2d_grad_wrt_inputs,
                                        conv2d_grad_wrt_weights, conv2d_transpose, conv3d,
                                        conv3d_grad_wrt_inputs, conv3d_grad_wrt_weights,
                                        get_conv_output_shape)


def _spatial_sizes(shape, nd, what):
    """The nd spatial sizes from a tuple (nd or nd + 2 entries) or a symbolic vector."""
    from graphcore.graph.basic import Variable

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
