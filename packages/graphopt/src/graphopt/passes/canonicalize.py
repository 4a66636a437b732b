"""Canonicalization: put arithmetic in one normal form so other rewrites (and merge) see through it.

- add/mul chains flatten: (a + b) + c -> add(a, b, c) (when the inner sum has no other user),
  up to MAX_OPERANDS - 1 inputs per node (the fusion operand limit), so a gradient chain of n
  multiplications becomes n / 30 bounded nodes instead of one n-input node rebuilt n times;
- their constants are collected: 2 * x * 3 -> 6 * x;
- terms cancel: (a + b) - b -> a, a + (-a) -> 0, (a * b) / b -> a, x * (1 / x) * y -> y;
- dimshuffles (transposes included) lift through elementwise ops so they meet and cancel:
  (x + y).T -> x.T + y.T.
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Constant
from graphcore.scalar import ops as so
from graphcore.tensor import math as m
from graphcore.tensor.elemwise import DimShuffle, Elemwise

from graphopt.passes.fusion import MAX_OPERANDS
from graphopt.rewriting.basic import node_rewriter

# Inputs of a node that flattening builds, and terms that cancellation looks at: every
# application then costs O(MAX_OPERANDS), so canonicalize stays linear in the graph size.
MAX_TERMS = MAX_OPERANDS - 1


def _is_ew(var, scalar_cls):
    node = var.owner
    return (node is not None and type(node.op) is Elemwise and isinstance(node.op.scalar_op, scalar_cls)
            and not node.op.inplace_pattern)


def _single_client(fgraph, var):
    return len(fgraph.clients.get(var, ())) == 1


def _broadcast_like(new, out, witnesses):
    """`new` with the shape of `out`: a fill against a witness when a cancelled term carried it."""
    if new.type.ndim < out.type.ndim:
        new = new.dimshuffle(["x"] * (out.type.ndim - new.type.ndim) + list(range(new.type.ndim)))
    if all(not (b == 1 and a != 1) for a, b in zip(out.type.shape, new.type.shape)):
        return new
    for w in witnesses:
        if w.type.ndim == out.type.ndim and all(not (b == 1 and a != 1)
                                                for a, b in zip(out.type.shape, w.type.shape)):
            return m.fill(w, new)
    return None


def _folds_in(dtype, terms):
    """Whether an add/mul over `terms` computes every step in `dtype`: the n-ary node folds
    left to right in NumPy's dtypes, so int8 * int8 * float32 multiplies the int8s in int8
    (wrapping) first; once the first step is in `dtype`, every later one is."""
    return len(terms) <= 2 or np.result_type(terms[0].type.dtype, terms[1].type.dtype) == dtype


def _as_dtype(var, dtype):
    """`var` cast to `dtype` (itself when it has it)."""
    return var if var.type.dtype == dtype else m.cast(var, dtype)


def _dtype_first(terms, dtype):
    """`terms` reordered so that the fold computes in `dtype` (a term of that dtype first),
    or None when no term has it."""
    if _folds_in(dtype, terms):
        return terms
    k = next((k for k, t in enumerate(terms) if t.type.dtype == dtype), None)
    return None if k is None else [terms[k], *terms[:k], *terms[k + 1:]]


@node_rewriter([so.Add, so.Mul])
def flatten_and_collect(fgraph, node):
    """add(add(a, b), c) -> add(a, b, c); add(2, x, 3) -> add(5, x)"""
    op = node.op
    if op.inplace_pattern:
        return None
    cls = type(op.scalar_op)
    dtype = node.outputs[0].type.dtype
    if not _folds_in(dtype, node.inputs):
        return None  # a narrower first step (int8 * int8 * float32): regrouping changes it
    n_terms = len(node.inputs)
    terms, changed = [], False
    for i in node.inputs:
        # absorb an inner node only while the result stays within MAX_TERMS inputs
        if _is_ew(i, cls) and n_terms - 1 + len(i.owner.inputs) <= MAX_TERMS and \
                i.type.dtype == dtype and _single_client(fgraph, i) and \
                _folds_in(dtype, i.owner.inputs):
            terms.extend(i.owner.inputs)
            n_terms += len(i.owner.inputs) - 1
            changed = True
        else:
            terms.append(i)
    consts = [t for t in terms if isinstance(t, Constant)]
    if len(consts) > 1:
        # in the node's dtype, where the chain computes them: int8 14 * 14 in a float32
        # product is 196, not int8's -60
        ufunc = np.add if cls is so.Add else np.multiply
        value = np.asarray(consts[0].data, dtype=dtype)
        for c in consts[1:]:
            value = ufunc(value, np.asarray(c.data, dtype=dtype))
        value = np.asarray(value, dtype=dtype)
        terms = [t for t in terms if not isinstance(t, Constant)] + [m.constant(value)]
        changed = True
    if not changed:
        return None
    terms = _dtype_first(terms, dtype)  # a * (b * x), int8 a, b: x first, not a * b in int8
    if terms is None:
        return None
    new = Elemwise(op.scalar_op)(*terms) if len(terms) > 1 else terms[0]
    return [_broadcast_like(new, node.outputs[0], node.inputs)]


def _opened(fgraph, var, out, budget, classes):
    """The class (one of `classes`) of the scalar op computing `var` when its node may be
    opened up, else None. The node looked at (`out`) always may; below it, single-client
    nodes of out's dtype while the budget lasts: opening one costs the terms it adds, at
    least 1, so a walk costs O(MAX_TERMS) whatever the graph below looks like."""
    node = var.owner
    if node is None or type(node.op) is not Elemwise or node.op.inplace_pattern:
        return None
    kind = next((c for c in classes if isinstance(node.op.scalar_op, c)), None)
    if kind in (so.Add, so.Mul) and not _folds_in(out.type.dtype, node.inputs):
        return None  # int8 * int8 * float32 wraps in int8 first: not a product in out's dtype
    if kind is None or var is out:
        return kind
    cost = max(1, len(node.inputs) - 1)
    if budget[0] < cost or var.type.dtype != out.type.dtype or not _single_client(fgraph, var):
        return None
    budget[0] -= cost
    return kind


def _sum_terms(fgraph, var, sign, out, budget=None):
    """Flatten var into signed terms through single-client add/sub/neg (at most MAX_TERMS)."""
    if budget is None:
        budget = [MAX_TERMS - 1]
    kind = _opened(fgraph, var, out, budget, (so.Add, so.Sub, so.Neg))
    if kind is so.Add:
        res = []
        for i in var.owner.inputs:
            res.extend(_sum_terms(fgraph, i, sign, out, budget))
        return res
    if kind is so.Sub:
        a, b = var.owner.inputs
        return _sum_terms(fgraph, a, sign, out, budget) + _sum_terms(fgraph, b, -sign, out, budget)
    if kind is so.Neg:
        return _sum_terms(fgraph, var.owner.inputs[0], -sign, out, budget)
    return [(sign, var)]


def _cancel(terms):
    """Remove pairs (+1, v), (-1, v); return (kept terms, the cancelled variables). O(len(terms))."""
    kept = []
    open_ = {}  # (id(v), sign) -> positions in kept of terms not cancelled yet
    cancelled = []
    for s, v in terms:
        waiting = open_.get((id(v), -s))
        if waiting:
            kept[waiting.pop(0)] = None
            cancelled.append(v)
        else:
            open_.setdefault((id(v), s), []).append(len(kept))
            kept.append((s, v))
    if not cancelled:
        return terms, cancelled
    return [t for t in kept if t is not None], cancelled


@node_rewriter([so.Add, so.Sub])
def cancel_add_sub(fgraph, node):
    """(a + b) - b -> a; a + (-a) -> 0"""
    if node.op.inplace_pattern or np.dtype(node.outputs[0].type.dtype).kind not in "iuf":
        return None
    out = node.outputs[0]
    terms = _sum_terms(fgraph, out, 1, out)
    kept, cancelled = _cancel(terms)
    if not cancelled:
        return None
    dtype = out.type.dtype  # the opened nodes add in it: int8 terms left are cast, not added
    pos = [_as_dtype(v, dtype) for s, v in kept if s > 0]
    neg = [_as_dtype(v, dtype) for s, v in kept if s < 0]
    if not pos and not neg:
        new = m.zeros_like(cancelled[0], dtype=out.type.dtype)
    else:
        p = (pos[0] if len(pos) == 1 else m.add(*pos)) if pos else None
        n = (neg[0] if len(neg) == 1 else m.add(*neg)) if neg else None
        new = p if n is None else (m.neg(n) if p is None else m.sub(p, n))
    return [_broadcast_like(new, out, cancelled)]


def _prod_factors(fgraph, var, power, out, signs=None, budget=None):
    """Flatten var into (power, factor) pairs through single-client mul/div/reciprocal/neg
    (at most MAX_TERMS); each neg met appends to `signs` (so the product is negated when
    len(signs) is odd)."""
    if budget is None:
        budget = [MAX_TERMS - 1]
    classes = (so.Mul, so.TrueDiv, so.Reciprocal) + ((so.Neg,) if signs is not None else ())
    kind = _opened(fgraph, var, out, budget, classes)
    if kind is so.Mul:
        res = []
        for i in var.owner.inputs:
            res.extend(_prod_factors(fgraph, i, power, out, signs, budget))
        return res
    if kind is so.TrueDiv:
        a, b = var.owner.inputs
        return _prod_factors(fgraph, a, power, out, signs, budget) + \
            _prod_factors(fgraph, b, -power, out, signs, budget)
    if kind is so.Reciprocal:
        return _prod_factors(fgraph, var.owner.inputs[0], -power, out, signs, budget)
    if kind is so.Neg:
        signs.append(var)
        return _prod_factors(fgraph, var.owner.inputs[0], power, out, signs, budget)
    return [(power, var)]


def build_product(kept, out, negate, witnesses):
    """num / den from (power, factor) pairs, negated if asked, with `out`'s shape (or None)."""
    dtype = out.type.dtype  # the factors were multiplied in it: int8 ones are cast first
    num = [_as_dtype(v, dtype) for s, v in kept if s > 0]
    den = [_as_dtype(v, dtype) for s, v in kept if s < 0]
    one = np.asarray(1, dtype=dtype)
    n = (num[0] if len(num) == 1 else m.mul(*num)) if num else None
    d = (den[0] if len(den) == 1 else m.mul(*den)) if den else None
    if n is None and d is None:
        new = m.fill(witnesses[0], one) if witnesses else m.constant(one)
    elif d is None:
        new = n
    elif n is None:
        new = m.reciprocal(d)
    else:
        new = m.true_div(n, d)
    if negate:
        new = m.neg(new)
    return _broadcast_like(new, out, witnesses)


