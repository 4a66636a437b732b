"""Compile modes: which rewrites run (optimizer) and which backend runs the result (linker)."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import IO, Any

from graphcore.backends.base import Backend
from graphcore.backends.registry import get_backend, installed_backends
from graphcore.compile.profiling import print_rewrite_profile
from graphcore.compile.rewrite_db import Query, rewrite_db
from graphcore.config import config
from graphcore.gc_pause import paused_gc
from graphcore.graph.fg import FunctionGraph

# Named optimizer presets; each is a query on the rewrite database.
OPTIMIZERS: dict[str, Query] = {
    "fast_run": Query(include=("fast_run",)),
    "fast_compile": Query(include=("fast_compile",)),
    "o0": Query(include=()),
    "o1": Query(include=("fast_compile",)),
    "o2": Query(include=("fast_run",), exclude=("fusion",)),
    "o3": Query(include=("fast_run",)),
    "None": Query(include=()),
    "merge": Query(include=("merge",)),
}


class Mode:
    """Mode(linker=backend name or None for config.device, optimizer=preset name or Query)."""

    def __init__(self, linker: str | None = None, optimizer: str | Query | None = "default",
                 profile_optimizer: bool | None = None, name: str | None = None) -> None:
        if optimizer == "default":
            optimizer = config.optimizer
        if optimizer is None:
            optimizer = "None"
        if isinstance(optimizer, str):
            if optimizer not in OPTIMIZERS:
                raise ValueError(f"Mode: unknown optimizer {optimizer!r}; choose one of "
                                 f"{sorted(OPTIMIZERS)} or pass a Query")
            self.optimizer_name = optimizer
            optimizer = OPTIMIZERS[optimizer]
        else:
            self.optimizer_name = "custom"
        if not isinstance(optimizer, Query):
            raise TypeError(f"Mode: optimizer must be a preset name or a Query, got {optimizer!r}")
        self.query = optimizer
        self.linker = linker
        self.profile_optimizer = profile_optimizer
        self.name = name

    # Theano-style chaining: each returns a new Mode of the same kind (a MonitorMode keeps its
    # pre_func/post_func, a NanGuardMode its checks)
    def _with(self, query: Query) -> Mode:
        m = copy.copy(self)
        m.query = query
        return m

    def including(self, *tags: str) -> Mode:
        return self._with(self.query.including(*tags))

    def excluding(self, *tags: str) -> Mode:
        return self._with(self.query.excluding(*tags))

    def requiring(self, *tags: str) -> Mode:
        return self._with(self.query.requiring(*tags))

    @property
    def optimizer(self) -> Query:
        return self.query

    def backend(self) -> Backend:
        """The backend this mode links with (`linker`, or config.device when None)."""
        return get_backend(self.linker)

    def effective_query(self, backend: Backend | None = None) -> Query:
        """The query with config.optimizer_including/excluding/requiring and backend tags applied."""
        q = self.query
        def split(s: str) -> tuple[str, ...]:
            return tuple(t for t in s.split(":") if t)

        if config.optimizer_including:
            q = q.including(*split(config.optimizer_including))
        if config.optimizer_excluding:
            q = q.excluding(*split(config.optimizer_excluding))
        if config.optimizer_requiring:
            q = q.requiring(*split(config.optimizer_requiring))
        if backend is not None and backend.rewrite_tags and q.include:
            q = q.including(*backend.rewrite_tags)
        return q

    def optimize(self, fgraph: FunctionGraph, backend: Backend | None = None
                 ) -> dict[str, tuple[float, Any]]:
        """Run the selected rewrites on `fgraph` in phase order; return a profile dict."""
        profile: dict[str, tuple[float, Any]] = {}
        profiling = self.profile_optimizer if self.profile_optimizer is not None else config.profile_optimizer
        query = self.effective_query(backend)
        # rewrites allocate many small objects that all live on (see gc_pause)
        with paused_gc():
            rewrite_db().apply(fgraph, query, profile if profiling else None)
        if profiling:
            # also kept on the graph (f.maker.fgraph.optimizer_profile), as before
            fgraph.optimizer_profile = profile  # type: ignore[attr-defined]
            print_optimizer_profile(profile, rewrite_times=getattr(fgraph, "rewrite_times", None))
        return profile

    def __repr__(self) -> str:
        return f"Mode(linker={self.linker!r}, optimizer={self.optimizer_name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mode) and (self.linker, self.query) == (other.linker, other.query)

    def __hash__(self) -> int:
        return hash((self.linker, self.query))


def print_optimizer_profile(profile: dict[str, tuple[float, Any]], file: IO[str] | None = None,
                            rewrite_times: dict[str, float] | None = None) -> None:
    """Time per rewrite pass, how many times each rewrite applied and, when graphopt's drivers
    recorded it, the time per node rewrite (see profiling.print_rewrite_profile)."""
    print_rewrite_profile(profile, rewrite_times, file=file)


class ProfileMode(Mode):
    """Theano's ProfileMode (deprecated there too): FAST_RUN with every function profiled and
    its profile printed when the process exits. Prefer `function(..., profile=True)` (or
    config.profile = True) and `f.profile.summary()`."""

    profile = True  # function() attaches a ProfileStats, printed at exit

    def __init__(self, linker: str | None = None, optimizer: str | Query | None = "default",
                 **kwargs: Any) -> None:
        warnings.warn("ProfileMode is deprecated (as in Theano): use function(..., profile=True) "
                      "or config.profile = True, then f.profile.summary()", DeprecationWarning,
                      stacklevel=2)
        super().__init__(linker, optimizer, name="ProfileMode")


PREDEFINED: dict[str, Callable[[], Mode]] = {
    "FAST_RUN": lambda: Mode(optimizer="fast_run", name="FAST_RUN"),
    "FAST_COMPILE": lambda: Mode(optimizer="fast_compile", name="FAST_COMPILE"),
    "FastCompileMode": lambda: Mode(optimizer="fast_compile", name="FAST_COMPILE"),
    "ProfileMode": lambda: ProfileMode(),
    "Mode": lambda: Mode(),
    "DebugMode": lambda: debugmode.DebugMode(),
    "DEBUG_MODE": lambda: debugmode.DebugMode(),
    "NanGuardMode": lambda: nanguardmode.NanGuardMode(),
    "MonitorMode": lambda: monitormode.MonitorMode(),
}


def get_mode(mode: str | Mode | None) -> Mode:
    """A Mode from None (config.mode), a predefined name, a backend name, or a Mode."""
    if mode is None:
        mode = config.mode
    if isinstance(mode, Mode):
        return mode
    if isinstance(mode, str):
        if mode in PREDEFINED:
            return PREDEFINED[mode]()
        if mode in installed_backends():
            return Mode(linker=mode)
        raise ValueError(f"unknown mode {mode!r}; use one of {sorted(PREDEFINED)}, a backend name "
                         f"({sorted(installed_backends())}) or a Mode instance")
    raise TypeError(f"mode must be a string or a Mode, got {type(mode).__name__}")


def get_default_mode() -> Mode:
    """The Mode that `function()` uses when given none (config.mode), as Theano named it."""
    return get_mode(None)


# Theano's module-level modes: Mode instances (`function(..., mode=FAST_RUN.excluding(...))`);
# their backend is config.device at compile time
FAST_RUN = Mode(optimizer="fast_run", name="FAST_RUN")
FAST_COMPILE = Mode(optimizer="fast_compile", name="FAST_COMPILE")


# Back edge within the compile layer, imported last: DebugMode, NanGuardMode and MonitorMode
# subclass Mode (their modules import it at their top), so they may load only once Mode exists.
# Module objects, used at call time by PREDEFINED.
from graphcore.compile import debugmode, monitormode, nanguardmode  # noqa: E402
