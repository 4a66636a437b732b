"""Theano's `theano.tensor.shared_randomstreams.RandomStreams`, over `numpy.random.RandomState`.

The methods keep Theano's signatures (size first: `uniform(size, low, high)`,
`normal(size, avg, std)`, `binomial(size, n, p)`, ...), and the streams are
seeded as Theano seeded them: a master RandomState(seed) hands each random
variable the seed of its own RandomState, so `rv.rng.get_value()` has
`seed()`, `get_state()` and `set_state()`, and Theano's uniform, normal and
binomial draws come out number for number. The modern, Generator-based API is
`graphcore.tensor.random.RandomStream`.
"""

from __future__ import annotations

import numpy as np

from graphcore.tensor import math
from graphcore.tensor.basic import as_tensor_variable
from graphcore.tensor.random import op as rop
from graphcore.tensor.random.type import RandomGeneratorSharedVariable
from graphcore.tensor.random.utils import RandomStream
from graphcore.tensor.shape import shape_i
from graphcore.tensor.sort import PermuteAlongAxis


class RandomStateStreams(RandomStream):
    """Random streams seeded as Theano's: each draw gets a shared `numpy.random.RandomState`
    whose seed comes from a master RandomState(seed) (`gen_seedgen`)."""

    def __init__(self, seed=None):
        super().__init__(seed)
        self.gen_seedgen = np.random.RandomState(seed)

    def _new_generator(self):
        return np.random.RandomState(int(self.gen_seedgen.randint(2 ** 30)))

    def seed(self, seed=None):
        """Reseed every random variable made so far (in creation order), each from the next
        seed of a master RandomState(seed) (seed None: the seed the streams were made with)."""
        if seed is None:
            seed = self.default_instance_seed
        seedgen = np.random.RandomState(seed)
        for rng_var, _ in self.state_updates:
            rng_var.set_value(np.random.RandomState(int(seedgen.randint(2 ** 30))), borrow=True)


class RandomStreams(RandomStateStreams):
    """Theano's RandomStreams: `RandomStreams(seed)`, then `srng.uniform(size=(2, 3))`, ...

    Each draw has its own shared RandomState, advanced after every call of a
    function that uses it; `seed(n)` reseeds them all.
    """

    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None):
        return self.gen(rop.UniformRV, low, high, size=size, ndim=ndim, dtype=dtype)

    def normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None):
        return self.gen(rop.NormalRV, avg, std, size=size, ndim=ndim, dtype=dtype)

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", prob=None):
        if prob is not None:
            p = prob
        return self.gen(rop.BinomialRV, n, p, size=size, ndim=ndim, dtype=dtype)

    def random_integers(self, size=None, low=0, high=1, ndim=None, dtype="int64"):
        """Integers uniform on [low, high] (both ends included, as in Theano)."""
        return self.gen(rop.IntegersRV, low, math.add(high, 1), size=size, ndim=ndim, dtype=dtype)

    def randint(self, size=None, low=0, high=1, ndim=None, dtype="int64"):
        """Integers uniform on [low, high) (NumPy's convention)."""
        return self.gen(rop.IntegersRV, low, high, size=size, ndim=ndim, dtype=dtype)

    def choice(self, size=None, a=2, replace=True, p=None, ndim=None, dtype="int64"):
        return RandomStream.choice(self, a, size=size, replace=replace, p=p, ndim=ndim, dtype=dtype)

    def poisson(self, size=None, lam=None, ndim=None, dtype="int64"):
        if lam is None:
            raise TypeError("poisson: lam is required")
        return self.gen(rop.PoissonRV, lam, size=size, ndim=ndim, dtype=dtype)

    def permutation(self, size=None, n=1, ndim=None, dtype="int64"):
        """A permutation of range(n) for each entry of size (shape size + (n,))."""
        n = as_tensor_variable(n)
        if size == () or size == []:
            size = None
        return self.gen(rop.PermutationRV, n, size=size, ndim=ndim, dtype=dtype)

    def multinomial(self, size=None, n=1, pvals=(0.5, 0.5), ndim=None, dtype="int64"):
        return self.gen(rop.MultinomialRV, n, np.asarray(pvals) if isinstance(pvals, (list, tuple))
                        else pvals, size=size, ndim=ndim, dtype=dtype)

    def shuffle_row_elements(self, input):
        """Each row of the matrix `input` with its entries permuted independently."""
        input = as_tensor_variable(input)
        if input.type.ndim != 2:
            raise TypeError(f"shuffle_row_elements: expected a matrix, got {input.type}")
        n_rows, n_cols = shape_i(input, 0), shape_i(input, 1)
        perm = self.gen(rop.PermutationRV, n_cols, size=(n_rows,))
        return PermuteAlongAxis(1)(input, perm)


RandomStateSharedVariable = RandomGeneratorSharedVariable

__all__ = ["RandomStreams", "RandomStateStreams", "RandomStateSharedVariable"]
