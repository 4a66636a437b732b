"""Advanced indexing: integer-array and boolean-mask indexing, take and nonzero.

`AdvancedSubtensor1`/`AdvancedIncSubtensor1` are the common fast case, one
integer vector on axis 0 (`x[ivec]`, the embedding lookup and its gradient);
`AdvancedSubtensor`/`AdvancedIncSubtensor` handle any mix of arrays, masks,
ints, slices, None and Ellipsis with NumPy's placement rule: the broadcast
dimensions of the advanced indices replace them in place when they are
adjacent, and go first otherwise (ints count as advanced indices there, and a
slice, None or Ellipsis between two advanced indices separates them).

Increment accumulates repeated indices (np.add.at); set writes like NumPy
assignment (the last write wins), and the gradient of y in a set reaches only
the writes that survive (`SetWinners`), unlike Theano, which gave every
repeated write the output gradient.
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Apply, Constant, Variable
from graphcore.graph.null_type import disconnected_type
from graphcore.graph.hooks import tensor_api
from graphcore.graph.op import Op
from graphcore.tensor import math
from graphcore.tensor.basic import (NotScalarConstantError, as_tensor_variable, cast, constant,
                                    get_scalar_constant_value)
from graphcore.tensor.shape import shape_i
from graphcore.tensor.subtensor import (ARR, SYM, IndexOp, IndexReadOp, IndexWriteOp,
                                        _check_idx_list, _check_static_int, _expand_ellipsis,
                                        _n_inputs, _rethrow_index_error, _shape_str, _y_for,
                                        build_index, check_y_runtime, entries_to_idx_list, getitem,
                                        static_slice_length, symbolic_slice_length,
                                        with_static_dims, y_broadcastable_to)
from graphcore.tensor.type import TensorType


def _int_vector(op, v, what="ilist"):
    v = as_tensor_variable(v)
    if v.type.ndim != 1 or np.dtype(v.type.dtype).kind not in "iu":
        raise TypeError(f"{op}: {what} must be an integer vector, got {v} of type {v.type}")
    return cast(v, "int64")


def _check_static_array(v, n, axis, x):
    """Out-of-range constant index arrays are an IndexError when the node is built."""
    if isinstance(v, Constant) and n is not None:
        data = np.asarray(v.data)
        if data.size and (data.min() < -n or data.max() >= n):
            bad = data[(data < -n) | (data >= n)].reshape(-1)[0]
            raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {n} "
                             f"(indexing {x} of type {x.type})")


def _static_value(v):
    try:
        return int(get_scalar_constant_value(v))
    except NotScalarConstantError:
        return None


# ---------------------------------------------------------------- x[ivec]
class AdvancedSubtensor1(IndexReadOp):
    """x[ilist] for an integer vector ilist on axis 0 (negative indices count from the end).

    ilist is always int64 (make_node casts it), so a native kernel has one index type.
    """

    fresh_outputs = True  # perform allocates its outputs (graphopt may overwrite them)

    __props__ = ()

    def make_node(self, x, ilist):
        x = as_tensor_variable(x)
        if x.type.ndim == 0:
            raise IndexError(f"{self}: cannot index the 0-d tensor {x} with an integer vector")
        ilist = _int_vector(self, ilist)
        _check_static_array(ilist, x.type.shape[0], 0, x)
        shape = (ilist.type.shape[0],) + x.type.shape[1:]
        return Apply(self, [x, ilist], [TensorType(x.type.dtype, shape)()])

    def perform(self, node, inputs, output_storage):
        x, ilist = inputs
        try:
            output_storage[0][0] = x.take(ilist, axis=0)
        except IndexError as exc:
            raise _rethrow_index_error(self, exc, x, (ilist,)) from None

    def infer_shape(self, fgraph, node, input_shapes):
        return [(input_shapes[1][0],) + tuple(input_shapes[0][1:])]

    def _write_op(self):
        return AdvancedIncSubtensor1()


class AdvancedIncSubtensor1(IndexWriteOp):
    """x with rows ilist incremented by y (repeats accumulate) or set to y (last write wins)."""

    fresh_outputs = True  # perform allocates its outputs (graphopt may overwrite them)

    __props__ = ("inplace", "set_instead_of_inc")

    def __init__(self, inplace=False, set_instead_of_inc=False):
        self.inplace = bool(inplace)
        self.set_instead_of_inc = bool(set_instead_of_inc)
        self.destroy_map = {0: [0]} if self.inplace else {}

    def _like(self, inplace=False, set_instead_of_inc=False):
        return type(self)(inplace, set_instead_of_inc)

    def make_node(self, x, y, ilist):
        x = as_tensor_variable(x)
        if x.type.ndim == 0:
            raise IndexError(f"{self}: cannot index the 0-d tensor {x} with an integer vector")
        ilist = _int_vector(self, ilist)
        _check_static_array(ilist, x.type.shape[0], 0, x)
        target = (ilist.type.shape[0],) + x.type.shape[1:]
        y = y_broadcastable_to(self, _y_for(self, x, y), target)
        return Apply(self, [x, y, ilist], [x.type()])

    def perform(self, node, inputs, output_storage):
        x, y, ilist = inputs
        out = x if self.inplace else x.copy()
        check_y_runtime(self, node.inputs[1].type, y, (len(ilist),) + x.shape[1:])
        try:
            if self.set_instead_of_inc:
                out[ilist] = y
            else:
                np.add.at(out, ilist, y)
        except IndexError as exc:
            raise _rethrow_index_error(self, exc, x, (ilist,)) from None
        output_storage[0][0] = out

    def _grad_y(self, g, x, rest):
        gy = AdvancedSubtensor1()(g, *rest)
        return _set_grad_y(gy, (ARR,), x, rest) if self.set_instead_of_inc else gy


# Theano's op instances
advanced_subtensor1 = AdvancedSubtensor1()
advanced_inc_subtensor1 = AdvancedIncSubtensor1()
advanced_set_subtensor1 = AdvancedIncSubtensor1(set_instead_of_inc=True)


# ------------------------------------------------------- general advanced
def _pair(idx_list, inputs):
    """idx_list entries paired with their inputs as (kind, value).

    kind is int, slice, array, bool, none or ellipsis.
    """
    it = iter(inputs)
    out = []
    for e in idx_list:
        if isinstance(e, slice):
            out.append(("slice", tuple(next(it) if c is SYM else c
                                       for c in (e.start, e.stop, e.step))))
        elif e is SYM:
            out.append(("int", next(it)))
        elif e is ARR:
            v = next(it)
            out.append(("bool" if v.type.dtype == "bool" else "array", v))
        elif e is None:
            out.append(("none", None))
        elif e is Ellipsis:
            out.append(("ellipsis", None))
        else:
            out.append(("int", e))
    return out


def _layout(pairs, x_shape, slice_len, int_dim, array_shape, mask_shape, broadcast):
    """The indexed shape, with NumPy's placement of the advanced dimensions."""
    ndim = len(x_shape)
    used = sum(1 if k in ("int", "slice", "array") else (v.type.ndim if k == "bool" else 0)
               for k, v in pairs)
    axis, before, after, adv = 0, [], [], []
    seen_adv = gap = False
    adjacent = True
    for kind, v in pairs:
        if kind in ("int", "array", "bool"):
            if seen_adv and gap:
                adjacent = False
            seen_adv = True
            if kind == "int":
                int_dim(v, axis)
                adv.append(())
                axis += 1
            elif kind == "array":
                adv.append(tuple(array_shape(v, axis)))
                axis += 1
            else:
                adv.append(tuple(mask_shape(v, axis)))
                axis += v.type.ndim
            continue
        if seen_adv:
            gap = True
        target = after if seen_adv else before
        if kind == "none":
            target.append(1)
        elif kind == "slice":
            target.append(slice_len(x_shape[axis], *v))
            axis += 1
        else:  # ellipsis
            n = ndim - used
            target.extend(x_shape[axis:axis + n])
            axis += n
    rest = list(x_shape[axis:])
    bshape = list(broadcast(adv)) if adv else []
    if adjacent:
        return tuple(before + bshape + after + rest)
    return tuple(bshape + before + after + rest)


