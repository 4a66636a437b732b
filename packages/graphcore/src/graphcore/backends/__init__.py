"""Runtimes: the Backend base class, the registry, and the built-in python reference backend."""

from graphcore.backends.base import Backend
from graphcore.backends.registry import (BackendNotInstalledError, BackendUnavailableError,
                                         available_backends, default_device, get_backend,
                                         installed_backends, is_available, register_backend)

__all__ = ["Backend", "BackendNotInstalledError", "BackendUnavailableError", "available_backends",
           "default_device", "get_backend", "installed_backends", "is_available", "register_backend"]
