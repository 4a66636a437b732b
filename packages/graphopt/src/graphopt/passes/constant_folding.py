"""Constant folding: a node whose inputs are all constants becomes a constant.

Outputs larger than config.constant_folding_max_size elements are not folded
(the graph would carry a large array and compile slowly); ops may refuse with
`do_constant_folding(fgraph, node)` (e.g. Alloc of a large array).
"""

from __future__ import annotations

import numpy as np

from graphcore.config import config
from graphcore.graph.basic import Constant

from graphopt.rewriting.basic import node_rewriter


def _too_big(node):
    limit = config.constant_folding_max_size
    for o in node.outputs:
        shape = getattr(o.type, "shape", None)
        if shape is not None and None not in shape and int(np.prod(shape)) > limit:
            return True
    return False


@node_rewriter(None)
def constant_folding(fgraph, node):
    """op(c1, c2, ...) -> c, the value computed now"""
    inputs = node.inputs
    if not inputs or not all(isinstance(i, Constant) for i in inputs):
        return None
    op = node.op
    if getattr(op, "destroy_map", None) or not op.do_constant_folding(fgraph, node):
        return None
    if _too_big(node):
        return None
    if not all(hasattr(o.type, "make_constant") for o in node.outputs):
        return None
    storage = [[None] for _ in node.outputs]
    try:
        op.perform(node, [np.array(i.data, copy=True) if getattr(i.data, "ndim", 0) else i.data
                          for i in inputs], storage)
    except Exception:  # noqa: BLE001  an error here is the user's error at run time, not ours
        return None
    out = []
    limit = config.constant_folding_max_size
    for o, (value,) in zip(node.outputs, storage):
        value = np.asarray(value)
        if value.size > limit:
            return None
        if value.dtype != o.type.numpy_dtype:
            value = value.astype(o.type.numpy_dtype)
        c = o.type.make_constant(value)
        out.append(c)
    return out
