"""Shipping a compiled function to dask workers: packed once, re-linked there without re-optimizing.

A `Shipment` holds the function's optimized FunctionGraph and Program, its mode, the name of
the backend it was compiled for, the package versions that built it and the default values of
its inputs, pickled once into bytes (`ship`). On a worker, `load` unpickles it once per process
and links the Program with the same backend (`Backend.link`): no rewrite runs there. The linked
function is cached per process and thread (a backend's executable may keep per-call storage, so
two threads never share one), so a function sent with many tasks is unpacked once per worker.

When the backend is not available on the worker (a GPU function on a CPU-only worker), loading
is an error naming the backend and the worker, unless the caller allows a fallback: then the
function is compiled again there from its original graph for the fallback backend (that one
does re-optimize: a graph optimized for one backend may hold another's lowered ops).

Loading a shipment unpickles it, and unpickling runs code: load only shipments you made.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import pickle
import threading
import warnings
from importlib import metadata
from typing import Any

from distributed import get_worker

from graphcore.backends.base import Backend
from graphcore.backends.registry import (BackendNotInstalledError, BackendUnavailableError,
                                         get_backend)
from graphcore.compile.function_module import (Function, FunctionMaker, function_from_spec,
                                               restore_function_state)
from graphcore.compile.mode import get_mode


class ShipmentError(RuntimeError):
    """A shipment cannot be loaded here (another graphcore version, a missing package)."""


class BackendUnavailableOnWorkerError(ShipmentError):
    """The backend a shipped function was compiled for cannot run on this worker."""


class Shipment:
    """A compiled function packed to travel to dask workers (see `ship`); small to pickle again.

    `key` identifies the packed bytes (two shipments with the same key load the same function),
    `backend` names the backend it was compiled for, `versions` the packages that built it.
    """

    __slots__ = ("key", "name", "backend", "versions", "payload")

    def __init__(self, key: str, name: str | None, backend: str, versions: dict[str, str],
                 payload: bytes) -> None:
        self.key = key
        self.name = name
        self.backend = backend
        self.versions = versions
        self.payload = payload

    def __getstate__(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            setattr(self, k, v)
        with _lock:  # counted: how many times a shipment's bytes arrived in this process
            _stats["received"][self.key] = _stats["received"].get(self.key, 0) + 1

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return (f"<Shipment{name} {self.key} for backend {self.backend!r}, "
                f"{len(self.payload)} bytes>")


# -- per-process state on a worker ---------------------------------------------------------
_lock = threading.Lock()
_unpack_lock = threading.Lock()  # held while unpickling: two threads never unpack one shipment
_unpacked: dict[str, dict[str, Any]] = {}  # key -> the unpickled function state
_functions: dict[tuple[str, Any, int], Function] = {}  # (key, fallback, thread) -> function
_stats: dict[str, dict[str, int]] = {"received": {}, "unpacked": {}, "linked": {},
                                     "recompiled": {}}


def shipping_stats() -> dict[str, dict[str, int]]:
    """Per shipment key, how many times this process received, unpacked, linked and re-compiled
    it (run it on the workers with `client.run(shipping_stats)`)."""
    with _lock:
        return {what: dict(counts) for what, counts in _stats.items()}


# -- packing -------------------------------------------------------------------------------
class _BackendByName:
    """Stands for a Backend instance inside the pickle: the worker resolves its own."""

    def __init__(self, name: str) -> None:
        self.name = name


class _Packer(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Backend):  # FunctionGraph.backend: never pickle a runtime's state
            return (_BackendByName, (obj.name,))
        return NotImplemented


@functools.cache
def _distribution_of(module: str) -> str | None:
    names = metadata.packages_distributions().get(module.partition(".")[0])
    return names[0] if names else None


def _versions(backend: Backend) -> dict[str, str]:
    out = {"graphcore": metadata.version("graphcore")}
    dist = _distribution_of(type(backend).__module__)
    if dist is not None and dist != "graphcore":
        out[dist] = metadata.version(dist)
    return out


def ship(f: Function) -> Shipment:
    """Pack the compiled function `f` for dask workers: optimized graph, Program, mode, backend.

    The shared variables it reads travel with their current values (each worker then has its
    own copies); the default values of its optional inputs too.
    """
    if isinstance(f, Shipment):
        return f
    if not isinstance(f, Function):
        raise TypeError(f"graphcore.dask: expected a function compiled by graphcore.function, "
                        f"got {type(f).__name__}")
    maker = f.maker
    state = {
        "inputs": maker.inputs, "outputs": maker.outputs, "updates": maker.updates,
        "implicit_shared": maker.implicit_shared, "mode": maker.mode, "spec": maker.spec,
        "fgraph": maker.fgraph, "program": maker.program,
        "defaults": [None if c is None else c.value for c in f._containers],
        "trust_input": f.trust_input,
    }
    buf = io.BytesIO()
    _Packer(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
    payload = buf.getvalue()
    key = hashlib.sha256(payload).hexdigest()[:24]
    return Shipment(key, f.name, maker.backend.name, _versions(maker.backend), payload)


# -- loading -------------------------------------------------------------------------------
def _relink(state: dict[str, Any], backend: Backend) -> Function:
    """The shipped function linked here from its optimized graph and Program: no rewrite runs."""
    return FunctionMaker.from_optimized(
        state["inputs"], state["outputs"], state["updates"], state["implicit_shared"],
        state["mode"], state["spec"], fgraph=state["fgraph"], program=state["program"],
        backend=backend).create()


def _where() -> str:
    try:
        return f"worker {get_worker().address}"
    except ValueError:
        return "this process (not a dask worker)"


def _resolve_backend(shipment: Shipment, fallback: str | bool | None) -> Backend:
    """The backend to link with here: the shipment's own, else the allowed fallback."""
    try:
        backend = get_backend(shipment.backend)
        problem = None
        if backend.name != shipment.backend:  # config.fallback_device chose another one
            problem = f"it falls back to {backend.name!r} there (config.fallback_device)"
    except (BackendNotInstalledError, BackendUnavailableError) as exc:
        problem = str(exc)
    else:
        if problem is None:
            return backend
    if fallback is None or fallback is False:
        what = f"function {shipment.name!r}" if shipment.name else "the compiled function"
        raise BackendUnavailableOnWorkerError(
            f"{what} was compiled for backend {shipment.backend!r}, which cannot run on "
            f"{_where()}: {problem}. Pass fallback='cpu' (a backend name), or fallback=True for "
            "the worker's default backend, to compile it again there from its original graph")
    return get_backend(None if fallback is True else fallback)


