"""KernelSource: one generated kernel (its cache key, entry-point name and CUDA C)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from graphrt_cuda.codegen.ctypes import INDEX_CTYPE
from graphrt_cuda.codegen.prelude import PRELUDE


@dataclass(frozen=True)
class KernelSource:
    """A kernel ready for NVRTC: `key` (immutable, hashable) names it in every cache.

    key = (family, op signature, dtypes, ndim, contiguity, index bits, ...), e.g.
    ("elemwise", "<sha1 of the scalar body>", ("float32",), ("float32",), 2, (True, False), 32).
    """

    key: tuple
    name: str
    code: str
    # what the launcher needs to know about the parameters (family-specific)
    meta: dict = field(default_factory=dict, compare=False, hash=False)


def kernel_name(family: str, key: tuple) -> str:
    """A C identifier unique to `key`: the family and a hash of the key."""
    return f"gc_{family}_{hashlib.sha1(repr(key).encode()).hexdigest()[:16]}"


def assemble(bits: int, body: str) -> str:
    """Full translation unit: the index type, the prelude, the kernel(s)."""
    return f"typedef {INDEX_CTYPE[bits]} IDX;\n{PRELUDE}\n{body}"


def kernel_body(source: KernelSource) -> str:
    """The kernel's own text (its code without the index typedef and the prelude)."""
    return source.code.split("// ---- end prelude\n", 1)[1]


def assemble_many(bits: int, sources) -> str:
    """One translation unit holding several kernels of one index width (compile tests)."""
    return assemble(bits, "\n".join(kernel_body(s) for s in sources))
