"""The native toolchain smoke kernel against NumPy.

graphrt_cpu.add_one_f64 is a plain C loop compiled through Cython; NumPy's
``x + 1`` is the named peer. Both run in the same asv run on the same data,
and ``track_ratio_native_over_numpy`` reports how many times slower (> 1) or
faster (< 1) the native loop is.
"""

import timeit

import numpy as np

import graphrt_cpu

N = 10**6


class AddOneF64:
    """x + 1 on 10**6 float64 values."""

    def setup(self):
        self.x = np.random.default_rng(0).standard_normal(N)
        # Fail loudly rather than time a wrong kernel.
        np.testing.assert_array_equal(graphrt_cpu.add_one_f64(self.x), self.x + 1.0)

    def time_graphrt_cpu(self):
        graphrt_cpu.add_one_f64(self.x)

    def time_numpy(self):
        self.x + 1.0

    def track_ratio_native_over_numpy(self):
        """Best-of-7 time of graphrt_cpu.add_one_f64 divided by NumPy's."""
        x = self.x

        def best(stmt):
            return min(timeit.repeat(stmt, number=20, repeat=7))

        return best(lambda: graphrt_cpu.add_one_f64(x)) / best(lambda: x + 1.0)

    track_ratio_native_over_numpy.unit = "native/numpy"
