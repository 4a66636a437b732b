"""Indexing with NumPy's rules: `x[...]`, set_subtensor and inc_subtensor.

`getitem(x, index)` (TensorVariable.__getitem__) parses a NumPy index and
picks an op:

- basic indexing (ints, slices, None, Ellipsis) -> `Subtensor`, a view;
- one integer vector on axis 0 (`x[ivec]`) -> `AdvancedSubtensor1`;
- anything with integer or boolean arrays -> `AdvancedSubtensor`
  (advanced_subtensor.py).

Everything static about an index (Python ints, the structure of slices,
where the arrays are) lives in the op's `idx_list` prop, so equal indexing
merges; symbolic scalars (slice bounds, integer indices) and index arrays
are inputs after x. In `idx_list`:

- an `int` is a static integer index, `None` a new axis;
- `SYM` is an integer scalar input (also inside a slice: `slice(SYM, 3, None)`);
- `ARR` (advanced ops only) is an integer or boolean array input;
- `Ellipsis` (advanced ops only) is kept where it separates advanced indices,
  because NumPy then puts the advanced dimensions first.

Decisions: a y dimension broadcasts in set/inc only when its type says
length 1 (Theano's rule, the same as Elemwise's), so the gradient of y has a
static reduction pattern; y is cast to x's dtype only when that is safe.
"""

from __future__ import annotations

import operator

import numpy as np

from graphcore.graph.basic import Apply, Constant, Variable
from graphcore.graph.null_type import disconnected_type
from graphcore.graph.hooks import tensor_api
from graphcore.graph.op import Op
from graphcore.tensor import math
from graphcore.tensor.basic import (NotScalarConstantError, as_tensor_variable, cast, constant,
                                    get_scalar_constant_value)
from graphcore.tensor.elemwise import DimShuffle
from graphcore.tensor.shape import Shape, shape_i
from graphcore.tensor.type import TensorType


