"""In-place: let an op overwrite an input buffer, only where that is provably safe.

`DestroyHandler` is the proof: a FunctionGraph feature whose `validate`
refuses a graph in which a destroyed variable is
- a constant, or a graph input not in `fgraph.mutable_inputs` or in
  `fgraph.protected_inputs` (function inputs and shared variables, whose
  values are read again later), except a shared variable's buffer
  overwritten on the path that computes its own update (below),
- a graph output, or destroyed by two nodes,
- possibly aliased: not a buffer its op declares fresh (`op.fresh_outputs`),
  or a view or hand-back of another variable (`op.aliased_outputs`, which
  includes `view_map`); the rules live in `graphcore.compile.aliasing`;
  views *of* it are allowed only when
  none is a graph output or read by the destroyer, and their readers run first,
- still needed after the destroyer: every other reader (of it or of a view
  of it) must be able to run first, i.e. none of them depends on the
  destroyer's outputs, and all these "readers before destroyer" constraints
  together must leave the graph acyclic.

Updates (Theano's destructive updates): when output k is the new value of
input j (`fgraph.update_mapping[k] == j`) and j is in
`fgraph.destroyable_by_update` (FunctionMaker puts implicit shared variables
there), the chain of nodes computing output k from input j may run in place
on j's buffer: W <- W - lr * dot(x.T, d) becomes Gemm{inplace}(W, ...), so
the update output *is* the shared array and Function stores it back without
a copy. Only a whole chain that ends at output k is accepted: a buffer
overwritten anywhere else would leave the shared variable's old array (which
a caller may hold with get_value(borrow=True)) silently changed.

The inplace pass first makes those update chains in place (one update at a
time, all or nothing), then turns Elemwise (output i overwrites an input of
the same type), Gemm/Gemv/Ger (the accumulator) and IncSubtensor-like ops
(an `inplace` prop) into their in-place versions one at a time, in an order
that respects every constraint so far, keeping a change only when the
handler's rules allow it. The scheduler then orders every other reader of a
destroyed variable (and of its views) before its destroyer.
"""

from __future__ import annotations

import heapq

from graphcore.compile.aliasing import destroy_root, outputs_aliasing, owns_buffer
from graphcore.graph.basic import Constant
from graphcore.graph.fg import Feature, InconsistencyError
from graphcore.tensor.elemwise import Elemwise

from graphopt.rewriting.drivers import GraphRewriter


def _views_of(fgraph, var):
    """var and every variable that may view its buffer (transitively through views)."""
    out = [var]
    seen = {var}
    k = 0
    while k < len(out):
        v = out[k]
        k += 1
        for c, _ in fgraph.clients.get(v, ()):
            if c == "output":
                continue
            for o in outputs_aliasing(c, v):
                if o not in seen:
                    seen.add(o)
                    out.append(o)
    return out


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


def _readers(fgraph, var, destroyer):
    """The nodes other than `destroyer` that read `var` or a view of it."""
    out = set()
    for v in _views_of(fgraph, var):
        for c, _ in fgraph.clients.get(v, ()):
            if c != "output" and c is not destroyer:
                out.add(c)
    return out


def destroy_orderings(fgraph):
    """{destroyer node: set of nodes that must run before it}: every other reader of the
    variable it overwrites, or of a view of that variable."""
    out = {}
    for var, node in destroyed_vars(fgraph).items():
        out.setdefault(node, set()).update(_readers(fgraph, var, node))
    return out


def _after(fgraph):
    """{reader node: destroyers it must run before} (destroy_orderings, inverted)."""
    after = {}
    for d, readers in destroy_orderings(fgraph).items():
        for r in readers:
            after.setdefault(r, set()).add(d)
    return after


def _closes_cycle(fgraph, new, after):
    """Whether adding the constraints `new` {destroyer: readers first} to the existing ones
    (`after`: {reader: destroyers it precedes}) makes the execution order cyclic: some new
    destroyer reaches itself through data edges and constraints."""
    new_after = {}
    for d, readers in new.items():
        for r in readers:
            new_after.setdefault(r, set()).add(d)
    for d in new:
        stack, seen = [d], set()
        while stack:
            n = stack.pop()
            succ = [c for o in n.outputs for c, _ in fgraph.clients.get(o, ()) if c != "output"]
            succ.extend(after.get(n, ()))
            succ.extend(new_after.get(n, ()))
            for c in succ:
                if c is d:
                    return True
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
    return False


