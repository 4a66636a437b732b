"""Matrix products: dot (np.dot for every ndim), outer, matmul; N-d in linalg_products."""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Apply
from graphcore.graph.op import Op
from graphcore.tensor import math
from graphcore.tensor.basic import as_tensor_variable, bilinear_R_op, cast
from graphcore.tensor.elemwise import _retype_weak
from graphcore.tensor.type import TensorType


class Dot(Op):
    """np.dot for vector/matrix operands (1-d or 2-d each)."""

    fresh_outputs = True  # perform allocates its outputs (graphopt may overwrite them)

    def make_node(self, x, y):
        x, y = _retype_weak([as_tensor_variable(x), as_tensor_variable(y)])
        if x.type.ndim not in (1, 2) or y.type.ndim not in (1, 2):
            raise TypeError(f"Dot: expected 1-d or 2-d inputs, got {x.type} and {y.type}")
        kx = x.type.shape[-1]
        ky = y.type.shape[0]
        if kx is not None and ky is not None and kx != ky:
            raise ValueError(f"Dot: shapes {x.type.shape} and {y.type.shape} are not aligned "
                             f"({kx} != {ky})")
        dtype = np.result_type(x.type.dtype, y.type.dtype).name
        shape = x.type.shape[:-1] + y.type.shape[1:]
        return Apply(self, [x, y], [TensorType(dtype, shape)()])

    def perform(self, node, inputs, output_storage):
        x, y = inputs
        if x.shape[-1] != y.shape[0]:
            raise ValueError(f"Dot: shapes {x.shape} and {y.shape} are not aligned: "
                             f"{x.shape[-1]} (dim {x.ndim - 1}) != {y.shape[0]} (dim 0)")
        output_storage[0][0] = np.asarray(np.dot(x, y), dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        xs, ys = input_shapes
        return [tuple(xs[:-1]) + tuple(ys[1:])]

    def grad(self, inputs, gz):
        x, y = inputs
        g = gz[0]
        if x.type.ndim == 2 and y.type.ndim == 2:
            gx, gy = dot(g, y.T), dot(x.T, g)
        elif x.type.ndim == 1 and y.type.ndim == 2:
            gx, gy = dot(y, g), outer(x, g)
        elif x.type.ndim == 2 and y.type.ndim == 1:
            gx, gy = outer(g, y), dot(g, x)
        else:
            gx, gy = math.mul(g, y), math.mul(g, x)
        return [cast(gx, x.type.dtype), cast(gy, y.type.dtype)]

    def R_op(self, inputs, eval_points):
        return bilinear_R_op(dot, inputs, eval_points)


_dot = Dot()


def dot(a, b):
    """np.dot: scalars multiply, vectors/matrices contract the last axis of a with the first of b."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.type.ndim == 0 or b.type.ndim == 0:
        return math.mul(a, b)
    if a.type.ndim <= 2 and b.type.ndim <= 2:
        return _dot(a, b)

    return linalg_products.tensordot(a, b, axes=[[a.type.ndim - 1], [max(b.type.ndim - 2, 0)]])


def outer(x, y):
    """Outer product of two vectors (flattened first, like np.outer)."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.type.ndim != 1:
        x = x.flatten()
    if y.type.ndim != 1:
        y = y.flatten()
    return math.mul(x.dimshuffle(0, "x"), y.dimshuffle("x", 0))


def matmul(a, b):
    """np.matmul (`@`): no scalars; vectors are promoted then squeezed; stacks broadcast."""
    return linalg_products.matmul(a, b)


def tensordot(a, b, axes=2):
    """np.tensordot (see graphcore.tensor.linalg_products.tensordot)."""
    return linalg_products.tensordot(a, b, axes)


# Back edge, imported last: linalg_products takes _dot from this module at its top, so it may load
# only once the names above exist. A module object, used at call time.
from graphcore.tensor import linalg_products  # noqa: E402
