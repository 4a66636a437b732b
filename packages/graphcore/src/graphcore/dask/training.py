"""Data-parallel training: a compiled training step on each worker's shard, parameters averaged.

The rows of the data arrays (their chunks along axis 0) are split into one contiguous shard per
worker, held in that worker's memory. Training goes in rounds of `average_every` steps: in a
round each shard's task sets the step's shared parameters to the current values, runs the
steps on its own mini-batches and returns the new values; one more task gathers those, takes
their mean and its result is the next round's values, which dask moves to every worker (an
explicit allreduce: gather, mean, scatter, through dask futures, never through the client).

Mini-batches: step t of a shard of n rows uses rows [b*batch_size, (b+1)*batch_size) with
b = t mod ceil(n / batch_size) (the last batch of a pass may be short). With one shard this is
exactly the local loop `for t in range(steps): step(*[a[rows] for a in arrays])` with the same
rows, and the trained values equal local training exactly.
"""

from __future__ import annotations

import math
from typing import Any

import dask
import dask.array as da
import numpy as np
from distributed import Client, default_client

from graphcore.compile.function_module import Function
from graphcore.dask.shipping import load, ship
from graphcore.graph.shared import SharedVariable


def _targets(f: Function) -> list[SharedVariable]:
    return [t for t, _ in f.maker.updates if isinstance(t, SharedVariable)]


def batch_rows(t: int, n: int, batch_size: int) -> slice:
    """The rows of a shard of `n` rows that training step `t` uses."""
    b = t % max(1, math.ceil(n / batch_size))
    return slice(b * batch_size, min(n, (b + 1) * batch_size))


def _concat_shard(*blocks_per_array):
    return [np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
            for blocks in blocks_per_array]


def _stack_blocks(n_arrays, *blocks):
    per = len(blocks) // n_arrays
    return _concat_shard(*[blocks[k * per:(k + 1) * per] for k in range(n_arrays)])


def _train_round(shipment, shard, params, first_step, n_steps, batch_size, fallback):
    f = load(shipment, fallback)
    targets = _targets(f)
    for t, value in zip(targets, params):
        t.set_value(value)  # copies: the next round's values are never overwritten in place
    n = len(shard[0])
    for t in range(first_step, first_step + n_steps):
        rows = batch_rows(t, n, batch_size)
        f(*[a[rows] for a in shard])
    return [t.get_value() for t in targets]


def _mean_params(*per_shard):
    if len(per_shard) == 1:
        return per_shard[0]
    return [np.asarray(sum(values) / len(values), dtype=np.asarray(values[0]).dtype)
            for values in zip(*per_shard)]


def train_data_parallel(step: Function, arrays: list[Any], steps: int, batch_size: int,
                        average_every: int = 1, client: Client | None = None,
                        shards: int | None = None, fallback: str | bool | None = None,
                        assign: bool = True) -> list[np.ndarray]:
    """Train with the compiled `step` (updates on shared parameters) on dask workers.

    arrays: one per explicit input of `step` (e.g. [X, y]), dask arrays with the same chunks
    along axis 0 (NumPy arrays are one chunk). Each of `shards` workers (default: all of the
    client's workers, at most one per row chunk) runs `steps` steps on its shard, and the
    updated shared variables are averaged across shards every `average_every` steps. Returns
    their trained values, in the order of `step`'s updates; assign=True also sets them on the
    shared variables here. client: default the current dask.distributed Client.
    """
    if not isinstance(step, Function):
        raise TypeError("graphcore.dask.train_data_parallel: expected a function compiled by "
                        f"graphcore.function, got {type(step).__name__}")
    targets = _targets(step)
    if not targets:
        raise ValueError("graphcore.dask.train_data_parallel: the step function updates no "
                         "shared variable; compile it with updates=[(param, new value), ...]")
    n_in = len(step.maker.spec["inputs"])
    if len(arrays) != n_in:
        raise TypeError(f"graphcore.dask.train_data_parallel: the step takes {n_in} input(s), "
                        f"{len(arrays)} array(s) given")
    if steps < 0 or batch_size < 1 or average_every < 1:
        raise ValueError("graphcore.dask.train_data_parallel: steps >= 0, batch_size >= 1 and "
                         "average_every >= 1")
    arrays = [a if isinstance(a, da.Array) else da.asarray(a) for a in arrays]
    rows = arrays[0].chunks[0]
    for k, a in enumerate(arrays):
        if a.ndim == 0 or a.chunks[0] != rows:
            raise ValueError(f"graphcore.dask.train_data_parallel: array {k} must have the same "
                             f"chunks along axis 0 as array 0 ({rows}), got "
                             f"{a.chunks[0] if a.ndim else 'a scalar'}")
        if a.ndim > 1 and any(len(c) > 1 for c in a.chunks[1:]):
            arrays[k] = a.rechunk({d: -1 for d in range(1, a.ndim)})
    client = client or default_client()
    workers = sorted(client.scheduler_info()["workers"])
    n_shards = min(shards or len(workers), len(rows))
    groups = np.array_split(np.arange(len(rows)), n_shards)
    shipped = client.scatter(ship(step), broadcast=True, hash=False)
    shard_data = []
    for j, group in enumerate(groups):
        blocks = [a.blocks[int(group[0]):int(group[-1]) + 1] for a in arrays]
        parts = dask.delayed(_stack_blocks)(
            len(arrays), *[b for x in blocks for b in x.to_delayed().ravel()])
        shard_data.append(client.compute(parts, workers=[workers[j % len(workers)]],
                                         allow_other_workers=True))
    params = client.scatter([t.get_value() for t in targets], hash=False)
    done = 0
    while done < steps:
        n = min(average_every, steps - done)
        results = [client.submit(_train_round, shipped, data, params, done, n, batch_size,
                                 fallback, workers=[workers[j % len(workers)]],
                                 allow_other_workers=True, pure=False)
                   for j, data in enumerate(shard_data)]
        params = client.submit(_mean_params, *results, pure=False)
        done += n
    values = params.result() if not isinstance(params, list) else \
        [p.result() for p in params]
    values = [np.asarray(v) for v in values]
    if assign:
        for t, v in zip(targets, values):
            t.set_value(v)
    return values
