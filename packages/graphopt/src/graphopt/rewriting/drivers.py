"""Graph rewriters and the drivers that apply node rewriters to a whole FunctionGraph.

`EquilibriumRewriter` keeps a worklist: it starts from one toposort of the
graph and afterwards revisits only nodes a change touched (new nodes, and
nodes whose inputs changed), until nothing applies. It also merges a
revisited node into an identical existing one (op and inputs equal), so
common subexpressions created by rewrites disappear without a full merge
pass. Every replacement node inherits the creation trace of the node it
replaces, so runtime errors still point at the user's line.
"""

from __future__ import annotations

import time
import warnings
from collections import deque

from graphcore.compile.rewrite_db import report_rewrite_failure
from graphcore.config import config
from graphcore.graph.basic import Constant
from graphcore.graph.fg import Feature, InconsistencyError

from graphopt.rewriting.basic import NodeRewriter, RewriterIndex, fit_replacement


class GraphRewriter:
    """A rewrite of a whole graph: `apply(fgraph)` edits it in place and returns a summary."""

    name = "graph_rewriter"

    def apply(self, fgraph):
        raise NotImplementedError

    def rewrite(self, fgraph):
        return self.apply(fgraph)


class FunctionGraphRewriter(GraphRewriter):
    """A GraphRewriter from a plain function `fn(fgraph)`."""

    def __init__(self, fn, name=None):
        self.fn = fn
        self.name = name or fn.__name__
        self.__doc__ = fn.__doc__

    def apply(self, fgraph):
        return self.fn(fgraph)


def graph_rewriter(fn):
    """Decorator: a function of the FunctionGraph becomes a GraphRewriter."""
    return FunctionGraphRewriter(fn)


class _Worklist(Feature):
    """Collects the nodes a change touches, so the driver revisits only those."""

    def __init__(self, queue, trace_holder):
        self.queue = queue
        self.trace_holder = trace_holder

    def on_import(self, fgraph, node, reason):
        trace = self.trace_holder[0]
        if trace is not None:
            node.tag.trace = trace  # the replacement points at the user's line
        self.queue.append(node)

    def on_change_input(self, fgraph, node, i, old, new, reason):
        if node != "output":
            self.queue.append(node)


def report_failure(rewriter, node, exc):
    """A node rewrite raised: re-raise, warn or go on, as config.on_opt_error says."""
    report_rewrite_failure(f"rewrite {rewriter.name!r} on {node}", exc, stacklevel=3)


def replacements_of(node, result):
    """Normalize a node rewriter's result into [(old, new)] pairs (or None)."""
    if result is None or result is False:
        return None
    if isinstance(result, dict):
        pairs = list(result.items())
    else:
        if not isinstance(result, (list, tuple)):
            result = [result]
        if len(result) != len(node.outputs):
            raise ValueError(f"rewrite returned {len(result)} replacements for {len(node.outputs)} outputs")
        pairs = [(o, n) for o, n in zip(node.outputs, result) if n is not None and n is not o]
    fitted = []
    for old, new in pairs:
        new2 = fit_replacement(old, new)
        if new2 is None:
            return None  # the rewrite proposed an incompatible type: skip it
        fitted.append((old, new2))
    return fitted or None


def _constant_key(c):
    key = getattr(c.tag, "merge_key", None)
    if key is None:
        key = c.signature()
        c.tag.merge_key = key
    return key


