"""Finding backends through the `graphcore.backends` entry point group (loaded on first use)."""

from __future__ import annotations

import importlib
import re
from importlib import metadata
from typing import Any

from graphcore.backends.base import Backend
from graphcore.config import config

_BUILTIN = {"python": "graphcore.backends.python:PythonBackend"}
_KNOWN_EXTRAS = {"cpu": "cpu", "cuda": "cuda"}
_entry_points: dict[str, str | type[Backend]] | None = None  # name -> "module:Class" or a class
_instances: dict[str, Backend] = {}


class BackendNotInstalledError(ImportError):
    """The requested backend's package is not installed."""


class BackendUnavailableError(RuntimeError):
    """The backend is installed but cannot run on this machine (e.g. no GPU)."""


def _load_target(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def installed_backends() -> dict[str, str | type[Backend]]:
    """name -> "module:Class" for every backend installed (plus the built-in python one)."""
    global _entry_points
    if _entry_points is None:
        found: dict[str, str | type[Backend]] = dict(_BUILTIN)
        for ep in metadata.entry_points(group="graphcore.backends"):
            found.setdefault(ep.name, ep.value)
        _entry_points = found
    return dict(_entry_points)


def register_backend(name: str, backend_class: type[Backend]) -> None:
    """Register a backend class at run time (tests, or a plugin not installed as a package)."""
    installed_backends()
    assert _entry_points is not None  # filled by installed_backends()
    _entry_points[name] = backend_class
    _instances.pop(name, None)


def _class_of(name: str) -> type[Backend]:
    target = installed_backends()[name]
    cls: type[Backend] = _load_target(target) if isinstance(target, str) else target
    return cls


def is_available(name: str) -> bool:
    if name not in installed_backends():
        return False
    try:
        ok, _ = _class_of(name).availability()
    except Exception:
        return False
    return ok


def available_backends() -> list[str]:
    """Names of the installed backends that can run on this machine."""
    return [n for n in installed_backends() if is_available(n)]


def backend_name(device: str) -> str:
    """The backend a device name means: Theano's 'gpu', 'gpu0', 'cuda1' ... all mean 'cuda'.

    The device index, if any, stays in config.device for the cuda backend to read.
    """
    if device == "gpu" or re.fullmatch(r"(cuda|gpu)\d+", device):
        return "cuda"
    return device


def default_device() -> str:
    """config.device, with 'auto' meaning cuda when a usable GPU is present, else cpu when
    graphrt-cpu is installed, else python."""
    device = config.device
    if device == "auto":
        if is_available("cuda"):
            return "cuda"
        return "cpu" if is_available("cpu") else "python"
    return backend_name(device)


def get_backend(name: str | None = None) -> Backend:
    """The backend instance for `name` (default: config.device), with clear errors."""
    name = default_device() if name is None else backend_name(name)
    if name in _instances:
        return _instances[name]
    if name not in installed_backends():
        fallback = config.fallback_device  # covers a backend not installed here too
        if fallback and backend_name(fallback) != name:
            return get_backend(fallback)
        extra = _KNOWN_EXTRAS.get(name)
        hint = (f"install it with: pip install 'graphcore[{extra}]'" if extra else
                f"install the package that provides the '{name}' backend")
        raise BackendNotInstalledError(
            f"backend {name!r} is not installed ({hint}). Installed backends: "
            f"{sorted(installed_backends())}")
    cls = _class_of(name)
    ok, reason = cls.availability()
    if not ok:
        fallback = config.fallback_device
        if fallback and fallback != name:
            return get_backend(fallback)
        raise BackendUnavailableError(
            f"backend {name!r} is installed but not available on this machine: {reason}. "
            "Set config.fallback_device (e.g. GRAPHCORE_FLAGS=fallback_device=cpu) to fall back.")
    backend = cls()
    _instances[name] = backend
    return backend
