"""Products of N-d tensors: tensordot, matmul (batched, broadcasting), batched_dot/tensordot.

tensordot and batched_tensordot are built from transpose, reshape and a 2-d
(or batched 3-d) product, as in Theano, so they inherit gradients, shape
inference and every backend's fast matrix product.
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Apply
from graphcore.graph.null_type import disconnected_type
from graphcore.graph.op import Op
from graphcore.tensor import math
from graphcore.tensor.basic import as_tensor_variable, bilinear_R_op, cast
from graphcore.tensor.dot import _dot
from graphcore.tensor.elemwise import _retype_weak, _static_broadcast
from graphcore.tensor.shape import _prod_scalars, reshape, shape_i
from graphcore.tensor.type import TensorType


def _norm_axes(axes, nd, who, what):
    out = []
    for a in axes:
        a = int(a)
        if not -nd <= a < nd:
            raise ValueError(f"{who}: axis {a} of {what} is out of range for {nd} dimensions")
        out.append(a % nd)
    if len(set(out)) != len(out):
        raise ValueError(f"{who}: repeated axis in {list(axes)} for {what}")
    return out


def _parse_axes(a, b, axes, who, skip=0):
    """Two equal-length lists of contracted axes of a and b; int n means a's last n, b's first n."""
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0:
            raise ValueError(f"{who}: axes must be non-negative, got {n}")
        if n > a.type.ndim - skip or n > b.type.ndim - skip:
            raise ValueError(f"{who}: cannot contract {n} axes of tensors with {a.type.ndim} and "
                             f"{b.type.ndim} dimensions")
        return list(range(a.type.ndim - n, a.type.ndim)), list(range(skip, skip + n))
    try:
        ax_a, ax_b = axes
    except (TypeError, ValueError):
        raise TypeError(f"{who}: axes must be an int or a pair of axis lists, got {axes!r}") from None
    ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
    ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
    if len(ax_a) != len(ax_b):
        raise ValueError(f"{who}: the axis lists {ax_a} and {ax_b} have different lengths")
    return (_norm_axes(ax_a, a.type.ndim, who, "the first operand"),
            _norm_axes(ax_b, b.type.ndim, who, "the second operand"))


def _check_sizes(a, b, ax_a, ax_b, who):
    for i, j in zip(ax_a, ax_b):
        sa, sb = a.type.shape[i], b.type.shape[j]
        if sa is not None and sb is not None and sa != sb:
            raise ValueError(f"{who}: shape-mismatch for sum: axis {i} of the first operand "
                             f"(shape {a.type.shape}) has length {sa}, axis {j} of the second "
                             f"(shape {b.type.shape}) has length {sb}")


class AxesMatch(Op):
    """Identity on `a` that checks at run time that a.shape[i] == b.shape[j] for each pair.

    Inserted by tensordot/batched_tensordot when the static shapes cannot
    prove the contracted lengths equal: without it, a mismatch whose sizes
    multiply to the same total would reshape silently into a wrong result.
    """

    __props__ = ("who", "pairs")
    view_map = {0: [0]}

    def __init__(self, who, pairs):
        self.who = who
        self.pairs = tuple((int(i), int(j)) for i, j in pairs)

    def make_node(self, a, b):
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        return Apply(self, [a, b], [a.type()])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        for i, j in self.pairs:
            if a.shape[i] != b.shape[j]:
                raise ValueError(f"{self.who}: shape-mismatch for sum: axis {i} of the first "
                                 f"operand (shape {a.shape}) has length {a.shape[i]}, axis {j} "
                                 f"of the second (shape {b.shape}) has length {b.shape[j]}")
        output_storage[0][0] = a

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(input_shapes[0])]

    def grad(self, inputs, gz):
        return [gz[0], disconnected_type()]

    def connection_pattern(self, node):
        return [[True], [False]]


def _checked(a, b, ax_a, ax_b, who):
    """a, with a run-time check of the contracted lengths the static shapes do not prove equal."""
    pairs = [(i, j) for i, j in zip(ax_a, ax_b)
             if a.type.shape[i] is None or b.type.shape[j] is None]
    return AxesMatch(who, pairs)(a, b) if pairs else a


def _prod(dims):
    if all(isinstance(d, int) for d in dims):
        return int(np.prod(dims, dtype="int64"))
    return _prod_scalars(dims)


def _dims(x):
    return [s if s is not None else shape_i(x, d) for d, s in enumerate(x.type.shape)]


def tensordot(a, b, axes=2):
    """np.tensordot: sum products over axes[0] of a and axes[1] of b (int n: last n / first n)."""
    a, b = _retype_weak([as_tensor_variable(a), as_tensor_variable(b)])
    ax_a, ax_b = _parse_axes(a, b, axes, "tensordot")
    _check_sizes(a, b, ax_a, ax_b, "tensordot")
    free_a = [d for d in range(a.type.ndim) if d not in ax_a]
    free_b = [d for d in range(b.type.ndim) if d not in ax_b]
    da, db = _dims(a), _dims(b)
    a = _checked(a, b, ax_a, ax_b, "tensordot")
    at = a.dimshuffle(free_a + ax_a) if a.type.ndim else a
    bt = b.dimshuffle(ax_b + free_b) if b.type.ndim else b
    k = _prod([da[d] for d in ax_a])
    a2 = reshape(at, [_prod([da[d] for d in free_a]), k])
    b2 = reshape(bt, [k, _prod([db[d] for d in free_b])])
    out = _dot(a2, b2)
    return reshape(out, [da[d] for d in free_a] + [db[d] for d in free_b])


class MatMul(Op):
    """np.matmul of two stacks of matrices of equal ndim >= 2; batch dims broadcast.

    As everywhere in graphcore, a batch dimension broadcasts only when its
    type says length 1.
    """

    def make_node(self, a, b):
        a, b = _retype_weak([as_tensor_variable(a), as_tensor_variable(b)])
        if a.type.ndim < 2 or a.type.ndim != b.type.ndim:
            raise TypeError(f"MatMul: expected two stacks of matrices of equal ndim >= 2, got "
                            f"{a.type} and {b.type}")
        ka, kb = a.type.shape[-1], b.type.shape[-2]
        if ka is not None and kb is not None and ka != kb:
            raise ValueError(f"matmul: shapes {a.type.shape} and {b.type.shape} are not aligned: "
                             f"{ka} (last axis of the first) != {kb} (second-to-last of the second)")
        batch = _static_broadcast("matmul", [TensorType("int8", a.type.shape[:-2]),
                                             TensorType("int8", b.type.shape[:-2])])
        dtype = np.result_type(a.type.dtype, b.type.dtype).name
        return Apply(self, [a, b], [TensorType(dtype, batch + (a.type.shape[-2], b.type.shape[-1]))()])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        na, nb = node.inputs
        for d in range(a.ndim - 2):
            if na.type.shape[d] != 1 and nb.type.shape[d] != 1 and a.shape[d] != b.shape[d]:
                raise ValueError(f"matmul: batch shapes {a.shape[:-2]} and {b.shape[:-2]} differ in "
                                 f"dimension {d}; only dimensions whose type says length 1 broadcast")
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned: "
                             f"{a.shape[-1]} != {b.shape[-2]}")
        output_storage[0][0] = np.asarray(np.matmul(a, b), dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        a, b = node.inputs
        sa, sb = input_shapes
        batch = []
        for d in range(a.type.ndim - 2):
            static = node.outputs[0].type.shape[d]
            batch.append(static if static is not None else (sb[d] if a.type.shape[d] == 1 else sa[d]))
        return [tuple(batch) + (sa[-2], sb[-1])]

    def grad(self, inputs, gz):
        a, b = inputs
        g = gz[0]
        ga = matmul(g, _swap(b))
        gb = matmul(_swap(a), g)
        res = []
        for x, gx in ((a, ga), (b, gb)):
            axes = [d for d in range(x.type.ndim - 2)
                    if x.type.shape[d] == 1 and gx.type.shape[d] != 1]
            if axes:
                gx = math.sum(gx, axis=axes, keepdims=True)
            res.append(cast(gx, x.type.dtype))
        return res

    def R_op(self, inputs, eval_points):
        return bilinear_R_op(self, inputs, eval_points)


_matmul = MatMul()


def _swap(x):
    nd = x.type.ndim
    return x.dimshuffle(list(range(nd - 2)) + [nd - 1, nd - 2])


def matmul(a, b):
    """np.matmul (`@`): vectors are promoted then squeezed; leading dims broadcast."""
    a, b = _retype_weak([as_tensor_variable(a), as_tensor_variable(b)])
    if a.type.ndim == 0 or b.type.ndim == 0:
        raise ValueError(f"matmul: scalar operands are not allowed ({a.type} @ {b.type}); use '*'")
    if a.type.ndim <= 2 and b.type.ndim <= 2:
        return _dot(a, b)
    va, vb = a.type.ndim == 1, b.type.ndim == 1
    if va:
        a = a.dimshuffle("x", 0)
    if vb:
        b = b.dimshuffle(0, "x")
    nd = max(a.type.ndim, b.type.ndim)
    if a.type.ndim < nd:
        a = a.dimshuffle(["x"] * (nd - a.type.ndim) + list(range(a.type.ndim)))
    if b.type.ndim < nd:
        b = b.dimshuffle(["x"] * (nd - b.type.ndim) + list(range(b.type.ndim)))
    out = _matmul(a, b)
    keep = list(range(nd - 2))
    if not va:
        keep.append(nd - 2)
    if not vb:
        keep.append(nd - 1)
    return out.dimshuffle(keep) if (va or vb) else out


def batched_dot(a, b):
    """Theano's batched_dot: np.dot of a[i] and b[i] for each i of the first (batch) axis."""
    a, b = _retype_weak([as_tensor_variable(a), as_tensor_variable(b)])
    if a.type.ndim == 0 or b.type.ndim == 0:
        raise TypeError(f"batched_dot: both operands need a batch axis, got {a.type} and {b.type}")
    if a.type.ndim == 1:
        return math.mul(a.dimshuffle([0] + ["x"] * (b.type.ndim - 1)), b)
    if b.type.ndim == 1:
        return math.mul(a, b.dimshuffle([0] + ["x"] * (a.type.ndim - 1)))
    if a.type.ndim > 3 or b.type.ndim > 3:
        return batched_tensordot(a, b, [[a.type.ndim - 1], [max(1, b.type.ndim - 2)]])
    _check_batch(a, b, "batched_dot")
    a3 = a if a.type.ndim == 3 else a.dimshuffle(0, "x", 1)
    b3 = b if b.type.ndim == 3 else b.dimshuffle(0, 1, "x")
    out = _matmul(a3, b3)
    keep = [0] + ([1] if a.type.ndim == 3 else []) + ([2] if b.type.ndim == 3 else [])
    return out.dimshuffle(keep)


