"""Destructive updates: a shared variable's update may be computed in its own buffer.

Every test runs on the reference backend (python) and on the default CPU
runtime, and compares against NumPy or against FAST_COMPILE (no in-place).
"""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.io import In, Out
from graphcore.compile.mode import Mode
from graphcore.graph.fg import FunctionGraph, InconsistencyError
from graphcore.scalar import ops as so
from graphcore.tensor.blas import Gemm
from graphcore.tensor.elemwise import Elemwise

from graphopt.passes.inplace import DestroyHandler, check_destroy

BACKENDS = ["python", "cpu"]
RNG = np.random.default_rng(11)


def _mode(linker):
    pytest.importorskip("graphrt_cpu") if linker == "cpu" else None
    return Mode(linker=linker, optimizer="fast_run")


def fast(linker, inputs, outputs, **kw):
    return theano.function(inputs, outputs, mode=_mode(linker), **kw)


def reference(inputs, outputs, **kw):
    return theano.function(inputs, outputs, mode=Mode(linker="python", optimizer="fast_compile"),
                           **kw)


def destroyed_inputs(f):
    """The graph inputs some instruction of f's program overwrites."""
    prog = f.program
    ins_slots = set(prog.inputs)
    out = set()
    for ins in prog.instructions:
        for i in ins.inplace.values():
            if ins.inputs[i] in ins_slots:
                out.add(prog.slots[ins.inputs[i]].variable)
    return out


def assert_readers_run_first(f):
    """Every other reader of an overwritten buffer, or of a view of it, runs before the
    instruction that overwrites it."""
    from graphopt.passes.inplace import _views_of

    fg = f.maker.fgraph
    order = {ins.node: k for k, ins in enumerate(f.program.instructions)}
    for k, ins in enumerate(f.program.instructions):
        for i in ins.inplace.values():
            for v in _views_of(fg, ins.node.inputs[i]):
                for c, _ in fg.clients[v]:
                    assert c != "output"
                    if c is not ins.node:
                        assert order[c] < k, (c, ins.node)