def _right_aligned(shapes):
    nd = max(len(s) for s in shapes)
    for d in range(nd):
        yield d, [s[len(s) - nd + d] for s in shapes if len(s) - nd + d >= 0]


def _static_broadcast(shapes):
    out = []
    for _, sizes in _right_aligned(shapes):
        known = {z for z in sizes if z is not None and z != 1}
        if len(known) > 1:
            raise IndexError("shape mismatch: indexing arrays could not be broadcast together "
                             f"with shapes {' '.join(_shape_str(s) for s in shapes)}")
        out.append(known.pop() if known else (1 if all(z == 1 for z in sizes) else None))
    return out


def _symbolic_broadcast(shapes):
    def static(z):
        return z if isinstance(z, int) else _static_value(z)

    def bc2(a, b):
        sa, sb = static(a), static(b)
        if sa == 1:
            return b
        if sb == 1 or sa is not None:
            return a
        if sb is not None:
            return b
        return math.switch(math.eq(a, 1), b, a)

    out = []
    for _, sizes in _right_aligned(shapes):
        res = sizes[0]
        for z in sizes[1:]:
            res = bc2(res, z)
        out.append(res)
    return out


def advanced_indexed_shape(x, idx_list, inputs):
    """Static shape of x[idx] for an advanced index; checks what can be checked statically."""
    pairs = _pair(idx_list, inputs)

    def comp(c):
        if isinstance(c, Variable):
            s = _static_value(c)
            return SYM if s is None else s
        return c

    def slice_len(n, start, stop, step):
        return static_slice_length(n, comp(start), comp(stop), comp(step))

    def int_dim(v, axis):
        if isinstance(v, int):
            _check_static_int(v, x.type.shape[axis], axis, x)

    def array_shape(v, axis):
        _check_static_array(v, x.type.shape[axis], axis, x)
        return v.type.shape

    def mask_shape(v, axis):
        for d, m in enumerate(v.type.shape):
            n = x.type.shape[axis + d]
            if m is not None and n is not None and m != n:
                raise IndexError(f"boolean index did not match indexed array along axis "
                                 f"{axis + d}; size of axis is {n} but size of corresponding "
                                 f"boolean axis is {m} (indexing {x} of type {x.type})")
        if isinstance(v, Constant):
            return (int(np.count_nonzero(v.data)),)
        return (None,)

    return _layout(pairs, x.type.shape, slice_len, int_dim, array_shape, mask_shape,
                   _static_broadcast)