def _check_batch(a, b, who):
    sa, sb = a.type.shape[0], b.type.shape[0]
    if sa is not None and sb is not None and sa != sb:
        raise ValueError(f"{who}: batch sizes differ: {sa} (first operand {a.type}) and {sb} "
                         f"(second operand {b.type})")


def batched_tensordot(x, y, axes=2):
    """Theano's batched_tensordot: tensordot of x[i] and y[i] over axes (axis 0 is the batch).

    axes: an int n (the last n axes of x with axes 1..n of y) or a pair of axis
    lists counted in the full tensors (so never 0, the batch axis).
    """
    x, y = _retype_weak([as_tensor_variable(x), as_tensor_variable(y)])
    if x.type.ndim < 1 or y.type.ndim < 1:
        raise TypeError(f"batched_tensordot: both operands need a batch axis, got {x.type} and {y.type}")
    ax_x, ax_y = _parse_axes(x, y, axes, "batched_tensordot", skip=1)
    if 0 in ax_x or 0 in ax_y:
        raise ValueError("batched_tensordot: axis 0 is the batch axis and cannot be contracted")
    _check_batch(x, y, "batched_tensordot")
    _check_sizes(x, y, ax_x, ax_y, "batched_tensordot")
    free_x = [d for d in range(1, x.type.ndim) if d not in ax_x]
    free_y = [d for d in range(1, y.type.ndim) if d not in ax_y]
    dx, dy = _dims(x), _dims(y)
    x = _checked(x, y, [0] + ax_x, [0] + ax_y, "batched_tensordot")
    k = _prod([dx[d] for d in ax_x])
    batch = dx[0] if x.type.shape[0] is not None or y.type.shape[0] is None else dy[0]
    x3 = reshape(x.dimshuffle([0] + free_x + ax_x), [batch, _prod([dx[d] for d in free_x]), k])
    y3 = reshape(y.dimshuffle([0] + ax_y + free_y), [batch, k, _prod([dy[d] for d in free_y])])
    out = _matmul(x3, y3)
    return reshape(out, [batch] + [dx[d] for d in free_x] + [dy[d] for d in free_y])


__all__ = ["MatMul", "tensordot", "matmul", "batched_dot", "batched_tensordot"]
