"""Stabilization: rewrite expressions that overflow or lose precision into stable equivalents.

The nnet rewrites (log_softmax, crossentropy fusion, softmax gradient) are
built by `nnet_rewriters()`.
"""

from __future__ import annotations

from graphcore.scalar import ops as so
from graphcore.tensor import math as m
from graphcore.tensor.elemwise import DimShuffle, Elemwise
from graphcore.tensor.nnet.crossentropy import CrossentropyCategorical1Hot as CE1Hot
from graphcore.tensor.nnet.crossentropy import CrossentropyCategorical1HotGrad as CE1HotGrad
from graphcore.tensor.nnet.crossentropy import CrossentropySoftmax1HotWithBiasDx as CESMDx
from graphcore.tensor.nnet.softmax import Log1mSoftmax, Log1mSoftmaxGrad, LogSoftmax, Softmax, SoftmaxGrad
from graphcore.tensor.reduction import Reduce

from graphopt.passes import nll
from graphopt.rewriting.basic import node_rewriter, scalar_constant
from graphopt.rewriting.pattern import pattern_rewriter

stable_patterns = pattern_rewriter("stable_patterns", [
    ((so.Log, (so.Add, 1, (so.Exp, "x"))), lambda x: m.softplus(x)),       # log(1 + exp(x)) = softplus(x)
    ((so.Log1p, (so.Exp, "x")), lambda x: m.softplus(x)),                  # log1p(exp(x)) = softplus(x)
    ((so.Log, (so.Add, 1, "x")), lambda x: m.log1p(x)),                    # log(1 + x) = log1p(x)
    ((so.Sub, (so.Exp, "x"), 1), lambda x: m.expm1(x)),                    # exp(x) - 1 = expm1(x)
    ((so.Log, (so.Sigmoid, "x")), lambda x: m.neg(m.softplus(m.neg(x)))),  # log(sigmoid(x)) = -softplus(-x)
    ((so.Log, (so.Sub, 1, (so.Sigmoid, "x"))),
     lambda x: m.neg(m.softplus(x))),                                      # log(1 - sigmoid(x)) = -softplus(x)
    ((so.Log1p, (so.Neg, (so.Sigmoid, "x"))),
     lambda x: m.neg(m.softplus(x))),                                      # log1p(-sigmoid(x)) = -softplus(x)
    ((so.Sub, 1, (so.Sigmoid, "x")), lambda x: m.sigmoid(m.neg(x))),       # 1 - sigmoid(x) = sigmoid(-x)
])


@node_rewriter([so.Log])
def stable_logsumexp(fgraph, node):
    """log(sum(exp(x), axis)) -> max(x, axis) + log(sum(exp(x - max(x, axis)), axis))"""
    s = node.inputs[0]
    red = s.owner
    if red is None or not isinstance(red.op, Reduce) or red.op.scalar_op.name != "add":
        return None
    if getattr(red.tag, "stable_logsumexp", False):
        return None
    e = red.inputs[0]
    if e.owner is None or type(e.owner.op) is not Elemwise or not isinstance(e.owner.op.scalar_op, so.Exp):
        return None
    x = e.owner.inputs[0]
    if x.type.dtype[0] != "f":
        return None
    axis = red.op.axis
    mx = m.max(x, axis=axis, keepdims=True)
    # rows that are all -inf: keep the max finite so the result is -inf, not nan
    mx = m.switch(m.isinf(mx), 0, mx)
    inner = m.sum(m.exp(m.sub(x, mx)), axis=axis)
    inner.owner.tag.stable_logsumexp = True
    kept = [d for d in range(x.type.ndim) if d not in axis]
    mx_red = DimShuffle(mx.type.broadcastable, kept)(mx)
    return [m.add(m.log(inner), mx_red)]


def _exp_arg(v):
    o = v.owner
    if o is not None and type(o.op) is Elemwise and isinstance(o.op.scalar_op, so.Exp):
        return o.inputs[0]
    return None