class _Marker:
    """A named placeholder in an idx_list; pickles as the module-level singleton."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name

    def __reduce__(self):
        return self.name


SYM = _Marker("SYM")  # an integer scalar input
ARR = _Marker("ARR")  # an integer or boolean index-array input

_VALID = ("only integers, slices (`:`), ellipsis (`...`), None (numpy.newaxis) and integer or "
          "boolean arrays (or symbolic tensors) are valid indices")


def _is_int_dtype(dtype):
    return np.dtype(dtype).kind in "iu"


def _hashable_idx(idx_list):
    return tuple(("slice", e.start, e.stop, e.step) if isinstance(e, slice) else e
                 for e in idx_list)


def _format_idx(idx_list):
    def comp(c):
        return "" if c is None else ("$" if c is SYM else str(c))

    parts = []
    for e in idx_list:
        if isinstance(e, slice):
            s = f"{comp(e.start)}:{comp(e.stop)}"
            if e.step is not None:
                s += f":{comp(e.step)}"
            parts.append(s)
        elif e is None:
            parts.append("None")
        elif e is Ellipsis:
            parts.append("...")
        elif e is SYM:
            parts.append("$")
        elif e is ARR:
            parts.append("[]")
        else:
            parts.append(str(e))
    return ", ".join(parts)


class IndexOp(Op):
    """Shared identity and printing for ops whose static index is `idx_list`."""

    def _props(self):
        return tuple(_hashable_idx(v) if n == "idx_list" else v
                     for n, v in ((n, getattr(self, n)) for n in self.__props__))

    def _prefix(self):
        return type(self).__name__

    def __str__(self):
        extra = []
        if getattr(self, "set_instead_of_inc", False):
            extra.append("set")
        elif hasattr(self, "set_instead_of_inc"):
            extra.append("inc")
        if getattr(self, "inplace", False):
            extra.append("inplace")
        idx = f"[{_format_idx(self.idx_list)}]" if hasattr(self, "idx_list") else ""
        return f"{self._prefix()}{{{';'.join(extra)}}}{idx}" if extra else f"{self._prefix()}{idx}"


class IndexReadOp(IndexOp):
    """x[idx] for some index kind: inputs (x, *index inputs); differentiable in x only.

    Its gradient writes gz into zeros at the same places, with `_write_op()`.
    """

    def grad(self, inputs, gz):
        x, rest = inputs[0], inputs[1:]
        gx = self._write_op()(math.zeros_like(x), gz[0], *rest)
        return [gx] + [disconnected_type() for _ in rest]

    def connection_pattern(self, node):
        return [[True]] + [[False] for _ in node.inputs[1:]]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        return [self(eval_points[0], *inputs[1:])]


class IndexWriteOp(IndexOp):
    """x with x[idx] incremented by y or set to y: inputs (x, y, *index inputs), output like x.

    `_like(inplace, set_instead_of_inc)` is the same op on the same index with
    other flags; `_grad_y(g, x, index inputs)` reads g at the written places.
    """

    def _like(self, inplace=False, set_instead_of_inc=False):
        return type(self)(self.idx_list, inplace, set_instead_of_inc)

    def clone_inplace(self):
        return self._like(True, self.set_instead_of_inc)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def grad(self, inputs, gz):
        x, y, rest = inputs[0], inputs[1], inputs[2:]
        g = gz[0]
        if self.set_instead_of_inc:  # the overwritten places get no gradient
            gx = self._like(set_instead_of_inc=True)(
                g, constant(np.zeros((), dtype=g.type.dtype)), *rest)
        else:
            gx = g
        gy = reduce_grad_to(self._grad_y(g, x, rest), y)
        return [gx, gy] + [disconnected_type() for _ in rest]

    def connection_pattern(self, node):
        return [[True], [True]] + [[False] for _ in node.inputs[2:]]

    def R_op(self, inputs, eval_points):
        ex, ey = eval_points[0], eval_points[1]
        if ex is None and ey is None:
            return [None]
        x, y = inputs[0], inputs[1]
        ex = math.zeros_like(x) if ex is None else ex
        ey = math.zeros_like(y) if ey is None else ey
        return [self._like(set_instead_of_inc=self.set_instead_of_inc)(ex, ey, *inputs[2:])]


# ------------------------------------------------------------ parsing indices
def _scalar_component(v, what):
    """A slice bound or scalar index: a Python int, None, or an int64 scalar variable."""
    if v is None:
        return None
    if isinstance(v, Variable):
        v = as_tensor_variable(v)
        if v.type.ndim != 0 or not _is_int_dtype(v.type.dtype):
            raise IndexError(f"{what} must be an integer scalar, got {v} of type {v.type}")
        try:
            return int(get_scalar_constant_value(v))
        except NotScalarConstantError:
            return cast(v, "int64")
    try:
        return operator.index(v)
    except TypeError:
        raise IndexError(f"{what} must be an integer, None or an integer scalar tensor, "
                         f"got {type(v).__name__} {v!r}") from None


def _classify(entry):
    """One entry of an index -> a tagged tuple: none/ellipsis/int/sym/slice/array/bool."""
    if entry is None:
        return ("none",)
    if entry is Ellipsis:
        return ("ellipsis",)
    if isinstance(entry, slice):
        parts = [_scalar_component(c, f"slice {n}") for c, n in
                 ((entry.start, "start"), (entry.stop, "stop"), (entry.step, "step"))]
        if parts[2] == 0:
            raise ValueError("slice step cannot be zero")
        return ("slice", *parts)
    if isinstance(entry, (bool, np.bool_)):
        return ("bool", constant(np.array(bool(entry))))
    if isinstance(entry, (int, np.integer)):
        return ("int", int(entry))
    if isinstance(entry, (list, tuple)) and any(isinstance(e, Variable) for e in _flat(entry)):
        entry = as_tensor_variable(entry)
    if isinstance(entry, Variable):
        v = as_tensor_variable(entry)
        kind = np.dtype(v.type.dtype).kind
        if kind == "b":
            return ("bool", v)
        if kind not in "iu":
            raise IndexError(f"{_VALID}; got {v} of dtype {v.type.dtype}")
        if v.type.ndim == 0:
            c = _scalar_component(v, "an integer index")
            return ("int", c) if isinstance(c, int) else ("sym", c)
        return ("array", v)
    try:
        arr = np.asarray(entry)
    except Exception:
        raise IndexError(f"{_VALID}; got {type(entry).__name__} {entry!r}") from None
    if arr.dtype == bool:
        return ("bool", constant(arr))
    if arr.size == 0 and arr.dtype.kind == "f":  # x[[]]: an empty integer index, as in NumPy
        arr = arr.astype("int64")
    if arr.dtype.kind not in "iu":
        raise IndexError(f"{_VALID}; got {type(entry).__name__} of dtype {arr.dtype}")
    if arr.ndim == 0:
        return ("int", int(arr))
    return ("array", constant(arr.astype("int64")))


def _flat(seq):
    for e in seq:
        if isinstance(e, (list, tuple)):
            yield from _flat(e)
        else:
            yield e


def _consumed(e):
    if e[0] in ("int", "sym", "slice", "array"):
        return 1
    if e[0] == "bool":
        return e[1].type.ndim
    return 0


def parse_index(x, index):
    """Classify every entry of `index` and check that it fits x's dimensions."""
    if not isinstance(index, tuple):
        index = (index,)
    entries = [_classify(e) for e in index]
    if sum(1 for e in entries if e[0] == "ellipsis") > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(_consumed(e) for e in entries)
    if used > x.type.ndim:
        raise IndexError(f"too many indices for {x}: it has {x.type.ndim} dimension(s) "
                         f"(type {x.type}), but {used} were indexed")
    return entries, x.type.ndim - used


