"""Elementwise fusion: maximal convex groups of Elemwise nodes become one Elemwise(Composite).

Grouping. Nodes are visited in reverse topological order; each unfused
Elemwise node seeds a group which then absorbs the Elemwise producers of its
inputs when (1) the producer's output has exactly the group's loop shape
(same static type shape, so every fused output has one common shape),
(2) absorbing it keeps the group convex: no path leaves the group and comes
back (checked by a backward search bounded by topological index), and
(3) the fused node stays within MAX_OPERANDS inputs + outputs (the group size
fusion aims for), or fewer when the backend the graph is compiled for says
so (`fgraph.backend.max_operands`: a runtime's kernel limit). Values of the group
used outside it become extra outputs of the fused node (several outputs are
allowed). Size-1 constants are inlined into the Composite as 0-d constants.

Reduce fusion (runs after): Reduce(Elemwise(f)(inputs)) whose elementwise
result is used by nothing else becomes FusedReduce(reduce, axis, f)(inputs),
one loop that never stores the elementwise result.
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Constant
from graphcore.scalar.composite import Composite
from graphcore.tensor.elemwise import DimShuffle, Elemwise
from graphcore.tensor.reduction import Reduce
from graphcore.tensor.type import TensorType

from graphopt.rewriting.drivers import GraphRewriter

MAX_OPERANDS = 32  # inputs + outputs of one fused node (unless the backend allows fewer)
# A convexity search that visits more nodes than this gives up and refuses the candidate:
# compile time stays linear in the graph size even for dense DAGs with long-range edges,
# at the price of missing a fusion there now and then.
SEARCH_BUDGET = 128


def _fusable(node):
    op = node.op
    return type(op) is Elemwise and not op.inplace_pattern


def _constant_of(v):
    """The size-1 Constant that v is (or a dimshuffle of), else None."""
    if v.owner is not None and isinstance(v.owner.op, DimShuffle):
        v = v.owner.inputs[0]
    if isinstance(v, Constant) and np.asarray(v.data).size == 1:
        return v
    return None


def _inlinable_constant(v):
    return _constant_of(v) is not None


class ElemwiseFusion(GraphRewriter):
    """f(g(x), h(y)) for elementwise f, g, h -> Elemwise{Composite{f(g(i0), h(i1))}}(x, y)"""

    name = "elemwise_fusion"

    def __init__(self, max_operands=MAX_OPERANDS):
        self.max_operands = max_operands

    def operand_limit(self, fgraph):
        """Inputs + outputs one fused node of `fgraph` may have: this pass's own limit, or the
        backend's (`Backend.max_operands`) when that is lower."""
        backend = fgraph.backend
        limit = backend.max_operands if backend is not None else None
        return self.max_operands if limit is None else min(self.max_operands, limit)

    def apply(self, fgraph):
        limit = self.operand_limit(fgraph)
        order = fgraph.toposort()
        pos = {node: k for k, node in enumerate(order)}
        group_of = {}
        groups = []
        clients = fgraph.clients
        for node in reversed(order):
            if node in group_of or not _fusable(node):
                continue
            group = self._grow(fgraph, node, group_of, pos, clients, limit)
            if len(group) > 1:
                groups.append(group)
        boundaries = {}  # id(group) -> (external inputs, values used outside)
        for group in groups:
            if group:
                self._merge_siblings(fgraph, group, group_of, pos, clients, boundaries, limit)
        groups = [g for g in groups if len(g) > 1]
        groups = self._break_cycles(order, groups)
        fused = 0
        for group in groups:
            if len(group) < 2:
                continue
            if self._fuse(fgraph, group, pos):
                fused += 1
        return {"elemwise_fusion": fused} if fused else {}

    def _grow(self, fgraph, seed, group_of, pos, clients, limit):
        group = {seed}
        group_of[seed] = group
        shape = seed.outputs[0].type.shape
        lo = hi = pos[seed]
        outputs = set(fgraph.outputs)
        ins = {i for i in seed.inputs if not _inlinable_constant(i)}
        n_out = len(seed.outputs)
        safe = set()  # nodes known not to lead back into the group (stays true as it grows)
        stack = [seed]
        while stack:
            node = stack.pop()
            for inp in node.inputs:
                p = inp.owner
                if p is None or p in group or p in group_of or not _fusable(p):
                    continue
                if any(o.type.shape != shape for o in p.outputs):
                    continue
                new_ins = (ins - set(p.outputs)) | {
                    i for i in p.inputs if not _inlinable_constant(i) and i.owner not in group}
                extra_out = sum(
                    1 for o in p.outputs
                    if o in outputs or any(c == "output" or (c is not p and c not in group)
                                           for c, _ in clients.get(o, ())))
                if len(new_ins) + n_out + extra_out > limit:
                    continue
                if not self._convex_with(p, group, pos, lo) or \
                        not self._no_path_back(p, group, pos, hi, clients, safe):
                    continue
                group.add(p)
                group_of[p] = group
                ins = new_ins
                n_out += extra_out
                lo = min(lo, pos[p])
                stack.append(p)
        if len(group) == 1:
            del group_of[seed]
        return group

    @staticmethod
    def _break_cycles(order, groups):
        """Groups each convex on their own can still depend on each other both ways; contract
        every group to one vertex and dissolve the smallest group on any cycle, until acyclic
        (one linear pass when, as usual, there is no cycle)."""
        while True:
            rep = {}
            for k, g in enumerate(groups):
                for n in g:
                    rep[n] = ("g", k)
            preds = {}
            for n in order:
                r = rep.get(n, n)
                ps = preds.setdefault(r, set())
                for i in n.inputs:
                    o = i.owner
                    if o is not None:
                        ro = rep.get(o, o)
                        if ro != r:
                            ps.add(ro)
            indeg = {r: len(ps) for r, ps in preds.items()}
            succs = {}
            for r, ps in preds.items():
                for p in ps:
                    succs.setdefault(p, []).append(r)
            ready = [r for r, d in indeg.items() if d == 0]
            seen = 0
            while ready:
                r = ready.pop()
                seen += 1
                for s_ in succs.get(r, ()):
                    indeg[s_] -= 1
                    if indeg[s_] == 0:
                        ready.append(s_)
            if seen == len(indeg):
                return groups
            # walk predecessors inside the unprocessed part until a vertex repeats: a cycle
            left = {r for r, d in indeg.items() if d > 0}
            r = next(iter(left))
            path, where = [], {}
            while r not in where:
                where[r] = len(path)
                path.append(r)
                r = next(p for p in preds[r] if p in left)
            cycle = path[where[r]:]
            in_cycle = [c[1] for c in cycle if isinstance(c, tuple)]
            worst = min(in_cycle, key=lambda k: len(groups[k]))
            groups = [g for k, g in enumerate(groups) if k != worst]

    def _merge_siblings(self, fgraph, group, group_of, pos, clients, boundaries, limit):
        """Absorb the groups (or single nodes) that consume this group's values, when convex:
        exp(x) feeding both sin(.) + 1 and cos(.) - y becomes one node with two outputs."""
        shape = next(iter(group)).outputs[0].type.shape
        outputs = set(fgraph.outputs)
        ins, outs = self._cached_boundary(group, clients, outputs, boundaries)
        rejected = set()
        todo = list(group)
        while todo:
            n = todo.pop()
            for o in n.outputs:
                for c, _ in clients.get(o, ()):
                    if c == "output" or c in group or c in rejected or not _fusable(c) or \
                            c.outputs[0].type.shape != shape:
                        continue
                    other = group_of.get(c) or {c}
                    o_ins, o_outs = self._cached_boundary(other, clients, outputs, boundaries)
                    union = group | other
                    u_ins = (ins - o_outs) | (o_ins - outs)
                    u_outs = {v for v in outs | o_outs
                              if v in outputs or any(k == "output" or k not in union
                                                     for k, _ in clients.get(v, ()))}
                    if len(u_ins) + len(u_outs) > limit or \
                            not self._convex(union, pos, clients):
                        rejected.update(other)
                        continue
                    for m in other:
                        group_of[m] = group
                    group |= other
                    todo.extend(other)
                    other.clear()  # the absorbed group is skipped when fusing
                    ins, outs = u_ins, u_outs
                    boundaries[id(group)] = (ins, outs)

    def _cached_boundary(self, group, clients, outputs, boundaries):
        if len(group) == 1:
            return self._boundary(group, clients, outputs)
        got = boundaries.get(id(group))
        if got is None:
            got = boundaries[id(group)] = self._boundary(group, clients, outputs)
        return got

    @staticmethod
    def _boundary(group, clients, outputs):
        """(external input variables, variables used outside) of a group of nodes."""
        ins, outs = set(), set()
        for node in group:
            for i in node.inputs:
                if i.owner not in group and not _inlinable_constant(i):
                    ins.add(i)
            for o in node.outputs:
                if o in outputs or any(c == "output" or c not in group for c, _ in clients.get(o, ())):
                    outs.add(o)
        return ins, outs

    @staticmethod
    def _convex(group, pos, clients):
        """No path leaves `group` and comes back into it."""
        hi = max(pos[n] for n in group)
        stack = [c for n in group for o in n.outputs for c, _ in clients.get(o, ())
                 if c != "output" and c not in group]
        seen = set()
        while stack:
            n = stack.pop()
            if n in seen or pos.get(n, hi + 1) > hi:
                continue
            if n in group or len(seen) > SEARCH_BUDGET:
                return False
            seen.add(n)
            stack.extend(c for o in n.outputs for c, _ in clients.get(o, ()) if c != "output")
        return True

    @staticmethod
    def _no_path_back(p, group, pos, hi, clients, safe):
        """True unless some path p -> (outside) -> group exists."""
        seen = set()
        stack = [c for o in p.outputs for c, _ in clients.get(o, ()) if c != "output" and c not in group]
        while stack:
            n = stack.pop()
            if n in seen or n in safe or pos.get(n, hi + 1) > hi:
                continue
            if n in group or len(seen) > SEARCH_BUDGET:
                return False
            seen.add(n)
            stack.extend(c for o in n.outputs for c, _ in clients.get(o, ()) if c != "output")
        safe |= seen
        return True

    @staticmethod
    def _convex_with(p, group, pos, lo):
        """True unless some path group -> (outside) -> p exists."""
        seen = set()
        stack = [i.owner for i in p.inputs if i.owner is not None]
        while stack:
            n = stack.pop()
            if n in seen or pos.get(n, -1) < lo:
                continue
            seen.add(n)
            if n in group or len(seen) > SEARCH_BUDGET:
                # p depends on a group node through a path outside the group (or we gave up)
                return False
            stack.extend(i.owner for i in n.inputs if i.owner is not None)
        return True

    def _fuse(self, fgraph, group, pos):
        nodes = sorted(group, key=pos.__getitem__)
        inner_of = {}
        outer_inputs = []
        for node in nodes:
            for i in node.inputs:
                if i in inner_of or i.owner in group:
                    continue
                if _inlinable_constant(i):
                    data = np.asarray(_constant_of(i).data).reshape(())
                    inner_of[i] = TensorType(i.type.dtype, ()).make_constant(data)
                else:
                    inner_of[i] = TensorType(i.type.dtype, ())()
                    outer_inputs.append(i)
        inner_inputs = [inner_of[i] for i in outer_inputs]
        outer_outputs = []
        for node in nodes:
            new = node.op.scalar_op.make_node(*[inner_of[i] for i in node.inputs])
            for o, no in zip(node.outputs, new.outputs):
                if no.type.dtype != o.type.dtype:
                    return False
                inner_of[o] = no
                if any(c == "output" or c not in group for c, _ in fgraph.clients.get(o, ())):
                    outer_outputs.append(o)
        if not outer_outputs:
            return False
        if not outer_inputs:  # constants only: leave it to constant folding
            return False
        comp = Composite(inner_inputs, [inner_of[o] for o in outer_outputs])
        fused_node = Elemwise(comp).make_node(*outer_inputs)
        # the fused node points at the user line of the group's last node
        fused_node.tag.trace = getattr(nodes[-1].tag, "trace", ())
        pairs = []
        for old, new in zip(outer_outputs, fused_node.outputs):
            if not old.type.is_super(new.type):
                if new.type.is_super(old.type):
                    continue
                return False
            pairs.append((old, new))
        fgraph.replace_all_validate(pairs, reason="elemwise_fusion")
        return True


