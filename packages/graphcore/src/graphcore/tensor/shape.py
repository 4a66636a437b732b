"""Shape ops and views: shape, shape_i, reshape, flatten, specify_shape, squeeze,
expand_dims, swapaxes, (un)broadcast, broadcast_to and the padding helpers."""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Apply, Constant, Variable
from graphcore.graph.null_type import disconnected_type
from graphcore.graph.hooks import tensor_api
from graphcore.graph.op import Op
from graphcore.scalar.ops import Cast
from graphcore.tensor import math
from graphcore.tensor.basic import (NotScalarConstantError, alloc, as_tensor_variable, cast,
                                    constant, get_scalar_constant_value)
from graphcore.tensor.elemwise import DimShuffle, Elemwise
from graphcore.tensor.type import TensorType


def _is_int(dtype):
    return np.dtype(dtype).kind in "iu"


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
        return [disconnected_type()]

    def connection_pattern(self, node):
        return [[False]]


_shape = Shape()


def shape(x):
    """Symbolic shape of x (an int64 vector)."""
    x = as_tensor_variable(x)
    return _shape(x)


def shape_i(x, i):
    """Length of dimension i of x: a constant when the type knows it, else Shape_i."""
    x = as_tensor_variable(x)
    if not -x.type.ndim <= i < x.type.ndim:
        raise IndexError(f"shape_i: dimension {i} is out of range for {x} with {x.type.ndim} dimensions")
    i %= x.type.ndim
    s = x.type.shape[i]
    if s is not None:
        return constant(np.int64(s))
    return Shape_i(i)(x)


def shape_tuple(x):
    """The shape of x as a tuple of int64 scalars (constants where static)."""
    x = as_tensor_variable(x)
    return tuple(shape_i(x, d) for d in range(x.type.ndim))


def size(x):
    """Number of elements of x (an int64 scalar; a constant when the shape is static)."""

    x = as_tensor_variable(x)
    if None not in x.type.shape:
        return constant(np.int64(int(np.prod(x.type.shape, dtype="int64"))))
    return _prod_scalars(shape_tuple(x))


def _prod_scalars(scalars):
    """Product of int64 scalars (a constant 1 for none)."""
    scalars = list(scalars)
    if not scalars:
        return constant(np.int64(1))
    if len(scalars) == 1:
        return cast(scalars[0], "int64")
    return cast(math.mul(*scalars), "int64")


def vector_entries(v):
    """The entries of an int vector as a list of scalars when the graph says them, else None.

    Knows constants, stacks of scalars (what `reshape(x, (a, b))` builds),
    `shape(x)` and casts of those. Lets shape ops see symbolic sizes without
    indexing (and without needing the Subtensor op).
    """
    if not isinstance(v, Variable) or v.type.ndim != 1:
        return None
    if isinstance(v, Constant):
        return [constant(e) for e in np.asarray(v.data)]
    if v.owner is None:
        return None
    op = v.owner.op
    if isinstance(op, Shape):
        return list(shape_tuple(v.owner.inputs[0]))
    if isinstance(op, Elemwise) and isinstance(op.scalar_op, Cast):
        inner = vector_entries(v.owner.inputs[0])
        return None if inner is None else [cast(e, op.scalar_op.dtype) for e in inner]
    idx = getattr(op, "idx_list", None)
    if (type(op).__name__ == "Subtensor" and len(v.owner.inputs) == 1 and idx is not None
            and len(idx) == 1 and isinstance(idx[0], slice)
            and all(b is None or isinstance(b, (int, np.integer))
                    for b in (idx[0].start, idx[0].stop, idx[0].step))):
        inner = vector_entries(v.owner.inputs[0])  # x.shape[:-1] and the like
        return None if inner is None else inner[idx[0]]
    if isinstance(op, join_ops.Join) and op.axis == 0:
        out = []
        for i in v.owner.inputs:
            if (i.owner is not None and isinstance(i.owner.op, DimShuffle)
                    and i.owner.op.new_order == ("x",)):
                out.append(i.owner.inputs[0])
                continue
            inner = vector_entries(i)
            if inner is None:
                return None
            out.extend(inner)
        return out
    return None


