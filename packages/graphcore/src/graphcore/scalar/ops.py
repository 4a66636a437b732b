"""The scalar op catalogue used by Elemwise: arithmetic, math functions, comparisons.

Each class is one elementwise function: its NumPy ufunc, dtype rule and the
derivative written with tensor functions (`m` is graph.hooks.tensor_api: the
tensor layer above registers graphcore.tensor.math's functions there).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import special as sp

from graphcore.graph.hooks import tensor_api
from graphcore.graph.null_type import disconnected_type
from graphcore.scalar.basic import (BinaryScalarOp, ScalarOp, UnaryScalarOp, disconnected_grads,
                                    dtype_name, is_discrete, upcast)


def _m():
    """The tensor math functions gradients are written with (registered by graphcore.tensor.math)."""
    return tensor_api


# ---------------------------------------------------------------- arithmetic
class Add(ScalarOp):
    nin = -1
    identity = 0
    commutative = associative = True

    def impl(self, *xs):
        return functools.reduce(np.add, xs)

    def grad(self, inputs, gz):
        return [gz[0]] * len(inputs)


class Mul(ScalarOp):
    nin = -1
    identity = 1
    commutative = associative = True

    def impl(self, *xs):
        return functools.reduce(np.multiply, xs)

    def grad(self, inputs, gz):
        m = _m()
        grads = []
        for i in range(len(inputs)):
            others = inputs[:i] + inputs[i + 1:]
            # conj: for complex z the gradient is dC/dRe + i dC/dIm (identity on reals)
            grads.append(m.mul(gz[0], m.conj(m.mul(*others))) if others else gz[0])
        return grads


class Sub(BinaryScalarOp):
    ufunc = np.subtract

    def check_input_dtypes(self, dtypes):
        super().check_input_dtypes(dtypes)
        if all(np.dtype(d).kind == "b" for d in dtypes):
            raise TypeError("sub: boolean subtraction is not supported (as in NumPy); "
                            "use xor or cast to an integer dtype")

    def grad(self, inputs, gz):
        return [gz[0], _m().neg(gz[0])]


class TrueDiv(BinaryScalarOp):
    ufunc = np.true_divide
    dtype_rule = "float"

    def grad(self, inputs, gz):
        m = _m()
        x, y = inputs
        return [m.true_div(gz[0], m.conj(y)),
                m.neg(m.mul(gz[0], m.conj(m.true_div(x, m.sqr(y)))))]


class IntDiv(BinaryScalarOp):
    ufunc = np.floor_divide

    def grad(self, inputs, gz):
        return [_m().zeros_like(x) for x in inputs]


class Mod(BinaryScalarOp):
    ufunc = np.mod

    def grad(self, inputs, gz):
        m = _m()
        x, y = inputs
        return [gz[0], m.neg(m.mul(gz[0], m.int_div(x, y)))]


class Pow(BinaryScalarOp):
    ufunc = np.power

    def grad(self, inputs, gz):
        m = _m()
        x, y = inputs
        # (gz * y) * x ** (y - 1), grouped as Theano's (its pp and debugprint show this shape)
        gx = m.mul(m.mul(gz[0], m.conj(y)), m.conj(m.pow(x, m.sub(y, 1))))
        # d(x**y)/dy = log(x) x**y, taken as 0 at x == 0 (where x**y is 0 or 1 for y >= 0)
        safe_x = m.switch(m.eq(x, 0), 1, x)
        gy = m.mul(gz[0], m.conj(m.mul(m.log(safe_x), m.pow(x, y))))
        return [gx, gy]


class Maximum(BinaryScalarOp):
    ufunc = np.maximum
    commutative = associative = True

    def grad(self, inputs, gz):
        m = _m()
        x, y = inputs
        return [m.mul(gz[0], m.ge(x, y)), m.mul(gz[0], m.lt(x, y))]


class Minimum(BinaryScalarOp):
    ufunc = np.minimum
    commutative = associative = True

    def grad(self, inputs, gz):
        m = _m()
        x, y = inputs
        return [m.mul(gz[0], m.le(x, y)), m.mul(gz[0], m.gt(x, y))]


class Neg(UnaryScalarOp):
    ufunc = np.negative

    def check_input_dtypes(self, dtypes):
        super().check_input_dtypes(dtypes)
        if np.dtype(dtypes[0]).kind == "b":
            raise TypeError("neg: negating a boolean is not supported (as in NumPy); use invert")

    def grad(self, inputs, gz):
        return [_m().neg(gz[0])]


class Abs(UnaryScalarOp):
    ufunc = np.abs

    def output_dtypes(self, *dtypes):
        d = np.dtype(dtypes[0])
        return ({"complex64": "float32", "complex128": "float64"}.get(d.name, d.name),)

    def grad(self, inputs, gz):
        m = _m()
        return [m.mul(gz[0], m.sgn(inputs[0]))]


class Sgn(UnaryScalarOp):
    ufunc = np.sign

    def grad(self, inputs, gz):
        return [_m().zeros_like(inputs[0])]


class Sqr(UnaryScalarOp):
    def impl(self, x):
        return np.multiply(x, x)

    def grad(self, inputs, gz):
        m = _m()
        return [m.mul(gz[0], 2, m.conj(inputs[0]))]


class Identity(UnaryScalarOp):
    def impl(self, x):
        return x

    def grad(self, inputs, gz):
        return [gz[0]]


class Second(BinaryScalarOp):
    """second(x, y) = y broadcast to the shape of x: Theano's `fill`."""

    dtype_rule = "same"

    def output_dtypes(self, *dtypes):
        self.check_input_dtypes(dtypes)
        return (dtype_name(dtypes[1]),)

    def impl(self, x, y):
        return np.broadcast_to(y, np.broadcast_shapes(np.shape(x), np.shape(y)))

    def grad(self, inputs, gz):
        return [disconnected_type(), gz[0]]


