"""Joining and splitting tensors: join/concatenate, stack, stacklists, split."""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Apply, Variable
from graphcore.graph.null_type import disconnected_type
from graphcore.graph.hooks import tensor_api
from graphcore.graph.op import Op
from graphcore.tensor import math
from graphcore.tensor.basic import (NotScalarConstantError, as_tensor_variable, cast, constant,
                                    get_scalar_constant_value)
from graphcore.tensor.elemwise import _retype_weak
from graphcore.tensor.shape import (_entry, get_static_shape_value, shape_i, shape_padaxis,
                                    vector_entries)
from graphcore.tensor.type import TensorType


class Join(Op):
    """Concatenate tensors of equal ndim along `axis` (np.concatenate)."""

    fresh_outputs = True  # perform allocates its outputs (graphopt may overwrite them)

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
                    raise ValueError(f"join along axis {self.axis}: shapes "
                                     f"{[t.type.shape for t in tensors]} differ in dimension {d}")
                shape.append(known.pop() if known else None)
        return Apply(self, tensors, [TensorType(dtype, tuple(shape))()])

    def perform(self, node, inputs, output_storage):
        try:
            output_storage[0][0] = np.concatenate(inputs, axis=self.axis)
        except ValueError as exc:
            raise ValueError(f"join along axis {self.axis}: shapes {[x.shape for x in inputs]}: {exc}") from None

    def infer_shape(self, fgraph, node, input_shapes):
        out = list(input_shapes[0])
        # a dimension other than axis: the first input that does not know it statically is as
        # good as any (they must agree at run time)
        for d in range(len(out)):
            if d != self.axis and node.outputs[0].type.shape[d] is not None:
                out[d] = node.outputs[0].type.shape[d]
        static = node.outputs[0].type.shape[self.axis]
        if static is not None:
            out[self.axis] = static
        elif len(input_shapes) > 1:
            out[self.axis] = math.add(*[s[self.axis] for s in input_shapes])
        return [tuple(out)]

    def grad(self, inputs, gz):
        if len(inputs) == 1:
            return [gz[0]]
        sizes = [shape_i(t, self.axis) for t in inputs]
        parts = split(gz[0], sizes, len(inputs), axis=self.axis)
        return [cast(p, t.type.dtype) for p, t in zip(parts, inputs)]

    def R_op(self, inputs, eval_points):
        if all(e is None for e in eval_points):
            return [None]
        evs = [math.zeros_like(i) if e is None else e for i, e in zip(inputs, eval_points)]
        return [self(*evs)]