def constrained_order(fgraph, orderings=None):
    """A topological order of fgraph's nodes that also runs every reader of a destroyed
    variable before its destroyer (ties broken by fgraph.toposort()); None on a cycle."""
    base = fgraph.toposort()
    if orderings is None:
        orderings = destroy_orderings(fgraph)
    if not orderings:
        return base
    rank = {n: k for k, n in enumerate(base)}
    nodes = fgraph.apply_nodes
    deps = {n: set() for n in base}
    for n in base:
        for i in n.inputs:
            if i.owner is not None and i.owner in nodes:
                deps[n].add(i.owner)
    for n, before in orderings.items():
        deps[n].update(before)
    users = {n: [] for n in base}
    for n, ds in deps.items():
        for d in ds:
            users[d].append(n)
    waiting = {n: len(ds) for n, ds in deps.items()}
    heap = [rank[n] for n in base if waiting[n] == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        n = base[heapq.heappop(heap)]
        order.append(n)
        for u in users[n]:
            waiting[u] -= 1
            if waiting[u] == 0:
                heapq.heappush(heap, rank[u])
    return order if len(order) == len(base) else None


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


def _update_chain_ok(fgraph, inp, destroyed=None):
    """Whether the chain of in-place nodes starting at graph input `inp` ends at an output that
    is `inp`'s own update (so the overwritten buffer is exactly the new value)."""
    j = fgraph.inputs.index(inp)
    if j not in fgraph.destroyable_by_update:
        return False
    if destroyed is None:
        destroyed = destroyed_vars(fgraph)
    var = inp
    for _ in range(len(fgraph.apply_nodes) + 1):
        node = destroyed.get(var)
        if node is None:
            break
        dm = node.op.destroy_map
        outs = [node.outputs[o] for o, ins in dm.items() if node.inputs[ins[0]] is var]
        if len(outs) != 1:
            return False
        var = outs[0]
    ends = [k for k, o in enumerate(fgraph.outputs) if o is var]
    return var is not inp and any(fgraph.update_mapping.get(k) == j for k in ends)


def _input_rule(fgraph, inp, allow_update, destroyed=None):
    """Why graph input `inp` (or a buffer written into it) may not be overwritten, or None."""
    k = fgraph.inputs.index(inp)
    if k in fgraph.mutable_inputs and k not in fgraph.protected_inputs:
        return None
    if k in fgraph.destroyable_by_update and (
            allow_update or _update_chain_ok(fgraph, inp, destroyed)):
        return None
    return "it is a protected graph input"


def check_destroy(fgraph, var, destroyer, order_pos=None, full_check=False, allow_update=False,
                  destroyed=None):
    """Why destroying `var` in `destroyer` is unsafe, or None when it is safe.

    With `order_pos` (positions in a valid order) a reader placed before the
    destroyer is safe at once; a reader placed after it is refused, or, with
    `full_check`, searched for an actual dependency on the destroyer.
    `allow_update` (the update-chain phase of the pass) lets an update's chain
    overwrite its shared input before the rest of the chain is in place;
    `destroyed` is destroyed_vars(fgraph) when the caller has it.
    """
    if isinstance(var, Constant):
        return "it is a constant"
    root = destroy_root(var)
    if root in fgraph.inputs:  # var is an input, or an in-place chain wrote into one
        why = _input_rule(fgraph, root, allow_update, destroyed)
        if why:
            return why
    elif not owns_buffer(var):
        return "its buffer may belong to another variable"
    if var in fgraph.outputs:
        return "it is a graph output"
    for v in _views_of(fgraph, var):
        if v is not var and v in fgraph.outputs:
            return f"a view of it ({v}) is a graph output"
        for c, _ in fgraph.clients.get(v, ()):
            if c == "output":
                return "it is a graph output"
            if c is destroyer:
                if v is not var:
                    return "the destroyer also reads a view of it"
                if type(c.op) is not Elemwise and sum(1 for i in c.inputs if i is var) > 1:
                    return "the destroyer reads it at another input"
                continue
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
            why = check_destroy(fgraph, var, node, pos, full_check=True, destroyed=destroyed)
            if why:
                raise InconsistencyError(f"{node} may not overwrite {var}: {why}")
        if constrained_order(fgraph) is None:
            raise InconsistencyError("the in-place ordering constraints (readers before "
                                     "destroyers) form a cycle")


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


def _chain_candidates(node, out):
    """[(new_op, input index)]: in-place versions of `node` whose output `out` overwrites that
    input (the candidates for one step of an update chain)."""
    o = node.outputs.index(out)
    op = node.op
    if getattr(op, "destroy_map", None):
        return []
    if type(op) is Elemwise:
        return [(Elemwise(op.scalar_op, {o: i}), i) for i, inp in enumerate(node.inputs)
                if inp.type == out.type]
    return [(new_op, which) for new_op, which in _inplace_candidates(node)
            if isinstance(which, int) and getattr(new_op, "destroy_map", {}).get(o) == [which]]


def _update_chain(fgraph, out, inp, failed, depth=16):
    """[(node, new_op, input index)] from the reader of `inp` up to the node computing `out`,
    each step overwriting the previous step's output; None when there is no such chain."""
    node = out.owner
    if node is None or depth == 0 or out in failed:
        return None
    for new_op, i in _chain_candidates(node, out):
        u = node.inputs[i]
        if u is inp:
            return [(node, new_op, i)]
        if u.owner is not None:
            sub = _update_chain(fgraph, u, inp, failed, depth - 1)
            if sub:
                return sub + [(node, new_op, i)]
    failed.add(out)
    return None


class InplaceRewriter(GraphRewriter):
    """z = f(x, y) -> f writes into x's buffer, where DestroyHandler proves nothing else needs x"""

    name = "inplace"

    def apply(self, fgraph):
        done = []  # (in-place node, the op it had before), to undo
        try:
            count = self._update_chains(fgraph, done)
            count += self._intermediates(fgraph, done)
            if count:
                if not any(isinstance(f, DestroyHandler) for f in fgraph.features):
                    fgraph.attach_feature(DestroyHandler())
                fgraph.validate()
        except Exception:
            # never leave a half-checked graph behind (the optimizer may skip a failed rewrite)
            self._undo(fgraph, done)
            if done:
                fgraph.validate()
            raise
        return {"inplace": count} if count else {}

    @staticmethod
    def _replace(fgraph, node, new_op, done):
        new_node = new_op.make_node(*node.inputs)
        if any(a.type != b.type for a, b in zip(node.outputs, new_node.outputs)):
            return None
        new_node.tag.trace = getattr(node.tag, "trace", ())
        fgraph.replace_all(list(zip(node.outputs, new_node.outputs)), reason="inplace")
        done.append((new_node, node.op))
        return new_node

    @staticmethod
    def _undo(fgraph, done, upto=0):
        while len(done) > upto:
            new_node, old_op = done.pop()
            old = old_op.make_node(*new_node.inputs)
            old.tag.trace = getattr(new_node.tag, "trace", ())
            fgraph.replace_all(list(zip(new_node.outputs, old.outputs)), reason="inplace undo")

    def _update_chains(self, fgraph, done):
        """Make each update's chain (shared input -> ... -> its update output) in place, whole
        chains only, each one checked against everything made in place before it."""
        allowed = fgraph.destroyable_by_update
        mapping = fgraph.update_mapping
        if not allowed or not mapping:
            return 0
        destroyed = destroyed_vars(fgraph)
        after = _after(fgraph)  # reader -> destroyers it must precede (the constraints so far)
        count = 0
        for k, j in sorted(mapping.items()):
            if j not in allowed or k >= len(fgraph.outputs):
                continue
            inp = fgraph.inputs[j]
            chain = _update_chain(fgraph, fgraph.outputs[k], inp, set())
            if not chain:
                continue
            mark = len(done)
            made = []  # (in-place node, the variable it overwrites)
            ok = True
            for node, new_op, i in chain:
                try:
                    var = node.inputs[i]
                    why = (node not in fgraph.apply_nodes or var in destroyed
                           or check_destroy(fgraph, var, node, full_check=True, allow_update=True,
                                            destroyed=destroyed))
                    new_node = None if why else self._replace(fgraph, node, new_op, done)
                except (TypeError, ValueError, InconsistencyError):
                    new_node = None
                if new_node is None:
                    ok = False
                    break
                made.append((new_node, var))
                destroyed[var] = new_node
                if node in after:  # a reader that is now a destroyer keeps its constraints
                    after[new_node] = after.pop(node)
            new = {n: _readers(fgraph, v, n) for n, v in made} if ok else {}
            if ok and _update_chain_ok(fgraph, inp, destroyed) and \
                    not _closes_cycle(fgraph, new, after):
                count += len(made)
                for d, readers in new.items():
                    for r in readers:
                        after.setdefault(r, set()).add(d)
            else:
                for _, v in made:
                    destroyed.pop(v, None)
                self._undo(fgraph, done, mark)
                if made:
                    after = _after(fgraph)
        return count

    def _intermediates(self, fgraph, done):
        """In-place versions of the remaining nodes, in an order that respects every
        readers-before-destroyer constraint so far (so accepting a node that only needs
        readers placed before it keeps the constraints acyclic)."""
        order = constrained_order(fgraph)
        if order is None:
            raise InconsistencyError("in-place update chains left a cyclic ordering")
        pos = {n: k for k, n in enumerate(order)}
        destroyed = destroyed_vars(fgraph)
        count = 0
        for node in order:
            if node not in fgraph.apply_nodes or getattr(node.op, "destroy_map", None):
                continue
            for new_op, which in _inplace_candidates(node):
                idxs = list(which.values()) if isinstance(which, dict) else [which]
                vars_ = [node.inputs[i] for i in idxs]
                if any(v in destroyed for v in vars_):
                    continue
                if any(check_destroy(fgraph, v, node, pos) for v in vars_):
                    continue
                try:
                    new_node = self._replace(fgraph, node, new_op, done)
                except (TypeError, ValueError):
                    continue
                if new_node is None:
                    continue
                pos[new_node] = pos[node]
                for v in vars_:
                    destroyed[v] = new_node
                count += 1
                break
        return count


inplace_rewriter = InplaceRewriter()
