"""Which variables may share memory, from what ops declare (view_map, destroy_map,
aliased_outputs, fresh_outputs): the one place these rules are written, for function()'s
output copies and graphopt's inplace pass."""

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


def destroy_root(var):
    """Follow destroy_map only: the variable whose buffer an in-place chain wrote `var` into."""
    while var.owner is not None:
        dm = getattr(var.owner.op, "destroy_map", {})
        idx = var.owner.outputs.index(var)
        if idx not in dm:
            return var
        var = var.owner.inputs[dm[idx][0]]
    return var


def outputs_aliasing(node, var):
    """The outputs of `node` that may share memory with its input `var` (`op.aliased_outputs`)."""
    return [node.outputs[o] for o, ins in node.op.aliased_outputs(node).items()
            if any(node.inputs[i] is var for i in ins)]


def owns_buffer(var):
    """True when `var`'s buffer is certainly its own: not an input's buffer, a view of one or a
    read-only broadcast. Ops say so with `fresh_outputs`; an output written in place
    (destroy_map) owns its buffer when the overwritten input did."""
    node = var.owner
    if node is None:
        return False
    op = node.op
    k = var.index
    if k in op.aliased_outputs(node):
        return False
    if k in op.destroy_map:
        return owns_buffer(node.inputs[op.destroy_map[k][0]])
    return bool(op.fresh_outputs)


def outputs_needing_copy(fgraph, n_returned):
    """Indices of outputs that must be copied so callers never alias internal or shared storage.

    An output needs a copy when it may view a function input, a constant or
    a shared value, or when another output (or an update) shares its buffer.
    One exception: an update whose value was computed in place in the very
    buffer of the input it updates (fgraph.update_mapping, through destroy_map
    only, no view) is stored back as it is -- the container keeps its own
    array; any other output sharing that buffer is copied.
    """
    inputs = set(fgraph.inputs)
    update_mapping = fgraph.update_mapping
    roots = [view_root(o) for o in fgraph.outputs]
    need = set()
    groups = {}
    owner = {}
    for k, (out, root) in enumerate(zip(fgraph.outputs, roots)):
        j = update_mapping.get(k)
        own = j is not None and root is fgraph.inputs[j] and destroy_root(out) is root \
            and root not in owner
        if own:
            owner[root] = k
        elif root in inputs or isinstance(root, Constant):
            need.add(k)
        groups.setdefault(root, []).append(k)
    for root, ks in groups.items():
        if len(ks) > 1:
            need.update(k for k in ks if owner.get(root) != k)
    return need
