"""Scheduling: the execution order of an optimized graph, its liveness, and the Program.

The order is a greedy list schedule that keeps peak memory low: among the
nodes whose inputs are ready it runs the one that frees the most bytes
(inputs it is the last reader of) net of what it allocates, and among equals
the one reached first by a depth-first walk from the outputs (which finishes
one chain before starting the next). In-place ops add ordering constraints:
every other reader of a destroyed variable, or of a view of it, runs before
its destroyer. A node that overwrites an input's buffer (an in-place update of
a shared variable) runs only when nothing else is ready, so it comes after
every instruction that does not depend on it: those can raise without
having changed any input (graphcore.backends.undo then backs up only what
a later instruction might still fail after).
Liveness (which slots die after which instruction) and the in-place/view
maps are computed by `graphcore.backends.program.build_program`.
"""

from __future__ import annotations

import heapq

import numpy as np

from graphcore.compile.aliasing import outputs_aliasing
from graphcore.graph.basic import Constant
from graphcore.backends.program import build_program

from graphopt.passes.inplace import constrained_order, destroy_orderings


def _nbytes(var):
    t = var.type
    shape = getattr(t, "shape", None)
    if shape is None:
        return 0
    size = 1
    for s in shape:
        size *= 1000 if s is None else s  # unknown lengths: assume "large"
    try:
        return size * np.dtype(t.dtype).itemsize
    except TypeError:
        return 0


def input_destroyers(fgraph):
    """The nodes that overwrite the buffer of an fgraph input (directly, or through a view of
    it or an earlier in-place result)."""
    aliases_input = set(fgraph.inputs)
    out = set()
    for node in fgraph.toposort():
        dm = getattr(node.op, "destroy_map", None) or {}
        if any(node.inputs[i] in aliases_input for ins in dm.values() for i in ins):
            out.add(node)
        for i in node.inputs:
            if i in aliases_input:
                aliases_input.update(outputs_aliasing(node, i))
    return out


def memory_order(fgraph):
    """A topological order of fgraph's nodes that keeps the live-memory peak low."""
    base = fgraph.toposort()
    rank = {n: k for k, n in enumerate(base)}
    apply_nodes = fgraph.apply_nodes
    # dependencies: data edges plus "readers before destroyer"
    deps = {n: set() for n in base}
    for n in base:
        for i in n.inputs:
            if i.owner is not None and i.owner in apply_nodes:
                deps[n].add(i.owner)
    for n, before in destroy_orderings(fgraph).items():
        deps[n].update(before)  # readers of the overwritten buffer (and of its views) first
    users = {n: [] for n in base}
    for n, ds in deps.items():
        for d in ds:
            users[d].append(n)
    waiting = {n: len(ds) for n, ds in deps.items()}
    remaining_readers = {}
    for v, cl in fgraph.clients.items():
        remaining_readers[v] = sum(1 for c, _ in cl if c != "output")
    keep = set(fgraph.outputs) | set(fgraph.inputs)
    late = input_destroyers(fgraph)

    def score(n):
        freed = 0
        seen = set()
        for i in n.inputs:
            if i in seen or i in keep or isinstance(i, Constant) or i.owner is None:
                continue
            seen.add(i)
            if remaining_readers.get(i, 0) == sum(1 for j in n.inputs if j is i):
                freed += _nbytes(i)
        alloc = sum(_nbytes(o) for o in n.outputs)
        return (n in late, alloc - freed)

    heap = [(score(n), rank[n], n) for n in base if waiting[n] == 0]
    heapq.heapify(heap)
    order = []
    done = set()
    while heap:
        s, r, n = heapq.heappop(heap)
        if n in done:
            continue
        s2 = score(n)
        if s2 != s:
            heapq.heappush(heap, (s2, r, n))
            continue
        done.add(n)
        order.append(n)
        for i in n.inputs:
            if i in remaining_readers:
                remaining_readers[i] -= 1
        for u in users[n]:
            waiting[u] -= 1
            if waiting[u] == 0:
                heapq.heappush(heap, (score(u), rank[u], u))
    if len(order) != len(base):
        raise RuntimeError("schedule: the in-place constraints form a cycle; this is a graphopt bug")
    return order


def schedule(fgraph):
    """The Program for an optimized FunctionGraph: memory-aware order, liveness, in-place maps."""
    order = memory_order(fgraph) if len(fgraph.apply_nodes) < 20000 else constrained_order(fgraph)
    if order is None:
        raise RuntimeError("schedule: the in-place constraints form a cycle; this is a graphopt bug")
    return build_program(fgraph, order, mutable_inputs=fgraph.mutable_inputs)
