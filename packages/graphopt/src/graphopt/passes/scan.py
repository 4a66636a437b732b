"""Scan rewrites: move work out of the loop, drop what nobody reads.

- `scan_hoist`: an inner node whose inputs are only non-sequences and
  constants runs once, before the loop (its result becomes a non-sequence);
  a Dot of a sequence entry with an invariant matrix, and an elementwise op of
  sequence entries and invariants, run once over all steps (one GEMM for the
  RNN's input projection `x_t @ W`; the result becomes a sequence).
- `scan_prune`: map-like outputs nobody reads are no longer computed; states
  nobody reads and no kept output depends on are dropped; sequences and
  non-sequences the step no longer reads are no longer passed.
- `scan_hoist_accumulators`: a carried sum `A += x_t.T @ v_t` (x a sequence)
  becomes one GEMM `X.T @ V` after the loop, `A += e_t` for a vector/scalar e
  a sum over the stacked e (the backward loop's weight and bias gradients).
- `scan_keep_last`: a state read only as `y[-1]` is carried without its
  n_steps-long buffer (a reduce keeps one value, not every step's). With
  n_steps = 0 such a read gives the initial value instead of an IndexError.
- `scan_merge`: two independent loops with the same number of steps (e.g. over the
  same sequences), truncation and mode, neither with `until`, become one loop
  computing both's outputs.
- `scan_inner_backend`: the step is compiled for the backend the function is
  compiled for (the python reference backend runs its loops' steps on itself),
  unless `scan(mode=...)` chose a mode.

Both rebuild the Scan with a smaller layout (`ScanInfo`); the inner graph is
then compiled (and optimized with the outer passes) when the loop first runs.
"""

from __future__ import annotations

import dataclasses

from graphcore.compile.mode import Mode
from graphcore.graph.basic import Constant
from graphcore.graph.replace import clone_replace
from graphcore.graph.traversal import ancestors, io_toposort
from graphcore.scan.op import Scan
from graphcore.tensor.dot import Dot, dot
from graphcore.ifelse import ifelse
from graphcore.scalar import ops as so
from graphcore.tensor.elemwise import DimShuffle, Elemwise
from graphcore.tensor.math import zeros_like
from graphcore.tensor.shape import reshape
from graphcore.tensor.subtensor import Subtensor

from graphopt.rewriting.basic import node_rewriter


def _stand_in(v):
    s = v.type()
    s.name = v.name
    return s


def _rebuild(op, node, seqs, nonseqs, states_keep=None, nitsot_keep=None, replace=()):
    """A Scan node like `node` with the given (outer, inner) sequences and non-sequences,
    only the states / map-like outputs listed, inner variables replaced by stand-ins."""
    info = op.info
    n_steps, _, inits, _ = op.split_inputs(node.inputs)
    _, in_taps, _ = op.split_inner_inputs()
    ns = info.n_states
    states_keep = list(range(ns)) if states_keep is None else states_keep
    nitsot_keep = list(range(info.n_nitsot)) if nitsot_keep is None else nitsot_keep
    outs = [op.inner_outputs[j] for j in states_keep] + \
        [op.inner_outputs[ns + q] for q in nitsot_keep] + \
        ([op.inner_outputs[-1]] if info.as_while else [])
    if replace:
        outs = clone_replace(outs, list(replace), strict=False)
    new_info = dataclasses.replace(
        info, n_seqs=len(seqs), n_nonseqs=len(nonseqs), n_nitsot=len(nitsot_keep),
        taps=tuple(info.taps[j] for j in states_keep),
        keep_all=tuple(info.keep_all[j] for j in states_keep),
        state_names=tuple(info.state_names[j] for j in states_keep)
        if len(info.state_names) == ns else (),
        seq_names=tuple(lab for _, _, lab in seqs))
    inner_inputs = [i for _, i, _ in seqs] + [v for j in states_keep for v in in_taps[j]] + \
        [i for _, i in nonseqs]
    new_op = Scan(inner_inputs, outs, new_info, mode=op.mode, build=op.build,
                  profile=op.profile)
    new_node = new_op.make_node(n_steps, *[o for o, _, _ in seqs],
                                *[inits[j] for j in states_keep], *[o for o, _ in nonseqs])
    return new_node


