"""More scalar ops: trigonometry, rounding, special functions, clipping and complex numbers.

Same pattern as `graphcore.scalar.ops`: each class is one elementwise function
with a NumPy/SciPy `impl`, a dtype rule, and its derivative written with
tensor functions (`m` is graph.hooks.tensor_api, filled in by graphcore.tensor.math).
"""

from __future__ import annotations

import numpy as np
from scipy import special as sp

from graphcore.graph.null_type import grad_not_implemented
from graphcore.scalar.basic import BinaryScalarOp, ScalarOp, UnaryScalarOp, disconnected_grads
from graphcore.scalar.ops import _m, _unary_float


# --------------------------------------------------------------- trigonometry
def _inv_sqrt(m, v):
    return m.reciprocal(m.sqrt(v))


Tan = _unary_float("Tan", np.tan, lambda m, x, y: m.add(1, m.sqr(y)), "tangent")
ArcSin = _unary_float("ArcSin", np.arcsin, lambda m, x, y: _inv_sqrt(m, m.sub(1, m.sqr(x))),
                      "inverse sine")
ArcCos = _unary_float("ArcCos", np.arccos, lambda m, x, y: m.neg(_inv_sqrt(m, m.sub(1, m.sqr(x)))),
                      "inverse cosine")
ArcTan = _unary_float("ArcTan", np.arctan, lambda m, x, y: m.reciprocal(m.add(1, m.sqr(x))),
                      "inverse tangent")
Sinh = _unary_float("Sinh", np.sinh, lambda m, x, y: m.cosh(x), "hyperbolic sine")
Cosh = _unary_float("Cosh", np.cosh, lambda m, x, y: m.sinh(x), "hyperbolic cosine")
ArcSinh = _unary_float("ArcSinh", np.arcsinh, lambda m, x, y: _inv_sqrt(m, m.add(m.sqr(x), 1)),
                       "inverse hyperbolic sine")
ArcCosh = _unary_float("ArcCosh", np.arccosh, lambda m, x, y: _inv_sqrt(m, m.sub(m.sqr(x), 1)),
                       "inverse hyperbolic cosine")
ArcTanh = _unary_float("ArcTanh", np.arctanh, lambda m, x, y: m.reciprocal(m.sub(1, m.sqr(x))),
                       "inverse hyperbolic tangent")
Deg2Rad = _unary_float("Deg2Rad", np.deg2rad, lambda m, x, y: np.pi / 180.0, "degrees to radians")
Rad2Deg = _unary_float("Rad2Deg", np.rad2deg, lambda m, x, y: 180.0 / np.pi, "radians to degrees")


class ArcTan2(BinaryScalarOp):
    """arctan2(y, x): the angle of the point (x, y), in (-pi, pi]."""

    ufunc = np.arctan2
    dtype_rule = "float"

    def grad(self, inputs, gz):
        m = _m()
        y, x = inputs
        r2 = m.add(m.sqr(x), m.sqr(y))
        return [m.true_div(m.mul(gz[0], x), r2), m.neg(m.true_div(m.mul(gz[0], y), r2))]


# ------------------------------------------------------------------- rounding
class _Rounding(UnaryScalarOp):
    """Piecewise constant: the gradient is zero (as in Theano). Integers keep their dtype (NumPy)."""

    def grad(self, inputs, gz):
        return [_m().zeros_like(inputs[0])]


class Floor(_Rounding):
    ufunc = np.floor


class Ceil(_Rounding):
    ufunc = np.ceil


class Trunc(_Rounding):
    ufunc = np.trunc


class RoundHalfToEven(_Rounding):
    """Round to the nearest integer, ties to even (np.round, Python's round)."""

    dtype_rule = "same"

    def impl(self, x):
        return np.round(x)


class RoundHalfAwayFromZero(_Rounding):
    """Round to the nearest integer, ties away from zero (C's round)."""

    dtype_rule = "same"

    def impl(self, x):
        if np.asarray(x).dtype.kind not in "fc":
            return x
        return np.where(x >= 0, np.floor(x + 0.5), np.ceil(x - 0.5)).astype(np.asarray(x).dtype)


# ------------------------------------------------------------------- clipping
class Clip(ScalarOp):
    """clip(x, lo, hi): x limited to [lo, hi] (NumPy's np.clip: hi wins when lo > hi)."""

    nin = 3

    def check_input_dtypes(self, dtypes):
        super().check_input_dtypes(dtypes)
        if any(np.dtype(d).kind == "c" for d in dtypes):
            raise TypeError(f"{self}: complex numbers are not ordered (got {list(dtypes)})")

    def impl(self, x, lo, hi):
        return np.minimum(np.maximum(x, lo), hi)

    def grad(self, inputs, gz):
        m = _m()
        x, lo, hi = inputs
        g = gz[0]
        inside = m.and_(m.ge(x, lo), m.le(x, hi))
        return [m.mul(g, inside), m.mul(g, m.and_(m.lt(x, lo), m.le(lo, hi))),
                m.mul(g, m.or_(m.gt(x, hi), m.gt(lo, hi)))]


