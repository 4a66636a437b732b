"""Shape ops: shape, shape_i, reshape, specify_shape, flatten and padding helpers."""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Apply, Constant, Variable
from graphcore.graph.op import Op
from graphcore.tensor.basic import (NotScalarConstantError, as_tensor_variable, cast,
                                    get_scalar_constant_value)
from graphcore.tensor.type import TensorType


class Shape(Op):
    """The shape of x as an int64 vector."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [TensorType("int64", (x.type.ndim,))()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.asarray(inputs[0].shape, dtype="int64")

    def infer_shape(self, fgraph, node, input_shapes):
        return [(node.inputs[0].type.ndim,)]

    def grad(self, inputs, gz):
        from graphcore.gradient import disconnected_type

        return [disconnected_type()]

    def connection_pattern(self, node):
        return [[False]]


class Shape_i(Op):
    """Length of dimension `i` of x (an int64 scalar)."""

    __props__ = ("i",)

    def __init__(self, i):
        self.i = int(i)

    def make_node(self, x):
        x = as_tensor_variable(x)
        if not 0 <= self.i < x.type.ndim:
            raise ValueError(f"{self}: {x} has only {x.type.ndim} dimensions")
        return Apply(self, [x], [TensorType("int64", ())()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.asarray(inputs[0].shape[self.i], dtype="int64")

    def infer_shape(self, fgraph, node, input_shapes):
        return [()]

    def grad(self, inputs, gz):
        from graphcore.gradient import disconnected_type

        return [disconnected_type()]

    def connection_pattern(self, node):
        return [[False]]


_shape = Shape()


class ShapeTuple(tuple):
    """x.shape: indexable like a tuple (x.shape[0]) and usable as a symbolic vector."""


def shape(x):
    """Symbolic shape of x; x.shape[i] gives a scalar, static where the type knows it."""
    x = as_tensor_variable(x)
    return _shape(x)


def shape_i(x, i):
    x = as_tensor_variable(x)
    s = x.type.shape[i]
    if s is not None:
        from graphcore.tensor.basic import constant

        return constant(np.int64(s))
    return Shape_i(i)(x)


class SpecifyShape(Op):
    """Assert x has `shape` (None entries unchecked); gives the output that static shape."""

    __props__ = ("shape",)
    view_map = {0: [0]}

    def __init__(self, shape):
        self.shape = tuple(None if s is None else int(s) for s in shape)

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.type.ndim != len(self.shape):
            raise ValueError(f"specify_shape: {x} has {x.type.ndim} dimensions, the shape "
                             f"{self.shape} has {len(self.shape)}")
        for d, (a, b) in enumerate(zip(x.type.shape, self.shape)):
            if a is not None and b is not None and a != b:
                raise ValueError(f"specify_shape: {x} has static shape {x.type.shape}, which "
                                 f"contradicts {self.shape} in dimension {d}")
        shape = tuple(b if b is not None else a for a, b in zip(x.type.shape, self.shape))
        return Apply(self, [x], [TensorType(x.type.dtype, shape)()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        if x.ndim != len(self.shape) or any(s is not None and s != xs for s, xs in zip(self.shape, x.shape)):
            raise AssertionError(f"specify_shape: expected shape {self.shape}, got {x.shape}")
        output_storage[0][0] = x

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(s if s is not None else i for s, i in zip(self.shape, input_shapes[0]))]

    def grad(self, inputs, gz):
        return [gz[0]]


def specify_shape(x, shape):
    x = as_tensor_variable(x)
    shape = tuple(shape)
    if all(a == b or b is None for a, b in zip(x.type.shape, shape)) and len(shape) == x.type.ndim:
        if all(b is None or a == b for a, b in zip(x.type.shape, shape)):
            return x
    return SpecifyShape(shape)(x)


class Reshape(Op):
    """Reshape x to a shape given as an int vector of `ndim` entries (one may be -1)."""

    __props__ = ("ndim",)
    view_map = {0: [0]}

    def __init__(self, ndim):
        self.ndim = int(ndim)

    def make_node(self, x, shp):
        x = as_tensor_variable(x)
        shp = as_tensor_variable(shp, ndim=1)
        if shp.type.dtype[:3] not in ("int", "uin"):
            raise TypeError(f"reshape: the shape must be integers, got {shp.type}")
        if shp.type.shape[0] is not None and shp.type.shape[0] != self.ndim:
            raise ValueError(f"reshape: shape has {shp.type.shape[0]} entries, expected {self.ndim}")
        static = [None] * self.ndim
        if isinstance(shp, Constant):
            vals = [int(v) for v in np.asarray(shp.data)]
            static = [v if v >= 0 else None for v in vals]
            known = [s for s in x.type.shape]
            if -1 in vals and None not in known:
                total = int(np.prod(known))
                rest = int(np.prod([v for v in vals if v != -1]))
                if rest and total % rest == 0:
                    static[vals.index(-1)] = total // rest
        elif shp.owner is not None and hasattr(shp.owner.op, "static_entries"):
            static = list(shp.owner.op.static_entries(shp.owner))
        return Apply(self, [x, cast(shp, "int64")], [TensorType(x.type.dtype, tuple(static))()])

    def perform(self, node, inputs, output_storage):
        x, shp = inputs
        if len(shp) != self.ndim:
            raise ValueError(f"reshape: shape has {len(shp)} entries, expected {self.ndim}")
        try:
            output_storage[0][0] = np.reshape(x, tuple(int(s) for s in shp))
        except ValueError:
            raise ValueError(f"reshape: cannot reshape an array of shape {x.shape} "
                             f"({x.size} elements) into shape {tuple(int(s) for s in shp)}") from None

    def infer_shape(self, fgraph, node, input_shapes):
        x, shp = node.inputs
        from graphcore.tensor import math

        out = []
        for i in range(self.ndim):
            s = node.outputs[0].type.shape[i]
            out.append(s if s is not None else shp[i])
        # a -1 entry: total / product of the others
        if any(s is None for s in node.outputs[0].type.shape):
            total = math.prod(shape(x))
            fixed = [math.switch(math.eq(shp[i], -1), 1, shp[i]) for i in range(self.ndim)]
            out = [s if isinstance(s, int) else
                   math.switch(math.eq(shp[i], -1),
                               math.int_div(total, math.mul(*fixed) if len(fixed) > 1 else fixed[0]),
                               shp[i]) for i, s in enumerate(out)]
        return [tuple(out)]

    def grad(self, inputs, gz):
        from graphcore.gradient import disconnected_type

        x = inputs[0]
        return [reshape(gz[0], shape(x), ndim=x.type.ndim), disconnected_type()]

    def connection_pattern(self, node):
        return [[True], [False]]


def reshape(x, newshape, ndim=None):
    """x with shape `newshape` (ints and symbolic scalars, or a symbolic vector; -1 allowed)."""
    x = as_tensor_variable(x)
    if isinstance(newshape, (int, np.integer)):
        newshape = (newshape,)
    if isinstance(newshape, Variable):
        shp = as_tensor_variable(newshape)
        if shp.type.ndim != 1:
            raise TypeError(f"reshape: a symbolic shape must be a vector, got {shp.type}")
        if ndim is None:
            ndim = shp.type.shape[0]
            if ndim is None:
                raise ValueError("reshape: the length of the symbolic shape is unknown; pass ndim=")
        return Reshape(ndim)(x, shp)
    newshape = list(newshape)
    if sum(1 for s in newshape if isinstance(s, (int, np.integer)) and s == -1) > 1:
        raise ValueError("reshape: only one dimension can be -1")
    if all(isinstance(s, (int, np.integer)) for s in newshape):
        shp = as_tensor_variable(np.asarray(newshape, dtype="int64"))
    else:
        from graphcore.tensor.join import stack

        shp = stack([cast(s, "int64") for s in newshape])
    if ndim is not None and ndim != len(newshape):
        raise ValueError(f"reshape: ndim={ndim} but the shape has {len(newshape)} entries")
    return Reshape(len(newshape))(x, shp)


def flatten(x, ndim=1, outdim=None):
    """Keep the first ndim-1 dimensions and flatten the rest into the last one."""
    x = as_tensor_variable(x)
    if outdim is not None:
        ndim = outdim
    if ndim < 1 or ndim > max(x.type.ndim, 1):
        raise ValueError(f"flatten: ndim must be between 1 and {max(x.type.ndim, 1)}, got {ndim}")
    if x.type.ndim == 0:
        return reshape(x, (1,))
    lead = [shape_i(x, i) for i in range(ndim - 1)]
    return reshape(x, lead + [-1])


def shape_padleft(x, n_ones=1):
    x = as_tensor_variable(x)
    return x.dimshuffle(["x"] * n_ones + list(range(x.type.ndim)))


def shape_padright(x, n_ones=1):
    x = as_tensor_variable(x)
    return x.dimshuffle(list(range(x.type.ndim)) + ["x"] * n_ones)


def shape_padaxis(x, axis):
    x = as_tensor_variable(x)
    nd = x.type.ndim + 1
    if not -nd <= axis < nd:
        raise IndexError(f"shape_padaxis: axis {axis} is out of range for {nd} dimensions")
    axis %= nd
    pattern = list(range(x.type.ndim))
    pattern.insert(axis, "x")
    return x.dimshuffle(pattern)


def get_static_shape_value(v):
    try:
        return int(get_scalar_constant_value(v))
    except NotScalarConstantError:
        return None
