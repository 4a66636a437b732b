"""The CPU runtime (graphrt-cpu's C VM) against NumPy, numexpr and hand-written NumPy, single thread.

Every class checks in `setup` that graphcore and its peer compute the same
values, times both in the same run (`time_*`), and reports the ratio of
their median times (`track_ratio_*`: < 1 means graphcore is faster).
Single thread: graphcore's loops (config.num_threads=1), numexpr
(set_num_threads(1)) and OpenBLAS (OPENBLAS_NUM_THREADS=1, set before NumPy
is imported by this module; run asv in a fresh process).
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import statistics  # noqa: E402
import timeit  # noqa: E402

import numpy as np  # noqa: E402

import graphcore as gc  # noqa: E402
import graphcore.tensor as T  # noqa: E402

try:
    import numexpr as ne  # noqa: E402

    ne.set_num_threads(1)
except ImportError:  # pragma: no cover - numexpr is in requirements/test.txt
    ne = None

gc.config.num_threads = 1


def median_time(fn, number, repeat=7):
    return statistics.median(timeit.repeat(fn, number=number, repeat=repeat)) / number


def ratio(ours, peer, number, repeat=7):
    """Median time of `ours` over the median time of `peer`, their samples interleaved (so a
    change in machine load affects both alike)."""
    t_ours, t_peer = [], []
    for _ in range(repeat):
        t_ours.append(timeit.timeit(ours, number=number))
        t_peer.append(timeit.timeit(peer, number=number))
    return statistics.median(t_ours) / statistics.median(t_peer)


class CallOverhead:
    """f(x) = x + 1 on 10 float64: the whole Function.__call__ path vs NumPy's eager `x + 1`."""

    def setup(self):
        x = T.dvector("x")
        self.f = gc.function([x], x + 1)
        self.ft = gc.function([x], x + 1, trust_input=True)
        self.x = np.random.default_rng(0).standard_normal(10)
        np.testing.assert_array_equal(self.f(self.x), self.x + 1)
        np.testing.assert_array_equal(self.ft(self.x), self.x + 1)

    def time_graphcore(self):
        self.f(self.x)

    def time_graphcore_trust_input(self):
        self.ft(self.x)

    def time_numpy(self):
        self.x + 1

    def track_ratio_graphcore_over_numpy(self):
        x, f = self.x, self.f
        return ratio(lambda: f(x), lambda: x + 1, 20000)

    def track_ratio_trust_input_over_numpy(self):
        x, f = self.x, self.ft
        return ratio(lambda: f(x), lambda: x + 1, 20000)


class Sum20Inputs:
    """x0 + x1 + ... + x19 on 10 float64 each: one fused kernel vs 19 NumPy additions."""

    def setup(self):
        xs = [T.dvector(f"x{i}") for i in range(20)]
        out = xs[0]
        for v in xs[1:]:
            out = out + v
        self.f = gc.function(xs, out)
        rng = np.random.default_rng(1)
        self.vals = [rng.standard_normal(10) for _ in range(20)]
        np.testing.assert_allclose(self.f(*self.vals), self.numpy(), rtol=1e-15)

    def numpy(self):
        vals = self.vals
        out = vals[0]
        for v in vals[1:]:
            out = out + v
        return out

    def time_graphcore(self):
        self.f(*self.vals)

    def time_numpy(self):
        self.numpy()

    def track_ratio_graphcore_over_numpy(self):
        f, vals = self.f, self.vals
        return ratio(lambda: f(*vals), self.numpy, 5000)


class FusedElemwise:
    """exp(-x**2) * sin(y) + 0.5 * tanh(x * y) on 10**7 float64."""

    expr = "exp(-x**2) * sin(y) + 0.5 * tanh(x * y)"

    def setup(self):
        x, y = T.dvector("x"), T.dvector("y")
        self.f = gc.function([x, y], T.exp(-x ** 2) * T.sin(y) + 0.5 * T.tanh(x * y))
        rng = np.random.default_rng(2)
        self.x = rng.standard_normal(10**7)
        self.y = rng.standard_normal(10**7)
        want = self.numpy()
        np.testing.assert_allclose(self.f(self.x, self.y), want, rtol=1e-13, atol=1e-15)
        if ne is not None:
            np.testing.assert_allclose(self.numexpr(), want, rtol=1e-13, atol=1e-15)

    def numpy(self):
        x, y = self.x, self.y
        return np.exp(-x ** 2) * np.sin(y) + 0.5 * np.tanh(x * y)

    def numexpr(self):
        return ne.evaluate(self.expr, local_dict={"x": self.x, "y": self.y})

    def time_graphcore(self):
        self.f(self.x, self.y)

    def time_numpy(self):
        self.numpy()

    def time_numexpr(self):
        self.numexpr()

    def track_ratio_graphcore_over_numpy(self):
        x, y, f = self.x, self.y, self.f
        return ratio(lambda: f(x, y), self.numpy, 1, 5)

    def track_ratio_graphcore_over_numexpr(self):
        x, y, f = self.x, self.y, self.f
        return ratio(lambda: f(x, y), self.numexpr, 1, 5)


def numpy_softmax_ce(x, b, y):
    """Forward and backward of mean(crossentropy(softmax(x + b), y)), hand-written NumPy."""
    n = x.shape[0]
    z = x + b
    zmax = z.max(axis=1, keepdims=True)
    e = np.exp(z - zmax)
    s = e.sum(axis=1, keepdims=True)
    lse = zmax + np.log(s)
    rows = np.arange(n)
    loss = (lse[:, 0] - z[rows, y]).mean()
    dz = e / s
    dz[rows, y] -= 1
    dz /= n
    return loss, dz, dz.sum(axis=0)


