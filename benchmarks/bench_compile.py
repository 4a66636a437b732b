"""Compile time: graph construction to first result, FAST_RUN and FAST_COMPILE.

What is timed is what a user waits for: building the symbolic graph, taking
gradients where the workload has them, `function()` (clone, optimize,
schedule, link) and the first call on small data (so the run itself is a
small part). Workloads:

- the MLP training step 784-512-512-10 (tanh, softmax cross-entropy, grad,
  SGD updates on shared weights);
- random-ish elementwise graphs of 200 and 2,000 nodes (compile time must
  grow no worse than linearly: `track_ms_per_node_*` should stay flat);
- the gradient of a deep chain `y = tanh(y * w + b)` of 200 and 2,000 layers
  (a chain of multiplications thousands long that canonicalize flattens and
  cancels in: `track_ms_per_layer` should stay flat).

Named peer: PyTensor (Theano's successor) on the same MLP step, when it is
installed in the benchmark environment (`pip install pytensor`); asv reports
it as skipped otherwise. The target is < 50 ms for the MLP step with FAST_RUN
(PyTensor: 1.6-2.4 s warm).
"""

import gc
import time

import numpy as np

import graphcore as theano
import graphcore.tensor as T
from graphcore.tensor import nnet


def build_mlp(rng, sizes=(784, 512, 512, 10)):
    """The symbolic training step: (inputs, cost, updates)."""
    x = T.matrix("x")
    y = T.vector("y", dtype="int64")
    params, h = [], x
    for k in range(len(sizes) - 1):
        W = theano.shared(rng.standard_normal((sizes[k], sizes[k + 1])) * 0.01, name=f"W{k}")
        b = theano.shared(np.zeros(sizes[k + 1]), name=f"b{k}")
        params += [W, b]
        a = T.dot(h, W) + b
        h = T.tanh(a) if k < len(sizes) - 2 else a
    cost = T.mean(nnet.categorical_crossentropy(nnet.softmax(h), y))
    grads = T.grad(cost, params)
    updates = [(p, p - 0.1 * g) for p, g in zip(params, grads)]
    return [x, y], cost, updates


def mlp_step_to_first_result(mode, rng, data):
    inputs, cost, updates = build_mlp(rng)
    f = theano.function(inputs, cost, updates=updates, mode=mode)
    return f(*data)


def build_elemwise(n_nodes, n_inputs=8):
    """A DAG of `n_nodes` elementwise ops over `n_inputs` vectors (deterministic)."""
    rng = np.random.default_rng(n_nodes)
    inputs = [T.vector(f"x{k}") for k in range(n_inputs)]
    pool = list(inputs)
    unary = [T.exp, T.sin, T.tanh, T.sqr, lambda v: -v, lambda v: v * 0.5, T.abs]
    binary = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b, T.maximum]
    for k in range(n_nodes):
        if rng.random() < 0.5:
            v = unary[rng.integers(len(unary))](pool[-1 - rng.integers(min(len(pool), 8))])
        else:
            a = pool[-1 - rng.integers(min(len(pool), 8))]
            b = pool[rng.integers(len(pool))]
            v = binary[rng.integers(len(binary))](a, b)
        pool.append(v)
    outputs = pool[-4:]
    return inputs, outputs


def elemwise_to_first_result(n_nodes, mode):
    inputs, outputs = build_elemwise(n_nodes)
    f = theano.function(inputs, outputs, mode=mode, on_unused_input="ignore")
    return f(*[np.full(4, 0.1 * (k + 1)) for k in range(len(inputs))])


def _best_ms(fn, repeat=5):
    best = float("inf")
    for _ in range(repeat):
        gc.collect()  # the previous repetition's graphs are garbage: not this one's cost
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


class MLPTrainStepCompile:
    """784-512-512-10 MLP: build + grad + function() + first call (batch of 2)."""

    params = ["FAST_RUN", "FAST_COMPILE"]
    param_names = ["mode"]
    timeout = 300

    def setup(self, mode):
        self.rng = np.random.default_rng(0)
        self.data = [self.rng.standard_normal((2, 784)), np.array([3, 7])]
        mlp_step_to_first_result(mode, self.rng, self.data)  # warm: imports, plugin registry

    def time_build_compile_first_call(self, mode):
        mlp_step_to_first_result(mode, self.rng, self.data)


class ElemwiseGraphCompile:
    """Elementwise DAGs of 200 and 2,000 nodes: build + function() + first call."""

    params = ([200, 2000], ["FAST_RUN", "FAST_COMPILE"])
    param_names = ["nodes", "mode"]
    timeout = 300

    def setup(self, nodes, mode):
        elemwise_to_first_result(20, mode)

    def time_build_compile_first_call(self, nodes, mode):
        elemwise_to_first_result(nodes, mode)

    def track_us_per_node(self, nodes, mode):
        """Best-of-5 compile time per graph node: flat across sizes means linear growth."""
        return _best_ms(lambda: elemwise_to_first_result(nodes, mode)) * 1e3 / nodes

    track_us_per_node.unit = "us/node"


def build_deep_chain_grad(n_layers):
    """d/dx sum(y) for y = tanh(... tanh(x * w + b) ... * w + b), `n_layers` deep."""
    x, w, b = T.vector("x"), T.scalar("w"), T.scalar("b")
    y = x
    for _ in range(n_layers):
        y = T.tanh(y * w + b)
    return [x, w, b], T.grad(y.sum(), x)


def deep_chain_grad_to_first_result(n_layers, mode="FAST_RUN"):
    inputs, g = build_deep_chain_grad(n_layers)
    f = theano.function(inputs, g, mode=mode)
    return f(np.full(4, 0.1), 0.9, 0.01)


class DeepChainGradCompile:
    """Gradient of a 200- and 2,000-layer tanh chain: build + grad + function() + first call."""

    params = [200, 2000]
    param_names = ["layers"]
    timeout = 600

    def setup(self, layers):
        deep_chain_grad_to_first_result(10)

    def time_build_compile_first_call(self, layers):
        deep_chain_grad_to_first_result(layers)

    def track_ms_per_layer(self, layers):
        """Best-of-3 time per layer: flat across sizes means linear growth."""
        return _best_ms(lambda: deep_chain_grad_to_first_result(layers), repeat=3) / layers

    track_ms_per_layer.unit = "ms/layer"


class PyTensorMLPTrainStepCompile:
    """The named peer: the same MLP step compiled by PyTensor (skipped when not installed)."""

    timeout = 600

    def setup(self):
        try:
            import pytensor  # noqa: F401
        except ImportError:
            raise NotImplementedError("pytensor is not installed in this environment") from None

    def time_build_compile_first_call(self):
        import pytensor
        import pytensor.tensor as pt

        rng = np.random.default_rng(0)
        x = pt.matrix("x")
        y = pt.lvector("y")
        sizes = (784, 512, 512, 10)
        params, h = [], x
        for k in range(3):
            W = pytensor.shared(rng.standard_normal((sizes[k], sizes[k + 1])) * 0.01)
            b = pytensor.shared(np.zeros(sizes[k + 1]))
            params += [W, b]
            a = pt.dot(h, W) + b
            h = pt.tanh(a) if k < 2 else a
        p = pt.special.softmax(h, axis=-1)
        cost = -pt.mean(pt.log(p[pt.arange(y.shape[0]), y]))
        grads = pt.grad(cost, params)
        f = pytensor.function([x, y], cost, updates=[(q, q - 0.1 * g) for q, g in zip(params, grads)])
        f(rng.standard_normal((2, 784)), np.array([3, 7]))
