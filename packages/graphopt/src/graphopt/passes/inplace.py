"""In-place: let an op overwrite an input buffer, only where that is provably safe.

`DestroyHandler` is the proof: a FunctionGraph feature whose `validate`
refuses a graph in which a destroyed variable is
- a constant, or a graph input not marked mutable (`fgraph.protected_inputs`:
  function inputs and shared variables, whose values are read again later),
- a graph output, or destroyed by two nodes,
- possibly aliased: a view of another variable (view_map), viewed by another
  node, or produced by an op that may return an input's buffer,
- still needed after the destroyer: every other reader must be able to run
  first, i.e. none of them depends on the destroyer's outputs.
The inplace pass turns Elemwise (output i overwrites an input of the same
type), Gemm/Gemv/Ger (the accumulator) and IncSubtensor-like ops (an
`inplace` prop) into their in-place versions one at a time, in topological
order, keeping a change only when the handler validates it. The scheduler
then orders every other reader of a destroyed variable before its destroyer.
"""

from __future__ import annotations

from graphcore.graph.basic import Constant
from graphcore.graph.fg import Feature, InconsistencyError
from graphcore.scalar import ops as so
from graphcore.scalar.composite import Composite
from graphcore.tensor.elemwise import Elemwise

from graphopt.rewriting.drivers import GraphRewriter


def _fresh_output(var):
    """True when `var`'s buffer is certainly its own (not an input's buffer or a read-only view)."""
    node = var.owner
    if node is None:
        return False
    op = node.op
    if getattr(op, "view_map", None) and var.index in op.view_map:
        return False
    if type(op) is Elemwise:
        sop = op.scalar_op
        if isinstance(sop, (so.Identity, so.Second, so.Cast)) or (
                isinstance(sop, (so.Add, so.Mul)) and len(node.inputs) == 1):
            return False  # may hand back the input itself or a broadcast (read-only) view
        if isinstance(sop, Composite):
            inner = sop.outputs[var.index]
            if inner.owner is None or isinstance(inner.owner.op, (so.Identity, so.Second, so.Cast)):
                return False
        if op.inplace_pattern and var.index in dict(op.inplace_pattern):
            return _fresh_output(node.inputs[dict(op.inplace_pattern)[var.index]])
        return True
    if getattr(op, "destroy_map", None) and var.index in op.destroy_map:
        return _fresh_output(node.inputs[op.destroy_map[var.index][0]])
    return type(op).__name__ in FRESH_OP_NAMES


# Ops whose perform always allocates its outputs.
FRESH_OP_NAMES = {"Dot", "Gemm", "Gemv", "Ger", "Alloc", "FusedReduce", "Softmax", "LogSoftmax",
                  "SoftmaxGrad", "Join", "AdvancedSubtensor1", "AdvancedSubtensor",
                  "IncSubtensor", "AdvancedIncSubtensor1", "AdvancedIncSubtensor"}


def _may_alias(node, var):
    """Whether an output of `node` may share memory with its input `var`: a declared view, or
    an elementwise op that can hand back its input (identity, fill, one-input add/mul)."""
    op = node.op
    if getattr(op, "view_map", None) and any(
            node.inputs[i] is var for ins in op.view_map.values() for i in ins):
        return True
    if type(op) is Elemwise:
        sop = op.scalar_op
        if isinstance(sop, (so.Identity, so.Second)):
            return True
        if isinstance(sop, (so.Add, so.Mul)) and len(node.inputs) == 1:
            return True
    return False


def destroyed_vars(fgraph):
    """{variable: destroyer node} for every destroy_map in the graph."""
    out = {}
    for node in fgraph.apply_nodes:
        dm = getattr(node.op, "destroy_map", None)
        if not dm:
            continue
        for _, ins in dm.items():
            for i in ins:
                v = node.inputs[i]
                if v in out and out[v] is not node:
                    raise InconsistencyError(f"{v} is destroyed by both {out[v]} and {node}")
                out[v] = node
    return out


def _depends_on(a_var, node, limit_nodes):
    """True when variable a_var (transitively) depends on an output of `node`."""
    stack = [a_var]
    seen = set()
    targets = set(node.outputs)
    while stack:
        v = stack.pop()
        if v in targets:
            return True
        o = v.owner
        if o is None or o in seen or o not in limit_nodes:
            continue
        seen.add(o)
        stack.extend(o.inputs)
    return False


