"""DebugMode: run the optimized graph and the graph as written, and compare every call.

    f = theano.function([x], y, mode=DebugMode())   # or mode="DebugMode"

Each call runs both programs on the python reference backend (every op's
output is checked against its declared type) and raises DebugModeError when
an output differs (dtype, shape or value beyond the dtype's tolerance) or
when the optimized program overwrote an input it was not allowed to touch.
It is slow by design: a check for rewrites and ops, not a way to run.
"""

from __future__ import annotations

import numpy as np

from graphcore.backends.program import build_program
from graphcore.backends.python import PythonExecutable
from graphcore.compile.mode import Mode


class DebugModeError(Exception):
    """The optimized function disagrees with the original graph, or broke an input."""


class DebugMode(Mode):
    """A Mode that checks the optimizer's result against the unoptimized graph on every call."""

    keeps_original = True  # FunctionMaker keeps a copy of the graph before optimization

    def __init__(self, optimizer="default", linker=None, check_inputs=True):
        super().__init__(linker="python", optimizer=optimizer, name="DebugMode")
        self.check_inputs = check_inputs

    def link(self, maker, backend, program):
        original = maker.original_fgraph
        reference = PythonExecutable(build_program(original))
        may_change = set(getattr(maker.fgraph, "mutable_inputs", ())) | \
            set(maker.fgraph.update_mapping.values())
        return _DebugExecutable(PythonExecutable(program), reference, original, may_change,
                                self.check_inputs)

    def __repr__(self):
        return f"DebugMode(optimizer={self.optimizer_name!r})"


def _copy(v):
    return v.copy() if isinstance(v, np.ndarray) else v


class _DebugExecutable:
    def __init__(self, optimized, reference, original_fgraph, may_change, check_inputs):
        self.optimized, self.reference = optimized, reference
        self.program = optimized.program
        self.fgraph = original_fgraph
        self.may_change = may_change
        self.check_inputs = check_inputs

    def __call__(self, values):
        saved = [_copy(v) for v in values] if self.check_inputs else None
        expected = self.reference([_copy(v) for v in values])
        got = self.optimized(values)
        if saved is not None:
            for k, (now, before) in enumerate(zip(values, saved)):
                if k in self.may_change or not isinstance(before, np.ndarray):
                    continue
                if not np.array_equal(now, before, equal_nan=before.dtype.kind in "fc"):
                    raise DebugModeError(
                        f"DebugMode: the optimized program overwrote input {k} "
                        f"({self.fgraph.inputs[k]}), which is neither mutable nor updated")
        for k, (g, e) in enumerate(zip(got, expected)):
            var = self.fgraph.outputs[k]
            where = f"output {k} ({var})"
            g_arr, e_arr = np.asarray(g), np.asarray(e)
            if g_arr.dtype != e_arr.dtype or g_arr.shape != e_arr.shape:
                raise DebugModeError(
                    f"DebugMode: {where} of the optimized program has dtype {g_arr.dtype} shape "
                    f"{g_arr.shape}; the original graph gives dtype {e_arr.dtype} shape "
                    f"{e_arr.shape}")
            if not var.type.values_eq_approx(g_arr, e_arr):
                diff = np.abs(g_arr.astype("float64") - e_arr.astype("float64")) \
                    if g_arr.dtype.kind in "biuf" else None
                detail = f" (largest difference {np.nanmax(diff):.3g})" \
                    if diff is not None and diff.size else ""
                raise DebugModeError(
                    f"DebugMode: {where} of the optimized program differs from the original "
                    f"graph{detail}")
        return got

    def enable_profile(self, stats):
        self.optimized.enable_profile(stats)
