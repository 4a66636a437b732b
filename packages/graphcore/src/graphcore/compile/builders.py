"""OpFromGraph: a graph packaged as one Op (Theano's theano.OpFromGraph / compile.builders).

    x, y = T.dmatrices("x", "y")
    axpy = OpFromGraph([x, y], [2 * x + y], name="axpy")
    z = axpy(a, b) + axpy(b, a)          # use it like any op

Decisions:

- The op owns a private copy of the graph: `inner_inputs` are fresh variables
  standing for the given inputs, `inner_outputs` the outputs rebuilt on them.
- Shared variables the outputs read become implicit inputs (as in Theano):
  `shared_inputs` lists them, each node is applied to the explicit inputs
  followed by them, so function() sees them, their current value is used at
  each call, and grad() can differentiate with respect to them. Updates
  (e.g. a random stream's) inside the inner graph are not supported.
- `perform` runs the inner graph compiled once with function() (cached on the
  op as `fn`, dropped when pickling and recompiled on first use); keyword
  arguments of the constructor (e.g. `mode=`) go to that function() call.
- `infer_shape` walks the inner graph with each inner op's infer_shape;
  the gradient (L_op) is another OpFromGraph over the inner graph's gradient,
  built once and cached; R_op likewise from the inner graph's Rop.
- `inline=True`: graphopt's `inline_op_from_graph` rewrite (tag "inline",
  run in FAST_COMPILE and FAST_RUN) replaces each node by its inner graph, so
  the whole expression is optimized together; without an optimizer the node
  still runs through `perform`. Gradient and R_op graphs inherit `inline`.
- Equality is identity: two OpFromGraph objects are equal only when they are
  the same object, even if their inner graphs are identical (comparing graphs
  structurally would cost a graph walk per hash). Two applications of one op
  to the same inputs still merge.
"""

from __future__ import annotations

import numpy as np

from graphcore.compile.function import function
from graphcore.gradient import _is_disconnected, _is_null, grad
from graphcore.graph.basic import Apply, Constant, Variable
from graphcore.graph.null_type import disconnected_type
from graphcore.graph.op import Op, ShapeInferenceNotImplemented
from graphcore.graph.replace import clone_replace
from graphcore.graph.shared import SharedVariable
from graphcore.graph.traversal import ancestors, graph_inputs, io_toposort
from graphcore.rop import Rop
from graphcore.tensor import math
from graphcore.tensor.basic import as_tensor_variable, cast
from graphcore.tensor.shape import shape_i

_DEFAULT = "default"


def _is_float(v):
    return hasattr(v.type, "dtype") and np.dtype(v.type.dtype).kind in "fc"


def _is_default(spec):
    return isinstance(spec, str) and spec == _DEFAULT


