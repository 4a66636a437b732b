"""The negative log-likelihood idiom, rewritten to the fused softmax cross-entropy ops.

Theano's tutorials write the loss of a softmax classifier as

    -T.mean(T.log(T.nnet.softmax(z))[T.arange(y.shape[0]), y])

(or with .sum(), log_softmax, softmax(z + b), log outside the indexing, any int
dtype of y). The forward rewrites turn the picked log-probabilities into the nll
output of CrossentropySoftmaxArgmax1HotWithBias (one pass per row: max, sum-exp
and the picked logit); the gradient rewrites turn what grad() built for them, a
zeros buffer incremented at [arange, y] pushed through SoftmaxGrad or
LogSoftmaxGrad, into CrossentropySoftmax1HotWithBiasDx (softmax minus one-hot,
scaled, one pass, no zeros buffer). A Softmax of the same logits becomes the
fused op's softmax output, so the forward pass runs once.

Decisions (Theano's): the row indices must be `arange(n)` with n the number of
labels or of rows of the logits. Where the graph cannot prove that the logits
have as many rows as there are labels (two inputs of unknown length), the rewrite
assumes it and the fused op checks it at run time: a mismatch raises its "N labels
for M rows" error instead of reading only the first rows. Labels outside [0, K)
raise a ValueError naming the label, its row and K; negative labels included
(plain NumPy indexing would count them from the end). Where the shapes prove a
mismatch (static lengths), or the softmax is not over the last axis of a matrix,
nothing is rewritten.
"""

from __future__ import annotations

from graphcore.scalar import ops as so
from graphcore.tensor import math as m
from graphcore.tensor.advanced_subtensor import AdvancedIncSubtensor, AdvancedSubtensor
from graphcore.tensor.basic import Alloc, NotScalarConstantError, cast, get_scalar_constant_value
from graphcore.tensor.creation import ARange
from graphcore.tensor.elemwise import DimShuffle, Elemwise
from graphcore.tensor.nnet.crossentropy import (CrossentropySoftmax1HotWithBiasDx,
                                                CrossentropySoftmaxArgmax1HotWithBias,
                                                crossentropy_softmax_1hot,
                                                crossentropy_softmax_1hot_with_bias)
from graphcore.tensor.nnet.softmax import LogSoftmax, LogSoftmaxGrad, Softmax, SoftmaxGrad
from graphcore.tensor.shape import Shape_i
from graphcore.tensor.subtensor import ARR

from graphopt.passes.canonicalize import _prod_factors, build_product
from graphopt.rewriting.basic import node_rewriter, scalar_constant


def _is_ew(v, scalar_cls):
    o = v.owner
    return o is not None and type(o.op) is Elemwise and isinstance(o.op.scalar_op, scalar_cls) \
        and not o.op.inplace_pattern


def _strip_casts(v):
    """v without the integer casts on top of it (labels and lengths are compared through them)."""
    while _is_ew(v, so.Cast) and v.owner.inputs[0].type.dtype[:3] in ("int", "uin"):
        v = v.owner.inputs[0]
    return v


def _is_zeros(v):
    """True when v is all zeros: a constant, a fill (zeros_like) or an alloc of 0."""
    if scalar_constant(v) == 0:
        return True
    o = v.owner
    return o is not None and isinstance(o.op, Alloc) and scalar_constant(o.inputs[0]) == 0


def _last_axis_matrix(op, v):
    return v.type.ndim == 2 and op.axis == 1 and v.type.dtype[0] == "f"


def _softmax_of(v):
    """x when v = softmax(x) over the last axis of a matrix, else None."""
    o = v.owner
    if o is None or not isinstance(o.op, Softmax) or not _last_axis_matrix(o.op, v):
        return None
    return o.inputs[0]


def _log_softmax_of(v):
    """x when v = log_softmax(x) or log(softmax(x)) over the last axis of a matrix, else None."""
    if _is_ew(v, so.Log):
        return _softmax_of(v.owner.inputs[0])
    o = v.owner
    if o is None or not isinstance(o.op, LogSoftmax) or not _last_axis_matrix(o.op, v):
        return None
    return o.inputs[0]


def _logits_and_bias(x):
    """(z, b) when x = z + b with b a vector broadcast over the rows, else (x, None)."""
    if not _is_ew(x, so.Add) or len(x.owner.inputs) != 2:
        return x, None
    for z, r in (x.owner.inputs, x.owner.inputs[::-1]):
        o = r.owner
        if o is not None and isinstance(o.op, DimShuffle) and o.op.new_order == ("x", 0) \
                and z.type == x.type and o.inputs[0].type.dtype == x.type.dtype:
            return z, o.inputs[0]
    return x, None


