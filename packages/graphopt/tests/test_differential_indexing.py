"""Differential tests for indexing: random graphs mixing indexing, set/inc_subtensor and
elementwise ops, optimized with FAST_RUN and FAST_COMPILE, agree with NumPy (and their
gradients with the unoptimized graph's)."""

import random

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode

N, M = 3, 4


def _np_set(a, index, v):
    out = a.copy()
    out[index] = v
    return out


def _np_inc(a, index, v):
    out = a.copy()
    np.add.at(out, index, v)
    return out


# shape-preserving (N, M) -> (N, M) indexing forms: symbolic form, NumPy form
INDEXING = [
    ("rev_rows", lambda t: t[::-1], lambda a: a[::-1]),
    ("rev_cols", lambda t: t[:, ::-1], lambda a: a[:, ::-1]),
    ("perm_rows", lambda t: t[[2, 0, 1]], lambda a: a[[2, 0, 1]]),
    ("perm_cols_adv", lambda t: t[:, np.array([3, 1, 0, 2])], lambda a: a[:, [3, 1, 0, 2]]),
    ("shift_set", lambda t: T.set_subtensor(t[1:], t[:-1]), lambda a: _np_set(a, np.s_[1:], a[:-1])),
    ("zero_row", lambda t: T.set_subtensor(t[0], 0.0), lambda a: _np_set(a, 0, 0.0)),
    ("inc_col", lambda t: T.inc_subtensor(t[:, 1], t[:, 2]), lambda a: _np_inc(a, np.s_[:, 1], a[:, 2])),
    ("inc_repeated", lambda t: T.inc_subtensor(t[[0, 0, 2]], t[[1, 1, 1]]),
     lambda a: _np_inc(a, [0, 0, 2], a[[1, 1, 1]])),
    ("mask", lambda t: T.switch(t > 0, t, t[::-1]), lambda a: np.where(a > 0, a, a[::-1])),
    ("outer_of_slices", lambda t: t * t[:, 0:1].sum(axis=1, keepdims=True),
     lambda a: a * a[:, 0:1].sum(axis=1, keepdims=True)),
]

ELEMWISE = [
    ("exp_tanh", lambda a, b: T.exp(T.tanh(a)) * b, lambda a, b: np.exp(np.tanh(a)) * b),
    ("add", lambda a, b: a + b, np.add),
    ("sub_sqr", lambda a, b: T.sqr(a - b), lambda a, b: (a - b) ** 2),
    ("max", T.maximum, np.maximum),
]


def build(seed, depth=4):
    rnd = random.Random(seed)
    x, y = T.matrix("x"), T.matrix("y")
    rng = np.random.default_rng(seed)
    xv, yv = rng.standard_normal((N, M)), rng.standard_normal((N, M))

    def gen(d):
        if d == 0 or rnd.random() < 0.15:
            return rnd.choice([(x, xv), (y, yv)])
        if rnd.random() < 0.6:
            _, fs, fn = rnd.choice(INDEXING)
            s, n = gen(d - 1)
            return fs(s), fn(n)
        _, fs, fn = rnd.choice(ELEMWISE)
        (s1, n1), (s2, n2) = gen(d - 1), gen(d - 1)
        return fs(s1, s2), fn(n1, n2)

    outs = [gen(depth) for _ in range(rnd.choice([1, 2]))]
    return [x, y], [xv, yv], [o for o, _ in outs], [n for _, n in outs]


def run(seed, optimizer):
    inputs, values, outs, want = build(seed)
    f = theano.function(inputs, outs, mode=Mode(linker="python", optimizer=optimizer),
                        on_unused_input="ignore")
    before = [v.copy() for v in values]
    got = f(*values)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)
    for v, b in zip(values, before):  # in-place set/inc never touch the caller's arrays
        np.testing.assert_array_equal(v, b)
    return f


_settings = settings(max_examples=50, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(st.integers(0, 2 ** 31 - 1))
def test_indexing_graphs_fast_run_agree_with_numpy(seed):
    run(seed, "fast_run").maker.fgraph.check_integrity()


@_settings
@given(st.integers(0, 2 ** 31 - 1))
def test_indexing_graphs_fast_compile_agree_with_numpy(seed):
    run(seed, "fast_compile")


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.integers(0, 2 ** 31 - 1))
def test_indexing_gradients_agree_with_unoptimized(seed):
    inputs, values, outs, _ = build(seed, depth=3)
    cost = sum(T.sum(T.sqr(o)) for o in outs)
    grads = T.grad(cost, inputs, disconnected_inputs="ignore")
    fast = theano.function(inputs, grads, mode=Mode(linker="python", optimizer="fast_run"),
                           on_unused_input="ignore")
    plain = theano.function(inputs, grads, mode=Mode(linker="python", optimizer=None),
                            on_unused_input="ignore")
    for a, b in zip(fast(*values), plain(*values)):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
