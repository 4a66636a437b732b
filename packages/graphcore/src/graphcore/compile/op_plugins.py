"""Loading op plugins: packages of extra ops (and their kernels) named by `graphcore.ops` entry points."""

from __future__ import annotations

import importlib
import warnings
from importlib import metadata

_ops_loaded = False


def load_op_plugins() -> None:
    """Import every `graphcore.ops` entry point once (the first compile calls this)."""
    global _ops_loaded
    if _ops_loaded:
        return
    _ops_loaded = True
    for ep in metadata.entry_points(group="graphcore.ops"):
        try:
            importlib.import_module(ep.value.partition(":")[0])
        except Exception as exc:
            warnings.warn(f"op plugin {ep.name!r} ({ep.value}) failed to import: {exc!r}", stacklevel=2)