def concatenate(tensors, axis=0):
    """np.concatenate: join a list of tensors along an existing axis."""
    if isinstance(tensors, Variable):
        raise TypeError("concatenate: expected a list of tensors, got a single tensor")
    tensors = [as_tensor_variable(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    nd = tensors[0].type.ndim
    if nd == 0:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated; use stack")
    if not -nd <= axis < nd:
        raise ValueError(f"concatenate: axis {axis} is out of range for {nd} dimensions")
    return Join(axis % nd)(*tensors)


def join(axis, *tensors):
    """Theano's argument order: join(axis, t1, t2, ...). One tensor is returned as is."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if len(tensors) == 1:
        return as_tensor_variable(tensors[0])
    try:
        axis = int(get_scalar_constant_value(as_tensor_variable(axis)))
    except NotScalarConstantError:
        raise TypeError(f"join: axis must be a constant integer, got {axis}") from None
    return concatenate(tensors, axis)


def stack(tensors=None, *more, axis=0):
    """Stack equally-shaped tensors along a new axis (np.stack; Theano's stack(a, b, c) too)."""
    if tensors is None and not more:
        raise ValueError("stack: needs at least one tensor")
    if isinstance(tensors, (list, tuple)):
        if more:  # np.stack(arrays, axis) with a positional axis
            if len(more) != 1 or not isinstance(more[0], (int, np.integer)):
                raise TypeError("stack: give a list of tensors (and an axis) or the tensors as "
                                "arguments, not both")
            axis = int(more[0])
    else:
        tensors = [tensors, *more]  # Theano's old form stack(a, b, c)
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    tensors = _retype_weak([as_tensor_variable(t) for t in tensors])
    nd = tensors[0].type.ndim + 1
    if any(t.type.ndim != nd - 1 for t in tensors):
        raise ValueError(f"stack: all tensors need the same number of dimensions, got "
                         f"{[t.type.ndim for t in tensors]}")
    if not -nd <= axis < nd:
        raise ValueError(f"stack: axis {axis} is out of range for {nd} dimensions")
    axis %= nd
    return Join(axis)(*[shape_padaxis(t, axis) for t in tensors])


def stacklists(arg):
    """A tensor from nested lists of scalars/tensors: stacklists([[a, b], [c, d]]) is 2x2."""
    if isinstance(arg, (list, tuple)):
        return stack([stacklists(a) for a in arg])
    return as_tensor_variable(arg)


class Split(Op):
    """Split x along `axis` into `len_splits` pieces of the sizes in the int vector `splits`.

    Theano's op: `Split(n)(x, axis, splits)`; `axis` must be a constant.
    """

    __props__ = ("len_splits",)

    def __init__(self, len_splits):
        self.len_splits = int(len_splits)
        if self.len_splits < 1:
            raise ValueError(f"Split: len_splits must be at least 1, got {len_splits}")

    def __str__(self):
        return f"Split{{{self.len_splits}}}"

    def make_node(self, x, axis, splits):
        x = as_tensor_variable(x)
        axis = as_tensor_variable(axis)
        if x.type.ndim == 0:
            raise ValueError("split: cannot split a 0-d tensor")
        try:
            ax = int(get_scalar_constant_value(axis))
        except NotScalarConstantError:
            raise TypeError(f"split: axis must be a constant integer, got {axis}") from None
        if not -x.type.ndim <= ax < x.type.ndim:
            raise ValueError(f"split: axis {ax} is out of range for {x} with {x.type.ndim} dimensions")
        ax %= x.type.ndim
        if isinstance(splits, (list, tuple)):
            splits = stack([cast(as_tensor_variable(s), "int64") for s in splits]) if splits \
                else constant(np.zeros(0, dtype="int64"))
        splits = as_tensor_variable(splits)
        if splits.type.ndim != 1 or splits.type.dtype[:3] not in ("int", "uin"):
            raise TypeError(f"split: splits must be an integer vector, got {splits.type}")
        if splits.type.shape[0] is not None and splits.type.shape[0] != self.len_splits:
            raise ValueError(f"split: {splits.type.shape[0]} split sizes given for "
                             f"n_splits={self.len_splits}")
        entries = vector_entries(splits)
        if entries is not None and len(entries) != self.len_splits:
            raise ValueError(f"split: {len(entries)} split sizes given for n_splits={self.len_splits}")
        sizes = [None] * self.len_splits if entries is None else \
            [get_static_shape_value(e) for e in entries]
        if None not in sizes and x.type.shape[ax] is not None and sum(sizes) != x.type.shape[ax]:
            raise ValueError(f"split: the sizes {sizes} add up to {sum(sizes)}, but dimension "
                             f"{ax} of {x} has length {x.type.shape[ax]}")
        if any(s is not None and s < 0 for s in sizes):
            raise ValueError(f"split: negative split size in {sizes}")
        outs = []
        for s in sizes:
            shp = list(x.type.shape)
            shp[ax] = s
            outs.append(TensorType(x.type.dtype, tuple(shp))())
        return Apply(self, [x, constant(np.int64(ax)), cast(splits, "int64")], outs)

    def perform(self, node, inputs, output_storage):
        x, axis, splits = inputs
        axis = int(axis)
        if len(splits) != self.len_splits:
            raise ValueError(f"split: {len(splits)} split sizes given for n_splits={self.len_splits}")
        if np.any(splits < 0):
            raise ValueError(f"split: negative split size in {list(splits)}")
        if int(np.sum(splits)) != x.shape[axis]:
            raise ValueError(f"split: the sizes {list(splits)} add up to {int(np.sum(splits))}, "
                             f"but dimension {axis} of the input (shape {x.shape}) has length "
                             f"{x.shape[axis]}")
        parts = np.split(x, np.cumsum(splits)[:-1], axis=axis)
        for cell, p in zip(output_storage, parts):
            cell[0] = p.copy()

    def infer_shape(self, fgraph, node, input_shapes):
        axis = int(node.inputs[1].data)
        out = []
        for i, o in enumerate(node.outputs):
            shp = list(input_shapes[0])
            s = o.type.shape[axis]
            shp[axis] = s if s is not None else _entry(node.inputs[2], i)
            out.append(tuple(shp))
        return out

    def L_op(self, inputs, outputs, output_grads):
        x, axis, _ = inputs
        g = Join(int(axis.data))(*output_grads) if len(output_grads) > 1 else output_grads[0]
        return [cast(g, x.type.dtype), disconnected_type(), disconnected_type()]

    def connection_pattern(self, node):
        return [[True] * self.len_splits, [False] * self.len_splits, [False] * self.len_splits]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None] * self.len_splits
        return self.make_node(eval_points[0], *inputs[1:]).outputs


def split(x, splits_size, n_splits, axis=0):
    """Theano's split: x cut along `axis` into n_splits pieces of sizes `splits_size`; a list."""
    out = Split(n_splits).make_node(x, axis, splits_size).outputs
    return list(out)


def horizontal_stack(*args):
    """Theano's horizontal_stack: matrices joined side by side (np.hstack of 2-d arrays)."""
    return _stack_matrices(args, 1, "horizontal_stack")


def vertical_stack(*args):
    """Theano's vertical_stack: matrices joined top to bottom (np.vstack of 2-d arrays)."""
    return _stack_matrices(args, 0, "vertical_stack")


def _stack_matrices(args, axis, fname):
    if len(args) < 2:
        raise ValueError(f"{fname}: needs at least two matrices, got {len(args)}")
    args = [as_tensor_variable(a) for a in args]
    for k, a in enumerate(args):
        if a.type.ndim != 2:
            raise TypeError(f"{fname}: argument {k} must be a matrix, got {a.type}")
    return concatenate(args, axis=axis)


__all__ = ["Join", "Split", "concatenate", "join", "stack", "stacklists", "split",
           "horizontal_stack", "vertical_stack"]

# for the tensor core below: as_tensor_variable of a list holding variables
tensor_api.register(stack=stack)
