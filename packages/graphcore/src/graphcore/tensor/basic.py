"""Turning Python values into tensors, casts, and array creation (alloc, zeros, ones, fill)."""

from __future__ import annotations

import numbers

import numpy as np

from graphcore.config import config
from graphcore.graph.basic import Apply, Constant, Variable
from graphcore.graph.hooks import tensor_api
from graphcore.graph.null_type import disconnected_type
from graphcore.graph.op import Op
from graphcore.graph.shared import shared_constructor
from graphcore.scalar.basic import dtype_name
from graphcore.scalar.ops import Cast, Identity, Second
from graphcore.tensor import elemwise  # a cycle within the tensor core: used at call time only
from graphcore.tensor.type import TensorType
from graphcore.tensor.variable import TensorConstant, TensorSharedVariable, TensorVariable


def _python_scalar_dtype(x):
    if isinstance(x, (bool, np.bool_)):
        return "bool"
    if isinstance(x, numbers.Integral):
        if -(2 ** 63) <= x < 2 ** 63:
            return "int64"
        if 0 <= x < 2 ** 64:
            return "uint64"
        raise OverflowError(f"Python integer {x} does not fit in int64 or uint64")
    if isinstance(x, numbers.Real):
        return config.floatX
    if isinstance(x, numbers.Complex):
        return "complex128"
    raise TypeError(f"not a Python number: {x!r}")


def is_python_scalar(x):
    return isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic)


def constant(x, name=None, ndim=None, dtype=None):
    """A TensorConstant holding `x` with its full static shape."""
    if isinstance(x, TensorConstant) and dtype is None and ndim is None:
        return x
    weak = is_python_scalar(x) and dtype is None
    if dtype is None:
        dtype = _python_scalar_dtype(x) if is_python_scalar(x) else None
    try:
        arr = np.asarray(x, dtype=dtype)
    except OverflowError as exc:
        raise OverflowError(f"constant {x!r} does not fit in dtype {dtype}: {exc}") from None
    if arr.dtype == object:
        raise TypeError(f"cannot make a tensor constant from {type(x).__name__} {x!r}")
    if ndim is not None and arr.ndim != ndim:
        if arr.ndim > ndim and all(s == 1 for s in arr.shape[: arr.ndim - ndim]):
            arr = arr.reshape(arr.shape[arr.ndim - ndim:])
        else:
            raise ValueError(f"constant: expected {ndim} dimensions, got value of shape {arr.shape}")
    const = TensorType(arr.dtype, arr.shape).make_constant(arr, name=name)
    if weak:
        const.weak = True
        const.py_value = x  # the exact Python number, re-typed when combined (NEP 50)
    return const


def as_tensor_variable(x, name=None, ndim=None, dtype=None):
    """Return `x` as a tensor Variable: variables pass through, values become constants.

    Python numbers become *weak* constants: in `x + 1` the 1 takes x's dtype
    (NumPy 2's NEP 50), instead of upcasting x.
    """
    if isinstance(x, Apply):
        x = x.default_output()
    if isinstance(x, Variable):
        if not isinstance(x.type, TensorType):
            raise TypeError(f"expected a tensor, got variable {x} of type {x.type}")
        if ndim is not None and x.type.ndim != ndim:
            if x.type.ndim > ndim and all(x.type.broadcastable[: x.type.ndim - ndim]):
                keep = tuple(range(x.type.ndim - ndim, x.type.ndim))
                x = elemwise.DimShuffle(x.type.broadcastable, keep)(x)
            else:
                raise TypeError(f"expected {ndim} dimensions, got {x} of type {x.type}")
        if dtype is not None and x.type.dtype != np.dtype(dtype).name:
            x = cast(x, dtype)
        return x
    if isinstance(x, (list, tuple)) and any(isinstance(e, Variable) for e in _flatten(x)):
        return tensor_api.stack([as_tensor_variable(e) for e in x])  # registered by tensor.join
    if hasattr(x, "__graphcore_tensor__"):
        return x.__graphcore_tensor__()
    return constant(x, name=name, ndim=ndim, dtype=dtype)


as_tensor = as_tensor_variable


def _flatten(seq):
    for e in seq:
        if isinstance(e, (list, tuple)):
            yield from _flatten(e)
        else:
            yield e