def _expand_ellipsis(entries, nfree):
    out = []
    for e in entries:
        if e[0] == "ellipsis":
            out.extend([("slice", None, None, None)] * nfree)
        else:
            out.append(e)
    return out


def _check_static_int(i, n, axis, x):
    if n is not None and not -n <= i < n:
        raise IndexError(f"index {i} is out of bounds for axis {axis} with size {n} "
                         f"(indexing {x} of type {x.type})")


# -------------------------------------------------------------- slice lengths
def static_slice_length(n, start, stop, step):
    """Length of x[start:stop:step] on a dimension of length n, or None if not static."""
    if n is None or any(c is SYM or isinstance(c, Variable) for c in (start, stop, step)):
        if start is None and stop is None and step in (None, 1):
            return n
        if step is SYM or isinstance(step, Variable):
            return None
        step = 1 if step is None else step
        first, last = (start, stop) if step > 0 else (stop, start)
        if step > 0 and first is None:
            first = 0
        # bounds on the same side of 0 resolve the same way whatever n is: empty if reversed
        if isinstance(first, int) and isinstance(last, int) and (first < 0) == (last < 0) \
                and last <= first:
            return 0
        return None
    return len(range(*slice(start, stop, step).indices(n)))


def _static_int(c):
    """A scalar variable's Python int value when the graph knows it, else the variable."""
    if isinstance(c, Variable):
        try:
            return int(get_scalar_constant_value(c))
        except NotScalarConstantError:
            return c
    return c


def with_static_dims(out_type, shape):
    """An inferred shape, with the dimensions the output type knows replaced by their ints."""
    return tuple(s if s is not None else d for s, d in zip(out_type.shape, shape))


