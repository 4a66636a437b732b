"""scan(): build a loop from a Python step function, with Theano's arguments and semantics.

    result, updates = theano.scan(fn=lambda prior, A: prior * A,
                                  outputs_info=T.ones_like(A), non_sequences=A, n_steps=k)

`fn` is called once, on symbolic stand-ins for one step's values, in Theano's
order: each sequence's taps, each recurrent output's taps, the non-sequences.
It returns the step's outputs, optionally with a dict of updates of shared
variables and/or an `until(condition)`. Decisions (where Theano left room):

- Variables the step reads without declaring them (outer symbolic variables,
  shared variables) become non-sequences of the loop, so the gradient reaches
  them; `strict=True` makes an undeclared shared variable an error instead.
- Updates returned by the step (and the default updates of shared variables
  the step reads, e.g. a random stream's generator) are carried from step to
  step; `scan` returns the last value as the update.
- Without `n_steps`, sequences of different static lengths are an error at
  build time; when a length is known only at run time the loop runs over the
  shortest sequence, as Theano's does (its tutorial scans
  `[coefficients, arange(max_degree)]`). With `n_steps`, each sequence must
  have at least that many entries (checked at call time).
- `go_backwards` reverses the sequences; the results are in loop order.
- `profile=True` profiles the step function (`op.step_profile.summary()`; with
  config.profile every step function is summarized at exit, named "<name> step");
  `allow_gc` is accepted for compatibility and changes nothing.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from graphcore.graph.basic import Constant, Variable
from graphcore.graph.replace import clone_replace
from graphcore.compile.sharedvalue import SharedVariable
from graphcore.graph.traversal import ancestors, graph_inputs
from graphcore.scan.op import Scan, ScanInfo
from graphcore.tensor.basic import (NotScalarConstantError, as_tensor_variable, cast,
                                    get_scalar_constant_value)
from graphcore.tensor.math import minimum
from graphcore.tensor.shape import shape_padleft
from graphcore.tensor.type import TensorType


class until:  # noqa: N801 (Theano's name)
    """Return `until(condition)` from a step function to stop after the step where it is true."""

    def __init__(self, condition):
        c = as_tensor_variable(condition)
        if c.type.ndim != 0:
            raise TypeError(f"until: the condition must be a scalar, got {c} of type {c.type}")
        self.condition = c


def _as_list(x):
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _step_type(t):
    """The type of one entry (leading dimension dropped)."""
    return TensorType(t.dtype, t.shape[1:])


def _stand_in(t, name):
    v = t()
    v.name = name
    return v


def _label(v, fallback):
    return v.name if getattr(v, "name", None) else fallback


def _parse_step_result(ret):
    """(outputs, updates as (shared, expr) pairs, condition or None) from what fn returned."""
    outs, updates, cond = [], [], None

    def is_pairs(x):
        return isinstance(x, (list, tuple)) and x and all(
            isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], SharedVariable) for p in x)

    items = list(ret) if isinstance(ret, tuple) else [ret]
    for item in items:
        if isinstance(item, until):
            cond = item.condition
        elif isinstance(item, dict):
            updates.extend(item.items())
        elif is_pairs(item):
            updates.extend(item)
        elif isinstance(item, (list, tuple)):
            outs.extend(item)
        elif item is not None:
            outs.append(item)
    return outs, updates, cond


def _n_steps_value(v):
    try:
        return int(get_scalar_constant_value(v))
    except (NotScalarConstantError, TypeError, ValueError):
        return None


def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None,
         truncate_gradient=-1, go_backwards=False, mode=None, name=None, profile=False,
         allow_gc=None, strict=False, return_list=False):
    """Loop `fn` over `sequences`; returns (outputs, updates) as Theano's scan does.

    sequences: variables or dict(input=x, taps=[...]) (taps default [0]);
    outputs_info: per output None (map-like), an initial value (taps [-1]) or
    dict(initial=x, taps=[-2, -1]) (initial's leading entries are the oldest
    values); non_sequences: passed to every step; n_steps: the number of steps
    (required without sequences); truncate_gradient: backpropagate through at
    most that many steps (-1: all); go_backwards: walk the sequences from the end.
    """
    where = f"scan{f' {name!r}' if name else ''}"
    seq_specs = []
    for k, s in enumerate(_as_list(sequences)):
        if isinstance(s, dict):
            if "input" not in s:
                raise ValueError(f"{where}: sequences[{k}] is a dict without 'input'")
            x, taps = s["input"], list(s.get("taps", [0]) or [0])
        else:
            x, taps = s, [0]
        x = as_tensor_variable(x)
        if x.type.ndim < 1:
            raise TypeError(f"{where}: sequences[{k}] ({x}) must have at least one dimension to "
                            f"loop over, got type {x.type}")
        if any(not isinstance(t, (int, np.integer)) for t in taps):
            raise TypeError(f"{where}: sequences[{k}]: taps must be ints, got {taps}")
        seq_specs.append((x, sorted(int(t) for t in taps), _label(x, f"sequences[{k}]")))

    out_specs = []  # (initial or None, taps or None)
    for k, o in enumerate(_as_list(outputs_info)):
        if isinstance(o, dict):
            if o.get("initial") is None:
                if o.get("taps"):
                    raise ValueError(f"{where}: outputs_info[{k}] has taps but no 'initial'")
                out_specs.append((None, None))
                continue
            init, taps = as_tensor_variable(o["initial"]), list(o.get("taps", [-1]) or [-1])
        elif o is None:
            out_specs.append((None, None))
            continue
        else:
            init, taps = as_tensor_variable(o), [-1]
        if any(not isinstance(t, (int, np.integer)) or t >= 0 for t in taps):
            raise ValueError(f"{where}: outputs_info[{k}]: taps must be negative ints (past "
                             f"steps), got {taps}")
        out_specs.append((init, sorted(int(t) for t in taps)))

    non_seqs = [v if isinstance(v, Variable) else as_tensor_variable(v)
                for v in _as_list(non_sequences)]

    # -- the step function, on stand-ins -------------------------------------------------
    args = []
    seq_inputs = []  # (outer sliced sequence, inner stand-in)
    for x, taps, label in seq_specs:
        xs = x[::-1] if go_backwards else x
        lo, hi = taps[0], taps[-1]
        for t in taps:
            inner = _stand_in(_step_type(x.type), f"{label}[t{t:+d}]" if t else f"{label}[t]")
            end = t - hi
            outer = xs[t - lo:end] if end != 0 else (xs[t - lo:] if t != lo else xs)
            seq_inputs.append((outer, inner, label))
            args.append(inner)
    state_taps = []  # per recurrent output: list of inner stand-ins
    for k, (init, taps) in enumerate(out_specs):
        if init is None:
            continue
        if taps == [-1]:
            t = init.type
        else:
            if init.type.ndim < 1:
                raise TypeError(f"{where}: outputs_info[{k}]: with taps {taps} the initial value "
                                f"needs a leading dimension of {-taps[0]} past values, got "
                                f"{init} of type {init.type}")
            t = _step_type(init.type)
        ins = [_stand_in(t, f"{_label(init, f'outputs_info[{k}]')}[t{d:+d}]") for d in taps]
        state_taps.append(ins)
        args.extend(ins)
    # non-sequences are passed as themselves (Theano does: the step may differentiate
    # through them, as the jacobian-by-scan idiom does); they are cut out below
    args.extend(non_seqs)

    ret = fn(*args)
    outs, updates, cond = _parse_step_result(ret)
    if outputs_info is None:
        out_specs = [(None, None)] * len(outs)
    elif len(outs) != len(out_specs):
        raise ValueError(f"{where}: the step function returned {len(outs)} output(s), but "
                         f"outputs_info has {len(out_specs)} entries (use None for an output "
                         "that is not fed back)")
    outs = [as_tensor_variable(o) for o in outs]

    # -- check the recurrent outputs against their initial values -------------------------
    state_outs, nitsot_outs = [], []
    state_inits, state_keep, state_tap_lists, state_labels = [], [], [], []
    si = 0
    for k, (out, (init, taps)) in enumerate(zip(outs, out_specs)):
        if init is None:
            nitsot_outs.append(out)
            continue
        want = state_taps[si][0].type
        si += 1
        label = f"outputs_info[{k}]"
        if out.type.ndim != want.ndim:
            raise TypeError(f"{where}: the step function's output {k} ({out}) has {out.type.ndim} "
                            f"dimensions, but {label} (the initial state) has {want.ndim}: "
                            f"expected {want}, got {out.type}")
        if out.type.dtype != want.dtype:
            raise TypeError(f"{where}: the step function's output {k} ({out}) has dtype "
                            f"{out.type.dtype}, but {label} (the initial state) has dtype "
                            f"{want.dtype}: expected {want}, got {out.type}. Cast one of them, "
                            f"e.g. T.cast(out, '{want.dtype}')")
        state_outs.append(out)
        if taps == [-1]:
            state_inits.append(shape_padleft(init))
        else:
            state_inits.append(init[:-taps[0]])
        state_keep.append(True)
        state_tap_lists.append(tuple(taps))
        state_labels.append(label)
    if cond is not None and cond.type.dtype != "bool":
        cond = cast(cond, "bool")

    # -- updates: explicit ones, then default updates of shared variables the step reads ---
    update_pairs = OrderedDict()
    for target, expr in updates:
        if not isinstance(target, SharedVariable):
            raise TypeError(f"{where}: the step function returned an update of {target}, which "
                            "is not a shared variable")
        update_pairs[target] = expr
    roots = list(state_outs) + list(nitsot_outs) + list(update_pairs.values()) + \
        ([cond] if cond is not None else [])
    pending = [v for v in ancestors(roots) if isinstance(v, SharedVariable)]
    while pending:
        v = pending.pop()
        if v not in update_pairs and getattr(v, "default_update", None) is not None:
            update_pairs[v] = v.default_update
            pending.extend(a for a in ancestors([v.default_update]) if isinstance(a, SharedVariable))
    upd_inner = {}
    for target, expr in update_pairs.items():
        if isinstance(expr, Variable):
            if hasattr(target.type, "dtype") and getattr(expr.type, "dtype", None) != target.type.dtype:
                raise TypeError(f"{where}: the update of {target} has dtype "
                                f"{getattr(expr.type, 'dtype', '?')}, the shared variable "
                                f"{target.type.dtype}")
        else:
            expr = as_tensor_variable(expr)
        upd_inner[target] = (_stand_in(target.type, target.name), expr)

    # -- free variables of the step become non-sequences ----------------------------------
    own = set(args[:len(args) - len(non_seqs)])
    declared = [v for v in non_seqs if not isinstance(v, Constant)]
    everything = list(state_outs) + list(nitsot_outs) + [e for _, e in upd_inner.values()] + \
        ([cond] if cond is not None else [])
    extra_outer, extra_inner = [], []
    for v in declared:  # the declared non-sequences first, in order (even if unused)
        if v in upd_inner or v in extra_outer:
            continue
        extra_outer.append(v)
        extra_inner.append(_stand_in(v.type, v.name))
    for v in graph_inputs(everything, blockers=list(own) + declared):
        if v in own or isinstance(v, Constant) or v in upd_inner or v in extra_outer:
            continue
        if isinstance(v, SharedVariable) and strict:
            raise ValueError(f"{where}: strict=True and the step reads the shared variable {v} "
                             "without it being among the non_sequences")
        extra_outer.append(v)
        extra_inner.append(_stand_in(v.type, v.name))
    nonseq_outer_final, nonseq_inner_final = extra_outer, extra_inner

    replace = list(zip(extra_outer, extra_inner)) + [(t, p) for t, (p, _) in upd_inner.items()]
    inner_outs = clone_replace(everything, replace, strict=False) if replace else list(everything)
    n_s, n_n = len(state_outs), len(nitsot_outs)
    new_states = inner_outs[:n_s]
    new_nitsot = inner_outs[n_s:n_s + n_n]
    new_updates = inner_outs[n_s + n_n:n_s + n_n + len(upd_inner)]
    new_cond = inner_outs[-1] if cond is not None else None

    # update states: carried from step to step, only the last value kept
    upd_targets = list(upd_inner)
    for target, (p, _) in upd_inner.items():
        state_keep.append(False)
        state_tap_lists.append((-1,))
        state_labels.append(f"the update of {target}")
        state_inits.append(target)
        state_taps.append([p])

    # -- n_steps -----------------------------------------------------------------------
    lengths = [outer.shape[0] for outer, _, _ in seq_inputs]
    static = [_n_steps_value(n) for n in lengths]
    if n_steps is None:
        if not seq_inputs:
            raise ValueError(f"{where}: give n_steps or at least one sequence (the number of "
                             "steps is unknown)")
        known = {(lab, s) for (_, _, lab), s in zip(seq_inputs, static) if s is not None}
        if len({s for _, s in known}) > 1:
            desc = ", ".join(f"{lab} has {s}" for lab, s in sorted(known, key=lambda p: p[0]))
            raise ValueError(f"{where}: the sequences have different lengths ({desc} steps after "
                             "taps); give n_steps or sequences of the same length")
        n = lengths[0]
        for length in lengths[1:]:  # Theano: the shortest sequence (lengths unknown until run)
            n = minimum(n, length)
    else:
        n = as_tensor_variable(n_steps)
        if n.type.ndim != 0 or not n.type.dtype.startswith(("int", "uint")):
            raise TypeError(f"{where}: n_steps must be an integer scalar, got {n} of type {n.type}")
        value = _n_steps_value(n)
        if value is not None and value < 0:
            raise ValueError(f"{where}: n_steps must be >= 0, got {value}")
        for (_, _, lab), s in zip(seq_inputs, static):
            if value is not None and s is not None and s < value:
                raise ValueError(f"{where}: {lab} has {s} steps (after taps), fewer than "
                                 f"n_steps={value}")
    if n.type.dtype != "int64":
        n = cast(n, "int64")

    info = ScanInfo(
        n_seqs=len(seq_inputs), taps=tuple(state_tap_lists), keep_all=tuple(state_keep),
        n_nitsot=len(nitsot_outs), n_nonseqs=len(nonseq_outer_final),
        as_while=cond is not None,
        seq_names=tuple(lab for _, _, lab in seq_inputs), state_names=tuple(state_labels),
        truncate_gradient=int(truncate_gradient), name=name)
    inner_inputs = [inner for _, inner, _ in seq_inputs] + \
        [v for taps in state_taps for v in taps] + nonseq_inner_final
    inner_outputs = new_states + new_updates + new_nitsot + ([new_cond] if new_cond is not None else [])
    op = Scan(inner_inputs, inner_outputs, info, mode=mode, build=scan, profile=profile)
    node = op.make_node(n, *[outer for outer, _, _ in seq_inputs], *state_inits,
                        *nonseq_outer_final)
    results = node.outputs

    # -- what the user gets -------------------------------------------------------------
    user = []
    state_iter = iter(range(n_s))
    nit_iter = iter(range(n_n))
    for init, taps in out_specs:
        if init is None:
            user.append(results[n_s + len(upd_targets) + next(nit_iter)])
        else:
            j = next(state_iter)
            user.append(results[j][-taps[0]:])
    for v in user:
        if name:
            v.name = name
    out_updates = OrderedDict((t, results[n_s + k]) for k, t in enumerate(upd_targets))
    if return_list:
        return user, out_updates
    if len(user) == 1:
        return user[0], out_updates
    if not user:
        return None, out_updates
    return user, out_updates