def get_scalar_constant_value(v):
    """The Python value of a 0-d constant (through casts of constants), else NotScalarConstantError."""
    if isinstance(v, (numbers.Number, np.number, np.bool_)):
        return v
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return v.item()
    if isinstance(v, Constant):
        data = np.asarray(v.data)
        if data.size == 1:
            return data.reshape(()).item()
    if isinstance(v, Variable) and v.owner is not None:
        op = v.owner.op
        if isinstance(op, elemwise.Elemwise) and isinstance(op.scalar_op, (Cast, Identity)):
            val = get_scalar_constant_value(v.owner.inputs[0])
            return np.asarray(val).astype(v.type.dtype).item()
        if isinstance(op, elemwise.Elemwise) and isinstance(op.scalar_op, Second):
            return get_scalar_constant_value(v.owner.inputs[1])
        if isinstance(op, elemwise.DimShuffle):
            return get_scalar_constant_value(v.owner.inputs[0])
        if isinstance(op, tensor_api.Shape_i):  # registered by tensor.shape
            s = v.owner.inputs[0].type.shape[op.i]
            if s is not None:
                return s
    raise NotScalarConstantError(f"{v} is not a scalar constant")


class NotScalarConstantError(ValueError):
    pass


def extract_constant(x, elemwise=True, only_process_constants=False):
    """Theano's extract_constant: x as a 0-d constant when its value is known, else x itself."""
    try:
        value = get_scalar_constant_value(x)
    except NotScalarConstantError:
        return x
    if isinstance(x, Variable):
        return constant(np.asarray(value, dtype=x.type.dtype))
    return constant(value)


# ------------------------------------------------------------------- casts
def cast(x, dtype):
    """x converted to `dtype` ('floatX' allowed); a no-op when it already has it."""
    if dtype == "floatX":
        dtype = config.floatX
    x = as_tensor_variable(x)
    dtype = dtype_name(dtype)  # cached: np.dtype(...).name costs microseconds, cast is everywhere
    if x.type.dtype == dtype:
        return x
    if np.dtype(x.type.dtype).kind == "c" and np.dtype(dtype).kind != "c":
        raise TypeError(f"cast: casting complex {x} to {dtype} would drop the imaginary part; "
                        "use real(), imag() or abs() first")
    return elemwise.Elemwise(Cast(dtype))(x)


# ------------------------------------------------------------------- alloc
_SIZE_ARITHMETIC = ("add", "sub", "mul", "neg", "intdiv", "maximum", "minimum")


def size_int64(s):
    """An integer size expression computed in int64: its +, -, *, //, max, min are redone on
    int64 operands, so `n * m` of two int32 scalars cannot wrap (NumPy would compute it in
    int32); an int64 overflow gives a size NumPy refuses, an error."""
    if s.type.dtype == "int64" or s.type.dtype == "uint64":
        return s
    node = s.owner
    if node is not None and isinstance(node.op, elemwise.Elemwise) and \
            getattr(node.op.scalar_op, "name", None) in _SIZE_ARITHMETIC and \
            not node.op.destroy_map and \
            all(i.type.dtype[:3] in ("int", "uin", "boo") for i in node.inputs):
        return node.op(*[size_int64(i) for i in node.inputs])
    return cast(s, "int64")


class Alloc(Op):
    """alloc(value, *shape): a new array of `shape` filled with (broadcast) `value`."""

    fresh_outputs = True  # perform allocates its outputs (graphopt may overwrite them)

    def make_node(self, value, *shape):
        value = as_tensor_variable(value)
        if len(shape) < value.type.ndim:
            raise ValueError(f"alloc: value has {value.type.ndim} dimensions but only "
                             f"{len(shape)} sizes were given")
        sh = []
        static = []
        for i, s in enumerate(shape):
            s = as_tensor_variable(s)
            if s.type.ndim != 0 or s.type.dtype[:3] not in ("int", "uin"):
                raise TypeError(f"alloc: shape entry {i} must be an integer scalar, got {s.type}")
            sh.append(size_int64(s))
            try:
                static.append(int(get_scalar_constant_value(s)))
            except NotScalarConstantError:
                static.append(None)
        off = len(shape) - value.type.ndim
        for i, vs in enumerate(value.type.shape):
            t = static[off + i]
            if vs is not None and vs != 1 and t is not None and t != vs:
                raise ValueError(f"alloc: value of shape {value.type.shape} cannot be broadcast "
                                 f"to shape {tuple(static)}")
            if static[off + i] is None and vs is not None and vs != 1:
                static[off + i] = vs
        return Apply(self, [value, *sh], [TensorType(value.type.dtype, tuple(static))()])

    def perform(self, node, inputs, output_storage):
        value, *shape = inputs
        out = np.empty(tuple(int(s) for s in shape), dtype=node.outputs[0].type.dtype)
        # Theano's rule: only a dimension whose type says length 1 broadcasts (the gradient
        # sums over exactly those), so a stray runtime 1 elsewhere is an error
        off = out.ndim - np.ndim(value)
        for i, static in enumerate(node.inputs[0].type.shape):
            if static != 1 and off >= 0 and value.shape[i] != out.shape[off + i]:
                raise ValueError(f"alloc: value of shape {np.shape(value)} cannot be broadcast "
                                 f"to shape {out.shape}: dimension {i} of the value has length "
                                 f"{value.shape[i]}, and only dimensions whose type says length 1 "
                                 f"broadcast (the value's type is {node.inputs[0].type})")
        try:
            out[...] = value
        except ValueError:
            raise ValueError(f"alloc: value of shape {np.shape(value)} cannot be broadcast to "
                             f"shape {out.shape}") from None
        output_storage[0][0] = out

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(node.inputs[1:])]

    def grad(self, inputs, gz):
        value = inputs[0]
        g = gz[0]
        nlead = g.type.ndim - value.type.ndim
        axes = list(range(nlead)) + [nlead + i for i, b in enumerate(value.type.broadcastable)
                                     if b and not g.type.broadcastable[nlead + i]]
        gv = tensor_api.sum(g, axis=axes, keepdims=True) if axes else g
        if nlead:
            gv = gv.dimshuffle([i for i in range(nlead, g.type.ndim)])
        return [cast(gv, value.type.dtype)] + [disconnected_type() for _ in inputs[1:]]