def _entry(v, i):
    """Entry i of the int vector v: through `vector_entries` when possible, else indexing."""
    entries = vector_entries(v)
    if entries is not None:
        return entries[i]
    return subtensor.getitem(v, i)


def _shape_entries(shape, what):
    """A shape given as an int, an int scalar, an int vector or a sequence -> a list of entries.

    A symbolic vector is unpacked (through `vector_entries` where it can be); one
    of unknown length is an error naming `what`.
    """
    if isinstance(shape, (int, np.integer)) or (isinstance(shape, Variable) and shape.type.ndim == 0):
        return [shape]
    if not isinstance(shape, Variable):
        return list(shape)
    entries = vector_entries(shape)
    if entries is None:
        n = shape.type.shape[0]
        if n is None:
            raise ValueError(f"{what}: the length of the symbolic shape is unknown")
        entries = [_entry(shape, i) for i in range(n)]
    return list(entries)


def get_vector_length(v):
    """The length of the vector v as a Python int, when it is known without running the graph."""
    v = as_tensor_variable(v)
    if v.type.ndim != 1:
        raise TypeError(f"get_vector_length: expected a vector, got {v.type}")
    if v.type.shape[0] is not None:
        return v.type.shape[0]
    if v.owner is not None and isinstance(v.owner.op, Shape):
        return v.owner.inputs[0].type.ndim
    raise ValueError(f"get_vector_length: the length of {v} ({v.type}) is not known until it runs")


def get_static_shape_value(v):
    """The Python int a scalar is known to be, else None."""
    try:
        return int(get_scalar_constant_value(v))
    except (NotScalarConstantError, TypeError, ValueError):
        return None


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

    def R_op(self, inputs, eval_points):
        return [None if eval_points[0] is None else self(eval_points[0])]


class AssertShape(Op):
    """x itself, after checking at run time that x.shape[d] equals the given scalar for each d
    in `dims` (what specify_shape does for symbolic lengths)."""

    __props__ = ("dims",)
    view_map = {0: [0]}

    def __init__(self, dims):
        self.dims = tuple(int(d) for d in dims)

    def make_node(self, x, *sizes):
        x = as_tensor_variable(x)
        if len(sizes) != len(self.dims):
            raise ValueError(f"{self}: {len(self.dims)} sizes expected, got {len(sizes)}")
        sizes = [as_tensor_variable(s) for s in sizes]
        for d, s in zip(self.dims, sizes):
            if not 0 <= d < x.type.ndim:
                raise ValueError(f"specify_shape: dimension {d} is out of range for {x}")
            if s.type.ndim != 0 or not _is_int(s.type.dtype):
                raise TypeError(f"specify_shape: the length of dimension {d} must be an integer "
                                f"scalar, got {s.type}")
        return Apply(self, [x, *[cast(s, "int64") for s in sizes]], [x.type()])

    def perform(self, node, inputs, output_storage):
        x, *sizes = inputs
        for d, s in zip(self.dims, sizes):
            if x.shape[d] != int(s):
                want = ["?"] * x.ndim
                for dd, ss in zip(self.dims, sizes):
                    want[dd] = str(int(ss))
                raise AssertionError(f"specify_shape: expected shape ({', '.join(want)}), got "
                                     f"{x.shape} (dimension {d} differs)")
        output_storage[0][0] = x

    def infer_shape(self, fgraph, node, input_shapes):
        out = list(input_shapes[0])
        for d, s in zip(self.dims, node.inputs[1:]):
            out[d] = s
        return [tuple(out)]

    def grad(self, inputs, gz):
        return [gz[0]] + [disconnected_type() for _ in inputs[1:]]

    def connection_pattern(self, node):
        return [[True]] + [[False] for _ in node.inputs[1:]]


