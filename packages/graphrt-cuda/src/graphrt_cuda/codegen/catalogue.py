"""Every kind of kernel the generator can emit, for the NVRTC compile checks (no GPU needed).

Each scalar op on each dtype it supports (elementwise, contiguous), the
index-arithmetic variants (strided, broadcast, 1-3 dims, 32 and 64 bit),
every reduction op and variant on every dtype, a fused reduce, and every
softmax/crossentropy mode on float32 and float64.
"""

from __future__ import annotations

import numpy as np

from graphcore.scalar import ops as so
from graphcore.scalar.basic import upcast

from graphrt_cuda.codegen.ctypes import DTYPES
from graphrt_cuda.codegen.elemwise import elemwise_kernel
from graphrt_cuda.codegen.nnet import MODES, nnet_kernel
from graphrt_cuda.codegen.reduce import REDUCE_OPS, VARIANTS, reduce_kernel
from graphrt_cuda.codegen.scalar import OPS, Unsupported, supported_scalar_ops


def _arity(op_class):
    if op_class in (so.Add, so.Mul):
        return 2
    if op_class in (so.Switch,):
        return 3
    nin = getattr(op_class, "nin", None)
    return nin if isinstance(nin, int) and nin > 0 else 1


def _instance(op_class, dtype):
    if op_class is so.Cast:
        return so.Cast("float64" if dtype != "float64" else "int32")
    try:
        return op_class()
    except TypeError:
        return None


def elementwise_cases():
    """(scalar op, in dtypes, out dtypes) for every supported op x dtype."""
    for cls in supported_scalar_ops():
        for dtype in DTYPES:
            op = _instance(cls, dtype)
            if op is None:
                continue
            n = _arity(cls)
            ins = [dtype] * n
            if cls is so.Switch:
                ins[0] = "bool"
            try:
                outs = list(op.output_dtypes(*ins))
            except Exception:
                continue
            yield op, ins, outs


def all_kernels():
    """KernelSources of every kind the generator emits (Unsupported combinations skipped)."""
    out = []
    for op, ins, outs in elementwise_cases():
        try:
            out.append(elemwise_kernel(op, ins, outs, 1, [True] * (len(ins) + len(outs)), 32))
        except Unsupported:
            pass
    # index arithmetic: strided / broadcast operands, 1-3 dims, 32 and 64 bit
    for bits in (32, 64):
        for ndim in (1, 2, 3):
            for contig in ((True, False, True), (False, True, False), (False, False, False)):
                out.append(elemwise_kernel(so.add, ["float32", "float32"], ["float32"], ndim,
                                           contig, bits))
    mixed = so.Switch()
    out.append(elemwise_kernel(mixed, ["bool", "int64", "float32"], ["float64"], 2,
                               (False, True, False, True), 32))
    for red in REDUCE_OPS:
        for dtype in DTYPES:
            out_dtype = "bool" if red in ("and", "or") else (
                np.dtype(upcast(dtype, "int64")).name if red in ("add", "mul") and
                np.dtype(dtype).kind in "biu" else dtype)
            for variant in VARIANTS:
                for kept, rd in ((0, 1), (1, 1), (2, 2)):
                    for bits in (32, 64):
                        try:
                            out.append(reduce_kernel(red, None, [dtype], dtype, out_dtype, None, kept,
                                                     rd, bits, variant))
                        except Unsupported:
                            pass
    for variant in VARIANTS:
        out.append(reduce_kernel("add", so.mul, ["float32", "float32"], "float32", "float32",
                                 "float64", 1, 1, 32, variant))
        out.append(reduce_kernel("maximum", so.Abs(), ["float64"], "float64", "float64", None,
                                 2, 1, 64, variant))
    for mode in MODES:
        for dtype in ("float32", "float64"):
            for bits in (32, 64):
                out.append(nnet_kernel(mode, dtype, bits))
    # distinct keys only
    seen, unique = set(), []
    for ks in out:
        if ks.key not in seen:
            seen.add(ks.key)
            unique.append(ks)
    return unique


__all__ = ["OPS", "all_kernels", "elementwise_cases"]
