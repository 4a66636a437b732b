"""Theano's `theano.gof.type`."""

from graphcore.compile.sharedvalue import Generic, generic  # noqa: F401
from graphcore.graph import Type  # noqa: F401