def specify_shape(x, shape):
    """x, asserted at run time to have `shape` (None entries: any length); a no-op when known.

    Entries may be ints, None or symbolic integer scalars (checked at run time;
    a constant one also becomes part of the static type).
    """
    x = as_tensor_variable(x)
    shape = tuple(_shape_entries(shape, "specify_shape"))
    if len(shape) != x.type.ndim:
        raise ValueError(f"specify_shape: {x} has {x.type.ndim} dimensions, the shape {shape} "
                         f"has {len(shape)}")
    static = []
    symbolic = []
    for d, s in enumerate(shape):
        if s is None or (isinstance(s, Variable) and s.owner is not None
                         and isinstance(s.owner.op, Shape_i) and s.owner.op.i == d
                         and s.owner.inputs[0] is x):  # x.shape[d] itself: nothing to check
            static.append(None)
            continue
        v = get_static_shape_value(s)
        static.append(v)
        if v is None:
            symbolic.append((d, s))
    if symbolic:
        x = AssertShape([d for d, _ in symbolic])(x, *[s for _, s in symbolic])
    if all(b is None or a == b for a, b in zip(x.type.shape, static)):
        return x
    return SpecifyShape(static)(x)


class Unbroadcast(Op):
    """Forget that the dimensions `axes` have static length (their type becomes unknown)."""

    __props__ = ("axes",)
    view_map = {0: [0]}

    def __init__(self, axes):
        self.axes = tuple(sorted(set(int(a) for a in axes)))

    def make_node(self, x):
        x = as_tensor_variable(x)
        for a in self.axes:
            if not 0 <= a < x.type.ndim:
                raise ValueError(f"unbroadcast: axis {a} is out of range for {x} with "
                                 f"{x.type.ndim} dimensions")
        shape = tuple(None if d in self.axes else s for d, s in enumerate(x.type.shape))
        return Apply(self, [x], [TensorType(x.type.dtype, shape)()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0]

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(input_shapes[0])]

    def grad(self, inputs, gz):
        x, g = inputs[0], gz[0]
        # the gradient keeps x's static shape so that broadcasting rules downstream agree
        return [specify_shape(g, x.type.shape)]

    def R_op(self, inputs, eval_points):
        return [None if eval_points[0] is None else self(eval_points[0])]


def _norm_axes(x, axes, what):
    nd = x.type.ndim
    out = []
    for a in axes:
        a = int(a)
        if not -nd <= a < nd:
            raise ValueError(f"{what}: axis {a} is out of range for {x} with {nd} dimensions")
        out.append(a % nd)
    return out


def addbroadcast(x, *axes):
    """x with the dimensions `axes` declared (and checked at run time) to have length 1."""
    x = as_tensor_variable(x)
    axes = _norm_axes(x, axes, "addbroadcast")
    return specify_shape(x, tuple(1 if d in axes else None for d in range(x.type.ndim)))


def unbroadcast(x, *axes):
    """x with the dimensions `axes` no longer known to have length 1 (they stop broadcasting)."""
    x = as_tensor_variable(x)
    axes = [a for a in _norm_axes(x, axes, "unbroadcast") if x.type.shape[a] is not None]
    if not axes:
        return x
    return Unbroadcast(axes)(x)


def patternbroadcast(x, broadcastable):
    """x with the broadcastable pattern `broadcastable` (dims added or removed as needed)."""
    x = as_tensor_variable(x)
    broadcastable = tuple(bool(b) for b in broadcastable)
    if len(broadcastable) != x.type.ndim:
        raise ValueError(f"patternbroadcast: pattern {broadcastable} has {len(broadcastable)} "
                         f"entries, {x} has {x.type.ndim} dimensions")
    remove = [d for d, b in enumerate(broadcastable) if not b and x.type.shape[d] == 1]
    add = [d for d, b in enumerate(broadcastable) if b and x.type.shape[d] != 1]
    if remove:
        x = unbroadcast(x, *remove)
    if add:
        x = addbroadcast(x, *add)
    return x