def _one_plus(v):
    """u when v = 1 + u (either order), else None."""
    o = v.owner
    if o is None or type(o.op) is not Elemwise or not isinstance(o.op.scalar_op, so.Add) or len(o.inputs) != 2:
        return None
    a, b = o.inputs
    if scalar_constant(a) == 1:
        return b
    if scalar_constant(b) == 1:
        return a
    return None


def _float_product(fgraph, node):
    """(output, [(power, factor)], signs) of an out-of-place float product node, else Nones."""
    from graphopt.passes.canonicalize import _prod_factors

    out = node.outputs[0]
    if node.op.inplace_pattern or out.type.dtype[0] != "f":
        return None, None, None
    signs = []
    return out, _prod_factors(fgraph, out, 1, out, signs=signs), signs


@node_rewriter([so.Mul, so.TrueDiv])
def exp_over_one_plus_exp(fgraph, node):
    """exp(x) / (1 + exp(x)) -> sigmoid(x); 1 / (1 + exp(x)) -> sigmoid(-x) (inside products)"""
    from graphopt.passes.canonicalize import build_product

    out, factors, signs = _float_product(fgraph, node)
    if out is None:
        return None
    for k, (p, d) in enumerate(factors):
        if p >= 0:
            continue
        u = _one_plus(d)
        x = None if u is None else _exp_arg(u)
        if x is None:
            continue
        rest = factors[:k] + factors[k + 1:]
        for j, (p2, v) in enumerate(rest):
            if p2 > 0 and v is u:
                kept = rest[:j] + rest[j + 1:] + [(1, m.sigmoid(x))]
                break
        else:
            kept = rest + [(1, m.sigmoid(m.neg(x)))]
        return [build_product(kept, out, len(signs) % 2 == 1, [d])]
    return None


def _sum_of_exp(red):
    """x when red = sum(exp(x), axis) not yet shifted by the max, else None."""
    if red is None or not isinstance(red.op, Reduce) or red.op.scalar_op.name != "add":
        return None
    if getattr(red.tag, "stable_softmax", False):
        return None  # built by stable_softmax_ratio: already shifted by the max
    return _exp_arg(red.inputs[0])


def _scaled_sum_of_exp(fgraph, s):
    """(sum node, [(power, other factor)]) when s = sum(exp(x), axis) * prod(others ** power)
    (a mean is a sum divided by a count), else None."""
    if _sum_of_exp(s.owner) is not None:
        return s.owner, []
    if s.owner is None or type(s.owner.op) is not Elemwise or s.type.dtype[0] != "f":
        return None
    signs = []
    factors = _prod_factors_of(fgraph, s, signs)
    sums = [i for i, (p, f) in enumerate(factors) if p == 1 and _sum_of_exp(f.owner) is not None]
    if signs or len(sums) != 1 or any(f.type.ndim != s.type.ndim for _, f in factors):
        return None
    return factors[sums[0]][1].owner, factors[:sums[0]] + factors[sums[0] + 1:]


def _expanded_sum_of_exp(fgraph, v):
    """(x, exp(x), axis, [(power, other)]) when v = expand_dims(sum(exp(x), axis) * prod(others ** power))
    restoring the reduced axes (the others expanded the same way), else None."""
    o = v.owner
    if o is None or not isinstance(o.op, DimShuffle):
        return None
    found = _scaled_sum_of_exp(fgraph, o.inputs[0])
    if found is None:
        return None
    red, others = found
    x = _sum_of_exp(red)
    if x is None or x.type.ndim != v.type.ndim:
        return None
    axis = red.op.axis
    expect = []
    k = 0
    for d in range(x.type.ndim):
        if d in axis:
            expect.append("x")
        else:
            expect.append(k)
            k += 1
    if tuple(o.op.new_order) != tuple(expect):
        return None
    return x, red.inputs[0], axis, [(p, DimShuffle(f.type.broadcastable, expect)(f)) for p, f in others]


