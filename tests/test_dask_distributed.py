"""graphcore.dask on a LocalCluster of 2 worker processes (1 thread each) on this machine.

One cluster for the module (started and closed here, every wait bounded): blockwise and
reduction results equal NumPy and the single-process run, the function is shipped once per
worker, a worker killed during a map is retried by dask and the result is still right, a backend
the workers lack is a clear error (or a fallback when allowed), and data-parallel training of
the logistic-regression example reaches the local accuracy (and equals it exactly on one shard).
"""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

import graphcore as theano  # noqa: E402
import graphcore.dask as gd  # noqa: E402
import graphcore.tensor as T  # noqa: E402
from graphcore.backends.python import PythonBackend  # noqa: E402
from graphcore.backends.registry import register_backend  # noqa: E402

TIMEOUT = 60  # seconds, for every wait on the cluster


@pytest.fixture(scope="module")
def client():
    # this module's helpers run on the workers, which cannot import a test module
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       worker_dashboard_address=None)
    c = distributed.Client(cluster, timeout=TIMEOUT)
    try:
        c.wait_for_workers(2, timeout=TIMEOUT)
        yield c
    finally:
        c.close(timeout=TIMEOUT)
        cluster.close(timeout=TIMEOUT)
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def compute(client, arr):
    return client.compute(arr).result(timeout=TIMEOUT)


