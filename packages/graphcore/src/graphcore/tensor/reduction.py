"""Reductions over axes: sum, prod, max, min, all, any, argmax/argmin, mean, var, std."""

from __future__ import annotations

import builtins
import functools

import numpy as np
from scipy.special import logsumexp as lse

from graphcore.graph.basic import Apply
from graphcore.graph.null_type import disconnected_type
from graphcore.graph.op import Op
from graphcore.scalar import ops as so
from graphcore.scalar.basic import dtype_name, float_of, is_discrete
from graphcore.tensor import math
from graphcore.tensor.basic import as_tensor_variable, cast
from graphcore.tensor.elemwise import DimShuffle
from graphcore.tensor.shape import shape_i
from graphcore.tensor.type import TensorType


def normalize_axis(x, axis, what="reduction"):
    """`axis` (None, int, or sequence) as a sorted tuple of non-negative axes of x."""
    nd = x.type.ndim
    if axis is None:
        return tuple(range(nd))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    try:
        if isinstance(axis, str):
            raise TypeError
        axes = [int(a) for a in axis]
    except (TypeError, ValueError):
        raise TypeError(f"{what}: axis must be None, an int or a sequence of ints, got {axis!r}") from None
    out = []
    for a in axes:
        if not -nd <= a < builtins.max(nd, 1) or (nd == 0 and a not in (0, -1)):
            raise ValueError(f"{what}: axis {a} is out of bounds for {x} with {nd} dimensions")
        a = a % nd if nd else 0
        if a in out:
            raise ValueError(f"{what}: axis {a} is repeated in {axis!r}")
        out.append(a)
    return tuple(sorted(out)) if nd else ()


@functools.lru_cache(maxsize=1024)  # asked at every sum/prod node creation; np.dtype().name is slow
def _sum_dtype(dtype):
    """NumPy's accumulation dtype for sum/prod: small ints widen to 64 bits."""
    d = np.dtype(dtype)
    if d.kind == "b" or (d.kind == "i" and d.itemsize < 8):
        return "int64"
    if d.kind == "u" and d.itemsize < 8:
        return "uint64"
    return d.name


# sums and products of float16 accumulate in float32 unless acc_dtype says otherwise (as Theano
# did; NumPy's pairwise float16 sum drifts and overflows early), then round to the output dtype
_ACC_DEFAULT = {"float16": "float32"}


