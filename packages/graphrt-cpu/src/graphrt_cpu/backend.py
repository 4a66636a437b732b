"""The CPU backend that graphcore loads through its ``graphcore.backends`` entry point."""

from graphcore.backends.python import PythonBackend


class CPUBackend(PythonBackend):
    """The default CPU runtime. Until the C VM lands it links programs with the reference interpreter."""

    name = "cpu"
    pip_extra = "cpu"
