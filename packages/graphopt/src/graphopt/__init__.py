"""graphopt: the graphcore optimizer.

Rewrite engine (`graphopt.rewriting`), optimization passes (`graphopt.passes`:
merge, constant folding, useless, canonicalize, shape, stabilize, specialize,
fusion, inplace) and the scheduler (`graphopt.schedule`) that turns an
optimized graph into a Program. graphcore finds it through the
``graphcore.rewrites`` entry point, never by importing it directly.
"""

__version__ = "1.0.0"

__all__ = ["__version__", "register", "rewrite_graph"]


def register(db):
    """Entry point of group graphcore.rewrites: adds graphopt's rewrites to the rewrite database.

    graphcore calls this once, the first time it builds an optimizer, so
    importing graphopt stays free of work.
    """
    from graphopt.database import register as _register

    _register(db)


def rewrite_graph(outputs, include=("fast_run",), exclude=(), clone=True, **kwargs):
    """Apply the rewrites selected by tags/names (`include`, `exclude`) to a graph; return new outputs.

    `outputs` is a Variable or a list of them (the result has the same form).
    Inputs of the graph stay as they are; the given graph is not modified.
    """
    from graphcore.graph.fg import FunctionGraph
    from graphcore.graph.traversal import graph_inputs
    from graphcore.graph.basic import Constant, Variable
    from graphcore.rewrite_db import Query, rewrite_db
    from graphcore.config import config

    single = isinstance(outputs, Variable)
    outs = [outputs] if single else list(outputs)
    if isinstance(include, str):
        include = (include,)
    if isinstance(exclude, str):
        exclude = (exclude,)
    inputs = [v for v in graph_inputs(outs) if not isinstance(v, Constant)]
    fgraph = FunctionGraph(inputs, outs, clone=clone)
    query = Query(include=tuple(include), exclude=tuple(exclude))
    for entry in rewrite_db().query(query):
        rw = entry.rewrite.select(query) if hasattr(entry.rewrite, "select") else entry.rewrite
        try:
            rw.apply(fgraph)
        except Exception:
            if config.on_opt_error == "raise":
                raise
    if clone:
        # map the cloned inputs back to the caller's variables
        from graphcore.graph.replace import clone_replace

        new = clone_replace(fgraph.outputs, dict(zip(fgraph.inputs, inputs)))
    else:
        new = list(fgraph.outputs)
    return new[0] if single else new