class Reduce(Op):
    """Reduce `axis` of x with an associative scalar op (add, mul, maximum, minimum, and, or)."""

    __props__ = ("scalar_op", "axis", "dtype", "acc_dtype")
    _ufuncs = {"add": np.add, "mul": np.multiply, "maximum": np.maximum, "minimum": np.minimum,
               "and": np.logical_and, "or": np.logical_or}

    def __init__(self, scalar_op, axis, dtype=None, acc_dtype=None):
        self.scalar_op = scalar_op
        self.axis = tuple(axis)
        self.dtype = None if dtype is None else np.dtype(dtype).name
        self.acc_dtype = None if acc_dtype is None else np.dtype(acc_dtype).name
        self.ufunc = self._ufuncs[scalar_op.name]

    def __str__(self):
        names = {"add": "Sum", "mul": "Prod", "maximum": "Max", "minimum": "Min", "and": "All", "or": "Any"}
        extra = f", dtype={self.dtype}" if self.dtype else ""
        return f"{names[self.scalar_op.name]}{{axis={self.axis}{extra}}}"

    def output_dtype(self, in_dtype):
        name = self.scalar_op.name
        if name in ("and", "or"):
            return "bool"
        if self.dtype is not None:
            return self.dtype
        if name in ("add", "mul"):
            return _sum_dtype(in_dtype)
        return dtype_name(in_dtype)

    def make_node(self, x):
        x = as_tensor_variable(x)
        if self.acc_dtype is not None and self.scalar_op.name in ("add", "mul") and \
                not np.can_cast(x.type.dtype, self.acc_dtype, "safe"):
            raise TypeError(f"{self}: acc_dtype {self.acc_dtype} would lose precision of the input "
                            f"dtype {x.type.dtype}; accumulate in a dtype at least as wide")
        for a in self.axis:
            if a >= x.type.ndim:
                raise ValueError(f"{self}: axis {a} is out of bounds for {x} of type {x.type}")
        if self.scalar_op.name in ("maximum", "minimum") and np.dtype(x.type.dtype).kind == "c":
            raise TypeError(f"{self}: complex numbers are not ordered")
        shape = tuple(s for d, s in enumerate(x.type.shape) if d not in self.axis)
        return Apply(self, [x], [TensorType(self.output_dtype(x.type.dtype), shape)()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        out_dtype = node.outputs[0].type.dtype
        acc = self.acc_dtype or (_ACC_DEFAULT.get(out_dtype, out_dtype)
                                 if self.scalar_op.name in ("add", "mul") else None)
        if self.scalar_op.name in ("maximum", "minimum") and builtins.any(x.shape[a] == 0 for a in self.axis):
            raise ValueError(f"{self}: cannot reduce an empty dimension (input shape {x.shape}) "
                             "with max/min: it has no identity")
        res = self.ufunc.reduce(x, axis=self.axis, dtype=acc) if acc else \
            self.ufunc.reduce(x, axis=self.axis)
        output_storage[0][0] = np.asarray(res, dtype=out_dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(s for d, s in enumerate(input_shapes[0]) if d not in self.axis)]

    def L_op(self, inputs, outputs, output_grads):
        x, = inputs
        name = self.scalar_op.name
        if is_discrete(x.type.dtype) or name in ("and", "or"):
            return [disconnected_type()]
        gz = _expand(output_grads[0], x.type.ndim, self.axis)
        out = _expand(outputs[0], x.type.ndim, self.axis)
        if name == "add":
            gx = math.fill(x, gz)
        elif name in ("maximum", "minimum"):
            # ties share the gradient equally: a subgradient whose entries sum to gz (Theano
            # gave gz to every tied element), and what central differences measure for a pair
            hit = math.eq(x, out)
            n_hit = math.sum(hit, axis=self.axis, keepdims=True)
            gx = math.true_div(math.mul(gz, hit), n_hit)
        else:  # prod: product of the other elements, exact when x has zeros
            nz = math.eq(x, 0)
            count = _expand(math.sum(nz, axis=self.axis), x.type.ndim, self.axis)
            p_nz = _expand(prod(math.switch(nz, 1, x), axis=self.axis), x.type.ndim, self.axis)
            safe_x = math.switch(nz, 1, x)
            gx = math.mul(gz, math.switch(nz, math.mul(math.eq(count, 1), p_nz),
                                          math.true_div(math.mul(math.eq(count, 0), p_nz), safe_x)))
        return [cast(gx, x.type.dtype)]


CAReduce = Reduce  # Theano's name: CAReduce(scalar_op, axis)


def _expand(v, ndim, axes):
    """Re-insert the reduced axes (as length 1) into a reduction's output."""
    pattern, k = [], 0
    for d in range(ndim):
        if d in axes:
            pattern.append("x")
        else:
            pattern.append(k)
            k += 1
    return DimShuffle(v.type.broadcastable, pattern)(v)


def _reduce(scalar_op, x, axis, keepdims, dtype=None, acc_dtype=None, what="reduction"):
    x = as_tensor_variable(x)
    axes = normalize_axis(x, axis, what)
    out = Reduce(scalar_op, axes, dtype, acc_dtype)(x)
    return _expand(out, x.type.ndim, axes) if keepdims else out


def sum(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):  # noqa: A001
    """Sum over `axis` (None: all; an int or a tuple); small ints accumulate in 64 bits as in NumPy.

    dtype: the output dtype; acc_dtype: the dtype accumulated in (at least as
    wide as the input's). The argument order is NumPy's and Theano's.
    """
    return _reduce(so.add, x, axis, keepdims, dtype, acc_dtype, "sum")


def prod(x, axis=None, dtype=None, keepdims=False, acc_dtype=None, no_zeros_in_input=False):
    """Product over `axis`; the gradient is exact when x has zeros (no_zeros_in_input is ignored)."""
    return _reduce(so.mul, x, axis, keepdims, dtype, acc_dtype, "prod")


def max(x, axis=None, keepdims=False):  # noqa: A001
    return _reduce(so.maximum, x, axis, keepdims, what="max")


def min(x, axis=None, keepdims=False):  # noqa: A001
    return _reduce(so.minimum, x, axis, keepdims, what="min")


def ptp(x, axis=None, keepdims=False):
    """Range of values (max - min) over `axis` (np.ptp)."""
    return math.sub(max(x, axis, keepdims), min(x, axis, keepdims))


def all(x, axis=None, keepdims=False):  # noqa: A001
    return _reduce(so.and_, x, axis, keepdims, what="all")


def any(x, axis=None, keepdims=False):  # noqa: A001
    return _reduce(so.or_, x, axis, keepdims, what="any")


class Argmax(Op):
    """Index of the largest (or smallest, with `minimum`) element along `axis` (int64)."""

    __props__ = ("axis", "minimum")

    def __init__(self, axis, minimum=False):
        self.axis = None if axis is None else tuple(axis)
        self.minimum = bool(minimum)

    def __str__(self):
        return f"{'Argmin' if self.minimum else 'Argmax'}{{axis={self.axis}}}"

    def make_node(self, x):
        x = as_tensor_variable(x)
        axes = self.axis if self.axis is not None else tuple(range(x.type.ndim))
        shape = tuple(s for d, s in enumerate(x.type.shape) if d not in axes)
        return Apply(self, [x], [TensorType("int64", shape)()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        axes = self.axis if self.axis is not None else tuple(range(x.ndim))
        fn = np.argmin if self.minimum else np.argmax
        if builtins.any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"{self}: attempt to get argmax/argmin of an empty dimension "
                             f"(input shape {x.shape})")
        if len(axes) == 1:
            res = fn(x, axis=axes[0])
        else:  # move reduced axes last, flatten them, then reduce once
            keep = [d for d in range(x.ndim) if d not in axes]
            y = x.transpose(keep + list(axes)).reshape([x.shape[d] for d in keep] + [-1])
            res = fn(y, axis=-1)
        output_storage[0][0] = np.asarray(res, dtype="int64")

    def infer_shape(self, fgraph, node, input_shapes):
        axes = self.axis if self.axis is not None else tuple(range(len(input_shapes[0])))
        return [tuple(s for d, s in enumerate(input_shapes[0]) if d not in axes)]

    def grad(self, inputs, gz):
        return [disconnected_type()]

    def connection_pattern(self, node):
        return [[False]]


def argmax(x, axis=None, keepdims=False):
    x = as_tensor_variable(x)
    axes = normalize_axis(x, axis, "argmax")
    out = Argmax(axes)(x)
    return _expand(out, x.type.ndim, axes) if keepdims else out


def argmin(x, axis=None, keepdims=False):
    x = as_tensor_variable(x)
    axes = normalize_axis(x, axis, "argmin")
    out = Argmax(axes, minimum=True)(x)
    return _expand(out, x.type.ndim, axes) if keepdims else out


def max_and_argmax(x, axis=None, keepdims=False):
    """[max(x, axis), argmax(x, axis)] (Theano's pair; argmax over several axes indexes them flattened)."""
    return [max(x, axis, keepdims), argmax(x, axis, keepdims)]


def _count(x, axes, dtype):
    n = None
    for a in axes:
        s = x.type.shape[a]
        term = s if s is not None else shape_i(x, a)
        n = term if n is None else math.mul(n, term)
    return cast(1 if n is None else n, dtype)


def mean(x, axis=None, dtype=None, op=False, keepdims=False, acc_dtype=None):
    """Arithmetic mean over `axis`; integer inputs give float64 as in NumPy (`op` is ignored)."""
    x = as_tensor_variable(x)
    axes = normalize_axis(x, axis, "mean")
    out_dtype = np.dtype(dtype).name if dtype is not None else (
        x.type.dtype if np.dtype(x.type.dtype).kind in "fc" else "float64")
    if acc_dtype is None and np.dtype(out_dtype).kind in "fc" and \
            not np.can_cast(x.type.dtype, out_dtype, "safe"):
        acc_dtype = x.type.dtype if np.dtype(x.type.dtype).kind in "fc" else None
    if out_dtype == "float16":
        # as np.mean: summed and divided in float32, rounded to float16 once (a float16 sum of
        # 70000 ones is inf, their mean 1)
        s = sum(x, axis=axes, keepdims=keepdims, dtype="float32", acc_dtype=acc_dtype)
        return cast(math.true_div(s, _count(x, axes, "float32")), "float16")
    s = sum(x, axis=axes, keepdims=keepdims, dtype=out_dtype, acc_dtype=acc_dtype)
    return math.true_div(s, _count(x, axes, out_dtype))


def var(x, axis=None, ddof=0, keepdims=False, corrected=False):
    """Variance with `ddof` delta degrees of freedom (corrected=True means ddof=1)."""
    x = as_tensor_variable(x)
    axes = normalize_axis(x, axis, "var")
    if corrected:
        ddof = 1
    centered = math.sub(x, mean(x, axis=axes, keepdims=True))
    sq = math.real(math.mul(centered, math.conj(centered))) if np.dtype(x.type.dtype).kind == "c" \
        else math.sqr(centered)
    out_dtype = sq.type.dtype
    n = _count(x, axes, out_dtype)
    total = sum(sq, axis=axes, keepdims=keepdims)
    return math.true_div(total, math.sub(n, ddof) if ddof else n)


def std(x, axis=None, ddof=0, keepdims=False, corrected=False):
    return math.sqrt(var(x, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected))


class LogSumExp(Op):
    """log(sum(exp(x), axis)) computed stably (scipy.special.logsumexp): -inf for empty or
    all -inf slices; the gradient is the softmax of x over `axis`."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = tuple(axis)

    def make_node(self, x):
        x = as_tensor_variable(x)
        if np.dtype(x.type.dtype).kind not in "f":
            raise TypeError(f"{self}: expected a real float input, got {x.type}")
        shape = tuple(s for d, s in enumerate(x.type.shape) if d not in self.axis)
        return Apply(self, [x], [TensorType(x.type.dtype, shape)()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        with np.errstate(all="ignore"):
            res = lse(x, axis=self.axis) if x.size else np.full(
                [s for d, s in enumerate(x.shape) if d not in self.axis], -np.inf)
        output_storage[0][0] = np.asarray(res, dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(s for d, s in enumerate(input_shapes[0]) if d not in self.axis)]

    def L_op(self, inputs, outputs, output_grads):
        x, = inputs
        out = _expand(outputs[0], x.type.ndim, self.axis)
        gz = _expand(output_grads[0], x.type.ndim, self.axis)
        softmax = math.switch(math.eq(x, -np.inf), 0, math.exp(math.sub(x, out)))
        return [math.mul(gz, softmax)]


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x), axis)) computed stably; -inf for empty or all -inf slices.

    Integer inputs are converted to Theano's float dtype first (int8 -> float32).
    """
    x = as_tensor_variable(x)
    axes = normalize_axis(x, axis, "logsumexp")
    x = cast(x, float_of(x.type.dtype))
    out = LogSumExp(axes)(x)
    return _expand(out, x.type.ndim, axes) if keepdims else out
