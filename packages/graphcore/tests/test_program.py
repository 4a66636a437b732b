"""Program: slots, instruction order, liveness (frees) and the python backend interpreting it."""

import numpy as np

import graphcore.tensor as T
from graphcore.backends.python import PythonBackend
from graphcore.graph import FunctionGraph
from graphcore.backends.program import Jump, JumpUnless, Program, build_program


def _program():
    x, y = T.dvector("x"), T.dvector("y")
    a = x + y
    b = T.exp(a)
    c = b * 2.0
    fg = FunctionGraph([x, y], [c, a], clone=False)
    return fg, build_program(fg), (x, y, a, b, c)


def test_slots_inputs_first_then_temporaries_and_constants():
    fg, prog, (x, y, a, b, c) = _program()
    roles = [s.role for s in prog.slots]
    assert roles[:2] == ["input", "input"]
    assert prog.inputs == (0, 1)
    assert "constant" in roles
    const = prog.constant_slots()[0]
    assert np.asarray(const.value).dtype == np.float64
    assert [prog.slots[s].variable for s in prog.outputs] == [c, a]
    assert prog.nslots == len(prog.slots)


def test_instructions_follow_dependencies_and_free_dead_temporaries():
    fg, prog, (x, y, a, b, c) = _program()
    slot = {s.variable: s.index for s in prog.slots}
    written = set(prog.inputs) | {s.index for s in prog.constant_slots()}
    for ins in prog.instructions:
        assert set(ins.inputs) <= written
        written |= set(ins.outputs)
    freed = [s for ins in prog.instructions for s in ins.frees]
    assert slot[b] in freed  # b dies once c is computed
    assert slot[a] not in freed and slot[c] not in freed  # outputs live to the end
    assert not set(prog.inputs) & set(freed)  # inputs belong to the caller
    assert "Program(" in str(prog)


def test_python_backend_runs_a_program():
    fg, prog, _ = _program()
    exe = PythonBackend().link(prog)
    xv, yv = np.array([0.0, 1.0]), np.array([1.0, 2.0])
    c, a = exe([xv, yv])
    np.testing.assert_allclose(a, xv + yv)
    np.testing.assert_allclose(c, np.exp(xv + yv) * 2)


def test_python_backend_follows_jumps():
    """A hand-written program with a conditional jump (the lazy ifelse lowering)."""
    cond, x = T.bscalar("cond"), T.dvector("x")
    neg, dbl = -x, x * 2.0
    fg = FunctionGraph([cond, x], [neg, dbl], clone=False)
    base = build_program(fg)
    neg_ins = next(i for i in base.instructions if i.node is neg.owner)
    # everything else first, then: if not cond, jump over the negation
    code = [i for i in base.instructions if i is not neg_ins]
    code = code + [JumpUnless(cond=0, target=len(code) + 2), neg_ins, Jump(target=len(code) + 3)]
    prog = Program(base.slots, code, base.inputs, base.outputs, fg)
    exe = PythonBackend().link(prog)
    xv = np.array([1.0, 2.0])
    taken = exe([np.array(1, dtype="int8"), xv])
    np.testing.assert_allclose(taken[0], -xv)
    np.testing.assert_allclose(taken[1], 2 * xv)
    skipped = exe([np.array(0, dtype="int8"), xv])
    assert skipped[0] is None  # never computed
    np.testing.assert_allclose(skipped[1], 2 * xv)