def _static_from_entries(x, entries):
    """Static output shape of reshape(x, entries): known entries, and -1 solved when possible."""
    vals = [get_static_shape_value(e) for e in entries]
    static = [v if v is not None and v >= 0 else None for v in vals]
    if vals.count(-1) == 1 and None not in x.type.shape:
        others = [v for v in vals if v != -1]
        if None not in others:
            total = int(np.prod(x.type.shape, dtype="int64"))
            rest = int(np.prod(others, dtype="int64"))
            if rest and total % rest == 0:
                static[vals.index(-1)] = total // rest
    return static


class Reshape(Op):
    """Reshape x to a shape given as an int vector of `ndim` entries (one may be -1)."""

    __props__ = ("ndim",)
    view_map = {0: [0]}

    def __init__(self, ndim):
        self.ndim = int(ndim)

    def make_node(self, x, shp):
        x = as_tensor_variable(x)
        shp = as_tensor_variable(shp)
        if shp.type.ndim != 1:
            raise TypeError(f"reshape: the shape must be a vector, got {shp.type}")
        if not _is_int(shp.type.dtype):
            raise TypeError(f"reshape: the shape must be integers, got {shp.type}")
        if shp.type.shape[0] is not None and shp.type.shape[0] != self.ndim:
            raise ValueError(f"reshape: shape has {shp.type.shape[0]} entries, expected {self.ndim}")
        static = [None] * self.ndim
        entries = vector_entries(shp)
        if entries is not None:
            if len(entries) != self.ndim:
                raise ValueError(f"reshape: shape has {len(entries)} entries, expected {self.ndim}")
            static = _static_from_entries(x, entries)
            vals = [get_static_shape_value(e) for e in entries]
            if any(v is not None and v < -1 for v in vals) or vals.count(-1) > 1:
                raise ValueError(f"reshape: invalid shape {vals} (one -1 at most, no other "
                                 "negative sizes)")
            if None not in x.type.shape and None not in vals and -1 not in vals \
                    and int(np.prod(vals, dtype="int64")) != int(np.prod(x.type.shape, dtype="int64")):
                raise ValueError(f"reshape: cannot reshape {x} of static shape {x.type.shape} "
                                 f"into shape {tuple(vals)}")
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
        static = node.outputs[0].type.shape
        entries = [_entry(shp, i) if static[i] is None else static[i] for i in range(self.ndim)]
        if None not in static:
            return [tuple(entries)]
        vals = [s if isinstance(s, int) else get_static_shape_value(s) for s in entries]
        if all(v is not None and v >= 0 for v in vals):
            return [tuple(entries)]  # static non-negative entries (no -1): as given
        total = _prod_scalars(input_shapes[0])
        out = []
        for i, e in enumerate(entries):
            if isinstance(e, int) or vals[i] is not None and vals[i] >= 0:
                out.append(e)
                continue
            others = [1 if isinstance(o, int) and o == -1 else
                      (o if isinstance(o, int) else math.switch(math.eq(o, -1), 1, o))
                      for j, o in enumerate(entries) if j != i]
            missing = math.int_div(total, _prod_scalars(others)) if others else total
            out.append(missing if vals[i] == -1 else math.switch(math.eq(e, -1), missing, e))
        return [tuple(out)]

    def grad(self, inputs, gz):
        x = inputs[0]
        return [reshape(gz[0], shape_tuple(x)), disconnected_type()]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        return [self(eval_points[0], inputs[1])]

    def connection_pattern(self, node):
        return [[True], [False]]