# ------------------------------------------------------- float-valued functions
def _unary_float(name, ufunc, derivative, doc):
    """A float-valued unary op whose derivative is derivative(m, x, out) (times gz)."""

    cls = type(name, (UnaryScalarOp,), {"ufunc": staticmethod(ufunc), "dtype_rule": "float",
                                        "__doc__": doc})

    def L_op(self, inputs, outputs, gz):
        m = _m()
        # conj: for complex z the gradient is dC/dRe + i dC/dIm (identity on reals)
        return [m.mul(gz[0], m.conj(derivative(m, inputs[0], outputs[0])))]

    cls.L_op = L_op
    return cls


Exp = _unary_float("Exp", np.exp, lambda m, x, y: y, "exp(x)")
Exp2 = _unary_float("Exp2", np.exp2, lambda m, x, y: m.mul(y, np.log(2.0)), "2 ** x")
Expm1 = _unary_float("Expm1", np.expm1, lambda m, x, y: m.add(y, 1), "exp(x) - 1, accurate near 0")
Log = _unary_float("Log", np.log, lambda m, x, y: m.reciprocal(x), "natural logarithm")
Log2 = _unary_float("Log2", np.log2, lambda m, x, y: m.reciprocal(m.mul(x, np.log(2.0))), "log base 2")
Log10 = _unary_float("Log10", np.log10, lambda m, x, y: m.reciprocal(m.mul(x, np.log(10.0))),
                     "log base 10")
Log1p = _unary_float("Log1p", np.log1p, lambda m, x, y: m.reciprocal(m.add(x, 1)),
                     "log(1 + x), accurate near 0")
Sqrt = _unary_float("Sqrt", np.sqrt, lambda m, x, y: m.true_div(0.5, y), "square root")
Sin = _unary_float("Sin", np.sin, lambda m, x, y: m.cos(x), "sine")
Cos = _unary_float("Cos", np.cos, lambda m, x, y: m.neg(m.sin(x)), "cosine")
Tanh = _unary_float("Tanh", np.tanh, lambda m, x, y: m.sub(1, m.sqr(y)), "hyperbolic tangent")
Sigmoid = _unary_float("Sigmoid", sp.expit, lambda m, x, y: m.mul(y, m.sub(1, y)),
                       "logistic function 1 / (1 + exp(-x))")


def _softplus(x):
    # log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|))
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


Softplus = _unary_float("Softplus", _softplus, lambda m, x, y: m.sigmoid(x),
                        "log(1 + exp(x)), stable for large |x|")