def advanced_indexed_shape_symbolic(idx_list, inputs, input_shapes, x_shape):
    shapes = {id(v): s for v, s in zip(inputs, input_shapes)}

    def mask_shape(v, axis):
        if isinstance(v, Constant):
            return (int(np.count_nonzero(v.data)),)
        return (math.sum(cast(v, "int64")),)

    return _layout(_pair(idx_list, inputs), tuple(x_shape), symbolic_slice_length,
                   lambda v, axis: None, lambda v, axis: shapes[id(v)], mask_shape,
                   _symbolic_broadcast)


def _index_inputs(op, idx_list, inputs):
    if len(inputs) != _n_inputs(idx_list):
        raise TypeError(f"{op}: expected {_n_inputs(idx_list)} index inputs, got {len(inputs)}")
    kinds = []
    for e in idx_list:
        if isinstance(e, slice):
            kinds.extend("s" for c in (e.start, e.stop, e.step) if c is SYM)
        elif e is SYM:
            kinds.append("s")
        elif e is ARR:
            kinds.append("a")
    out = []
    for k, (kind, v) in enumerate(zip(kinds, inputs)):
        v = as_tensor_variable(v)
        dk = np.dtype(v.type.dtype).kind
        if kind == "s":
            if v.type.ndim != 0 or dk not in "iu":
                raise TypeError(f"{op}: index input {k} must be an integer scalar, got {v} of "
                                f"type {v.type}")
            v = cast(v, "int64")
        elif dk in "iu":
            if v.type.ndim == 0:
                raise TypeError(f"{op}: index input {k} must be an integer array of at least "
                                f"one dimension or a boolean array, got {v} of type {v.type}")
            v = cast(v, "int64")
        elif dk != "b":
            raise IndexError(f"{op}: index input {k} must be an integer or boolean array, got "
                             f"{v} of dtype {v.type.dtype}")
        out.append(v)
    return out


def _indexed_shape_runtime(op, x, idx):
    try:
        return np.broadcast_to(np.zeros((), np.int8), x.shape)[idx].shape
    except (IndexError, ValueError) as exc:
        raise _rethrow_index_error(op, exc, x, idx) from None


def _advanced_apply(op, x, inputs, dtype=None):
    """The node of an op reading x[idx] (AdvancedSubtensor, SetWinners): x's dtype by default."""
    x = as_tensor_variable(x)
    inputs = _index_inputs(op, op.idx_list, inputs)
    shape = advanced_indexed_shape(x, op.idx_list, inputs)
    return Apply(op, [x, *inputs], [TensorType(dtype or x.type.dtype, shape)()])


