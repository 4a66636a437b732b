"""The gradient of a Scan: another scan, running backwards over the forward loop's steps.

At forward step t a state's new value y_t is computed from its past values
y_{t+d} (taps d < 0), the sequences' entries and the non-sequences. Walking t
from the last step to the first, the backward step carries, per float state,
the pending gradients P of the `window` most recent past values (P[k] belongs
to y_{t-k} on entry, so y_t's total gradient is the direct one plus P[0]),
and per float non-sequence an accumulator of its gradient:

    G     = dY[t] + P[0]
    grads = VJP of the step at t with cotangents G (states), dZ[t] (map outputs)
    P'    = P shifted by one (P[1:], then zeros) + each tap's gradient at row -1-d
    A'    = A + grad of the non-sequences

The forward step's outputs y_t and z_t are fed to the backward step as
sequences and substituted for their expressions, so e.g. tanh's derivative
1 - y**2 reads the stored state instead of recomputing the step. After the
loop, P holds the gradients of the initial values (newest first). With
`truncate_gradient=k` only the last k steps run backwards; earlier sequence
entries get zero gradient and the initial values only their direct gradient.

An `until` loop is differentiated over the steps that ran (read off an
output's length; the stop condition itself has no gradient). Not supported
(a clear error): a gradient that needs a value carried only as an update
(e.g. a random draw inside the loop).
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.null_type import disconnected_type, grad_not_implemented
from graphcore.graph.replace import clone_replace
from graphcore.graph.traversal import ancestors
from graphcore.gradient import grad
from graphcore.tensor.join import stack
from graphcore.tensor.math import minimum, switch, zeros_like
from graphcore.tensor.math import eq as _eq
from graphcore.tensor.subtensor import set_subtensor


def _is_float(v):
    return hasattr(v.type, "dtype") and np.dtype(v.type.dtype).kind == "f"


def scan_l_op(op, inputs, outputs, output_grads, scan):
    """Gradients of a Scan node's inputs (see the module docstring); `scan` builds the loop."""
    info = op.info
    n, seqs, inits, non_seqs = op.split_inputs(inputs)
    if info.as_while:  # the steps that ran: read off an output's length
        if info.n_states and info.keep_all[0]:
            n = outputs[0].shape[0] - info.windows[0]
        elif info.n_nitsot:
            n = outputs[info.n_states].shape[0]
        else:
            return [grad_not_implemented(op, k, x, "the gradient of an `until` scan whose "
                                         "outputs are all updates is not implemented")
                    for k, x in enumerate(inputs)]
    in_seqs, in_taps, in_nonseqs = op.split_inner_inputs()
    ns = info.n_states
    state_outs = op.inner_outputs[:ns]
    nitsot_outs = op.inner_outputs[ns:ns + info.n_nitsot]

    # which states/outputs the backward loop handles: float, kept in a buffer
    fstates = [j for j in range(ns) if info.keep_all[j] and _is_float(outputs[j])]
    fnit = [q for q in range(info.n_nitsot) if _is_float(outputs[ns + q])]
    fseqs = [i for i in range(info.n_seqs) if _is_float(seqs[i])]
    fnon = [k for k in range(info.n_nonseqs) if _is_float(non_seqs[k])]
    for j in range(ns):
        if not info.keep_all[j] and _is_float(outputs[j]) and \
                not isinstance(output_grads[j].type, type(disconnected_type().type)):
            return [grad_not_implemented(op, k, x, "the gradient through a scan's update of a "
                                         "shared variable is not implemented")
                    for k, x in enumerate(inputs)]
    carried_only = [v for j in range(ns) if not info.keep_all[j] for v in in_taps[j]]
    needed = set(ancestors([state_outs[j] for j in fstates] + [nitsot_outs[q] for q in fnit]))
    for v in carried_only:
        if v in needed:
            raise NotImplementedError(
                f"grad of scan{' ' + repr(info.name) if info.name else ''}: the step's outputs "
                f"depend on {v}, a value carried only as an update (e.g. a random generator "
                "drawn inside the loop); its gradient through the loop is not implemented")

    def dy(j):
        g = output_grads[j]
        return zeros_like(outputs[j]) if isinstance(g.type, type(disconnected_type().type)) else g

    windows = info.windows
    k = info.truncate_gradient
    nb = n if k is None or k < 0 else minimum(n, k)
    lo = n - nb

    # backward sequences, in forward time order (go_backwards walks them from the end)
    b_seqs = [seqs[i][lo:n] for i in range(info.n_seqs)]
    for j in range(ns):
        if info.keep_all[j]:
            w = windows[j]
            b_seqs += [outputs[j][w + d + lo:w + d + n] for d in info.taps[j]]
    b_seqs += [outputs[j][windows[j] + lo:windows[j] + n] for j in fstates]
    b_seqs += [dy(j)[windows[j] + lo:windows[j] + n] for j in fstates]
    b_seqs += [outputs[ns + q][lo:n] for q in fnit]
    b_seqs += [dy(ns + q)[lo:n] for q in fnit]
    p_inits = [zeros_like(inits[j]) for j in fstates]
    a_inits = [zeros_like(non_seqs[k]) for k in fnon]

    keep_states = [j for j in range(ns) if info.keep_all[j]]

    def step(*args):
        it = iter(args)
        s_vals = [next(it) for _ in range(info.n_seqs)]
        tap_vals = {j: [next(it) for _ in info.taps[j]] for j in keep_states}
        y_vals = [next(it) for _ in fstates]
        gy_vals = [next(it) for _ in fstates]
        z_vals = [next(it) for _ in fnit]
        gz_vals = [next(it) for _ in fnit]
        pend = [next(it) for _ in fstates]
        acc = [next(it) for _ in fnon]
        nonseq_vals = [next(it) for _ in range(info.n_nonseqs)]
        mapping = list(zip(in_seqs, s_vals)) + list(zip(in_nonseqs, nonseq_vals))
        for j in keep_states:
            mapping += list(zip(in_taps[j], tap_vals[j]))
        outs = clone_replace([state_outs[j] for j in fstates] + [nitsot_outs[q] for q in fnit],
                             mapping)
        known = {}
        for o, p, g in zip(outs[:len(fstates)], pend, gy_vals):
            known[o] = g + p[0]
        for o, g in zip(outs[len(fstates):], gz_vals):
            known[o] = known[o] + g if o in known else g
        wrt = [s_vals[i] for i in fseqs] + \
            [v for j in fstates for v in tap_vals[j]] + [nonseq_vals[k] for k in fnon]
        grads = grad(None, wrt, known_grads=known, disconnected_inputs="ignore",
                     return_disconnected="zero", add_names=False) if wrt else []
        grads = clone_replace(grads, list(zip(outs, y_vals + z_vals)), strict=False) \
            if grads else []
        g_seq = grads[:len(fseqs)]
        pos = len(fseqs)
        new_pend = []
        for j, p in zip(fstates, pend):
            w = windows[j]
            rows = [p[r + 1] if r + 1 < w else zeros_like(p[0]) for r in range(w)]
            for d in info.taps[j]:
                rows[-1 - d] = rows[-1 - d] + grads[pos]
                pos += 1
            new_pend.append(stack(rows) if w > 1 else rows[0].dimshuffle("x", *range(rows[0].ndim)))
        new_acc = [a + g for a, g in zip(acc, grads[pos:])]
        return new_pend + new_acc + g_seq

    outputs_info = p_inits + a_inits + [None] * len(fseqs)
    res, _ = scan(step, sequences=b_seqs, outputs_info=outputs_info, non_sequences=list(non_seqs),
                  n_steps=nb, go_backwards=True, return_list=True,
                  name=f"grad_of_{info.name or 'scan'}")
    n_p, n_a = len(fstates), len(fnon)

    def final(r):
        buf = r.owner.inputs[0]  # the whole buffer, the initial value first: right when nb == 0
        return buf[-1]

    result = [disconnected_type()] + [disconnected_type()] * len(inputs[1:])
    base_states = 1 + info.n_seqs
    base_non = base_states + ns
    for idx, i in enumerate(fseqs):
        rev = res[n_p + n_a + idx][::-1]
        result[1 + i] = set_subtensor(zeros_like(seqs[i])[lo:n], rev)
    for idx, j in enumerate(fstates):
        w = windows[j]
        pf = final(res[idx])[::-1]
        if k is not None and k >= 0:
            pf = switch(_eq(lo, 0), pf, zeros_like(pf))
        result[base_states + j] = dy(j)[:w] + pf
    for idx, kk in enumerate(fnon):
        result[base_non + kk] = final(res[n_p + idx])
    return result
