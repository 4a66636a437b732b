"""BLAS-shaped products that graphopt's specialization builds from dot + scaled adds.

- Gemm(z, alpha, x, y, beta) = beta * z + alpha * dot(x, y)   (matrices)
- Gemv(z, alpha, A, x, beta) = beta * z + alpha * dot(A, x)   (z, x vectors)
- Ger(A, alpha, x, y)        = A + alpha * outer(x, y)

alpha and beta are 0-d tensors. With the `inplace` prop the op overwrites its
first input (destroy_map {0: [0]}); graphopt's inplace pass chooses that
only when it is safe. `perform` is NumPy (the reference); runtimes map these
ops to BLAS (gemm/gemv/ger).
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Apply
from graphcore.graph.op import Op
from graphcore.tensor.basic import as_tensor_variable, cast
from graphcore.tensor.type import TensorType


def _scalar(v, dtype, what, op):
    v = as_tensor_variable(v)
    if v.type.ndim != 0:
        raise TypeError(f"{op}: {what} must be a 0-d tensor, got {v.type}")
    if v.type.dtype != dtype:
        v = cast(v, dtype)
    return v


class _BlasOp(Op):
    __props__ = ("inplace",)

    def __init__(self, inplace=False):
        self.inplace = bool(inplace)
        self.destroy_map = {0: [0]} if self.inplace else {}

    def __str__(self):
        return f"{type(self).__name__}{{{'inplace' if self.inplace else 'no_inplace'}}}"

    def clone_inplace(self):
        return type(self)(inplace=True)

    def _out(self, z, inputs):
        return Apply(self, inputs, [TensorType(z.type.dtype, z.type.shape)()])

    def _accumulate(self, z, alpha, prod, beta=1):
        """beta * z + alpha * prod, written into z itself when inplace."""
        out = z if self.inplace else z.copy()
        if beta == 0:
            out[...] = alpha * prod
        else:
            if beta != 1:
                out *= beta
            out += alpha * prod
        return out

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]


class Gemm(_BlasOp):
    """beta * z + alpha * dot(x, y) for matrices x, y, z."""

    fresh_outputs = True  # perform allocates its outputs (graphopt may overwrite them)

    def make_node(self, z, alpha, x, y, beta):
        z, x, y = (as_tensor_variable(v) for v in (z, x, y))
        for name, v in (("z", z), ("x", x), ("y", y)):
            if v.type.ndim != 2:
                raise TypeError(f"{self}: {name} must be a matrix, got {v.type}")
        dtype = z.type.dtype
        if x.type.dtype != dtype or y.type.dtype != dtype:
            raise TypeError(f"{self}: z, x and y must share a dtype, got {z.type}, {x.type}, {y.type}")
        return self._out(z, [z, _scalar(alpha, dtype, "alpha", self), x, y,
                             _scalar(beta, dtype, "beta", self)])

    def perform(self, node, inputs, output_storage):
        z, alpha, x, y, beta = inputs
        if x.shape[1] != y.shape[0] or z.shape != (x.shape[0], y.shape[1]):
            raise ValueError(f"{self}: shapes z{z.shape}, x{x.shape}, y{y.shape} do not match")
        output_storage[0][0] = self._accumulate(z, alpha, np.dot(x, y), beta)


class Gemv(_BlasOp):
    """beta * z + alpha * dot(A, x) for a matrix A and vectors x, z."""

    fresh_outputs = True  # perform allocates its outputs (graphopt may overwrite them)

    def make_node(self, z, alpha, A, x, beta):
        z, A, x = (as_tensor_variable(v) for v in (z, A, x))
        if z.type.ndim != 1 or A.type.ndim != 2 or x.type.ndim != 1:
            raise TypeError(f"{self}: expected vector z, matrix A, vector x; got {z.type}, {A.type}, {x.type}")
        dtype = z.type.dtype
        if A.type.dtype != dtype or x.type.dtype != dtype:
            raise TypeError(f"{self}: z, A and x must share a dtype")
        return self._out(z, [z, _scalar(alpha, dtype, "alpha", self), A, x,
                             _scalar(beta, dtype, "beta", self)])

    def perform(self, node, inputs, output_storage):
        z, alpha, A, x, beta = inputs
        if A.shape[1] != x.shape[0] or z.shape != (A.shape[0],):
            raise ValueError(f"{self}: shapes z{z.shape}, A{A.shape}, x{x.shape} do not match")
        output_storage[0][0] = self._accumulate(z, alpha, np.dot(A, x), beta)


class Ger(_BlasOp):
    """A + alpha * outer(x, y) for a matrix A and vectors x, y."""

    fresh_outputs = True  # perform allocates its outputs (graphopt may overwrite them)

    def make_node(self, A, alpha, x, y):
        A, x, y = (as_tensor_variable(v) for v in (A, x, y))
        if A.type.ndim != 2 or x.type.ndim != 1 or y.type.ndim != 1:
            raise TypeError(f"{self}: expected matrix A and vectors x, y; got {A.type}, {x.type}, {y.type}")
        dtype = A.type.dtype
        if x.type.dtype != dtype or y.type.dtype != dtype:
            raise TypeError(f"{self}: A, x and y must share a dtype")
        return self._out(A, [A, _scalar(alpha, dtype, "alpha", self), x, y])

    def perform(self, node, inputs, output_storage):
        A, alpha, x, y = inputs
        if A.shape != (x.shape[0], y.shape[0]):
            raise ValueError(f"{self}: shapes A{A.shape}, x{x.shape}, y{y.shape} do not match")
        output_storage[0][0] = self._accumulate(A, alpha, np.outer(x, y))


gemm_no_inplace, gemm_inplace = Gemm(False), Gemm(True)
gemv_no_inplace, gemv_inplace = Gemv(False), Gemv(True)
ger_no_inplace, ger_inplace = Ger(False), Ger(True)
