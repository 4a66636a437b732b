"""Theano's random streams as its tutorial uses them (doc/tutorial/examples.txt): the shared
RandomState behind each random variable (seed(), get_state()/set_state()), srng.seed(n),
copying random state between graphs, and Theano's seeding (a master RandomState handing out
per-variable seeds), so the tutorial's numbers come out again."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.sandbox.rng_mrg import MRG_RandomStreams
from graphcore.tensor.random import RandomStream
from graphcore.tensor.shared_randomstreams import RandomStreams


def _theano_draw(master_seed, k, method, *args):
    """What Theano's RandomStreams(master_seed) gives for its k-th variable's first draw."""
    master = np.random.RandomState(master_seed)
    seeds = [int(master.randint(2 ** 30)) for _ in range(k + 1)]
    return getattr(np.random.RandomState(seeds[k]), method)(*args)


class _Graph:
    def __init__(self, streams, seed):
        self.rng = streams(seed)
        self.y = self.rng.uniform(size=(1,))


def test_the_tutorials_numbers_and_copying_random_state():
    g1, g2 = _Graph(RandomStreams, 123), _Graph(RandomStreams, 987)
    f1, f2 = theano.function([], g1.y), theano.function([], g2.y)
    np.testing.assert_allclose(f1(), [0.72803009], rtol=1e-7)  # the tutorial's output
    np.testing.assert_allclose(f2(), [0.55056769], rtol=1e-7)
    for su1, su2 in zip(g1.rng.state_updates, g2.rng.state_updates):
        su2[0].set_value(su1[0].get_value())
    a, b = f1(), f2()
    np.testing.assert_allclose(a, [0.59044123], rtol=1e-7)
    np.testing.assert_array_equal(a, b)


def test_uniform_normal_binomial_follow_theano_seeding():
    srng = RandomStreams(seed=234)
    rv_u = srng.uniform((2, 2))
    rv_n = srng.normal((2, 2))
    rv_b = srng.binomial((3,), n=5, p=0.25)
    f = theano.function([], [rv_u, rv_n, rv_b])
    u, n, b = f()
    np.testing.assert_array_equal(u, _theano_draw(234, 0, "uniform", 0.0, 1.0, (2, 2)))
    np.testing.assert_array_equal(n, _theano_draw(234, 1, "normal", 0.0, 1.0, (2, 2)))
    np.testing.assert_array_equal(b, _theano_draw(234, 2, "binomial", 5, 0.25, (3,)))


def test_the_tutorials_streams_seeding_and_sharing():
    srng = RandomStreams(seed=234)
    rv_u, rv_n = srng.uniform((2, 2)), srng.normal((2, 2))
    f = theano.function([], rv_u)
    g = theano.function([], rv_n, no_default_updates=True)  # rv_n's generator not advanced
    nearly_zeros = theano.function([], rv_u + rv_u - 2 * rv_u)
    f_val0, f_val1 = f(), f()
    assert not np.array_equal(f_val0, f_val1)
    np.testing.assert_array_equal(g(), g())

    rng_val = rv_u.rng.get_value(borrow=True)  # a numpy RandomState, as in Theano
    assert isinstance(rng_val, np.random.RandomState)
    rng_val.seed(89234)
    rv_u.rng.set_value(rng_val, borrow=True)
    np.testing.assert_array_equal(f(), np.random.RandomState(89234).uniform(0.0, 1.0, (2, 2)))

    srng.seed(902340)  # each variable from the next seed of RandomState(902340)
    np.testing.assert_array_equal(f(), _theano_draw(902340, 0, "uniform", 0.0, 1.0, (2, 2)))
    np.testing.assert_array_equal(g(), _theano_draw(902340, 1, "normal", 0.0, 1.0, (2, 2)))

    state_after_v0 = rv_u.rng.get_value().get_state()
    np.testing.assert_array_equal(nearly_zeros(), np.zeros((2, 2)))  # advances rv_u's generator
    v1 = f()
    rng = rv_u.rng.get_value(borrow=True)
    rng.set_state(state_after_v0)
    rv_u.rng.set_value(rng, borrow=True)
    v2, v3 = f(), f()
    assert not np.array_equal(v1, v2)
    np.testing.assert_array_equal(v1, v3)


@pytest.mark.parametrize("streams", [RandomStreams, MRG_RandomStreams])
def test_sequences_repeat_after_reseeding(streams):
    srng = streams(5)
    u = srng.uniform(size=(3,))
    k = srng.binomial(size=(4,), p=0.3)
    f1, f2 = theano.function([], u), theano.function([], k)
    first = [f1() for _ in range(3)], [f2() for _ in range(3)]
    srng.seed(5)
    again = [f1() for _ in range(3)], [f2() for _ in range(3)]
    for a, b in zip(first[0] + first[1], again[0] + again[1]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0][0], first[0][1])
    srng.seed(6)
    assert not np.array_equal(f1(), first[0][0])


def test_the_tutorials_copy_with_mrg_streams():
    g1, g2 = _Graph(MRG_RandomStreams, 123), _Graph(MRG_RandomStreams, 987)
    f1, f2 = theano.function([], g1.y), theano.function([], g2.y)
    assert not np.array_equal(f1(), f2())
    g2.rng.rstate = getattr(g1.rng, "rstate", None)  # the tutorial's line for MRG streams
    for su1, su2 in zip(g1.rng.state_updates, g2.rng.state_updates):
        su2[0].set_value(su1[0].get_value())
    np.testing.assert_array_equal(f1(), f2())
    assert hasattr(g1.y.rng.get_value(), "get_state")


def test_other_theano_draws_run_on_random_states():
    srng = RandomStreams(3)
    draws = [srng.random_integers((50,), 1, 3), srng.permutation((2,), 4),
             srng.multinomial((2,), 5, [0.2, 0.8]), srng.poisson((4,), lam=2.0),
             srng.choice((3,), a=5, replace=False),
             srng.shuffle_row_elements(T.constant(np.arange(6.0).reshape(2, 3)))]
    ints, perm, multi, pois, choice, shuffled = theano.function([], draws)()
    assert set(ints) <= {1, 2, 3} and ints.dtype == np.int64
    assert perm.shape == (2, 4) and all(sorted(row) == [0, 1, 2, 3] for row in perm)
    assert multi.shape == (2, 2) and (multi.sum(axis=1) == 5).all()
    assert pois.shape == (4,) and len(set(choice)) == 3
    assert sorted(shuffled[1]) == [3.0, 4.0, 5.0]


def test_the_modern_api_keeps_generators():
    x = RandomStream(1).normal(size=(2,))
    assert isinstance(x.rng.get_value(), np.random.Generator)
    np.testing.assert_array_equal(theano.function([], x)(),
                                  np.random.default_rng(np.random.SeedSequence(1).spawn(1)[0])
                                  .normal(0.0, 1.0, (2,)))