def _advanced_infer_shape(op, node, input_shapes):
    return [with_static_dims(node.outputs[0].type, advanced_indexed_shape_symbolic(
        op.idx_list, node.inputs[1:], input_shapes[1:], input_shapes[0]))]


class AdvancedSubtensor(IndexReadOp):
    """x[idx] for any index with integer arrays or boolean masks (a copy, NumPy's rules).

    `AdvancedSubtensor(idx_list)(x, *inputs)`: ARR entries take integer or
    boolean arrays, SYM entries integer scalars (see subtensor.py).
    """

    fresh_outputs = True  # perform allocates its outputs (graphopt may overwrite them)

    __props__ = ("idx_list",)

    def __init__(self, idx_list):
        self.idx_list = _check_idx_list(idx_list, allow_arrays=True)

    def make_node(self, x, *inputs):
        return _advanced_apply(self, x, inputs)

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        idx = build_index(self.idx_list, inputs[1:])
        try:
            output_storage[0][0] = np.asarray(x[idx])
        except (IndexError, ValueError) as exc:
            raise _rethrow_index_error(self, exc, x, idx) from None

    def infer_shape(self, fgraph, node, input_shapes):
        return _advanced_infer_shape(self, node, input_shapes)

    def _write_op(self):
        return AdvancedIncSubtensor(self.idx_list)


class AdvancedIncSubtensor(IndexWriteOp):
    """x with x[idx] (advanced) incremented by y (repeats accumulate) or set to y."""

    fresh_outputs = True  # perform allocates its outputs (graphopt may overwrite them)

    __props__ = ("idx_list", "inplace", "set_instead_of_inc")

    def __init__(self, idx_list, inplace=False, set_instead_of_inc=False):
        self.idx_list = _check_idx_list(idx_list, allow_arrays=True)
        self.inplace = bool(inplace)
        self.set_instead_of_inc = bool(set_instead_of_inc)
        self.destroy_map = {0: [0]} if self.inplace else {}

    def make_node(self, x, y, *inputs):
        x = as_tensor_variable(x)
        inputs = _index_inputs(self, self.idx_list, inputs)
        target = advanced_indexed_shape(x, self.idx_list, inputs)
        y = y_broadcastable_to(self, _y_for(self, x, y), target)
        return Apply(self, [x, y, *inputs], [x.type()])

    def perform(self, node, inputs, output_storage):
        x, y = inputs[0], inputs[1]
        idx = build_index(self.idx_list, inputs[2:])
        check_y_runtime(self, node.inputs[1].type, y, _indexed_shape_runtime(self, x, idx))
        out = x if self.inplace else x.copy()
        if self.set_instead_of_inc:
            out[idx] = y
        else:
            np.add.at(out, idx, y)
        output_storage[0][0] = out

    def _grad_y(self, g, x, rest):
        gy = AdvancedSubtensor(self.idx_list)(g, *rest)
        return _set_grad_y(gy, self.idx_list, x, rest) if self.set_instead_of_inc else gy


class SetWinners(IndexOp):
    """Which elements of y survive `x[idx] = y`: True where no later write hits the same place.

    A bool array of the indexed shape; the gradient of y in an advanced set is
    masked by it, since with repeated indices only the last write reaches the
    output. Computed by the same NumPy assignment as the forward pass.
    """

    __props__ = ("idx_list",)

    def __init__(self, idx_list):
        self.idx_list = _check_idx_list(idx_list, allow_arrays=True)

    def make_node(self, x, *inputs):
        return _advanced_apply(self, x, inputs, "bool")

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        idx = build_index(self.idx_list, inputs[1:])
        target = _indexed_shape_runtime(self, x, idx)
        ids = np.arange(int(np.prod(target)), dtype="int64").reshape(target)
        written = np.full(x.shape, -1, dtype="int64")
        written[idx] = ids
        output_storage[0][0] = np.asarray(written[idx] == ids)

    def infer_shape(self, fgraph, node, input_shapes):
        return _advanced_infer_shape(self, node, input_shapes)

    def grad(self, inputs, gz):
        return [disconnected_type() for _ in inputs]

    def connection_pattern(self, node):
        return [[False] for _ in node.inputs]


def _set_grad_y(g_indexed, idx_list, x, index_inputs):
    """The gradient of y in an advanced set: only the last write of each place counts."""
    winners = SetWinners(idx_list)(x, *index_inputs)
    return math.switch(winners, g_indexed, constant(np.zeros((), dtype=g_indexed.type.dtype)))


