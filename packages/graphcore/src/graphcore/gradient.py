"""Reverse-mode differentiation (grad), gradient helpers, and finite-difference checking."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from graphcore.config import config
from graphcore.gc_pause import paused_gc
from graphcore.graph.basic import Apply, Constant, Variable
from graphcore.graph.hooks import compile_function
from graphcore.graph.hooks import grad as grad_hook
from graphcore.graph.null_type import (DisconnectedType, NullType, disconnected_type,  # noqa: F401
                                      grad_not_implemented, grad_undefined)
from graphcore.graph.op import Op
from graphcore.graph.replace import clone_replace
from graphcore.graph.shared import SharedVariable
from graphcore.graph.traversal import graph_inputs, io_toposort
# forward mode through each op's R_op (an op's own L_op transposed where it has none)
from graphcore.rop import Rop  # noqa: F401
from graphcore.tensor import math
from graphcore.tensor.basic import as_tensor_variable, zeros
from graphcore.tensor.join import stack
from graphcore.tensor.shape import shape_i
from graphcore.tensor.type import TensorType


class DisconnectedInputError(ValueError):
    """grad() was asked for the gradient w.r.t. a variable the cost does not depend on."""


class NullTypeGradError(TypeError):
    """A gradient needed for the result is undefined or not implemented."""


class GradientError(Exception):
    """verify_grad found a symbolic gradient that disagrees with finite differences."""

    def __init__(self, arg, err_pos, shape, val1, val2, abs_err, rel_err, abs_tol, rel_tol):
        super().__init__()
        self.arg, self.err_pos, self.shape = arg, err_pos, shape
        self.val1, self.val2 = val1, val2
        self.abs_err, self.rel_err = abs_err, rel_err
        self.abs_tol, self.rel_tol = abs_tol, rel_tol

    def __str__(self):
        return (f"GradientError: the symbolic gradient of input {self.arg} (shape {self.shape}) "
                f"differs from the finite-difference estimate at flat position {self.err_pos}: "
                f"symbolic {float(self.val1)!r}, numeric {float(self.val2)!r}, abs error {self.abs_err:.3g} "
                f"(tolerance {self.abs_tol:.3g}), rel error {self.rel_err:.3g} "
                f"(tolerance {self.rel_tol:.3g})")


# ------------------------------------------------------------------------ ops
class _GradientFilter(Op):
    """Identity in the forward pass; subclasses change the gradient flowing back through it."""

    view_map = {0: [0]}

    def make_node(self, x):

        x = as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0]

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]


class DisconnectedGrad(_GradientFilter):
    """Identity in the forward pass; its gradient is zero (blocks backpropagation)."""

    def grad(self, inputs, gz):
        return [disconnected_type()]

    def connection_pattern(self, node):
        return [[False]]


def disconnected_grad(x):
    """x, but gradients do not flow through it (treated as a constant by grad)."""
    return DisconnectedGrad()(x)


stop_gradient = disconnected_grad


class ZeroGrad(_GradientFilter):
    """Identity whose gradient is zero: connected, unlike disconnected_grad, so grad() gives 0s."""

    def grad(self, inputs, gz):

        return [math.zeros_like(inputs[0])]


class GradScale(_GradientFilter):
    """Identity whose gradient is multiplied by `multiplier`."""

    __props__ = ("multiplier",)

    def __init__(self, multiplier):
        self.multiplier = float(multiplier)

    def grad(self, inputs, gz):
        return [gz[0] * self.multiplier]


class GradClip(_GradientFilter):
    """Identity whose gradient is clipped to [clip_lower_bound, clip_upper_bound]."""

    __props__ = ("clip_lower_bound", "clip_upper_bound")

    def __init__(self, clip_lower_bound, clip_upper_bound):
        if clip_lower_bound > clip_upper_bound:
            raise ValueError(f"grad_clip: lower bound {clip_lower_bound} is above the upper bound "
                             f"{clip_upper_bound}")
        self.clip_lower_bound = float(clip_lower_bound)
        self.clip_upper_bound = float(clip_upper_bound)

    def grad(self, inputs, gz):

        return [math.clip(gz[0], self.clip_lower_bound, self.clip_upper_bound)]


def zero_grad(x):
    """x, with a zero gradient (Theano's zero_grad): grad() through it gives zeros, no error."""
    return ZeroGrad()(x)


consider_constant = zero_grad  # Theano's consider_constant(x) op: a zero gradient as well


def grad_scale(x, multiplier):
    """x, with its gradient multiplied by `multiplier` (Theano's grad_scale)."""
    return GradScale(multiplier)(x)


def grad_clip(x, lower_bound, upper_bound):
    """x, with its gradient clipped elementwise to [lower_bound, upper_bound] (Theano's grad_clip)."""
    return GradClip(lower_bound, upper_bound)(x)


# ----------------------------------------------------------------------- grad
def _is_null(v):
    return isinstance(v, Variable) and isinstance(v.type, NullType)


def _is_disconnected(v):
    return v is None or (isinstance(v, Variable) and isinstance(v.type, DisconnectedType))


def _is_discrete_var(v):
    return hasattr(v.type, "dtype") and np.dtype(v.type.dtype).kind in "biu"


@paused_gc()  # the gradient graph is new nodes that all live on (see gc_pause)
def grad(cost: Variable | None, wrt: Variable | Sequence[Variable],
         consider_constant: Sequence[Variable] | None = None, disconnected_inputs: str = "raise",
         add_names: bool = True, known_grads: Mapping[Variable, Any] | None = None,
         return_disconnected: str = "zero", null_gradients: str = "raise"
         ) -> Variable | list[Variable]:
    """Symbolic gradient of the scalar `cost` with respect to `wrt` (a variable or a list).

    known_grads maps variables to gradients that are given instead of derived
    (cost may then be None). consider_constant lists variables treated as
    constants. A wrt the cost does not depend on raises DisconnectedInputError
    unless disconnected_inputs is 'warn' or 'ignore'. add_names: a gradient is
    named (d<cost.name>/d<wrt.name>) when both cost and wrt have names (Theano's rule).
    """

    if disconnected_inputs not in ("raise", "warn", "ignore"):
        raise ValueError(f"grad: disconnected_inputs must be 'raise', 'warn' or 'ignore', "
                         f"got {disconnected_inputs!r}")
    if return_disconnected not in ("zero", "None", "disconnected"):
        raise ValueError(f"grad: return_disconnected must be 'zero', 'None' or 'disconnected', "
                         f"got {return_disconnected!r}")
    if cost is None and not known_grads:
        raise AssertionError("grad: cost is None and no known_grads were given")
    if cost is not None:
        cost = as_tensor_variable(cost)
        if cost.type.ndim != 0:
            raise TypeError(f"grad: cost must be a scalar, got {cost} of type {cost.type}. "
                            "Reduce it first, e.g. cost.sum() or cost.mean()")
        if _is_discrete_var(cost):
            raise TypeError(f"grad: cost {cost} has integer dtype {cost.type.dtype}; "
                            "gradients are only defined for float costs")
    single = not isinstance(wrt, (list, tuple))
    wrt_list = [wrt] if single else list(wrt)
    for i, w in enumerate(wrt_list):
        if not isinstance(w, Variable):
            raise TypeError(f"grad: wrt[{i}] is a {type(w).__name__}, expected a symbolic Variable")

    known = {}
    if cost is not None:
        known[cost] = math.ones_like(cost)
    for var, g in (known_grads or {}).items():
        g = as_tensor_variable(g)
        if var in known:
            known[var] = math.add(known[var], g)
        else:
            known[var] = g

    blockers = set(consider_constant or ())
    sources = list(known)
    # variables that the sources depend on, excluding what is cut by consider_constant
    order = io_toposort(wrt_list, sources) if sources else []
    connected_to_wrt = set(wrt_list)
    for node in order:
        if any(i in connected_to_wrt and i not in blockers for i in node.inputs):
            connected_to_wrt.update(node.outputs)

    grads = dict(known)
    wrt_set = set(wrt_list)
    int_connected = set()
    for node in reversed(order):
        if not any(o in grads for o in node.outputs):
            continue
        if not any(i in connected_to_wrt and i not in blockers for i in node.inputs):
            continue
        out_grads = []
        for o in node.outputs:
            g = grads.get(o)
            if not hasattr(o.type, "dtype"):  # e.g. a random generator output: no gradient
                g = disconnected_type() if g is None else g
            elif g is None or _is_discrete_var(o):
                g = math.zeros_like(o) if not _is_discrete_var(o) else \
                    math.zeros_like(o, dtype=config.floatX)
            out_grads.append(g)
        in_grads = node.op.L_op(node.inputs, node.outputs, out_grads)
        if len(in_grads) != len(node.inputs):
            raise ValueError(f"{node.op}.L_op returned {len(in_grads)} gradients for "
                             f"{len(node.inputs)} inputs")
        pattern = None
        for j, (inp, g) in enumerate(zip(node.inputs, in_grads)):
            if inp in blockers or inp not in connected_to_wrt:
                continue
            if _is_discrete_var(inp) and inp in wrt_set:
                # an integer input has a zero gradient where the cost depends on it (Theano)
                if pattern is None:
                    pattern = node.op.connection_pattern(node)
                if any(pattern[j][k] for k, o in enumerate(node.outputs) if o in grads):
                    int_connected.add(inp)
                continue
            if _is_disconnected(g):
                continue
            if not _is_null(g):
                g = as_tensor_variable(g)
                if _is_discrete_var(inp):
                    continue  # integer inputs receive no gradient
            _accumulate(grads, inp, g)

    results = []
    for w in wrt_list:
        g = grads.get(w)
        if g is None and w in int_connected:
            results.append(math.zeros_like(w, dtype=config.floatX))
            continue
        if g is None:
            g = _disconnected_result(w, disconnected_inputs, return_disconnected)
        elif _is_null(g):
            if null_gradients == "raise":
                raise NullTypeGradError(f"grad: the gradient with respect to {w!r} is not "
                                        f"defined: {g.type.why}")
        else:
            if hasattr(w.type, "dtype") and g.type.dtype != w.type.dtype:
                g = math.cast(g, w.type.dtype)
            if add_names and g.name is None and cost is not None and cost.name and w.name:
                g.name = f"(d{cost.name}/d{w.name})"  # Theano's: only when both are named
        results.append(g)
    return results[0] if single else results


grad_hook.register(grad)  # for ops' L_op in the tensor layer below


def _accumulate(grads, inp, g):
    """Add g to inp's gradient so far; an undefined (null) gradient absorbs everything."""

    prev = grads.get(inp)
    if prev is None or (_is_null(g) and not _is_null(prev)):
        grads[inp] = g
    elif not _is_null(prev):
        grads[inp] = math.add(prev, g)


def _disconnected_result(w, disconnected_inputs, return_disconnected):
    """What grad returns for a wrt the cost does not depend on (or raises, or warns)."""

    message = (f"grad: the cost does not depend on {w!r} (or depends on it only through "
               "non-differentiable operations or consider_constant)")
    if disconnected_inputs == "raise":
        raise DisconnectedInputError(
            message + ". Pass disconnected_inputs='ignore' to get zeros instead")
    if disconnected_inputs == "warn":
        warnings.warn(message, stacklevel=3)
    if return_disconnected == "zero":
        return math.zeros_like(w)
    if return_disconnected == "None":
        return None
    return disconnected_type()


def Lop(f, wrt, eval_points, consider_constant=None, disconnected_inputs="raise"):
    """Left operator: eval_points (shaped like f) times the Jacobian of f w.r.t. wrt (v^T J).

    f and eval_points may be lists of the same length; returns one result per wrt.
    """

    fs = list(f) if isinstance(f, (list, tuple)) else [f]
    evs = list(eval_points) if isinstance(eval_points, (list, tuple)) else [eval_points]
    if len(fs) != len(evs):
        raise ValueError(f"Lop: {len(fs)} expressions but {len(evs)} eval_points")
    known = {}
    for k, (fi, ev) in enumerate(zip(fs, evs)):
        ev = as_tensor_variable(ev)
        if ev.type.ndim != fi.type.ndim:
            raise TypeError(f"Lop: eval_points[{k}] has {ev.type.ndim} dimensions, the expression "
                            f"{fi} has {fi.type.ndim}")
        known[fi] = ev
    return grad(None, wrt, consider_constant=consider_constant, known_grads=known,
                disconnected_inputs=disconnected_inputs)


def subgraph_grad(wrt, end, start=None, cost=None, details=False):
    """Theano's chained gradient through a subgraph: grads of `wrt` and of the `end` variables."""
    params = list(wrt) + list(end)
    grads = grad(cost, params, known_grads=start, disconnected_inputs="ignore")
    return grads[: len(wrt)], dict(zip(end, grads[len(wrt):]))


class JacobianRows(Op):
    """The Jacobian of a vector expression of unknown length: one gradient per element.

    Its inputs are the root variables of the expression; `perform` runs a
    compiled function giving row i, for every i (a loop op until scan arrives).
    Jacobians of the same expression and wrt are equal ops, so they merge.
    """

    __props__ = ("expression", "wrts")

    def __init__(self, expression, wrts, consider_constant=None, disconnected_inputs="raise"):

        self.expression = expression
        self.wrts = tuple(wrts)
        self.roots = [v for v in graph_inputs([expression, *wrts]) if not isinstance(v, Constant)]
        self.consider_constant = consider_constant
        self.disconnected_inputs = disconnected_inputs
        self._fns = None

    def __str__(self):
        return f"Jacobian{{{len(self.wrts)} wrt}}"

    def make_node(self, *roots):
        if len(roots) != len(self.roots) or any(
                getattr(a.type, "dtype", None) != getattr(b.type, "dtype", None)
                or getattr(a.type, "ndim", None) != getattr(b.type, "ndim", None)
                for a, b in zip(roots, self.roots)):
            raise TypeError(f"{self}: its inputs stand for the expression's roots "
                            f"{[str(r.type) for r in self.roots]}, got "
                            f"{[str(r.type) for r in roots]}; build it with jacobian()")

        outs = [TensorType(w.type.dtype, (None, *w.type.shape))() for w in self.wrts]
        return Apply(self, list(roots), outs)

    def _compile(self):
        if self._fns is None:
            # shared roots are ordinary inputs here: the node passes their values in
            stand_ins = [r.type() if isinstance(r, SharedVariable) else r for r in self.roots]
            swap = [(r, s) for r, s in zip(self.roots, stand_ins) if r is not s]
            i = TensorType("int64", ())("i")
            rows = grad(self.expression[i], list(self.wrts), self.consider_constant,
                        self.disconnected_inputs)
            exprs = clone_replace(list(rows) + [shape_i(self.expression, 0)] + list(self.wrts),
                                  swap) if swap else list(rows) + \
                [shape_i(self.expression, 0)] + list(self.wrts)
            k = len(self.wrts)
            self._fns = (
                compile_function([i] + stand_ins, exprs[:k], on_unused_input="ignore"),
                compile_function(stand_ins, exprs[k], on_unused_input="ignore"),
                compile_function(stand_ins, exprs[k + 1:], on_unused_input="ignore"),
            )
        return self._fns

    def perform(self, node, inputs, output_storage):
        row_fn, len_fn, wrt_fn = self._compile()
        n = int(len_fn(*inputs))
        if n == 0:
            for cell, w, var in zip(output_storage, wrt_fn(*inputs), node.outputs):
                cell[0] = np.zeros((0, *np.shape(w)), dtype=var.type.dtype)
            return
        rows = [row_fn(np.int64(i), *inputs) for i in range(n)]
        for k, (cell, var) in enumerate(zip(output_storage, node.outputs)):
            cell[0] = np.stack([r[k] for r in rows]).astype(var.type.dtype, copy=False)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_fns"] = None  # recompiled after unpickling
        return state


def jacobian(expression, wrt, consider_constant=None, disconnected_inputs="raise"):
    """Jacobian of a vector expression w.r.t. wrt (a variable or a list): shape (len, *wrt.shape).

    A statically known length unrolls into one gradient per element; otherwise
    a JacobianRows op loops over the elements at run time.
    """

    expression = as_tensor_variable(expression)
    if expression.type.ndim == 0:
        return grad(expression, wrt, consider_constant, disconnected_inputs)
    if expression.type.ndim != 1:
        raise TypeError(f"jacobian: the expression must be a vector, got {expression} of type "
                        f"{expression.type}; flatten it first")
    single = not isinstance(wrt, (list, tuple))
    wrts = [wrt] if single else list(wrt)
    n = expression.type.shape[0]
    if n is not None and n <= 64:
        rows = [grad(expression[i], wrts, consider_constant, disconnected_inputs)
                for i in range(n)]
        out = [stack([r[k] for r in rows]) if rows else _empty_rows(w)
               for k, w in enumerate(wrts)]
    else:
        # check connectivity now, so a disconnected wrt fails where jacobian() is called
        if disconnected_inputs != "ignore":
            grad(math.sum(expression), wrts, consider_constant, disconnected_inputs)
        op = JacobianRows(expression, wrts, consider_constant, disconnected_inputs)
        out = op.make_node(*op.roots).outputs
    return out[0] if single else out


def _empty_rows(w):
    return zeros([0] + [shape_i(w, d) for d in range(w.type.ndim)], dtype=w.type.dtype)


def hessian(cost, wrt, consider_constant=None, disconnected_inputs="raise"):
    single = not isinstance(wrt, (list, tuple))
    wrts = [wrt] if single else list(wrt)
    out = []
    for w in wrts:
        g = grad(cost, w, consider_constant, disconnected_inputs)
        out.append(jacobian(g, w, consider_constant, disconnected_inputs))
    return out[0] if single else out


# ---------------------------------------------------------------- verify_grad
def numeric_grad(f, values, eps):
    """Central finite differences of the scalar function f at `values` (list of arrays)."""
    grads = []
    for k, v in enumerate(values):
        g = np.zeros(v.shape, dtype="float64")
        flat = v.reshape(-1)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = float(f(*values))
            flat[j] = orig - eps
            minus = float(f(*values))
            flat[j] = orig
            g.reshape(-1)[j] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def verify_grad(fun, pt, n_tests=2, rng=None, eps=None, out_type=None, abs_tol=None,
                rel_tol=None, mode=None, cast_to_output_type=False, no_debug_ref=True):
    """Check the symbolic gradient of `fun` at point `pt` against finite differences.

    fun takes symbolic tensors (one per array in pt) and returns a tensor. The
    output is projected on a random direction so one scalar cost covers every
    output element. Raises GradientError on a mismatch.
    """

    if not isinstance(pt, (list, tuple)):
        raise TypeError("verify_grad: pt must be a list of NumPy arrays")
    pt = [np.array(p) for p in pt]
    for i, p in enumerate(pt):
        if p.dtype.kind not in "fc":
            raise TypeError(f"verify_grad: pt[{i}] has dtype {p.dtype}; gradients need floats")
    rng = rng if rng is not None else np.random.default_rng(42)
    if not hasattr(rng, "standard_normal"):
        rng = np.random.default_rng(rng.randint(2 ** 31) if hasattr(rng, "randint") else None)
    low_prec = any(p.dtype in (np.float32, np.complex64) for p in pt)
    eps = eps if eps is not None else (1e-2 if low_prec else 1e-6)
    abs_tol = abs_tol if abs_tol is not None else (3e-2 if low_prec else 1e-4)
    rel_tol = rel_tol if rel_tol is not None else (3e-2 if low_prec else 1e-4)

    # as in Theano, a dimension of length 1 in the point is broadcastable in the input's type
    inputs = [TensorType(p.dtype, tuple(1 if n == 1 else None for n in p.shape))(f"input{i}")
              for i, p in enumerate(pt)]
    out = fun(*inputs)
    if isinstance(out, (list, tuple)):
        raise TypeError("verify_grad: fun must return a single tensor")
    out = math.cast(out, "float64") if out.type.dtype not in ("float32", "float64") else out
    f_out = compile_function(inputs, out, mode=mode, on_unused_input="ignore")
    out_shape = np.shape(f_out(*pt))
    for _ in range(n_tests):
        proj = rng.standard_normal(out_shape).astype(out.type.dtype)
        cost = math.sum(math.mul(out, proj))
        f_cost = compile_function(inputs, cost, mode=mode, on_unused_input="ignore")
        sym = grad(cost, inputs, disconnected_inputs="ignore")
        f_grad = compile_function(inputs, sym, mode=mode, on_unused_input="ignore")
        analytic = [np.asarray(g, dtype="float64") for g in f_grad(*[p.copy() for p in pt])]
        work = [p.astype("float64").copy() if p.dtype == np.float64 else p.copy() for p in pt]
        numeric = numeric_grad(f_cost, work, eps)
        for i, (a, n) in enumerate(zip(analytic, numeric)):
            abs_err = np.abs(a - n)
            rel_err = abs_err / np.maximum(np.abs(a) + np.abs(n), 1e-8)
            bad = (abs_err > abs_tol) & (rel_err > rel_tol)
            if np.any(bad):
                pos = int(np.argmax(np.where(bad, abs_err, -1).reshape(-1)))
                raise GradientError(i, pos, a.shape, a.reshape(-1)[pos], n.reshape(-1)[pos],
                                    float(abs_err.reshape(-1)[pos]), float(rel_err.reshape(-1)[pos]),
                                    abs_tol, rel_tol)


verify_grad.E_grad = GradientError
