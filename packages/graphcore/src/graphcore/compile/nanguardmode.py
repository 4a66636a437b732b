"""NanGuardMode: stop at the first op that produces a NaN, an Inf or a huge value.

    f = theano.function([x], y, mode=NanGuardMode(nan_is_error=True, inf_is_error=True,
                                                  big_is_error=True))

Runs on the python reference backend and checks the function's inputs and
every op's outputs; the error names the op, its input shapes and the line of
user code that built it.
"""

from __future__ import annotations

import numpy as np

from graphcore.backends.python import PythonExecutable
from graphcore.compile.mode import Mode

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
        for k, value in enumerate(outputs):
            problem = self._problem(value)
            if problem is not None:
                raise NanGuardError(f"NanGuardMode: output {k} of {node.op} contains {problem}")

    def link(self, maker, backend, program):
        exe = PythonExecutable(program, after_step=self._check_step)
        labels = [str(v) for v in program.fgraph.inputs] if program.fgraph is not None else None
        return _CheckedInputs(exe, self, labels)

    def __repr__(self):
        return (f"NanGuardMode(nan_is_error={self.nan_is_error}, inf_is_error={self.inf_is_error}, "
                f"big_is_error={self.big_is_error})")


class _CheckedInputs:
    """Checks the input values before running the guarded program."""

    def __init__(self, exe, mode, labels):
        self.exe, self.mode, self.labels = exe, mode, labels
        self.program = exe.program

    def __call__(self, values):
        for k, v in enumerate(values):
            problem = self.mode._problem(v)
            if problem is not None:
                name = self.labels[k] if self.labels else f"#{k}"
                raise NanGuardError(f"NanGuardMode: input {k} ({name}) contains {problem}")
        return self.exe(values)

    def enable_profile(self, stats):
        self.exe.enable_profile(stats)
