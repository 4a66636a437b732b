"""The Scan op: a loop whose body is an inner graph, compiled once and run once per step.

The node's inputs, in order:

    n_steps                  int64 scalar
    sequences   (n_seqs)     step t reads seq[t] (taps are separate, pre-shifted sequences)
    states      (n_states)   the initial values: a buffer state (`keep_all`) gets an array of
                             `window` = -min(taps) leading entries (entry 0 is the oldest);
                             a last-only state (taps (-1,)) gets the value itself
    non_seqs    (n_nonseqs)  read unchanged by every step

Its outputs: per state, the buffer of `window + steps` entries (keep_all) or the
final value (last-only); per map-like output ("nit-sot"), the `steps` stacked
values. The inner graph's inputs are the sequence entries, each state's tap
values (in `taps` order) and the non-sequences; its outputs are the states'
new values, the map-like outputs and, for a `while` loop (`until`), the stop
condition last.

`perform` compiles the inner graph once with function() (mode: the scan's
`mode`, else the default) and writes each step's results straight into the
preallocated output buffers; the carried states are read from those buffers
as views. Steps are counted at run time: a negative n_steps, a sequence
shorter than n_steps, or a step result whose shape differs from the state's are errors
naming the argument. A runtime that runs the loop natively (graphrt-cpu's scan kernel) makes
the same checks through the public `check_steps`, `check_initial`, `state_shape_error`,
`output_shape_error` and `empty_output`, so both paths accept and reject the same loops with
the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphcore.compile.function import function
from graphcore.compile.sharedvalue import Container, SharedVariable
from graphcore.graph.basic import Apply
from graphcore.graph.op import Op, ShapeInferenceNotImplemented
from graphcore.scan.grad import scan_l_op
from graphcore.scan.rop import scan_r_op
from graphcore.tensor.type import TensorType


@dataclass(frozen=True)
class ScanInfo:
    """The loop's layout: what each group of inputs and outputs is."""

    n_seqs: int
    taps: tuple  # per state: the negative offsets it reads, ascending
    keep_all: tuple  # per state: True keeps every step (a buffer), False only the last value
    n_nitsot: int
    n_nonseqs: int
    as_while: bool = False
    seq_names: tuple = ()  # how the user named each sequence argument, for errors
    state_names: tuple = ()
    truncate_gradient: int = -1
    name: str | None = None

    @property
    def n_states(self):
        return len(self.taps)

    @property
    def windows(self):
        return tuple(-min(t) for t in self.taps)

    @property
    def n_tap_inputs(self):
        return sum(len(t) for t in self.taps)


