"""The tensor math namespace: elementwise functions, reductions and products.

Each elementwise function is an `Elemwise` over a scalar op; Python numbers
mixed in are weak (NEP 50), so `x * 2` keeps x's dtype.
"""

from __future__ import annotations

import builtins

import numpy as np

import graphcore.scalar as so
from graphcore.graph.hooks import tensor_api
from graphcore.tensor.basic import as_tensor_variable, cast, constant
from graphcore.tensor.dot import dot, matmul, outer  # noqa: F401
from graphcore.tensor.elemwise import Elemwise
from graphcore.tensor.reduction import (all, any, argmax, argmin, logsumexp, max,  # noqa: F401,A004
                                        max_and_argmax, mean, min, prod, ptp, std, sum, var)
from graphcore.tensor.cumulative import cumprod, cumsum  # noqa: F401
from graphcore.tensor.sort import (argsort, argtopk, inverse_permutation,  # noqa: F401
                                   permute_row_elements, sort, topk, topk_and_argtopk)


def _ew(scalar_op, name, doc):
    fn = Elemwise(scalar_op, name=name)
    fn.__doc__ = doc
    return fn


# arithmetic
add = _ew(so.add, "add", "a + b + ...")
sub = _ew(so.sub, "sub", "a - b")
mul = _ew(so.mul, "mul", "a * b * ...")
true_div = _ew(so.true_div, "true_div", "a / b; integers give floats (int8/int16 -> float32)")
true_divide = divide = true_div
int_div = _ew(so.int_div, "int_div", "a // b (floor division)")
floor_div = floor_divide = int_div
mod = _ew(so.mod, "mod", "a % b with the sign of b, as in NumPy")
pow = _ew(so.pow, "pow", "a ** b")  # noqa: A001
neg = _ew(so.neg, "neg", "-a")
abs = _ew(so.abs_, "abs", "|a|")  # noqa: A001
abs_ = absolute = abs
sgn = _ew(so.sgn, "sgn", "sign of a: -1, 0 or 1 (z / |z| for complex z)")
sign = sgn
sqr = _ew(so.sqr, "sqr", "a * a")
square = sqr
maximum = _ew(so.maximum, "maximum", "elementwise maximum (NaN propagates)")
minimum = _ew(so.minimum, "minimum", "elementwise minimum (NaN propagates)")
reciprocal = _ew(so.reciprocal, "reciprocal", "1 / a")
inv = reciprocal
power = pow
negative = neg
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
log1mexp = _ew(so.log1mexp, "log1mexp", "log(1 - exp(a)) for a <= 0, accurate everywhere")
logaddexp = _ew(so.logaddexp, "logaddexp", "log(exp(a) + exp(b)) without overflow")
sqrt = _ew(so.sqrt, "sqrt", "square root")
sin = _ew(so.sin, "sin", "sine")
cos = _ew(so.cos, "cos", "cosine")
tan = _ew(so.tan, "tan", "tangent")
arcsin = _ew(so.arcsin, "arcsin", "inverse sine")
arccos = _ew(so.arccos, "arccos", "inverse cosine")
arctan = _ew(so.arctan, "arctan", "inverse tangent")
arctan2 = _ew(so.arctan2, "arctan2", "arctan2(y, x): the angle of the point (x, y)")
sinh = _ew(so.sinh, "sinh", "hyperbolic sine")
cosh = _ew(so.cosh, "cosh", "hyperbolic cosine")
tanh = _ew(so.tanh, "tanh", "hyperbolic tangent")
arcsinh = _ew(so.arcsinh, "arcsinh", "inverse hyperbolic sine")
arccosh = _ew(so.arccosh, "arccosh", "inverse hyperbolic cosine")
arctanh = _ew(so.arctanh, "arctanh", "inverse hyperbolic tangent")
deg2rad = _ew(so.deg2rad, "deg2rad", "degrees to radians")
rad2deg = _ew(so.rad2deg, "rad2deg", "radians to degrees")
sigmoid = _ew(so.sigmoid, "sigmoid", "1 / (1 + exp(-a))")
expit = sigmoid
softplus = _ew(so.softplus, "softplus", "log(1 + exp(a)), stable for large |a|")
erf = _ew(so.erf, "erf", "error function")
erfc = _ew(so.erfc, "erfc", "1 - erf(a), accurate for large a")
erfinv = _ew(so.erfinv, "erfinv", "inverse of erf")
erfcinv = _ew(so.erfcinv, "erfcinv", "inverse of erfc")
erfcx = _ew(so.erfcx, "erfcx", "exp(a**2) * erfc(a), without overflow")
gamma = _ew(so.gamma, "gamma", "the gamma function")
gammaln = _ew(so.gammaln, "gammaln", "log |gamma(a)|")
psi = _ew(so.psi, "psi", "digamma: the derivative of gammaln")
digamma = psi
tri_gamma = _ew(so.tri_gamma, "tri_gamma", "trigamma: the derivative of psi")
polygamma1 = tri_gamma
j0 = _ew(so.j0, "j0", "Bessel function of the first kind, order 0")
j1 = _ew(so.j1, "j1", "Bessel function of the first kind, order 1")
jv = _ew(so.jv, "jv", "jv(v, x): Bessel function of the first kind of order v")
i0 = _ew(so.i0, "i0", "modified Bessel function of the first kind, order 0")
i1 = _ew(so.i1, "i1", "modified Bessel function of the first kind, order 1")
iv = _ew(so.iv, "iv", "iv(v, x): modified Bessel function of the first kind of order v")
gammainc = _ew(so.gammainc, "gammainc", "gammainc(k, x): regularized lower incomplete gamma")
gammaincc = _ew(so.gammaincc, "gammaincc", "gammaincc(k, x): regularized upper incomplete gamma")
gammau = _ew(so.gammau, "gammau", "gammau(k, x): upper incomplete gamma (not regularized)")
gammal = _ew(so.gammal, "gammal", "gammal(k, x): lower incomplete gamma (not regularized)")
chi2sf = _ew(so.chi2sf, "chi2sf", "chi2sf(x, k): chi-squared survival function")
xlogx = _ew(so.xlogx, "xlogx", "x * log(x), 0 at x == 0")
xlogy0 = _ew(so.xlogy0, "xlogy0", "x * log(y), 0 where x == 0")

