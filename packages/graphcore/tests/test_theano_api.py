"""Theano's documented API names (issue 11, part 2): graphcore.optimize, tensor.opt, modes,
MonitorMode, gof, updates, pfunc, generic shared variables, tensor.Tensor."""

import atexit
import warnings

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore import gof, optimize
from graphcore.compile import MonitorMode, ProfileMode, get_mode
from graphcore.compile.pfunc import pfunc
from graphcore.compile.sharedvalue import generic
from graphcore.tensor import opt as topt
from graphcore.tensor.elemwise import Elemwise
from graphcore.updates import OrderedUpdates


def _ops(f):
    return [type(n.op).__name__ for n in f.maker.fgraph.toposort()]


# ---------------------------------------------------------------- graphcore.optimize
def test_fusion_of_a_compiled_function():
    x = T.dvector("x")
    f = theano.function([x], T.exp(x) * 2 + T.log(x), mode="FAST_COMPILE")
    g = optimize.fusion(f)
    assert len(_ops(g)) < len(_ops(f))
    v = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(g(v), np.exp(v) * 2 + np.log(v))
    assert optimize.fusion(g) is g  # already fused: nothing to do


def test_passes_keep_state_of_the_function():
    acc = theano.shared(1.0)
    x = T.dscalar("x")
    f = theano.function([x], acc * x, updates=[(acc, acc + x)], mode="FAST_COMPILE")
    g = optimize.stabilize(f)
    assert g(2.0) == 2.0 and acc.get_value() == 3.0 and f(1.0) == 3.0


def test_constant_folding_of_variables_keeps_the_inputs():
    x = T.dvector("x")
    y = optimize.constant_folding(T.constant(2.0) * T.constant(3.0) + x)
    assert x in theano.gof.graph.inputs([y])
    assert not any(type(n.op).__name__ == "Elemwise" and len(n.inputs) == 2 and
                   all(isinstance(i, theano.Constant) for i in n.inputs)
                   for n in theano.gof.graph.io_toposort([x], [y]))
    np.testing.assert_allclose(y.eval({x: np.array([1.0])}), [7.0])


def test_canonicalize_a_function_graph_returns_a_new_one():
    x = T.dvector("x")
    fg = theano.FunctionGraph([x], [x * 1 + 0])
    out = optimize.canonicalize(fg)
    assert isinstance(out, theano.FunctionGraph) and out is not fg
    assert not out.apply_nodes and len(fg.apply_nodes) > 0
    assert topt.simplify([x * 1])[0].owner is None


def test_optimize_rejects_other_objects():
    with pytest.raises(TypeError, match="compiled function, a FunctionGraph or symbolic"):
        optimize.fusion(3)


_ACTIVE = []  # the rewriter registered below stays in the database: it acts only in its test


@topt.register_canonicalize
@topt.local_optimizer([Elemwise])
def local_sinh_to_cosh(node):  # a wrong rewrite on purpose, so that it shows
    if _ACTIVE and getattr(node.op.scalar_op, "name", None) == "sinh":
        return [T.cosh(node.inputs[0])]
    return False


def test_register_canonicalize_with_a_theano_local_optimizer():
    x = T.dvector("x")
    _ACTIVE.append(True)
    try:
        f = theano.function([x], T.sinh(x))
    finally:
        _ACTIVE.clear()
    np.testing.assert_allclose(f(np.array([0.0, 1.0])), np.cosh([0.0, 1.0]))
    assert "canonicalize" in local_sinh_to_cosh.tags


def test_in2out_applies_local_optimizers():
    x = T.dvector("x")

    @gof.local_optimizer([Elemwise])
    def exp_to_expm1_plus_1(fgraph, node):
        if getattr(node.op.scalar_op, "name", None) == "exp":
            return [T.expm1(node.inputs[0]) + 1]

    fg = theano.FunctionGraph([x], [T.exp(x)])
    counts = topt.in2out(exp_to_expm1_plus_1).apply(fg)
    assert counts == {"exp_to_expm1_plus_1": 1}
    names = [getattr(getattr(n.op, "scalar_op", None), "name", None) for n in fg.toposort()]
    assert "expm1" in names and "exp" not in names


# ------------------------------------------------------------------------ modes
@pytest.mark.parametrize("name", ["Mode", "FAST_RUN", "FAST_COMPILE", "FastCompileMode",
                                  "DebugMode", "DEBUG_MODE", "NanGuardMode"])
def test_mode_names_compile(name):
    x = T.dvector("x")
    with theano.config.change_flags(mode=name):
        f = theano.function([x], x * 2 + 1)
    np.testing.assert_allclose(f(np.array([1.0, 2.0])), [3.0, 5.0])


