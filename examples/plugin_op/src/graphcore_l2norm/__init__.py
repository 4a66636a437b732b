"""graphcore_l2norm: an example third-party op package with a native CPU kernel.

`l2_normalize(x, eps=0.0)` divides each row of a matrix by its L2 norm,
``x / sqrt(sum(x**2, axis=1, keepdims=True) + eps)``. The op has a NumPy
`perform` (the reference, used by every backend) and a C kernel
(`_native.c`, written against graphrt_cpu.h) that the graphrt-cpu VM calls
directly. graphcore imports this module through the ``graphcore.ops`` entry
point at the first compile, which registers the kernel.
"""

from __future__ import annotations

import struct

import numpy as np

import graphcore.tensor as T
from graphcore.graph.basic import Apply
from graphcore.graph.op import Op
from graphcore.tensor.basic import as_tensor_variable
from graphcore.tensor.type import TensorType

__all__ = ["RowL2Normalize", "l2_normalize"]


class RowL2Normalize(Op):
    """y[i, :] = x[i, :] / sqrt(sum_j x[i, j]**2 + eps); a row of norm 0 is an error."""

    __props__ = ("eps",)

    def __init__(self, eps=0.0):
        self.eps = float(eps)
        if self.eps < 0:
            raise ValueError(f"RowL2Normalize: eps must be >= 0, got {eps!r}")

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.type.ndim != 2 or x.type.dtype not in ("float32", "float64"):
            raise TypeError(f"RowL2Normalize: expected a float32 or float64 matrix, got {x.type}")
        return Apply(self, [x], [TensorType(x.type.dtype, x.type.shape)()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        n = np.sqrt(np.sum(x * x, axis=1, keepdims=True) + self.eps)
        zero = np.flatnonzero(n == 0)
        if zero.size:
            raise ValueError(f"RowL2Normalize: row {zero[0]} has zero norm (use eps > 0)")
        output_storage[0][0] = (x / n).astype(x.dtype, copy=False)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        # dx = (g - y * sum(g * y, axis=1)) / n
        (x,), (y,), (g,) = inputs, outputs, output_grads
        n = T.sqrt(T.sum(T.sqr(x), axis=1, keepdims=True) + self.eps)
        return [(g - y * T.sum(g * y, axis=1, keepdims=True)) / n]


def l2_normalize(x, eps=0.0):
    """Each row of the matrix `x` divided by its L2 norm (``sqrt(sum(x**2) + eps)``)."""
    return RowL2Normalize(eps)(x)


def _register_cpu_kernel():
    """Give graphrt-cpu the native kernel (without graphrt-cpu or the extension: perform only)."""
    try:
        import graphrt_cpu
        from graphcore_l2norm import _native
    except ImportError:
        return
    graphrt_cpu.register_kernel(
        RowL2Normalize,
        graphrt_cpu.kernel_capsule(_native, "row_l2_normalize"),
        params=lambda node: struct.pack("d", node.op.eps),  # the C struct l2norm_params
    )


_register_cpu_kernel()