# rounding (integers keep their dtype and value, as in NumPy; the gradient is zero)
floor = _ew(so.floor, "floor", "largest integer <= a")
ceil = _ew(so.ceil, "ceil", "smallest integer >= a")
trunc = _ew(so.trunc, "trunc", "a rounded towards zero")
round_half_to_even = _ew(so.round_half_to_even, "round_half_to_even",
                         "nearest integer, ties to even (NumPy's round)")
round_half_away_from_zero = _ew(so.round_half_away_from_zero, "round_half_away_from_zero",
                                "nearest integer, ties away from zero")

# comparisons and logic
eq = _ew(so.eq, "eq", "a == b")
neq = _ew(so.neq, "neq", "a != b")
lt = _ew(so.lt, "lt", "a < b")
gt = _ew(so.gt, "gt", "a > b")
le = _ew(so.le, "le", "a <= b")
ge = _ew(so.ge, "ge", "a >= b")
equal, not_equal, less, greater, less_equal, greater_equal = eq, neq, lt, gt, le, ge
isnan = _ew(so.isnan, "isnan", "a is NaN")
isinf = _ew(so.isinf, "isinf", "a is infinite")
and_ = _ew(so.and_, "and_", "bitwise and (logical on bools)")
or_ = _ew(so.or_, "or_", "bitwise or (logical on bools)")
xor = _ew(so.xor, "xor", "bitwise xor (logical on bools)")
invert = _ew(so.invert, "invert", "bitwise not (logical on bools)")
bitwise_and, bitwise_or, bitwise_xor, bitwise_not = and_, or_, xor, invert
switch = _ew(so.switch, "switch", "switch(cond, a, b): a where cond, else b")

# complex numbers
_real = _ew(so.real, "real", "real part")
_imag = _ew(so.imag, "imag", "imaginary part")
_conj = _ew(so.conj, "conj", "complex conjugate")
angle = _ew(so.angle, "angle", "argument (phase) of a complex number, in (-pi, pi]")
complex = _ew(so.complex_, "complex", "complex(re, im) = re + 1j * im")  # noqa: A001
complex_from_polar = _ew(so.complex_from_polar, "complex_from_polar", "r * exp(1j * theta)")


