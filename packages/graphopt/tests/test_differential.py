"""Differential tests: random elementwise/reduction graphs, optimized, agree with NumPy.

Each example draws a seed and builds the same random expression twice: once
symbolically, once as a NumPy computation. FAST_RUN and FAST_COMPILE on the
reference backend must both match NumPy.
"""

import random

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode

N, M = 3, 4

def _like(v, a, b):
    """v broadcast to the shape of a op b (what the symbolic expression has)."""
    return np.broadcast_to(v, np.broadcast_shapes(np.shape(a), np.shape(b)))


UNARY = [
    ("exp_tanh", lambda t: T.exp(T.tanh(t)), lambda a: np.exp(np.tanh(a))),
    ("log1sq", lambda t: T.log(1 + T.sqr(t)), lambda a: np.log(1 + a * a)),
    ("sin", T.sin, np.sin),
    ("cos", T.cos, np.cos),
    ("tanh", T.tanh, np.tanh),
    ("sigmoid", T.sigmoid, lambda a: 1 / (1 + np.exp(-a))),
    ("neg", lambda t: -t, lambda a: -a),
    ("abs", T.abs, np.abs),
    ("sqr", T.sqr, np.square),
    ("sqrt_abs", lambda t: T.sqrt(T.abs(t)), lambda a: np.sqrt(np.abs(a))),
    ("pow2", lambda t: t ** 2, lambda a: a ** 2),
    ("mul1", lambda t: t * 1, lambda a: a),
    ("add0", lambda t: t + 0, lambda a: a),
    ("negneg", lambda t: -(-t), lambda a: a),
    ("expm1", lambda t: T.exp(T.tanh(t)) - 1, lambda a: np.expm1(np.tanh(a))),
    ("logsig", lambda t: T.log(T.sigmoid(t)), lambda a: -np.logaddexp(0, -a)),
    ("softplus", lambda t: T.log(1 + T.exp(t)), lambda a: np.logaddexp(0, a)),
    ("div_const", lambda t: t / 4.0, lambda a: a / 4.0),
    ("transpose2", lambda t: t.T.T, lambda a: a),
    ("cast_roundtrip", lambda t: T.cast(T.cast(t, "float32"), "float64"),
     lambda a: a.astype("float32").astype("float64")),
]

BINARY = [
    ("add", lambda a, b: a + b, np.add),
    ("sub", lambda a, b: a - b, np.subtract),
    ("mul", lambda a, b: a * b, np.multiply),
    ("div", lambda a, b: a / (1 + T.sqr(b)), lambda a, b: a / (1 + b * b)),
    ("max", T.maximum, np.maximum),
    ("min", T.minimum, np.minimum),
    # the comparison is shifted so that rounding differences between equivalent forms
    # (e.g. (a + b) - b vs a) never flip it
    ("switch", lambda a, b: T.switch(T.gt(a, b + 0.25), a, b * 2),
     lambda a, b: np.where(a > b + 0.25, a, b * 2)),
    ("cancel", lambda a, b: (a + b) - b, lambda a, b: _like(a, a, b)),
    ("cancel_div", lambda a, b: (a * (1 + T.sqr(b))) / (1 + T.sqr(b)), lambda a, b: _like(a, a, b)),
]

REDUCE = [
    ("sum0", lambda t: T.sum(t, axis=0, keepdims=True), lambda a: a.sum(axis=0, keepdims=True)),
    ("sum1", lambda t: T.sum(t, axis=1, keepdims=True), lambda a: a.sum(axis=1, keepdims=True)),
    ("max1", lambda t: T.max(t, axis=1, keepdims=True), lambda a: a.max(axis=1, keepdims=True)),
    ("mean0", lambda t: T.mean(t, axis=0, keepdims=True), lambda a: a.mean(axis=0, keepdims=True)),
    ("lse1", lambda t: T.log(T.sum(T.exp(t), axis=1, keepdims=True)),
     lambda a: np.log(np.exp(a).sum(axis=1, keepdims=True))),
]


def build(seed, depth=5):
    rnd = random.Random(seed)
    x, y = T.matrix("x"), T.matrix("y")
    xv = np.random.default_rng(seed).standard_normal((N, M))
    yv = np.random.default_rng(seed + 1).standard_normal((N, M))
    leaves = [(x, xv), (y, yv), (T.constant(0.5), np.float64(0.5))]

    def gen(d):
        if d == 0 or rnd.random() < 0.15:
            return rnd.choice(leaves[:2]) if rnd.random() < 0.9 else leaves[2]
        kind = rnd.random()
        if kind < 0.4:
            _, fs, fn = rnd.choice(UNARY)
            s, n = gen(d - 1)
            return fs(s), fn(n)
        if kind < 0.85:
            _, fs, fn = rnd.choice(BINARY)
            (s1, n1), (s2, n2) = gen(d - 1), gen(d - 1)
            return fs(s1, s2), fn(n1, n2)
        _, fs, fn = rnd.choice(REDUCE)
        s, n = gen(d - 1)
        if s.type.ndim != 2:
            return s, n
        return fs(s), fn(n)

    outs = [gen(depth) for _ in range(rnd.choice([1, 1, 2]))]
    return [x, y], [xv, yv], [o for o, _ in outs], [n for _, n in outs]


def run(seed, optimizer):
    inputs, values, outs, want = build(seed)
    f = theano.function(inputs, outs, mode=Mode(linker="python", optimizer=optimizer),
                        on_unused_input="ignore")
    got = f(*values)
    for g, w, o in zip(got, want, outs):
        w = np.broadcast_to(np.asarray(w, dtype=o.type.dtype), g.shape) if np.ndim(w) == 0 else w
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)
        assert g.dtype == o.type.dtype
    return f


_settings = settings(max_examples=60, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(st.integers(0, 2 ** 31 - 1))
def test_fast_run_agrees_with_numpy(seed):
    f = run(seed, "fast_run")
    f.maker.fgraph.check_integrity()


@_settings
@given(st.integers(0, 2 ** 31 - 1))
def test_fast_compile_agrees_with_numpy(seed):
    run(seed, "fast_compile")


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.integers(0, 2 ** 31 - 1))
def test_repeated_calls_agree(seed):
    """In-place buffers never leak state between calls."""
    inputs, values, outs, want = build(seed)
    f = theano.function(inputs, outs, mode=Mode(linker="python"), on_unused_input="ignore")
    first = [np.copy(v) for v in f(*values)]
    second = f(*values)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.integers(0, 2 ** 31 - 1))
def test_gradient_graphs_agree_with_unoptimized(seed):
    """Gradient graphs (fills, broadcasts, reductions) optimize to the same values."""
    inputs, values, outs, _ = build(seed, depth=4)
    cost = sum(T.sum(o) for o in outs)
    grads = T.grad(cost, inputs, disconnected_inputs="ignore")
    f = theano.function(inputs, grads, mode=Mode(linker="python", optimizer="fast_run"),
                        on_unused_input="ignore")
    g = theano.function(inputs, grads, mode=Mode(linker="python", optimizer=None),
                        on_unused_input="ignore")
    for a, b in zip(f(*values), g(*values)):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
