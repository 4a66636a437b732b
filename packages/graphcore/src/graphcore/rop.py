"""Forward-mode derivatives (Theano's R-operator) built node by node from each op's R_op.

`Rop(f, wrt, eval_points)` is J v: the directional derivative of f at wrt along
eval_points. It sweeps the graph from wrt to f once, asking each node's op for
its `R_op` (the tangents of its outputs from the tangents of its inputs). An
op without an R_op (NotImplementedError) still works: its node's tangents come
from its own L_op by the "double L_op" trick, J v = d/du <J^T u, v>, which is
linear in u, so the placeholder u is then replaced by zeros. Only that one
node is transposed twice, not the whole graph, and ops whose gradient ops are
not differentiable themselves (cholesky, eigh, expm) work through their R_op.
This is graphcore.gradient.Rop (and T.Rop).
"""

from __future__ import annotations

import warnings

import numpy as np

from graphcore.graph.basic import Variable
from graphcore.graph.null_type import disconnected_type
from graphcore.graph.replace import rebuild
from graphcore.graph.traversal import io_toposort
from graphcore.tensor import math
from graphcore.tensor.basic import as_tensor_variable, bilinear_R_op  # noqa: F401  (re-exported)
from graphcore.tensor.shape import shape_i, specify_shape
from graphcore.tensor.type import TensorType


def _is_float(v):
    return hasattr(v.type, "dtype") and np.dtype(v.type.dtype).kind in "fc"


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def Rop(f, wrt, eval_points, disconnected_outputs="raise", return_disconnected="zero"):
    """J v: the derivative of f w.r.t. wrt along eval_points (shaped like wrt), forward mode.

    f, wrt and eval_points may be lists (one eval point per wrt); returns one result per f.
    An f that does not depend on wrt raises unless disconnected_outputs is 'ignore' or
    'warn'; its result is then zeros (return_disconnected='zero') or None ('None').
    """
    if disconnected_outputs not in ("raise", "warn", "ignore"):
        raise ValueError(f"Rop: disconnected_outputs must be 'raise', 'warn' or 'ignore', got "
                         f"{disconnected_outputs!r}")
    if return_disconnected not in ("zero", "None"):
        raise ValueError(f"Rop: return_disconnected must be 'zero' or 'None', got "
                         f"{return_disconnected!r}")
    single = not isinstance(f, (list, tuple))
    fs, wrts, evs = _as_list(f), _as_list(wrt), _as_list(eval_points)
    if len(wrts) != len(evs):
        raise ValueError(f"Rop: {len(wrts)} wrt variables but {len(evs)} eval_points")
    tangent = {}
    for k, (w, v) in enumerate(zip(wrts, evs)):
        if not isinstance(w, Variable):
            raise TypeError(f"Rop: wrt[{k}] is a {type(w).__name__}, expected a symbolic Variable")
        v = as_tensor_variable(v)
        if v.type.ndim != w.type.ndim:
            raise TypeError(f"Rop: eval_points[{k}] has {v.type.ndim} dimensions, {w} has "
                            f"{w.type.ndim}")
        if w.type.ndim and isinstance(w.type, TensorType):
            # as Theano's R-op, the graph checks that the evaluation point has wrt's shape: it
            # keeps reading wrt (Rop(dot(x, W), W, V) compiles with W among the inputs, as in
            # Theano's tutorial) and a mismatched V fails at the check, not deep in the graph
            v = specify_shape(v, [shape_i(w, d) for d in range(w.type.ndim)])
        if _is_float(w):
            tangent[w] = v if v.type.dtype == w.type.dtype else math.cast(v, w.type.dtype)

    for node in io_toposort(wrts, fs):
        eps = [tangent.get(i) for i in node.inputs]
        if all(e is None for e in eps):
            continue
        outs = node_rop(node, eps)
        for o, r in zip(node.outputs, outs):
            if r is None or not _is_float(o):
                continue
            r = as_tensor_variable(r)
            tangent[o] = r if r.type.dtype == o.type.dtype else math.cast(r, o.type.dtype)

    results = []
    for k, fi in enumerate(fs):
        r = tangent.get(fi)
        if r is None:
            message = f"Rop: f[{k}] = {fi} does not depend (differentiably) on wrt"
            if disconnected_outputs == "raise":
                raise gradient.DisconnectedInputError(
                    message + "; pass disconnected_outputs='ignore' to get zeros")
            if disconnected_outputs == "warn":
                warnings.warn(message, stacklevel=2)
            r = math.zeros_like(fi) if return_disconnected == "zero" else None
        results.append(r)
    return results[0] if single else results


def node_rop(node, eval_points):
    """The output tangents of one Apply node (None where zero) from its input tangents."""
    try:
        outs = node.op.R_op(list(node.inputs), list(eval_points))
    except NotImplementedError:
        return rop_from_l_op(node, eval_points)
    outs = _as_list(outs)
    if len(outs) != len(node.outputs):
        raise ValueError(f"{node.op}.R_op returned {len(outs)} tangents for "
                         f"{len(node.outputs)} outputs")
    return outs


def rop_from_l_op(node, eval_points):
    """J v for one node from its L_op: d/du <L_op(u), v> at u = 0 (the result is linear in u)."""
    placeholders, out_grads = [], []
    for o in node.outputs:
        if _is_float(o):
            u = o.type()
            placeholders.append((o, u))
            out_grads.append(u)
        elif hasattr(o.type, "dtype"):
            out_grads.append(math.zeros_like(o, dtype="float64"))
        else:
            out_grads.append(disconnected_type())
    if not placeholders:
        return [None] * len(node.outputs)
    in_grads = node.op.L_op(list(node.inputs), list(node.outputs), out_grads)
    total = None
    for j, (g, v) in enumerate(zip(in_grads, eval_points)):
        if v is None or gradient._is_disconnected(g):
            continue
        if gradient._is_null(g):
            raise gradient.NullTypeGradError(
                f"Rop: {node.op} has no R_op and its gradient w.r.t. input {j} ({node.inputs[j]}) "
                f"is not defined: {g.type.why}")
        g = as_tensor_variable(g)
        term = math.sum(math.real(math.mul(g, v)) if np.dtype(g.type.dtype).kind == "c"
                        else math.mul(g, v))
        total = term if total is None else math.add(total, term)
    if total is None:
        return [None] * len(node.outputs)
    us = [u for _, u in placeholders]
    try:
        jv = gradient.grad(total, us, disconnected_inputs="ignore", return_disconnected="None",
                  add_names=False)
    except gradient.NullTypeGradError as exc:
        raise gradient.NullTypeGradError(
            f"Rop: {node.op} has no R_op, and its gradient graph cannot be differentiated "
            f"w.r.t. the output gradient to replace it: {exc}") from exc
    zeros = {u: math.zeros_like(o) for o, u in placeholders}
    jv = _substitute(jv, zeros)
    by_output = {o: r for (o, _), r in zip(placeholders, jv)}
    return [by_output.get(o) for o in node.outputs]


def _substitute(outputs, mapping):
    """outputs with mapping's variables replaced, rebuilding only the nodes that depend on them
    (clone_replace would copy the whole graph above them too)."""
    memo = dict(mapping)
    return [None if o is None else rebuild(o, memo, keep_unchanged=True) for o in outputs]


__all__ = ["Rop", "node_rop", "rop_from_l_op", "bilinear_R_op"]

# Back edge within the gradient layer, imported last: graphcore.gradient imports Rop from here
# at its top, so this module must define Rop before gradient loads. A module object, used at
# call time only (grad, the error types).
from graphcore import gradient  # noqa: E402