class Scan(Op):
    """A loop over `inner_outputs` = f(`inner_inputs`); see the module docstring for the layout."""

    def __init__(self, inner_inputs, inner_outputs, info, mode=None, build=None, profile=False):
        self.inner_inputs = list(inner_inputs)
        self.inner_outputs = list(inner_outputs)
        self.info = info
        self.mode = mode
        self.build = build  # the scan() that made this loop: the gradient builds its loop with it
        self.profile = bool(profile)  # profile the step function (scan(profile=True), config.profile)
        self._fn = None
        n_in = info.n_seqs + info.n_tap_inputs + info.n_nonseqs
        n_out = info.n_states + info.n_nitsot + int(info.as_while)
        if len(self.inner_inputs) != n_in or len(self.inner_outputs) != n_out:
            raise ValueError(f"Scan: the inner graph has {len(self.inner_inputs)} inputs and "
                             f"{len(self.inner_outputs)} outputs; the layout needs {n_in} and {n_out}")

    # identity: two loops are equal only when they are the same op (as OpFromGraph)
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __str__(self):
        kind = "while" if self.info.as_while else "for"
        return f"Scan{{{self.info.name or 'scan_fn'}, {kind}}}"

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_fn"] = None
        state.pop("_private", None)
        return state

    # -- layout helpers --------------------------------------------------------
    def split_inputs(self, inputs):
        """(n_steps, seqs, states, non_seqs) from the node's input list."""
        i = self.info
        seqs = list(inputs[1:1 + i.n_seqs])
        states = list(inputs[1 + i.n_seqs:1 + i.n_seqs + i.n_states])
        non_seqs = list(inputs[1 + i.n_seqs + i.n_states:])
        return inputs[0], seqs, states, non_seqs

    def split_inner_inputs(self):
        """(sequence entries, per-state lists of tap inputs, non-sequences) of the inner graph."""
        i = self.info
        seqs = self.inner_inputs[:i.n_seqs]
        taps, k = [], i.n_seqs
        for t in i.taps:
            taps.append(self.inner_inputs[k:k + len(t)])
            k += len(t)
        return seqs, taps, self.inner_inputs[k:]

    # -- building --------------------------------------------------------------
    def make_node(self, n_steps, *inputs):
        i = self.info
        if len(inputs) != i.n_seqs + i.n_states + i.n_nonseqs:
            raise TypeError(f"{self}: expected {i.n_seqs + i.n_states + i.n_nonseqs} inputs after "
                            f"n_steps, got {len(inputs)}")
        outputs = []
        states = inputs[i.n_seqs:i.n_seqs + i.n_states]
        for k, (init, keep) in enumerate(zip(states, i.keep_all)):
            t = init.type
            outputs.append(TensorType(t.dtype, (None,) + t.shape[1:])() if keep else t())
        for out in self.inner_outputs[i.n_states:i.n_states + i.n_nitsot]:
            outputs.append(TensorType(out.type.dtype, (None,) + out.type.shape)())
        return Apply(self, [n_steps, *inputs], outputs)

    # -- running ---------------------------------------------------------------
    @property
    def carried_privately(self):
        """The last-only states whose values are not tensors (e.g. a random generator): the
        inner function keeps them in a private shared variable that its update advances."""
        info = self.info
        return [k for k in range(info.n_states)
                if not info.keep_all[k] and not hasattr(self.inner_outputs[k].type, "dtype")]

    @property
    def fn(self):
        """The inner graph compiled with function() (once, on first use)."""
        if self._fn is None:
            private = self.carried_privately
            _, taps, _ = self.split_inner_inputs()
            hidden_in = {taps[k][0] for k in private}
            hidden_out = {self.inner_outputs[k] for k in private}
            self._private = [SharedVariable(taps[k][0].type, None, name=f"scan_state_{k}",
                                            container=Container(None))
                             for k in private]
            self._fn = function(
                [v for v in self.inner_inputs if v not in hidden_in],
                [o for o in self.inner_outputs if o not in hidden_out], mode=self.mode,
                givens=[(taps[k][0], p) for k, p in zip(private, self._private)],
                updates=[(p, self.inner_outputs[k]) for k, p in zip(private, self._private)],
                on_unused_input="ignore", name=f"{self.info.name or 'scan_fn'} step",
                profile=self.profile or None)
            self._fn.trust_input = True
        return self._fn

    @property
    def step_profile(self):
        """The step function's ProfileStats (time per inner op), when profiled, else None."""
        return getattr(self._fn, "profile", None) if self._fn is not None else None

    # the run-time checks, shared with native runtimes (graphrt-cpu's scan kernel): one
    # place for what the loop accepts and for the wording of its errors
    def check_steps(self, n, seqs):
        """Raise the ValueError of a negative `n` steps or a sequence shorter than `n`."""
        info = self.info
        if n < 0:
            raise ValueError(f"scan{_named(info)}: n_steps must be >= 0, got {n}")
        for k, s in enumerate(seqs):
            if len(s) < n:
                raise ValueError(f"scan{_named(info)}: {_seq_name(info, k)} has {len(s)} "
                                 f"entries (after taps), fewer than n_steps={n}")

    def check_initial(self, k, init):
        """Raise the ValueError of buffer state `k`'s initial value not holding its window."""
        info = self.info
        w = info.windows[k]
        if init.shape[0] != w:
            raise ValueError(
                f"scan{_named(info)}: {_state_name(info, k)}: the initial value needs "
                f"{w} entries for taps {list(info.taps[k])}, got {init.shape[0]}")

    def state_shape_error(self, t, k, got, want):
        """The ValueError of step `t` giving buffer state `k` a value of shape `got` (not `want`)."""
        return ValueError(
            f"scan{_named(self.info)}: step {t}: the step function's output {k} has "
            f"shape {got}, but {_state_name(self.info, k)} (its initial "
            f"value) has shape {want}; a recurrent state keeps its shape")

    def output_shape_error(self, t, j, got, first):
        """The ValueError of step `t` giving output `j` (a state's or a map-like output's
        position) shape `got` after step 0 gave `first`."""
        return ValueError(
            f"scan{_named(self.info)}: step {t}: output {j} has shape "
            f"{got}, but step 0 gave {first}; each step's "
            "output must have the same shape")

    def perform(self, node, inputs, output_storage):
        info = self.info
        n_steps, seqs, inits, non_seqs = self.split_inputs(inputs)
        n = int(n_steps)
        self.check_steps(n, seqs)
        windows = info.windows
        bufs, lasts = [], []
        for k, (init, w, keep) in enumerate(zip(inits, windows, info.keep_all)):
            if keep:
                init = np.asarray(init)
                self.check_initial(k, init)
                buf = np.empty((w + n,) + init.shape[1:], dtype=init.dtype)
                buf[:w] = init
                bufs.append(buf)
                lasts.append(None)
            else:
                bufs.append(None)
                lasts.append(init)
        nitsot = [None] * info.n_nitsot
        fn = self.fn
        private = dict(zip(self.carried_privately, self._private))
        for k, shared_state in private.items():
            shared_state.set_value(lasts[k], borrow=True)
            bufs[k] = lasts[k] = None
        n_states = info.n_states
        taps = info.taps
        done = n
        for t in range(n):
            args = [s[t, ...] for s in seqs]  # [t, ...]: a 0-d view, not a NumPy scalar
            for k in range(n_states):
                if bufs[k] is not None:
                    base = windows[k] + t
                    buf = bufs[k]
                    args.extend(buf[base + d, ...] for d in taps[k])
                elif k not in private:
                    args.append(lasts[k])
            args.extend(non_seqs)
            outs = fn(*args)
            if private:  # the privately carried states have no output: realign
                outs = list(outs)
                for k in sorted(private):
                    outs.insert(k, None)
            for k in range(n_states):
                if bufs[k] is not None:
                    row = bufs[k][windows[k] + t, ...]
                    value = outs[k]
                    if np.shape(value) != row.shape:
                        raise self.state_shape_error(t, k, np.shape(value), row.shape)
                    row[...] = value
                else:
                    lasts[k] = outs[k]
            for j in range(info.n_nitsot):
                value = outs[n_states + j]
                if nitsot[j] is None:
                    nitsot[j] = np.empty((n,) + np.shape(value), dtype=node.outputs[n_states + j].type.dtype)
                elif np.shape(value) != nitsot[j].shape[1:]:
                    raise self.output_shape_error(t, n_states + j, np.shape(value),
                                                  nitsot[j].shape[1:])
                nitsot[j][t] = value
            if info.as_while and outs[-1]:
                done = t + 1
                break
        for k, shared_state in private.items():
            lasts[k] = shared_state.get_value(borrow=True)
            shared_state.container.value = None  # hold no reference between calls
        for k in range(n_states):
            if bufs[k] is not None:
                buf = bufs[k] if done == n else bufs[k][:windows[k] + done].copy()
                output_storage[k][0] = buf
            else:
                output_storage[k][0] = lasts[k]
        for j in range(info.n_nitsot):
            value = nitsot[j]
            if value is None:  # no step ran
                value = self.empty_output(node, j)
            elif done != n:
                value = value[:done].copy()
            output_storage[n_states + j][0] = value

    def empty_output(self, node, j):
        """Map-like output `j` of a loop that ran no step: the trailing shape is unknown, so
        its unknown lengths are 0s."""
        out_t = node.outputs[self.info.n_states + j].type
        return np.empty((0,) + tuple(s or 0 for s in out_t.shape[1:]), dtype=out_t.dtype)

    # -- shapes ----------------------------------------------------------------
    def infer_shape(self, fgraph, node, input_shapes):
        info = self.info
        if info.as_while:
            raise ShapeInferenceNotImplemented(self)
        n_steps = node.inputs[0]
        shapes = []
        states_shapes = input_shapes[1 + info.n_seqs:1 + info.n_seqs + info.n_states]
        for k, (s, w, keep) in enumerate(zip(states_shapes, info.windows, info.keep_all)):
            shapes.append((s[0] + n_steps,) + tuple(s[1:]) if keep else tuple(s))
        for j in range(info.n_nitsot):
            out = node.outputs[info.n_states + j]
            if any(d is None for d in out.type.shape[1:]):
                raise ShapeInferenceNotImplemented(self)
            shapes.append((n_steps,) + tuple(out.type.shape[1:]))
        return shapes

    def do_constant_folding(self, fgraph, node):
        return False

    # -- derivatives -----------------------------------------------------------
    def connection_pattern(self, node):
        return [[True] * len(node.outputs) for _ in node.inputs]

    def L_op(self, inputs, outputs, output_grads):
        return scan_l_op(self, list(inputs), list(outputs), list(output_grads), self.build)

    def R_op(self, inputs, eval_points):
        return scan_r_op(self, list(inputs), list(eval_points), self.build)


def _named(info):
    return f" {info.name!r}" if info.name else ""


def _seq_name(info, k):
    return info.seq_names[k] if k < len(info.seq_names) else f"sequence {k}"


def _state_name(info, k):
    return info.state_names[k] if k < len(info.state_names) else f"state {k}"
