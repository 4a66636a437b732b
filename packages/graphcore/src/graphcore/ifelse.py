"""ifelse: a lazy branch. Only the branch the condition picks is computed.

    from graphcore.ifelse import ifelse
    z = ifelse(T.lt(a, b), T.mean(x), T.mean(y))   # one mean runs, not both

Unlike `T.switch` (elementwise and eager: both sides are computed), the
condition is one scalar and the branch not taken never runs: the Program gets
a conditional jump over it (see `graphcore.backends.branches`), on every
backend. A node is skipped when nothing but the untaken branch uses it.

Decisions:

- The IfElse node reads `[cond, then_1..then_n, else_1..else_n]`; it declares
  `branch_inputs` so the Program builder places each branch's own nodes after
  the jump. Without that layout (a graph run node by node) it is still correct,
  just eager.
- The outputs are copies of the chosen branch's values (`as_view=True`: views),
  so an output never aliases a value the caller or another op still owns.
- The two branches must agree in dtype and ndim, output by output; static
  shapes that differ become unknown in the output type.
- Gradient: the output gradient flows to the branch taken (`ifelse(c, g, 0)`
  and `ifelse(c, 0, g)`, lazy too); the condition has none (disconnected).
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Apply, Variable
from graphcore.graph.null_type import DisconnectedType, disconnected_type
from graphcore.graph.op import Op
from graphcore.tensor.basic import as_tensor_variable, cast
from graphcore.tensor.math import zeros_like
from graphcore.tensor.type import TensorType


class IfElse(Op):
    """`n_outs` outputs: the then-values when the scalar condition is true, else the else-values."""

    __props__ = ("n_outs", "as_view")

    def __init__(self, n_outs, as_view=False, name=None):
        self.n_outs = int(n_outs)
        self.as_view = bool(as_view)
        self.name = name
        if self.as_view:
            self.view_map = {k: [k + 1] for k in range(self.n_outs)}

    def __str__(self):
        label = f"if{{{self.name}}}" if self.name else "if{}"
        return label + (",inplace" if self.as_view else "")

    def branch_inputs(self, node):
        """(condition position, then positions, else positions) for the lazy Program layout."""
        n = self.n_outs
        return 0, tuple(range(1, n + 1)), tuple(range(n + 1, 2 * n + 1))

    def make_node(self, cond, *branches):
        if len(branches) != 2 * self.n_outs:
            raise TypeError(f"{self}: expected a condition and {self.n_outs} then- and "
                            f"{self.n_outs} else-values, got {len(branches)} values")
        cond = _condition(cond)
        then_vals = [as_tensor_variable(v) for v in branches[:self.n_outs]]
        else_vals = [as_tensor_variable(v) for v in branches[self.n_outs:]]
        out_types = [_joined_type(k, t, e) for k, (t, e) in enumerate(zip(then_vals, else_vals))]
        return Apply(self, [cond] + then_vals + else_vals, [t() for t in out_types])

    def perform(self, node, inputs, output_storage):
        n = self.n_outs
        chosen = inputs[1:n + 1] if inputs[0] else inputs[n + 1:]
        for cell, value in zip(output_storage, chosen):
            cell[0] = value if self.as_view else np.array(value, copy=True)

    def infer_shape(self, fgraph, node, input_shapes):
        n = self.n_outs
        cond = node.inputs[0]
        shapes = []
        for k, out in enumerate(node.outputs):
            then_shape, else_shape = input_shapes[1 + k], input_shapes[1 + n + k]
            dims = []
            for d, (a, b) in enumerate(zip(then_shape, else_shape)):
                if out.type.shape[d] is not None:
                    dims.append(out.type.shape[d])
                else:
                    dims.append(IfElse(1)(cond, a, b))
            shapes.append(tuple(dims))
        return shapes

    def connection_pattern(self, node):
        n = self.n_outs
        rows = [[False] * n]  # the condition
        rows += [[k == j for j in range(n)] for k in range(n)]
        rows += [[k == j for j in range(n)] for k in range(n)]
        return rows

    def L_op(self, inputs, outputs, output_grads):
        n = self.n_outs
        cond = inputs[0]
        then_grads, else_grads = [], []
        for k, g in enumerate(output_grads):
            t, e = inputs[1 + k], inputs[1 + n + k]
            if isinstance(g.type, DisconnectedType):
                then_grads.append(disconnected_type())
                else_grads.append(disconnected_type())
                continue
            then_grads.append(IfElse(1, name="grad_then")(cond, _like(g, t), zeros_like(t)))
            else_grads.append(IfElse(1, name="grad_else")(cond, zeros_like(e), _like(g, e)))
        return [disconnected_type()] + then_grads + else_grads

    def R_op(self, inputs, eval_points):
        n = self.n_outs
        cond = inputs[0]
        results = []
        for k in range(n):
            t, e = inputs[1 + k], inputs[1 + n + k]
            et, ee = eval_points[1 + k], eval_points[1 + n + k]
            if et is None and ee is None:
                results.append(None)
                continue
            et = zeros_like(t) if et is None else _like(et, t)
            ee = zeros_like(e) if ee is None else _like(ee, e)
            results.append(IfElse(1)(cond, et, ee))
        return results


def _condition(cond):
    var = as_tensor_variable(cond)
    if not isinstance(var.type, TensorType) or var.type.ndim != 0:
        raise TypeError(f"ifelse: the condition must be a scalar (a 0-d tensor), got {var} of "
                        f"type {var.type} with {getattr(var.type, 'ndim', '?')} dimensions; use "
                        "T.switch for an elementwise choice, or reduce the condition "
                        "(e.g. T.all(c))")
    return var


def _joined_type(k, then_val, else_val):
    a, b = then_val.type, else_val.type
    if not isinstance(a, TensorType) or not isinstance(b, TensorType):
        raise TypeError(f"ifelse: output {k}: both branches must be tensors, got {a} and {b}")
    if a.ndim != b.ndim:
        raise TypeError(f"ifelse: output {k}: the then-branch {then_val} has {a.ndim} dimensions "
                        f"({a}) but the else-branch {else_val} has {b.ndim} ({b})")
    if a.dtype != b.dtype:
        raise TypeError(f"ifelse: output {k}: the then-branch {then_val} has dtype {a.dtype} but "
                        f"the else-branch {else_val} has dtype {b.dtype}; cast one of them "
                        f"(e.g. T.cast(x, '{a.dtype}'))")
    return TensorType(a.dtype, tuple(s if s == t else None for s, t in zip(a.shape, b.shape)))


def _like(g, x):
    """The gradient `g` with the dtype of `x` (a gradient may arrive in another float dtype)."""
    g = as_tensor_variable(g)
    if g.type.dtype != x.type.dtype:
        g = cast(g, x.type.dtype)
    return g


def ifelse(condition, then_branch, else_branch, name=None):
    """`then_branch` when the scalar `condition` is true, else `else_branch`; lazily.

    then_branch / else_branch: one variable (the result is one variable) or
    lists of the same length (the result is a list), matching in dtype and ndim.
    Only the branch taken is computed (`T.switch` computes both).
    """
    single = not isinstance(then_branch, (list, tuple))
    then_list = [then_branch] if single else list(then_branch)
    else_list = [else_branch] if not isinstance(else_branch, (list, tuple)) else list(else_branch)
    if len(then_list) != len(else_list):
        raise ValueError(f"ifelse: the then-branch has {len(then_list)} outputs but the "
                         f"else-branch has {len(else_list)}; give both the same number")
    if not then_list:
        raise ValueError("ifelse: the branches have no outputs")
    outs = IfElse(len(then_list), name=name)(condition, *then_list, *else_list)
    if isinstance(outs, Variable):
        outs = [outs]
    return outs[0] if single else list(outs)


__all__ = ["IfElse", "ifelse"]