def reshape(x, newshape, ndim=None):
    """x with shape `newshape` (ints and symbolic scalars, or a symbolic vector; one -1 allowed)."""
    x = as_tensor_variable(x)
    if isinstance(newshape, (int, np.integer)) or (isinstance(newshape, Variable)
                                                   and newshape.type.ndim == 0):
        newshape = (newshape,)
    if isinstance(newshape, Variable):
        shp = as_tensor_variable(newshape)
        if shp.type.ndim != 1:
            raise TypeError(f"reshape: a symbolic shape must be a vector, got {shp.type}")
        n = shp.type.shape[0]
        if n is None:
            entries = vector_entries(shp)
            n = None if entries is None else len(entries)
        if ndim is None:
            ndim = n
            if ndim is None:
                raise ValueError("reshape: the length of the symbolic shape is unknown; pass ndim=")
        elif n is not None and n != ndim:
            raise ValueError(f"reshape: ndim={ndim} but the shape has {n} entries")
        return Reshape(ndim)(x, shp)
    newshape = list(newshape)
    if ndim is not None and ndim != len(newshape):
        raise ValueError(f"reshape: ndim={ndim} but the shape has {len(newshape)} entries")
    if sum(1 for s in newshape if isinstance(s, (int, np.integer)) and s == -1) > 1:
        raise ValueError("reshape: only one dimension can be -1")
    if all(isinstance(s, (int, np.integer)) for s in newshape):
        shp = constant(np.asarray(newshape, dtype="int64").reshape(len(newshape)))
    else:
        for i, s in enumerate(newshape):
            if isinstance(s, Variable) and (s.type.ndim != 0 or not _is_int(s.type.dtype)):
                raise TypeError(f"reshape: shape entry {i} must be an integer scalar, got {s.type}")
            if not isinstance(s, (Variable, int, np.integer)):
                raise TypeError(f"reshape: shape entry {i} must be an integer, got {s!r}")
        shp = join_ops.stack([cast(as_tensor_variable(s), "int64") for s in newshape])
    return Reshape(len(newshape))(x, shp)


def flatten(x, ndim=1, outdim=None):
    """Keep the first ndim-1 dimensions and flatten the rest into the last one (Theano's flatten)."""
    x = as_tensor_variable(x)
    if outdim is not None:
        ndim = outdim
    if ndim < 1 or ndim > max(x.type.ndim, 1):
        raise ValueError(f"flatten: ndim must be between 1 and {max(x.type.ndim, 1)}, got {ndim}")
    if x.type.ndim == 0:
        return reshape(x, (1,))
    dims = shape_tuple(x)
    lead = list(dims[: ndim - 1])
    rest = dims[ndim - 1:]
    last = constant(np.int64(int(np.prod([x.type.shape[d] for d in range(ndim - 1, x.type.ndim)],
                                          dtype="int64")))) \
        if None not in x.type.shape[ndim - 1:] else _prod_scalars(rest)
    return reshape(x, lead + [last])


def shape_padleft(x, n_ones=1):
    """x with n_ones broadcastable dimensions added on the left."""
    x = as_tensor_variable(x)
    return x.dimshuffle(["x"] * n_ones + list(range(x.type.ndim)))


def shape_padright(x, n_ones=1):
    """x with n_ones broadcastable dimensions added on the right."""
    x = as_tensor_variable(x)
    return x.dimshuffle(list(range(x.type.ndim)) + ["x"] * n_ones)


def shape_padaxis(x, axis):
    """x with one broadcastable dimension inserted at `axis` (np.expand_dims)."""
    x = as_tensor_variable(x)
    nd = x.type.ndim + 1
    if not -nd <= axis < nd:
        raise IndexError(f"shape_padaxis: axis {axis} is out of range for {nd} dimensions")
    axis %= nd
    pattern = list(range(x.type.ndim))
    pattern.insert(axis, "x")
    return x.dimshuffle(pattern)


