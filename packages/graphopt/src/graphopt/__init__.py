"""graphopt: the graphcore optimizer.

Rewrite engine (`graphopt.rewriting`), optimization passes (`graphopt.passes`:
merge, constant folding, useless, canonicalize, shape, stabilize, specialize,
fusion, inplace) and the scheduler (`graphopt.schedule`) that turns an
optimized graph into a Program. graphcore finds it through the
``graphcore.rewrites`` entry point (``graphopt:register``, which graphcore
calls once, the first time it builds an optimizer), never by importing it
directly.
"""

__version__ = "1.0.0"

from graphcore.compile.rewrite_db import Query, rewrite_db  # noqa: E402
from graphcore.graph.basic import Constant, Variable  # noqa: E402
from graphcore.graph.fg import FunctionGraph  # noqa: E402
from graphcore.graph.replace import clone_replace  # noqa: E402
from graphcore.graph.traversal import graph_inputs  # noqa: E402

from graphopt.database import register  # noqa: E402

__all__ = ["__version__", "register", "rewrite_graph"]


def rewrite_graph(outputs, include=("fast_run",), exclude=(), clone=True, **kwargs):
    """Apply the rewrites selected by tags/names (`include`, `exclude`) to a graph; return new outputs.

    `outputs` is a Variable or a list of them (the result has the same form).
    Inputs of the graph stay as they are; the given graph is not modified.
    The rewrites run through the same loop as a compiled function's
    (`RewriteDB.apply`, honouring `config.on_opt_error`). Other keyword
    arguments (Theano's rewrite_graph options) are accepted and ignored.
    """
    single = isinstance(outputs, Variable)
    outs = [outputs] if single else list(outputs)
    if isinstance(include, str):
        include = (include,)
    if isinstance(exclude, str):
        exclude = (exclude,)
    inputs = [v for v in graph_inputs(outs) if not isinstance(v, Constant)]
    fgraph = FunctionGraph(inputs, outs, clone=clone)
    rewrite_db().apply(fgraph, Query(include=tuple(include), exclude=tuple(exclude)))
    if clone:  # map the cloned inputs back to the caller's variables
        new = clone_replace(fgraph.outputs, dict(zip(fgraph.inputs, inputs)))
    else:
        new = list(fgraph.outputs)
    return new[0] if single else new
