"""A compiled graphcore function over a dask array, chunk by chunk, on a dask cluster.

Needs the dask extra (pip install 'graphcore[dask]', or requirements/test.txt). One command:

    python examples/dask_blockwise.py [--size N] [--chunk C] [--address tcp://host:port]

Without --address it starts a LocalCluster of 2 worker processes on this machine (127.0.0.1)
and closes it at the end; with --address it uses that running scheduler. It compiles one fused
elementwise function, maps it over a dask array of N float64 made on the workers (nothing
large passes through this process), reduces the result with a compiled mean, checks the first
chunk against NumPy and prints what it computed.
"""

import argparse

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

import graphcore as theano
import graphcore.dask as gd
import graphcore.tensor as T


def build():
    """f: a fused elementwise expression; mean: a function ending in a mean (a reduction)."""
    x = T.dvector("x")
    f = theano.function([x], T.exp(-x * x) * T.sin(x) + 0.5 * T.tanh(x), name="f")
    mean = theano.function([x], T.mean(x * x), name="mean_square")
    return f, mean


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2_000_000, help="number of float64")
    parser.add_argument("--chunk", type=int, default=250_000, help="elements per chunk")
    parser.add_argument("--address", default=None, help="a running dask scheduler's address")
    args = parser.parse_args(argv)

    cluster = None
    if args.address is None:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                               dashboard_address=None)
    client = Client(args.address or cluster)
    try:
        f, mean = build()
        x = da.random.default_rng(0).normal(size=args.size, chunks=args.chunk)
        y = gd.map_blocks(f, x)  # lazy: chunks and dtype known from f's shape inference
        print(f"{len(client.scheduler_info()['workers'])} workers; x: {x.numblocks[0]} chunks "
              f"of {args.chunk} float64; y = f(x): chunks {y.chunks[0][:2]}..., dtype {y.dtype}")
        first = np.asarray(x.blocks[0].compute())
        ok = np.allclose(y.blocks[0].compute(), np.exp(-first ** 2) * np.sin(first)
                         + 0.5 * np.tanh(first))
        print(f"first chunk equals NumPy: {ok}")
        ms = gd.reduction(mean, y).compute()  # each chunk's mean, combined with the counts
        print(f"mean of f(x)^2 over {args.size} elements: {float(ms):.6f}")
        return ok, float(ms)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    main()
