"""Which outputs may share memory with inputs, constants or each other (decided at compile time)."""

from __future__ import annotations

from graphcore.graph.basic import Constant


def view_root(var):
    """Follow view_map/destroy_map back to the variable whose buffer `var` may share."""
    while var.owner is not None:
        op = var.owner.op
        idx = var.owner.outputs.index(var)
        src = getattr(op, "view_map", {}).get(idx) or getattr(op, "destroy_map", {}).get(idx)
        if not src:
            return var
        var = var.owner.inputs[src[0]]
    return var


def outputs_needing_copy(fgraph, n_returned):
    """Indices of outputs that must be copied so callers never alias internal or shared storage.

    An output needs a copy when it may view a function input, a constant or
    a shared value, or when another output (or an update) shares its buffer.
    """
    inputs = set(fgraph.inputs)
    roots = [view_root(o) for o in fgraph.outputs]
    need = set()
    seen = {}
    for k, (out, root) in enumerate(zip(fgraph.outputs, roots)):
        if root in inputs or isinstance(root, Constant):
            need.add(k)
        if root in seen:
            need.add(k)
            need.add(seen[root])
        else:
            seen[root] = k
    return need