def expand_dims(x, axis):
    """np.expand_dims: insert length-1 dimensions at `axis` (an int or a tuple)."""
    x = as_tensor_variable(x)
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    nd = x.type.ndim + len(axes)
    norm = []
    for a in axes:
        if not -nd <= a < nd:
            raise ValueError(f"expand_dims: axis {a} is out of range for {nd} dimensions")
        norm.append(int(a) % nd)
    if len(set(norm)) != len(norm):
        raise ValueError(f"expand_dims: repeated axis in {axis!r}")
    it = iter(range(x.type.ndim))
    return x.dimshuffle(["x" if d in norm else next(it) for d in range(nd)])


def squeeze(x, axis=None):
    """Drop length-1 dimensions: those whose type says length 1, or the given `axis`.

    Without `axis` only dimensions statically known to have length 1 go (a
    symbolic shape is not known before run time). With `axis`, those
    dimensions are checked at run time to have length 1.
    """
    x = as_tensor_variable(x)
    if axis is None:
        axes = [d for d, s in enumerate(x.type.shape) if s == 1]
    else:
        axes = _norm_axes(x, [axis] if isinstance(axis, (int, np.integer)) else axis, "squeeze")
        for a in axes:
            if x.type.shape[a] not in (None, 1):
                raise ValueError(f"squeeze: dimension {a} of {x} has length {x.type.shape[a]}, "
                                 "not 1")
        x = addbroadcast(x, *axes)
    if not axes:
        return x
    return x.dimshuffle([d for d in range(x.type.ndim) if d not in axes])


def swapaxes(x, axis1, axis2):
    """x with dimensions axis1 and axis2 exchanged (a view)."""
    x = as_tensor_variable(x)
    a1, a2 = _norm_axes(x, (axis1, axis2), "swapaxes")
    order = list(range(x.type.ndim))
    order[a1], order[a2] = order[a2], order[a1]
    return x.dimshuffle(order)


def moveaxis(x, source, destination):
    """np.moveaxis for one or several axes (a view)."""
    x = as_tensor_variable(x)
    src = _norm_axes(x, [source] if isinstance(source, (int, np.integer)) else source, "moveaxis")
    dst = _norm_axes(x, [destination] if isinstance(destination, (int, np.integer)) else destination,
                     "moveaxis")
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination need the same number of axes")
    order = [d for d in range(x.type.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return x.dimshuffle(order)


def broadcast_to(x, shape):
    """x broadcast to `shape` (ints or symbolic scalars); the result is a new array."""
    x = as_tensor_variable(x)
    shape = _shape_entries(shape, "broadcast_to")
    if len(shape) < x.type.ndim:
        raise ValueError(f"broadcast_to: cannot broadcast {x} with {x.type.ndim} dimensions to "
                         f"{len(shape)} dimensions")
    return alloc(x, *shape)


__all__ = ["get_vector_length", "Shape", "Shape_i", "SpecifyShape", "AssertShape", "Reshape", "Unbroadcast", "shape", "shape_i",
           "shape_tuple", "size", "specify_shape", "reshape", "flatten", "shape_padleft",
           "shape_padright", "shape_padaxis", "expand_dims", "squeeze", "swapaxes", "moveaxis",
           "addbroadcast", "unbroadcast", "patternbroadcast", "broadcast_to", "vector_entries"]


# Back edges, imported last: join and subtensor take names from this module at their top, so
# they may load only once every name above exists. Module objects, used at call time.
# (`import ... as` binds the module itself while it loads; afterwards the package attribute
# graphcore.tensor.join is the join() function, but join imports this module at its top, so
# this line has always run by then.)
import graphcore.tensor.join as join_ops  # noqa: E402
from graphcore.tensor import subtensor  # noqa: E402

# for the tensor core below: TensorVariable's shape methods, TensorType.convert_variable and
# get_scalar_constant_value
tensor_api.register(shape=shape, size=size, reshape=reshape, flatten=flatten, squeeze=squeeze,
                    swapaxes=swapaxes, specify_shape=specify_shape, Shape_i=Shape_i)
