"""Compiled functions on dask.distributed: shipping, blockwise maps, reductions, data-parallel training.

    import graphcore.dask as gd
    y = gd.map_blocks(f, x)                   # f compiled by graphcore.function, x a dask array
    total = gd.reduction(g, x, axis=0)        # g ending in sum/mean/max/min over axis 0
    values = gd.train_data_parallel(step, [X, y], steps=300, batch_size=64, average_every=10)

Install with the extra: pip install 'graphcore[dask]'. `import graphcore` never imports this
package; import it yourself. Works with any dask scheduler: the default threaded one, a
`dask.distributed.LocalCluster`, or a `Client` connected to any scheduler address.

Security: a compiled function travels to the workers as a pickle, and loading a pickle runs
code, as pickle always does. Ship functions only to workers you trust, and load only
shipments you made (the same holds for dask itself, which pickles tasks).
"""

from __future__ import annotations

try:  # optional dependencies: a clear message naming the extra instead of a bare ImportError
    import dask  # noqa: F401
    import dask.array  # noqa: F401
    import distributed  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
    raise ImportError(
        f"graphcore.dask needs dask[array] and distributed ({exc}); install them with: "
        "pip install 'graphcore[dask]'") from exc

from graphcore.dask.blockwise import NotChunkwiseError, map_blocks, reduction
from graphcore.dask.shipping import (BackendUnavailableOnWorkerError, Shipment, ShipmentError,
                                     load, ship, shipping_stats)
from graphcore.dask.training import train_data_parallel

__all__ = ["map_blocks", "reduction", "train_data_parallel", "ship", "load", "Shipment",
           "ShipmentError", "BackendUnavailableOnWorkerError", "NotChunkwiseError",
           "shipping_stats"]
