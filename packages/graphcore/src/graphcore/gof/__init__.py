"""Theano's `theano.gof` as custom-op authors import it, over graphcore's graph package.

    from graphcore import gof                  # import theano.gof as gof
    class MyOp(gof.Op):
        def make_node(self, x): return gof.Apply(self, [x], [x.type()])
        def perform(self, node, inputs, outputs): ...

`gof.graph`, `gof.opt`, `gof.toolbox` and `gof.type` hold Theano's names in those
modules; the rewrites reach graphopt through graphcore.optimize.
"""

from graphcore.gof import graph, opt, toolbox, type  # noqa: F401,A004
from graphcore.graph import (Apply, Constant, Feature, FunctionGraph,  # noqa: F401
                             InconsistencyError, MissingInputError, Op, Type, Variable)
from graphcore.graph.shared import Container  # noqa: F401
from graphcore.compile.sharedvalue import generic  # noqa: F401
from graphcore.optimize import (LocalRewriter as LocalOptimizer,  # noqa: F401
                                TopoRewriter as TopoOptimizer, in2out, local_optimizer, out2in)