@node_rewriter([so.Log])
def log_of_scaled_sum_of_exp(fgraph, node):
    """log(sum(exp(x)) / n) -> log(sum(exp(x))) - log(n) (log-mean-exp: then logsumexp is stabilized)"""
    found = _scaled_sum_of_exp(fgraph, node.inputs[0])
    if found is None or not found[1]:
        return None
    red, others = found
    terms = [m.log(red.outputs[0])] + [m.log(f) if p > 0 else m.neg(m.log(f)) for p, f in others]
    return [m.add(*terms)]


@node_rewriter([so.Mul, so.TrueDiv])
def stable_softmax_ratio(fgraph, node):
    """exp(x) / sum(exp(x), axis, keepdims) -> exp(x - max(x)) / sum(exp(x - max(x))) (softmax);
    exp(x) / (sum(exp(x)) / n) the same, times n (the gradient of log-mean-exp)"""
    from graphopt.passes.canonicalize import build_product

    out, factors, signs = _float_product(fgraph, node)
    if out is None:
        return None
    for k, (p, d) in enumerate(factors):
        if p >= 0:
            continue
        found = _expanded_sum_of_exp(fgraph, d)
        if found is None:
            continue
        x, e, axis, others = found
        for j, (p2, v) in enumerate(factors):
            if p2 > 0 and v is e:
                break
        else:
            continue
        mx = m.max(x, axis=axis, keepdims=True)
        mx = m.switch(m.isinf(mx), 0, mx)
        e2 = m.exp(m.sub(x, mx))
        s2 = m.sum(e2, axis=axis, keepdims=True)
        s2.owner.inputs[0].owner.tag.stable_softmax = True
        kept = [f for i, f in enumerate(factors) if i not in (j, k)] + [(1, e2), (-1, s2)] + \
            [(-p3 * p, f) for p3, f in others]
        return [build_product(kept, out, len(signs) % 2 == 1, [e])]
    return None


@node_rewriter([so.Mul])
def distribute_to_cancel(fgraph, node):
    """(a / u + b / v) * u * v -> a * v + b * u when every term cancels a factor: the gradient of
    log(sigmoid(z)) and log(1 - sigmoid(z)) times sigmoid(z) * sigmoid(-z) stays finite at |z| = 1000"""
    from graphopt.passes.canonicalize import _cancel, _sum_terms, build_product

    out, factors, signs = _float_product(fgraph, node)
    if out is None:
        return None
    for k, (p, a) in enumerate(factors):
        o = a.owner
        if p != 1 or o is None or type(o.op) is not Elemwise or not isinstance(o.op.scalar_op, (so.Add, so.Sub)) \
                or len(fgraph.clients.get(a, ())) != 1 or a.type.dtype != out.type.dtype:
            continue
        rest = factors[:k] + factors[k + 1:]
        terms = _sum_terms(fgraph, a, 1, a)
        if not rest or len(terms) > 4:
            continue
        new_terms = []
        for sign, term in terms:
            tsigns = []
            kept, cancelled = _cancel(_prod_factors_of(fgraph, term, tsigns) + rest)
            if not cancelled:
                break
            new = build_product(kept, out, len(tsigns) % 2 == 1, cancelled)
            if new is None:
                break
            new_terms.append((sign, new))
        else:
            pos = [t for sg, t in new_terms if sg > 0]
            neg = [t for sg, t in new_terms if sg < 0]
            total = m.add(*pos) if len(pos) > 1 else (pos[0] if pos else None)
            if neg:
                n = m.add(*neg) if len(neg) > 1 else neg[0]
                total = m.neg(n) if total is None else m.sub(total, n)
            return [m.neg(total) if len(signs) % 2 == 1 else total]
    return None


