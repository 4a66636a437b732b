"""Theano's module path `theano.tensor.nnet.sigm`: the sigmoid family."""

from graphcore.tensor.nnet.activations import (hard_sigmoid, sigmoid, softplus,  # noqa: F401
                                               ultra_fast_sigmoid)
