"""Theano's module path `theano.tensor.nnet.nnet`: softmax, cross-entropies and activations."""

from graphcore.tensor.nnet.activations import *  # noqa: F401,F403
from graphcore.tensor.nnet.crossentropy import *  # noqa: F401,F403
from graphcore.tensor.nnet.softmax import *  # noqa: F401,F403