def _unpack(shipment: Shipment) -> dict[str, Any]:
    with _unpack_lock:
        state = _unpacked.get(shipment.key)
        if state is None:
            state = _unpack_new(shipment)
            _unpacked[shipment.key] = state
            _count("unpacked", shipment.key)
        return state


def _unpack_new(shipment: Shipment) -> dict[str, Any]:
    here = {"graphcore": metadata.version("graphcore")}
    if shipment.versions.get("graphcore") != here["graphcore"]:
        raise ShipmentError(
            f"the shipped function was built by graphcore {shipment.versions.get('graphcore')} "
            f"and {_where()} has graphcore {here['graphcore']}: install the same version on the "
            "client and the workers")
    for dist, version in shipment.versions.items():
        try:
            mine = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue  # only the backend's own package: the backend check names it
        if mine != version:
            warnings.warn(f"graphcore.dask: the shipped function was built with {dist} "
                          f"{version}, {_where()} has {mine}", RuntimeWarning, stacklevel=3)
    try:
        state: dict[str, Any] = pickle.loads(shipment.payload)
    except (ImportError, AttributeError) as exc:
        raise ShipmentError(f"cannot load the shipped function on {_where()}: {exc} (install the "
                            "same packages, e.g. the op plugins it uses, on the workers)") from exc
    return state


def _count(what: str, key: str) -> None:
    with _lock:
        _stats[what][key] = _stats[what].get(key, 0) + 1


def load(shipment: Shipment, fallback: str | bool | None = None) -> Function:
    """The compiled function of `shipment`, linked in this process (cached per process and thread).

    fallback: None (default) makes a backend that cannot run here an error naming it and this
    worker; a backend name, or True for this process's default backend, compiles the function
    again here for that backend instead. Unpickles the shipment: load only shipments you made.
    """
    if isinstance(shipment, Function):  # the local scheduler may pass the function itself
        return shipment
    cache_key = (shipment.key, fallback, threading.get_ident())
    f = _functions.get(cache_key)
    if f is not None:
        return f
    backend = _resolve_backend(shipment, fallback)
    state = _unpack(shipment)
    if backend.name == shipment.backend:
        f = _relink(state, backend)
        _count("linked", shipment.key)
    else:
        spec = dict(state["spec"])
        mode = copy.copy(get_mode(state["mode"]))
        mode.linker = backend.name
        spec["mode"] = mode
        f = function_from_spec(spec)
        _count("recompiled", shipment.key)
    restore_function_state(f, state["defaults"], state["trust_input"])
    with _lock:
        f = _functions.setdefault(cache_key, f)
    return f


def forget(key: str | None = None) -> None:
    """Drop this process's unpacked and linked functions (all, or one shipment's by its key)."""
    with _unpack_lock, _lock:
        for k in [k for k in _unpacked if key is None or k == key]:
            del _unpacked[k]
        for cached in [c for c in _functions if key is None or c[0] == key]:
            del _functions[cached]