def symbolic_slice_length(n, start, stop, step):
    """Length of x[start:stop:step] as an int64 scalar expression (NumPy's clipping rules)."""
    n, start, stop, step = (_static_int(c) for c in (n, start, stop, step))
    if all(not isinstance(c, Variable) for c in (n, start, stop, step)) and n is not None:
        return len(range(*slice(start, stop, step).indices(int(n))))
    n = as_tensor_variable(n) if isinstance(n, Variable) else constant(np.int64(n))
    n = cast(n, "int64")
    step = 1 if step is None else step

    def norm(v, lo, hi):
        if isinstance(v, int):
            v = v + n if v < 0 else v
        else:
            v = math.switch(math.lt(v, 0), math.add(v, n), v)
        return math.minimum(math.maximum(v, lo), hi)

    def pos_len():
        b = 0 if start is None else norm(start, 0, n)
        e = n if stop is None else norm(stop, 0, n)
        return math.maximum(math.int_div(math.add(math.sub(e, b), math.sub(step, 1)), step), 0)

    def neg_len():
        b = math.sub(n, 1) if start is None else norm(start, -1, math.sub(n, 1))
        e = -1 if stop is None else norm(stop, -1, math.sub(n, 1))
        neg_step = math.neg(step) if isinstance(step, Variable) else -step
        return math.maximum(math.int_div(math.add(math.sub(b, e), math.sub(neg_step, 1)),
                                         neg_step), 0)

    if isinstance(step, int):
        res = pos_len() if step > 0 else neg_len()
    else:
        res = math.switch(math.gt(step, 0), pos_len(), neg_len())
    return cast(as_tensor_variable(res), "int64")


# ---------------------------------------------------------- idx_list helpers
def entries_to_idx_list(entries):
    """Tagged entries -> (idx_list with markers, the symbolic inputs in order)."""
    idx_list, inputs = [], []

    def comp(c):
        if isinstance(c, Variable):
            inputs.append(c)
            return SYM
        return c

    for e in entries:
        kind = e[0]
        if kind == "none":
            idx_list.append(None)
        elif kind == "ellipsis":
            idx_list.append(Ellipsis)
        elif kind == "int":
            idx_list.append(e[1])
        elif kind == "sym":
            inputs.append(e[1])
            idx_list.append(SYM)
        elif kind == "slice":
            idx_list.append(slice(comp(e[1]), comp(e[2]), comp(e[3])))
        else:  # array / bool
            inputs.append(e[1])
            idx_list.append(ARR)
    # A trailing `:` is a no-op, unless an Ellipsis precedes it: x[i, ..., :] is not x[i, ...].
    while (idx_list and isinstance(idx_list[-1], slice) and idx_list[-1] == slice(None)
           and Ellipsis not in idx_list):
        idx_list.pop()
    return tuple(idx_list), inputs


def _n_inputs(idx_list):
    n = 0
    for e in idx_list:
        if isinstance(e, slice):
            n += sum(1 for c in (e.start, e.stop, e.step) if c is SYM)
        elif e is SYM or e is ARR:
            n += 1
    return n


def build_index(idx_list, values):
    """The NumPy index tuple from idx_list and the run-time values of its inputs."""
    it = iter(values)

    def comp(c):
        return int(next(it)) if c is SYM else c

    out = []
    for e in idx_list:
        if isinstance(e, slice):
            out.append(slice(comp(e.start), comp(e.stop), comp(e.step)))
        elif e is SYM:
            out.append(int(next(it)))
        elif e is ARR:
            out.append(next(it))
        else:
            out.append(e)
    return tuple(out)


def _check_idx_list(idx_list, allow_arrays):
    out = []
    for e in idx_list:
        if isinstance(e, slice):
            for c in (e.start, e.stop, e.step):
                if not (c is None or c is SYM or isinstance(c, (int, np.integer))):
                    raise TypeError(f"idx_list: invalid slice component {c!r}")
            if e.step == 0:
                raise ValueError("slice step cannot be zero")
            out.append(slice(*[c if c is None or c is SYM else int(c)
                               for c in (e.start, e.stop, e.step)]))
        elif e is None or e is SYM:
            out.append(e)
        elif isinstance(e, (int, np.integer)) and not isinstance(e, (bool, np.bool_)):
            out.append(int(e))
        elif allow_arrays and (e is ARR or e is Ellipsis):
            out.append(e)
        else:
            raise TypeError(f"idx_list: invalid entry {e!r}")
    return tuple(out)


