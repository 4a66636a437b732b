"""A call that raises changes nothing: every shared value is as it was before the call.

In-place updates are kept (graphopt writes a shared variable's new value over
its old buffer); the scheduler runs those writes last and the runtimes back up
what a later instruction could still fail after (graphcore.backends.undo).
"""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.backends.undo import undo_plan
from graphcore.compile.mode import Mode
from graphcore.compile.nanguardmode import NanGuardError, NanGuardMode
from graphcore.testing import parametrize_backends


def _compile(inputs, outputs, updates, backend):
    return theano.function(inputs, outputs, updates=updates, mode=Mode(linker=backend))


def _destroys(f):
    return any(ins.kind == "apply" and ins.inplace for ins in f.program.instructions)


@parametrize_backends()
def test_two_inplace_updates_second_fails(backend):
    """Issue 14's reproducer: b + y fails on its shape after a + x ran in place."""
    a = theano.shared(np.zeros(3), "a")
    b = theano.shared(np.zeros(3), "b")
    x, y = T.dvector("x"), T.dvector("y")
    f = _compile([x, y], [], [(a, a + x), (b, b + y)], backend)
    assert _destroys(f)  # the in-place updates are kept
    with pytest.raises(ValueError, match="shape|broadcast"):
        f(np.ones(3), np.ones(4))
    np.testing.assert_array_equal(a.get_value(), np.zeros(3))
    np.testing.assert_array_equal(b.get_value(), np.zeros(3))
    f(np.ones(3), 2 * np.ones(3))  # a good call still updates both, in place
    np.testing.assert_array_equal(a.get_value(), np.ones(3))
    np.testing.assert_array_equal(b.get_value(), 2 * np.ones(3))


@parametrize_backends()
def test_set_then_out_of_bounds_inc_leaves_old_value(backend):
    """set_subtensor(a[i], 1) in place, then inc_subtensor at an index out of bounds."""
    a = theano.shared(np.zeros(5), "a")
    i, j = T.lscalar("i"), T.lscalar("j")
    f = _compile([i, j], [], [(a, T.inc_subtensor(T.set_subtensor(a[i], 1)[j], 2))], backend)
    with pytest.raises(IndexError, match="out of bounds"):
        f(0, 10)
    np.testing.assert_array_equal(a.get_value(), np.zeros(5))
    f(0, 1)
    np.testing.assert_array_equal(a.get_value(), [1, 2, 0, 0, 0])


@parametrize_backends()
def test_failure_after_update_reads_new_value(backend):
    """An output computed from the updated value fails after the in-place write."""
    a = theano.shared(np.arange(4.0), "a")
    y = T.dvector("y")
    new = a * 2
    f = _compile([y], [new + y], [(a, new)], backend)
    with pytest.raises(ValueError):
        f(np.ones(3))
    np.testing.assert_array_equal(a.get_value(), np.arange(4.0))
    np.testing.assert_array_equal(f(np.ones(4))[0], np.arange(4.0) * 2 + 1)
    np.testing.assert_array_equal(a.get_value(), np.arange(4.0) * 2)


def test_backups_only_where_a_later_instruction_can_fail():
    """One in-place update: written last, nothing to back up (the in-place write costs no
    copy); two: the first one's buffer is backed up, the last one's is not."""
    a = theano.shared(np.zeros(3), "a")
    b = theano.shared(np.zeros(3), "b")
    x, y = T.dvector("x"), T.dvector("y")
    f = _compile([x, y], [(x * y).sum()], [(a, a + x)], "python")
    assert _destroys(f)
    last = [k for k, ins in enumerate(f.program.instructions) if ins.inplace]
    assert last == [len(f.program.instructions) - 1]  # the destroyer runs last
    assert undo_plan(f.program) is None
    g = _compile([x, y], [], [(a, a + x), (b, b + y)], "python")
    plan = undo_plan(g.program)
    assert len(plan) == 1 and len(next(iter(plan.values()))) == 1


# -- the property: random graphs with updates, a failure planted at a random point --------------

