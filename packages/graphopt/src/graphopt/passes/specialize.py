"""Specialization: replace general ops by cheaper special cases once the graph is canonical.

Powers by small constants, division by constants, x*x, sum(x*y) of vectors,
and dot plus a scaled add into the BLAS forms Gemm/Gemv/Ger.
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Constant
from graphcore.scalar import ops as so
from graphcore.tensor import math as m
from graphcore.tensor.basic import constant
from graphcore.tensor.blas import Gemm, Gemv, Ger
from graphcore.tensor.dot import Dot
from graphcore.tensor.elemwise import DimShuffle, Elemwise
from graphcore.tensor.reduction import Reduce

from graphopt.rewriting.basic import node_rewriter
from graphopt.rewriting.pattern import pattern_rewriter


def _is_float(x):
    return x.type.dtype[0] == "f"


specialize_patterns = pattern_rewriter("specialize_patterns", [
    ((so.Pow, "x", 2), lambda x: m.sqr(x)),                         # x ** 2 = sqr(x)
    ((so.Pow, "x", 0.5), lambda x: m.sqrt(x), _is_float),           # x ** 0.5 = sqrt(x)
    ((so.Pow, "x", -1), lambda x: m.reciprocal(x), _is_float),      # x ** -1 = 1 / x
    ((so.Pow, "x", -0.5), lambda x: m.reciprocal(m.sqrt(x)), _is_float),  # x ** -0.5 = 1 / sqrt(x)
    ((so.Mul, "x", "x"), lambda x: m.sqr(x)),                       # x * x = sqr(x)
    ((so.TrueDiv, 1, "x"), lambda x: m.reciprocal(x), _is_float),   # 1 / x = reciprocal(x)
])


@node_rewriter([so.TrueDiv])
def div_by_constant(fgraph, node):
    """x / c -> x * (1 / c) for a float constant c (a multiply is cheaper than a divide)"""
    x, c = node.inputs
    out = node.outputs[0]
    if not isinstance(c, Constant) or not _is_float(out) or c.type.dtype != out.type.dtype:
        return None
    data = np.asarray(c.data)
    if data.size > 4096 or np.any(data == 0):
        return None
    with np.errstate(all="ignore"):
        inv = (1 / data).astype(out.type.dtype)
    return [m.mul(x, constant(inv))]


@node_rewriter([Reduce])
def sum_of_product_to_dot(fgraph, node):
    """sum(x * y) over the only axis of vectors x, y -> dot(x, y)"""
    op = node.op
    if op.scalar_op.name != "add" or op.axis != (0,):
        return None
    p = node.inputs[0]
    if p.owner is None or type(p.owner.op) is not Elemwise or not isinstance(p.owner.op.scalar_op, so.Mul):
        return None
    if len(p.owner.inputs) != 2 or len(fgraph.clients.get(p, ())) != 1:
        return None
    x, y = p.owner.inputs
    out = node.outputs[0]
    if x.type.ndim != 1 or x.type != y.type or not _is_float(x) or out.type.dtype != x.type.dtype:
        return None
    if x.type.shape[0] == 1 or y.type.shape[0] == 1:
        return None
    return [Dot()(x, y)]


def _scaled_dot(v, fgraph):
    """(alpha, dot node) when v = dot(a, b) or v = c * dot(a, b) with a 0-d scale c, else None."""
    node = v.owner
    if node is None:
        return None
    if isinstance(node.op, Dot) and len(fgraph.clients.get(v, ())) == 1:
        return 1, node
    if type(node.op) is Elemwise and isinstance(node.op.scalar_op, so.Mul) and len(node.inputs) == 2 \
            and len(fgraph.clients.get(v, ())) == 1:
        for a, b in (node.inputs, node.inputs[::-1]):
            if all(a.type.broadcastable) and b.owner is not None and isinstance(b.owner.op, Dot) \
                    and len(fgraph.clients.get(b, ())) == 1 and b.type == v.type:
                return _as_scalar(a), b.owner
    return None


def _outer(v, fgraph):
    """(alpha, x, y) when v = [c *] x[:, None] * y[None, :] for vectors x, y, else None."""
    node = v.owner
    if node is None or type(node.op) is not Elemwise or not isinstance(node.op.scalar_op, so.Mul):
        return None
    if len(fgraph.clients.get(v, ())) != 1 or v.type.ndim != 2:
        return None
    col = row = None
    scale = []
    for i in node.inputs:
        o = i.owner
        if o is not None and isinstance(o.op, DimShuffle) and o.inputs[0].type.ndim == 1:
            if o.op.new_order == (0, "x") and col is None:
                col = o.inputs[0]
                continue
            if o.op.new_order == ("x", 0) and row is None:
                row = o.inputs[0]
                continue
        if all(i.type.broadcastable):
            scale.append(i)
            continue
        return None
    if col is None or row is None or len(scale) > 1:
        return None
    return (_as_scalar(scale[0]) if scale else 1), col, row


def _as_scalar(v):
    if isinstance(v, (int, float)):
        return v
    if v.type.ndim == 0:
        return v
    return DimShuffle(v.type.broadcastable, ())(v)


@node_rewriter([so.Add, so.Sub])
def dot_to_blas(fgraph, node):
    """z + a * dot(x, y) -> gemm(z, a, x, y, 1); z - a * dot(A, v) -> gemv(z, -a, A, v, 1);
    z + a * outer(x, y) -> ger(z, a, x, y)"""
    out = node.outputs[0]
    if node.op.inplace_pattern or not _is_float(out) or out.type.ndim not in (1, 2):
        return None
    is_sub = isinstance(node.op.scalar_op, so.Sub)
    inputs = list(node.inputs)
    for k, term in enumerate(inputs):
        if is_sub and k == 0:
            continue
        sign = -1 if is_sub else 1
        found = _scaled_dot(term, fgraph)
        outer = None if found is not None else _outer(term, fgraph)
        if found is None and outer is None:
            continue
        rest = inputs[:k] + inputs[k + 1:]
        zs = [r for r in rest if r.type == out.type]
        if len(rest) != 1 or not zs:
            continue
        z = zs[0]
        if found is not None:
            alpha, dnode = found
            x, y = dnode.inputs
            if x.type.dtype != out.type.dtype or y.type.dtype != out.type.dtype:
                continue
            alpha = m.neg(alpha) if (sign < 0 and not isinstance(alpha, (int, float))) else \
                (sign * alpha if isinstance(alpha, (int, float)) else alpha)
            alpha = m.cast(alpha, out.type.dtype) if not isinstance(alpha, (int, float)) else \
                constant(np.asarray(alpha, dtype=out.type.dtype))
            one = constant(np.asarray(1, dtype=out.type.dtype))
            if x.type.ndim == 2 and y.type.ndim == 2 and out.type.ndim == 2:
                return [Gemm()(z, alpha, x, y, one)]
            if x.type.ndim == 2 and y.type.ndim == 1 and out.type.ndim == 1:
                return [Gemv()(z, alpha, x, y, one)]
            continue
        alpha, x, y = outer
        if out.type.ndim != 2 or x.type.dtype != out.type.dtype or y.type.dtype != out.type.dtype:
            continue
        if not isinstance(alpha, (int, float)):
            alpha = m.cast(m.neg(alpha) if sign < 0 else alpha, out.type.dtype)
        else:
            alpha = constant(np.asarray(sign * alpha, dtype=out.type.dtype))
        return [Ger()(z, alpha, x, y)]
    return None


REWRITERS = [specialize_patterns, div_by_constant, sum_of_product_to_dot, dot_to_blas]
