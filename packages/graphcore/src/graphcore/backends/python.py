"""The reference backend: runs every op's NumPy `perform` in a plain Python loop."""

from __future__ import annotations

import numpy as np

from graphcore.backends.base import Backend
from graphcore.graph.trace import reraise_with_node_info


class PythonExecutable:
    """Interprets a Program. Checks that each op produced values of its declared types."""

    def __init__(self, program, check_outputs=True):
        self.program = program
        self.check_outputs = check_outputs
        self.nslots = program.nslots
        self.constants = [(s.index, s.value) for s in program.slots if s.role == "constant"]
        self.input_slots = program.inputs
        self.output_slots = program.outputs
        self.steps = []
        for ins in program.instructions:
            if ins.kind == "apply":
                node = ins.node
                self.steps.append(("apply", node.op.perform, node, ins.inputs, ins.outputs, ins.frees))
            elif ins.kind == "jump":
                self.steps.append(("jump", ins.target))
            elif ins.kind == "jump_unless":
                self.steps.append(("jump_unless", ins.cond, ins.target))
            else:
                raise ValueError(f"python backend: unknown instruction kind {ins.kind!r}")

    def __call__(self, input_values):
        storage = [None] * self.nslots
        for s, v in self.constants:
            storage[s] = v
        for s, v in zip(self.input_slots, input_values):
            storage[s] = v
        steps = self.steps
        pc, n = 0, len(steps)
        while pc < n:
            step = steps[pc]
            kind = step[0]
            if kind == "apply":
                _, perform, node, ins, outs, frees = step
                args = [storage[i] for i in ins]
                out_cells = [[None] for _ in outs]
                try:
                    perform(node, args, out_cells)
                    if self.check_outputs:
                        _check_outputs(node, out_cells)
                except Exception as exc:
                    reraise_with_node_info(node, args, exc)
                for o, cell in zip(outs, out_cells):
                    storage[o] = cell[0]
                for f in frees:
                    storage[f] = None
                pc += 1
            elif kind == "jump":
                pc = step[1]
            else:
                pc = pc + 1 if bool(storage[step[1]]) else step[2]
        return [storage[s] for s in self.output_slots]


def _check_outputs(node, out_cells):
    for var, cell in zip(node.outputs, out_cells):
        value = cell[0]
        t = var.type
        if not hasattr(t, "dtype"):
            continue
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{node.op}.perform returned {type(value).__name__}, expected an ndarray")
        if value.dtype != t.numpy_dtype or value.ndim != t.ndim:
            raise TypeError(f"{node.op}.perform returned dtype {value.dtype} ndim {value.ndim}; "
                            f"the node declares {t}")
        for want, got in zip(t.shape, value.shape):
            if want is not None and want != got:
                raise ValueError(f"{node.op}.perform returned shape {value.shape}; the node "
                                 f"declares static shape {t.shape}")


class PythonBackend(Backend):
    """Runs every op's reference `perform`; always available, the semantics every backend matches."""

    name = "python"
    pip_extra = None

    def supports(self, op):
        return True

    def link(self, program):
        return PythonExecutable(program)
