"""Schedulers: what turns an optimized FunctionGraph into the Program a backend links.

A scheduler is a callable `scheduler(fgraph) -> Program`. Plugins register
theirs from their `graphcore.rewrites` entry point (graphopt registers its
memory-aware one with priority 10); the highest priority wins, and without
any the default is a plain toposort (`toposort_schedule`).
"""

from __future__ import annotations

from collections.abc import Callable

from graphcore.backends.program import Program, build_program
from graphcore.compile.rewrite_db import rewrite_db
from graphcore.graph.fg import FunctionGraph

Scheduler = Callable[[FunctionGraph], Program]

_schedulers: dict[str, tuple[float, Scheduler]] = {}  # name -> (priority, scheduler)


def toposort_schedule(fgraph: FunctionGraph) -> Program:
    """The default scheduler: fgraph's toposort, with its mutable inputs marked."""
    return build_program(fgraph, mutable_inputs=fgraph.mutable_inputs)


def register_scheduler(name: str, scheduler: Scheduler, priority: float = 0) -> None:
    """Register `scheduler(fgraph) -> Program` under `name`; the highest priority is the default."""
    _schedulers[name] = (priority, scheduler)


def get_scheduler(name: str | None = None) -> Scheduler:
    """The scheduler registered as `name`, or the highest-priority one (default: toposort)."""
    rewrite_db()  # rewrite plugins register their schedulers when the database is first filled
    if name is not None:
        return _schedulers[name][1]
    if not _schedulers:
        return toposort_schedule
    return max(_schedulers.values(), key=lambda p: p[0])[1]
