"""Merge (common subexpression elimination): identical constants and identical Apply nodes.

One pass in topological order with a hash table keyed by (op, input identities):
after a node's inputs have been merged, an identical earlier node is found in
O(1), so the pass is linear in the size of the graph.
"""

from __future__ import annotations

from graphcore.graph.basic import Constant

from graphopt.rewriting.drivers import GraphRewriter


class MergeRewriter(GraphRewriter):
    """a*b + a*b -> t + t with t = a*b computed once; equal constants become one."""

    name = "merge"

    def apply(self, fgraph):
        consts = {}
        seen = {}
        merged = 0
        for var in list(fgraph.variables):
            if isinstance(var, Constant) and var in fgraph.clients:
                key = var.tag.__dict__.get("merge_key")
                if key is None:
                    key = var.signature()
                    var.tag.merge_key = key
                canon = consts.setdefault(key, var)
                if canon is not var:
                    fgraph.replace(var, canon, reason="merge")
                    merged += 1
        apply_nodes = fgraph.apply_nodes
        for node in fgraph.toposort():
            if node not in apply_nodes:
                continue
            sig = (node.op, tuple(map(id, node.inputs)))
            try:
                other = seen.get(sig)
            except TypeError:  # unhashable op props
                continue
            if other is None or getattr(node.op, "destroy_map", None):
                seen[sig] = node
                continue
            if any(a.type != b.type for a, b in zip(node.outputs, other.outputs)):
                continue
            fgraph.replace_all_validate(list(zip(node.outputs, other.outputs)), reason="merge")
            merged += 1
        return {"merge": merged} if merged else {}


merge_rewriter = MergeRewriter()
