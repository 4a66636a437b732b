"""Elementwise activation functions: sigmoid family, relu, elu, selu, softsign.

All are compositions of existing Elemwise functions, so every backend that
fuses elementwise graphs runs them natively and their gradients come from
the chain rule (no new scalar ops to implement per runtime).
"""

from __future__ import annotations

from graphcore.tensor import math as m
from graphcore.tensor.basic import as_tensor_variable, cast
from graphcore.tensor.type import upcast_float_dtype

sigmoid = m.sigmoid
softplus = m.softplus

# Theano's ultra_fast_sigmoid: 0.5 * (tanh_approx(x / 2) + 1) with a three-piece tanh
_UFS_SLOPE = 0.0458812946797165
_UFS_MID = 0.935409070603099
_UFS_TOP = 0.99505475368673


def _float(x):
    x = as_tensor_variable(x)
    return cast(x, upcast_float_dtype(x.type.dtype))


def ultra_fast_sigmoid(x):
    """Theano's piecewise approximation of sigmoid (max error ~0.02), cheap to evaluate.

    With h = x / 2 and a = |h|: tanh(h) ~ 1.5 h / (1 + a) for a < 1.7,
    sign(h) (0.9354 + 0.0459 (a - 1.7)) for a < 3, else sign(h) 0.99505.
    Decision: the gradient is the exact derivative of this approximation
    (what verify_grad checks), not sigmoid's y (1 - y) as Theano's op used;
    so it is 0 beyond |x| = 6 and the approximation's jump at |x| = 3.4 has
    no gradient.
    """
    x = _float(x)
    h = m.mul(x, 0.5)
    a = m.abs(h)
    s = m.sgn(h)
    near = m.true_div(m.mul(h, 1.5), m.add(a, 1.0))
    mid = m.mul(s, m.add(m.mul(m.sub(a, 1.7), _UFS_SLOPE), _UFS_MID))
    far = m.mul(s, _UFS_TOP)
    z = m.switch(m.lt(a, 1.7), near, m.switch(m.lt(a, 3.0), mid, far))
    return m.mul(m.add(z, 1.0), 0.5)


def hard_sigmoid(x):
    """clip(0.2 x + 0.5, 0, 1): Theano's piecewise-linear sigmoid."""
    x = _float(x)
    return m.clip(m.add(m.mul(x, 0.2), 0.5), 0.0, 1.0)


def relu(x, alpha=0):
    """max(x, 0), or the leaky x if x > 0 else alpha * x; alpha may be a tensor (PReLU).

    The gradient at exactly 0 is alpha (the x <= 0 branch).
    """
    x = as_tensor_variable(x)
    if isinstance(alpha, (int, float)) and alpha == 0:
        return m.switch(m.gt(x, 0), x, 0)
    return m.switch(m.gt(x, 0), x, m.mul(alpha, x))


def elu(x, alpha=1.0):
    """x if x > 0 else alpha * (exp(x) - 1) (Clevert et al. 2015)."""
    x = _float(x)
    # expm1 of min(x, 0): the unused branch must not overflow, or its zero
    # gradient times exp(large) would give NaN
    neg = m.mul(alpha, m.expm1(m.minimum(x, 0.0)))
    return m.switch(m.gt(x, 0), x, neg)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al. 2017."""
    return m.mul(elu(x, SELU_ALPHA), SELU_SCALE)


def softsign(x):
    """x / (1 + |x|)."""
    x = _float(x)
    return m.true_div(x, m.add(m.abs(x), 1.0))


__all__ = ["sigmoid", "softplus", "ultra_fast_sigmoid", "hard_sigmoid", "relu", "elu", "selu",
           "softsign"]
