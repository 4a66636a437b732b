"""Shape inference: `x.shape` folds to what each op's infer_shape knows.

Shape_i(f(a, b)) becomes f's infer_shape expressed on the shapes of a and b,
recursively down to the graph inputs, so a graph that only needs shapes never
computes the values it takes the shape of; static lengths become constants.

Design decision: PyTensor keeps a ShapeFeature that builds a shape graph for
every variable as nodes are imported, which costs time on every graph edit
whether or not a shape is ever asked for. Here shapes are inferred on demand:
only Shape/Shape_i nodes present in the graph trigger `infer_shape`, through
these two rewriters, and the equilibrium driver's merge shares the resulting
shape expressions. The effect for users is the same (`x.shape` folds, shape
computations never need the values) at no cost for graphs without shapes.
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Variable
from graphcore.graph.op import ShapeInferenceNotImplemented
from graphcore.scalar import ops as so
from graphcore.tensor import math as m
from graphcore.tensor.basic import constant
from graphcore.tensor.creation import ARange
from graphcore.tensor.elemwise import Elemwise
from graphcore.tensor.shape import Shape, Shape_i, shape_i
from graphcore.tensor.subtensor import SYM, Subtensor
from graphcore.tensor.type import TensorType

from graphopt.rewriting.basic import node_rewriter, scalar_constant


def _as_int64_scalar(s):
    if isinstance(s, (int, np.integer)):
        return constant(np.int64(s))
    if isinstance(s, Variable) and isinstance(s.type, TensorType) and s.type.ndim == 0:
        return m.cast(s, "int64")
    return None


def _nonneg(v):
    """Whether the int scalar v is known to be >= 0: a length, or a non-negative constant."""
    while v.owner is not None and type(v.owner.op) is Elemwise and \
            isinstance(v.owner.op.scalar_op, so.Cast) and v.owner.inputs[0].type.dtype[:3] in ("int", "uin"):
        v = v.owner.inputs[0]
    if v.type.dtype.startswith("uint"):
        return True
    if v.owner is not None and isinstance(v.owner.op, Shape_i):
        return True
    c = scalar_constant(v)
    return c is not None and c >= 0


@node_rewriter([Shape_i])
def arange_length(fgraph, node):
    """len(arange(start, stop, k)) -> max((stop - start + k - 1) // k, 0) for a constant int step k;
    len(arange(0, n, 1)) -> n for n >= 0 (a length)"""
    x = node.inputs[0]
    if x.owner is None or not isinstance(x.owner.op, ARange) or x.type.shape[0] is not None:
        return None
    start, stop, step = x.owner.inputs
    if any(v.type.dtype[:3] not in ("int", "uin") for v in (start, stop, step)):
        return None  # float bounds: NumPy's ceil rule stays
    k = scalar_constant(step)
    if k is None or k == 0:
        return None
    start, stop = m.cast(start, "int64"), m.cast(stop, "int64")
    if k < 0:
        start, stop, k = stop, start, -k  # arange(a, b, -k) has the length of arange(b, a, k)
    if k == 1 and scalar_constant(start) == 0 and _nonneg(stop):
        return [stop]
    span = stop if scalar_constant(start) == 0 else m.sub(stop, start)
    if k != 1:
        span = m.int_div(m.add(span, np.int64(k - 1)), np.int64(k))
    return [m.maximum(span, np.int64(0))]


def _static_slice_length(n, a, b):
    """len(x[a:b]) for static ints a, b (None allowed) and a length n >= 0, or None (both signs)."""
    a = 0 if a is None else a
    zero = np.int64(0)
    if a >= 0 and b is None:
        return n if a == 0 else m.maximum(m.sub(n, np.int64(a)), zero)
    if a >= 0 and b >= 0:
        if b <= a:
            return constant(zero)
        return m.minimum(n if a == 0 else m.maximum(m.sub(n, np.int64(a)), zero), np.int64(b - a))
    if a >= 0:
        return m.maximum(m.add(n, np.int64(b - a)), zero)
    if b is None:
        return m.minimum(n, np.int64(-a))
    if b < 0:
        if b <= a:
            return constant(zero)
        return m.minimum(m.maximum(m.add(n, np.int64(b)), zero), np.int64(b - a))
    return None


@node_rewriter([Shape_i])
def slice_length(fgraph, node):
    """len(x[a:]) -> max(len(x) - a, 0); len(x[:b]) -> min(len(x), b); len(x[-a:]) -> min(len(x), a)
    (static bounds, step 1: no clipping of each bound, no case on the sign of the step)"""
    x = node.inputs[0]
    if x.owner is None or not isinstance(x.owner.op, Subtensor) or x.type.shape[node.op.i] is not None:
        return None
    in_dim = out_dim = 0
    entry = slice(None)
    for e in x.owner.op.idx_list:
        if out_dim == node.op.i and isinstance(e, slice):
            entry = e
            break
        if isinstance(e, slice) or e is None:
            out_dim += 1
        if e is not None:
            in_dim += 1
    else:
        in_dim += node.op.i - out_dim
    if out_dim > node.op.i or entry.step not in (None, 1) or \
            any(c is SYM for c in (entry.start, entry.stop)):
        return None
    return [_static_slice_length(shape_i(x.owner.inputs[0], in_dim), entry.start, entry.stop)]


@node_rewriter([Shape_i])
def shape_i_of_known(fgraph, node):
    """shape_i(f(a, b), d) -> infer_shape of f on the shapes of a and b (a constant when static)"""
    x = node.inputs[0]
    d = node.op.i
    if x.type.shape[d] is not None:
        return [constant(np.int64(x.type.shape[d]))]
    owner = x.owner
    if owner is None:
        return None
    try:
        in_shapes = [tuple(shape_i(i, k) for k in range(i.type.ndim))
                     if isinstance(i.type, TensorType) else None for i in owner.inputs]
        out_shapes = owner.op.infer_shape(fgraph, owner, in_shapes)
    except (ShapeInferenceNotImplemented, NotImplementedError, TypeError, ValueError, IndexError):
        return None
    res = _as_int64_scalar(out_shapes[x.index][d])
    if res is None or res is node.outputs[0] or _uses_any(res, owner.outputs, fgraph):
        return None  # a shape computed from the value itself: rewriting it would loop
    return [res]


def _uses_any(var, targets, fgraph):
    """Whether the new expression `var` reads one of `targets`; the walk stops at variables
    already in the graph, so it costs the size of the new expression."""
    targets = set(targets)
    stack, seen = [var], set()
    while stack:
        v = stack.pop()
        if v in targets:
            return True
        if v in seen or v.owner is None or v in fgraph.variables:
            continue
        seen.add(v)
        stack.extend(v.owner.inputs)
    return False


@node_rewriter([Shape])
def shape_of_known(fgraph, node):
    """shape(x) -> constant when static, else a vector of shape_i(x, d) (which then fold)"""
    x = node.inputs[0]
    if None not in x.type.shape:
        return [constant(np.asarray(x.type.shape, dtype="int64"))]
    if x.owner is None or x.type.ndim == 0:
        return None
    from graphcore.tensor.join import stack

    return [stack([shape_i(x, d) for d in range(x.type.ndim)])]


REWRITERS = [arange_length, slice_length, shape_i_of_known, shape_of_known]
