"""Theano's module path `theano.tensor.nnet.abstract_conv`: the conv ops under their Theano names."""

from graphcore.tensor.nnet.conv import (Conv2d, Conv2dGradInputs, Conv2dGradWeights,  # noqa: F401
                                        conv2d, conv2d_grad_wrt_inputs, conv2d_grad_wrt_weights,
                                        conv2d_transpose, get_conv_output_shape)

AbstractConv2d = Conv2d
AbstractConv2d_gradInputs = Conv2dGradInputs
AbstractConv2d_gradWeights = Conv2dGradWeights
