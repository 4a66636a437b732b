"""R_op of a Scan (forward-mode derivative): one loop carrying the values and their tangents.

Each step runs the forward step and its Jacobian-vector product (`Rop` of
the inner graph) on the sequences' entries and their tangents, the states'
past values and past tangents, the non-sequences and theirs; a missing eval
point is a zero tangent. The tangent of a state's buffer keeps the initial
entries' tangents in front, as the forward buffer keeps the initial values.
A `while` loop (until) and states carried only as updates have no R_op (None).
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.replace import clone_replace
from graphcore.rop import Rop
from graphcore.tensor.math import zeros_like


def _is_float(v):
    return hasattr(v.type, "dtype") and np.dtype(v.type.dtype).kind == "f"


def scan_r_op(op, inputs, eval_points, scan):
    """Tangents of a Scan node's outputs given tangents of its inputs; `scan` builds the loop."""
    info = op.info
    if info.as_while or not all(info.keep_all):
        return [None] * (info.n_states + info.n_nitsot)
    n, seqs, inits, non_seqs = op.split_inputs(inputs)
    in_seqs, in_taps, in_nonseqs = op.split_inner_inputs()
    base_states, base_non = 1 + info.n_seqs, 1 + info.n_seqs + info.n_states

    def tangent(k, v):
        e = eval_points[k]
        return zeros_like(v) if e is None else e

    seq_t = [tangent(1 + i, s) for i, s in enumerate(seqs)]
    init_t = [tangent(base_states + j, x) for j, x in enumerate(inits)]
    non_t = [tangent(base_non + k, v) for k, v in enumerate(non_seqs)]
    ns, nn = info.n_states, info.n_nitsot

    def spec(init, taps):
        return init[0] if taps == (-1,) else dict(initial=init, taps=list(taps))

    outputs_info = [spec(x, info.taps[j]) for j, x in enumerate(inits)] + \
        [spec(x, info.taps[j]) for j, x in enumerate(init_t)] + [None] * (2 * nn)

    def step(*args):
        it = iter(args)
        s_vals = [next(it) for _ in seqs]
        s_tans = [next(it) for _ in seqs]
        taps = [[next(it) for _ in info.taps[j]] for j in range(ns)]
        tap_tans = [[next(it) for _ in info.taps[j]] for j in range(ns)]
        nv = [next(it) for _ in non_seqs]
        nt = [next(it) for _ in non_seqs]
        mapping = list(zip(in_seqs, s_vals)) + list(zip(in_nonseqs, nv)) + \
            [(a, b) for j in range(ns) for a, b in zip(in_taps[j], taps[j])]
        outs = clone_replace(op.inner_outputs[:ns + nn], mapping)
        wrt, evs = [], []
        for v, t in zip(s_vals + [v for tp in taps for v in tp] + nv,
                        s_tans + [t for tp in tap_tans for t in tp] + nt):
            if _is_float(v):
                wrt.append(v)
                evs.append(t)
        tans = Rop(outs, wrt, evs, disconnected_outputs="ignore", return_disconnected="zero") \
            if wrt else [zeros_like(o) for o in outs]
        tans = [zeros_like(o) if t is None else t for o, t in zip(outs, tans)]
        return outs[:ns] + tans[:ns] + outs[ns:] + tans[ns:]

    res, _ = scan(step, sequences=list(seqs) + seq_t, outputs_info=outputs_info,
                  non_sequences=list(non_seqs) + non_t, n_steps=n, return_list=True,
                  name=f"rop_of_{info.name or 'scan'}")
    result = []
    for j in range(ns):
        result.append(res[ns + j].owner.inputs[0])  # the whole tangent buffer, initial entries first
    for q in range(nn):
        result.append(res[2 * ns + nn + q])
    return result