def real(x):
    """The real part of x (x itself when x is real)."""
    x = as_tensor_variable(x)
    return _real(x) if np.dtype(x.type.dtype).kind == "c" else x


def imag(x):
    """The imaginary part of x (zeros of x's dtype when x is real)."""
    x = as_tensor_variable(x)
    return _imag(x) if np.dtype(x.type.dtype).kind == "c" else zeros_like(x)


def conj(x):
    """The complex conjugate of x (x itself when x is real)."""
    x = as_tensor_variable(x)
    return _conj(x) if np.dtype(x.type.dtype).kind == "c" else x


conjugate = conj


def where(cond, a=None, b=None):
    """np.where: the 3-argument form selects elementwise; the 1-argument form is nonzero."""
    if a is None and b is None:
        return tensor_api.nonzero(cond)  # registered by tensor.advanced_subtensor
    if a is None or b is None:
        raise TypeError("where: give both a and b, or neither")
    return switch(cond, a, b)


_clip = _ew(so.clip, "clip", "x limited to [lo, hi]")


def clip(x, a_min, a_max):
    """x limited to [a_min, a_max] elementwise (np.clip; either bound may be None).

    The gradient flows to x where a_min <= x <= a_max, else to the bound that was hit.
    """
    if a_min is None and a_max is None:
        raise ValueError("clip: give a_min, a_max or both")
    if a_min is None:
        return minimum(x, a_max)
    if a_max is None:
        return maximum(x, a_min)
    return _clip(x, a_min, a_max)


def round(x, mode="half_to_even"):  # noqa: A001
    """x rounded to the nearest integer; `mode` says how ties go.

    mode "half_to_even" (the default: NumPy's and Python's rounding) or
    "half_away_from_zero" (C's round). Theano's default was half_away_from_zero
    (with a warning); pass it explicitly to get Theano's numbers.
    """
    if mode is None or mode == "half_to_even":
        return round_half_to_even(x)
    if mode == "half_away_from_zero":
        return round_half_away_from_zero(x)
    raise ValueError(f"round: mode must be 'half_to_even' or 'half_away_from_zero', got {mode!r}")


def iround(x, mode="half_to_even"):
    """round(x, mode) as int64."""
    return cast(round(x, mode), "int64")


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|a - b| <= atol + rtol * |b| elementwise (np.isclose)."""
    return Elemwise(so.IsClose(rtol, atol, equal_nan), name="isclose")(a, b)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether isclose holds everywhere (a boolean scalar)."""
    return all(isclose(a, b, rtol, atol, equal_nan))


def ceil_intdiv(a, b):
    """a / b rounded up, for integers (-(-a // b))."""
    return neg(int_div(neg(a), b))


def divmod(a, b):  # noqa: A001  (Theano's T.divmod)
    """(a // b, a % b) elementwise, as Python's divmod and np.divmod (floor division)."""
    return int_div(a, b), mod(a, b)


def largest(*args):
    """The elementwise maximum of all the arguments."""
    if not args:
        raise TypeError("largest: needs at least one argument")
    out = as_tensor_variable(args[0])
    for a in args[1:]:
        out = maximum(out, a)
    return out


def smallest(*args):
    """The elementwise minimum of all the arguments."""
    if not args:
        raise TypeError("smallest: needs at least one argument")
    out = as_tensor_variable(args[0])
    for a in args[1:]:
        out = minimum(out, a)
    return out


def zeros_like(x, dtype=None):
    x = as_tensor_variable(x)
    return fill(x, constant(np.zeros((), dtype=dtype or x.type.dtype)))


def ones_like(x, dtype=None):
    x = as_tensor_variable(x)
    return fill(x, constant(np.ones((), dtype=dtype or x.type.dtype)))


__all__ = [n for n in dir() if not n.startswith("_") and n not in ("np", "builtins", "config", "so",
                                                                   "annotations", "Elemwise",
                                                                   "tensor_api")]

# The layers below write scalar gradients and TensorVariable's operators with these functions.
tensor_api.register(**{name: globals()[name] for name in __all__})
del builtins