def _seq_label(info, i):
    return info.seq_names[i] if i < len(info.seq_names) else f"sequence {i}"


@node_rewriter([Scan])
def scan_hoist(fgraph, node):
    """scan(f(x_t, g(W))) -> scan over (g(W) once, x @ W over all steps) outside the loop"""
    op = node.op
    info = op.info
    _, seqs, _, nonseqs = op.split_inputs(node.inputs)
    in_seqs, in_taps, in_nonseqs = op.split_inner_inputs()
    kind = {}  # inner variable -> ("inv" | "seq", outer expression)
    for i, s in zip(in_nonseqs, nonseqs):
        kind[i] = ("inv", s)
    for i, s in zip(in_seqs, seqs):
        kind[i] = ("seq", s)
    n_steps = node.inputs[0]
    hoisted = []
    order = io_toposort(op.inner_inputs, op.inner_outputs)
    if any(hasattr(n.op, "branch_inputs") for n in order):
        return None  # hoisting could run a lazy branch's node on every call: keep the loop as is
    for n in order:
        if not hasattr(n.op, "perform") or getattr(n.op, "inner_outputs", None) is not None:
            continue
        if any(not hasattr(o.type, "dtype") for o in n.outputs + n.inputs):
            continue  # e.g. a random draw: its generator is carried, never invariant
        ks = []
        for v in n.inputs:
            if isinstance(v, Constant):
                ks.append("const")
            elif v in kind:
                ks.append(kind[v][0])
            else:
                ks.append(None)
        if None in ks or all(k == "const" for k in ks):
            continue
        outer_in = [v if k == "const" else kind[v][1] for v, k in zip(n.inputs, ks)]
        if "seq" not in ks:
            new = n.clone_with_new_inputs(outer_in, strict=False)
            for o, no in zip(n.outputs, new.outputs):
                kind[o] = ("inv", no)
            hoisted.append(n)
        elif isinstance(n.op, Dot) and ks == ["seq", "inv"] and n.inputs[1].type.ndim == 2 \
                and n.inputs[0].type.ndim in (1, 2):
            x, w = outer_in
            x = x[:n_steps]
            if n.inputs[0].type.ndim == 1:
                out = dot(x, w)
            else:
                flat = reshape(x, (x.shape[0] * x.shape[1], x.shape[2]), ndim=2)
                out = reshape(dot(flat, w), (x.shape[0], x.shape[1], w.shape[1]), ndim=3)
            if out.type.dtype != n.outputs[0].type.dtype:
                continue
            kind[n.outputs[0]] = ("seq", out)
            hoisted.append(n)
        elif isinstance(n.op, Elemwise) and len(n.outputs) == 1:
            nd = n.outputs[0].type.ndim
            args = []
            for v, k, ov in zip(n.inputs, ks, outer_in):
                if k == "seq":
                    args.append(ov[:n_steps])
                else:
                    args.append(ov.dimshuffle("x", *range(v.type.ndim)) if v.type.ndim == nd
                                else None)
            if any(a is None for a in args):
                continue
            out = n.op(*args)
            if out.type.dtype != n.outputs[0].type.dtype or out.type.ndim != nd + 1:
                continue
            kind[n.outputs[0]] = ("seq", out)
            hoisted.append(n)
    if not hoisted:
        return None
    # the hoisted values the loop still reads: by remaining inner nodes or as outputs
    hoisted_outs = {o for n in hoisted for o in n.outputs}
    used = set()
    for n in order:
        if n in hoisted:
            continue
        used.update(v for v in n.inputs if v in hoisted_outs)
    used.update(o for o in op.inner_outputs if o in hoisted_outs)
    new_seqs = [(s, i, _seq_label(info, k)) for k, (s, i) in enumerate(zip(seqs, in_seqs))]
    new_nonseqs = list(zip(nonseqs, in_nonseqs))
    replace = []
    for v in sorted(used, key=lambda v: v.auto_name):
        stand = _stand_in(v)
        k, outer = kind[v]
        if k == "seq":
            new_seqs.append((outer, stand, f"hoisted {v}"))
        else:
            new_nonseqs.append((outer, stand))
        replace.append((v, stand))
    if not replace:
        return None
    new_node = _rebuild(op, node, new_seqs, new_nonseqs, replace=replace)
    return _prune(new_node) or new_node.outputs


