"""The rewrite database: rewrites registered with tags and a phase position, queried by modes.

graphcore owns the database (the seam); graphopt and third-party plugins fill
it through the `graphcore.rewrites` entry point group, whose values are
callables `register(db)`. A rewrite is any object with `apply(fgraph)`.
Phases run in position order (`PHASES`); `RewriteDB.apply` is the one loop
that runs a query's rewrites on a graph (used by `Mode.optimize` and by
`graphopt.rewrite_graph`).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Protocol

from graphcore.config import config
from graphcore.graph.fg import FunctionGraph

class Rewrite(Protocol):
    """What the database holds: anything with `apply(fgraph)` (its result goes to the profile).

    A rewrite may also have `select(query) -> Rewrite` (a driver dropping the
    members the query excludes).
    """

    def apply(self, fgraph: FunctionGraph) -> Any: ...


# Phase positions (lower runs first).
PHASES: dict[str, float] = {
    "merge": 0.0,
    "canonicalize": 1.0,
    "stabilize": 2.0,
    "specialize": 3.0,
    "fusion": 4.0,
    "backend": 5.0,  # backend lowering (e.g. GPU transfer)
    "inplace": 6.0,
    "final": 7.0,
}


@dataclass
class RewriteEntry:
    name: str
    rewrite: Rewrite
    tags: frozenset[str]
    position: float
    phase: str = ""


@dataclass(frozen=True)
class Query:
    """Select rewrites: any tag in `include` ('all' matches every rewrite), none in `exclude`,
    every tag in `require`."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    require: tuple[str, ...] = ()

    def including(self, *tags: str) -> Query:
        return Query(self.include + tags, self.exclude, self.require)

    def excluding(self, *tags: str) -> Query:
        return Query(self.include, self.exclude + tags, self.require)

    def requiring(self, *tags: str) -> Query:
        return Query(self.include, self.exclude, self.require + tags)

    def matches(self, entry: RewriteEntry) -> bool:
        tags = entry.tags | {entry.name}
        if "all" not in self.include and not (tags & set(self.include)):
            return False
        if tags & set(self.exclude):
            return False
        return set(self.require) <= tags


@dataclass
class RewriteDB:
    entries: dict[str, RewriteEntry] = field(default_factory=dict)

    def register(self, name: str, rewrite: Rewrite, *tags: str, phase: str | None = None,
                 position: float | None = None) -> Rewrite:
        """Add `rewrite` under `name` with `tags`; `phase` (see PHASES) or a numeric `position`."""
        if name in self.entries:
            raise ValueError(f"a rewrite named {name!r} is already registered")
        if not hasattr(rewrite, "apply"):
            raise TypeError(f"rewrite {name!r} must have an apply(fgraph) method")
        if position is None:
            if phase is None:
                raise ValueError(f"rewrite {name!r}: give a phase ({sorted(PHASES)}) or a position")
            if phase not in PHASES:
                raise ValueError(f"rewrite {name!r}: unknown phase {phase!r}; phases: {sorted(PHASES)}")
            position = PHASES[phase]
        self.entries[name] = RewriteEntry(name, rewrite, frozenset(tags) | ({phase} if phase else set()),
                                          float(position), phase or "")
        return rewrite

    def remove(self, name: str) -> None:
        self.entries.pop(name)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def __getitem__(self, name: str) -> RewriteEntry:
        return self.entries[name]

    def query(self, query: Query) -> list[RewriteEntry]:
        """Matching entries in phase order (stable by registration order within a position)."""
        found = [e for e in self.entries.values() if query.matches(e)]
        return sorted(found, key=lambda e: e.position)

    def apply(self, fgraph: FunctionGraph, query: Query,
              profile: dict[str, tuple[float, Any]] | None = None) -> None:
        """Run the rewrites `query` selects on `fgraph`, in phase order.

        A rewrite that raises is re-raised, warned about and skipped, or
        silently skipped, as `config.on_opt_error` says ('raise', 'warn',
        'ignore'). With a `profile` dict, each rewrite's (seconds, result)
        is stored under its name.
        """
        for entry in self.query(query):
            t0 = time.perf_counter()
            rewrite: Any = entry.rewrite
            if hasattr(rewrite, "select"):  # drivers drop their members the query excludes
                rewrite = rewrite.select(query)
            try:
                result = rewrite.apply(fgraph)
            except Exception as exc:
                report_rewrite_failure(f"rewrite {entry.name!r}", exc, stacklevel=4)
                result = None
            if profile is not None:
                profile[entry.name] = (time.perf_counter() - t0, result)


def report_rewrite_failure(what: str, exc: Exception, stacklevel: int = 2) -> None:
    """A rewrite raised `exc`: re-raise it, warn and go on, or go on, as config.on_opt_error
    ('raise', 'warn', 'ignore') says. `what` names the rewrite (and the node) in the warning.
    Used by `RewriteDB.apply` and by graphopt's drivers for node rewrites."""
    if config.on_opt_error == "raise":
        raise exc
    if config.on_opt_error == "warn":
        warnings.warn(f"{what} failed and was skipped: {exc!r}", stacklevel=stacklevel + 1)


_db: RewriteDB | None = None


def rewrite_db() -> RewriteDB:
    """The global database, filled from the `graphcore.rewrites` entry points on first use."""
    global _db
    if _db is None:
        _db = RewriteDB()
        for ep in sorted(metadata.entry_points(group="graphcore.rewrites"), key=lambda e: e.name):
            try:
                ep.load()(_db)
            except Exception as exc:  # a broken plugin must not break compiling
                warnings.warn(f"rewrite plugin {ep.name!r} ({ep.value}) failed to register: {exc!r}",
                              stacklevel=2)
    return _db
