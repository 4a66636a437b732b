"""The rewrite passes by name, as articles on Theano's optimizations spell them.

    from graphcore import optimize
    f = optimize.fusion(f)            # a compiled function, with elementwise fusion
    fg = optimize.canonicalize(fg)    # a FunctionGraph, rewritten (a new one)
    y2 = optimize.constant_folding(y) # a variable (or a list), rewritten

Each pass takes a compiled function, a FunctionGraph, or a variable / list of
variables and returns the same kind:

- a compiled function is compiled again from its definition with its mode
  including the pass (same inputs, outputs, updates, shared variables and
  defaults); when its mode already runs every rewrite of the pass, the
  function itself is returned (nothing to do: FAST_RUN already fuses);
- a FunctionGraph is cloned and the pass runs on the clone;
- variables are rewritten in a graph of their own and returned in terms of
  the same inputs.

The passes are the rewrite database's entries (graphopt fills it through the
`graphcore.rewrites` entry point); without graphopt installed each pass is an
error saying so. `graphcore.tensor.opt` re-exports these names with Theano's
`theano.tensor.opt` spellings (`register_canonicalize`, `in2out`, ...).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from graphcore.compile.function_module import Function, function_from_spec
from graphcore.compile.mode import Mode, get_mode
from graphcore.compile.rewrite_db import PHASES, Query, rewrite_db
from graphcore.graph.basic import Constant, Variable
from graphcore.graph.fg import FunctionGraph
from graphcore.graph.replace import clone_replace
from graphcore.graph.traversal import graph_inputs


def _entries(query: Query) -> list[str]:
    return [e.name for e in rewrite_db().query(query)]


def rewrite(obj: Any, *tags: str, exclude: Sequence[str] = ()) -> Any:
    """Run the rewrites tagged with any of `tags` (and none of `exclude`) on a compiled
    function, a FunctionGraph, or a variable / list of variables; return the same kind."""
    query = Query(include=tuple(tags), exclude=tuple(exclude))
    if not _entries(query):
        raise LookupError(f"no rewrite in the database has the tags {tags} (is graphopt "
                          "installed? pip install graphcore[cpu])")
    if isinstance(obj, Function):
        return _rewrite_function(obj, query)
    if isinstance(obj, FunctionGraph):
        fgraph = obj.clone()
        rewrite_db().apply(fgraph, query)
        return fgraph
    if isinstance(obj, Variable):
        return _rewrite_variables([obj], query)[0]
    if isinstance(obj, (list, tuple)) and all(isinstance(v, Variable) for v in obj):
        return type(obj)(_rewrite_variables(list(obj), query))
    raise TypeError(f"expected a compiled function, a FunctionGraph or symbolic variables, got "
                    f"{type(obj).__name__}")


def _rewrite_function(f: Function, query: Query) -> Function:
    mode = f.maker.mode
    runs = set(_entries(mode.effective_query(f.maker.backend)))
    wanted = set(_entries(query))
    if wanted <= runs:
        return f  # its mode already ran every rewrite of the pass
    new_mode = Mode(linker=mode.linker, optimizer=Query(
        mode.query.include + query.include, mode.query.exclude, mode.query.require))
    spec = dict(f.maker.spec, mode=new_mode)
    g = function_from_spec(spec, list(f._containers))
    g.trust_input = f.trust_input
    return g


def _rewrite_variables(outputs: list[Variable], query: Query) -> list[Variable]:
    inputs = [v for v in graph_inputs(outputs) if not isinstance(v, Constant)]
    # nothing of the caller's graph may be overwritten: every input is protected
    fgraph = FunctionGraph(inputs, outputs, clone=True,
                           protected_inputs=set(range(len(inputs))))
    rewrite_db().apply(fgraph, query)
    return clone_replace(list(fgraph.outputs), list(zip(fgraph.inputs, inputs)))


def merge(obj: Any) -> Any:
    """Identical computations computed once (merge)."""
    return rewrite(obj, "merge")


def constant_folding(obj: Any) -> Any:
    """Nodes whose inputs are all constants replaced by their values (with merging)."""
    return rewrite(obj, "merge", "simplify", exclude=("useless", "inline"))


def canonicalize(obj: Any) -> Any:
    """Algebraic canonical form: constant folding, useless ops removed, x * 1 -> x, ..."""
    return rewrite(obj, "merge", "canonicalize")


def stabilize(obj: Any) -> Any:
    """Numerically stable forms: log(1 + x) -> log1p(x), log(softmax(x)) -> log_softmax(x), ..."""
    return rewrite(obj, "merge", "canonicalize", "stabilize")


def specialize(obj: Any) -> Any:
    """Faster special cases: x ** 2 -> sqr(x), ..."""
    return rewrite(obj, "merge", "canonicalize", "specialize")


def fusion(obj: Any) -> Any:
    """Chains of elementwise ops (and reductions of them) fused into one loop."""
    return rewrite(obj, "merge", "canonicalize", "fusion")


def inplace(obj: Any) -> Any:
    """Ops overwrite a buffer nobody reads again instead of allocating."""
    return rewrite(obj, "merge", "inplace")


def simplify(obj: Any) -> Any:
    """Algebraic simplification: canonicalize plus the useless-op removals."""
    return canonicalize(obj)


fold_constants = constant_folding


def remove_constant_inputs(obj: Any) -> Any:
    """A FunctionGraph's inputs that are constants become constants of the graph (and are
    dropped from its inputs), then constant folding; other kinds: constant folding."""
    if isinstance(obj, FunctionGraph) and any(isinstance(i, Constant) for i in obj.inputs):
        outputs = clone_replace(list(obj.outputs),
                                [(i, i.clone()) for i in obj.inputs if isinstance(i, Constant)])
        obj = FunctionGraph([i for i in obj.inputs if not isinstance(i, Constant)], outputs)
    return constant_folding(obj)


# ------------------------------------------------------------ Theano's rewrite registration
class LocalRewriter:
    """A rewrite of single nodes, written as Theano wrote them: `fn(node)` (or
    `fn(fgraph, node)`) returns a list of replacements (one per output), a dict
    {old variable: new variable}, or False/None when it does not apply.

    `tracks` (op classes or op instances) restricts the nodes it looks at. It
    follows the node-rewriter protocol of the rewrite database's drivers
    (`name`, `tags`, `keys()`, `transform(fgraph, node)`).
    """

    def __init__(self, fn: Callable, tracks: Sequence[Any] | None = None,
                 name: str | None = None) -> None:
        self.fn = fn
        self.tracks = None if tracks is None else tuple(tracks)
        self.name = name or getattr(fn, "__name__", "local_rewrite")
        self.tags: tuple[str, ...] = ()
        self.__doc__ = fn.__doc__
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        self._takes_fgraph = len(params) >= 2

    def keys(self) -> None:
        return None  # looked at for every node; `tracks` is checked in transform

    def _tracks(self, node) -> bool:
        if self.tracks is None:
            return True
        op = node.op
        for t in self.tracks:
            if isinstance(t, type):
                if isinstance(op, t) or isinstance(getattr(op, "scalar_op", None), t):
                    return True
            elif op == t or getattr(op, "scalar_op", None) == t:
                return True
        return False

    def transform(self, fgraph, node):
        if not self._tracks(node):
            return None
        out = self.fn(fgraph, node) if self._takes_fgraph else self.fn(node)
        return out or None

    __call__ = transform

    def __repr__(self) -> str:
        return f"<LocalRewriter {self.name}>"


def local_optimizer(tracks: Sequence[Any] | None, inplace: bool = False,
                    requirements: Any = ()) -> Callable[[Callable], LocalRewriter]:
    """Theano's decorator: `@local_optimizer([T.Elemwise])` over `def local_x(node): ...`."""

    def wrap(fn: Callable) -> LocalRewriter:
        return LocalRewriter(fn, tracks)

    return wrap


