"""The kernel cache: generated kernels by key, in memory and on disk (CuPy's lesson).

`KernelCache.get(source)` returns the loaded kernel for a `KernelSource`:
from memory when this process has loaded it (by `source.key`, an immutable
tuple of op signature, dtypes, ndim, contiguity and 32/64-bit indexing),
else from the disk cache (PTX files named by a hash of the key, the target
architecture and the NVRTC version), else compiled by NVRTC and written
there. The directory is `$GRAPHCORE_CUDA_CACHE_DIR`, default
`~/.cache/graphcore/cuda`. Loading goes through `cupy.RawModule(path=...)`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graphrt_cuda._cupy import cupy
from graphrt_cuda.codegen.source import KernelSource
from graphrt_cuda.compiler import compile_to_ptx, nvrtc_version


def default_cache_dir() -> Path:
    env = os.environ.get("GRAPHCORE_CUDA_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.path.expanduser("~")) / ".cache" / "graphcore" / "cuda"


def _cupy_loader(ptx_path: str, name: str) -> Any:
    return cupy().RawModule(path=ptx_path).get_function(name)


class KernelCache:
    """Loaded kernels by key; PTX on disk. `loader(ptx_path, name)` loads one (CuPy by default)."""

    def __init__(self, directory: str | os.PathLike | None = None, arch: str = "compute_90",
                 loader: Callable[[str, str], Any] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.arch = arch
        self.loader = loader or _cupy_loader
        self.memory: dict[tuple, Any] = {}
        self.stats = {"memory_hits": 0, "disk_hits": 0, "compiled": 0}

    def path_for(self, source: KernelSource) -> Path:
        digest = hashlib.sha1(repr((source.key, source.code, self.arch,
                                    nvrtc_version())).encode()).hexdigest()
        return self.directory / f"{source.name}-{digest[:16]}.ptx"

    def get(self, source: KernelSource) -> Any:
        fn = self.memory.get(source.key)
        if fn is not None:
            self.stats["memory_hits"] += 1
            return fn
        path = self.path_for(source)
        if path.exists():
            self.stats["disk_hits"] += 1
        else:
            ptx = compile_to_ptx(source.code, source.name, self.arch)
            self._write(path, ptx)
            self.stats["compiled"] += 1
        fn = self.loader(str(path), source.name)
        self.memory[source.key] = fn
        return fn

    def _write(self, path: Path, ptx: str) -> None:
        """Write atomically (a rename), so concurrent processes never read half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(ptx)
        os.replace(tmp, path)