@node_rewriter([so.Mul, so.TrueDiv])
def cancel_into_shared_product(fgraph, node):
    """(a / u) * w -> a * v for a product w = u * v that has other users (cancel_mul_div opens only
    unshared products): sigmoid'(z) = sigmoid(z) * sigmoid(-z) shared by both terms of a gradient"""
    from graphopt.passes.canonicalize import _cancel, build_product

    out, factors, signs = _float_product(fgraph, node)
    if out is None or not any(p < 0 for p, _ in factors):
        return None
    for k, (p, w) in enumerate(factors):
        o = w.owner
        if p != 1 or o is None or type(o.op) is not Elemwise or not isinstance(o.op.scalar_op, so.Mul) \
                or o.op.inplace_pattern or len(fgraph.clients.get(w, ())) < 2 or w.type.dtype != out.type.dtype:
            continue
        wsigns = []
        kept, cancelled = _cancel(factors[:k] + factors[k + 1:] + _prod_factors_of(fgraph, w, wsigns))
        if cancelled:
            return [build_product(kept, out, (len(signs) + len(wsigns)) % 2 == 1, cancelled)]
    return None


def _prod_factors_of(fgraph, v, signs):
    from graphopt.passes.canonicalize import _prod_factors

    return _prod_factors(fgraph, v, 1, v, signs=signs)


