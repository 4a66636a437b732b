"""RandomGeneratorType: the graph type whose values are NumPy Generators, and its shared variable."""

from __future__ import annotations

import copy

import numpy as np

from graphcore.graph.shared import SharedVariable, shared_constructor
from graphcore.graph.type import Type


def _state(rng):
    """The comparable state of a Generator or a RandomState."""
    if isinstance(rng, np.random.RandomState):
        name, keys, pos, has_gauss, cached = rng.get_state()
        return (name, keys.tobytes(), pos, has_gauss, cached)
    return rng.bit_generator.state


class RandomGeneratorType(Type):
    """The type of a random generator state: values are `numpy.random.Generator` objects, or
    `numpy.random.RandomState` ones (what Theano's RandomStreams draw from, kept for them).

    Random ops take a generator and return a new one (they never advance the
    one they were given), so a graph stays a pure function of its inputs; a
    shared generator is advanced by its `default_update` after each call.
    """

    def filter(self, data, strict=False, allow_downcast=None, name=None):
        if isinstance(data, (np.random.Generator, np.random.RandomState)):
            return data
        what = f"input {name!r}" if name else "value"
        raise TypeError(f"{what}: expected a numpy.random.Generator (e.g. "
                        f"np.random.default_rng(seed)) or a numpy.random.RandomState, got "
                        f"{type(data).__name__}")

    def values_eq(self, a, b):
        return type(a) is type(b) and _state(a) == _state(b)

    def value_signature(self, data):
        return repr(_state(data))

    def __eq__(self, other):
        return type(other) is type(self)

    def __hash__(self):
        return hash(type(self))

    def __str__(self):
        return "RandomGeneratorType"

    __repr__ = __str__


random_generator_type = RandomGeneratorType()


class RandomGeneratorSharedVariable(SharedVariable):
    """A shared NumPy Generator (what RandomStream draws from) or RandomState (Theano's
    RandomStreams); get_value returns a copy."""

    def __str__(self):
        return self.name if self.name is not None else "<shared RandomGenerator>"


@shared_constructor
def _generator_shared(value, name=None, strict=False, allow_downcast=None, borrow=False, **kwargs):
    if not isinstance(value, (np.random.Generator, np.random.RandomState)):
        return None
    if kwargs:
        raise TypeError(f"shared(): unexpected arguments {sorted(kwargs)} for a random generator")
    if not borrow:
        value = copy.deepcopy(value)
    return RandomGeneratorSharedVariable(random_generator_type, value, name=name, strict=strict,
                                         allow_downcast=allow_downcast)


__all__ = ["RandomGeneratorType", "RandomGeneratorSharedVariable", "random_generator_type"]
