"""The CUDA backend that graphcore loads through its ``graphcore.backends`` entry point.

`link` lowers each Program instruction through the table in `lowerings.py`
(op class -> kernel factory) into a `CUDAExecutable`. An op with no CUDA
lowering is an error naming it, unless `config.fallback_device` is set: it
then runs its NumPy `perform` on the host (inputs copied down, outputs copied
back up), with a warning once per op.
"""

from __future__ import annotations

import warnings

from graphcore.backends.base import Backend
from graphcore.config import config

from graphrt_cuda._cupy import cupy
from graphrt_cuda.cache import KernelCache
from graphrt_cuda.codegen.scalar import Unsupported
from graphrt_cuda.executable import CUDAExecutable
from graphrt_cuda.lowerings import find_lowering
from graphrt_cuda.transfer import to_device, to_host


class CUDAOpNotSupportedError(NotImplementedError):
    """An op the cuda backend cannot run (and no host fallback was allowed)."""


class CUDABackend(Backend):
    """The NVIDIA GPU runtime: generated kernels (NVRTC), cuBLAS and CuPy arrays."""

    name = "cuda"
    pip_extra = "cuda"
    rewrite_tags = ("cuda",)  # the transfer rewrites (rewrites.py)

    @classmethod
    def availability(cls):
        """Return ``(True, "")`` when CuPy imports and sees a CUDA device, else ``(False, reason)``.

        The reason tells the user what to install or check, e.g. the pip extra
        ``graphcore[cuda]`` when CuPy is missing.
        """
        return _probe()

    def __init__(self):
        self._cache = None
        self._warned = set()

    @property
    def cache(self):
        if self._cache is None:
            # compute_capability is a string such as "90"
            self._cache = KernelCache(arch=f"compute_{cupy().cuda.Device().compute_capability}")
        return self._cache

    def link(self, program):
        steps = []
        for ins in program.instructions:
            if ins.kind == "apply":
                steps.append(("apply", self.lower(ins), ins.node, ins.inputs, ins.outputs,
                              ins.frees))
            elif ins.kind == "jump":
                steps.append(("jump", ins.target))
            elif ins.kind == "jump_unless":
                steps.append(("jump_unless", ins.cond, ins.target))
            else:
                raise ValueError(f"graphrt-cuda: unknown instruction kind {ins.kind!r}")
        return CUDAExecutable(program, steps, graph_replay=bool(config.cuda_graphs))

    def lower(self, ins):
        node = ins.node
        factory = find_lowering(node.op)
        reason = "graphrt-cuda has no lowering for it"
        if factory is not None:
            try:
                kernel = factory(node, ins, self.cache)
            except Unsupported as exc:
                kernel, reason = None, f"the CUDA code generator cannot emit it ({exc})"
            if kernel is not None:
                return kernel
        if config.fallback_device:
            return self._host_fallback(node, reason)
        raise CUDAOpNotSupportedError(
            f"op {node.op} ({type(node.op).__name__}) cannot run on the cuda backend: {reason}. "
            "Set config.fallback_device (e.g. GRAPHCORE_FLAGS=fallback_device=cpu) to run such "
            "ops on the host instead")

    def _host_fallback(self, node, reason):
        op = node.op
        key = type(op).__name__

        def run(args):
            if key not in self._warned:
                self._warned.add(key)
                warnings.warn(f"graphrt-cuda: {op} runs on the host ({reason}); its inputs and "
                              "outputs are copied between host and GPU", stacklevel=2)
            cells = [[None] for _ in node.outputs]
            op.perform(node, [to_host(a) for a in args], cells)
            return [to_device(c[0]) if hasattr(c[0], "shape") else c[0] for c in cells]

        run.capturable = False
        return _HostKernel(run)


class _HostKernel:
    capturable = False
    edge = False

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, args):
        return self.fn(args)


def _probe():
    try:
        cp = cupy()
    except Exception as exc:  # ImportError, or a CuPy that fails to load its CUDA libraries
        return False, (
            f"CuPy cannot be imported ({type(exc).__name__}: {exc}); "
            'install it with pip install "graphcore[cuda]" (CUDA 13) '
            'or "graphcore[cuda12]" (CUDA 12)')
    try:
        count = cp.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError: no driver, no device, driver too old
        return False, f"CuPy found no usable CUDA device or driver ({type(exc).__name__}: {exc})"
    if count == 0:
        return False, "CuPy sees no CUDA device (getDeviceCount() returned 0)"
    return True, ""