def check_destroy(fgraph, var, destroyer, order_pos=None, full_check=False):
    """Why destroying `var` in `destroyer` is unsafe, or None when it is safe.

    With `order_pos` (positions in a valid order) a reader placed before the
    destroyer is safe at once; a reader placed after it is refused, or, with
    `full_check`, searched for an actual dependency on the destroyer.
    """
    if isinstance(var, Constant):
        return "it is a constant"
    if var in fgraph.inputs:
        k = fgraph.inputs.index(var)
        protected = getattr(fgraph, "protected_inputs", None)
        mutable = getattr(fgraph, "mutable_inputs", set())
        if protected is None or k in protected or k not in mutable:
            return "it is a protected graph input"
    elif not _fresh_output(var):
        return "its buffer may belong to another variable"
    if var in fgraph.outputs:
        return "it is a graph output"
    for c, _ in fgraph.clients.get(var, ()):
        if c is destroyer:
            continue
        if c == "output":
            return "it is a graph output"
        if _may_alias(c, var):
            return f"{c} keeps a view of it"
        if order_pos is not None and order_pos.get(c, -1) < order_pos.get(destroyer, -1):
            continue  # c comes first in a valid order, so it cannot depend on the destroyer
        if order_pos is not None and not full_check:
            return f"{c} reads it after the destroyer"
        if any(_depends_on(i, destroyer, fgraph.apply_nodes) for i in c.inputs):
            return f"{c} reads it and depends on the destroyer"
    return None


class DestroyHandler(Feature):
    """Validates that every destroy_map in the graph is safe (see the module docstring)."""

    def validate(self, fgraph):
        destroyed = destroyed_vars(fgraph)
        if not destroyed:
            return
        pos = {n: k for k, n in enumerate(fgraph.toposort())}
        for var, node in destroyed.items():
            why = check_destroy(fgraph, var, node, pos, full_check=True)
            if why:
                raise InconsistencyError(f"{node} may not overwrite {var}: {why}")


def _inplace_candidates(node):
    """[(new_op, destroyed input index)] in order of preference."""
    op = node.op
    out = []
    if type(op) is Elemwise and not op.inplace_pattern:
        o = node.outputs[0]
        if len(node.outputs) == 1:
            for i, inp in enumerate(node.inputs):
                if inp.type == o.type:
                    out.append((Elemwise(op.scalar_op, {0: i}), i))
        else:
            # several outputs: give each a distinct input of its type
            pattern, used = {}, set()
            for k, o in enumerate(node.outputs):
                for i, inp in enumerate(node.inputs):
                    if i not in used and inp.type == o.type:
                        pattern[k] = i
                        used.add(i)
                        break
            if pattern:
                out.append((Elemwise(op.scalar_op, pattern), pattern))
        return out
    if hasattr(op, "inplace") and "inplace" in getattr(op, "__props__", ()) and not op.inplace:
        try:
            new = op.clone_inplace() if hasattr(op, "clone_inplace") else \
                type(op)(**{p: (True if p == "inplace" else getattr(op, p)) for p in op.__props__})
        except Exception:  # noqa: BLE001
            return []
        dm = getattr(new, "destroy_map", {})
        if dm:
            out.append((new, dm[0][0] if 0 in dm else next(iter(dm.values()))[0]))
    return out


class InplaceRewriter(GraphRewriter):
    """z = f(x, y) -> f writes into x's buffer, where DestroyHandler proves nothing else needs x"""

    name = "inplace"

    def apply(self, fgraph):
        order = fgraph.toposort()
        pos = {n: k for k, n in enumerate(order)}
        destroyed = {}
        count = 0
        for node in order:
            if node not in fgraph.apply_nodes:
                continue
            for new_op, which in _inplace_candidates(node):
                idxs = list(which.values()) if isinstance(which, dict) else [which]
                vars_ = [node.inputs[i] for i in idxs]
                if any(v in destroyed for v in vars_):
                    continue
                if any(check_destroy(fgraph, v, node, pos) for v in vars_):
                    continue
                try:
                    new_node = new_op.make_node(*node.inputs)
                except (TypeError, ValueError):
                    continue
                new_node.tag.trace = getattr(node.tag, "trace", ())
                if any(a.type != b.type for a, b in zip(node.outputs, new_node.outputs)):
                    continue
                fgraph.replace_all(list(zip(node.outputs, new_node.outputs)), reason="inplace")
                pos[new_node] = pos[node]
                for v in vars_:
                    destroyed[v] = new_node
                count += 1
                break
        if count and not any(isinstance(f, DestroyHandler) for f in fgraph.features):
            fgraph.attach_feature(DestroyHandler())
            fgraph.validate()
        return {"inplace": count} if count else {}


inplace_rewriter = InplaceRewriter()