def _as_index_scalar(op, v, k):
    v = as_tensor_variable(v)
    if v.type.ndim != 0 or not _is_int_dtype(v.type.dtype):
        raise TypeError(f"{op}: index input {k} must be an integer scalar, got {v} of type "
                        f"{v.type}")
    return cast(v, "int64")


def basic_indexed_shape(op, x, idx_list, inputs):
    """Static shape of x[idx] for a basic index; checks static integer indices."""
    static_inputs = iter(inputs)
    shape, axis = [], 0

    def comp(c):
        if c is SYM:
            try:
                return int(get_scalar_constant_value(next(static_inputs)))
            except NotScalarConstantError:
                return SYM
        return c

    for e in idx_list:
        if e is None:
            shape.append(1)
        elif isinstance(e, slice):
            shape.append(static_slice_length(x.type.shape[axis], comp(e.start), comp(e.stop),
                                             comp(e.step)))
            axis += 1
        else:
            i = comp(e)
            if i is not SYM:
                _check_static_int(i, x.type.shape[axis], axis, x)
            axis += 1
    if axis > x.type.ndim:
        raise IndexError(f"{op}: too many indices for {x}: it has {x.type.ndim} dimension(s), "
                         f"the index uses {axis}")
    return tuple(shape) + x.type.shape[axis:]


def basic_indexed_shape_symbolic(idx_list, x_shape, values):
    """Symbolic shape of x[idx] (basic index) from x's symbolic shape and the index inputs."""
    it = iter(values)

    def comp(c):
        return next(it) if c is SYM else c

    out, axis = [], 0
    for e in idx_list:
        if e is None:
            out.append(1)
        elif isinstance(e, slice):
            out.append(symbolic_slice_length(x_shape[axis], comp(e.start), comp(e.stop),
                                             comp(e.step)))
            axis += 1
        else:
            comp(e)
            axis += 1
    return tuple(out) + tuple(x_shape[axis:])


def _rethrow_index_error(op, exc, x, idx):
    def desc(i):
        return f"array{np.shape(i)}" if isinstance(i, np.ndarray) else repr(i)

    return type(exc)(f"{op}: {exc} (x has shape {x.shape}; index "
                     f"[{', '.join(desc(i) for i in idx)}])")


# ---------------------------------------------------------------- set / inc
def _y_for(op, x, y):
    """y as a tensor of x's dtype (cast only when safe); TypeError naming both dtypes otherwise."""
    y = as_tensor_variable(y)
    xd, yd = x.type.dtype, y.type.dtype
    if xd == yd:
        return y
    if getattr(y, "weak", False):
        # a Python number takes x's dtype as in NEP 50: ints into any number dtype they fit
        # in, floats into floats, complex into complex; bools anywhere
        value, kind = y.py_value, np.dtype(xd).kind
        if isinstance(value, bool):
            ok = True
        elif isinstance(value, int):
            ok = kind in "fc" or (kind in "iu" and
                                  np.iinfo(xd).min <= value <= np.iinfo(xd).max)
        elif isinstance(value, float):
            ok = kind in "fc"
        else:
            ok = kind == "c"
        if ok:
            return constant(np.asarray(value, dtype=xd))
    elif np.can_cast(yd, xd, "safe"):
        return cast(y, xd)
    elif isinstance(y, Constant) and _constant_fits(y.data, xd):
        return constant(np.asarray(y.data).astype(xd))
    raise TypeError(f"{op}: cannot safely cast y {y} of dtype {yd} to x's dtype {xd}; "
                    f"cast y yourself (e.g. T.cast(y, '{xd}'))")


