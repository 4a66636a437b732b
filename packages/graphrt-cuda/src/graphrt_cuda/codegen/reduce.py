"""Reductions over any axes, optionally of an elementwise expression (the fused reduce).

The launcher permutes the (broadcast) input so the kept dimensions come
first and the reduced ones last, collapses each group, and picks a variant:
"block" (one block per output, a warp/block tree reduction; for long
reductions) or "thread" (one thread per output, a serial loop; for many short
ones). Parameters: M (outputs), K (elements reduced into each), the input
pointers, the output pointer (contiguous), the kept extents, the reduced
extents, then per input its kept strides and its reduced strides (IDX).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graphrt_cuda.codegen.ctypes import ctype, highest, kind, literal, lowest
from graphrt_cuda.codegen.elemwise import op_signature
from graphrt_cuda.codegen.layout import coords_code, dot_code
from graphrt_cuda.codegen.scalar import Unsupported, scalar_body
from graphrt_cuda.codegen.source import KernelSource, assemble, kernel_name

REDUCE_OPS = ("add", "mul", "maximum", "minimum", "and", "or")
BLOCK = 256  # threads per block of the "block" variant
VARIANTS = ("block", "thread")
_FUNCTOR = {"add": "GcSum", "mul": "GcProd", "maximum": "GcMax", "minimum": "GcMin", "and": "GcAnd",
            "or": "GcOr"}


def accumulator_dtype(reduce_op: str, value_dtype: str, out_dtype: str, acc_dtype: str | None) -> str:
    """The dtype the kernel accumulates in (Reduce.perform's rule: acc_dtype, else the output
    dtype for sum/prod, the value's dtype for max/min; logical ops in int32 0/1)."""
    if reduce_op in ("and", "or"):
        return "int32"
    if acc_dtype is not None:
        return np.dtype(acc_dtype).name
    return out_dtype if reduce_op in ("add", "mul") else value_dtype


def identity(reduce_op: str, acc: str) -> str:
    if reduce_op == "add":
        return literal(0, acc)
    if reduce_op == "mul":
        return literal(1, acc)
    if reduce_op == "maximum":
        return lowest(acc)
    if reduce_op == "minimum":
        return highest(acc)
    return literal(1 if reduce_op == "and" else 0, acc)


def reduce_kernel(reduce_op: str, scalar_op, in_dtypes: Sequence[str], value_dtype: str,
                  out_dtype: str, acc_dtype: str | None, kept_ndim: int, red_ndim: int, bits: int,
                  variant: str) -> KernelSource:
    """reduce_op over the last `red_ndim` dims of scalar_op(*inputs) (scalar_op None: the input).

    `value_dtype` is scalar_op's output dtype (the input's when None). kept_ndim may be 0 (a
    full reduction to one value)."""
    if reduce_op not in REDUCE_OPS:
        raise Unsupported(f"reduction {reduce_op}")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}")
    in_dtypes = tuple(np.dtype(d).name for d in in_dtypes)
    acc = accumulator_dtype(reduce_op, value_dtype, out_dtype, acc_dtype)
    if reduce_op in ("and", "or"):
        pass
    elif kind(acc) == "b":
        raise Unsupported(f"{reduce_op} accumulated in bool")
    sig = "identity" if scalar_op is None else op_signature(scalar_op, in_dtypes, [value_dtype])
    key = ("reduce", reduce_op, sig, in_dtypes, value_dtype, out_dtype, acc, kept_ndim, red_ndim,
           bits, variant)
    name = kernel_name("red", key)
    nin = len(in_dtypes)
    params = ["const IDX M", "const IDX K"]
    params += [f"const {ctype(d)}* __restrict__ in{k}" for k, d in enumerate(in_dtypes)]
    params.append(f"{ctype(out_dtype)}* __restrict__ out")
    kn = [f"kn{d}" for d in range(kept_ndim)]
    rn = [f"rn{d}" for d in range(red_ndim)]
    params += [f"const IDX {s}" for s in kn + rn]
    for k in range(nin):
        params += [f"const IDX ks{k}_{d}" for d in range(kept_ndim)]
        params += [f"const IDX rs{k}_{d}" for d in range(red_ndim)]
    base = []
    if kept_ndim:
        base += coords_code("c", "m", kn)
    for k in range(nin):
        expr = dot_code("c", [f"ks{k}_{d}" for d in range(kept_ndim)]) if kept_ndim else "0"
        base.append(f"const IDX b{k} = {expr};")
    load = coords_code("r", "j", rn)
    for k in range(nin):
        load.append(f"const IDX o{k} = b{k} + {dot_code('r', [f'rs{k}_{d}' for d in range(red_ndim)])};")
    if scalar_op is None:
        body_lines, value = [f"const {ctype(value_dtype)} v_ = in0[o0];"], "v_"
    else:
        body, outs = scalar_body(scalar_op, [f"in{k}[o{k}]" for k in range(nin)], in_dtypes,
                                 [value_dtype])
        body_lines, value = body.lines, outs[0]
    convert = f"({value} != 0)" if reduce_op in ("and", "or") else f"({ctype(acc)}){value}"
    functor = _FUNCTOR[reduce_op]
    ident = identity(reduce_op, acc)
    A = ctype(acc)
    inner = "\n            ".join(load + body_lines + [f"a_ = op_(a_, ({A}){convert});"])
    base_code = "\n        ".join(base)
    if variant == "block":
        loop = f"""
    for (IDX m = blockIdx.x; m < M; m += gridDim.x) {{
        {base_code}
        {A} a_ = {ident};
        for (IDX j = threadIdx.x; j < K; j += blockDim.x) {{
            {inner}
        }}
        a_ = gc_block_reduce(a_, op_, ({A}){ident});
        if (threadIdx.x == 0) out[m] = ({ctype(out_dtype)})a_;
    }}"""
    else:
        loop = f"""
    for (IDX m = (IDX)blockIdx.x * blockDim.x + threadIdx.x; m < M; m += (IDX)blockDim.x * gridDim.x) {{
        {base_code}
        {A} a_ = {ident};
        for (IDX j = 0; j < K; ++j) {{
            {inner}
        }}
        out[m] = ({ctype(out_dtype)})a_;
    }}"""
    code = f"""
extern "C" __global__ void {name}({", ".join(params)}) {{
    const {functor} op_;
{loop}
}}
"""
    return KernelSource(key, name, assemble(bits, code),
                        {"variant": variant, "kept_ndim": kept_ndim, "red_ndim": red_ndim,
                         "nin": nin, "acc": acc})