N = 6


def _random_case(rng):
    """Shared vectors with random update chains; one explicit input per chain step may be
    given a bad value (the planted failure). Returns (shared, inputs, updates, good, bad)."""
    n_shared = int(rng.integers(1, 5))
    shared = [theano.shared(rng.standard_normal(N), f"s{k}") for k in range(n_shared)]
    inputs, good, bad_options = [], [], []
    updates = []
    for k, s in enumerate(shared):
        if rng.random() < 0.2:
            continue  # a shared variable that is read but not updated
        e = s
        for step in range(int(rng.integers(1, 4))):
            kind = rng.choice(["add", "mul_scalar", "set", "inc", "adv_inc", "read_other"])
            if kind == "add":
                v = T.dvector(f"v{k}_{step}")
                inputs.append(v)
                good.append(rng.standard_normal(N))
                bad_options.append((len(inputs) - 1, np.ones(N + 1)))  # shape mismatch
                e = e + v
            elif kind == "mul_scalar":
                e = e * 0.5
            elif kind in ("set", "inc"):
                i = T.lscalar(f"i{k}_{step}")
                inputs.append(i)
                good.append(int(rng.integers(-N, N)))
                bad_options.append((len(inputs) - 1, N + 3))  # out of bounds
                e = T.set_subtensor(e[i], 1.5) if kind == "set" else T.inc_subtensor(e[i], 2.5)
            elif kind == "adv_inc":
                idx = T.lvector(f"idx{k}_{step}")
                inputs.append(idx)
                good.append(rng.integers(0, N, size=3))
                bad_options.append((len(inputs) - 1, np.array([0, 1, N + 2])))
                e = T.inc_subtensor(e[idx], 1.0)
            else:
                other = shared[int(rng.integers(0, n_shared))]
                e = e + other.sum()
        updates.append((s, e))
    outputs = []
    if updates and rng.random() < 0.5:
        outputs.append(updates[int(rng.integers(0, len(updates)))][1].sum())
    return shared, inputs, outputs, updates, good, bad_options


@parametrize_backends()
def test_property_failed_call_changes_no_shared_value(backend):
    rng = np.random.default_rng(1414)
    checked = 0
    inplace_seen = 0
    for case in range(40):
        shared, inputs, outputs, updates, good, bad_options = _random_case(rng)
        if not bad_options or not updates:
            continue
        f = _compile(inputs, outputs, updates, backend)
        inplace_seen += _destroys(f)
        f(*good)  # a successful call first (buffers in the pool, values updated in place)
        for _ in range(3):
            before = [s.get_value().copy() for s in shared]
            held = [s.get_value(borrow=True) for s in shared]
            args = list(good)
            pos, value = bad_options[int(rng.integers(0, len(bad_options)))]
            args[pos] = value
            with pytest.raises((ValueError, IndexError)):
                f(*args)
            for s, want, buf in zip(shared, before, held):
                np.testing.assert_array_equal(
                    s.get_value(), want, err_msg=f"case {case}: {s} changed by a failed call")
                np.testing.assert_array_equal(buf, want, err_msg=f"case {case}: {s}'s buffer")
            checked += 1
        # and the function still works, giving NumPy's update
        f(*good)
    assert checked >= 60
    assert inplace_seen >= 10  # the property is about in-place updates: most cases have them


def test_nanguard_error_after_the_last_inplace_write_restores_it():
    """NanGuardMode checks each step's outputs: its error after the in-place write undoes it."""
    a = theano.shared(np.full(3, 1e300), "a")
    x = T.dvector("x")
    f = theano.function([x], [], updates=[(a, a * x)],
                        mode=NanGuardMode(nan_is_error=True, inf_is_error=True, big_is_error=False))
    assert _destroys(f)
    with np.errstate(over="ignore"), pytest.raises(NanGuardError, match="contains Inf"):
        f(np.array([1.0, 1e10, 1.0]))
    np.testing.assert_array_equal(a.get_value(), np.full(3, 1e300))
