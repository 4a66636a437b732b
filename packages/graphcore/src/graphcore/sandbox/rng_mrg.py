"""Theano's `theano.sandbox.rng_mrg.MRG_RandomStreams`, over `numpy.random.RandomState`.

Same API as Theano's (uniform/normal/truncated_normal/binomial/multinomial/
choice, size first), seeded like shared_randomstreams.RandomStreams (each
random variable has a shared RandomState: `rv.rng.get_value().get_state()`,
`srng.seed(n)`, `srng.state_updates`); the numbers come from Mersenne Twister
instead of MRG31k3p, so they differ from Theano's while following the same
distributions. `nstreams` is accepted and ignored.
"""

from __future__ import annotations

from graphcore.tensor.basic import as_tensor_variable
from graphcore.tensor.random import op as rop
from graphcore.tensor.shared_randomstreams import RandomStateStreams


class MRG_RandomStreams(RandomStateStreams):  # noqa: N801 (Theano's name)
    """Random tensors with Theano's MRG_RandomStreams API (seed defaults to 12345, as Theano)."""

    def __init__(self, seed=12345):
        super().__init__(seed)

    def uniform(self, size, low=0.0, high=1.0, ndim=None, dtype=None, nstreams=None, **kwargs):
        return self.gen(rop.UniformRV, low, high, size=size, ndim=ndim, dtype=dtype)

    def normal(self, size, avg=0.0, std=1.0, ndim=None, dtype=None, nstreams=None,
               truncate=False, **kwargs):
        op = rop.TruncatedNormalRV if truncate else rop.NormalRV
        return self.gen(op, avg, std, size=size, ndim=ndim, dtype=dtype)

    def truncated_normal(self, size, avg=0.0, std=1.0, ndim=None, dtype=None, nstreams=None):
        """Normal(avg, std) restricted to avg +- 2 std."""
        return self.gen(rop.TruncatedNormalRV, avg, std, size=size, ndim=ndim, dtype=dtype)

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", nstreams=None, **kwargs):
        return self.gen(rop.BinomialRV, n, p, size=size, ndim=ndim, dtype=dtype)

    def multinomial(self, size=None, n=1, pvals=None, ndim=None, dtype="int64", nstreams=None,
                    **kwargs):
        """Counts of n draws for each row of the matrix pvals (shape of pvals)."""
        if pvals is None:
            raise TypeError("multinomial: pvals is required (a matrix, one distribution per row)")
        if size is not None:
            raise ValueError("MRG_RandomStreams.multinomial: size must be None; the draws have "
                             "the shape of pvals (as in Theano)")
        return self.gen(rop.MultinomialRV, n, pvals, size=None, ndim=ndim, dtype=dtype)

    def choice(self, size=1, a=None, replace=True, p=None, ndim=None, dtype="int64",
               nstreams=None, **kwargs):
        """For each row of the matrix p, `size` distinct category indices (shape (rows, size)).

        As in Theano, only sampling without replacement (replace=False) from
        p's categories (a=None) is supported.
        """
        if a is not None:
            raise NotImplementedError("MRG_RandomStreams.choice: a must be None (the categories "
                                      "are the columns of p), as in Theano")
        if replace:
            raise NotImplementedError("MRG_RandomStreams.choice only samples without replacement "
                                      "(replace=False), as in Theano")
        if p is None:
            raise TypeError("MRG_RandomStreams.choice: p (a matrix of probabilities) is required")
        return self.gen(rop.MultinomialWithoutReplacementRV, as_tensor_variable(size), p,
                        size=None, dtype=dtype)

    def multinomial_wo_replacement(self, size=None, n=1, pvals=None, ndim=None, dtype="int64",
                                   nstreams=None, **kwargs):
        return self.choice(size=n, a=None, replace=False, p=pvals, ndim=ndim, dtype=dtype)


__all__ = ["MRG_RandomStreams"]