def advanced_getitem(x, entries, nfree):
    """x[index] for parsed entries that include at least one array or mask."""
    core = list(entries)
    while core and (core[-1][0] == "ellipsis" or core[-1] == ("slice", None, None, None)):
        core.pop()
    if len(core) == 1 and core[0][0] == "array" and core[0][1].type.ndim == 1:
        return AdvancedSubtensor1()(x, core[0][1])
    adv = [k for k, e in enumerate(entries) if e[0] in ("int", "sym", "array", "bool")]
    ell = [k for k, e in enumerate(entries) if e[0] == "ellipsis"]
    if not (ell and adv[0] < ell[0] < adv[-1]):  # an Ellipsis matters only between advanced indices
        entries = _expand_ellipsis(entries, nfree)
    idx_list, inputs = entries_to_idx_list(entries)
    return AdvancedSubtensor(idx_list)(x, *inputs)


# ------------------------------------------------------------ take, nonzero
def take(a, indices, axis=None, mode="raise"):
    """np.take: elements of a at `indices` along `axis` (a flattened when axis is None).

    mode: 'raise' (out of range is an IndexError; negative indices count from
    the end), 'wrap' (indices modulo the length) or 'clip' (clipped to range).
    """
    a = as_tensor_variable(a)
    indices = as_tensor_variable(indices)
    if np.dtype(indices.type.dtype).kind not in "iu":
        raise TypeError(f"take: indices must be integers, got {indices} of dtype "
                        f"{indices.type.dtype}")
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    if axis is None:
        a = a.flatten()
        axis = 0
    if not -a.type.ndim <= axis < a.type.ndim:
        raise np.exceptions.AxisError(f"take: axis {axis} is out of bounds for {a} with "
                                      f"{a.type.ndim} dimension(s)")
    axis %= a.type.ndim
    if mode != "raise":
        n = shape_i(a, axis)
        if mode == "wrap":
            indices = math.mod(indices, n)
        else:
            indices = math.clip(indices, 0, math.sub(n, 1))
    if indices.type.ndim == 1 and axis == 0:
        return AdvancedSubtensor1()(a, indices)
    return getitem(a, (slice(None),) * axis + (indices,))


class Nonzero(Op):
    """The indices of the non-zero elements of x, as an int64 matrix of shape (x.ndim, nnz)."""

    __props__ = ()

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.type.ndim == 0:
            raise ValueError(f"nonzero: {x} is 0-d; nonzero needs at least one dimension "
                             "(use x.flatten() or atleast_1d first)")
        return Apply(self, [x], [TensorType("int64", (x.type.ndim, None))()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        output_storage[0][0] = np.array(np.nonzero(x), dtype="int64").reshape(x.ndim, -1)

    def infer_shape(self, fgraph, node, input_shapes):
        return [(node.inputs[0].type.ndim, math.sum(cast(cast(node.inputs[0], "bool"), "int64")))]

    def grad(self, inputs, gz):
        return [disconnected_type()]

    def connection_pattern(self, node):
        return [[False]]


def nonzero(a, return_matrix=False):
    """Indices of the non-zero elements: a tuple of vectors (one per dimension), as np.nonzero.

    With return_matrix=True, one int64 matrix of shape (a.ndim, nnz) instead.
    """
    matrix = Nonzero()(a)
    if return_matrix:
        return matrix
    return tuple(matrix[k] for k in range(matrix.type.shape[0]))


def flatnonzero(a):
    """Indices of the non-zero elements of a.flatten(), as np.flatnonzero."""
    a = as_tensor_variable(a)
    return Nonzero()(a.flatten())[0]


def nonzero_values(a):
    """The non-zero elements of a.flatten(), in order."""
    a = as_tensor_variable(a)
    return a.flatten()[flatnonzero(a)]


__all__ = ["AdvancedSubtensor1", "AdvancedIncSubtensor1", "AdvancedSubtensor",
           "AdvancedIncSubtensor", "SetWinners", "Nonzero", "advanced_subtensor1",
           "advanced_inc_subtensor1", "advanced_set_subtensor1", "take", "nonzero", "flatnonzero",
           "nonzero_values"]

# for the tensor core below: TensorVariable's methods
tensor_api.register(take=take, nonzero=nonzero, nonzero_values=nonzero_values)