def _prune(node, used_outputs=None):
    """Outputs of a Scan like `node` without the unread outputs and unused inputs, or None."""
    op = node.op
    info = op.info
    ns = info.n_states
    _, seqs, _, nonseqs = op.split_inputs(node.inputs)
    in_seqs, in_taps, in_nonseqs = op.split_inner_inputs()
    if used_outputs is None:
        used_outputs = set(range(len(node.outputs)))
    nit_keep = [q for q in range(info.n_nitsot) if ns + q in used_outputs]
    roots = [op.inner_outputs[ns + q] for q in nit_keep] + ([op.inner_outputs[-1]] if info.as_while else [])
    states_keep = set(j for j in range(ns) if j in used_outputs)
    while True:  # a state is kept when read outside or needed by a kept output
        needed = set(ancestors(roots + [op.inner_outputs[j] for j in states_keep]))
        more = {j for j in range(ns) if j not in states_keep and any(v in needed for v in in_taps[j])}
        if not more:
            break
        states_keep |= more
    states_keep = sorted(states_keep)
    needed = set(ancestors(roots + [op.inner_outputs[j] for j in states_keep]))
    new_seqs = [(s, i, _seq_label(info, k)) for k, (s, i) in enumerate(zip(seqs, in_seqs))
                if i in needed]
    new_nonseqs = [(s, i) for s, i in zip(nonseqs, in_nonseqs) if i in needed]
    if len(states_keep) == ns and len(nit_keep) == info.n_nitsot and \
            len(new_seqs) == len(seqs) and len(new_nonseqs) == len(nonseqs):
        return None
    new_node = _rebuild(op, node, new_seqs, new_nonseqs, states_keep, nit_keep)
    result = [None] * len(node.outputs)
    for k, j in enumerate(states_keep):
        result[j] = new_node.outputs[k]
    for k, q in enumerate(nit_keep):
        result[ns + q] = new_node.outputs[len(states_keep) + k]
    return result


@node_rewriter([Scan])
def scan_prune(fgraph, node):
    """scan with unread outputs / unread inputs -> a smaller scan"""
    used = {k for k, o in enumerate(node.outputs) if fgraph.clients.get(o)}
    result = _prune(node, used)
    if result is None:
        return None
    return {o: r for o, r in zip(node.outputs, result) if r is not None}


def _is_transposed_entry(v, entries):
    """The index in `entries` of the 2-d sequence entry `v` is the transpose of, or None."""
    node = v.owner
    if node is None or not isinstance(node.op, DimShuffle) or tuple(node.op.new_order) != (1, 0):
        return None
    src = node.inputs[0]
    for i, e in enumerate(entries):
        if e is src:
            return i
    return None