def _constant_fits(data, dtype):
    """A constant y (a list, an array) may take x's dtype when its values survive the conversion.

    Float constants may also become a narrower float (np.ones(3) * 0.1 into a
    float32 x), as Python floats become floatX.
    """
    data = np.asarray(data)
    src, dst = data.dtype.kind, np.dtype(dtype).kind
    if src == dst and src in "fc":
        return True
    if src == "c" or (src == "f" and dst in "biu") or (dst == "b" and src != "b"):
        return False
    with np.errstate(all="ignore"):
        try:
            return bool(np.array_equal(data.astype(dtype), data))
        except (TypeError, ValueError, OverflowError):
            return False


def y_broadcastable_to(op, y, target_shape):
    """Check statically that y broadcasts to target_shape; drop y's leading length-1 dims."""
    if y.type.ndim > len(target_shape):
        extra = y.type.ndim - len(target_shape)
        if all(s == 1 for s in y.type.shape[:extra]):
            y = y.dimshuffle(list(range(extra, y.type.ndim)))
        else:
            raise ValueError(f"{op}: y {y} of type {y.type} has {y.type.ndim} dimensions but the "
                             f"indexed x has only {len(target_shape)} (shape "
                             f"{_shape_str(target_shape)})")
    off = len(target_shape) - y.type.ndim
    for d, s in enumerate(y.type.shape):
        t = target_shape[off + d]
        if s is not None and t is not None and s != 1 and s != t:
            raise ValueError(f"{op}: cannot broadcast y of shape {_shape_str(y.type.shape)} to "
                             f"the indexed shape {_shape_str(target_shape)} (dimension {d} of "
                             f"y has length {s}, expected {t} or 1)")
    return y


def _shape_str(shape):
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + \
        (",)" if len(shape) == 1 else ")")


def check_y_runtime(op, ytype, y, target_shape):
    """NumPy broadcasting of y to target_shape, but only through dims typed as length 1."""
    ys = np.shape(y)
    if len(ys) > len(target_shape):
        raise ValueError(f"{op}: y of shape {ys} has more dimensions than the indexed x "
                         f"(shape {tuple(target_shape)})")
    off = len(target_shape) - len(ys)
    for d, s in enumerate(ys):
        t = target_shape[off + d]
        if s == t or (s == 1 and ytype.shape[d] == 1):
            continue
        hint = ""
        if s == 1:
            hint = (f"; dimension {d} of y has length 1 but its type {ytype} does not say so, and "
                    "only dimensions whose type says length 1 broadcast (Theano's rule): make it "
                    "static, e.g. with specify_shape or dimshuffle('x', ...)")
        raise ValueError(f"{op}: cannot broadcast y of shape {ys} to the indexed shape "
                         f"{tuple(target_shape)}{hint}")


def reduce_grad_to(g, y):
    """The gradient of y from the gradient of its broadcast to g's shape."""
    nlead = g.type.ndim - y.type.ndim
    axes = list(range(nlead)) + [nlead + i for i, b in enumerate(y.type.broadcastable)
                                 if b and not g.type.broadcastable[nlead + i]]
    if axes:
        g = math.sum(g, axis=axes, keepdims=True)
    if nlead:
        g = g.dimshuffle(list(range(nlead, g.type.ndim)))
    return cast(g, y.type.dtype)