def nnet_rewriters():
    """The stabilizations of the softmax family, built from graphcore.tensor.nnet's ops."""

    def _softmax_input(v):
        o = v.owner
        return o.inputs[0] if o is not None and isinstance(o.op, Softmax) else None

    @node_rewriter([so.Log])
    def log_softmax(fgraph, node):
        """log(softmax(x)) -> log_softmax(x)"""
        sm = node.inputs[0]
        if _softmax_input(sm) is None:
            return None
        return [LogSoftmax(sm.owner.op.axis)(sm.owner.inputs[0])]

    @node_rewriter([SoftmaxGrad])
    def log_softmax_grad(fgraph, node):
        """softmax_grad(g / sm, sm) -> g - sum(g, axis) * sm (the gradient of log_softmax)"""
        from graphopt.passes.canonicalize import _prod_factors, build_product

        dy, sm = node.inputs
        if dy.owner is None or type(dy.owner.op) is not Elemwise or dy.type.dtype[0] != "f":
            return None
        signs = []
        factors = _prod_factors(fgraph, dy, 1, dy, signs=signs)
        for k, (p, v) in enumerate(factors):
            if p < 0 and v is sm:
                break
        else:
            return None
        g = build_product(factors[:k] + factors[k + 1:], dy, len(signs) % 2 == 1, [sm])
        if g is None:
            return None
        return [m.sub(g, m.mul(m.sum(g, axis=node.op.axis, keepdims=True), sm))]

    def _last_axis(op, ndim):
        return op.axis is not None and op.axis % ndim == ndim - 1

    @node_rewriter([CE1Hot])
    def crossentropy_softmax(fgraph, node):
        """categorical_crossentropy(softmax(z + b), y) -> crossentropy_softmax_argmax_1hot_with_bias(z, b, y)[0]
        (b = 0 without a bias; the softmax itself, if used elsewhere, becomes the fused op's second output)"""
        p, y = node.inputs
        x = _softmax_input(p)
        if x is None or x.type.ndim != 2 or not _last_axis(p.owner.op, 2):
            return None
        nll_, sm = nll.fused_crossentropy(x, y)
        return {node.outputs[0]: nll_, p: sm}

    @node_rewriter([SoftmaxGrad])
    def crossentropy_softmax_grad(fgraph, node):
        """softmax_grad(categorical_crossentropy_grad(g, sm, y), sm) -> crossentropy_softmax_dx(g, sm, y)"""
        dy, sm = node.inputs
        o = dy.owner
        if o is None or not isinstance(o.op, CE1HotGrad) or o.inputs[1] is not sm:
            return None
        if sm.type.ndim != 2 or not _last_axis(node.op, 2):
            return None
        g, _, y = o.inputs
        return [CESMDx()(g, sm, m.cast(y, "int64"))]  # the native kernel takes int64 labels

    def _one_minus_softmax(v):
        """softmax node when v = 1 - softmax(x) or 1 + -softmax(x), else None."""
        o = v.owner
        if o is None or type(o.op) is not Elemwise or len(o.inputs) != 2:
            return None
        a, b = o.inputs
        if isinstance(o.op.scalar_op, so.Add) and scalar_constant(b) == 1:
            a, b = b, a
        if isinstance(o.op.scalar_op, so.Sub) and scalar_constant(a) == 1:
            sm = b
        elif isinstance(o.op.scalar_op, so.Add) and scalar_constant(a) == 1 and b.owner is not None and \
                type(b.owner.op) is Elemwise and isinstance(b.owner.op.scalar_op, so.Neg):
            sm = b.owner.inputs[0]  # the gradient of log1p(-sm)
        else:
            return None
        return sm.owner if _softmax_input(sm) is not None else None

    @node_rewriter([so.Log, so.Log1p])
    def log1m_softmax(fgraph, node):
        """log(1 - softmax(x)) -> log1m_softmax(x); log1p(-softmax(x)) -> log1m_softmax(x)"""
        u = node.inputs[0]
        if isinstance(node.op.scalar_op, so.Log1p):
            neg = u.owner
            if neg is None or type(neg.op) is not Elemwise or not isinstance(neg.op.scalar_op, so.Neg) or \
                    _softmax_input(neg.inputs[0]) is None:
                return None
            sm_node = neg.inputs[0].owner
        else:
            sm_node = _one_minus_softmax(u)
        if sm_node is None:
            return None
        return [Log1mSoftmax(sm_node.op.axis)(sm_node.inputs[0])]

    @node_rewriter([SoftmaxGrad])
    def log1m_softmax_grad(fgraph, node):
        """softmax_grad(-g / (1 - sm), sm) -> log1m_softmax_grad(g, x) (the gradient of log(1 - softmax(x)))"""
        from graphopt.passes.canonicalize import build_product

        dy, sm = node.inputs
        x = _softmax_input(sm)
        if x is None or dy.owner is None or type(dy.owner.op) is not Elemwise or dy.type.dtype[0] != "f":
            return None
        signs = []
        factors = _prod_factors_of(fgraph, dy, signs)
        for k, (p, v) in enumerate(factors):
            if p == -1 and _one_minus_softmax(v) is sm.owner:
                break
        else:
            return None
        g = build_product(factors[:k] + factors[k + 1:], dy, len(signs) % 2 == 0, [v])
        if g is None:
            return None
        o = g.owner
        if o is not None and type(o.op) is Elemwise and isinstance(o.op.scalar_op, so.Second) and \
                o.inputs[0].type.shape == x.type.shape:
            g = m.fill(x, o.inputs[1])  # the softmax only gave the shape: it need not be computed
        return [Log1mSoftmaxGrad(node.op.axis)(g, x)]

    @node_rewriter([Softmax, LogSoftmax])
    def softmax_from_log_softmax(fgraph, node):
        """softmax(x) -> exp(log_softmax(x)) when log_softmax(x) is computed too (one pass over x;
        the exp fuses into the softmax's consumers). Looked at from either node, whichever came last."""
        kinds = {type(client.op): client for client, _ in fgraph.clients.get(node.inputs[0], ())
                 if client != "output" and type(client.op) in (Softmax, LogSoftmax)
                 and client.op.axis == node.op.axis}
        if len(kinds) != 2:
            return None
        return {kinds[Softmax].outputs[0]: m.exp(kinds[LogSoftmax].outputs[0])}

    # the NLL idiom first: it must see SoftmaxGrad before log_softmax_grad rewrites it
    return nll.REWRITERS + [log_softmax, log_softmax_grad, crossentropy_softmax, crossentropy_softmax_grad,
                            log1m_softmax, log1m_softmax_grad, softmax_from_log_softmax]


REWRITERS = [stable_patterns, log_of_scaled_sum_of_exp, stable_logsumexp, exp_over_one_plus_exp,
             stable_softmax_ratio, distribute_to_cancel, cancel_into_shared_product]