class IsClose(BinaryScalarOp):
    """|a - b| <= atol + rtol * |b| (np.isclose)."""

    __props__ = ("rtol", "atol", "equal_nan")
    dtype_rule = "bool"

    def __init__(self, rtol=1e-5, atol=1e-8, equal_nan=False):
        self.rtol, self.atol, self.equal_nan = float(rtol), float(atol), bool(equal_nan)

    def impl(self, a, b):
        return np.isclose(a, b, rtol=self.rtol, atol=self.atol, equal_nan=self.equal_nan)

    def grad(self, inputs, gz):
        return disconnected_grads(inputs)


# ---------------------------------------------------------- special functions
_TWO_OVER_SQRT_PI = 2.0 / np.sqrt(np.pi)

Erf = _unary_float("Erf", sp.erf, lambda m, x, y: m.mul(_TWO_OVER_SQRT_PI, m.exp(m.neg(m.sqr(x)))),
                   "error function")
Erfc = _unary_float("Erfc", sp.erfc,
                    lambda m, x, y: m.mul(-_TWO_OVER_SQRT_PI, m.exp(m.neg(m.sqr(x)))),
                    "complementary error function 1 - erf(x)")
Erfinv = _unary_float("Erfinv", sp.erfinv,
                      lambda m, x, y: m.mul(np.sqrt(np.pi) / 2, m.exp(m.sqr(y))),
                      "inverse error function")
Erfcinv = _unary_float("Erfcinv", sp.erfcinv,
                       lambda m, x, y: m.mul(-np.sqrt(np.pi) / 2, m.exp(m.sqr(y))),
                       "inverse complementary error function")
Erfcx = _unary_float("Erfcx", sp.erfcx,
                     lambda m, x, y: m.sub(m.mul(2, x, y), _TWO_OVER_SQRT_PI),
                     "scaled complementary error function exp(x**2) * erfc(x)")
Gamma = _unary_float("Gamma", sp.gamma, lambda m, x, y: m.mul(y, m.psi(x)), "gamma function")
GammaLn = _unary_float("GammaLn", sp.gammaln, lambda m, x, y: m.psi(x),
                       "log of the absolute value of the gamma function")
Psi = _unary_float("Psi", sp.psi, lambda m, x, y: m.tri_gamma(x), "digamma: d/dx log gamma(x)")


class TriGamma(UnaryScalarOp):
    """Trigamma: d/dx digamma(x) (polygamma(1, x))."""

    dtype_rule = "float"

    def impl(self, x):
        return sp.polygamma(1, x)

    def L_op(self, inputs, outputs, gz):
        return [grad_not_implemented(self, 0, inputs[0])]