class SoftmaxCrossEntropy:
    """Softmax cross-entropy forward + backward, (4096, 1000) float64."""

    def setup(self):
        x, b, y = T.dmatrix("x"), T.dvector("b"), T.lvector("y")
        nll, _ = T.nnet.crossentropy_softmax_1hot_with_bias(x, b, y)
        loss = nll.mean()
        self.f = gc.function([x, b, y], [loss] + T.grad(loss, [x, b]))
        rng = np.random.default_rng(3)
        self.args = (rng.standard_normal((4096, 1000)), rng.standard_normal(1000),
                     rng.integers(0, 1000, 4096))
        for got, want in zip(self.f(*self.args), numpy_softmax_ce(*self.args)):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-15)

    def time_graphcore(self):
        self.f(*self.args)

    def time_numpy(self):
        numpy_softmax_ce(*self.args)

    def track_ratio_graphcore_over_numpy(self):
        f, a = self.f, self.args
        return ratio(lambda: f(*a), lambda: numpy_softmax_ce(*a), 3, 7)


def build_mlp(sizes=(784, 512, 512, 10), batch=256, lr=0.01, seed=4):
    """An MLP SGD step (relu hidden layers, softmax cross-entropy), its params and a batch."""
    rng = np.random.default_rng(seed)
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params.append((rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype("float32"))
        params.append(np.zeros(b, dtype="float32"))
    x = rng.standard_normal((batch, sizes[0])).astype("float32")
    y = rng.integers(0, sizes[-1], batch)
    return params, x, y, lr


def compile_mlp(params, lr):
    shared = [gc.shared(p.copy(), name=f"p{k}") for k, p in enumerate(params)]
    x, y = T.fmatrix("x"), T.lvector("y")
    h = x
    for k in range(0, len(shared) - 2, 2):
        h = T.maximum(T.dot(h, shared[k]) + shared[k + 1], 0)
    nll, _ = T.nnet.crossentropy_softmax_1hot_with_bias(T.dot(h, shared[-2]), shared[-1], y)
    loss = nll.mean()
    grads = T.grad(loss, shared)
    updates = [(p, p - np.float32(lr) * g) for p, g in zip(shared, grads)]
    return gc.function([x, y], loss, updates=updates), shared


def numpy_mlp_step(params, x, y, lr):
    """The same SGD step in hand-written NumPy (float32), updating `params` in place."""
    acts = [x]
    h = x
    nl = len(params) // 2
    for k in range(nl - 1):
        h = np.maximum(h @ params[2 * k] + params[2 * k + 1], 0)
        acts.append(h)
    z = h @ params[-2] + params[-1]
    n = x.shape[0]
    zmax = z.max(axis=1, keepdims=True)
    e = np.exp(z - zmax)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = (zmax[:, 0] + np.log(s[:, 0]) - z[rows, y]).mean()
    g = e / s
    g[rows, y] -= 1
    g /= n
    for k in reversed(range(nl)):
        a = acts[k]
        gw, gb = a.T @ g, g.sum(axis=0)
        if k:
            g = (g @ params[2 * k].T) * (a > 0)
        params[2 * k] -= np.float32(lr) * gw
        params[2 * k + 1] -= np.float32(lr) * gb
    return loss


class MLPTrainingStep:
    """784-512-512-10 MLP, float32, batch 256, one SGD step (forward, backward, update).

    Subclasses time another spelling of the same step by swapping the three builders.
    """

    build = staticmethod(build_mlp)
    compile = staticmethod(compile_mlp)
    numpy_step = staticmethod(numpy_mlp_step)

    def setup(self):
        params, self.x, self.y, lr = self.build()
        self.f, self.shared = self.compile(params, lr)
        self.np_params = [p.copy() for p in params]
        self.lr = lr
        loss = self.f(self.x, self.y)
        want = self.numpy_step(self.np_params, self.x, self.y, lr)
        np.testing.assert_allclose(loss, want, rtol=1e-4)
        for s, p in zip(self.shared, self.np_params):
            np.testing.assert_allclose(s.get_value(), p, rtol=1e-3, atol=1e-5)

    def time_graphcore(self):
        self.f(self.x, self.y)

    def time_numpy(self):
        self.numpy_step(self.np_params, self.x, self.y, self.lr)

    def track_ratio_graphcore_over_numpy(self):
        f, x, y, p, lr, step = self.f, self.x, self.y, self.np_params, self.lr, self.numpy_step
        return ratio(lambda: f(x, y), lambda: step(p, x, y, lr), 5, 7)


class MLPCompile:
    """Compile time of the MLP training step (graph -> optimized Program -> VM)."""

    timeout = 120

    def setup(self):
        self.params, _, _, self.lr = build_mlp()

    def time_compile(self):
        compile_mlp(self.params, self.lr)


class Matmul:
    """dot(A, B) of two 2048 x 2048 float64 matrices (BLAS dgemm through SciPy vs NumPy's)."""

    timeout = 300

    def setup(self):
        A, B = T.dmatrix("A"), T.dmatrix("B")
        self.f = gc.function([A, B], T.dot(A, B))
        rng = np.random.default_rng(5)
        self.A = rng.standard_normal((2048, 2048))
        self.B = rng.standard_normal((2048, 2048))
        np.testing.assert_allclose(self.f(self.A, self.B), self.A @ self.B, rtol=1e-9, atol=1e-9)

    def time_graphcore(self):
        self.f(self.A, self.B)

    def time_numpy(self):
        self.A @ self.B

    def track_ratio_graphcore_over_numpy(self):
        f, A, B = self.f, self.A, self.B
        return ratio(lambda: f(A, B), lambda: A @ B, 1, 3)
