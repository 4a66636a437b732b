"""What every Program interpreter sets up the same way: the register layout and output checks.

The python backend's `PythonExecutable` and graphrt-cpu's VM both run a
Program over one list of registers (one per slot). `RegisterLayout` is that
list's layout, prepared once per Program; `output_checks` and
`check_outputs` are the checks a `perform` result must pass (the python
backend's semantics, which runtimes that fall back to `perform` keep);
`allocated_outputs` and `record_outputs` fill a profile's largest intermediates.
"""

from __future__ import annotations

import numpy as np


class RegisterLayout:
    """The register list of a Program: inputs, constants in place, the rest None.

    - `template`: a full register list with the constants in place
    - `inputs_first`: the inputs occupy registers 0..n_inputs-1 (the usual
      case), so a call's registers are `input values + tail`
    - `tail`: the registers after the inputs when `inputs_first`, else `template`
    - `input_slots`, `output_slots`: the Program's input and output registers
    - `single_out`: the only output's register, or -1 when there are several
    """

    __slots__ = ("nslots", "template", "inputs_first", "tail", "input_slots", "output_slots",
                 "single_out")

    def __init__(self, program):
        self.nslots = program.nslots
        template = [None] * self.nslots
        for s in program.slots:
            if s.role == "constant":
                template[s.index] = s.value
        n_in = len(program.inputs)
        self.input_slots = tuple(program.inputs)
        self.output_slots = tuple(program.outputs)
        self.inputs_first = self.input_slots == tuple(range(n_in))
        self.template = template
        self.tail = template[n_in:] if self.inputs_first else template
        self.single_out = self.output_slots[0] if len(self.output_slots) == 1 else -1

    def registers(self, input_values):
        """A fresh register list holding `input_values` (in Program input order)."""
        if self.inputs_first:
            regs = list(input_values)
            regs.extend(self.tail)
            return regs
        regs = list(self.template)
        for s, v in zip(self.input_slots, input_values):
            regs[s] = v
        return regs


def output_checks(node):
    """(dtype, ndim, static shape or None) per tensor output, or None when a type has no dtype.

    A runtime compares a `perform` result against these cheaply and calls
    `check_outputs` (which raises the error) only when one differs.
    """
    checks = []
    for var in node.outputs:
        t = var.type
        if not hasattr(t, "dtype"):
            return None
        static = t.shape if any(s is not None for s in t.shape) else None
        checks.append((t.numpy_dtype, t.ndim, static))
    return tuple(checks)


def check_outputs(node, out_cells):
    """Raise a TypeError or ValueError when a `perform` result (`out_cells`, one [value] per
    output) is not an ndarray of the dtype, ndim and static shape `node` declares."""
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


def allocated_outputs(instruction):
    """The output positions of a Program instruction that hold memory of their own: those
    neither written in place over an input nor allowed to view one (the memory profile's
    intermediates)."""
    return tuple(k for k in range(len(instruction.outputs))
                 if k not in instruction.inplace and k not in instruction.views)


def record_outputs(stats, k, values, positions):
    """For profiling runtimes: instruction k produced `values` (its outputs, in order); keep in
    stats.out_bytes[k] the largest total bytes of those at `positions` (allocated_outputs)
    seen so far, and in stats.out_shapes[k] their (shape, dtype) at that call."""
    nbytes = 0
    for i in positions:
        nbytes += getattr(values[i], "nbytes", 0)
    if nbytes > stats.out_bytes[k]:
        stats.out_bytes[k] = nbytes
        stats.out_shapes[k] = tuple((tuple(getattr(values[i], "shape", ())),
                                     str(getattr(values[i], "dtype", type(values[i]).__name__)))
                                    for i in positions)


__all__ = ["RegisterLayout", "allocated_outputs", "check_outputs", "output_checks", "record_outputs"]