def _log1mexp(x):
    # log(1 - exp(x)) for x <= 0: log(-expm1(x)) near 0, log1p(-exp(x)) far from it
    return np.where(x > -np.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


Log1mexp = _unary_float("Log1mexp", _log1mexp, lambda m, x, y: m.neg(m.reciprocal(m.expm1(m.neg(x)))),
                        "log(1 - exp(x)) for x <= 0, accurate near 0 and for large -x")


class LogAddExp(BinaryScalarOp):
    """log(exp(a) + exp(b)) without overflow (np.logaddexp)."""

    ufunc = np.logaddexp
    dtype_rule = "float"
    commutative = associative = True

    def L_op(self, inputs, outputs, gz):
        m = _m()
        a, b = inputs
        return [m.mul(gz[0], m.sigmoid(m.sub(a, b))), m.mul(gz[0], m.sigmoid(m.sub(b, a)))]


class _BinaryNoGradFirst(BinaryScalarOp):
    """A float function f(a, x) differentiable in x only (the gradient in a is not implemented)."""

    dtype_rule = "float"

    def dx(self, m, a, x, out):
        raise NotImplementedError

    def L_op(self, inputs, outputs, gz):
        m = _m()
        a, x = inputs
        return [grad_not_implemented(self, 0, a),
                m.mul(gz[0], self.dx(m, a, x, outputs[0]))]


J0 = _unary_float("J0", sp.j0, lambda m, x, y: m.neg(m.j1(x)), "Bessel function of the first kind, order 0")
J1 = _unary_float("J1", sp.j1, lambda m, x, y: m.mul(0.5, m.sub(m.j0(x), m.jv(2, x))),
                  "Bessel function of the first kind, order 1")
I0 = _unary_float("I0", sp.i0, lambda m, x, y: m.i1(x), "modified Bessel function, order 0")
I1 = _unary_float("I1", sp.i1, lambda m, x, y: m.mul(0.5, m.add(m.i0(x), m.iv(2, x))),
                  "modified Bessel function, order 1")


class Jv(_BinaryNoGradFirst):
    """jv(v, x): Bessel function of the first kind of real order v."""

    ufunc = staticmethod(sp.jv)

    def dx(self, m, v, x, out):
        return m.mul(0.5, m.sub(m.jv(m.sub(v, 1), x), m.jv(m.add(v, 1), x)))


class Iv(_BinaryNoGradFirst):
    """iv(v, x): modified Bessel function of the first kind of real order v."""

    ufunc = staticmethod(sp.iv)

    def dx(self, m, v, x, out):
        return m.mul(0.5, m.add(m.iv(m.sub(v, 1), x), m.iv(m.add(v, 1), x)))


def _gamma_density(m, k, x):
    # x**(k-1) exp(-x) / gamma(k), computed in log space
    return m.exp(m.sub(m.sub(m.mul(m.sub(k, 1), m.log(x)), x), m.gammaln(k)))


class GammaInc(_BinaryNoGradFirst):
    """Regularized lower incomplete gamma function P(k, x)."""

    ufunc = staticmethod(sp.gammainc)

    def dx(self, m, k, x, out):
        return _gamma_density(m, k, x)


class GammaIncC(_BinaryNoGradFirst):
    """Regularized upper incomplete gamma function Q(k, x) = 1 - P(k, x)."""

    ufunc = staticmethod(sp.gammaincc)

    def dx(self, m, k, x, out):
        return m.neg(_gamma_density(m, k, x))


class GammaU(_BinaryNoGradFirst):
    """Upper incomplete gamma function (not regularized): gamma(k) Q(k, x)."""

    def impl(self, k, x):
        return sp.gammaincc(k, x) * sp.gamma(k)

    def dx(self, m, k, x, out):
        return m.neg(m.mul(m.pow(x, m.sub(k, 1)), m.exp(m.neg(x))))


class GammaL(_BinaryNoGradFirst):
    """Lower incomplete gamma function (not regularized): gamma(k) P(k, x)."""

    def impl(self, k, x):
        return sp.gammainc(k, x) * sp.gamma(k)

    def dx(self, m, k, x, out):
        return m.mul(m.pow(x, m.sub(k, 1)), m.exp(m.neg(x)))


class Chi2SF(BinaryScalarOp):
    """chi2sf(x, k): survival function of the chi-squared distribution with k degrees of freedom."""

    dtype_rule = "float"

    def impl(self, x, k):
        return sp.chdtrc(k, x)

    def L_op(self, inputs, outputs, gz):
        m = _m()
        x, k = inputs
        half_k = m.mul(k, 0.5)
        pdf = m.exp(m.sub(m.sub(m.mul(m.sub(half_k, 1), m.log(x)), m.mul(x, 0.5)),
                          m.add(m.mul(half_k, np.log(2.0)), m.gammaln(half_k))))
        return [m.neg(m.mul(gz[0], pdf)), grad_not_implemented(self, 1, k)]


class XlogX(UnaryScalarOp):
    """x * log(x), taken as 0 at x == 0."""

    dtype_rule = "float"

    def impl(self, x):
        return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, x)))

    def L_op(self, inputs, outputs, gz):
        m = _m()
        return [m.mul(gz[0], m.add(m.log(inputs[0]), 1))]


class XlogY0(BinaryScalarOp):
    """x * log(y), taken as 0 where x == 0."""

    dtype_rule = "float"

    def impl(self, x, y):
        return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))

    def L_op(self, inputs, outputs, gz):
        m = _m()
        x, y = inputs
        return [m.mul(gz[0], m.log(y)), m.mul(gz[0], m.true_div(x, y))]


# -------------------------------------------------------------------- complex
# Gradients of a real cost C with respect to a complex z = a + ib follow
# Theano's convention: dC/dz = dC/da + i dC/db.
def _real_dtype(dtype):
    d = np.dtype(dtype)
    return {"complex64": "float32", "complex128": "float64"}.get(d.name, d.name)


class Real(UnaryScalarOp):
    """The real part (a real input is returned unchanged)."""

    def impl(self, x):
        return np.real(x)

    def output_dtypes(self, *dtypes):
        self.check_input_dtypes(dtypes)
        return (_real_dtype(dtypes[0]),)

    def grad(self, inputs, gz):
        m = _m()
        if np.dtype(inputs[0].type.dtype).kind != "c":
            return [gz[0]]
        return [m.complex(gz[0], m.zeros_like(gz[0]))]


