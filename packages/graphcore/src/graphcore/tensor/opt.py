"""Theano's `theano.tensor.opt`: the rewrite passes and the rewrite registration spellings.

A facade over `graphcore.optimize` (where the names are defined and documented):

    from graphcore.tensor.opt import register_canonicalize, local_optimizer
    @register_canonicalize
    @local_optimizer([T.Elemwise])
    def local_my_rewrite(node): ...
"""

from graphcore.optimize import (LocalRewriter, TopoRewriter, canonicalize,  # noqa: F401
                                constant_folding, fold_constants, fusion, in2out, inplace,
                                local_optimizer, merge, node_rewriter, out2in,
                                register_canonicalize, register_specialize, register_stabilize,
                                remove_constant_inputs, simplify, specialize, stabilize)
