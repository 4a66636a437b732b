"""Row kernels of the softmax family and the fused crossentropy ops (and their gradients).

All work on C-contiguous (rows, cols) float arrays, one block per row
(grid-stride over rows), the row's max and sums by block reductions; the
launcher moves the softmax axis last and makes the operands contiguous.
Parameters are listed per mode in `PARAMS`.
"""

from __future__ import annotations

import re

import numpy as np

from graphrt_cuda.codegen.ctypes import ctype, fsuffix, lowest
from graphrt_cuda.codegen.scalar import Unsupported
from graphrt_cuda.codegen.source import KernelSource, assemble, kernel_name

MODES = ("softmax", "log_softmax", "softmax_grad", "log_softmax_grad", "xent", "xent_dx")
BLOCK = 256
PARAMS = {
    "softmax": "rows, cols, x, out",
    "log_softmax": "rows, cols, x, out",
    "softmax_grad": "rows, cols, dy, sm, out",
    "log_softmax_grad": "rows, cols, dy, logsm, out",
    "xent": "rows, cols, x, b, y (int64), nll, sm, am (int64)",
    "xent_dx": "rows, cols, dnll, sm, y (int64), dx",
}


def _max_and_sum(F, lo):
    """Row start shared by softmax and log_softmax: mx = max(x), s = sum(exp(x - mx))."""
    return f"""
        const T* xr = x + r * cols; T* orow = out + r * cols;
        T mx = {lo};
        for (IDX j = threadIdx.x; j < cols; j += blockDim.x) mx = GcMax()(mx, xr[j]);
        mx = gc_block_reduce(mx, GcMax(), (T){lo});
        T s = 0;
        for (IDX j = threadIdx.x; j < cols; j += blockDim.x) s += exp{F}(xr[j] - mx);
        s = gc_block_reduce(s, GcSum(), (T)0);"""


def _bodies(mode, T, F, lo):
    if mode == "softmax":
        return ("const T* __restrict__ x, T* __restrict__ out", _max_and_sum(F, lo) + f"""
        for (IDX j = threadIdx.x; j < cols; j += blockDim.x) orow[j] = exp{F}(xr[j] - mx) / s;""")
    if mode == "log_softmax":
        return ("const T* __restrict__ x, T* __restrict__ out", _max_and_sum(F, lo) + f"""
        const T lse = log{F}(s);
        for (IDX j = threadIdx.x; j < cols; j += blockDim.x) orow[j] = (xr[j] - mx) - lse;""")
    if mode == "softmax_grad":
        return ("const T* __restrict__ dy, const T* __restrict__ sm, T* __restrict__ out", """
        const T* d = dy + r * cols; const T* p = sm + r * cols; T* orow = out + r * cols;
        T s = 0;
        for (IDX j = threadIdx.x; j < cols; j += blockDim.x) s += d[j] * p[j];
        s = gc_block_reduce(s, GcSum(), (T)0);
        for (IDX j = threadIdx.x; j < cols; j += blockDim.x) orow[j] = (d[j] - s) * p[j];""")
    if mode == "log_softmax_grad":
        return ("const T* __restrict__ dy, const T* __restrict__ logsm, T* __restrict__ out", f"""
        const T* d = dy + r * cols; const T* p = logsm + r * cols; T* orow = out + r * cols;
        T s = 0;
        for (IDX j = threadIdx.x; j < cols; j += blockDim.x) s += d[j];
        s = gc_block_reduce(s, GcSum(), (T)0);
        for (IDX j = threadIdx.x; j < cols; j += blockDim.x) orow[j] = d[j] - exp{F}(p[j]) * s;""")
    if mode == "xent":
        # z = x + b; lse from a finite max (as the reference: a non-finite max counts as 0);
        # argmax: the first index holding the max (the first NaN when there is one)
        return ("const T* __restrict__ x, const T* __restrict__ b, const long long* __restrict__ y, "
                "T* __restrict__ nll, T* __restrict__ sm, long long* __restrict__ am", f"""
        const T* xr = x + r * cols; T* srow = sm + r * cols;
        T mx = {lo};
        for (IDX j = threadIdx.x; j < cols; j += blockDim.x) mx = GcMax()(mx, xr[j] + b[j]);
        mx = gc_block_reduce(mx, GcMax(), (T){lo});
        long long first = cols;
        for (IDX j = threadIdx.x; j < cols; j += blockDim.x) {{
            const T z = xr[j] + b[j];
            if ((z == mx || (mx != mx && z != z)) && j < first) first = j;
        }}
        first = gc_block_reduce(first, GcMin(), (long long)cols);
        const T shift = isfinite(mx) ? mx : (T)0;
        T s = 0;
        for (IDX j = threadIdx.x; j < cols; j += blockDim.x) s += exp{F}(xr[j] + b[j] - shift);
        s = gc_block_reduce(s, GcSum(), (T)0);
        const T lse = shift + log{F}(s);
        for (IDX j = threadIdx.x; j < cols; j += blockDim.x) srow[j] = exp{F}(xr[j] + b[j] - lse);
        if (threadIdx.x == 0) {{
            const long long t = y[r];
            nll[r] = lse - (xr[t] + b[t]);
            am[r] = first;
        }}""")
    if mode == "xent_dx":
        return ("const T* __restrict__ dnll, const T* __restrict__ sm, const long long* __restrict__ y, "
                "T* __restrict__ dx", """
        const T* p = sm + r * cols; T* orow = dx + r * cols;
        const T g = dnll[r]; const long long t = y[r];
        for (IDX j = threadIdx.x; j < cols; j += blockDim.x) orow[j] = p[j] * g - (j == t ? g : (T)0);""")
    raise ValueError(mode)


def _typed(text, ct):
    """Replace the type placeholder T (a whole word) by the C type `ct`."""


    return re.sub(r"\bT\b", ct, text)


def nnet_kernel(mode: str, dtype: str, bits: int) -> KernelSource:
    """The row kernel for `mode` (one of MODES) on `dtype` (float32 or float64)."""
    dtype = np.dtype(dtype).name
    if dtype not in ("float32", "float64"):
        raise Unsupported(f"{mode} on {dtype}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    key = ("nnet", mode, dtype, 2, True, bits)
    name = kernel_name("nn", key)
    params, body = _bodies(mode, ctype(dtype), fsuffix(dtype), lowest(dtype))
    # spelled out (no typedef), so many kernels can share one translation unit
    params, body = _typed(params, ctype(dtype)), _typed(body, ctype(dtype))
    code = f"""
extern "C" __global__ void {name}(const IDX rows, const IDX cols, {params}) {{
    for (IDX r = blockIdx.x; r < rows; r += gridDim.x) {{{body}
    }}
}}
"""
    return KernelSource(key, name, assemble(bits, code), {"mode": mode})
