"""The reference backend: runs every op's NumPy `perform` in a plain Python loop."""

from __future__ import annotations

import time

import numpy as np

from graphcore.backends.base import Backend
from graphcore.backends.interpreter import RegisterLayout, allocated_outputs, record_outputs
from graphcore.backends.interpreter import check_outputs as _check_outputs
from graphcore.backends.interpreter import output_checks as _output_checks
from graphcore.backends.undo import back_up, restore, undo_plan
from graphcore.graph.trace import reraise_with_node_info


class PythonExecutable:
    """Interprets a Program. Checks that each op produced values of its declared types.

    Everything that does not depend on the values (slot layout, constants,
    per-instruction checks) is prepared here, once; a call only fills the
    storage list and runs the steps.
    """

    def __init__(self, program, check_outputs=True, after_step=None):
        self.program = program
        # after_step(node, input values, output values): a checking mode's hook (NanGuardMode)
        self.after_step = after_step
        self.check_outputs = check_outputs
        self.nslots = program.nslots
        self.constants = [(s.index, s.value) for s in program.slots if s.role == "constant"]
        self.input_slots = program.inputs
        self.output_slots = program.outputs
        # storage after the inputs, constants in place (the layout graphrt-cpu's VM uses too)
        layout = RegisterLayout(program)
        self._inputs_first = layout.inputs_first
        self._tail = layout.tail
        self._template = layout.template
        # input buffers to back up before an instruction so a failed call restores them
        self._undo = undo_plan(program, checked_steps=after_step is not None)
        self._straight = all(ins.kind == "apply" for ins in program.instructions) and \
            after_step is None and self._undo is None
        self.steps = []
        for ins in program.instructions:
            if ins.kind == "apply":
                node = ins.node
                self.steps.append(("apply", node.op.perform, node, ins.inputs, ins.outputs, ins.frees,
                                   _output_checks(node) if check_outputs else None))
            elif ins.kind == "jump":
                self.steps.append(("jump", ins.target))
            elif ins.kind == "jump_unless":
                self.steps.append(("jump_unless", ins.cond, ins.target))
            else:
                raise ValueError(f"python backend: unknown instruction kind {ins.kind!r}")
        self._applies = [step[1:] for step in self.steps] if self._straight else None
        self._single_out = layout.single_out if layout.single_out >= 0 else None
        self._stats = None  # a ProfileStats while profiling (enable_profile)

    def __call__(self, input_values):
        if self._inputs_first:
            storage = list(input_values)
            storage.extend(self._tail)
        else:
            storage = list(self._template)
            for s, v in zip(self.input_slots, input_values):
                storage[s] = v
        if self._stats is not None:
            self._run_profiled(storage)
        elif self._straight:  # no jumps: one pass over the apply steps
            for apply in self._applies:
                _run(*apply, storage)
        else:
            self._run_steps(storage)
        if self._single_out is not None:
            return [storage[self._single_out]]
        return [storage[s] for s in self.output_slots]

    def _run_steps(self, storage, timer=None):
        if self._undo is None:
            return self._steps(storage, timer, None)
        saved = []  # the input buffers undo_plan names, backed up before they are overwritten
        try:
            return self._steps(storage, timer, saved)
        except BaseException:
            restore(saved)
            raise

    def _steps(self, storage, timer, saved):
        steps = self.steps
        pc, n = 0, len(steps)
        stats = self._stats
        while pc < n:
            step = steps[pc]
            kind = step[0]
            t0 = timer() if timer is not None else 0.0
            here = pc
            if kind == "apply":
                if saved is not None and pc in self._undo:
                    back_up(saved, storage, self._undo[pc])
                if self.after_step is not None:
                    node, ins, outs = step[2], step[3], step[4]
                    args = [storage[i] for i in ins]  # before frees drop them
                    _run(*step[1:], storage)
                    try:
                        self.after_step(node, args, [storage[o] for o in outs])
                    except Exception as exc:
                        reraise_with_node_info(node, args, exc)
                else:
                    _run(*step[1:], storage)
                pc += 1
            elif kind == "jump":
                pc = step[1]
            else:
                pc = pc + 1 if bool(storage[step[1]]) else step[2]
            if timer is not None:
                stats.times[here] += timer() - t0
                stats.calls[here] += 1
                live = sum(getattr(v, "nbytes", 0) for v in storage if v is not None)
                if live > stats.peaks[here]:
                    stats.peaks[here] = live
                if kind == "apply":
                    record_outputs(stats, here, [storage[o] for o in step[4]],
                                   self._allocated[here])

    def _run_profiled(self, storage):
        t0 = time.perf_counter()
        self._run_steps(storage, time.perf_counter)
        self._stats.ncalls += 1
        self._stats.total_time += time.perf_counter() - t0

    def enable_profile(self, stats):
        """Record per-instruction time, calls and peak live bytes into `stats` (None: stop)."""
        if stats is None:
            self._stats = None
            return
        labels = []
        for step in self.steps:
            labels.append((str(step[2].op), "perform") if step[0] == "apply" else (step[0], "vm"))
        stats.labels = labels
        stats.times = [0.0] * len(self.steps)
        stats.calls = [0] * len(self.steps)
        stats.peaks = [0] * len(self.steps)
        stats.out_bytes = [0] * len(self.steps)
        stats.out_shapes = [()] * len(self.steps)
        self._allocated = [allocated_outputs(ins) if ins.kind == "apply" else ()
                           for ins in self.program.instructions]
        stats.ncalls = 0
        stats.total_time = 0.0
        self._stats = stats


def _check(node, checks, cells):
    for (dtype, ndim, static), cell in zip(checks, cells):
        v = cell[0]
        if type(v) is not np.ndarray or v.dtype != dtype or v.ndim != ndim or (
                static and any(w is not None and w != g for w, g in zip(static, v.shape))):
            _check_outputs(node, cells)


def _run(perform, node, ins, outs, frees, checks, storage):
    args = [storage[i] for i in ins]
    cells = [[None] for _ in outs]
    try:
        perform(node, args, cells)
        if checks is not None:
            _check(node, checks, cells)
    except Exception as exc:
        reraise_with_node_info(node, args, exc)
    for o, cell in zip(outs, cells):
        storage[o] = cell[0]
    for f in frees:
        storage[f] = None


class PythonBackend(Backend):
    """Runs every op's reference `perform`; always available, the semantics every backend matches."""

    name = "python"
    pip_extra = None

    def link(self, program):
        return PythonExecutable(program)
