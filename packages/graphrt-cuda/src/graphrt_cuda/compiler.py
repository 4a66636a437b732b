"""NVRTC compilation of generated kernels, through CuPy's low-level `cupy.cuda.nvrtc` bindings.

These bindings need libnvrtc (the `nvidia-cuda-nvrtc` wheel, or a CUDA
toolkit) but no GPU and no driver, so CI compiles every kernel the generator
can emit on a machine without a device; on a GPU the same PTX is what
`cupy.RawModule` loads. A compile error raises `CompileError` carrying the
NVRTC log and the source.
"""

from __future__ import annotations

from graphrt_cuda._cupy import nvrtc

# The options every kernel compiles with: C++17 as CuPy's RawModule uses by default, and
# flush-to-zero as CuPy's own kernels (float32 denormals flushed, as in CuPy's elementwise ops).
OPTIONS = ("--std=c++17", "-ftz=true")


class CompileError(RuntimeError):
    """NVRTC rejected a generated kernel: the message holds the compiler log."""

    def __init__(self, name: str, log: str, source: str) -> None:
        numbered = "\n".join(f"{k + 1:4d} {line}" for k, line in enumerate(source.splitlines()))
        super().__init__(f"NVRTC failed to compile kernel {name}:\n{log}\n--- source ---\n{numbered}")
        self.name = name
        self.log = log
        self.source = source


def nvrtc_version() -> tuple[int, int]:
    return tuple(nvrtc().getVersion())


def compile_to_ptx(source: str, name: str, arch: str = "compute_90",
                   options: tuple[str, ...] = OPTIONS) -> str:
    """PTX for `source` (a translation unit defining extern "C" kernel `name`), for `arch`."""
    nv = nvrtc()
    prog = nv.createProgram(source, f"{name}.cu", [], [])
    try:
        try:
            nv.compileProgram(prog, list(options) + [f"-arch={arch}"])
        except nv.NVRTCError as exc:
            log = nv.getProgramLog(prog)
            raise CompileError(name, f"{exc}\n{log}", source) from None
        ptx = nv.getPTX(prog)
    finally:
        nv.destroyProgram(prog)
    return ptx.decode() if isinstance(ptx, bytes) else ptx
