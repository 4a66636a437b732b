"""graphcore.dask throughput: a fused elementwise graph on a 2-worker LocalCluster vs one process.

A script, not an asv suite (a cluster per sample would measure process start-up); asv imports
this file and finds nothing to time. Run it from the repository root:

    python benchmarks/bench_dask.py [--size 100000000] [--chunk 1000000] [--repeat 3]

f(x) = exp(-x^2) * sin(x) + 0.5 * tanh(x) on `size` float64 (default 10^8, 800 MB) in chunks of
`chunk`, each result summed (so no result array travels back). The data are made on the
workers and persisted before timing; the one-process runs hold the same chunks in memory.
Peers in the same run: dask's own dask.array expression of f on the same cluster, and NumPy
and graphcore over the chunks in one process. Everything single-threaded per process
(OMP/OpenBLAS/graphcore num_threads = 1, 1 thread per worker), so the cluster's best is 2x one
process on a machine with 2 free cores. Prints one line per variant: median seconds and
throughput in 10^6 elements per second.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def expression(mod, x):
    return mod.exp(-x * x) * mod.sin(x) + 0.5 * mod.tanh(x)


def timed(run, repeat):
    times, value = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10 ** 8)
    parser.add_argument("--chunk", type=int, default=10 ** 6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    # set before graphcore is imported, here and in the workers (they inherit the environment)
    os.environ["GRAPHCORE_FLAGS"] = ",".join(
        filter(None, [os.environ.get("GRAPHCORE_FLAGS", ""), "num_threads=1"]))

    import dask.array as da
    from distributed import Client, LocalCluster, wait

    import graphcore as theano
    import graphcore.dask as gd
    import graphcore.tensor as T

    x = T.dvector("x")
    f = theano.function([x], expression(T, x), name="f")
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        data = da.random.default_rng(0).random(args.size, chunks=args.chunk)
        data = client.persist(data)
        wait(data, timeout=600)
        chunks = [np.asarray(b) for b in client.compute(data.to_delayed().ravel().tolist(),
                                                        sync=True)]
        n = args.size / 1e6
        results = {}

        results["graphcore, one process"] = timed(
            lambda: float(sum(f(c).sum() for c in chunks)), args.repeat)
        results["NumPy, one process"] = timed(
            lambda: float(sum(expression(np, c).sum() for c in chunks)), args.repeat)
        graph = gd.map_blocks(f, data).sum()
        graph.compute()  # ships and links f on the workers once, outside the timing
        results[f"graphcore.dask, {args.workers} workers"] = timed(
            lambda: float(graph.compute()), args.repeat)
        peer = expression(da, data).sum()
        results[f"dask.array expression, {args.workers} workers"] = timed(
            lambda: float(peer.compute()), args.repeat)

    reference = results["NumPy, one process"][1]
    print(f"f(x) = exp(-x^2) sin(x) + 0.5 tanh(x), {args.size:.0e} float64 in chunks of "
          f"{args.chunk}, median of {args.repeat}, {os.cpu_count()} CPUs here")
    for name, (seconds, value) in results.items():
        assert abs(value - reference) <= 1e-9 * abs(reference) + 1e-6, (name, value, reference)
        print(f"{name:40s} {seconds:8.3f} s  {n / seconds:8.1f} M elements/s")
    return results


if __name__ == "__main__":
    main()