def _row_sources(v):
    """v, and the logits (with and without the bias) when v is their softmax or log-softmax:
    variables with as many rows as v, for recognising the lengths in arange(v.shape[0])."""
    o = v.owner
    if o is not None and isinstance(o.op, CrossentropySoftmaxArgmax1HotWithBias):
        return [v, o.inputs[0]]  # its softmax output
    x = _softmax_of(v)
    if x is None:
        x = _log_softmax_of(v)
    return [v] if x is None else [v, x, _logits_and_bias(x)[0]]


def fused_crossentropy(x, y):
    """(nll, softmax(x)) from the fused op for logits x and labels y; a bias broadcast over the
    rows of x (x = z + b) becomes the op's bias input, so z + b is never materialised."""
    z, b = _logits_and_bias(x)
    y = cast(y, "int64")  # the native kernels take int64 labels
    return crossentropy_softmax_1hot(z, y) if b is None else crossentropy_softmax_1hot_with_bias(z, b, y)


def _fused_picked(fgraph, picked, x, y):
    """{picked: -nll} and {softmax(x): the fused op's softmax} for the fused op on logits x."""
    nll, sm = fused_crossentropy(x, y)
    out = {picked: m.neg(nll)}
    for client, _ in fgraph.clients.get(x, ()):
        if client != "output" and _softmax_of(client.outputs[0]) is not None:
            out[client.outputs[0]] = sm
    return out


def _arange_stop(v):
    """n when v = arange(0, n, 1) of an integer dtype, else None."""
    o = v.owner
    if o is None or not isinstance(o.op, ARange) or v.type.dtype[:3] not in ("int", "uin"):
        return None
    start, stop, step = o.inputs
    if scalar_constant(start) != 0 or scalar_constant(step) != 1:
        return None
    return stop


def _static_int(v):
    try:
        return int(get_scalar_constant_value(v))
    except (NotScalarConstantError, TypeError, ValueError):
        return None


def _rows_are_arange(rows, y, matrices):
    """Whether the row indices are arange(n), n the number of labels y and of rows of `matrices`.

    False where static lengths disagree; True where n is len(y) or the length of
    one of `matrices` (the other equality is then checked by the fused op at run time).
    """
    n = _arange_stop(rows)
    if n is None:
        return False
    lengths = {v.type.shape[0] for v in [y, *matrices]} - {None}
    if len(lengths) > 1:
        return False
    k = _static_int(n)
    if k is not None:
        return lengths == {k}
    n = _strip_casts(n)
    if n.owner is None or not isinstance(n.owner.op, Shape_i) or n.owner.op.i != 0:
        return False
    src = _strip_casts(n.owner.inputs[0])
    return src is _strip_casts(y) or any(src is v for v in matrices)


def _picked_labels(node, matrices):
    """The int64 labels y when node indexes [arange(n), y] covering every row (see _rows_are_arange)."""
    if tuple(node.op.idx_list) != (ARR, ARR):
        return None
    rows, y = node.inputs[-2:]
    if y.type.ndim != 1 or y.type.dtype[:3] not in ("int", "uin") or y.type.broadcastable[0]:
        return None
    if not _rows_are_arange(rows, y, matrices):
        return None
    return cast(y, "int64")


@node_rewriter([AdvancedSubtensor])
def nll_of_log_softmax(fgraph, node):
    """log_softmax(x)[arange(len(y)), y] -> -crossentropy_softmax_1hot(x, y)[0] (also log(softmax(x)))"""
    ls = node.inputs[0]
    x = _log_softmax_of(ls)
    if x is None:
        return None
    y = _picked_labels(node, _row_sources(ls))
    if y is None:
        return None
    return _fused_picked(fgraph, node.outputs[0], x, y)


@node_rewriter([so.Log])
def nll_of_picked_softmax(fgraph, node):
    """log(softmax(x)[arange(len(y)), y]) -> -crossentropy_softmax_1hot(x, y)[0]"""
    p = node.inputs[0]
    if p.owner is None or not isinstance(p.owner.op, AdvancedSubtensor):
        return None
    sm = p.owner.inputs[0]
    x = _softmax_of(sm)
    if x is None:
        return None
    y = _picked_labels(p.owner, _row_sources(sm))
    if y is None:
        return None
    return _fused_picked(fgraph, node.outputs[0], x, y)


