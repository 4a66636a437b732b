"""scan: a tanh RNN (T=100, batch 32, input 128, hidden 256, float32) against a NumPy loop.

Forward: h_T of h_t = tanh(x_t @ W + h_{t-1} @ U + b). Forward + grad: h_T and
the gradients of sum(h_T) with respect to W, U, b (the NumPy peer runs the
forward loop keeping every h_t, then the hand-written backward loop).
`setup` checks that graphcore and the peer agree; `track_ratio_*` is
median(graphcore) / median(NumPy loop), interleaved (< 1: graphcore faster);
`track_compile_ms_grad` is the compile time of the forward + grad function,
its loops' step functions included.
Single thread (OPENBLAS_NUM_THREADS=1 set before NumPy is imported).
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import statistics  # noqa: E402
import time  # noqa: E402
import timeit  # noqa: E402

import numpy as np  # noqa: E402

import graphcore as gc  # noqa: E402
import graphcore.tensor as T  # noqa: E402

gc.config.num_threads = 1

STEPS, BATCH, N_IN, N_HID = 100, 32, 128, 256


def ratio(ours, peer, number, repeat=7):
    t_ours, t_peer = [], []
    for _ in range(repeat):
        t_ours.append(timeit.timeit(ours, number=number))
        t_peer.append(timeit.timeit(peer, number=number))
    return statistics.median(t_ours) / statistics.median(t_peer)


def numpy_forward(x, W, U, b, h0):
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ W + h @ U + b)
    return h


def numpy_forward_grad(x, W, U, b, h0):
    hs = [h0]
    for t in range(x.shape[0]):
        hs.append(np.tanh(x[t] @ W + hs[-1] @ U + b))
    gW, gU, gb = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    gh = np.ones_like(h0)
    for t in range(x.shape[0] - 1, -1, -1):
        d = gh * (1 - hs[t + 1] ** 2)
        gW += x[t].T @ d
        gU += hs[t].T @ d
        gb += d.sum(axis=0)
        gh = d @ U.T
    return hs[-1], gW, gU, gb


def _graph():
    x = T.ftensor3("x")
    W, U = T.fmatrices("W", "U")
    b = T.fvector("b")
    h0 = T.fmatrix("h0")
    hs, _ = gc.scan(lambda x_t, h, W, U, b: T.tanh(T.dot(x_t, W) + T.dot(h, U) + b),
                    sequences=x, outputs_info=h0, non_sequences=[W, U, b])
    return [x, W, U, b, h0], hs[-1]


class TanhRNN:
    def setup(self):
        rng = np.random.default_rng(0)
        f32 = np.float32
        self.args = (rng.standard_normal((STEPS, BATCH, N_IN)).astype(f32) * f32(0.1),
                     (rng.standard_normal((N_IN, N_HID)) / np.sqrt(N_IN)).astype(f32),
                     (rng.standard_normal((N_HID, N_HID)) / np.sqrt(N_HID)).astype(f32),
                     np.zeros(N_HID, f32), np.zeros((BATCH, N_HID), f32))
        inputs, h_last = _graph()
        self.f = gc.function(inputs, h_last, trust_input=True)
        W, U, b = inputs[1:4]
        t0 = time.perf_counter()
        self.g = gc.function(inputs, [h_last] + gc.grad(h_last.sum(), [W, U, b]),
                             trust_input=True)
        for node in self.g.maker.fgraph.apply_nodes:  # the loops' steps compile on first use:
            if isinstance(node.op, gc.scan_module.Scan):  # count them in the compile time
                node.op.fn
        self.compile_grad = time.perf_counter() - t0
        np.testing.assert_allclose(self.f(*self.args), numpy_forward(*self.args),
                                   rtol=2e-4, atol=2e-5)
        for got, want in zip(self.g(*self.args), numpy_forward_grad(*self.args)):
            np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-3)

    def time_forward_graphcore(self):
        self.f(*self.args)

    def time_forward_numpy(self):
        numpy_forward(*self.args)

    def time_grad_graphcore(self):
        self.g(*self.args)

    def time_grad_numpy(self):
        numpy_forward_grad(*self.args)

    def track_ratio_forward(self):
        return ratio(lambda: self.f(*self.args), lambda: numpy_forward(*self.args), 5)

    def track_ratio_forward_grad(self):
        return ratio(lambda: self.g(*self.args), lambda: numpy_forward_grad(*self.args), 3)

    def track_compile_ms_grad(self):
        return self.compile_grad * 1000.0


if __name__ == "__main__":  # a quick look without asv
    bench = TanhRNN()
    bench.setup()
    print(f"forward ratio {bench.track_ratio_forward():.2f}, forward+grad ratio "
          f"{bench.track_ratio_forward_grad():.2f}, grad compile {bench.track_compile_ms_grad():.0f} ms")
