"""NanGuardMode: stop at the first op that produces a NaN, an Inf or a huge value.

    f = theano.function([x], y, mode=NanGuardMode(nan_is_error=True, inf_is_error=True,
                                                  big_is_error=True))

Runs on the python reference backend and checks every op's outputs, and the
values each op reads from the function's inputs and shared variables (as
Theano checked each node's inputs); the error names the op that produced the
value or read it, its input shapes and the line of user code that built it. A
NaN or Inf written as a constant in the graph is taken as meant.
"""

from __future__ import annotations

import numpy as np

from graphcore.backends.python import PythonExecutable
from graphcore.compile.mode import Mode
from graphcore.graph.basic import Constant

BIG = 1e10  # Theano's threshold for big_is_error


class NanGuardError(AssertionError):
    """An input or an op's output holds a NaN, an Inf or a value above 1e10 in magnitude."""


class NanGuardMode(Mode):
    """A Mode that checks every intermediate value for NaN / Inf / huge magnitudes."""

    def __init__(self, nan_is_error=True, inf_is_error=True, big_is_error=True,
                 optimizer="default", linker=None):
        super().__init__(linker="python", optimizer=optimizer, name="NanGuardMode")
        self.nan_is_error = nan_is_error
        self.inf_is_error = inf_is_error
        self.big_is_error = big_is_error

    def _problem(self, value):
        """What is wrong with `value`, or None."""
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "fc" or value.size == 0:
            return None
        if self.nan_is_error and np.isnan(value).any():
            return "NaN"
        if self.inf_is_error and np.isinf(value).any():
            return "Inf"
        if self.big_is_error:
            with np.errstate(invalid="ignore"):
                biggest = np.nanmax(np.abs(value[np.isfinite(value)])) if np.isfinite(value).any() \
                    else 0.0
            if biggest > BIG:
                return f"a value of magnitude {biggest:.3g} (above {BIG:g})"
        return None

    def _check_step(self, node, inputs, outputs):
        """After `node` ran: its outputs, then what it read from the function's inputs (values
        computed by other nodes were checked as their outputs)."""
        out = next(((k, p) for k, p in enumerate(map(self._problem, outputs)) if p), None)
        read = next(((i, p) for i, (var, value) in enumerate(zip(node.inputs, inputs))
                     if var.owner is None and not isinstance(var, Constant)
                     for p in [self._problem(value)] if p), None)
        if out is None and read is None:
            return
        if read is not None:
            i, problem = read
            given = f"input {i} ({node.inputs[i]}, an input of the function) contains {problem}"
            if out is None:
                raise NanGuardError(f"NanGuardMode: {node.op} read a bad value: {given}")
        k, problem = out
        raise NanGuardError(f"NanGuardMode: output {k} of {node.op} contains {problem}"
                            + (f"; its {given}" if read is not None else ""))

    def link(self, maker, backend, program):
        exe = PythonExecutable(program, after_step=self._check_step)
        fgraph = program.fgraph
        labels = [str(v) for v in fgraph.inputs] if fgraph is not None else None
        read = {v for node in fgraph.apply_nodes for v in node.inputs} if fgraph is not None \
            else None
        unread = [k for k, v in enumerate(fgraph.inputs) if v not in read] if fgraph is not None \
            else None
        return _CheckedInputs(exe, self, labels, unread)

    def __repr__(self):
        return (f"NanGuardMode(nan_is_error={self.nan_is_error}, inf_is_error={self.inf_is_error}, "
                f"big_is_error={self.big_is_error})")


class _CheckedInputs:
    """Runs the guarded program, then checks the inputs no op reads (returned as they are)."""

    def __init__(self, exe, mode, labels, unread):
        self.exe, self.mode, self.labels = exe, mode, labels
        self.unread = range(len(labels or ())) if unread is None else unread
        self.program = exe.program

    def __call__(self, values):
        outputs = self.exe(values)
        for k in self.unread:
            problem = self.mode._problem(values[k])
            if problem is not None:
                name = self.labels[k] if self.labels else f"#{k}"
                raise NanGuardError(f"NanGuardMode: input {k} ({name}) contains {problem}")
        return outputs

    def enable_profile(self, stats):
        self.exe.enable_profile(stats)