@node_rewriter([Softmax])
def softmax_from_crossentropy(fgraph, node):
    """softmax(x + b) -> crossentropy_softmax_argmax_1hot_with_bias(x, b, y)[1] where that node exists"""
    sm = node.outputs[0]
    if _softmax_of(sm) is None:
        return None
    z, b = _logits_and_bias(node.inputs[0])
    for client, _ in fgraph.clients.get(z, ()):
        if client == "output" or not isinstance(client.op, CrossentropySoftmaxArgmax1HotWithBias) \
                or client.inputs[0] is not z:
            continue
        cb = client.inputs[1]
        if (cb is b) if b is not None else _is_zeros(cb):
            return [client.outputs[1]]
    return None


def _one_hot_increment(g, matrices):
    """(gv, int64 y) when g = zeros (N, K) with gv[i] added (or set) at [i, y[i]] for every row i."""
    o = g.owner
    if o is None or not isinstance(o.op, AdvancedIncSubtensor) or tuple(o.op.idx_list) != (ARR, ARR):
        return None
    buf, gv = o.inputs[:2]
    if not _is_zeros(buf) or gv.type.ndim != 1 or gv.type.broadcastable[0]:
        return None
    y = _picked_labels(o, [g, *matrices])
    return None if y is None else (gv, y)


def _dx(gv, sm, y):
    """The gradient of the picked log-probabilities weighted by gv: (one_hot(y) - softmax) * gv."""
    return CrossentropySoftmax1HotWithBiasDx()(m.neg(gv), sm, y)


@node_rewriter([LogSoftmaxGrad])
def nll_grad_of_log_softmax(fgraph, node):
    """log_softmax_grad(zeros[arange(len(y)), y] += g, log_softmax(x)) -> crossentropy_softmax_1hot_with_bias_dx(-g, softmax(x), y)"""
    dy, ls = node.inputs
    if not _last_axis_matrix(node.op, ls):
        return None
    x = _log_softmax_of(ls)
    found = _one_hot_increment(dy, _row_sources(ls))
    if found is None:
        return None
    gv, y = found
    sm = m.exp(ls) if x is None else Softmax(1)(x)
    return [_dx(gv, sm, y)]


def _picked_from(v, sm, y):
    """Whether v = sm[arange(n), y'] reading the same places as the labels y (int64)."""
    o = v.owner
    if o is None or not isinstance(o.op, AdvancedSubtensor) or o.inputs[0] is not sm:
        return False
    yv = _picked_labels(o, _row_sources(sm))
    return yv is not None and _strip_casts(yv) is _strip_casts(y)


@node_rewriter([SoftmaxGrad])
def nll_grad_of_softmax(fgraph, node):
    """softmax_grad((zeros[arange(len(y)), y] += g) / sm, sm) -> crossentropy_softmax_1hot_with_bias_dx(-g, sm, y);
    softmax_grad(zeros[arange(len(y)), y] += g / sm[arange(len(y)), y], sm) -> the same"""
    dy, sm = node.inputs
    if not _last_axis_matrix(node.op, sm) or dy.owner is None:
        return None
    signs = []
    factors = _prod_factors(fgraph, dy, 1, dy, signs=signs)
    negate = len(signs) % 2 == 1
    if sorted(p for p, _ in factors) == [-1, 1] and any(p < 0 and v is sm for p, v in factors):
        # the gradient through log(softmax(x)): an increment divided by the softmax
        g = next(v for p, v in factors if p > 0)
        found = _one_hot_increment(g, _row_sources(sm))
        if found is None:
            return None
        gv, y = found
        return [_dx(m.neg(gv) if negate else gv, sm, y)]
    if len(factors) != 1 or factors[0][0] != 1:
        return None
    # the gradient through log(softmax(x)[arange, y]): increments g / picked softmax
    found = _one_hot_increment(factors[0][1], _row_sources(sm))
    if found is None:
        return None
    gv, y = found
    if gv.type.dtype[0] != "f":
        return None
    gsigns = []
    gfactors = _prod_factors(fgraph, gv, 1, gv, signs=gsigns)
    for k, (p, v) in enumerate(gfactors):
        if p == -1 and _picked_from(v, sm, y):
            break
    else:
        return None
    rest = [(p, _shape_from(f, v, y)) for p, f in gfactors[:k] + gfactors[k + 1:]]
    c = build_product(rest, gv, (len(gsigns) + len(signs)) % 2 == 1, [y])
    if c is None:
        return None
    return [_dx(c, sm, y)]


def _shape_from(f, v, like):
    """f with fill(v, w) (v only giving the shape) read as fill(like, w): v need not be computed."""
    if _is_ew(f, so.Second) and f.owner.inputs[0] is v and like.type.shape == v.type.shape:
        return m.fill(like, f.owner.inputs[1])
    return f


REWRITERS = [nll_of_log_softmax, nll_of_picked_softmax, softmax_from_crossentropy,
             nll_grad_of_log_softmax, nll_grad_of_softmax]
