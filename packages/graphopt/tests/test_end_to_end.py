"""End to end: an MLP training step (grad + SGD updates on shared weights) optimized vs not."""

import numpy as np

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode
from graphcore.tensor import nnet


def build_mlp(sizes, seed=0):
    rng = np.random.default_rng(seed)
    x = T.matrix("x")
    y = T.vector("y", dtype="int64")
    params, h = [], x
    for k in range(len(sizes) - 1):
        W = theano.shared(rng.standard_normal((sizes[k], sizes[k + 1])) * 0.3, name=f"W{k}")
        b = theano.shared(np.zeros(sizes[k + 1]), name=f"b{k}")
        params += [W, b]
        a = T.dot(h, W) + b
        h = T.tanh(a) if k < len(sizes) - 2 else a
    cost = T.mean(nnet.categorical_crossentropy(nnet.softmax(h), y))
    grads = T.grad(cost, params)
    return [x, y], cost, [(p, p - 0.1 * g) for p, g in zip(params, grads)], params


def train(optimizer, steps=4):
    ins, cost, updates, params = build_mlp((12, 10, 8, 5))
    f = theano.function(ins, cost, updates=updates, mode=Mode(linker="python", optimizer=optimizer))
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((6, 12)) * 3, rng.integers(0, 5, 6)
    costs = [float(f(X, Y)) for _ in range(steps)]
    return f, costs, [p.get_value() for p in params]


def test_mlp_training_step_matches_unoptimized():
    f, costs, weights = train("fast_run")
    _, costs0, weights0 = train(None)
    _, costs1, weights1 = train("fast_compile")
    np.testing.assert_allclose(costs, costs0, rtol=1e-12)
    np.testing.assert_allclose(costs1, costs0, rtol=1e-12)
    for a, b in zip(weights, weights0):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
    assert costs[-1] < costs[0]
    names = {type(n.op).__name__ for n in f.maker.fgraph.apply_nodes}
    assert "Gemm" in names and "CrossentropySoftmaxArgmax1HotWithBias" in names
    assert any("Composite" in str(n.op) for n in f.maker.fgraph.apply_nodes)
