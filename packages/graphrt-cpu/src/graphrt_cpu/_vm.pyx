# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The graphrt-cpu virtual machine (native part).

For now it holds one compiled function that proves the native toolchain
(Cython -> C -> extension module) works end to end; the VM loop lands here.
"""

import numpy as np


def add_one_f64(const double[::1] x):
    """Return a new float64 array equal to ``x + 1``, computed in a C loop.

    ``x`` must be a C-contiguous float64 buffer (a 1-d NumPy array).
    """
    cdef Py_ssize_t i, n = x.shape[0]
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    with nogil:
        for i in range(n):
            o[i] = x[i] + 1.0
    return out
