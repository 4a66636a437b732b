"""Pausing Python's cyclic garbage collector while graphcore builds large graphs.

Building a gradient or compiling a function allocates many small objects
(Variables, Apply nodes, types) that all live on; the cyclic GC would rescan
the growing heap again and again, which made compiling a 2,000-layer chain
cost twice as much per layer as a 200-layer one. The collector is paused for
the duration and resumed afterwards (only if it was running: pauses nest).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import Any, Literal, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class paused_gc:
    """Context manager and decorator: the cyclic GC is off inside, restored after."""

    __slots__ = ("_was_enabled",)

    def __enter__(self) -> paused_gc:
        self._was_enabled = gc.isenabled()
        gc.disable()
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        if self._was_enabled:
            gc.enable()
        return False

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with paused_gc():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # same signature as fn
