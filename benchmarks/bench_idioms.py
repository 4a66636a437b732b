"""Losses written the way Theano's tutorials write them, against hand-written NumPy, single thread.

The NLL idiom `-T.mean(T.log(T.nnet.softmax(z))[T.arange(y.shape[0]), y])`
exactly as users write it (not the fused op), compiled with the default
mode: graphopt rewrites it to the fused crossentropy kernels. Same rules as
bench_cpu_vm.py: values checked in `setup`, both sides timed in the same run,
`track_ratio_*` < 1 means graphcore is faster; one thread everywhere.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import graphcore as gc  # noqa: E402
import graphcore.tensor as T  # noqa: E402

from . import bench_cpu_vm as _cpu_vm  # noqa: E402  (underscore: asv must not collect its classes twice)
from .bench_cpu_vm import ratio  # noqa: E402

gc.config.num_threads = 1


def nll_idiom(z, y):
    """The loss of Theano's logistic-regression / MLP tutorials."""
    return -T.mean(T.log(T.nnet.softmax(z))[T.arange(y.shape[0]), y])


def numpy_nll(z, y):
    """mean NLL of softmax(z) and its gradient in z, hand-written NumPy (one exp pass)."""
    n = z.shape[0]
    zmax = z.max(axis=1, keepdims=True)
    e = np.exp(z - zmax)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = (zmax[:, 0] + np.log(s[:, 0]) - z[rows, y]).mean()
    dz = e / s
    dz[rows, y] -= 1
    dz /= n
    return loss, dz


class SoftmaxCrossEntropyIdiom:
    """The NLL idiom forward + gradient, (4096, 1000) float64, int32 labels."""

    def setup(self):
        z, y = T.dmatrix("z"), T.ivector("y")
        loss = nll_idiom(z, y)
        self.f = gc.function([z, y], [loss, T.grad(loss, z)])
        rng = np.random.default_rng(3)
        self.args = (rng.standard_normal((4096, 1000)), rng.integers(0, 1000, 4096).astype("int32"))
        for got, want in zip(self.f(*self.args), numpy_nll(*self.args)):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-15)

    def time_graphcore(self):
        self.f(*self.args)

    def time_numpy(self):
        numpy_nll(*self.args)

    def track_ratio_graphcore_over_numpy(self):
        f, a = self.f, self.args
        return ratio(lambda: f(*a), lambda: numpy_nll(*a), 3, 7)


def build_tanh_mlp(sizes=(784, 512, 512, 10), batch=256, lr=0.01, seed=4):
    rng = np.random.default_rng(seed)
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params.append((rng.standard_normal((a, b)) * np.sqrt(1.0 / a)).astype("float32"))
        params.append(np.zeros(b, dtype="float32"))
    x = rng.standard_normal((batch, sizes[0])).astype("float32")
    y = rng.integers(0, sizes[-1], batch).astype("int32")
    return params, x, y, lr


def compile_tanh_mlp(params, lr):
    """The tutorial's MLP step: tanh hidden layers, softmax output, the NLL idiom, SGD updates."""
    shared = [gc.shared(p.copy(), name=f"p{k}") for k, p in enumerate(params)]
    x, y = T.fmatrix("x"), T.ivector("y")
    h = x
    for k in range(0, len(shared) - 2, 2):
        h = T.tanh(T.dot(h, shared[k]) + shared[k + 1])
    loss = nll_idiom(T.dot(h, shared[-2]) + shared[-1], y)
    grads = T.grad(loss, shared)
    updates = [(p, p - np.float32(lr) * g) for p, g in zip(shared, grads)]
    return gc.function([x, y], loss, updates=updates), shared


def numpy_tanh_mlp_step(params, x, y, lr):
    """The same SGD step in hand-written NumPy (float32), updating `params` in place."""
    acts = [x]
    h = x
    nl = len(params) // 2
    for k in range(nl - 1):
        h = np.tanh(h @ params[2 * k] + params[2 * k + 1])
        acts.append(h)
    loss, g = numpy_nll(h @ params[-2] + params[-1], y)
    for k in reversed(range(nl)):
        a = acts[k]
        gw, gb = a.T @ g, g.sum(axis=0)
        if k:
            g = (g @ params[2 * k].T) * (1 - a * a)
        params[2 * k] -= np.float32(lr) * gw
        params[2 * k + 1] -= np.float32(lr) * gb
    return loss


class MLPTrainingStepIdiom(_cpu_vm.MLPTrainingStep):
    """784-512-512-10 tanh MLP, float32, batch 256, the NLL idiom, one SGD step."""

    build = staticmethod(build_tanh_mlp)
    compile = staticmethod(compile_tanh_mlp)
    numpy_step = staticmethod(numpy_tanh_mlp_step)