class Imag(UnaryScalarOp):
    """The imaginary part (zero for a real input)."""

    def output_dtypes(self, *dtypes):
        self.check_input_dtypes(dtypes)
        return (_real_dtype(dtypes[0]),)

    def impl(self, x):
        return np.imag(x) if np.iscomplexobj(x) else np.zeros_like(x)

    def grad(self, inputs, gz):
        m = _m()
        if np.dtype(inputs[0].type.dtype).kind != "c":
            return [m.zeros_like(gz[0])]
        return [m.complex(m.zeros_like(gz[0]), gz[0])]


class Conj(UnaryScalarOp):
    """The complex conjugate."""

    ufunc = np.conjugate

    def output_dtypes(self, *dtypes):
        self.check_input_dtypes(dtypes)
        return (np.dtype(dtypes[0]).name,)

    def grad(self, inputs, gz):
        return [_m().conj(gz[0])]


class Angle(UnaryScalarOp):
    """The argument (phase) of a complex number, in (-pi, pi]; 0 or pi for reals."""

    def output_dtypes(self, *dtypes):
        self.check_input_dtypes(dtypes)
        d = np.dtype(dtypes[0])
        return (_real_dtype(d.name) if d.kind == "c" else np.result_type(d, np.float16).name
                if d.kind == "f" else "float64",)

    def impl(self, x):
        return np.angle(x)

    def grad(self, inputs, gz):
        m = _m()
        z = inputs[0]
        if np.dtype(z.type.dtype).kind != "c":
            return [m.zeros_like(z)]
        re, im = m.real(z), m.imag(z)
        r2 = m.add(m.sqr(re), m.sqr(im))
        return [m.complex(m.neg(m.true_div(m.mul(gz[0], im), r2)), m.true_div(m.mul(gz[0], re), r2))]


class Complex(BinaryScalarOp):
    """complex(real, imag): real + 1j * imag."""

    def check_input_dtypes(self, dtypes):
        super().check_input_dtypes(dtypes)
        if any(np.dtype(d).kind == "c" for d in dtypes):
            raise TypeError(f"{self}: real and imaginary parts must be real, got {list(dtypes)}")

    def output_dtypes(self, *dtypes):
        self.check_input_dtypes(dtypes)
        floats = [np.dtype(d) for d in dtypes]
        if all(d.kind == "f" and d.itemsize <= 4 for d in floats):
            return ("complex64",)
        return ("complex128",)

    def impl(self, re, im):
        out_dtype = self.output_dtypes(np.asarray(re).dtype, np.asarray(im).dtype)[0]
        out = np.empty(np.broadcast_shapes(np.shape(re), np.shape(im)), dtype=out_dtype)
        out.real = re
        out.imag = im
        return out

    def grad(self, inputs, gz):
        m = _m()
        return [m.real(gz[0]), m.imag(gz[0])]


class ComplexFromPolar(BinaryScalarOp):
    """r * exp(1j * theta)."""

    def output_dtypes(self, *dtypes):
        return complex_.output_dtypes(*dtypes)

    def impl(self, r, theta):
        return complex_.impl(r * np.cos(theta), r * np.sin(theta))

    def grad(self, inputs, gz):
        m = _m()
        r, theta = inputs
        gre, gim = m.real(gz[0]), m.imag(gz[0])
        c, s = m.cos(theta), m.sin(theta)
        gr = m.add(m.mul(gre, c), m.mul(gim, s))
        gt = m.mul(r, m.sub(m.mul(gim, c), m.mul(gre, s)))
        return [gr, gt]


# ----------------------------------------------------------------- instances
tan, arcsin, arccos, arctan, arctan2 = Tan(), ArcSin(), ArcCos(), ArcTan(), ArcTan2()
sinh, cosh, arcsinh, arccosh, arctanh = Sinh(), Cosh(), ArcSinh(), ArcCosh(), ArcTanh()
deg2rad, rad2deg = Deg2Rad(), Rad2Deg()
floor, ceil, trunc = Floor(), Ceil(), Trunc()
round_half_to_even, round_half_away_from_zero = RoundHalfToEven(), RoundHalfAwayFromZero()
clip = Clip()
erf, erfc, erfinv, erfcinv, erfcx = Erf(), Erfc(), Erfinv(), Erfcinv(), Erfcx()
gamma, gammaln, psi, tri_gamma = Gamma(), GammaLn(), Psi(), TriGamma()
log1mexp, logaddexp = Log1mexp(), LogAddExp()
real, imag, conj, angle = Real(), Imag(), Conj(), Angle()
complex_, complex_from_polar = Complex(), ComplexFromPolar()
j0, j1, jv, i0, i1, iv = J0(), J1(), Jv(), I0(), I1(), Iv()
gammainc, gammaincc, gammau, gammal, chi2sf = GammaInc(), GammaIncC(), GammaU(), GammaL(), Chi2SF()
xlogx, xlogy0 = XlogX(), XlogY0()
