"""The CUDA backend that graphcore loads through its ``graphcore.backends`` entry point."""

from graphcore.backends.base import Backend


class CUDABackend(Backend):
    """The NVIDIA GPU backend: so far only its availability check (no link, no kernels yet)."""

    name = "cuda"
    pip_extra = "cuda"

    @classmethod
    def availability(cls):
        """Return ``(True, "")`` when CuPy imports and sees a CUDA device, else ``(False, reason)``.

        The reason tells the user what to install or check, e.g. the pip extra
        ``graphcore[cuda]`` when CuPy is missing.
        """
        try:
            import cupy
        except Exception as exc:  # ImportError, or a CuPy that fails to load its CUDA libraries
            return False, (
                f"CuPy cannot be imported ({type(exc).__name__}: {exc}); "
                'install it with pip install "graphcore[cuda]" (CUDA 13) '
                'or "graphcore[cuda12]" (CUDA 12)'
            )
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDARuntimeError: no driver, no device, driver too old
            return False, f"CuPy found no usable CUDA device ({type(exc).__name__}: {exc})"
        if count == 0:
            return False, "CuPy sees no CUDA device (getDeviceCount() returned 0)"
        return True, ""
