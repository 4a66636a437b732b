"""Soak: 10^5 calls of a compiled MLP training step and of a function with in-place updates
leave the resident memory of the process and the runtime's buffer pool flat (measured after a
warm-up, the figures in the failure message).

CI runs the full 10^5 calls of each (under 2 s each on the 2-core CI box). Set
GRAPHCORE_SOAK_CALLS to soak longer, e.g. GRAPHCORE_SOAK_CALLS=2000000.
"""

import gc
import os

import numpy as np
import pytest

try:
    import resource
except ImportError:  # Windows: no getrusage
    resource = None

import graphcore as theano
import graphcore.tensor as T
from graphcore.backends.registry import available_backends

CALLS = int(os.environ.get("GRAPHCORE_SOAK_CALLS", 100_000))
WARMUP = 2_000
RSS_SLACK = 4 * 2**20  # bytes: allocator noise; a leak of one small array a call is > 50 MB
BACKENDS = [b for b in ("cpu", "python") if b in available_backends()][:1]


def _rss():
    """Resident set size of this process in bytes (Linux /proc; elsewhere the peak from
    getrusage, which a leak raises too)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _pool(f):
    stats = getattr(f.executable, "pool_stats", None)  # runtimes with a buffer pool
    return stats() if stats is not None else (0, 0)


def _soak(f, args):
    for _ in range(WARMUP):
        f(*args)
    gc.collect()
    rss0, pool0 = _rss(), _pool(f)
    for _ in range(CALLS):
        f(*args)
    gc.collect()
    rss1, pool1 = _rss(), _pool(f)
    report = (f"after {WARMUP} warm-up calls, {CALLS} calls: resident memory {rss0 / 2**20:.2f} "
              f"-> {rss1 / 2**20:.2f} MB ({(rss1 - rss0) / 1024:+.0f} KiB), buffer pool "
              f"{pool0[0]} arrays / {pool0[1]} bytes -> {pool1[0]} arrays / {pool1[1]} bytes")
    print(report)
    assert rss1 - rss0 < RSS_SLACK, report
    assert pool1 == pool0, report


@pytest.mark.parametrize("backend", BACKENDS)
def test_mlp_training_step_memory_is_flat(backend):
    rng = np.random.default_rng(0)
    x, y = T.dmatrix("x"), T.ivector("y")
    W1 = theano.shared(rng.standard_normal((16, 32)) * 0.1, "W1")
    b1 = theano.shared(np.zeros(32), "b1")
    W2 = theano.shared(rng.standard_normal((32, 4)) * 0.1, "W2")
    b2 = theano.shared(np.zeros(4), "b2")
    h = T.tanh(T.dot(x, W1) + b1)
    p = T.nnet.softmax(T.dot(h, W2) + b2)
    cost = T.nnet.categorical_crossentropy(p, y).mean()
    params = [W1, b1, W2, b2]
    grads = T.grad(cost, params)
    step = theano.function([x, y], cost, mode=backend,
                           updates=[(w, w - 0.01 * g) for w, g in zip(params, grads)])
    xv = rng.standard_normal((8, 16))
    yv = rng.integers(0, 4, 8).astype("int32")
    first = step(xv, yv)
    _soak(step, (xv, yv))
    assert step(xv, yv) < first  # it trained


@pytest.mark.parametrize("backend", BACKENDS)
def test_inplace_update_function_memory_is_flat(backend):
    acc = theano.shared(np.zeros(1000), "acc")
    count = theano.shared(np.int64(0), "count")
    x = T.dvector("x")
    f = theano.function([x], [], updates=[(acc, acc * 0.5 + x), (count, count + 1)],
                        mode=backend)
    destroyers = [n for n in f.maker.fgraph.apply_nodes if n.op.destroy_map]
    assert destroyers  # the update runs in place
    xv = np.ones(1000)
    _soak(f, (xv,))
    np.testing.assert_allclose(acc.get_value(), 2.0)  # the fixed point of a = a/2 + 1
    assert count.get_value() == WARMUP + CALLS
