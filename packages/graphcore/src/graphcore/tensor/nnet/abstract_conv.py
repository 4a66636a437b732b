"""Theano's module path `theano.tensor.nnet.abstract_conv`: the conv ops under their Theano names.

``AbstractConv2d(imshp, kshp, border_mode, subsample, filter_flip,
filter_dilation, num_groups)`` and its ``_gradInputs`` / ``_gradWeights``
take Theano's constructor arguments and call forms (the gradient ops are
called with the spatial shape as one argument: ``op(kern, topgrad, shape)``).
The nodes they build hold the canonical `Conv2d`, `Conv2dGradInputs` and
`Conv2dGradWeights` ops, so graphs built either way merge and the rewrites
and runtimes see one op per computation. imshp and kshp are shape hints:
they become static shapes of the inputs, checked when the function runs.
"""

from graphcore.tensor.nnet.conv import (Conv2d, Conv2dGradInputs, Conv2dGradWeights,  # noqa: F401
                                        _apply_shape_hint, conv2d, conv2d_grad_wrt_inputs,
                                        conv2d_grad_wrt_weights, conv2d_transpose, conv3d,
                                        conv3d_grad_wrt_inputs, conv3d_grad_wrt_weights,
                                        get_conv_output_shape)


def _spatial_pair(shape, what):
    """(h, w) from a pair/4-tuple of ints and scalars, or a symbolic vector of 2 (or 4) entries."""
    from graphcore.graph.basic import Variable

    if isinstance(shape, Variable):
        n = shape.type.shape[0] if shape.type.ndim == 1 else None
        if shape.type.ndim != 1:
            raise TypeError(f"{what}: the shape must be a vector, got {shape.type}")
        return (shape[-2], shape[-1]) if n in (None, 2, 4) else _bad(shape, what)
    shape = tuple(shape)
    if len(shape) not in (2, 4):
        _bad(shape, what)
    return shape[-2], shape[-1]


def _bad(shape, what):
    raise ValueError(f"{what}: expected the 2 spatial sizes (or a 4-d shape), got {shape!r}")


class _TheanoArgs:
    def __init__(self, imshp=None, kshp=None, border_mode="valid", subsample=(1, 1),
                 filter_flip=True, filter_dilation=(1, 1), num_groups=1, unshared=False):
        if unshared:
            raise NotImplementedError(f"{type(self).__name__}: unshared convolution is not supported")
        super().__init__(border_mode, subsample, filter_flip, filter_dilation, num_groups)
        self.imshp = None if imshp is None else tuple(imshp)
        self.kshp = None if kshp is None else tuple(kshp)

    def _canonical(self):
        return self._base(**self._kwargs())


class AbstractConv2d(_TheanoArgs, Conv2d):
    """Theano's AbstractConv2d: ``AbstractConv2d(imshp, kshp, border_mode, ...)(img, kern)``."""

    _base = Conv2d

    def make_node(self, img, kern):
        img = _apply_shape_hint(self._tensor4(img, "the input"), self.imshp, "imshp")
        kern = _apply_shape_hint(self._tensor4(kern, "the filters"), self.kshp, "kshp")
        return self._canonical().make_node(img, kern)


class AbstractConv2d_gradInputs(_TheanoArgs, Conv2dGradInputs):  # noqa: N801  (Theano's name)
    """Theano's AbstractConv2d_gradInputs: ``op(kern, topgrad, shape)``, shape = the input's (H, W)."""

    _base = Conv2dGradInputs

    def make_node(self, kern, topgrad, shape, *rest):
        h, w = (shape, rest[0]) if rest else _spatial_pair(shape, str(self))
        kern = _apply_shape_hint(self._tensor4(kern, "the filters"), self.kshp, "kshp")
        return self._canonical().make_node(kern, topgrad, h, w)


class AbstractConv2d_gradWeights(_TheanoArgs, Conv2dGradWeights):  # noqa: N801
    """Theano's AbstractConv2d_gradWeights: ``op(img, topgrad, shape)``, shape = the filters' (kh, kw)."""

    _base = Conv2dGradWeights

    def make_node(self, img, topgrad, shape, *rest):
        kh, kw = (shape, rest[0]) if rest else _spatial_pair(shape, str(self))
        img = _apply_shape_hint(self._tensor4(img, "the input"), self.imshp, "imshp")
        return self._canonical().make_node(img, topgrad, kh, kw)
