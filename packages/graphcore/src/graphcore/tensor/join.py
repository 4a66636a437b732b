"""Joining tensors: stack and concatenate (the basics; more in the catalogue)."""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Apply
from graphcore.graph.op import Op
from graphcore.tensor.basic import as_tensor_variable, cast
from graphcore.tensor.elemwise import _retype_weak
from graphcore.tensor.type import TensorType


class Join(Op):
    """Concatenate tensors of equal ndim along `axis`."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def make_node(self, *tensors):
        if not tensors:
            raise ValueError("join: needs at least one tensor")
        tensors = _retype_weak([as_tensor_variable(t) for t in tensors])
        nd = tensors[0].type.ndim
        if nd == 0:
            raise ValueError("join: cannot join 0-d tensors; use stack")
        if any(t.type.ndim != nd for t in tensors):
            raise ValueError(f"join: all tensors need the same number of dimensions, got "
                             f"{[t.type.ndim for t in tensors]}")
        if not 0 <= self.axis < nd:
            raise ValueError(f"join: axis {self.axis} is out of range for {nd} dimensions")
        dtype = np.result_type(*[t.type.dtype for t in tensors]).name
        tensors = [cast(t, dtype) for t in tensors]
        shape = []
        for d in range(nd):
            sizes = [t.type.shape[d] for t in tensors]
            if d == self.axis:
                shape.append(None if None in sizes else int(np.sum(sizes)))
            else:
                known = {s for s in sizes if s is not None}
                if len(known) > 1:
                    raise ValueError(f"join: shapes {[t.type.shape for t in tensors]} differ "
                                     f"in dimension {d}")
                shape.append(known.pop() if known else None)
        return Apply(self, tensors, [TensorType(dtype, tuple(shape))()])

    def perform(self, node, inputs, output_storage):
        try:
            output_storage[0][0] = np.concatenate(inputs, axis=self.axis)
        except ValueError as exc:
            raise ValueError(f"join along axis {self.axis}: shapes {[x.shape for x in inputs]}: {exc}") from None

    def infer_shape(self, fgraph, node, input_shapes):
        from graphcore.tensor import math

        out = list(input_shapes[0])
        out[self.axis] = math.add(*[s[self.axis] for s in input_shapes]) if len(input_shapes) > 1 \
            else input_shapes[0][self.axis]
        return [tuple(out)]

    def grad(self, inputs, gz):
        from graphcore.tensor.shape import shape_i
        from graphcore.tensor.subtensor import getitem
        from graphcore.tensor import math

        g = gz[0]
        grads, start = [], 0
        for t in inputs:
            stop = math.add(start, shape_i(t, self.axis))
            index = [slice(None)] * t.type.ndim
            index[self.axis] = slice(start, stop)
            grads.append(getitem(g, tuple(index)))
            start = stop
        return grads


def concatenate(tensors, axis=0):
    tensors = [as_tensor_variable(t) for t in tensors]
    nd = tensors[0].type.ndim if tensors else 0
    if nd and not -nd <= axis < nd:
        raise ValueError(f"concatenate: axis {axis} is out of range for {nd} dimensions")
    return Join(axis % nd if nd else 0)(*tensors)


def join(axis, *tensors):
    """Theano's argument order: join(axis, t1, t2, ...)."""
    return concatenate(tensors, axis)


def stack(tensors, axis=0):
    """Stack equally-shaped tensors along a new axis."""
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    tensors = _retype_weak([as_tensor_variable(t) for t in tensors])
    nd = tensors[0].type.ndim + 1
    if not -nd <= axis < nd:
        raise ValueError(f"stack: axis {axis} is out of range for {nd} dimensions")
    axis %= nd
    from graphcore.tensor.shape import shape_padaxis

    return Join(axis)(*[shape_padaxis(t, axis) for t in tensors])
