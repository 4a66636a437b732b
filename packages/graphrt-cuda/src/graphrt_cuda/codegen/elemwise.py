"""Fused elementwise kernels: an Elemwise (any scalar op or Composite) over broadcast, strided operands.

One thread per element in a grid-stride loop. Operands the launcher found
C-contiguous in the collapsed iteration space use the flat index directly;
the others compute their offset from the shared coordinates and their own
strides (0 on broadcast dimensions). Parameters, in order: n, the input
pointers, the output pointers, then (when any operand is strided) the
`ndim` extents and each strided operand's `ndim` strides, all of type IDX.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from graphrt_cuda.codegen.ctypes import ctype
from graphrt_cuda.codegen.layout import coords_code, dot_code
from graphrt_cuda.codegen.scalar import scalar_body
from graphrt_cuda.codegen.source import KernelSource, assemble, kernel_name


def op_signature(scalar_op, in_dtypes: Sequence[str], out_dtypes: Sequence[str]) -> str:
    """A hash of the computation (the generated scalar body): equal ops share kernels."""
    body, outs = scalar_body(scalar_op, [f"a{k}" for k in range(len(in_dtypes))], in_dtypes,
                             out_dtypes)
    text = "\n".join(body.lines) + "|" + ",".join(outs)
    return hashlib.sha1(text.encode()).hexdigest()


def elemwise_kernel(scalar_op, in_dtypes: Sequence[str], out_dtypes: Sequence[str], ndim: int,
                    contiguous: Sequence[bool], bits: int) -> KernelSource:
    """The kernel computing `scalar_op` elementwise. `contiguous`: one flag per operand
    (inputs then outputs). Raises `scalar.Unsupported` for an op or dtype it cannot emit."""
    in_dtypes, out_dtypes = tuple(in_dtypes), tuple(out_dtypes)
    contiguous = tuple(bool(c) for c in contiguous)
    nin = len(in_dtypes)
    if len(contiguous) != nin + len(out_dtypes):
        raise ValueError("one contiguity flag per input and output")
    sig = op_signature(scalar_op, in_dtypes, out_dtypes)
    key = ("elemwise", sig, in_dtypes, out_dtypes, ndim, contiguous, bits)
    name = kernel_name("ew", key)
    strided = [k for k, c in enumerate(contiguous) if not c]
    params = ["const IDX n"]
    for k, d in enumerate(in_dtypes):
        params.append(f"const {ctype(d)}* __restrict__ in{k}")
    for k, d in enumerate(out_dtypes):
        params.append(f"{ctype(d)}* __restrict__ out{k}")
    shape_names = [f"n{d}" for d in range(ndim)]
    if strided:
        params += [f"const IDX {s}" for s in shape_names]
        for k in strided:
            params += [f"const IDX s{k}_{d}" for d in range(ndim)]

    def where(k):
        if contiguous[k]:
            return "i"
        return f"o{k}"

    loop = []
    if strided:
        loop += coords_code("c", "i", shape_names)
        for k in strided:
            loop.append(f"const IDX o{k} = {dot_code('c', [f's{k}_{d}' for d in range(ndim)])};")
    body, outs = scalar_body(scalar_op, [f"in{k}[{where(k)}]" for k in range(nin)], in_dtypes,
                             out_dtypes)
    loop += body.lines
    for j, o in enumerate(outs):
        loop.append(f"out{j}[{where(nin + j)}] = {o};")
    inner = "\n        ".join(loop)
    code = f"""
extern "C" __global__ void {name}({", ".join(params)}) {{
    for (IDX i = (IDX)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (IDX)blockDim.x * gridDim.x) {{
        {inner}
    }}
}}
"""
    return KernelSource(key, name, assemble(bits, code),
                        {"strided": tuple(strided), "ndim": ndim, "nin": nin})
