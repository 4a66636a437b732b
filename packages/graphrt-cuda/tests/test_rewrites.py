"""The cuda backend's rewrite phase (transfer nodes), checked on graphs without a GPU."""

import graphcore.tensor as T
from graphcore.compile.rewrite_db import Query, rewrite_db
from graphcore.config import config
from graphcore.graph.fg import FunctionGraph

from graphrt_cuda.backend import CUDABackend
from graphrt_cuda.rewrites import InsertTransfers
from graphrt_cuda.transfer import GpuFromHost, HostFromGpu


def _graph(update=False):
    x = T.matrix("x")
    n = T.iscalar("n")
    y = T.exp(x) * 2 + n
    outs = [y, T.tanh(x)] if update else [y]
    return FunctionGraph([x, n], outs, clone=True, update_mapping={1: 0} if update else None)


def test_transfers_at_the_edges_only():
    fg = _graph()
    InsertTransfers().apply(fg)
    (out,) = fg.outputs
    assert isinstance(out.owner.op, HostFromGpu)
    x, n = fg.inputs
    kinds = [type(node.op).__name__ for node, _ in fg.clients[x]]
    assert kinds == ["GpuFromHost"]
    # the integer scalar stays on the host; no transfer between the GPU ops
    assert not any(isinstance(node.op, GpuFromHost) for node, _ in fg.clients[n])
    transfers = [nd for nd in fg.toposort() if isinstance(nd.op, (GpuFromHost, HostFromGpu))]
    assert len(transfers) == 2


def test_update_outputs_stay_on_the_device():
    fg = _graph(update=True)
    InsertTransfers().apply(fg)
    assert isinstance(fg.outputs[0].owner.op, HostFromGpu)
    assert not isinstance(fg.outputs[1].owner.op, HostFromGpu)


def test_device_outputs_flag():
    with config.change_flags(cuda_device_outputs=True):
        fg = _graph()
        InsertTransfers().apply(fg)
    assert not isinstance(fg.outputs[0].owner.op, HostFromGpu)


def test_idempotent_and_only_for_cuda_graphs():
    fg = _graph()
    assert InsertTransfers().apply(fg) > 0
    assert InsertTransfers().apply(fg) == 0
    fg2 = _graph()
    fg2.backend = type("B", (), {"name": "cpu"})()
    assert InsertTransfers().apply(fg2) == 0


def test_registered_under_the_backend_tag():
    db = rewrite_db()
    assert "cuda_transfers" in db
    assert db["cuda_transfers"].phase == "backend"
    assert CUDABackend.rewrite_tags == ("cuda",)
    names = [e.name for e in db.query(Query(include=("fast_run",)))]
    assert "cuda_transfers" not in names  # other backends never run it
    names = [e.name for e in db.query(Query(include=("fast_run", "cuda")))]
    assert "cuda_transfers" in names