@pytest.mark.parametrize("linker", BACKENDS)
def test_gemm_update_runs_in_place_on_the_shared_buffer(linker):
    w0 = RNG.standard_normal((4, 3)).astype("float32")
    w = theano.shared(w0.copy(), name="w")
    x, d = T.fmatrix("x"), T.fmatrix("d")
    f = fast(linker, [x, d], [], updates=[(w, w - np.float32(0.1) * T.dot(x.T, d))])
    gemms = [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, Gemm)]
    assert gemms and gemms[0].op.inplace
    assert f.maker.fgraph.inputs[f.maker.fgraph.update_mapping[0]] in destroyed_inputs(f)
    buf = w.get_value(borrow=True)
    xv, dv = RNG.standard_normal((5, 4)).astype("float32"), RNG.standard_normal((5, 3)).astype("float32")
    want = w0 - np.float32(0.1) * (xv.T @ dv)
    f(xv, dv)
    assert w.get_value(borrow=True) is buf  # the update was stored back without a copy
    np.testing.assert_allclose(w.get_value(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("linker", BACKENDS)
def test_outputs_reading_the_shared_variable_see_its_old_value(linker):
    w0 = RNG.standard_normal((3, 3))
    w = theano.shared(w0.copy(), name="w")
    x = T.matrix("x")
    outs = [T.dot(x, w), w.T * 2, T.sum(w)]
    f = fast(linker, [x], outs, updates=[(w, w + 2 * T.dot(x.T, x))])
    assert destroyed_inputs(f)
    assert_readers_run_first(f)
    xv = RNG.standard_normal((3, 3))
    got = f(xv)
    np.testing.assert_allclose(got[0], xv @ w0)
    np.testing.assert_allclose(got[1], w0.T * 2)
    np.testing.assert_allclose(got[2], w0.sum())
    np.testing.assert_allclose(w.get_value(), w0 + 2 * xv.T @ xv)


@pytest.mark.parametrize("linker", BACKENDS)
def test_shared_variable_returned_as_output_is_not_clobbered(linker):
    w0 = RNG.standard_normal((3, 3))
    w = theano.shared(w0.copy(), name="w")
    x = T.matrix("x")
    f = fast(linker, [x], [w, w.T], updates=[(w, w + T.dot(x, x))])
    xv = RNG.standard_normal((3, 3))
    old, old_t = f(xv)
    np.testing.assert_array_equal(old, w0)
    np.testing.assert_array_equal(old_t, w0.T)
    np.testing.assert_allclose(w.get_value(), w0 + xv @ xv)
    assert not np.may_share_memory(old, w.get_value(borrow=True))
    assert not np.may_share_memory(old_t, w.get_value(borrow=True))


@pytest.mark.parametrize("linker", BACKENDS)
def test_new_value_returned_as_output_does_not_alias_the_shared_value(linker):
    w = theano.shared(np.ones((2, 2)), name="w")
    x = T.matrix("x")
    new = w - 0.5 * T.dot(x, x)
    f = fast(linker, [x], new, updates=[(w, new)])
    xv = np.eye(2)
    out = f(xv)
    np.testing.assert_allclose(out, np.ones((2, 2)) - 0.5 * np.eye(2))
    assert not np.may_share_memory(out, w.get_value(borrow=True))
    f(xv)
    np.testing.assert_allclose(out, np.ones((2, 2)) - 0.5 * np.eye(2))  # untouched by later calls
    g = fast(linker, [x], Out(new, borrow=True), updates=[(w, new)])
    np.testing.assert_allclose(g(xv), np.ones((2, 2)) - 1.5 * np.eye(2))


@pytest.mark.parametrize("linker", BACKENDS)
def test_update_reading_another_updated_shared_variable_sees_its_old_value(linker):
    a0, b0 = RNG.standard_normal((3, 3)), RNG.standard_normal((3, 3))
    a, b = theano.shared(a0.copy(), name="a"), theano.shared(b0.copy(), name="b")
    x = T.matrix("x")
    # each update reads the other variable: at most one may be in place, and both see old values
    f = fast(linker, [x], [], updates=[(a, a + T.dot(b, x)), (b, b + T.dot(a, x))])
    assert len(destroyed_inputs(f)) == 1
    xv = RNG.standard_normal((3, 3))
    f(xv)
    np.testing.assert_allclose(a.get_value(), a0 + b0 @ xv)
    np.testing.assert_allclose(b.get_value(), b0 + a0 @ xv)
    # momentum: the velocity's new value feeds the weight's update
    w0, v0 = RNG.standard_normal(4), RNG.standard_normal(4)
    w, v = theano.shared(w0.copy(), name="w"), theano.shared(v0.copy(), name="v")
    g = T.vector("g")
    v_new = 0.9 * v - 0.1 * g
    h = fast(linker, [g], [T.sum(w * v)], updates=[(v, v_new), (w, w + v_new)])
    gv = RNG.standard_normal(4)
    (s,) = h(gv)
    np.testing.assert_allclose(s, np.sum(w0 * v0))
    np.testing.assert_allclose(v.get_value(), 0.9 * v0 - 0.1 * gv)
    np.testing.assert_allclose(w.get_value(), w0 + 0.9 * v0 - 0.1 * gv)


@pytest.mark.parametrize("linker", BACKENDS)
def test_function_without_the_update_never_modifies_the_shared_value(linker):
    w0 = RNG.standard_normal((3, 3))
    w = theano.shared(w0.copy(), name="w")
    x = T.matrix("x")
    reader = fast(linker, [x], w + T.dot(x, x))  # would be a Gemm on w if w were writable
    assert not destroyed_inputs(reader)
    writer = fast(linker, [x], [], updates=[(w, w + T.dot(x, x))])
    buf = w.get_value(borrow=True)
    xv = RNG.standard_normal((3, 3))
    np.testing.assert_allclose(reader(xv), w0 + xv @ xv)
    np.testing.assert_array_equal(w.get_value(borrow=True), w0)
    writer(xv)  # a second function over the same shared variable
    np.testing.assert_allclose(w.get_value(), w0 + xv @ xv)
    assert w.get_value(borrow=True) is buf
    np.testing.assert_allclose(reader(xv), w0 + 2 * xv @ xv)
    np.testing.assert_allclose(w.get_value(), w0 + xv @ xv)


@pytest.mark.parametrize("linker", BACKENDS)
def test_get_value_copies_and_set_value_sources_are_untouched(linker):
    w0 = RNG.standard_normal((3, 3))
    src = w0.copy()
    w = theano.shared(src, name="w")  # shared() copies
    x = T.matrix("x")
    f = fast(linker, [x], [], updates=[(w, w + T.dot(x, x))])
    copy = w.get_value()
    w.set_value(src)  # set_value without borrow stores a copy
    f(np.eye(3))
    np.testing.assert_array_equal(copy, w0)
    np.testing.assert_array_equal(src, w0)
    np.testing.assert_allclose(w.get_value(), w0 + np.eye(3))


@pytest.mark.parametrize("linker", BACKENDS)
def test_aliased_inputs_get_a_private_copy(linker):
    w0 = RNG.standard_normal((3, 3))
    w = theano.shared(w0.copy(), name="w")
    x = T.matrix("x")
    f = fast(linker, [x], [x * 1.0 + 0.0, T.dot(x, x)], updates=[(w, w + T.dot(x, x))])
    assert destroyed_inputs(f)
    # the argument is the shared array itself: overwriting w must not change x mid-call
    arg = w.get_value(borrow=True)
    out0, out1 = f(arg)
    np.testing.assert_allclose(out0, w0)
    np.testing.assert_allclose(out1, w0 @ w0)
    np.testing.assert_allclose(w.get_value(), w0 + w0 @ w0)
    np.testing.assert_array_equal(arg, w0)
    # a second shared variable holding the same array (borrow=True) keeps its value
    u = theano.shared(w.get_value(borrow=True), name="u", borrow=True)
    g = fast(linker, [], [T.sum(u)], updates=[(w, w + T.dot(u, u))])
    before = u.get_value()
    (s,) = g()
    np.testing.assert_allclose(s, before.sum())
    np.testing.assert_array_equal(u.get_value(), before)
    # a read-only stored array is copied, never written
    ro = w0.copy()
    ro.flags.writeable = False
    w.set_value(ro, borrow=True)
    f(np.eye(3))
    np.testing.assert_array_equal(ro, w0)
    np.testing.assert_allclose(w.get_value(), w0 + np.eye(3))


@pytest.mark.parametrize("linker", BACKENDS)
def test_immutable_explicit_inputs_are_never_destroyed(linker):
    x, y = T.matrix("x"), T.matrix("y")
    st = In(x, value=np.ones((2, 2)), update=x + T.dot(y, y), mutable=False)
    f = fast(linker, [st, y], x * 3)
    assert not destroyed_inputs(f)
    g = fast(linker, [In(x, mutable=False), y], x + T.dot(y, y))
    assert not destroyed_inputs(g)
    xv = np.ones((2, 2))
    g(xv, np.eye(2))
    np.testing.assert_array_equal(xv, np.ones((2, 2)))
    np.testing.assert_allclose(f(y=np.eye(2)), 3 * np.ones((2, 2)))
    np.testing.assert_allclose(f["x"], np.ones((2, 2)) + np.eye(2))


def _mlp(linker, params, fast_run=True):
    shared = [theano.shared(p.copy(), name=f"p{k}") for k, p in enumerate(params)]
    x, y = T.fmatrix("x"), T.lvector("y")
    h = T.maximum(T.dot(x, shared[0]) + shared[1], 0)
    nll, _ = T.nnet.crossentropy_softmax_1hot_with_bias(T.dot(h, shared[2]), shared[3], y)
    loss = nll.mean()
    grads = T.grad(loss, shared)
    updates = [(p, p - np.float32(0.1) * g) for p, g in zip(shared, grads)]
    f = fast(linker, [x, y], [loss, shared[0].T], updates=updates) if fast_run else \
        reference([x, y], [loss, shared[0].T], updates=updates)
    return f, shared


@pytest.mark.parametrize("linker", BACKENDS)
def test_repeated_training_steps_match_fast_compile(linker):
    params = [RNG.standard_normal((6, 5)).astype("float32"), np.zeros(5, "float32"),
              RNG.standard_normal((5, 3)).astype("float32"), np.zeros(3, "float32")]
    f, ps = _mlp(linker, params)
    g, qs = _mlp(linker, params, fast_run=False)
    # every update runs in place, except p0's: a view of p0 (p0.T) is returned
    assert set(destroyed_inputs(f)) == set(f.maker.fgraph.inputs[3:])
    assert_readers_run_first(f)
    xv = RNG.standard_normal((7, 6)).astype("float32")
    yv = RNG.integers(0, 3, 7)
    held = []
    for _ in range(4):
        a, b = f(xv, yv), g(xv, yv)
        held.append((a, b))
        np.testing.assert_allclose(a[0], b[0], rtol=1e-5)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-5, atol=1e-6)
        for p, q in zip(ps, qs):
            np.testing.assert_allclose(p.get_value(), q.get_value(), rtol=1e-5, atol=1e-6)
    for a, b in held:  # returned outputs are the caller's: later calls never change them
        np.testing.assert_allclose(a[1], b[1], rtol=1e-5, atol=1e-6)


def test_handler_refuses_update_destroy_off_the_update_path():
    w, x = T.vector("w"), T.vector("x")
    bad = Elemwise(so.add, {0: 0})(w, x)  # overwrites w, but the update of w is w * 2
    fg = FunctionGraph([x, w], [bad, w * 2], clone=False)
    fg.update_mapping = {1: 1}
    fg.mutable_inputs = set()
    fg.protected_inputs = {0, 1}
    fg.destroyable_by_update = {1}
    assert check_destroy(fg, w, bad.owner) == "it is a protected graph input"
    with pytest.raises(InconsistencyError, match="protected"):
        DestroyHandler().validate(fg)
    good = Elemwise(so.mul, {0: 0})(w, T.constant(np.float64(2)))
    fg2 = FunctionGraph([x, w], [x + w, good], clone=False)
    fg2.update_mapping = {1: 1}
    fg2.mutable_inputs = set()
    fg2.protected_inputs = {0, 1}
    fg2.destroyable_by_update = {1}
    DestroyHandler().validate(fg2)  # the reader x + w can run first
    fg2.destroyable_by_update = set()
    with pytest.raises(InconsistencyError, match="protected"):
        DestroyHandler().validate(fg2)


def test_handler_refuses_cyclic_reader_constraints():
    a, b = T.vector("a"), T.vector("b")
    na = Elemwise(so.add, {0: 0})(a, b)  # a <- a + b, needs b's other readers first
    nb = Elemwise(so.add, {0: 0})(b, a)  # b <- b + a, needs a's other readers first
    fg = FunctionGraph([a, b], [na, nb], clone=False)
    fg.update_mapping = {0: 0, 1: 1}
    fg.mutable_inputs = set()
    fg.protected_inputs = {0, 1}
    fg.destroyable_by_update = {0, 1}
    with pytest.raises(InconsistencyError, match="cycle"):
        DestroyHandler().validate(fg)


def test_handler_refuses_destroyer_reading_a_view_of_its_target():
    x = T.matrix("x")
    a = T.exp(x)
    bad = Elemwise(so.add, {0: 0})(a, a.T)  # a <- a + a.T would read overwritten elements
    fg = FunctionGraph([x], [bad], clone=False)
    fg.protected_inputs = {0}
    assert "view" in check_destroy(fg, a, bad.owner)


@pytest.mark.parametrize("linker", BACKENDS)
def test_gemm_never_overwrites_an_operand_it_reads(linker):
    x = T.matrix("x")
    a = T.exp(x)
    out = a + 2 * T.dot(a, a)  # Gemm(a, 2, a, a, 1) must not run in place on a
    f = fast(linker, [x], out)
    xv = RNG.standard_normal((3, 3))
    ea = np.exp(xv)
    np.testing.assert_allclose(f(xv), ea + 2 * ea @ ea)


@pytest.mark.parametrize("linker", BACKENDS)
def test_row_updates_and_slices_of_the_shared_variable(linker):
    e0 = RNG.standard_normal((5, 3))
    e = theano.shared(e0.copy(), name="e")
    idx = T.lvector("idx")
    g = T.matrix("g")
    rows = e[idx]
    head = e[1:3]  # a view of e, returned and read: e's update must not run in place on it
    f = fast(linker, [idx, g], [T.sum(rows * g), head * 1.0],
             updates=[(e, T.inc_subtensor(rows, -0.5 * g))])
    iv, gv = np.array([0, 2, 2]), RNG.standard_normal((3, 3))
    want = e0.copy()
    np.add.at(want, iv, -0.5 * gv)
    s, h = f(iv, gv)
    np.testing.assert_allclose(s, np.sum(e0[iv] * gv))
    np.testing.assert_allclose(h, e0[1:3])
    np.testing.assert_allclose(e.get_value(), want)
    k = fast(linker, [idx, g], [], updates=[(e, T.inc_subtensor(e[idx], -0.5 * g))])
    assert destroyed_inputs(k)
    buf = e.get_value(borrow=True)
    k(iv, gv)
    np.add.at(want, iv, -0.5 * gv)
    np.testing.assert_allclose(e.get_value(), want)
    assert e.get_value(borrow=True) is buf