def test_profile_mode_warns_and_profiles():
    x = T.dvector("x")
    with pytest.warns(DeprecationWarning, match="profile=True"):
        f = theano.function([x], x * 2, mode="ProfileMode")
    assert f.profile is not None
    atexit.unregister(f.profile.summary)  # ProfileMode prints it at exit
    with pytest.warns(DeprecationWarning):
        assert isinstance(ProfileMode(), theano.Mode)


def test_monitor_mode_detects_nan_theano_tutorial():
    seen = []

    def detect_nan(i, node, fn):
        for output in fn.outputs:
            if np.isnan(output[0]).any():
                seen.append((i, node, [c[0] for c in fn.inputs]))
                break

    x = T.dscalar("x")
    mode = MonitorMode(post_func=detect_nan).excluding("fusion", "inplace")
    assert isinstance(mode, MonitorMode) and mode.post_func is detect_nan
    f = theano.function([x], [T.log(x) * x], mode=mode)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = f(0.0)
    assert np.isnan(out[0])
    assert len(seen) == 1 and seen[0][1].op.scalar_op.name == "mul"
    assert np.isneginf(seen[0][2][0]) and seen[0][2][1] == 0.0


def test_monitor_mode_pre_func_of_four_parameters():
    calls = []
    x = T.dvector("x")
    f = theano.function([x], T.exp(x) + 1, mode=MonitorMode(
        pre_func=lambda fgraph, i, node, fn: calls.append((i, fn.outputs[0][0]))))
    f(np.zeros(2))
    assert calls and calls[0] == (0, None)


def test_mode_including_keeps_the_subclass():
    m = get_mode("NanGuardMode").excluding("fusion")
    assert type(m).__name__ == "NanGuardMode" and "fusion" in m.query.exclude


# ------------------------------------------------------------------- gof, updates, ...
class DoubleOp(gof.Op):
    """A custom op as Theano's docs write it, from theano.gof."""

    __props__ = ()

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return gof.Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] * 2

    def infer_shape(self, fgraph, node, input_shapes):
        return input_shapes

    def grad(self, inputs, output_grads):
        return [output_grads[0] * 2]

    def R_op(self, inputs, eval_points):
        return [eval_points[0] * 2]


def test_gof_custom_op_runs_with_grad_and_rop():
    x = T.dmatrix("x")
    y = DoubleOp()(x)
    f = theano.function([x], [y, T.grad(y.sum(), x), y.shape])
    v = np.arange(6.0).reshape(2, 3)
    out, g, shp = f(v)
    np.testing.assert_allclose(out, 2 * v)
    np.testing.assert_allclose(g, np.full((2, 3), 2.0))
    assert tuple(shp) == (2, 3)
    w = T.dmatrix("w")
    jv = theano.function([x, w], T.Rop(y, x, w))
    np.testing.assert_allclose(jv(v, np.ones((2, 3))), np.full((2, 3), 2.0))
    assert gof.graph.inputs([y]) == [x] and x in gof.graph.ancestors([y])
    assert gof.Variable is theano.Variable and gof.FunctionGraph is theano.FunctionGraph
    assert gof.toolbox.ReplaceValidate is not None and gof.Constant and gof.Type


def test_ordered_updates():
    a, b = theano.shared(0.0, name="a"), theano.shared(0.0, name="b")
    u = OrderedUpdates()
    u[a] = a + 1
    both = u + OrderedUpdates([(b, b + 2)])
    assert list(both) == [a, b]
    f = theano.function([], [], updates=both)
    f()
    assert (a.get_value(), b.get_value()) == (1.0, 2.0)
    with pytest.raises(KeyError, match="updated twice"):
        u + OrderedUpdates([(a, a * 2)])
    with pytest.raises(TypeError, match="not a shared variable"):
        u[T.dscalar()] = 1.0


def test_pfunc_and_param():
    x = T.dscalar("x")
    acc = theano.shared(0.0)
    f = pfunc([theano.compile.Param(x, value=3.0)], acc + x, updates=[(acc, acc + x)])
    assert f() == 3.0 and f(1.0) == 4.0 and acc.get_value() == 4.0
    g = pfunc([x], [x + 1, x * 2], output_keys=["plus", "times"])
    assert g(2.0) == {"plus": 3.0, "times": 4.0}


def test_generic_shared_variables():
    s = theano.shared({"epoch": 0}, name="state")
    assert s.type == generic and s.get_value() == {"epoch": 0}
    assert theano.shared("text").type == generic and theano.shared(None).type == generic
    assert isinstance(theano.shared([1.0, 2.0]).type, T.TensorType)
    s.set_value({"epoch": 3})
    assert s.get_value()["epoch"] == 3


def test_tensor_tensor_is_tensor_type():
    assert T.Tensor is T.TensorType
    assert T.Tensor("float64", (False,)) == T.dvector


def test_no_warnings_when_importing_the_facades():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        import graphcore.gof.opt  # noqa: F401
        import graphcore.gof.toolbox  # noqa: F401
