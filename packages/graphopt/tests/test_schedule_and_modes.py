"""The scheduler (order, liveness, in-place maps in the Program) and the mode presets."""

import io

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode, print_optimizer_profile
from graphcore.config import config
from graphcore.compile.scheduler import get_scheduler
from graphcore.scalar.composite import Composite

from graphopt.schedule import memory_order, schedule

RNG = np.random.default_rng(6)


def test_graphopt_scheduler_is_registered_with_priority():
    from graphopt.schedule import schedule as sched

    assert get_scheduler() is sched


def test_program_order_liveness_and_inplace_maps():
    x, w = T.matrix("x"), T.matrix("w")
    out = T.sum(T.tanh(T.dot(x, w) + 1), axis=1)
    f = theano.function([x, w], out, mode=Mode(linker="python"))
    prog = f.program
    produced = set(prog.inputs) | {s.index for s in prog.constant_slots()}
    freed = set()
    for ins in prog.instructions:
        assert all(i in produced for i in ins.inputs), "an input is used before it is computed"
        assert not (set(ins.inputs) & freed), "a freed slot is read again"
        produced.update(ins.outputs)
        freed.update(ins.frees)
        for o, i in ins.inplace.items():
            assert ins.node.op.destroy_map[o] == [i]
    assert not (set(prog.outputs) & freed)


def test_memory_order_finishes_one_chain_before_starting_the_next():
    xs = [T.matrix(f"x{k}") for k in range(4)]
    chains = []
    for x in xs:
        y = T.dot(x, x)
        chains.append(T.sum(T.dot(y, y)))
    out = chains[0] + chains[1] + chains[2] + chains[3]
    fg = theano.function(xs, out, mode=Mode(linker="python", optimizer="fast_compile")).maker.fgraph
    order = memory_order(fg)
    assert len(order) == len(fg.apply_nodes)
    # each matrix temp dies before another chain allocates two new ones
    dots = [n for n in order if type(n.op).__name__ == "Dot"]
    owners = [n.inputs[0] if n.inputs[0] in fg.inputs else n.inputs[0].owner.inputs[0] for n in dots]
    assert owners == sorted(owners, key=owners.index)  # chains not interleaved
    for k in range(0, len(owners), 2):
        assert owners[k] is owners[k + 1]
    prog = schedule(fg)
    assert len(prog.instructions) == len(order)


def test_fast_compile_runs_only_merge_folding_and_useless():
    x = T.vector("x")
    out = T.exp(x) - 1 + 0 * 1 + (T.sin(x) * 1)
    f = theano.function([x], out, mode=Mode(linker="python", optimizer="fast_compile"))
    names = [str(n.op) for n in f.maker.fgraph.apply_nodes]
    assert not any("Composite" in n or "expm1" in n or "inplace" in n for n in names)
    np.testing.assert_allclose(f(np.arange(3.0)), np.exp(np.arange(3.0)) - 1 + np.sin(np.arange(3.0)))


@pytest.mark.parametrize("preset, fused", [("o0", False), ("o1", False), ("o2", False),
                                           ("o3", True), ("fast_run", True)])
def test_presets(preset, fused):
    x = T.vector("x")
    out = T.exp(T.sin(x) + 1)
    f = theano.function([x], out, mode=Mode(linker="python", optimizer=preset))
    has = any(isinstance(getattr(n.op, "scalar_op", None), Composite) for n in f.maker.fgraph.apply_nodes)
    assert has == fused
    np.testing.assert_allclose(f(np.arange(3.0)), np.exp(np.sin(np.arange(3.0)) + 1))


def test_config_optimizer_excluding():
    x = T.vector("x")
    with config.change_flags(optimizer_excluding="fusion:inplace"):
        f = theano.function([x], T.exp(T.sin(x)), mode=Mode(linker="python"))
    assert len(f.maker.fgraph.apply_nodes) == 2
    with config.change_flags(optimizer_including="fusion"):
        g = theano.function([x], T.exp(T.sin(x)), mode=Mode(linker="python", optimizer="fast_compile"))
    assert len(g.maker.fgraph.apply_nodes) == 1


def test_named_modes():
    x = T.vector("x")
    with config.change_flags(device="python"):
        f = theano.function([x], T.exp(x) - 1, mode="FAST_RUN")
        g = theano.function([x], T.exp(x) - 1, mode="FAST_COMPILE")
    assert any("expm1" in str(n.op) for n in f.maker.fgraph.apply_nodes)
    assert not any("expm1" in str(n.op) for n in g.maker.fgraph.apply_nodes)


def test_optimizer_profile_reports_time_and_applications(capsys):
    x = T.vector("x")
    out = T.exp(x) - 1 + T.log(1 + x) * 1
    f = theano.function([x], out, mode=Mode(linker="python", profile_optimizer=True))
    text = capsys.readouterr().out
    assert "Optimizer profile" in text
    assert "stabilize" in text and "applications" in text
    assert "stable_patterns" in text
    prof = f.maker.fgraph.optimizer_profile
    assert prof["stabilize"][1]["stable_patterns"] >= 2
    buf = io.StringIO()
    print_optimizer_profile(prof, file=buf)
    assert "x stable_patterns" in buf.getvalue()


def test_debugprint_shows_optimized_graph():
    x = T.vector("x")
    f = theano.function([x], T.exp(T.sin(x)) * 2, mode=Mode(linker="python"))
    buf = io.StringIO()
    theano.debugprint(f, file=buf)
    assert "Composite{(exp(sin(i0)) * 2.0)}" in buf.getvalue()  # Theano's parentheses
    assert "Composite{exp(sin(i0)) * 2.0}" in theano.debugprint(f, file="str", style="tree")
