"""In-place rewrites and the DestroyHandler: buffers are reused only where provably safe."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.io import In
from graphcore.compile.mode import Mode
from graphcore.graph.basic import Apply
from graphcore.graph.fg import FunctionGraph, InconsistencyError
from graphcore.graph.op import Op
from graphcore.scalar import ops as so
from graphcore.tensor.blas import Gemm
from graphcore.tensor.elemwise import Elemwise

from graphopt.passes.inplace import DestroyHandler, check_destroy

RNG = np.random.default_rng(3)


def fast(inputs, outputs, **kw):
    return theano.function(inputs, outputs, mode=Mode(linker="python", optimizer="fast_run"), **kw)


def inplace_nodes(f):
    return [n for n in f.maker.fgraph.apply_nodes if getattr(n.op, "destroy_map", None)]


def test_intermediate_buffers_are_reused(helpers):
    x, w = T.matrix("x"), T.matrix("w")
    out = T.tanh(T.dot(x, w) + 1)
    f = helpers.check_same([x, w], out, [RNG.random((3, 4)), RNG.random((4, 5))])
    assert inplace_nodes(f)
    ins = [i for i in f.program.instructions if i.inplace]
    assert ins and all(i.inplace for i in ins)


def test_function_inputs_are_never_overwritten():
    x = T.matrix("x")
    f = fast([x], T.exp(x) + 1)
    v = RNG.random((3, 3))
    keep = v.copy()
    f(v)
    np.testing.assert_array_equal(v, keep)
    assert not inplace_nodes(f)


def test_mutable_input_may_be_overwritten():
    x = T.matrix("x")
    f = fast([In(x, mutable=True)], T.exp(x) + 1)
    assert inplace_nodes(f)
    v = RNG.random((2, 2))
    want = np.exp(v) + 1
    np.testing.assert_allclose(f(v), want)


def test_shared_values_are_not_overwritten():
    w = theano.shared(np.ones((2, 2)), name="w")
    x = T.matrix("x")
    f = fast([x], T.exp(w) * x)
    f(np.ones((2, 2)))
    np.testing.assert_array_equal(w.get_value(), np.ones((2, 2)))


def test_value_still_needed_is_not_destroyed(helpers):
    x = T.matrix("x")
    a = T.exp(x)
    b = T.dot(a, a)  # a is read by dot and by the add below
    out = [a + b, b * 2]
    f = helpers.check_same([x], out, [RNG.random((3, 3))])
    order = [ins.node for ins in f.program.instructions]
    for ins in f.program.instructions:
        for o, i in ins.inplace.items():
            v = ins.node.inputs[i]
            for c, _ in f.maker.fgraph.clients[v]:
                if c != "output" and c is not ins.node:
                    assert order.index(c) < order.index(ins.node)


def test_outputs_and_constants_are_not_destroyed(helpers):
    x = T.vector("x")
    a = T.exp(x)
    f = helpers.check_same([x], [a, a + 1, T.constant(np.ones(3)) * 2 + x], [RNG.random(3)])
    for n in inplace_nodes(f):
        for ins in n.op.destroy_map.values():
            v = n.inputs[ins[0]]
            assert v not in f.maker.fgraph.outputs


def test_views_are_not_destroyed(helpers):
    x = T.matrix("x")
    a = T.exp(x)
    t = a.T  # a view of a
    out = [t * 2, a + 1]
    helpers.check_same([x], out, [RNG.random((2, 3))])


def test_destroy_handler_refuses_unsafe_graphs():
    x = T.vector("x")
    y = T.exp(x)
    bad = Elemwise(so.add, {0: 0})(x, y)  # overwrites the function input x
    fg = FunctionGraph([x], [bad], clone=False)
    fg.protected_inputs = {0}
    fg.mutable_inputs = set()
    with pytest.raises(InconsistencyError, match="protected"):
        DestroyHandler().validate(fg)
    assert check_destroy(fg, x, bad.owner) == "it is a protected graph input"


def test_destroy_handler_refuses_reader_after_destroyer():
    x = T.vector("x")
    a = T.exp(x)
    d = Elemwise(so.add, {0: 0})(a, a)  # destroys a
    late = d * a  # reads a after d needs to have run: d overwrote it
    fg = FunctionGraph([x], [late], clone=False)
    fg.protected_inputs = {0}
    with pytest.raises(InconsistencyError, match="depends on the destroyer"):
        DestroyHandler().validate(fg)


def test_gemm_becomes_inplace_on_intermediate_accumulator(helpers):
    x, y, z = T.matrix("x"), T.matrix("y"), T.matrix("z")
    acc = T.exp(z)
    out = acc + 2 * T.dot(x, y)
    f = helpers.check_same([x, y, z], out, [RNG.random((3, 4)), RNG.random((4, 5)), RNG.random((3, 5))])
    gemms = [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, Gemm)]
    assert gemms and gemms[0].op.inplace


def test_repeated_calls_give_same_results_with_inplace():
    x, w = T.matrix("x"), T.matrix("w")
    out = T.sum(T.tanh(T.dot(x, w) + 1) * 3)
    f = fast([x, w], out)
    a, b = RNG.random((3, 4)), RNG.random((4, 5))
    r1, r2 = f(a, b), f(a, b)
    np.testing.assert_allclose(r1, r2)
    np.testing.assert_allclose(r1, np.sum(np.tanh(a @ b + 1) * 3))


def test_inc_subtensor_becomes_inplace_on_intermediate(helpers):
    x = T.vector("x")
    i = T.vector("i", dtype="int64")
    z = T.set_subtensor(T.exp(x)[1:3], 0)
    w = T.inc_subtensor(T.sin(x)[i], 1.0)
    f = helpers.check_same([x, i], [z * 2, w], [np.arange(4.0), np.array([0, 0, 2])])
    names = [str(n.op) for n in inplace_nodes(f)]
    assert any("IncSubtensor" in n and "inplace" in n for n in names), names
    assert any("AdvancedIncSubtensor1" in n and "inplace" in n for n in names), names
    xv = np.arange(4.0)
    z1, w1 = f(xv, np.array([0, 0, 2]))
    np.testing.assert_allclose(w1, np.sin(xv) + np.array([2.0, 0, 1.0, 0]))
    np.testing.assert_array_equal(xv, np.arange(4.0))


def test_inc_subtensor_of_a_function_input_is_not_inplace(helpers):
    x = T.vector("x")
    z = T.set_subtensor(x[1:3], 0)
    f = helpers.check_same([x], z, [np.arange(4.0)])
    assert not inplace_nodes(f)



class ThirdPartyScale(Op):
    """2 * x in a new array: a third-party op that declares its outputs fresh."""

    fresh_outputs = True

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, out):
        out[0][0] = inputs[0] * 2


class Dot(ThirdPartyScale):
    """A user op that happens to be called Dot: its name says nothing about its buffers."""

    fresh_outputs = False


def _overwrite_check(op):
    x = T.vector("x")
    y = op(x)
    d = Elemwise(so.add, {0: 0})(y, y)  # overwrites y
    fg = FunctionGraph([x], [d], clone=False, protected_inputs={0})
    return check_destroy(fg, y, d.owner)


def test_an_op_declaring_fresh_outputs_may_be_overwritten():
    assert _overwrite_check(ThirdPartyScale()) is None


def test_an_op_named_dot_is_not_taken_for_fresh():
    assert _overwrite_check(Dot()) == "its buffer may belong to another variable"


def test_third_party_fresh_op_is_made_inplace_downstream():
    x = T.vector("x")
    f = fast([x], T.exp(ThirdPartyScale()(x)) + 1)
    v = RNG.random(4)
    np.testing.assert_allclose(f(v), np.exp(2 * v) + 1)
    assert inplace_nodes(f)