def node_rewriter(tracks: Sequence[Any] | None, inplace: bool = False) -> Callable:
    """The same decorator under PyTensor's name."""
    return local_optimizer(tracks, inplace)


class TopoRewriter:
    """Theano's in2out / out2in: a graph rewrite applying local rewriters node by node, in
    (or against) the order of execution, until a sweep changes nothing."""

    def __init__(self, rewriters: Sequence[LocalRewriter], order: str = "in_to_out",
                 name: str | None = None, ignore_newtrees: bool = False) -> None:
        self.rewriters = list(rewriters)
        self.order = order
        self.name = name or "+".join(getattr(r, "name", "?") for r in self.rewriters)

    def apply(self, fgraph: FunctionGraph) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _ in range(100):  # sweeps; a rewrite loop that never settles is cut off
            changed = False
            nodes = fgraph.toposort()
            if self.order == "out_to_in":
                nodes = nodes[::-1]
            for node in nodes:
                if node not in fgraph.apply_nodes:
                    continue
                for r in self.rewriters:
                    out = r.transform(fgraph, node)
                    if not out:
                        continue
                    pairs = list(out.items()) if isinstance(out, dict) else \
                        list(zip(node.outputs, out))
                    fgraph.replace_all_validate(pairs, reason=r.name)
                    counts[r.name] = counts.get(r.name, 0) + 1
                    changed = True
                    break
            if not changed:
                break
        return counts

    def __repr__(self) -> str:
        return f"<TopoRewriter {self.order} {self.name}>"