@node_rewriter([Scan])
def scan_hoist_accumulators(fgraph, node):
    """A += x_t.T @ v_t in the loop -> A = A_0 + X.T @ V, one GEMM after it (and A += e_t for a
    vector or scalar e_t -> A = A_0 + sum(E)): a backward loop's weight gradients"""
    op = node.op
    info = op.info
    if info.as_while:
        return None
    in_seqs, in_taps, in_nonseqs = op.split_inner_inputs()
    n_steps, seqs, inits, nonseqs = op.split_inputs(node.inputs)
    ns, nn = info.n_states, info.n_nitsot
    order = io_toposort(op.inner_inputs, op.inner_outputs)
    uses = {}
    for n in order:
        for v in n.inputs:
            uses.setdefault(v, set()).add(n)
    plans = {}
    for k in range(ns):
        if info.keep_all[k] or info.taps[k] != (-1,):
            continue
        a, out = in_taps[k][0], op.inner_outputs[k]
        add = out.owner
        if add is None or not isinstance(add.op, Elemwise) or \
                not isinstance(add.op.scalar_op, so.Add) or len(add.inputs) != 2 or \
                a not in add.inputs or uses.get(a) != {add} or a in op.inner_outputs:
            continue
        e = add.inputs[1] if add.inputs[0] is a else add.inputs[0]
        if e.type != out.type and e.type.ndim != out.type.ndim:
            continue
        dot_node = e.owner
        if dot_node is not None and isinstance(dot_node.op, Dot) and \
                dot_node.inputs[1].type.ndim == 2 and \
                _is_transposed_entry(dot_node.inputs[0], in_seqs) is not None:
            plans[k] = ("gemm", _is_transposed_entry(dot_node.inputs[0], in_seqs),
                        dot_node.inputs[1])
        elif e.type.ndim <= 1:
            plans[k] = ("sum", None, e)
    taps_out = {in_taps[k][0] for k in plans}
    for k in list(plans):  # what is emitted per step may not read a removed accumulator
        if any(v in taps_out for v in ancestors([plans[k][2]])):
            del plans[k]
    if not plans:
        return None
    keep = [j for j in range(ns) if j not in plans]
    extra = []
    for k in sorted(plans):
        if plans[k][2] not in extra:
            extra.append(plans[k][2])
    new_outs = [op.inner_outputs[j] for j in keep] + list(op.inner_outputs[ns:ns + nn]) + extra + \
        ([op.inner_outputs[-1]] if info.as_while else [])
    new_info = dataclasses.replace(
        info, taps=tuple(info.taps[j] for j in keep),
        keep_all=tuple(info.keep_all[j] for j in keep), n_nitsot=nn + len(extra),
        state_names=tuple(info.state_names[j] for j in keep) if len(info.state_names) == ns else ())
    inner_inputs = list(in_seqs) + [v for j in keep for v in in_taps[j]] + list(in_nonseqs)
    new_op = Scan(inner_inputs, new_outs, new_info, mode=op.mode, build=op.build,
                  profile=op.profile)
    new_node = new_op.make_node(n_steps, *seqs, *[inits[j] for j in keep], *nonseqs)
    result = [None] * len(node.outputs)
    for pos, j in enumerate(keep):
        result[j] = new_node.outputs[pos]
    for q in range(nn):
        result[ns + q] = new_node.outputs[len(keep) + q]
    for k, (kind, i, v) in plans.items():
        stacked = new_node.outputs[len(keep) + nn + extra.index(v)]
        if kind == "gemm":
            x = seqs[i][:n_steps]
            rows = n_steps * x.shape[1]
            total = dot(reshape(x, (rows, x.shape[2]), ndim=2).T,
                        reshape(stacked, (rows, stacked.shape[2]), ndim=2))
        else:
            total = stacked.sum(axis=0)
        # no step ran: the stacked values have no trailing shape to multiply; A stays A_0
        result[k] = inits[k] + ifelse(n_steps > 0, total, zeros_like(inits[k]))
    return result


def _last_reads(fgraph, var, window):
    """The variables reading only `var[-1]` (also as `var[window:][-1]`), or None if `var` is
    read any other way."""
    finals = []
    for c, _ in fgraph.clients.get(var, ()):
        if c == "output" or not isinstance(c.op, Subtensor):
            return None
        idx = c.op.idx_list
        if idx == (-1,):
            finals.append(c.outputs[0])
        elif idx == (slice(window, None, None),):
            inner = _last_reads(fgraph, c.outputs[0], None)
            if not inner:
                return None
            finals.extend(inner)
        else:
            return None
    return finals


