"""Random tensors over NumPy's Generator: `RandomStream` (alias `RandomStreams`) and the random ops.

    srng = graphcore.tensor.random.RandomStream(seed=42)
    u = srng.uniform(0, 1, size=(2, 3))
    f = graphcore.function([], u)    # each call draws new numbers

Each draw owns a shared generator (a `RandomGeneratorType` variable) whose
default update advances it; the ops themselves never mutate their input.
"""

from graphcore.tensor.random.type import (RandomGeneratorSharedVariable,  # noqa: F401
                                          RandomGeneratorType, random_generator_type)
from graphcore.tensor.random.op import (BetaRV, BinomialRV, ChoiceRV, ExponentialRV,  # noqa: F401
                                        GammaRV, IntegersRV, MultinomialRV,
                                        MultinomialWithoutReplacementRV, NormalRV, PermutationRV,
                                        PoissonRV, RandomVariable, TruncatedNormalRV, UniformRV)
from graphcore.tensor.random.utils import RandomStream, RandomStreams, dropout  # noqa: F401

__all__ = ["RandomStream", "RandomStreams", "dropout", "RandomGeneratorType",
           "RandomGeneratorSharedVariable", "random_generator_type", "RandomVariable", "UniformRV",
           "NormalRV", "TruncatedNormalRV", "IntegersRV", "BinomialRV", "PoissonRV",
           "ExponentialRV", "GammaRV", "BetaRV", "MultinomialRV", "ChoiceRV", "PermutationRV",
           "MultinomialWithoutReplacementRV"]
