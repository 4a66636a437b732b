"""RewriteDB.apply, the one loop that runs a query's rewrites: phase order, profiles, and
config.on_opt_error ('raise', 'warn', 'ignore') for a rewrite that fails."""

import warnings

import pytest

import graphcore.tensor as T
from graphcore.compile import scheduler
from graphcore.compile.rewrite_db import Query, RewriteDB
from graphcore.compile.scheduler import get_scheduler, register_scheduler, toposort_schedule
from graphcore.config import config
from graphcore.graph.fg import FunctionGraph


class Record:
    def __init__(self, log, name):
        self.log, self.name = log, name

    def apply(self, fgraph):
        self.log.append(self.name)
        return self.name


class Broken:
    def apply(self, fgraph):
        raise RuntimeError("boom")


def _fgraph():
    x = T.dvector("x")
    return FunctionGraph([x], [T.exp(x)])


def test_rewrites_run_in_phase_order_and_fill_the_profile():
    log, db = [], RewriteDB()
    db.register("late", Record(log, "late"), "t", phase="specialize")
    db.register("early", Record(log, "early"), "t", phase="merge")
    db.register("other", Record(log, "other"), "u", phase="merge")
    profile = {}
    db.apply(_fgraph(), Query(include=("t",)), profile)
    assert log == ["early", "late"]
    assert {k: v[1] for k, v in profile.items()} == {"early": "early", "late": "late"}


@pytest.mark.parametrize("mode", ["raise", "warn", "ignore"])
def test_a_failing_rewrite_follows_on_opt_error(mode):
    log, db = [], RewriteDB()
    db.register("broken", Broken(), "t", phase="merge")
    db.register("after", Record(log, "after"), "t", phase="final")
    with config.change_flags(on_opt_error=mode), warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        if mode == "raise":
            with pytest.raises(RuntimeError, match="boom"):
                db.apply(_fgraph(), Query(include=("t",)))
            return
        db.apply(_fgraph(), Query(include=("t",)))
    assert log == ["after"]  # the failing rewrite is skipped, the rest still run
    warned = [m for m in w if "'broken' failed and was skipped" in str(m.message)]
    assert len(warned) == (1 if mode == "warn" else 0)


def test_every_scheduler_is_called_the_same_way():
    calls = []

    def mine(fgraph):
        calls.append(fgraph)
        return toposort_schedule(fgraph)

    register_scheduler("test_mine", mine, priority=1e9)
    try:
        assert get_scheduler() is mine
        fg = _fgraph()
        program = get_scheduler()(fg)
        assert calls == [fg] and len(program.instructions) == 1
    finally:
        del scheduler._schedulers["test_mine"]
