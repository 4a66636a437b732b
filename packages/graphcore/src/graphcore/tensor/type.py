"""TensorType: dtype plus static shape (None = unknown; 1 = may broadcast)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import hashlib

import numpy as np

from graphcore.config import config
from graphcore.graph.hooks import tensor_api
from graphcore.graph.type import Type
from graphcore.scalar.basic import float_of
from graphcore.tensor.variable import TensorConstant, TensorVariable

# Theano's dtype prefixes for the constructors (bscalar, wvector, fmatrix, ...)
_PREFIX_DTYPES = {
    "b": "int8", "w": "int16", "i": "int32", "l": "int64",
    "f": "float32", "d": "float64", "c": "complex64", "z": "complex128",
}

SUPPORTED_DTYPES = frozenset([
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
])


_DTYPE_NAMES: dict[Any, str] = {}  # what np.dtype(x).name gives, memoized: types are made for every node


def _normalize_dtype(dtype):
    if dtype is None or (type(dtype) is str and dtype == "floatX"):
        dtype = config.floatX
    try:
        return _DTYPE_NAMES[dtype]
    except (KeyError, TypeError):
        pass
    try:
        name = np.dtype(dtype).name
    except TypeError:
        raise TypeError(f"TensorType: {dtype!r} is not a dtype") from None
    if name not in SUPPORTED_DTYPES:
        raise TypeError(f"TensorType: unsupported dtype {name!r}; supported: {sorted(SUPPORTED_DTYPES)}")
    try:
        _DTYPE_NAMES[dtype] = name
    except TypeError:  # unhashable spelling
        pass
    return name


# Theano's names of the broadcast patterns in a type's str (TensorType(float64, row))
_NAMED_PATTERNS = {(): "scalar", (False,): "vector", (False, True): "col", (True, False): "row",
                   (False, False): "matrix"}


class TensorType(Type):
    """The type of an n-dimensional array: its dtype and what is known of its shape.

    `shape[i]` is None when unknown. A dimension of static length 1 is
    "broadcastable": it may stretch against another operand at run time. A
    dimension of unknown length never broadcasts (Theano's rule), so a size-1
    value there meeting a longer one is an error, not a silent stretch.
    """

    def __init__(self, dtype: Any, shape: Sequence[int | bool | None] | None = None,
                 name: str | None = None, broadcastable: Sequence[bool] | None = None) -> None:
        if broadcastable is not None:
            if shape is not None:
                raise TypeError("TensorType: give shape or broadcastable, not both")
            shape = tuple(1 if b else None for b in broadcastable)
        if shape is None:
            raise TypeError("TensorType: shape (or broadcastable) is required")
        self.dtype = _normalize_dtype(dtype)
        norm: list[int | None] = []
        for s in shape:
            if s is None:
                norm.append(None)
            elif isinstance(s, (bool, np.bool_)):  # a broadcastable pattern passed as shape
                norm.append(1 if s else None)
            elif isinstance(s, (int, np.integer)) and s >= 0:
                norm.append(int(s))
            else:
                raise TypeError(f"TensorType: shape entries must be None or ints >= 0, got {s!r}")
        self.shape = tuple(norm)
        self.name = name
        self.numpy_dtype = np.dtype(self.dtype)
        self._broadcastable = tuple(s == 1 for s in self.shape)

    # -- derived properties ----------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        return self._broadcastable

    def clone(self, dtype: Any = None, shape: Sequence[int | bool | None] | None = None,
              broadcastable: Sequence[bool] | None = None) -> TensorType:
        if broadcastable is not None:
            shape = tuple(1 if b else None for b in broadcastable)
        return TensorType(self.dtype if dtype is None else dtype,
                          self.shape if shape is None else shape)

    # -- identity ---------------------------------------------------------
    def __eq__(self, other):
        return type(other) is type(self) and other.dtype == self.dtype and other.shape == self.shape

    def __hash__(self):
        return hash((type(self), self.dtype, self.shape))

    def __str__(self):
        # Theano's spelling, TensorType(float64, matrix); a static length other than 1
        # (which Theano's types could not hold) shows as shape=(3, ?)
        if self.name:
            return self.name
        if any(s not in (None, 1) for s in self.shape):
            return f"TensorType({self.dtype}, shape={self._shape_str()})"
        b = self._broadcastable
        kind = _NAMED_PATTERNS.get(b)
        if kind is None:
            kind = str(b) if any(b) else f"{len(b)}D"
        return f"TensorType({self.dtype}, {kind})"

    __repr__ = __str__

    def __call__(self, name: str | None = None, dtype: Any = None,
                 shape: Sequence[int | bool | None] | None = None) -> TensorVariable:
        """A new variable of this type, as Theano's `T.dmatrix('x')`; `dtype=`/`shape=` (the
        keywords of graphcore's constructors) give one of a variant of this type instead."""
        if dtype is None and shape is None:
            return self.make_variable(name)
        if shape is not None and len(shape) != self.ndim:
            raise TypeError(f"expected a shape of {self.ndim} dimensions, got {shape}")
        return TensorType(self.dtype if dtype is None else dtype,
                          self.shape if shape is None else shape).make_variable(name)

    def is_super(self, other):
        """True when `other` describes a subset of our values (same dtype/ndim, more shape info)."""
        if not isinstance(other, TensorType) or other.dtype != self.dtype or other.ndim != self.ndim:
            return False
        return all(s is None or s == o for s, o in zip(self.shape, other.shape))

    def convert_variable(self, var):
        if self.is_super(var.type):
            return var
        other = var.type
        if (isinstance(other, TensorType) and other.dtype == self.dtype
                and other.ndim == self.ndim
                and all(s is None or o is None or s == o for s, o in zip(self.shape, other.shape))):
            return tensor_api.specify_shape(var, self.shape)  # registered by tensor.shape
        return None

    # -- values -----------------------------------------------------------
    def filter(self, data: Any, strict: bool = False, allow_downcast: bool | None = None,
               name: str | None = None) -> Any:
        """Return `data` as an ndarray of this type, or raise TypeError saying why.

        A value is accepted without `allow_downcast` when converting it loses
        nothing: an array whose dtype casts safely, or Python numbers/lists that
        round-trip exactly (Theano also lets Python floats become floatX).
        """
        what = f"input {name!r}" if name else "value"
        if isinstance(data, np.ndarray) and data.dtype == self.numpy_dtype:
            arr = data
        elif strict:
            raise TypeError(
                f"{what}: expected an ndarray of dtype {self.dtype}, got "
                f"{type(data).__name__}{' of dtype ' + str(data.dtype) if hasattr(data, 'dtype') else ''}"
                " (strict=True)")
        elif isinstance(data, (np.ndarray, np.generic)):
            if np.can_cast(data.dtype, self.numpy_dtype, "safe") or allow_downcast:
                arr = np.asarray(data, dtype=self.numpy_dtype)
            else:
                raise TypeError(
                    f"{what}: expected dtype {self.dtype}, got an array of dtype {data.dtype}; "
                    f"converting {data.dtype} to {self.dtype} may lose data. Cast it yourself "
                    "or pass allow_input_downcast=True")
        else:
            arr = self._filter_python(data, what, allow_downcast)
        if arr.ndim != self.ndim:
            raise TypeError(f"{what}: expected {self.ndim} dimensions for type {self}, "
                            f"got {arr.ndim} (shape {arr.shape})")
        for axis, (want, got) in enumerate(zip(self.shape, arr.shape)):
            if want is not None and want != got:
                raise TypeError(f"{what}: expected shape {self._shape_str()} for type {self}, "
                                f"got {arr.shape} (dimension {axis} differs)")
        return arr

    def _shape_str(self):
        return "(" + ", ".join("?" if s is None else str(s) for s in self.shape) + (",)" if self.ndim == 1 else ")")

    def _filter_python(self, data, what, allow_downcast):
        try:
            raw = np.asarray(data)
        except Exception as exc:
            raise TypeError(f"{what}: cannot convert {type(data).__name__} to an array: {exc}") from None
        if raw.dtype == object:
            raise TypeError(f"{what}: cannot convert {type(data).__name__} to an array of {self.dtype}")
        if allow_downcast or np.can_cast(raw.dtype, self.numpy_dtype, "safe"):
            return np.asarray(raw, dtype=self.numpy_dtype)
        with np.errstate(all="ignore"):
            try:
                conv = raw.astype(self.numpy_dtype)
            except (TypeError, ValueError):
                conv = None
        if conv is not None:
            same = np.array_equal(conv, raw, equal_nan=raw.dtype.kind in "fc")
            # Python floats may become floatX (lossily) as in Theano.
            if same or (raw.dtype.kind == "f" and self.dtype == config.floatX
                        and allow_downcast is None):
                return conv
        raise TypeError(f"{what}: {data!r} cannot be represented exactly as {self.dtype}; "
                        "pass allow_input_downcast=True to allow a lossy conversion")

    def value_signature(self, data):
        arr = np.asarray(data)
        if arr.size <= 64:
            return (arr.shape, arr.dtype.str, arr.tobytes())
        return (arr.shape, arr.dtype.str, hashlib.sha1(np.ascontiguousarray(arr).tobytes()).hexdigest())

    def constant_str(self, data):
        arr = np.asarray(data)
        if arr.ndim == 0:
            return f"{arr.item()!r}" if arr.dtype.kind != "b" else str(bool(arr))
        if arr.size <= 8:
            return np.array2string(arr, separator=",").replace("\n", "")
        return f"TensorConstant{{{self.dtype}, shape={arr.shape}}}"

    def values_eq(self, a, b):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")

    def values_eq_approx(self, a, b, rtol=None, atol=None):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return False
        if a.dtype.kind not in "fc":
            return np.array_equal(a, b)
        tol = {"float16": 1e-2, "float32": 1e-4, "complex64": 1e-4}.get(a.dtype.name, 1e-8)
        return np.allclose(a, b, rtol=rtol or tol * 10, atol=atol or tol, equal_nan=True)

    def make_variable(self, name=None):
        return TensorVariable(self, None, None, name)

    def make_constant(self, value, name=None):
        return TensorConstant(self, value, name)


def _make_constructor(ndim_pattern, dtype_prefix):
    if dtype_prefix:  # as in Theano, T.dmatrix is the type itself: x.type is T.dmatrix
        return TensorType(_PREFIX_DTYPES[dtype_prefix], ndim_pattern)
    dtype = None

    def constructor(name=None, dtype=dtype, shape=None):
        d = config.floatX if dtype is None else dtype
        if shape is None:
            shape = ndim_pattern
        elif len(shape) != len(ndim_pattern):
            raise TypeError(f"expected a shape of {len(ndim_pattern)} dimensions, got {shape}")
        return TensorType(d, shape)(name)

    return constructor


# Theano's constructors: scalar, vector, row, col, matrix, tensor3..tensor7 with prefixes.
_PATTERNS = {
    "scalar": (), "vector": (None,), "row": (1, None), "col": (None, 1), "matrix": (None, None),
    "tensor3": (None,) * 3, "tensor4": (None,) * 4, "tensor5": (None,) * 5,
    "tensor6": (None,) * 6, "tensor7": (None,) * 7,
}
CONSTRUCTORS = {}
for _kind, _pat in _PATTERNS.items():
    CONSTRUCTORS[_kind] = _make_constructor(_pat, None)
    for _p in _PREFIX_DTYPES:
        CONSTRUCTORS[_p + _kind] = _make_constructor(_pat, _p)


def _make_plural(single):
    """Theano's plural constructors: dmatrices('a', 'b'), dscalars('xy'), fvectors(3)."""

    def plural(*names):
        if names and isinstance(names[0], int):
            return single() if names[0] == 1 else [single() for _ in range(names[0])]
        if len(names) == 1:
            names = names[0]  # one string: one variable per character, as in Theano
        if len(names) == 1:
            return single(names[0] if isinstance(names, (list, tuple)) else names)
        return [single(n) for n in names]

    return plural


_PLURALS = {"scalar": "scalars", "vector": "vectors", "row": "rows", "col": "cols",
            "matrix": "matrices", "tensor3": "tensor3s", "tensor4": "tensor4s",
            "tensor5": "tensor5s", "tensor6": "tensor6s", "tensor7": "tensor7s"}
for _kind, _plural in _PLURALS.items():
    for _p in ("", *_PREFIX_DTYPES):
        CONSTRUCTORS[_p + _plural] = _make_plural(CONSTRUCTORS[_p + _kind])
globals().update(CONSTRUCTORS)


def tensor(dtype=None, shape=None, name=None, broadcastable=None, ndim=None):
    """A symbolic tensor; `tensor("float32", shape=(None, 3))` or Theano's broadcastable form."""
    if isinstance(dtype, str) and name is None and shape is None and broadcastable is None \
            and ndim is None and dtype not in SUPPORTED_DTYPES and dtype != "floatX":
        dtype, name = None, dtype  # tensor("x") style
    if ndim is not None and shape is None and broadcastable is None:
        shape = (None,) * ndim
    if shape is None and broadcastable is None:
        raise TypeError("tensor(): give shape, broadcastable or ndim")
    return TensorType(dtype, shape=shape, broadcastable=broadcastable)(name)


def tensor_type_from_value(value):
    """The most general TensorType a value belongs to (no static dims)."""
    arr = np.asarray(value)
    return TensorType(arr.dtype, (None,) * arr.ndim)


upcast_float_dtype = float_of  # the float dtype of exp(x) for x of `dtype` (one rule, cached)

tensor_api.register(TensorType=TensorType)  # scalar ops make 0-d tensors