@node_rewriter([Scan])
def scan_keep_last(fgraph, node):
    """scan state read only as y[-1], or not at all -> only its last value is carried"""
    op = node.op
    info = op.info
    finals = {}
    for j in range(info.n_states):
        if info.keep_all[j] and info.taps[j] == (-1,):
            reads = _last_reads(fgraph, node.outputs[j], 1)
            if reads is not None:  # [] too: a state only fed back needs no buffer either
                finals[j] = reads
    if not finals:
        return None
    n_steps, seqs, inits, nonseqs = op.split_inputs(node.inputs)
    new_info = dataclasses.replace(info, keep_all=tuple(
        False if j in finals else k for j, k in enumerate(info.keep_all)))
    new_op = Scan(op.inner_inputs, op.inner_outputs, new_info, mode=op.mode, build=op.build,
                  profile=op.profile)
    new_inits = [x[0] if j in finals else x for j, x in enumerate(inits)]
    new_node = new_op.make_node(n_steps, *seqs, *new_inits, *nonseqs)
    result = {}
    for k, (old, new) in enumerate(zip(node.outputs, new_node.outputs)):
        if k in finals:
            for f in finals[k]:
                result[f] = new
        else:
            result[old] = new
    return result


@node_rewriter([Scan])
def scan_inner_backend(fgraph, node):
    """a scan compiled for backend B -> its step compiled for B too (unless scan(mode=) chose)"""
    backend = getattr(fgraph, "backend", None)
    op = node.op
    if backend is None or op.mode is not None:
        return None
    new_op = Scan(op.inner_inputs, op.inner_outputs, op.info, mode=Mode(linker=backend.name),
                  build=op.build, profile=op.profile)
    return new_op.make_node(*node.inputs).outputs


def _same_value(a, b, depth=4):
    """True when `a` and `b` certainly hold the same value: one variable, equal constants, or
    equal ops applied to the same values (a few levels deep: shape_i(x), minimum(...))."""
    if a is b:
        return True
    if isinstance(a, Constant) and isinstance(b, Constant):
        return a.type == b.type and a.signature() == b.signature()
    na, nb = a.owner, b.owner
    if depth == 0 or na is None or nb is None or na.op != nb.op or \
            len(na.inputs) != len(nb.inputs) or na.outputs.index(a) != nb.outputs.index(b):
        return False
    return all(_same_value(x, y, depth - 1) for x, y in zip(na.inputs, nb.inputs))


def _mergeable(a, b):
    """Two Scan nodes that can run as one loop: the same number of steps, truncation, mode and
    profiling, no `until`, no privately carried (non-tensor) state."""
    ia, ib = a.op.info, b.op.info
    return not ia.as_while and not ib.as_while and \
        ia.truncate_gradient == ib.truncate_gradient and \
        a.op.mode == b.op.mode and a.op.profile == b.op.profile and \
        not a.op.carried_privately and not b.op.carried_privately and \
        _same_value(a.inputs[0], b.inputs[0])


def _depends_on(node, other):
    """True when `node` reads (transitively) an output of `other`."""
    return any(v.owner is other for v in ancestors(list(node.inputs)))


