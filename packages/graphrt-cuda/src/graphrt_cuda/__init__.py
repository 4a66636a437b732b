"""graphrt_cuda: the graphcore CUDA runtime.

graphcore finds the backend through the ``graphcore.backends`` entry point
``cuda = "graphrt_cuda.backend:CUDABackend"``. Importing this package does not
import CuPy or touch the GPU; ``CUDABackend.availability()`` does.
"""

__version__ = "1.0.0"

__all__ = ["__version__"]