def in2out(*rewriters: LocalRewriter, name: str | None = None, **kwargs: Any) -> TopoRewriter:
    return TopoRewriter(rewriters, "in_to_out", name)


def out2in(*rewriters: LocalRewriter, name: str | None = None, **kwargs: Any) -> TopoRewriter:
    return TopoRewriter(rewriters, "out_to_in", name)


def _register_in(phase: str) -> Callable:
    def register(rewriter: Any = None, *tags: str, name: str | None = None, **kwargs: Any) -> Any:
        """Add a local rewriter to this phase (FAST_RUN runs it); usable as a decorator,
        bare or with tags: `@register_canonicalize` or `@register_canonicalize('fast_run')`."""
        if isinstance(rewriter, str) or rewriter is None:
            more = () if rewriter is None else (rewriter,)
            return lambda r: register(r, *more, *tags, name=name)
        if not isinstance(rewriter, LocalRewriter) and callable(rewriter) and \
                not hasattr(rewriter, "transform"):
            rewriter = LocalRewriter(rewriter, None, name)
        if name is not None:
            rewriter.name = name
        db = rewrite_db()
        if phase not in db or not hasattr(db[phase].rewrite, "add"):
            raise LookupError(f"register_{phase}: the rewrite database has no {phase} phase "
                              "(is graphopt installed? pip install graphcore[cpu])")
        rewriter.tags = tuple(getattr(rewriter, "tags", ())) + tuple(tags) + (phase,)
        db[phase].rewrite.add(rewriter)
        return rewriter

    register.__name__ = f"register_{phase}"
    return register


register_canonicalize = _register_in("canonicalize")
register_stabilize = _register_in("stabilize")
register_specialize = _register_in("specialize")


def optimize_mode(obj: Any, mode: str | Mode) -> Any:
    """Every rewrite of a mode (e.g. 'FAST_RUN') on a FunctionGraph or variables."""
    query = get_mode(mode).effective_query()
    return rewrite(obj, *query.include, exclude=query.exclude)


__all__ = ["rewrite", "merge", "constant_folding", "fold_constants", "canonicalize", "stabilize",
           "specialize", "fusion", "inplace", "simplify", "remove_constant_inputs",
           "LocalRewriter", "local_optimizer", "node_rewriter", "TopoRewriter", "in2out",
           "out2in", "register_canonicalize", "register_stabilize", "register_specialize",
           "optimize_mode", "PHASES"]