def merge_scan_nodes(a, b):
    """One Scan node doing the work of the independent loops `a` and `b` (see `_mergeable`),
    and {old output: new output} for both. Its layout: a's sequences, b's sequences not
    already a's; a's states, b's states; a's map-like outputs, b's; a's non-sequences, b's
    not already a's. Inner inputs of both are replaced by fresh stand-ins, a sequence or
    non-sequence the loops share being one stand-in."""
    ops = a.op, b.op
    seqs, nonseqs, replace = [], [], []
    for node, op in zip((a, b), ops):
        _, o_seqs, _, o_nonseqs = op.split_inputs(node.inputs)
        in_seqs, _, in_nonseqs = op.split_inner_inputs()
        for k, (o, i) in enumerate(zip(o_seqs, in_seqs)):
            same = next((s for s, _, _ in seqs if s is o), None)
            if same is None:
                stand = _stand_in(i)
                seqs.append((o, stand, _seq_label(op.info, k)))
            else:
                stand = next(st for s, st, _ in seqs if s is same)
            replace.append((i, stand))
        for o, i in zip(o_nonseqs, in_nonseqs):
            same = next((st for s, st in nonseqs if s is o), None)
            if same is None:
                same = _stand_in(i)
                nonseqs.append((o, same))
            replace.append((i, same))
    taps_in = []
    for op in ops:
        _, in_taps, _ = op.split_inner_inputs()
        for vs in in_taps:
            stands = [_stand_in(v) for v in vs]
            replace.extend(zip(vs, stands))
            taps_in.extend(stands)
    ia, ib = (op.info for op in ops)
    outs = [op.inner_outputs[:op.info.n_states] for op in ops] + \
        [op.inner_outputs[op.info.n_states:] for op in ops]
    flat = [v for group in outs for v in group]
    flat = clone_replace(flat, replace, strict=False)
    names = ia.state_names + ib.state_names \
        if len(ia.state_names) == ia.n_states and len(ib.state_names) == ib.n_states else ()
    info = dataclasses.replace(
        ia, n_seqs=len(seqs), taps=ia.taps + ib.taps, keep_all=ia.keep_all + ib.keep_all,
        n_nitsot=ia.n_nitsot + ib.n_nitsot, n_nonseqs=len(nonseqs),
        seq_names=tuple(lab for _, _, lab in seqs), state_names=names,
        name=ia.name if ia.name == ib.name or not ib.name else
        (f"{ia.name}&{ib.name}" if ia.name else ib.name))
    new_op = Scan([st for _, st, _ in seqs] + taps_in + [st for _, st in nonseqs], flat, info,
                  mode=ops[0].mode, build=ops[0].build, profile=ops[0].profile)
    inits = [op.split_inputs(node.inputs)[2] for node, op in zip((a, b), ops)]
    new = new_op.make_node(a.inputs[0], *[o for o, _, _ in seqs], *inits[0], *inits[1],
                           *[o for o, _ in nonseqs])
    ns = ia.n_states + ib.n_states
    result = {}
    for k in range(ia.n_states):
        result[a.outputs[k]] = new.outputs[k]
    for k in range(ib.n_states):
        result[b.outputs[k]] = new.outputs[ia.n_states + k]
    for q in range(ia.n_nitsot):
        result[a.outputs[ia.n_states + q]] = new.outputs[ns + q]
    for q in range(ib.n_nitsot):
        result[b.outputs[ib.n_states + q]] = new.outputs[ns + ia.n_nitsot + q]
    return new, result


def _eager_nodes(fgraph):
    """The nodes computed whatever lazy branches (ifelse) pick: reached from the outputs
    through no branch input. A loop needed by one branch only is not merged with another
    (the merged loop would run even when that branch is not taken)."""
    if not any(hasattr(n.op, "branch_inputs") for n in fgraph.apply_nodes):
        return set(fgraph.apply_nodes)
    seen = set()
    stack = [o.owner for o in fgraph.outputs if o.owner is not None]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        ins = n.inputs
        if hasattr(n.op, "branch_inputs"):
            ins = [n.inputs[n.op.branch_inputs(n)[0]]]
        stack.extend(v.owner for v in ins if v.owner is not None and v.owner not in seen)
    return seen


@node_rewriter([Scan])
def scan_merge(fgraph, node):
    """two independent scans with the same n_steps -> one loop computing both (a forward pass
    and what is computed over the same sequences share the loop); both must be needed
    whatever lazy ifelse branches pick"""
    eager = _eager_nodes(fgraph)
    if node not in eager:
        return None
    for other in fgraph.toposort():
        if other is node or not isinstance(other.op, Scan) or other not in eager or \
                not _mergeable(node, other):
            continue
        if _depends_on(node, other) or _depends_on(other, node):
            continue
        _, result = merge_scan_nodes(node, other)
        return result
    return None


REWRITERS = [scan_hoist, scan_prune, scan_hoist_accumulators, scan_keep_last, scan_merge,
             scan_inner_backend]
