"""graphrt_cuda imports without CuPy and declares its backend entry point."""

import subprocess
import sys
from importlib.metadata import entry_points, version

import graphrt_cuda


def test_version():
    assert graphrt_cuda.__version__ == "1.0.0"
    assert version("graphrt-cuda") == graphrt_cuda.__version__


def test_import_does_not_import_cupy():
    # Importing the package (not asking for availability) must not load CuPy
    # or touch the GPU, so it stays cheap on machines without CUDA.
    code = "import sys, graphrt_cuda, graphrt_cuda.backend; print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_entry_point_declared():
    eps = entry_points(group="graphcore.backends")
    (ep,) = [ep for ep in eps if ep.name == "cuda"]
    assert ep.value == "graphrt_cuda.backend:CUDABackend"
