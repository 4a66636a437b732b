"""graphrt_cpu: the graphcore CPU runtime.

graphcore finds the backend through the ``graphcore.backends`` entry point
``cpu = "graphrt_cpu.backend:CPUBackend"``; importing this package does no
work beyond loading the native module.
"""

import os

from graphrt_cpu._vm import add_one_f64

__version__ = "1.0.0"

__all__ = ["__version__", "add_one_f64", "get_include"]


def get_include():
    """Return the folder holding ``graphrt_cpu.h``; add it to your C compiler's include path.

    Third-party op packages use it to build C kernels against the runtime's
    kernel ABI, like ``numpy.get_include()``.
    """
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")
