"""The tensor math namespace: elementwise functions, reductions and products.

Each elementwise function is an `Elemwise` over a scalar op; Python numbers
mixed in are weak (NEP 50), so `x * 2` keeps x's dtype.
"""

from __future__ import annotations

import builtins

import numpy as np

from graphcore.config import config
from graphcore.scalar import ops as so
from graphcore.tensor.basic import as_tensor_variable, cast, constant
from graphcore.tensor.dot import dot, matmul, outer  # noqa: F401
from graphcore.tensor.elemwise import Elemwise
from graphcore.tensor.reduction import (all, any, argmax, argmin, max, max_and_argmax, mean,  # noqa: F401,A004
                                        min, prod, std, sum, var)


def _ew(scalar_op, name, doc):
    fn = Elemwise(scalar_op, name=name)
    fn.__doc__ = doc
    return fn


# arithmetic
add = _ew(so.add, "add", "a + b + ...")
sub = _ew(so.sub, "sub", "a - b")
mul = _ew(so.mul, "mul", "a * b * ...")
true_div = _ew(so.true_div, "true_div", "a / b; integers give floats")
int_div = _ew(so.int_div, "int_div", "a // b (floor division)")
floor_div = int_div
mod = _ew(so.mod, "mod", "a % b with the sign of b, as in NumPy")
pow = _ew(so.pow, "pow", "a ** b")  # noqa: A001
neg = _ew(so.neg, "neg", "-a")
abs = _ew(so.abs_, "abs", "|a|")  # noqa: A001
abs_ = abs
sgn = _ew(so.sgn, "sgn", "sign of a: -1, 0 or 1")
sqr = _ew(so.sqr, "sqr", "a * a")
square = sqr
maximum = _ew(so.maximum, "maximum", "elementwise maximum (NaN propagates)")
minimum = _ew(so.minimum, "minimum", "elementwise minimum (NaN propagates)")
reciprocal = _ew(so.reciprocal, "reciprocal", "1 / a")
inv = reciprocal
tensor_copy = _ew(so.identity, "tensor_copy", "a copy of a")
identity = tensor_copy
fill = _ew(so.second, "fill", "fill(a, b): b broadcast to the shape of a")
second = fill

# float functions
exp = _ew(so.exp, "exp", "e ** a")
exp2 = _ew(so.exp2, "exp2", "2 ** a")
expm1 = _ew(so.expm1, "expm1", "exp(a) - 1, accurate for small a")
log = _ew(so.log, "log", "natural logarithm")
log2 = _ew(so.log2, "log2", "base-2 logarithm")
log10 = _ew(so.log10, "log10", "base-10 logarithm")
log1p = _ew(so.log1p, "log1p", "log(1 + a), accurate for small a")
sqrt = _ew(so.sqrt, "sqrt", "square root")
sin = _ew(so.sin, "sin", "sine")
cos = _ew(so.cos, "cos", "cosine")
tanh = _ew(so.tanh, "tanh", "hyperbolic tangent")
sigmoid = _ew(so.sigmoid, "sigmoid", "1 / (1 + exp(-a))")
softplus = _ew(so.softplus, "softplus", "log(1 + exp(a)), stable for large |a|")

# comparisons and logic
eq = _ew(so.eq, "eq", "a == b")
neq = _ew(so.neq, "neq", "a != b")
lt = _ew(so.lt, "lt", "a < b")
gt = _ew(so.gt, "gt", "a > b")
le = _ew(so.le, "le", "a <= b")
ge = _ew(so.ge, "ge", "a >= b")
isnan = _ew(so.isnan, "isnan", "a is NaN")
isinf = _ew(so.isinf, "isinf", "a is infinite")
and_ = _ew(so.and_, "and_", "bitwise and (logical on bools)")
or_ = _ew(so.or_, "or_", "bitwise or (logical on bools)")
xor = _ew(so.xor, "xor", "bitwise xor (logical on bools)")
invert = _ew(so.invert, "invert", "bitwise not (logical on bools)")
bitwise_and, bitwise_or, bitwise_xor, bitwise_not = and_, or_, xor, invert
switch = _ew(so.switch, "switch", "switch(cond, a, b): a where cond, else b")


def where(cond, a=None, b=None):
    """np.where: the 3-argument form selects elementwise; the 1-argument form is nonzero."""
    if a is None and b is None:
        from graphcore.tensor import basic

        return basic.nonzero(cond)
    if a is None or b is None:
        raise TypeError("where: give both a and b, or neither")
    return switch(cond, a, b)


def clip(x, a_min, a_max):
    """x limited to [a_min, a_max] elementwise."""
    return minimum(maximum(x, a_min), a_max)


def zeros_like(x, dtype=None):
    x = as_tensor_variable(x)
    return fill(x, constant(np.zeros((), dtype=dtype or x.type.dtype)))


def ones_like(x, dtype=None):
    x = as_tensor_variable(x)
    return fill(x, constant(np.ones((), dtype=dtype or x.type.dtype)))


def real(x):
    x = as_tensor_variable(x)
    if np.dtype(x.type.dtype).kind != "c":
        return x
    raise NotImplementedError("real() of complex tensors arrives with the complex ops")


def conj(x):
    x = as_tensor_variable(x)
    if np.dtype(x.type.dtype).kind != "c":
        return x
    raise NotImplementedError("conj() of complex tensors arrives with the complex ops")


def round(x, mode="half_to_even"):  # noqa: A001
    raise NotImplementedError("round() arrives with the full op catalogue")


__all__ = [n for n in dir() if not n.startswith("_") and n not in ("np", "builtins", "config", "so",
                                                                   "annotations")]
del builtins
