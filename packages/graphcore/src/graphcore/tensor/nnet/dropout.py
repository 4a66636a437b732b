"""Dropout through a random stream (graphcore.tensor.random.RandomStream.binomial)."""

from __future__ import annotations

from graphcore.tensor import math as m
from graphcore.tensor.basic import as_tensor_variable, cast


def dropout(srng, x, p=0.5, rescale=True):
    """Zero each element of x with probability p, drawing the mask from `srng`.

    srng: a random stream with Theano's/graphcore's ``binomial(size=, n=, p=)``
    (graphcore.tensor.random.RandomStream; Theano's RandomStreams and
    MRG_RandomStreams work too). With rescale (inverted dropout, the default)
    the kept elements are divided by 1 - p so the expected value is unchanged
    and no scaling is needed at test time; p == 0 returns x unchanged.
    """
    x = as_tensor_variable(x)
    if isinstance(p, (int, float)):
        if not 0 <= p < 1:
            raise ValueError(f"dropout: p must be in [0, 1), got {p}")
        if p == 0:
            return x
    keep = m.sub(1.0, p) if not isinstance(p, (int, float)) else 1.0 - p
    if not hasattr(srng, "binomial"):
        raise TypeError(f"dropout: srng must be a random stream with a binomial method, got "
                        f"{type(srng).__name__}")
    mask = srng.binomial(size=x.shape, n=1, p=keep)
    out = m.mul(x, cast(mask, x.type.dtype))
    if rescale:
        out = m.true_div(out, keep)
    return cast(out, x.type.dtype)


__all__ = ["dropout"]
