"""Signal processing ops, Theano's `theano.tensor.signal`: pooling in `pool`."""

from graphcore.tensor.signal import pool  # noqa: F401
