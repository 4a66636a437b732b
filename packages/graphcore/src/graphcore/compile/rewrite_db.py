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

from graphcore.config import config

# Phase positions (lower runs first).
PHASES = {
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
    rewrite: object
    tags: frozenset
    position: float
    phase: str = ""


@dataclass(frozen=True)
class Query:
    """Select rewrites: any tag in `include` ('all' matches every rewrite), none in `exclude`,
    every tag in `require`."""

    include: tuple = ()
    exclude: tuple = ()
    require: tuple = ()

    def including(self, *tags):
        return Query(self.include + tags, self.exclude, self.require)

    def excluding(self, *tags):
        return Query(self.include, self.exclude + tags, self.require)

    def requiring(self, *tags):
        return Query(self.include, self.exclude, self.require + tags)

    def matches(self, entry):
        tags = entry.tags | {entry.name}
        if "all" not in self.include and not (tags & set(self.include)):
            return False
        if tags & set(self.exclude):
            return False
        return set(self.require) <= tags


@dataclass
class RewriteDB:
    entries: dict = field(default_factory=dict)

    def register(self, name, rewrite, *tags, phase=None, position=None):
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

    def remove(self, name):
        self.entries.pop(name)

    def __contains__(self, name):
        return name in self.entries

    def __getitem__(self, name):
        return self.entries[name]

    def query(self, query):
        """Matching entries in phase order (stable by registration order within a position)."""
        found = [e for e in self.entries.values() if query.matches(e)]
        return sorted(found, key=lambda e: e.position)

    def apply(self, fgraph, query, profile=None):
        """Run the rewrites `query` selects on `fgraph`, in phase order.

        A rewrite that raises is re-raised, warned about and skipped, or
        silently skipped, as `config.on_opt_error` says ('raise', 'warn',
        'ignore'). With a `profile` dict, each rewrite's (seconds, result)
        is stored under its name.
        """
        for entry in self.query(query):
            t0 = time.perf_counter()
            rewrite = entry.rewrite
            if hasattr(rewrite, "select"):  # drivers drop their members the query excludes
                rewrite = rewrite.select(query)
            try:
                result = rewrite.apply(fgraph)
            except Exception as exc:
                if config.on_opt_error == "raise":
                    raise
                if config.on_opt_error == "warn":
                    warnings.warn(f"rewrite {entry.name!r} failed and was skipped: {exc!r}",
                                  stacklevel=4)
                result = None
            if profile is not None:
                profile[entry.name] = (time.perf_counter() - t0, result)


_db = None


def rewrite_db():
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
