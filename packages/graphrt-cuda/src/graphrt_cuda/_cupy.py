"""The one place graphrt_cuda imports CuPy (lazily: CuPy is optional, and importing it is slow).

`import graphrt_cuda` works without CuPy; everything that needs it calls `cupy()`.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class CuPyMissingError(ImportError):
    """CuPy is not installed (or fails to load)."""


def cupy() -> ModuleType:
    """The `cupy` module, imported on first use; a clear error naming the pip extra if missing."""
    try:
        # lazy, optional dependency: loaded only by code that runs or compiles kernels (after
        # the first time, a lookup in sys.modules)
        return importlib.import_module("cupy")
    except Exception as exc:  # ImportError, or a CuPy that fails to load its CUDA libraries
        raise CuPyMissingError(
            f"CuPy cannot be imported ({type(exc).__name__}: {exc}); install it with "
            'pip install "graphcore[cuda]" (CUDA 13) or "graphcore[cuda12]" (CUDA 12)') from exc


def nvrtc() -> ModuleType:
    """CuPy's low-level NVRTC bindings (`cupy.cuda.nvrtc`): they need no GPU, only libnvrtc."""
    # an attribute of cupy.cuda (the module itself lives in cupy_backends)
    return cupy().cuda.nvrtc