class ReduceFusion(GraphRewriter):
    """sum(f(x, y), axis) -> FusedReduce{sum, f}(x, y) when f's result has no other use"""

    name = "reduce_fusion"

    def apply(self, fgraph):
        from graphcore.tensor.fused_reduce import FusedReduce

        count = 0
        for node in fgraph.toposort():
            if not isinstance(node.op, Reduce) or node not in fgraph.apply_nodes:
                continue
            x = node.inputs[0]
            p = x.owner
            if p is None or not _fusable(p) or len(p.outputs) != 1:
                continue
            if len(fgraph.clients.get(x, ())) != 1 or x in fgraph.outputs:
                continue
            if node.op.scalar_op.name not in ("add", "mul", "maximum", "minimum"):
                continue
            op = node.op
            new = FusedReduce(op.scalar_op, op.axis, p.op.scalar_op, op.dtype, op.acc_dtype)
            try:
                out = new(*p.inputs)
            except (TypeError, ValueError):
                continue
            out.owner.tag.trace = getattr(node.tag, "trace", ())
            if out.type != node.outputs[0].type and not node.outputs[0].type.is_super(out.type):
                continue
            fgraph.replace_all_validate([(node.outputs[0], out)], reason="reduce_fusion")
            count += 1
        return {"reduce_fusion": count} if count else {}


fusion_rewriter = ElemwiseFusion()
reduce_fusion_rewriter = ReduceFusion()
