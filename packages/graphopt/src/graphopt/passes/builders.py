"""Inlining OpFromGraph nodes built with inline=True, so their graph is optimized with the rest."""

from __future__ import annotations

from graphcore.compile.builders import OpFromGraph

from graphopt.rewriting.basic import node_rewriter


@node_rewriter([OpFromGraph])
def inline_op_from_graph(fgraph, node):
    """OpFromGraph(inputs, outputs, inline=True)(x) -> outputs with inputs := x"""
    if not node.op.is_inline:
        return None
    return node.op.inline_graph(node.inputs)


REWRITERS = [inline_op_from_graph]
