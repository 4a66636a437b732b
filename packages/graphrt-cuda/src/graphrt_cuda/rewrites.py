"""The cuda backend's rewrite phase: transfer nodes at the graph's edges.

Registered through the `graphcore.rewrites` entry point (`register`) under
the tag "cuda", which only functions compiled for this backend include
(`CUDABackend.rewrite_tags`), in the "backend" phase (after fusion, before
the in-place pass). Transfers sit as far out as they can: one host->GPU
copy right after each input, one GPU->host copy right before each returned
output, so a chain of GPU ops never bounces through the host. Update
outputs (new values of shared variables) stay on the GPU, and so do all
outputs when `config.cuda_device_outputs` is set.
"""

from __future__ import annotations

from graphcore.config import config
from graphcore.tensor.type import TensorType

from graphrt_cuda.transfer import GpuFromHost, HostFromGpu, gpu_from_host, host_from_gpu

TAG = "cuda"


def stays_on_host(var) -> bool:
    """An integer or bool scalar input (a shape, an index, a count) is not copied to the GPU."""
    t = var.type
    return t.ndim == 0 and t.dtype not in ("float16", "float32", "float64", "complex64",
                                           "complex128")


class InsertTransfers:
    """x -> GpuFromHost(x) at every tensor input; y -> HostFromGpu(y) at every returned output."""

    name = "cuda_transfers"

    def apply(self, fgraph):
        backend = getattr(fgraph, "backend", None)
        if backend is not None and getattr(backend, "name", None) != "cuda":
            return 0
        changed = 0
        for var in list(fgraph.inputs):
            if not isinstance(var.type, TensorType) or stays_on_host(var):
                continue
            clients = fgraph.clients.get(var, [])
            if not clients or all(isinstance(getattr(n, "op", None), GpuFromHost) for n, _ in clients):
                continue
            moved = gpu_from_host(var)
            for node, i in list(clients):
                fgraph.change_node_input(node, i, moved, reason=self.name)
            changed += 1
        updates = set(getattr(fgraph, "update_mapping", {}) or {})
        if config.cuda_device_outputs:
            return changed
        for k, out in enumerate(list(fgraph.outputs)):
            if k in updates or not isinstance(out.type, TensorType):
                continue
            if out.owner is not None and isinstance(out.owner.op, HostFromGpu):
                continue
            fgraph.change_node_input("output", k, host_from_gpu(out), reason=self.name)
            changed += 1
        return changed


def register(db) -> None:
    """Entry point (group graphcore.rewrites): add the cuda backend's rewrites to `db`."""
    db.register("cuda_transfers", InsertTransfers(), TAG, phase="backend")