def test_blockwise_and_reduction_equal_numpy_and_the_local_run(client):
    rng = np.random.default_rng(1)
    x_np, y_np = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
    x, y = T.dmatrices("x", "y")
    f = theano.function([x, y], T.tanh(x) * y + T.exp(-x * x), name="fused")
    dx, dy = da.from_array(x_np, chunks=(250, 8)), da.from_array(y_np, chunks=(250, 8))
    out = compute(client, gd.map_blocks(f, dx, dy))
    np.testing.assert_allclose(out, np.tanh(x_np) * y_np + np.exp(-x_np * x_np), rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_array_equal(out, f(x_np, y_np))  # contiguous blocks: the same kernels
    g = theano.function([x], T.mean(T.exp(x) * 0.5, axis=0))
    np.testing.assert_allclose(compute(client, gd.reduction(g, dx)), g(x_np), rtol=1e-12)
    np.testing.assert_allclose(compute(client, gd.reduction(g, dx)),
                               np.mean(np.exp(x_np) * 0.5, axis=0), rtol=1e-12)


def test_the_function_is_shipped_once_per_worker(client):
    x = T.dvector("x")
    f = theano.function([x], T.sin(x) * 3 + 1, name="shipped")  # a function of its own
    key = gd.ship(f).key
    out = gd.map_blocks(f, da.from_array(np.linspace(0, 1, 4000), chunks=100))  # 40 tasks
    np.testing.assert_allclose(compute(client, out), np.sin(np.linspace(0, 1, 4000)) * 3 + 1)
    stats = client.run(gd.shipping_stats)
    ran = {w: s for w, s in stats.items() if key in s["linked"]}
    assert ran, stats  # at least one worker ran blocks
    for w, s in ran.items():
        assert s["received"].get(key, 0) <= 1, (w, s)  # the bytes arrived at most once
        assert s["unpacked"][key] == 1, (w, s)  # unpickled once
        assert s["linked"][key] == 1, (w, s)  # one thread per worker: linked once
        assert key not in s["recompiled"], (w, s)  # re-linked, never re-optimized


def _die_once(block, marker, block_info=None):
    """Kills its worker process the first time it sees block 5 (the marker file says 'done')."""
    if block_info[0]["chunk-location"][0] == 5 and not os.path.exists(marker):
        with open(marker, "w") as fh:
            fh.write("done")
        os._exit(1)
    return block


def test_a_worker_killed_during_a_map_is_retried_and_the_result_is_right(client, tmp_path):
    marker = str(tmp_path / "killed")
    data = np.arange(20000, dtype=np.float64)
    x = T.dvector("x")
    f = theano.function([x], T.sqrt(x) + x * 0.5, name="survivor")
    src = da.from_array(data, chunks=1000).map_blocks(_die_once, marker, dtype=np.float64)
    before = set(client.scheduler_info()["workers"])
    out = compute(client, gd.map_blocks(f, src))
    assert os.path.exists(marker)  # a worker did die mid-map
    np.testing.assert_allclose(out, np.sqrt(data) + data * 0.5)
    client.wait_for_workers(2, timeout=TIMEOUT)  # the nanny restarted it
    assert set(client.scheduler_info()["workers"]) != before


class NoSuchGPUBackend(PythonBackend):
    """Registered in this process only: the workers do not have it."""

    name = "nosuchgpu"


def test_a_backend_missing_on_the_workers_is_a_clear_error_or_a_fallback(client):
    register_backend("nosuchgpu", NoSuchGPUBackend)
    x = T.dvector("x")
    f = theano.function([x], x * 2 + 1, mode=theano.Mode(linker="nosuchgpu"), name="gpu_only")
    arr = da.from_array(np.arange(10.0), chunks=5)
    with pytest.raises(gd.BackendUnavailableOnWorkerError,
                       match=r"'gpu_only' was compiled for backend 'nosuchgpu'.*"
                             r"worker tcp://127\.0\.0\.1:\d+.*fallback="):
        compute(client, gd.map_blocks(f, arr))
    out = compute(client, gd.map_blocks(f, arr, fallback="cpu"))
    np.testing.assert_array_equal(out, np.arange(10.0) * 2 + 1)
    stats = client.run(gd.shipping_stats)
    assert any(gd.ship(f).key in s["recompiled"] for s in stats.values())


def _logistic_regression(repo_root):
    spec = importlib.util.spec_from_file_location("logistic_regression_example",
                                                  repo_root / "examples" / "logistic_regression.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _train_locally(train, x, y, steps, batch_size):
    for t in range(steps):
        rows = gd.training.batch_rows(t, len(x), batch_size)
        train(x[rows], y[rows])


def test_data_parallel_training_reaches_the_local_accuracy(client, repo_root):
    lr = _logistic_regression(repo_root)
    x, y = lr.make_blobs(n=800)
    steps, batch = 60, 50
    train, predict, params = lr.build(x.shape[1])
    _train_locally(train, x, y, steps, batch)
    local_accuracy = float(np.mean(predict(x) == (y > 0.5)))
    local_values = [p.get_value() for p in params]

    dx, dy = da.from_array(x, chunks=(100, 20)), da.from_array(y, chunks=100)
    # one shard: exactly local training, even with the averaging rounds
    train1, _, params1 = lr.build(x.shape[1])
    values = gd.train_data_parallel(train1, [dx, dy], steps=steps, batch_size=batch,
                                    average_every=7, client=client, shards=1)
    for v, p, local in zip(values, params1, local_values):
        np.testing.assert_array_equal(v, local)
        np.testing.assert_array_equal(p.get_value(), local)  # assigned here too

    # two workers, a shard each, averaged every 5 steps
    train2, predict2, params2 = lr.build(x.shape[1])
    gd.train_data_parallel(train2, [dx, dy], steps=steps, batch_size=batch, average_every=5,
                           client=client)
    accuracy = float(np.mean(predict2(x) == (y > 0.5)))
    assert local_accuracy > 0.9
    assert accuracy >= local_accuracy - 0.01, (accuracy, local_accuracy)


def test_the_example_runs_against_a_running_scheduler(client, repo_root):
    proc = subprocess.run(
        [sys.executable, str(repo_root / "examples" / "dask_blockwise.py"), "--size", "200000",
         "--chunk", "50000", "--address", client.scheduler.address],
        capture_output=True, text=True, timeout=120, cwd=repo_root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 workers; x: 4 chunks" in proc.stdout
    assert "first chunk equals NumPy: True" in proc.stdout
    x = da.random.default_rng(0).normal(size=200000, chunks=50000).compute(scheduler="sync")
    expected = np.mean((np.exp(-x * x) * np.sin(x) + 0.5 * np.tanh(x)) ** 2)
    assert abs(float(proc.stdout.rsplit("elements: ", 1)[1]) - expected) < 1e-6, proc.stdout
