"""dtype <-> CUDA C: the type names, literals and limits every generated kernel uses."""

from __future__ import annotations

import math

import numpy as np

# NumPy dtype name -> CUDA C type (bool is one byte in both)
CTYPE = {
    "bool": "bool",
    "int8": "signed char", "int16": "short", "int32": "int", "int64": "long long",
    "uint8": "unsigned char", "uint16": "unsigned short", "uint32": "unsigned int",
    "uint64": "unsigned long long",
    "float32": "float", "float64": "double",
}
DTYPES = tuple(CTYPE)


class UnsupportedDtype(TypeError):
    """A dtype the generated kernels do not handle (float16, complex, ...)."""


def ctype(dtype) -> str:
    name = np.dtype(dtype).name
    try:
        return CTYPE[name]
    except KeyError:
        raise UnsupportedDtype(f"graphrt-cuda generates no kernels for dtype {name}") from None


def kind(dtype) -> str:
    """'b' bool, 'i' signed, 'u' unsigned, 'f' float."""
    return np.dtype(dtype).kind


def literal(value, dtype) -> str:
    """`value` as a CUDA C literal of `dtype` (inf and nan spelled portably)."""
    name = np.dtype(dtype).name
    ct = ctype(name)
    if name == "bool":
        return "true" if bool(value) else "false"
    if kind(name) == "f":
        v = float(value)
        if math.isnan(v):
            return f"(({ct})__int_as_float(0x7fc00000))" if name == "float32" else \
                f"(({ct})__longlong_as_double(0x7ff8000000000000LL))"
        if math.isinf(v):
            inf = "__int_as_float(0x7f800000)" if name == "float32" else \
                "__longlong_as_double(0x7ff0000000000000LL)"
            return f"(({ct})({'-' if v < 0 else ''}{inf}))"
        text = repr(v)
        return f"{text}f" if name == "float32" else text
    v = int(value)
    if name == "int64":
        # -2**63 cannot be written as a literal: negate after
        return f"((long long){v}LL)" if v > -(1 << 63) else "(-9223372036854775807LL - 1)"
    if name == "uint64":
        return f"{v}ULL"
    if name == "uint32":
        return f"{v}U"
    return f"(({ct}){v})"


def lowest(dtype) -> str:
    """The identity of maximum over `dtype`: -inf for floats, the smallest integer else."""
    name = np.dtype(dtype).name
    if kind(name) == "f":
        return literal(-np.inf, name)
    if name == "bool":
        return "false"
    return literal(np.iinfo(name).min, name)


def highest(dtype) -> str:
    """The identity of minimum over `dtype`."""
    name = np.dtype(dtype).name
    if kind(name) == "f":
        return literal(np.inf, name)
    if name == "bool":
        return "true"
    return literal(np.iinfo(name).max, name)


def fsuffix(dtype) -> str:
    """'f' for float32 (expf), '' for float64 (exp)."""
    return "f" if np.dtype(dtype).name == "float32" else ""


INDEX_CTYPE = {32: "int", 64: "long long"}
