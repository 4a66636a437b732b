"""CUDAExecutable: a Program lowered to a launch list, run on a CuPy stream, optionally replayed
as a CUDA graph.

Each step is (kernel, input registers, output registers, registers freed
after it); a kernel is a callable taking the input values and returning the
output values. Memory comes from CuPy's pool; a freed register drops its
array back to the pool. With `graph_replay`, the second consecutive call
with the same input signature (shapes, dtypes, strides) captures the body
(every step but the transfers at the edges) as a CUDA graph; later calls
with that signature copy their inputs into the captured input buffers and
launch the graph, so the per-call cost does not grow with the node count.
A body that cannot be captured (a step that synchronises with the host, a
jump) runs step by step.
"""

from __future__ import annotations

import warnings

from graphcore.backends.interpreter import RegisterLayout
from graphcore.graph.trace import reraise_with_node_info

from graphrt_cuda._cupy import cupy
from graphrt_cuda.transfer import to_device


class CUDAExecutable:
    def __init__(self, program, steps, graph_replay=True):
        self.program = program
        self.layout = RegisterLayout(program)
        self.steps = steps  # ("apply", kernel, node, ins, outs, frees) | ("jump", t) | ("jump_unless", c, t)
        self.straight = all(s[0] == "apply" for s in steps)
        cp = cupy()
        self.stream = cp.cuda.Stream(non_blocking=True)
        # constants live on the device (tensors) once; host scalars stay as they are
        for k, v in enumerate(self.layout.template):
            if v is not None and getattr(v, "ndim", 0) > 0:
                self.layout.template[k] = to_device(v)
        self.layout = _refresh_tail(self.layout)
        self.graph_replay = graph_replay and self.straight and all(
            getattr(s[1], "capturable", True) for s in steps if s[0] == "apply"
            and not getattr(s[1], "edge", False))
        self._last_signature = None
        self._graph = None
        self._profile = None

    # -- running -----------------------------------------------------------
    def __call__(self, input_values):
        with self.stream:
            if self.graph_replay:
                sig = _signature(input_values)
                if self._graph is not None and sig == self._graph[0]:
                    return self._replay(input_values)
                if sig == self._last_signature:
                    out = self._capture(input_values, sig)
                    if out is not None:
                        return out
                self._last_signature = sig
            regs = self.layout.registers(input_values)
            self._run(regs, 0, len(self.steps))
            return [regs[s] for s in self.layout.output_slots]

    def _run(self, regs, start, stop, keep=None):
        steps = self.steps
        pc = start
        prof = self._profile
        while pc < stop:
            step = steps[pc]
            kind = step[0]
            if kind == "apply":
                _, kernel, node, ins, outs, frees = step
                args = [regs[i] for i in ins]
                if prof is not None:
                    prof.start(pc, self.stream)
                try:
                    res = kernel(args)
                except Exception as exc:
                    reraise_with_node_info(node, args, exc)
                if prof is not None:
                    prof.stop(pc, self.stream)
                for o, v in zip(outs, res):
                    regs[o] = v
                if keep is not None:  # capturing: no buffer goes back to the pool
                    keep.extend(res)
                for f in frees:
                    regs[f] = None
                pc += 1
            elif kind == "jump":
                pc = step[1]
            else:
                pc = pc + 1 if bool(regs[step[1]]) else step[2]

    # -- CUDA graphs ---------------------------------------------------------
    def _edges(self):
        """(end of the leading transfers, start of the trailing ones) in the step list."""
        n = len(self.steps)
        a = 0
        while a < n and getattr(self.steps[a][1], "edge", False) == "in":
            a += 1
        b = n
        while b > a and getattr(self.steps[b - 1][1], "edge", False) == "out":
            b -= 1
        return a, b

    def _capture(self, input_values, sig):
        a, b = self._edges()
        regs = self.layout.registers(input_values)
        self._run(regs, 0, a)
        # the captured graph reads its inputs from these buffers: private copies
        cp = cupy()
        constants = {s for s, v in enumerate(self.layout.template) if v is not None}
        static_in = {s: v.copy() for s, v in enumerate(regs)
                     if isinstance(v, cp.ndarray) and s not in constants}
        for s, v in static_in.items():
            regs[s] = v
        keep = []
        try:
            self.stream.begin_capture()
            try:
                self._run(regs, a, b, keep)
            finally:
                graph = self.stream.end_capture()
        except Exception as exc:  # a step that cannot be captured: run step by step from now on
            warnings.warn(f"graphrt-cuda: CUDA-graph capture failed ({exc!r}); this function "
                          "runs without graph replay", stacklevel=3)
            self.graph_replay = False
            return None
        self._graph = (sig, graph, regs, static_in, a, b, keep)
        graph.launch(self.stream)
        return self._finish(regs, b)

    def _replay(self, input_values):
        sig, graph, regs, static_in, a, b, _keep = self._graph
        fresh = self.layout.registers(input_values)
        self._run(fresh, 0, a)
        for s, buf in static_in.items():
            buf[...] = fresh[s]
        graph.launch(self.stream)
        return self._finish(regs, b)

    def _finish(self, regs, b):
        out_regs = list(regs)
        self._run(out_regs, b, len(self.steps))
        cp = cupy()
        # the captured buffers are reused by the next replay: hand out copies
        return [v.copy() if isinstance(v, cp.ndarray) else v
                for v in (out_regs[s] for s in self.layout.output_slots)]

    # -- profiling (profile=True): per-step time from CUDA events ------------------
    def enable_profile(self, stats):
        if stats is None:
            self._profile = None
            return
        self._profile = _EventTimer(self.steps, stats)


class _EventTimer:
    def __init__(self, steps, stats):
        self.stats = stats
        stats.labels = [(str(s[2].op), "cuda") if s[0] == "apply" else (s[0], "vm") for s in steps]
        stats.times = [0.0] * len(steps)
        stats.calls = [0] * len(steps)
        stats.peaks = [0] * len(steps)
        stats.ncalls = 0
        stats.total_time = 0.0
        self.pending = {}

    def start(self, pc, stream):
        cp = cupy()
        ev = cp.cuda.Event()
        ev.record(stream)
        self.pending[pc] = ev

    def stop(self, pc, stream):
        cp = cupy()
        end = cp.cuda.Event()
        end.record(stream)
        end.synchronize()
        ms = cp.cuda.get_elapsed_time(self.pending.pop(pc), end)
        self.stats.times[pc] += ms * 1e-3
        self.stats.calls[pc] += 1
        self.stats.total_time += ms * 1e-3


def _signature(values):
    """What a captured graph depends on: each input's type, shape, dtype and strides, and the
    value of a host scalar (captured into the kernel arguments)."""
    sig = []
    for v in values:
        shape = getattr(v, "shape", None)
        if shape is None or shape == ():
            sig.append((type(v), repr(v)))
        else:
            sig.append((type(v), shape, str(v.dtype), getattr(v, "strides", None)))
    return tuple(sig)


def _refresh_tail(layout):
    n_in = len(layout.input_slots)
    layout.tail = layout.template[n_in:] if layout.inputs_first else layout.template
    return layout
