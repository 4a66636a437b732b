"""Theano's `theano.gof.opt`: local optimizers and the graph walkers that apply them
(defined in graphcore.optimize)."""

from graphcore.optimize import (LocalRewriter as LocalOptimizer,  # noqa: F401
                                TopoRewriter as TopoOptimizer, in2out, local_optimizer,
                                node_rewriter, out2in)
