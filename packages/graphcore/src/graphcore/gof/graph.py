"""Theano's `theano.gof.graph`: graph objects and traversals."""

from graphcore.graph import (Apply, Constant, Variable, ancestors, applys_between,  # noqa: F401
                             clone, clone_get_equiv, io_toposort, orphans, vars_between)
from graphcore.graph.traversal import graph_inputs as inputs  # noqa: F401

variables = vars_between  # Theano's name: the variables between inputs and outputs
ops = applys_between
