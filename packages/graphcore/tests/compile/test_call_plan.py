"""CallPlan: what a compiled function's call does, built once; the fast-call hook runtimes use."""

import weakref

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.backends.registry import available_backends
from graphcore.compile.call_plan import CallPlan, InputCheck
from graphcore.compile.function_module import Function
from graphcore.compile.mode import Mode

PY = Mode(linker="python")


def test_plan_lists_inputs_shared_values_updates_and_copies():
    x = T.dvector("x")
    y = T.dscalar("y")
    s = theano.shared(np.zeros(3), name="s")
    f = theano.function([x, theano.In(y, value=2.0)], [x * y, x], updates=[(s, s + x)], mode=PY)
    plan = f.call_plan
    assert isinstance(plan, CallPlan)
    assert plan.n_inputs == 2
    assert [type(c) for c in plan.input_checks] == [InputCheck, InputCheck]
    cx, cy = plan.input_checks
    assert (cx.position, cx.type, cx.ndim, cx.free_shape, cx.label) == (0, x.type, 1, True, "x")
    assert cx.dtype == np.dtype("float64")
    assert (cy.position, cy.ndim, cy.label) == (1, 0, "y")
    assert plan.shared_containers == (s.container,)
    assert plan.updates == ((s.container, 2),)  # output 2 is s's new value
    assert plan.copy_outputs == (1,)  # output 1 is the input x itself
    assert plan.post and plan.n_returned == 2 and not plan.single
    assert not plan.trust_input


@pytest.mark.parametrize("mode", [PY, "cpu"])
def test_finish_stores_updates_copies_and_drops_update_outputs(mode):
    """CallPlan.finish is the end of every call (Function.__call__ and graphrt-cpu's fast
    call): copies, updates stored, update outputs dropped."""
    if mode == "cpu" and "cpu" not in available_backends():
        pytest.skip("graphrt-cpu is not installed")
    x = T.dvector("x")
    s = theano.shared(np.zeros(3), name="s")
    f = theano.function([x], [x * 2, x], updates=[(s, s + x)], mode=mode)
    plan = f.call_plan
    new_s, same_x = np.full(3, 7.0), np.arange(3.0)
    outs = [np.ones(3), same_x, new_s]
    got = plan.finish(outs)
    assert len(got) == 2 and got[1] is not same_x and np.array_equal(got[1], same_x)
    assert np.array_equal(s.get_value(), new_s)
    xv = np.array([1.0, 2.0, 3.0])
    r = f(xv)  # the compiled call ends with the same steps
    assert len(r) == 2 and np.array_equal(r[0], xv * 2) and not np.shares_memory(r[1], xv)
    assert np.array_equal(s.get_value(), np.full(3, 7.0) + xv)


def test_single_output_and_no_output():
    x = T.dvector("x")
    assert theano.function([x], x + 1, mode=PY).call_plan.single
    s = theano.shared(np.zeros(2))
    plan = theano.function([x], None, updates=[(s, s + x)], mode=PY).call_plan
    assert plan.n_returned == 0 and not plan.single


def test_trust_input_is_the_plans():
    x = T.dvector("x")
    f = theano.function([x], x + 1, mode=PY, trust_input=True)
    assert f.trust_input and f.call_plan.trust_input
    f.trust_input = False
    assert not f.call_plan.trust_input


def test_fallback_runs_the_python_path_and_holds_the_function_weakly():
    x = T.dvector("x")
    f = theano.function([theano.In(x, value=np.ones(2))], x * 3, mode=PY)
    np.testing.assert_array_equal(f.call_plan.fallback(), [3.0, 3.0])
    np.testing.assert_array_equal(f.call_plan.fallback(x=np.ones(1)), [3.0])
    ref = weakref.ref(f)
    del f
    assert ref() is None


def test_set_fast_call_routes_calls_and_can_be_undone():
    x = T.dvector("x")
    f = theano.function([x], x + 1, mode=PY)
    seen = []

    def fast(*args, **kwargs):
        seen.append(args)
        return f.call_plan.fallback(*args, **kwargs)

    f.set_fast_call(fast)
    assert f.fast_call is fast
    np.testing.assert_array_equal(f(np.zeros(2)), [1.0, 1.0])
    assert len(seen) == 1
    assert isinstance(f, Function)
    f.set_fast_call(None)
    np.testing.assert_array_equal(f(np.zeros(2)), [1.0, 1.0])
    assert len(seen) == 1


def test_a_runtime_fast_call_is_built_from_the_plan():
    class Exe:
        def __init__(self, exe):
            self.exe = exe
            self.plans = []

        def __call__(self, values):
            return self.exe(values)

        def make_fast_call(self, plan):
            self.plans.append(plan)
            return None  # declines: the Python path runs

    x = T.dvector("x")
    f = theano.function([x], x + 1, mode=PY)
    exe = Exe(f.executable)
    f.maker.executable = exe
    g = f.maker.create()
    assert exe.plans == [g.call_plan]
    assert g.fast_call is None
    np.testing.assert_array_equal(g(np.zeros(1)), [1.0])


def test_python_call_errors_are_unchanged():
    x = T.dvector("x")
    f = theano.function([x], x + 1, mode=PY)
    with pytest.raises(TypeError):
        f(np.zeros(1), np.zeros(1))
