"""The graph: Variables, Constants, Apply nodes, Ops, Types and FunctionGraph."""

from graphcore.graph.basic import Apply, Constant, Variable
from graphcore.graph.fg import Feature, FunctionGraph, InconsistencyError, MissingInputError
from graphcore.graph.op import Op, ShapeInferenceNotImplemented
from graphcore.graph.replace import clone, clone_get_equiv, clone_replace
from graphcore.graph.traversal import (ancestors, applys_between, graph_inputs, io_toposort,
                                       orphans, toposort, vars_between)
from graphcore.graph.type import Type

__all__ = [
    "Apply", "Constant", "Variable", "Feature", "FunctionGraph", "InconsistencyError",
    "MissingInputError", "Op", "ShapeInferenceNotImplemented", "Type", "ancestors",
    "applys_between", "clone", "clone_get_equiv", "clone_replace", "graph_inputs",
    "io_toposort", "orphans", "toposort", "vars_between",
]