alloc = Alloc()


def _shape_args(shape):
    if isinstance(shape, (int, np.integer)) or (isinstance(shape, Variable) and shape.ndim == 0):
        return [shape]
    if isinstance(shape, Variable):
        return [shape[i] for i in range(_static_len(shape))]
    return list(shape)


def _static_len(v):
    n = v.type.shape[0]
    if n is None:
        try:
            return len(get_const_vector(v))
        except NotScalarConstantError:
            raise ValueError(f"the length of shape vector {v} is not known statically") from None
    return n


def get_const_vector(v):
    if isinstance(v, Constant):
        return list(np.asarray(v.data))
    raise NotScalarConstantError(f"{v} is not constant")


def zeros(shape, dtype=None):
    """An array of zeros; `shape` may mix ints and symbolic scalars."""
    return alloc(np.array(0, dtype=dtype or config.floatX), *_shape_args(shape))


def ones(shape, dtype=None):
    return alloc(np.array(1, dtype=dtype or config.floatX), *_shape_args(shape))


def full(shape, fill_value, dtype=None):
    value = as_tensor_variable(fill_value) if dtype is None else cast(fill_value, dtype)
    return alloc(value, *_shape_args(shape))


def transpose(x, axes=None):
    """Reverse (or permute by `axes`) the dimensions of x; a view."""
    x = as_tensor_variable(x)
    if axes is None:
        axes = tuple(reversed(range(x.type.ndim)))
    axes = tuple(int(a) % max(x.type.ndim, 1) for a in axes)
    if sorted(axes) != list(range(x.type.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.type.ndim} dimensions of {x}")
    return x.dimshuffle(axes)


def nonzero(x, return_matrix=False):
    """Indices of the non-zero elements of x (defined in advanced_subtensor, which registers it)."""
    return tensor_api.nonzero(x, return_matrix=return_matrix)


def bilinear_R_op(f, inputs, eval_points):
    """R_op of a product f(a, b) linear in each argument (dot, matmul, conv): f(ea, b) + f(a, eb)."""
    (a, b), (ea, eb) = inputs, eval_points
    terms = ([] if ea is None else [f(ea, b)]) + ([] if eb is None else [f(a, eb)])
    if not terms:
        return [None]
    return [terms[0] if len(terms) == 1 else terms[0] + terms[1]]


@shared_constructor
def _tensor_shared(value, name=None, strict=False, allow_downcast=None, borrow=False,
                   shape=None, broadcastable=None, target=None):
    """shared() for arrays and Python numbers: a TensorSharedVariable (other values: None)."""
    if not isinstance(value, (np.ndarray, np.generic, int, float, complex, bool, list, tuple)):
        return None
    arr = np.asarray(value) if not isinstance(value, np.ndarray) else value
    if arr.dtype == object:
        return None
    if not borrow or arr is not value:
        arr = np.array(arr, copy=True)
    if broadcastable is not None:
        shape = tuple(1 if b else None for b in broadcastable)
    if shape is None:
        shape = (None,) * arr.ndim
    ttype = TensorType(arr.dtype, shape)
    return TensorSharedVariable(ttype, arr, name=name, strict=strict, allow_downcast=allow_downcast)


# what the layers below (scalar ops, clone_replace) and TensorVariable's methods call
tensor_api.register(as_tensor_variable=as_tensor_variable, transpose=transpose)

__all__ = ["as_tensor_variable", "as_tensor", "constant", "cast", "alloc", "Alloc", "zeros",
           "ones", "full", "transpose", "get_scalar_constant_value", "NotScalarConstantError", "extract_constant",
           "TensorVariable", "TensorConstant"]