class Reciprocal(UnaryScalarOp):
    dtype_rule = "float"
    ufunc = np.reciprocal

    def L_op(self, inputs, outputs, gz):
        m = _m()
        return [m.neg(m.mul(gz[0], m.conj(m.sqr(outputs[0]))))]


# ---------------------------------------------------------------- comparisons
def _predicate(name, ufunc, nin=2, doc=""):
    cls = type(name, (ScalarOp,), {"ufunc": staticmethod(ufunc), "dtype_rule": "bool", "nin": nin,
                                   "__doc__": doc})
    cls.grad = lambda self, inputs, gz: disconnected_grads(inputs)
    return cls


EQ = _predicate("EQ", np.equal, doc="x == y")
NEQ = _predicate("NEQ", np.not_equal, doc="x != y")
LT = _predicate("LT", np.less, doc="x < y")
GT = _predicate("GT", np.greater, doc="x > y")
LE = _predicate("LE", np.less_equal, doc="x <= y")
GE = _predicate("GE", np.greater_equal, doc="x >= y")
IsNan = _predicate("IsNan", np.isnan, nin=1, doc="x is NaN")
IsInf = _predicate("IsInf", np.isinf, nin=1, doc="x is +-inf")


def _bitwise(name, ufunc, nin=2, doc=""):
    cls = type(name, (ScalarOp,), {"ufunc": staticmethod(ufunc), "nin": nin,
                                   "requires_discrete": True, "__doc__": doc,
                                   "commutative": nin == 2, "associative": nin == 2})
    cls.grad = lambda self, inputs, gz: disconnected_grads(inputs)
    return cls


AND = _bitwise("AND", np.bitwise_and, doc="bitwise (logical for bools) and")
OR = _bitwise("OR", np.bitwise_or, doc="bitwise (logical for bools) or")
XOR = _bitwise("XOR", np.bitwise_xor, doc="bitwise (logical for bools) xor")
Invert = _bitwise("Invert", np.invert, nin=1, doc="bitwise (logical for bools) not")


# ------------------------------------------------------------ selection, casts
class Switch(ScalarOp):
    """switch(cond, a, b): a where cond is true, else b (np.where)."""

    nin = 3

    def output_dtypes(self, cond, a, b):
        return (upcast(a, b),)

    def impl(self, cond, a, b):
        return np.where(cond, a, b)

    def grad(self, inputs, gz):
        m = _m()
        cond = inputs[0]
        zero = m.zeros_like(gz[0])
        return [disconnected_type(), m.switch(cond, gz[0], zero), m.switch(cond, zero, gz[0])]


class Cast(UnaryScalarOp):
    __props__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype_name(dtype)

    @property
    def name(self):
        return f"cast_{self.dtype}"

    def __str__(self):
        return f"Cast{{{self.dtype}}}"

    def output_dtypes(self, *dtypes):
        return (self.dtype,)

    def impl(self, x):
        return np.asarray(x).astype(self.dtype)

    def grad(self, inputs, gz):
        x = inputs[0]
        if is_discrete(x.type.dtype) or is_discrete(self.dtype):
            return [disconnected_type()]
        return [_m().cast(gz[0], x.type.dtype)]


# ----------------------------------------------------------------- instances
add, mul, sub, true_div, int_div, mod, pow = Add(), Mul(), Sub(), TrueDiv(), IntDiv(), Mod(), Pow()
maximum, minimum, neg, abs_, sgn, sqr, identity, second = (
    Maximum(), Minimum(), Neg(), Abs(), Sgn(), Sqr(), Identity(), Second())
exp, exp2, expm1, log, log2, log10, log1p, sqrt = (
    Exp(), Exp2(), Expm1(), Log(), Log2(), Log10(), Log1p(), Sqrt())
sin, cos, tanh, sigmoid, softplus, reciprocal = Sin(), Cos(), Tanh(), Sigmoid(), Softplus(), Reciprocal()
eq, neq, lt, gt, le, ge, isnan, isinf = EQ(), NEQ(), LT(), GT(), LE(), GE(), IsNan(), IsInf()
and_, or_, xor, invert = AND(), OR(), XOR(), Invert()
switch = Switch()
