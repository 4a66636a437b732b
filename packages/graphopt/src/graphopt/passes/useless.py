"""Useless-op removal: operations that return their input (or a trivially known value).

The one-line rules are a pattern table; the few that look at types are small
functions.
"""

from __future__ import annotations

import numpy as np

from graphcore.gradient import DisconnectedGrad, GradClip, GradScale, ZeroGrad
from graphcore.graph.basic import Constant
from graphcore.scalar import ops as so
from graphcore.tensor import math as m
from graphcore.tensor.elemwise import DimShuffle, Elemwise
from graphcore.tensor.reduction import Reduce
from graphcore.tensor.shape import Reshape, Shape, SpecifyShape

from graphopt.rewriting.basic import node_rewriter, scalar_constant
from graphopt.rewriting.pattern import pattern_rewriter


def _zeros(x):
    return m.zeros_like(x)


def _ones(x):
    return m.ones_like(x)


useless_patterns = pattern_rewriter("useless_patterns", [
    ((so.Neg, (so.Neg, "x")), lambda x: x),                      # -(-x) = x
    ((so.Sub, "x", 0), lambda x: x),                             # x - 0 = x
    ((so.Sub, "x", "x"), _zeros),                                # x - x = 0
    ((so.TrueDiv, "x", 1), lambda x: x),                         # x / 1 = x
    ((so.IntDiv, "x", 1), lambda x: x),                          # x // 1 = x (ints)
    ((so.Pow, "x", 1), lambda x: x),                             # x ** 1 = x
    ((so.Pow, "x", 0), _ones),                                   # x ** 0 = 1
    ((so.Identity, "x"), lambda x: x),                           # copy(x) = x (outputs are copied by Function)
    ((so.Reciprocal, (so.Reciprocal, "x")), lambda x: x),        # 1/(1/x) = x
    ((so.Abs, (so.Neg, "x")), lambda x: m.abs(x),
     lambda x: x.type.dtype[0] != "u"),                          # |-x| = |x| (not unsigned: -x wraps)
    ((so.Abs, (so.Abs, "x")), lambda x: m.abs(x)),               # ||x|| = |x|
    ((so.Sqr, (so.Neg, "x")), lambda x: m.sqr(x)),               # (-x)^2 = x^2
    ((so.Log, (so.Exp, "x")), lambda x: x),                      # log(exp(x)) = x
    ((so.Switch, "c", "x", "x"), lambda x: x),                   # switch(c, x, x) = x
    ((so.Invert, (so.Invert, "x")), lambda x: x,
     lambda x: x.type.dtype == "bool"),                          # not(not b) = b
])


@node_rewriter([so.Cast])
def useless_cast(fgraph, node):
    """cast(x, dtype of x) -> x; cast(cast(x, wider), dtype of x) -> x"""
    x = node.inputs[0]
    if x.type.dtype == node.outputs[0].type.dtype:
        return [x]
    if x.owner is not None and type(x.owner.op) is Elemwise and isinstance(x.owner.op.scalar_op, so.Cast):
        inner = x.owner.inputs[0]
        if inner.type.dtype == node.outputs[0].type.dtype and \
                np.can_cast(inner.type.dtype, x.type.dtype, "safe"):
            return [inner]
    return None


@node_rewriter([so.Add, so.Mul])
def useless_identity_operands(fgraph, node):
    """x + 0 -> x; x * 1 -> x; add(x) -> x (variadic: the neutral constants are dropped)"""
    op = node.op
    if op.inplace_pattern:
        return None
    if len(node.inputs) == 1:
        return [node.inputs[0]]  # add(x) = mul(x) = x
    neutral = op.scalar_op.identity
    keep = [i for i in node.inputs if not (isinstance(i, Constant) and scalar_constant(i) == neutral)]
    if len(keep) == len(node.inputs):
        return None
    out = node.outputs[0]
    if not keep:
        return [_const_like(out, neutral, node)]
    new = keep[0] if len(keep) == 1 else op(*keep)
    if new.type.ndim != out.type.ndim or any(
            a == 1 and b != 1 for a, b in zip(out.type.shape, new.type.shape)):
        return None
    if any(b == 1 and a != 1 for a, b in zip(out.type.shape, new.type.shape)):
        return None  # a dropped constant carried the broadcast shape
    return [new]


def _const_like(out, value, node):
    return m.fill(node.inputs[0], np.asarray(value, dtype=out.type.dtype))


@node_rewriter([DimShuffle])
def useless_dimshuffle(fgraph, node):
    """dimshuffle identity -> x; dimshuffle(dimshuffle(x)) -> one dimshuffle (double transpose -> x)"""
    op = node.op
    x = node.inputs[0]
    if op.new_order == tuple(range(x.type.ndim)):
        return [x]
    if x.owner is not None and isinstance(x.owner.op, DimShuffle):
        inner = x.owner.op
        y = x.owner.inputs[0]
        order = tuple("x" if o == "x" else inner.new_order[o] for o in op.new_order)
        if order == tuple(range(y.type.ndim)):
            return [y]
        return [DimShuffle(y.type.broadcastable, order)(y)]
    return None


@node_rewriter([Reshape])
def useless_reshape(fgraph, node):
    """reshape(x, shape of x) -> x"""
    x, shp = node.inputs
    out = node.outputs[0]
    if out.type.ndim != x.type.ndim:
        return None
    if shp.owner is not None and isinstance(shp.owner.op, Shape) and shp.owner.inputs[0] is x:
        return [x]
    if isinstance(shp, Constant) and None not in x.type.shape and \
            tuple(int(s) for s in np.asarray(shp.data)) == x.type.shape:
        return [x]
    if x.owner is not None and isinstance(x.owner.op, Reshape) and \
            len(fgraph.clients.get(x, ())) == 1:
        return [Reshape(node.op.ndim)(x.owner.inputs[0], shp)]  # reshape(reshape(y, s1), s2)
    return None


@node_rewriter([SpecifyShape])
def useless_specify_shape(fgraph, node):
    """specify_shape(x, s) -> x when x's type already says s"""
    x = node.inputs[0]
    if all(s is None or s == t for s, t in zip(node.op.shape, x.type.shape)):
        return [x]
    return None


@node_rewriter([Reduce])
def useless_reduce(fgraph, node):
    """sum(x, axis=()) -> x; sum over length-1 axes -> dropping them"""
    x = node.inputs[0]
    out = node.outputs[0]
    if not node.op.axis:
        return [m.cast(x, out.type.dtype)]
    if all(x.type.shape[a] == 1 for a in node.op.axis):
        kept = [d for d in range(x.type.ndim) if d not in node.op.axis]
        return [m.cast(DimShuffle(x.type.broadcastable, kept)(x), out.type.dtype)]
    return None


@node_rewriter([DisconnectedGrad, ZeroGrad, GradScale, GradClip])
def gradient_only_op(fgraph, node):
    """disconnected_grad(x) -> x; zero_grad(x), grad_scale(x, k), grad_clip(x, lo, hi) -> x
    (they only change what grad() builds; in the compiled forward pass they are identities)"""
    return [node.inputs[0]]


REWRITERS = [gradient_only_op, useless_patterns, useless_cast, useless_identity_operands, useless_dimshuffle,
             useless_reshape, useless_specify_shape, useless_reduce]
