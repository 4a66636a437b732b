"""RandomStream: a factory of random tensors, each with its own shared NumPy Generator."""

from __future__ import annotations

import numpy as np

from graphcore.graph.shared import shared
from graphcore.tensor.basic import as_tensor_variable, constant
from graphcore.tensor.nnet.dropout import dropout as _dropout
from graphcore.tensor.random import op as rop


class RandomStream:
    """Random tensors drawn from NumPy Generators that advance after every call.

    Each draw (uniform, normal, ...) gets its own shared generator, seeded from
    this stream's seed, whose `default_update` is the generator after the draw:
    a compiled function that uses the draw advances it, so successive calls
    give new numbers, and a stream made with the same seed gives the same
    sequence. `seed(n)` reseeds every generator made so far.

    The methods follow NumPy's Generator: parameters first, then `size`
    (None, an int, a tuple of ints or symbolic scalars, or an integer vector
    such as x.shape). Draws of size None have the parameters' broadcast shape.
    """

    def __init__(self, seed=None, namespace=None):
        self.default_instance_seed = seed
        self._seed_seq = np.random.SeedSequence(seed)
        self.state_updates = []  # [(shared generator, its updated value)]
        self.namespace = namespace

    # -- seeding ------------------------------------------------------------
    def _new_generator(self):
        return np.random.default_rng(self._seed_seq.spawn(1)[0])

    def seed(self, seed=None):
        """Reseed every generator of this stream (in creation order) from `seed`."""
        self.default_instance_seed = seed
        self._seed_seq = np.random.SeedSequence(seed)
        for rng_var, _ in self.state_updates:
            rng_var.set_value(self._new_generator(), borrow=True)

    def updates(self):
        """[(shared generator, new value)] for every draw made so far (Theano's updates())."""
        return list(self.state_updates)

    # -- the draw ------------------------------------------------------------
    def gen(self, op_class, *params, size=None, ndim=None, dtype=None, **op_kwargs):
        """Apply a random op to a fresh shared generator; return the draws."""
        size_var, has_size = rop.as_size(size, ndim, op_class.__name__)
        op = op_class(dtype=dtype, has_size=has_size, **op_kwargs)
        rng = shared(self._new_generator(), name=f"rng_{len(self.state_updates)}", borrow=True)
        node = op.make_node(rng, size_var, *params)
        new_rng, draws = node.outputs
        rng.default_update = new_rng
        self.state_updates.append((rng, new_rng))
        draws.rng = rng
        draws.update = (rng, new_rng)
        return draws

    def uniform(self, low=0.0, high=1.0, size=None, ndim=None, dtype=None):
        """Uniform on [low, high); dtype defaults to floatX."""
        return self.gen(rop.UniformRV, low, high, size=size, ndim=ndim, dtype=dtype)

    def normal(self, loc=0.0, scale=1.0, size=None, ndim=None, dtype=None):
        """Normal with mean loc and standard deviation scale (>= 0); dtype defaults to floatX."""
        return self.gen(rop.NormalRV, loc, scale, size=size, ndim=ndim, dtype=dtype)

    def standard_normal(self, size=None, ndim=None, dtype=None):
        return self.normal(0.0, 1.0, size=size, ndim=ndim, dtype=dtype)

    def truncated_normal(self, loc=0.0, scale=1.0, size=None, ndim=None, dtype=None):
        """Normal restricted to loc +- 2 scale (draws outside are redrawn)."""
        return self.gen(rop.TruncatedNormalRV, loc, scale, size=size, ndim=ndim, dtype=dtype)

    def integers(self, low, high=None, size=None, ndim=None, dtype="int64"):
        """Integers uniform on [low, high) ([0, low) when high is None), as Generator.integers."""
        if high is None:
            low, high = 0, low
        return self.gen(rop.IntegersRV, low, high, size=size, ndim=ndim, dtype=dtype)

    def randint(self, low, high=None, size=None, ndim=None, dtype="int64"):
        return self.integers(low, high, size=size, ndim=ndim, dtype=dtype)

    def binomial(self, n, p, size=None, ndim=None, dtype="int64"):
        """Successes in n trials of probability p (0 <= p <= 1)."""
        return self.gen(rop.BinomialRV, n, p, size=size, ndim=ndim, dtype=dtype)

    def bernoulli(self, p, size=None, ndim=None, dtype="int64"):
        """1 with probability p, else 0."""
        return self.binomial(1, p, size=size, ndim=ndim, dtype=dtype)

    def poisson(self, lam=1.0, size=None, ndim=None, dtype="int64"):
        return self.gen(rop.PoissonRV, lam, size=size, ndim=ndim, dtype=dtype)

    def exponential(self, scale=1.0, size=None, ndim=None, dtype=None):
        return self.gen(rop.ExponentialRV, scale, size=size, ndim=ndim, dtype=dtype)

    def gamma(self, shape, scale=1.0, size=None, ndim=None, dtype=None):
        return self.gen(rop.GammaRV, shape, scale, size=size, ndim=ndim, dtype=dtype)

    def beta(self, a, b, size=None, ndim=None, dtype=None):
        return self.gen(rop.BetaRV, a, b, size=size, ndim=ndim, dtype=dtype)

    def multinomial(self, n, pvals, size=None, ndim=None, dtype="int64"):
        """Counts of n draws among the categories of pvals' last axis."""
        return self.gen(rop.MultinomialRV, n, pvals, size=size, ndim=ndim, dtype=dtype)

    def choice(self, a, size=None, replace=True, p=None, ndim=None, dtype=None):
        """Entries of the vector a (or of range(a) for an int a), with probabilities p."""
        a = as_tensor_variable(a)
        if dtype is None:
            dtype = "int64" if a.type.ndim == 0 else a.type.dtype
        has_p = p is not None
        p = constant(np.zeros(0)) if p is None else p
        return self.gen(rop.ChoiceRV, a, p, size=size, ndim=ndim, dtype=dtype, replace=replace,
                        has_p=has_p)

    def permutation(self, x, size=None, ndim=None, dtype=None):
        """A permutation of range(x) for an int x (one per entry of size), else x shuffled
        along its first axis."""
        x = as_tensor_variable(x)
        if dtype is None:
            dtype = "int64" if x.type.ndim == 0 else x.type.dtype
        return self.gen(rop.PermutationRV, x, size=size, ndim=ndim, dtype=dtype)


RandomStreams = RandomStream


def dropout(stream, x, p, rescale=True):
    """x with each entry zeroed with probability p; see graphcore.tensor.nnet.dropout."""
    return _dropout(stream, x, p, rescale)


__all__ = ["RandomStream", "RandomStreams", "dropout"]
