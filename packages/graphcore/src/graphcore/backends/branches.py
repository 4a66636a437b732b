"""Lazy branches in a Program: each branch's own nodes run only after a conditional jump.

An op with lazy branches (ifelse) declares `branch_inputs(node) -> (cond position,
then positions, else positions)`. Its node reads the condition and both branches'
values, but only the branch the condition picks is computed: `plan_branches`
moves every node whose results are used by nothing but one branch (its
"exclusive" nodes) into a block placed just before the branching node, and
`BranchPlan.add_jumps` brackets the blocks with

    JumpUnless(cond, ELSE); <then block>; Jump(END); ELSE: <else block>; END: <node>

The skipped branch's input slots hold None when the node runs.

The blocks are computed on the final, optimized graph, so whatever fusion or
merge did, a node is skipped only when nothing outside the branch needs it:
a node merged with one outside the branch is simply computed eagerly, as
Theano's lazy VM would. Two cases keep a node eager even though only the
branch uses it: moving it later would put it after an in-place op that
overwrites what it reads, or it sits in an inner branch of a node whose outer
block does not contain it. Forward jumps only: the linear last-use liveness of
`build_program` stays correct (a slot freed in a skipped block is merely kept
until the end of the call).
"""

from __future__ import annotations

import heapq


class BranchPlan:
    """The node order with the branch blocks in place, and where the jumps go."""

    def __init__(self, order, seq):
        self.order = order  # the nodes, in execution order (one instruction each)
        self.seq = seq  # the nodes interleaved with ("unless", cond, label) / ("jump", label) / ("label", label)

    def add_jumps(self, program, jump, jump_unless):
        """`program` (built from `self.order`) with `jump`/`jump_unless` instructions inserted
        (program.py passes its Jump and JumpUnless classes: it imports this module)."""
        from_node = {ins.node: ins for ins in program.instructions}
        slot_of = {s.variable: s.index for s in program.slots}
        where = {}
        k = 0
        for item in self.seq:
            if isinstance(item, tuple) and item[0] == "label":
                where[item[1]] = k
            else:
                k += 1
        out = []
        for item in self.seq:
            if not isinstance(item, tuple):
                out.append(from_node[item])
            elif item[0] == "unless":
                out.append(jump_unless(slot_of[item[1]], where[item[2]]))
            elif item[0] == "jump":
                out.append(jump(where[item[1]]))
        program.instructions = out
        return program


def _view_root(var):
    """The variable whose buffer `var` is (a view of, or an in-place result on)."""
    while var.owner is not None:
        op = var.owner.op
        k = var.owner.outputs.index(var)
        src = op.view_map.get(k) or op.destroy_map.get(k)
        if not src:
            break
        var = var.owner.inputs[src[0]]
    return var


def _exclusive(node, positions, pos, clients, outputs):
    """The nodes (before `node`) whose every use leads only into `node`'s inputs at `positions`."""
    allowed = set(positions)
    block = set()
    heap = []
    seen = set()
    for k in allowed:
        owner = node.inputs[k].owner
        if owner is not None and owner in pos and owner not in seen:
            seen.add(owner)
            heapq.heappush(heap, (-pos[owner], id(owner), owner))
    while heap:  # consumers before producers: every client is decided before its producer
        _, _, x = heapq.heappop(heap)
        ok, used = True, False
        for o in x.outputs:
            if o in outputs:
                ok = False
                break
            for c, i in clients.get(o, ()):
                used = True
                if c == "output" or (c is node and i not in allowed) or (c is not node and c not in block):
                    ok = False
                    break
            if not ok:
                break
        if not (ok and used):
            continue
        block.add(x)
        for v in x.inputs:
            owner = v.owner
            if owner is not None and owner in pos and owner not in seen:
                seen.add(owner)
                heapq.heappush(heap, (-pos[owner], id(owner), owner))
    return block


def _evict(block, x):
    """Take `x` and its ancestors inside `block` out of it (they run eagerly, before the jump)."""
    stack = [x]
    while stack:
        n = stack.pop()
        if n in block:
            block.discard(n)
            stack.extend(v.owner for v in n.inputs if v.owner is not None)


def _evict_overwritten(block, node, order, pos):
    """Keep eager the block nodes that read a buffer an in-place op overwrites before `node`."""
    if not block:
        return
    first = min(pos[b] for b in block)
    destroyed = []  # (position, root) of buffers overwritten between the block's start and node
    for d in order[first:pos[node]]:
        if d not in block and d.op.destroy_map:
            for ins in d.op.destroy_map.values():
                destroyed.append((pos[d], _view_root(d.inputs[ins[0]])))
    if not destroyed:
        return
    for b in sorted(block, key=pos.get):
        if b not in block:
            continue
        roots = {_view_root(v) for v in b.inputs}
        if any(p > pos[b] and r in roots for p, r in destroyed):
            _evict(block, b)


def plan_branches(fgraph, order):
    """The BranchPlan for `order`, or None when no node has lazy branches."""
    branching = [n for n in order if hasattr(n.op, "branch_inputs")]
    if not branching:
        return None
    pos = {n: k for k, n in enumerate(order)}
    clients = fgraph.clients
    outputs = set(fgraph.outputs)
    blocks = {}
    cond_of = {}
    for n in branching:
        c, then_pos, else_pos = n.op.branch_inputs(n)
        cond_of[n] = n.inputs[c]
        pair = []
        for positions in (then_pos, else_pos):
            block = _exclusive(n, positions, pos, clients, outputs)
            _evict_overwritten(block, n, order, pos)
            pair.append(block)
        blocks[n] = pair
    # nesting: a node in an inner branch whose node sits in an outer block must be there too
    changed = True
    while changed:
        changed = False
        for outer in branching:
            for ob in blocks[outer]:
                for inner in branching:
                    if inner is outer or inner not in ob:
                        continue
                    for ib in blocks[inner]:
                        for x in [x for x in ib if x not in ob]:
                            _evict(ib, x)
                            changed = True
    labels = iter(range(1 << 30))
    seq = []

    def emit(nodes):
        here = set(nodes)
        nested = set()
        for n in nodes:
            if n in blocks:
                for b in blocks[n]:
                    nested |= b & here
        for n in nodes:
            if n in nested:
                continue
            if n in blocks and (blocks[n][0] or blocks[n][1]):
                then_nodes = [m for m in nodes if m in blocks[n][0]]
                else_nodes = [m for m in nodes if m in blocks[n][1]]
                at_else, at_end = next(labels), next(labels)
                seq.append(("unless", cond_of[n], at_else))
                emit(then_nodes)
                seq.append(("jump", at_end))
                seq.append(("label", at_else))
                emit(else_nodes)
                seq.append(("label", at_end))
            seq.append(n)

    emit(list(order))
    new_order = [x for x in seq if not isinstance(x, tuple)]
    return BranchPlan(new_order, seq)