@node_rewriter([so.Mul, so.TrueDiv])
def cancel_mul_div(fgraph, node):
    """(a * b) / b -> a; x * (1 / x) * y -> y; -(a / b) * b -> -a (floats)"""
    out = node.outputs[0]
    if node.op.inplace_pattern or np.dtype(out.type.dtype).kind != "f":
        return None
    signs = []
    factors = _prod_factors(fgraph, out, 1, out, signs=signs)
    kept, cancelled = _cancel(factors)
    if not cancelled:
        return None
    return [build_product(kept, out, len(signs) % 2 == 1, cancelled)]


def _broadcastable_of(inputs):
    nd = inputs[0].type.ndim
    return tuple(all(i.type.broadcastable[d] for i in inputs) for d in range(nd))


@node_rewriter([Elemwise])
def fill_sink(fgraph, node):
    """f(fill(x, y), z) -> f(y, z) when z already gives the result x's shape; fill(x, y) -> y
    when y has the result's shape (x then only provided a shape; gradients are full of these)"""
    op = node.op
    if op.inplace_pattern:
        return None
    out = node.outputs[0]
    if isinstance(op.scalar_op, so.Second):
        x, y = node.inputs
        if y.type.broadcastable == out.type.broadcastable and y.type.dtype == out.type.dtype:
            return [y]
        return None
    new_inputs, changed = list(node.inputs), False
    for k, i in enumerate(node.inputs):
        if _is_ew(i, so.Second) and i.type.ndim == out.type.ndim:
            trial = new_inputs[:k] + [i.owner.inputs[1]] + new_inputs[k + 1:]
            if trial[k].type.ndim == out.type.ndim and \
                    _broadcastable_of(trial) == out.type.broadcastable:
                new_inputs = trial
                changed = True
    if not changed:
        return None
    new = op.make_node(*new_inputs).outputs
    if any(a.type.dtype != b.type.dtype for a, b in zip(new, node.outputs)):
        return None
    return new


@node_rewriter([DimShuffle])
def lift_dimshuffle(fgraph, node):
    """dimshuffle(f(a, b)) -> f(dimshuffle(a), dimshuffle(b)) for elementwise f"""
    x = node.inputs[0]
    inner = x.owner
    if inner is None or type(inner.op) is not Elemwise or inner.op.inplace_pattern or \
            len(inner.outputs) != 1 or not _single_client(fgraph, x):
        return None
    order = node.op.new_order
    new_inputs = [DimShuffle(i.type.broadcastable, order)(i) for i in inner.inputs]
    return [inner.op(*new_inputs)]


REWRITERS = [fill_sink, flatten_and_collect, cancel_add_sub, cancel_mul_div, lift_dimshuffle]