class OpFromGraph(Op):
    """An op computing `outputs` from `inputs` by running their graph; call it like a function.

    inputs: the variables the op's arguments stand for (not constants or
    shared variables); outputs: a variable or a list of them. inline: let the
    optimizer replace the op by its graph. grad_overrides / lop_overrides /
    rop_overrides: 'default' (derive from the inner graph), a callable
    (`grad_overrides(inputs, output_grads)`, `lop_overrides(inputs, outputs,
    output_grads)`, `rop_overrides(inputs, eval_points)`, returning one
    result per input, resp. per output), an OpFromGraph taking the same
    arguments concatenated, or a list with one entry per input (per output
    for rop) of 'default', a callable returning that single result, or None
    for disconnected. name: printed name. Other keywords go to the function()
    that compiles the inner graph for `perform`.
    """

    def __init__(self, inputs, outputs, inline=False, lop_overrides=_DEFAULT,
                 grad_overrides=_DEFAULT, rop_overrides=_DEFAULT, connection_pattern=None,
                 name=None, **kwargs):
        if isinstance(outputs, Variable):
            outputs = [outputs]
        if not isinstance(inputs, (list, tuple)) or not isinstance(outputs, (list, tuple)):
            raise TypeError("OpFromGraph: inputs and outputs must be lists of variables, got "
                            f"{type(inputs).__name__} and {type(outputs).__name__}")
        inputs, outputs = list(inputs), list(outputs)
        for k, v in enumerate(inputs + outputs):
            if not isinstance(v, Variable):
                what = f"inputs[{k}]" if k < len(inputs) else f"outputs[{k - len(inputs)}]"
                raise TypeError(f"OpFromGraph: {what} is a {type(v).__name__}, expected a "
                                "symbolic Variable")
        for k, v in enumerate(inputs):
            if isinstance(v, (SharedVariable, Constant)):
                kind = "shared variable" if isinstance(v, SharedVariable) else "constant"
                raise TypeError(f"OpFromGraph: inputs[{k}] ({v}) is a {kind}; list only the "
                                "symbolic inputs: shared variables and constants used by the "
                                "outputs are taken in automatically")
        if not _is_default(lop_overrides) and not _is_default(grad_overrides):
            raise ValueError("OpFromGraph: give lop_overrides or grad_overrides, not both")
        ids = {id(v) for v in inputs}
        shared, missing = [], []
        for root in graph_inputs(outputs, blockers=inputs):
            if id(root) in ids or isinstance(root, Constant):
                continue
            (shared if isinstance(root, SharedVariable) else missing).append(root)
        if missing:
            raise ValueError(f"OpFromGraph: the outputs depend on {missing[0]!r} (type "
                             f"{missing[0].type}), which is not among the inputs; add it to "
                             "inputs")
        stand_ins = [_stand_in(v) for v in inputs]
        shared_stand_ins = [_stand_in(s) for s in shared]
        self.inner_inputs = stand_ins + shared_stand_ins
        self.inner_outputs = clone_replace(outputs, list(zip(inputs + shared, self.inner_inputs)))
        self.shared_inputs = shared
        self.n_explicit = len(inputs)
        self.input_types = [v.type for v in self.inner_inputs]
        self.output_types = [v.type for v in self.inner_outputs]
        self.is_inline = bool(inline)
        self.lop_overrides = lop_overrides
        self.grad_overrides = grad_overrides
        self.rop_overrides = rop_overrides
        self._connection_pattern = connection_pattern
        self.name = name
        self.kwargs = kwargs
        self._fn = None
        self._grad_op = None  # (op or None, per-input plan)
        self._rop_ops = {}  # eval-point mask -> (op or None, per-output plan)

    # Theano's attribute names for the inner graph
    @property
    def local_inputs(self):
        return self.inner_inputs

    @property
    def local_outputs(self):
        return self.inner_outputs

    # identity: see the module docstring
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __str__(self):
        return f"{self.name or type(self).__name__}{{inline={self.is_inline}}}"

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_fn"] = None  # recompiled on first use after unpickling
        state["_grad_op"] = None
        state["_rop_ops"] = {}
        return state

    # -- building -------------------------------------------------------
    def make_node(self, *inputs):
        """Apply to the explicit inputs (the shared inputs are appended), or to all of them."""
        n_all = len(self.inner_inputs)
        if len(inputs) == self.n_explicit:
            inputs = list(inputs) + list(self.shared_inputs)
        elif len(inputs) != n_all:
            raise TypeError(f"{self}: expected {self.n_explicit} inputs, got {len(inputs)}")
        checked = []
        for k, (x, t) in enumerate(zip(inputs, self.input_types)):
            x = x if isinstance(x, Variable) else as_tensor_variable(x)
            if x.type != t:
                converted = t.convert_variable(x) if hasattr(t, "convert_variable") else None
                if converted is None and hasattr(x.type, "dtype") and hasattr(t, "dtype") \
                        and np.can_cast(x.type.dtype, t.dtype, "safe"):
                    converted = t.convert_variable(cast(x, t.dtype))  # e.g. an int constant
                if converted is None:
                    raise TypeError(f"{self}: input {k} must be of type {t}, got {x} of type "
                                    f"{x.type}")
                x = converted
            checked.append(x)
        return Apply(self, checked, [t() for t in self.output_types])

    # -- running --------------------------------------------------------
    @property
    def fn(self):
        """The inner graph compiled with function() (once, on first use)."""
        if self._fn is None:
            kwargs = dict(self.kwargs)
            kwargs.setdefault("on_unused_input", "ignore")
            self._fn = function(list(self.inner_inputs), list(self.inner_outputs), **kwargs)
        return self._fn

    def perform(self, node, inputs, output_storage):
        results = self.fn(*inputs)
        for cell, value in zip(output_storage, results):
            cell[0] = value

    def do_constant_folding(self, fgraph, node):
        return True

    # -- shapes ---------------------------------------------------------
    def infer_shape(self, fgraph, node, input_shapes):
        """The inner ops' infer_shape along the inner graph, on the node's input shapes."""
        def own_shape(v):
            return tuple(shape_i(v, d) for d in range(v.type.ndim))

        shapes = {v: tuple(s) for v, s in zip(self.inner_inputs, input_shapes)}
        for n in io_toposort(self.inner_inputs, self.inner_outputs):
            in_shapes = [shapes[i] if i in shapes else
                         (own_shape(i) if hasattr(i.type, "ndim") else None) for i in n.inputs]
            try:
                outs = n.op.infer_shape(fgraph, n, in_shapes)
            except ShapeInferenceNotImplemented:
                outs = [own_shape(o) if hasattr(o.type, "ndim") else None for o in n.outputs]
            for o, s in zip(n.outputs, outs):
                shapes[o] = None if s is None else tuple(s)
        result = [shapes[o] if o in shapes else own_shape(o) for o in self.inner_outputs]
        # the shapes may refer to inner variables: rebuild them on the node's inputs
        flat = [d for s in result for d in s if isinstance(d, Variable)]
        if flat:
            new = clone_replace(flat, list(zip(self.inner_inputs, node.inputs)), strict=False)
            mapping = {id(a): b for a, b in zip(flat, new)}
            result = [tuple(mapping.get(id(d), d) for d in s) for s in result]
        return result

    # -- derivatives ----------------------------------------------------
    def connection_pattern(self, node):
        if self._connection_pattern is not None:
            return [list(row) for row in self._connection_pattern]
        pattern = [[False] * len(self.inner_outputs) for _ in self.inner_inputs]
        position = {id(v): k for k, v in enumerate(self.inner_inputs)}
        for j, out in enumerate(self.inner_outputs):
            for v in ancestors([out]):
                if id(v) in position:
                    pattern[position[id(v)]][j] = True
        return pattern

    def _default_grad(self):
        """(grad op or None, plan): plan[k] is ('out', i) for the grad op's output i,
        ('disconnected',) or ('null', NullType variable)."""
        if self._grad_op is None:
            float_outs = [o for o in self.inner_outputs if _is_float(o)]
            placeholders = [o.type() for o in float_outs]
            for o, g in zip(float_outs, placeholders):
                g.name = f"d_{o.name}" if o.name else None
            wrt = [i for i in self.inner_inputs if _is_float(i)]
            grads = grad(None, wrt, known_grads=dict(zip(float_outs, placeholders)),
                         disconnected_inputs="ignore", return_disconnected="disconnected",
                         null_gradients="return", add_names=False) if wrt and float_outs else \
                [None] * len(wrt)
            by_input = dict(zip(map(id, wrt), grads))
            plan, outs = [], []
            for v in self.inner_inputs:
                g = by_input.get(id(v))
                if g is None or _is_disconnected(g):
                    plan.append(("disconnected",))
                elif _is_null(g):
                    plan.append(("null", g))
                else:
                    plan.append(("out", len(outs)))
                    outs.append(g)
            op = OpFromGraph(list(self.inner_inputs) + placeholders, outs, inline=self.is_inline,
                             name=f"grad_of_{self.name or 'OpFromGraph'}",
                             **self.kwargs) if outs else None
            self._grad_op = (op, plan)
        return self._grad_op

    def _default_grads(self, inputs, outputs, output_grads):
        op, plan = self._default_grad()
        if op is None:
            return [p[1] if p[0] == "null" else disconnected_type() for p in plan]
        gs = []
        for o, g in zip(outputs, output_grads):
            if not _is_float(o):
                continue
            if _is_disconnected(g):
                g = math.zeros_like(o)
            g = as_tensor_variable(g)
            if g.type.dtype != o.type.dtype:
                g = math.cast(g, o.type.dtype)
            gs.append(g)
        results = op(*inputs, *gs)
        results = [results] if isinstance(results, Variable) else list(results)
        return [results[p[1]] if p[0] == "out" else
                (p[1] if p[0] == "null" else disconnected_type()) for p in plan]

    def L_op(self, inputs, outputs, output_grads):
        inputs, outputs, output_grads = list(inputs), list(outputs), list(output_grads)
        lop = self.lop_overrides if not _is_default(self.lop_overrides) else None
        gro = self.grad_overrides if not _is_default(self.grad_overrides) else None
        spec = lop if lop is not None else gro
        if spec is None:
            return self._default_grads(inputs, outputs, output_grads)

        def call(fn):
            if lop is not None:
                if isinstance(fn, OpFromGraph):
                    return fn(*inputs, *outputs, *output_grads)
                return fn(inputs, outputs, output_grads)
            if isinstance(fn, OpFromGraph):
                return fn(*inputs, *output_grads)
            return fn(inputs, output_grads)

        n_all = len(inputs)
        if isinstance(spec, (list, tuple)):
            if len(spec) not in (self.n_explicit, n_all):
                raise ValueError(f"{self}: the list of gradient overrides has {len(spec)} "
                                 f"entries, expected one per input ({self.n_explicit})")
            entries = list(spec) + [_DEFAULT] * (n_all - len(spec))
            default = None
            result = []
            for k, entry in enumerate(entries):
                if _is_default(entry):
                    if default is None:
                        default = self._default_grads(inputs, outputs, output_grads)
                    result.append(default[k])
                elif entry is None:
                    result.append(disconnected_type())
                elif isinstance(entry, Variable):  # e.g. a NullType or DisconnectedType variable
                    result.append(entry)
                elif callable(entry):
                    g = call(entry)
                    result.append(g[0] if isinstance(g, (list, tuple)) else g)
                else:
                    raise TypeError(f"{self}: gradient override {k} must be 'default', None, a "
                                    f"variable or a callable, got {entry!r}")
            return result
        if not callable(spec):
            raise TypeError(f"{self}: gradient overrides must be 'default', a callable, an "
                            f"OpFromGraph or a list, got {spec!r}")
        result = call(spec)
        result = [result] if isinstance(result, Variable) else list(result)
        if len(result) == self.n_explicit and n_all > self.n_explicit:
            result += self._default_grads(inputs, outputs, output_grads)[self.n_explicit:]
        if len(result) != n_all:
            raise ValueError(f"{self}: the gradient override returned {len(result)} gradients "
                             f"for {self.n_explicit} inputs")
        return [disconnected_type() if g is None else g for g in result]

    def grad(self, inputs, output_grads):
        outputs = self(*inputs)
        outputs = [outputs] if isinstance(outputs, Variable) else list(outputs)
        return self.L_op(inputs, outputs, output_grads)

    def _default_rop(self, mask):
        if mask not in self._rop_ops:
            wrt = [self.inner_inputs[k] for k in mask]
            evs = [v.type() for v in wrt]
            float_outs = [j for j, o in enumerate(self.inner_outputs) if _is_float(o)]
            tangents = Rop([self.inner_outputs[j] for j in float_outs], wrt, evs,
                           disconnected_outputs="ignore", return_disconnected="None") \
                if float_outs else []
            plan = [None] * len(self.inner_outputs)
            outs = []
            for j, t in zip(float_outs, tangents):
                if t is not None:
                    plan[j] = len(outs)
                    outs.append(t)
            op = OpFromGraph(list(self.inner_inputs) + evs, outs, inline=self.is_inline,
                             name=f"rop_of_{self.name or 'OpFromGraph'}",
                             **self.kwargs) if outs else None
            self._rop_ops[mask] = (op, plan)
        return self._rop_ops[mask]

    def R_op(self, inputs, eval_points):
        inputs, eval_points = list(inputs), list(eval_points)
        spec = self.rop_overrides
        if not _is_default(spec) and not isinstance(spec, (list, tuple)):
            if isinstance(spec, OpFromGraph):
                return spec(*inputs, *eval_points)
            return spec(inputs, eval_points)
        mask = tuple(k for k, (v, e) in enumerate(zip(inputs, eval_points))
                     if e is not None and _is_float(v))
        op, plan = self._default_rop(mask) if mask else (None, [None] * len(self.inner_outputs))
        default = [None] * len(self.inner_outputs)
        if op is not None:
            evs = []
            for k in mask:
                e = as_tensor_variable(eval_points[k])
                if e.type.dtype != inputs[k].type.dtype:
                    e = math.cast(e, inputs[k].type.dtype)
                evs.append(e)
            res = op(*inputs, *evs)
            res = [res] if isinstance(res, Variable) else list(res)
            default = [None if p is None else res[p] for p in plan]
        if _is_default(spec):
            return default
        if len(spec) != len(self.inner_outputs):
            raise ValueError(f"{self}: the list of R_op overrides has {len(spec)} entries, "
                             f"expected one per output ({len(self.inner_outputs)})")
        result = []
        for j, entry in enumerate(spec):
            if _is_default(entry):
                result.append(default[j])
            elif entry is None:
                result.append(None)
            elif isinstance(entry, OpFromGraph):
                result.append(entry(*inputs, *eval_points))
            elif callable(entry):
                r = entry(inputs, eval_points)
                result.append(r[0] if isinstance(r, (list, tuple)) else r)
            else:
                raise TypeError(f"{self}: R_op override {j} must be 'default', None or a "
                                f"callable, got {entry!r}")
        return result

    # -- inlining -------------------------------------------------------
    def inline_graph(self, inputs):
        """The inner outputs rebuilt on `inputs` (all of them, shared ones included)."""
        return clone_replace(list(self.inner_outputs), list(zip(self.inner_inputs, inputs)))


def _stand_in(v):
    s = v.type()
    s.name = v.name
    return s


__all__ = ["OpFromGraph"]