class EquilibriumRewriter(GraphRewriter):
    """Apply node rewriters until none applies, revisiting only nodes touched by a change."""

    def __init__(self, rewriters, name="equilibrium", merge=True, max_passes_factor=20):
        self.rewriters = list(rewriters)
        self.name = name
        self.merge = merge
        self.max_passes_factor = max_passes_factor
        self._index = None
        self._selected = {}

    def select(self, query):
        """This driver without the member rewriters that `query` excludes (by name or tag)."""
        exclude = set(query.exclude)
        if not exclude:
            return self
        key = tuple(sorted(exclude))
        got = self._selected.get(key)
        if got is None:
            keep = [r for r in self.rewriters
                    if not ({r.name} | set(getattr(r, "tags", ()))) & exclude]
            got = EquilibriumRewriter(keep, self.name, self.merge and "merge" not in exclude,
                                      self.max_passes_factor)
            self._selected[key] = got
        return got

    def add(self, rewriter):
        self.rewriters.append(rewriter)
        self._index = None
        return rewriter

    def register(self, *rewriters):
        for r in rewriters:
            self.add(r)
        return rewriters[0] if rewriters else None

    @property
    def index(self):
        if self._index is None:
            self._index = RewriterIndex(self.rewriters)
        return self._index

    def apply(self, fgraph):
        index = self.index
        queue = deque(fgraph.toposort())
        trace_holder = [None]
        listener = _Worklist(queue, trace_holder)
        fgraph.attach_feature(listener)
        counts = {}
        times = {} if config.profile_optimizer else None
        merge = self.merge
        sigs = {}  # (op, input ids) -> node
        consts = {}  # constant signature -> canonical Constant
        budget = self.max_passes_factor * (len(queue) + 10)
        apply_nodes = fgraph.apply_nodes
        try:
            while queue:
                node = queue.popleft()
                if node not in apply_nodes:
                    continue
                budget -= 1
                if budget < 0:
                    warnings.warn(f"{self.name}: stopped after too many rewrites (a rewrite cycle?)",
                                  stacklevel=2)
                    break
                if merge:
                    if self._merge_node(fgraph, node, sigs, consts, trace_holder):
                        counts["merge"] = counts.get("merge", 0) + 1
                        continue
                for rw in index.lookup(node):
                    t0 = time.perf_counter() if times is not None else 0
                    try:
                        result = rw.transform(fgraph, node)
                        pairs = replacements_of(node, result)
                    except Exception as exc:  # noqa: BLE001
                        report_failure(rw, node, exc)
                        continue
                    if not pairs:
                        if times is not None:
                            times[rw.name] = times.get(rw.name, 0.0) + time.perf_counter() - t0
                        continue
                    trace_holder[0] = getattr(node.tag, "trace", None)
                    try:
                        fgraph.replace_all_validate(pairs, reason=rw.name)
                    except InconsistencyError:
                        continue
                    except Exception as exc:  # noqa: BLE001
                        report_failure(rw, node, exc)
                        continue
                    finally:
                        trace_holder[0] = None
                    counts[rw.name] = counts.get(rw.name, 0) + 1
                    if times is not None:
                        times[rw.name] = times.get(rw.name, 0.0) + time.perf_counter() - t0
                    if node not in apply_nodes:
                        break
        finally:
            fgraph.remove_feature(listener)
        if times is not None:
            fgraph.__dict__.setdefault("rewrite_times", {}).update(times)
        return counts

    @staticmethod
    def _merge_node(fgraph, node, sigs, consts, trace_holder):
        # canonical constants first, so identical constants give identical signatures
        for i, inp in enumerate(node.inputs):
            if isinstance(inp, Constant):
                key = _constant_key(inp)
                canon = consts.get(key)
                if canon is None:
                    consts[key] = inp
                elif canon is not inp:
                    fgraph.change_node_input(node, i, canon, reason="merge")
        try:
            sig = (node.op, tuple(map(id, node.inputs)))
            hash(sig)
        except TypeError:
            return False
        other = sigs.get(sig)
        if other is None or other is node:
            sigs[sig] = node
            return False
        if other not in fgraph.apply_nodes or other.op != node.op or \
                any(a is not b for a, b in zip(other.inputs, node.inputs)) or \
                getattr(node.op, "destroy_map", None):
            sigs[sig] = node
            return False
        pairs = [(o, n) for o, n in zip(node.outputs, other.outputs) if o.type == n.type]
        if len(pairs) != len(node.outputs):
            return False
        try:
            fgraph.replace_all_validate(pairs, reason="merge")
        except Exception:  # noqa: BLE001
            return False
        return True


class SequenceRewriter(GraphRewriter):
    """Run graph rewriters one after the other."""

    def __init__(self, rewriters, name="sequence"):
        self.rewriters = list(rewriters)
        self.name = name

    def apply(self, fgraph):
        out = {}
        for r in self.rewriters:
            res = r.apply(fgraph)
            if isinstance(res, dict):
                for k, v in res.items():
                    out[k] = out.get(k, 0) + v
        return out


def as_graph_rewriter(r, name=None):
    """A GraphRewriter from a NodeRewriter (wrapped in an equilibrium), a function or itself."""
    if isinstance(r, NodeRewriter):
        return EquilibriumRewriter([r], name=name or r.name, merge=False)
    if hasattr(r, "apply"):
        return r
    if callable(r):
        return FunctionGraphRewriter(r, name)
    raise TypeError(f"cannot make a graph rewriter from {r!r}")


class WalkingRewriter(GraphRewriter):
    """Apply node rewriters in one walk over the graph (inputs first, or outputs first with
    order='out_to_in'), without revisiting: cheaper than an equilibrium when one pass is enough."""

    def __init__(self, rewriters, name="walking", order="in_to_out"):
        if order not in ("in_to_out", "out_to_in"):
            raise ValueError(f"WalkingRewriter: order must be 'in_to_out' or 'out_to_in', got {order!r}")
        self.rewriters = list(rewriters)
        self.name = name
        self.order = order
        self.index = RewriterIndex(self.rewriters)

    def apply(self, fgraph):
        nodes = fgraph.toposort()
        if self.order == "out_to_in":
            nodes.reverse()
        counts = {}
        times = {} if config.profile_optimizer else None  # seconds per node rewrite
        for node in nodes:
            if node not in fgraph.apply_nodes:
                continue
            for rw in self.index.lookup(node):
                t0 = time.perf_counter() if times is not None else 0
                try:
                    pairs = replacements_of(node, rw.transform(fgraph, node))
                except Exception as exc:  # noqa: BLE001
                    report_failure(rw, node, exc)
                    continue
                finally:
                    if times is not None:
                        times[rw.name] = times.get(rw.name, 0.0) + time.perf_counter() - t0
                if not pairs:
                    continue
                for old, new in pairs:
                    if new.owner is not None and old.owner is not None:
                        new.owner.tag.trace = getattr(old.owner.tag, "trace", ())
                try:
                    fgraph.replace_all_validate(pairs, reason=rw.name)
                except InconsistencyError:
                    continue
                counts[rw.name] = counts.get(rw.name, 0) + 1
                break
        if times is not None:
            fgraph.__dict__.setdefault("rewrite_times", {}).update(times)
        return counts
