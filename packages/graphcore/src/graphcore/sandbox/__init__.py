"""Theano's `theano.sandbox` names that programs import: `rng_mrg.MRG_RandomStreams`."""

from graphcore.sandbox import rng_mrg  # noqa: F401
