"""ifelse: values, laziness (the branch not taken never runs), gradient and errors, per backend."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.ifelse import IfElse, ifelse
from graphcore.testing import parametrize_backends, verify_grad


def _boom_op(calls):
    """An op that records each run and raises: a branch holding it must never run."""
    @theano.as_op(itypes=[T.dvector], otypes=[T.dvector])
    def boom(v):
        calls.append(1)
        raise RuntimeError("the branch not taken ran")

    return boom


def _counting_op(calls):
    @theano.as_op(itypes=[T.dvector], otypes=[T.dvector])
    def count(v):
        calls.append(1)
        return v * 3.0

    return count


@parametrize_backends()
def test_values_match_python_choice(backend):
    a, b = T.dscalars("a", "b")
    x, y = T.dvectors("x", "y")
    z = ifelse(T.lt(a, b), T.mean(x), T.mean(y))
    f = theano.function([a, b, x, y], z, mode=theano.Mode(linker=backend))
    xv, yv = np.arange(3.0), np.arange(10.0, 14.0)
    assert f(1.0, 2.0, xv, yv) == pytest.approx(np.mean(xv))
    assert f(3.0, 2.0, xv, yv) == pytest.approx(np.mean(yv))


@parametrize_backends()
def test_out_of_bounds_index_in_untaken_branch_is_not_evaluated(backend):
    c = T.lscalar("c")
    x = T.dvector("x")
    i = T.lscalar("i")
    z = ifelse(c, x[i] * 2.0, T.sum(x))
    f = theano.function([c, x, i], z, mode=theano.Mode(linker=backend))
    xv = np.arange(4.0)
    assert f(0, xv, 100) == 6.0  # x[100] would raise IndexError
    assert f(1, xv, 2) == 4.0
    with pytest.raises(IndexError):
        f(1, xv, 100)


@parametrize_backends()
def test_raising_op_in_each_branch_runs_only_when_taken(backend):
    then_calls, else_calls = [], []
    c = T.bscalar("c")
    x = T.dvector("x")
    z = ifelse(c, T.exp(_boom_op(then_calls)(x)) + 1.0, _counting_op(else_calls)(x) * 2.0)
    f = theano.function([c, x], z, mode=theano.Mode(linker=backend))
    np.testing.assert_allclose(f(0, np.array([1.0, 2.0])), [6.0, 12.0])
    assert then_calls == [] and else_calls == [1]
    with pytest.raises(RuntimeError, match="not taken ran"):
        f(1, np.array([1.0]))
    assert else_calls == [1]


@parametrize_backends()
def test_switch_stays_eager(backend):
    calls = []
    c = T.bscalar("c")
    x = T.dvector("x")
    z = T.switch(c, x, _counting_op(calls)(x))
    f = theano.function([c, x], z, mode=theano.Mode(linker=backend))
    np.testing.assert_allclose(f(1, np.array([1.0, 2.0])), [1.0, 2.0])
    assert calls == [1]  # the elementwise select computed both sides


@parametrize_backends()
def test_several_outputs_and_shared_subexpression(backend):
    c = T.bscalar("c")
    x = T.dvector("x")
    common = T.exp(x)  # used by both branches and by another output: computed eagerly
    then_calls, else_calls = [], []
    outs = ifelse(c, [common + 1.0, _counting_op(then_calls)(x)],
                  [common * 2.0, _counting_op(else_calls)(x) + 1.0])
    f = theano.function([c, x], outs + [T.sum(common)], mode=theano.Mode(linker=backend))
    xv = np.array([0.0, 1.0])
    r = f(1, xv)
    np.testing.assert_allclose(r[0], np.exp(xv) + 1)
    np.testing.assert_allclose(r[1], 3 * xv)
    np.testing.assert_allclose(r[2], np.exp(xv).sum())
    assert then_calls == [1] and else_calls == []
    r = f(0, xv)
    np.testing.assert_allclose(r[0], 2 * np.exp(xv))
    np.testing.assert_allclose(r[1], 3 * xv + 1)
    assert then_calls == [1] and else_calls == [1]


@parametrize_backends()
def test_nested_ifelse_is_lazy_at_both_levels(backend):
    calls = {k: [] for k in "abc"}
    c1, c2 = T.bscalars("c1", "c2")
    x = T.dvector("x")
    inner = ifelse(c2, _counting_op(calls["a"])(x), _counting_op(calls["b"])(x) + 1.0)
    z = ifelse(c1, inner * 2.0, _counting_op(calls["c"])(x))
    f = theano.function([c1, c2, x], z, mode=theano.Mode(linker=backend))
    xv = np.array([1.0, 2.0])
    np.testing.assert_allclose(f(1, 1, xv), 6 * xv)
    np.testing.assert_allclose(f(1, 0, xv), 2 * (3 * xv + 1))
    np.testing.assert_allclose(f(0, 1, xv), 3 * xv)
    assert [len(calls[k]) for k in "abc"] == [1, 1, 1]


def test_program_has_a_conditional_jump_over_each_branch():
    c = T.bscalar("c")
    x = T.dvector("x")
    z = ifelse(c, T.exp(x) * 2.0, T.log(x) + 1.0)
    f = theano.function([c, x], z, mode=theano.Mode(linker="python"))
    kinds = [ins.kind for ins in f.maker.program.instructions]
    assert kinds[0] == "jump_unless" or kinds[1] == "jump_unless"
    assert "jump" in kinds and kinds[-1] == "apply"


def test_gradient_flows_to_the_branch_taken():
    for cv in (0.0, 1.0):
        def fn(x, y, cv=cv):
            return ifelse(T.constant(cv) > 0.5, T.sum(x ** 2) * y[0], T.sum(T.sin(y)) * x[1])

        verify_grad(fn, [np.array([0.5, -1.2]), np.array([0.7, 0.3])], rng=np.random.default_rng(0))
    x = T.dvector("x")
    c = T.bscalar("c")
    g = theano.grad(T.sum(ifelse(c, x * 3.0, x ** 2)), x)
    f = theano.function([c, x], g)
    xv = np.array([1.0, 2.0])
    np.testing.assert_allclose(f(1, xv), [3.0, 3.0])
    np.testing.assert_allclose(f(0, xv), 2 * xv)


def test_r_op():
    x = T.dvector("x")
    v = T.dvector("v")
    c = T.bscalar("c")
    y = ifelse(c, x ** 2, T.sin(x))
    jv = theano.Rop(y, x, v)
    f = theano.function([c, x, v], jv)
    xv, vv = np.array([0.3, 1.1]), np.array([1.0, -2.0])
    np.testing.assert_allclose(f(1, xv, vv), 2 * xv * vv)
    np.testing.assert_allclose(f(0, xv, vv), np.cos(xv) * vv)


def test_non_scalar_condition_is_an_error_naming_its_type():
    x = T.dvector("x")
    with pytest.raises(TypeError, match=r"condition must be a scalar.*TensorType\(float64, vector\)"):
        ifelse(x, x, x)


def test_branch_mismatch_errors():
    c = T.bscalar("c")
    with pytest.raises(TypeError, match="dtype float64 but the else-branch .* float32"):
        ifelse(c, T.dvector("a"), T.fvector("b"))
    with pytest.raises(TypeError, match="1 dimensions .* 2"):
        ifelse(c, T.dvector("a"), T.dmatrix("b"))
    with pytest.raises(ValueError, match="2 outputs but the else-branch has 1"):
        ifelse(c, [T.dvector("a"), T.dvector("b")], [T.dvector("d")])


def test_output_does_not_alias_the_branch_value():
    c = T.bscalar("c")
    x = T.dvector("x")
    f = theano.function([c, x], ifelse(c, x, x * 2.0), mode=theano.Mode(linker="python"))
    xv = np.array([1.0, 2.0])
    out = f(1, xv)
    out[0] = 99.0
    assert xv[0] == 1.0


def test_infer_shape_and_static_types():
    c = T.bscalar("c")
    a = T.TensorType("float64", (3, None))("a")
    b = T.TensorType("float64", (3, 4))("b")
    z = ifelse(c, a, b)
    assert z.type.shape == (3, None)
    f = theano.function([c, a, b], z.shape)
    np.testing.assert_array_equal(f(1, np.zeros((3, 5)), np.zeros((3, 4))), [3, 5])
    np.testing.assert_array_equal(f(0, np.zeros((3, 5)), np.zeros((3, 4))), [3, 4])
    assert isinstance(z.owner.op, IfElse)


def test_conditions_tutorial():
    """Theano's conditions tutorial: ifelse runs one mean, switch both; same results."""
    a, b = T.scalars("a", "b")
    x, y = T.matrices("x", "y")
    z_switch = T.switch(T.lt(a, b), T.mean(x), T.mean(y))
    z_lazy = ifelse(T.lt(a, b), T.mean(x), T.mean(y))
    f_switch = theano.function([a, b, x, y], z_switch)
    f_lazy = theano.function([a, b, x, y], z_lazy)
    val1, val2 = 0.0, 1.0
    big1 = np.ones((100, 100), dtype=theano.config.floatX)
    big2 = np.ones((100, 100), dtype=theano.config.floatX) * 2
    assert f_switch(val1, val2, big1, big2) == pytest.approx(1.0)
    assert f_lazy(val1, val2, big1, big2) == pytest.approx(1.0)
    assert f_lazy(val2, val1, big1, big2) == pytest.approx(2.0)


def test_theano_spelling_is_the_module():
    assert theano.ifelse.ifelse is ifelse and theano.ifelse.IfElse is IfElse
