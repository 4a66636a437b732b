"""Batch normalization (Theano's `T.nnet.bn`), written as elementwise compositions.

Compositions rather than fused ops: grad() derives exact gradients, and the
runtimes fuse the elementwise parts. The parameters (gamma, beta, means,
variances) either have the input's number of dimensions with length 1 on the
normalized axes, or only the non-normalized dimensions; results are
returned in the same form as gamma.
"""

from __future__ import annotations

import numpy as np

from graphcore.tensor import math as m
from graphcore.tensor.basic import as_tensor_variable, cast
from graphcore.tensor.shape import shape_i, specify_shape


def batch_normalization(inputs, gamma, beta, mean, std, mode="low_mem"):
    """(inputs - mean) * (gamma / std) + beta, elementwise with broadcasting.

    mode ('low_mem' or 'high_mem') only chose an implementation in Theano;
    both give the same values here.
    """
    if mode not in ("low_mem", "high_mem"):
        raise ValueError(f"batch_normalization: mode must be 'low_mem' or 'high_mem', got {mode!r}")
    return m.add(m.mul(m.sub(inputs, mean), m.true_div(gamma, std)), beta)


def _axes(axes, ndim, what):
    if axes == "per-activation":
        axes = (0,)
    elif axes == "spatial":
        axes = (0,) + tuple(range(2, ndim))
    elif isinstance(axes, (int, np.integer)):
        axes = (int(axes),)
    try:
        axes = tuple(sorted(int(a) % ndim if -ndim <= int(a) < ndim else _bad(a, ndim, what)
                            for a in axes))
    except TypeError:
        raise ValueError(f"{what}: axes must be 'per-activation', 'spatial' or a tuple of ints, "
                         f"got {axes!r}") from None
    if len(set(axes)) != len(axes):
        raise ValueError(f"{what}: axes {axes} repeat an axis")
    return axes


def _bad(a, ndim, what):
    raise ValueError(f"{what}: axis {a} is out of range for inputs with {ndim} dimensions")


class _ParamLayout:
    """Converts parameters between the short (non-normalized dims only) and full forms."""

    def __init__(self, ndim, axes, first_param, what):
        self.ndim, self.axes, self.what = ndim, axes, what
        self.kept = [d for d in range(ndim) if d not in axes]
        self.full = first_param.type.ndim == ndim
        if not self.full and first_param.type.ndim != len(self.kept):
            raise ValueError(f"{what}: gamma must have {ndim} dimensions (length 1 on the "
                             f"normalized axes {axes}) or {len(self.kept)} (the other axes), got "
                             f"{first_param.type}")

    def expand(self, p, name):
        p = as_tensor_variable(p)
        want = self.ndim if self.full else len(self.kept)
        if p.type.ndim != want:
            raise ValueError(f"{self.what}: {name} must have {want} dimensions like gamma, got "
                             f"{p.type}")
        if self.full:  # length 1 on the normalized axes, checked at run time (addbroadcast)
            return specify_shape(p, tuple(1 if d in self.axes else None for d in range(self.ndim)))
        pattern = ["x"] * self.ndim
        for i, d in enumerate(self.kept):
            pattern[d] = i
        return p.dimshuffle(pattern)

    def shrink(self, v):
        """A keepdims statistic back to gamma's form."""
        if self.full:
            return v
        return v.dimshuffle(self.kept)


def batch_normalization_train(inputs, gamma, beta, axes="per-activation", epsilon=1e-4,
                              running_average_factor=0.1, running_mean=None, running_var=None):
    """Normalize with the batch statistics over `axes`: returns (out, mean, invstd).

    out = (inputs - mean) * invstd * gamma + beta with invstd = 1 / sqrt(var + epsilon)
    (the biased variance). axes: 'per-activation' (0,), 'spatial' (0, 2, 3, ...)
    or a tuple. With running_mean and running_var also returns their updates
    running * (1 - factor) + batch * factor (the variance unbiased by m / (m - 1)).
    """
    what = "batch_normalization_train"
    x = as_tensor_variable(inputs)
    axes = _axes(axes, x.type.ndim, what)
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{what}: give both running_mean and running_var, or neither")
    gamma = as_tensor_variable(gamma)
    layout = _ParamLayout(x.type.ndim, axes, gamma, what)
    g, b = layout.expand(gamma, "gamma"), layout.expand(beta, "beta")
    mean = m.mean(x, axis=axes, keepdims=True)
    var = m.mean(m.sqr(m.sub(x, mean)), axis=axes, keepdims=True)
    invstd = m.reciprocal(m.sqrt(m.add(var, epsilon)))
    out = m.add(m.mul(m.mul(m.sub(x, mean), invstd), g), b)
    results = [out, layout.shrink(mean), layout.shrink(invstd)]
    if running_mean is not None:
        rm = layout.expand(running_mean, "running_mean")
        rv = layout.expand(running_var, "running_var")
        count = None
        for a in axes:
            count = shape_i(x, a) if count is None else m.mul(count, shape_i(x, a))
        count = cast(count, var.type.dtype)
        unbiased = m.mul(var, m.true_div(count, m.maximum(m.sub(count, 1), 1)))
        f = running_average_factor
        new_rm = m.add(m.mul(rm, 1.0 - f) if isinstance(f, (int, float)) else m.mul(rm, m.sub(1.0, f)),
                       m.mul(mean, f))
        new_rv = m.add(m.mul(rv, 1.0 - f) if isinstance(f, (int, float)) else m.mul(rv, m.sub(1.0, f)),
                       m.mul(unbiased, f))
        results += [cast(layout.shrink(new_rm), as_tensor_variable(running_mean).type.dtype),
                    cast(layout.shrink(new_rv), as_tensor_variable(running_var).type.dtype)]
    return tuple(results)


def batch_normalization_test(inputs, gamma, beta, mean, var, axes="per-activation", epsilon=1e-4):
    """Normalize with given (running) statistics: (inputs - mean) / sqrt(var + epsilon) * gamma + beta."""
    what = "batch_normalization_test"
    x = as_tensor_variable(inputs)
    axes = _axes(axes, x.type.ndim, what)
    gamma = as_tensor_variable(gamma)
    layout = _ParamLayout(x.type.ndim, axes, gamma, what)
    g, b = layout.expand(gamma, "gamma"), layout.expand(beta, "beta")
    mu, v = layout.expand(mean, "mean"), layout.expand(var, "var")
    return m.add(m.mul(m.true_div(m.sub(x, mu), m.sqrt(m.add(v, epsilon))), g), b)


__all__ = ["batch_normalization", "batch_normalization_train", "batch_normalization_test"]