# ------------------------------------------------------------------- the ops
class Subtensor(IndexReadOp):
    """x[idx] for a basic index (ints, slices, None); the output is a view of x.

    `Subtensor(idx_list)(x, *scalars)`: see the module docstring for idx_list.
    """

    __props__ = ("idx_list",)
    view_map = {0: [0]}

    def __init__(self, idx_list):
        self.idx_list = _check_idx_list(idx_list, allow_arrays=False)

    def make_node(self, x, *inputs):
        x = as_tensor_variable(x)
        if len(inputs) != _n_inputs(self.idx_list):
            raise TypeError(f"{self}: expected {_n_inputs(self.idx_list)} index inputs, "
                            f"got {len(inputs)}")
        inputs = [_as_index_scalar(self, v, k) for k, v in enumerate(inputs)]
        shape = basic_indexed_shape(self, x, self.idx_list, inputs)
        return Apply(self, [x, *inputs], [TensorType(x.type.dtype, shape)()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        idx = build_index(self.idx_list, inputs[1:])
        try:
            output_storage[0][0] = x[idx + (Ellipsis,)]
        except (IndexError, ValueError) as exc:
            raise _rethrow_index_error(self, exc, x, idx) from None

    def infer_shape(self, fgraph, node, input_shapes):
        return [with_static_dims(node.outputs[0].type, basic_indexed_shape_symbolic(
            self.idx_list, input_shapes[0], node.inputs[1:]))]

    def _write_op(self):
        return IncSubtensor(self.idx_list)


class IncSubtensor(IndexWriteOp):
    """x with x[idx] incremented by y (or set to y); a copy unless `inplace`.

    `IncSubtensor(idx_list, inplace=False, set_instead_of_inc=False)(x, y, *scalars)`.
    y broadcasts to x[idx] (only through dimensions typed as length 1).
    """

    fresh_outputs = True  # perform allocates its outputs (graphopt may overwrite them)

    __props__ = ("idx_list", "inplace", "set_instead_of_inc")

    def __init__(self, idx_list, inplace=False, set_instead_of_inc=False,
                 destroyhandler_tolerate_aliased=None):
        self.idx_list = _check_idx_list(idx_list, allow_arrays=False)
        self.inplace = bool(inplace)
        self.set_instead_of_inc = bool(set_instead_of_inc)
        self.destroy_map = {0: [0]} if self.inplace else {}

    def make_node(self, x, y, *inputs):
        x = as_tensor_variable(x)
        if len(inputs) != _n_inputs(self.idx_list):
            raise TypeError(f"{self}: expected {_n_inputs(self.idx_list)} index inputs, "
                            f"got {len(inputs)}")
        inputs = [_as_index_scalar(self, v, k) for k, v in enumerate(inputs)]
        target = basic_indexed_shape(self, x, self.idx_list, inputs)
        y = y_broadcastable_to(self, _y_for(self, x, y), target)
        return Apply(self, [x, y, *inputs], [x.type()])

    def perform(self, node, inputs, output_storage):
        x, y = inputs[0], inputs[1]
        idx = build_index(self.idx_list, inputs[2:])
        out = x if self.inplace else x.copy()
        try:
            view = out[idx + (Ellipsis,)]
        except (IndexError, ValueError) as exc:
            raise _rethrow_index_error(self, exc, x, idx) from None
        check_y_runtime(self, node.inputs[1].type, y, view.shape)
        if self.set_instead_of_inc:
            view[...] = y
        else:
            np.add(view, y, out=view, casting="unsafe")
        output_storage[0][0] = out

    def _grad_y(self, g, x, rest):
        return Subtensor(self.idx_list)(g, *rest)


# ------------------------------------------------------------ the public API
def getitem(x, index):
    """x[index] with NumPy's rules (basic, integer-array and boolean-mask indexing)."""
    x = as_tensor_variable(x)
    shortcut = _shape_item(x, index)
    if shortcut is not None:
        return shortcut
    entries, nfree = parse_index(x, index)
    if any(e[0] in ("array", "bool") for e in entries):
        return adv.advanced_getitem(x, entries, nfree)
    entries = _expand_ellipsis(entries, nfree)
    idx_list, inputs = entries_to_idx_list(entries)
    return Subtensor(idx_list)(x, *inputs)


def _shape_item(x, index):
    """x.shape[i] with a static i: the (static where known) length of that dimension."""
    if x.owner is None or not isinstance(x.owner.op, Shape):
        return None
    if isinstance(index, Variable):
        try:
            index = get_scalar_constant_value(index)
        except NotScalarConstantError:
            return None
    if not isinstance(index, (int, np.integer)) or isinstance(index, (bool, np.bool_)):
        return None
    base = x.owner.inputs[0]
    nd = base.type.ndim
    if not -nd <= index < nd:
        raise IndexError(f"index {index} is out of bounds for the shape of {base}, which has "
                         f"{nd} dimension(s)")
    return shape_i(base, int(index) % nd)


def _rebuild_inc(x_indexed, y, inplace, set_instead_of_inc, fname):
    x_indexed = as_tensor_variable(x_indexed)
    node = x_indexed.owner
    if node is not None and isinstance(node.op, DimShuffle) and node.inputs[0].owner is not None \
            and isinstance(node.inputs[0].owner.op, IndexReadOp):
        # x[idx] transposed or with axes inserted/dropped: give y the inverse dimshuffle
        op = node.op
        y = y_broadcastable_to(fname, as_tensor_variable(y), x_indexed.type.shape)
        if y.type.ndim < x_indexed.type.ndim:
            lead = x_indexed.type.ndim - y.type.ndim
            y = y.dimshuffle(["x"] * lead + list(range(y.type.ndim)))
        for p in op.augment:
            if not y.type.broadcastable[p]:
                raise ValueError(f"{fname}: dimension {p} of the indexed value is an inserted "
                                 f"axis of length 1, but y (type {y.type}) is not known to "
                                 "have length 1 there")
        pattern = ["x" if j in op.drop else op.new_order.index(j)
                   for j in range(len(op.input_broadcastable))]
        return _rebuild_inc(node.inputs[0], y.dimshuffle(pattern), inplace, set_instead_of_inc,
                            fname)
    if node is None or not isinstance(node.op, IndexReadOp):
        how = f"computed by {node.op}" if node is not None else "not computed by an indexing op"
        raise TypeError(f"{fname}: the first argument must be the result of indexing a tensor "
                        f"(x[...]), got {x_indexed} ({how})")
    new = node.op._write_op()._like(inplace, set_instead_of_inc)
    return new(node.inputs[0], y, *node.inputs[1:])


def set_subtensor(x, y, inplace=False, tolerate_inplace_aliasing=False):
    """The tensor that x was indexed from, with that part replaced by y: `set_subtensor(a[2:], y)`.

    Like Theano, the first argument is the *result of indexing* (a[idx]); the
    result is a new tensor (a is not modified). y broadcasts to a[idx]. As in
    Theano, `inplace` is ignored: the compiler makes the update in place when
    that is safe.
    """
    return _rebuild_inc(x, y, False, True, "set_subtensor")


def inc_subtensor(x, y, inplace=False, set_instead_of_inc=False, tolerate_inplace_aliasing=False):
    """The tensor that x was indexed from, with y added to that part: `inc_subtensor(a[idx], y)`.

    Repeated integer indices accumulate (like np.add.at). `inplace` is ignored
    (the compiler decides).
    """
    return _rebuild_inc(x, y, False, set_instead_of_inc,
                        "set_subtensor" if set_instead_of_inc else "inc_subtensor")


_ADVANCED_NAMES = frozenset([
    "AdvancedSubtensor1", "AdvancedIncSubtensor1", "AdvancedSubtensor", "AdvancedIncSubtensor",
    "SetWinners", "Nonzero", "take", "nonzero", "flatnonzero", "nonzero_values",
    "advanced_subtensor1", "advanced_inc_subtensor1", "advanced_set_subtensor1"])


def __getattr__(name):
    # Theano kept every indexing op in tensor.subtensor; code that imports them from here works.
    if name in _ADVANCED_NAMES:
        return getattr(adv, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Subtensor", "IncSubtensor", "getitem", "set_subtensor", "inc_subtensor"]


# Back edge, imported last: advanced_subtensor builds on the classes and helpers above (it
# imports them at its top), so it may load only once they exist. A module object, used at call
# time by getitem and __getattr__.
from graphcore.tensor import advanced_subtensor as adv  # noqa: E402

# for the tensor core below: TensorVariable.__getitem__
tensor_api.register(getitem=getitem)
