"""Elementwise fusion into Elemwise(Composite) and reduction fusion into FusedReduce."""

import numpy as np

import graphcore as theano
import graphcore.tensor as T
from graphcore.backends.base import Backend
from graphcore.compile.mode import Mode
from graphcore.graph.fg import FunctionGraph
from graphcore.scalar.composite import Composite
from graphcore.tensor.elemwise import Elemwise
from graphcore.tensor.fused_reduce import FusedReduce

from graphopt.passes.fusion import MAX_OPERANDS, ElemwiseFusion

RNG = np.random.default_rng(1)


def fused_nodes(f):
    return [n for n in f.maker.fgraph.apply_nodes
            if isinstance(getattr(n.op, "scalar_op", None), Composite)]


def test_chain_of_ten_elementwise_ops_is_one_fused_node(helpers):
    x = T.matrix("x")
    out = x
    for k in range(10):
        out = T.tanh(out * 0.5 + k) if k % 2 else T.sin(out) - 0.1
    f = helpers.check_same([x], out, [RNG.random((4, 5))])
    nodes = list(f.maker.fgraph.apply_nodes)
    assert len(nodes) == 1
    assert isinstance(nodes[0].op.scalar_op, Composite)
    assert len(nodes[0].op.scalar_op.nodes) >= 10


def test_fused_node_with_several_outputs(helpers):
    x, y = T.vector("x"), T.vector("y")
    a = T.exp(x) * y
    b = T.sin(a) + 1
    c = T.cos(a) - y
    f = helpers.check_same([x, y], [a, b, c], [RNG.random(5), RNG.random(5)])
    (node,) = fused_nodes(f)
    assert len(node.outputs) == 3
    assert len(f.maker.fgraph.apply_nodes) == 1


def test_fusion_keeps_the_graph_acyclic_around_non_elemwise_ops(helpers):
    x = T.matrix("x")
    w = T.matrix("w")
    h = T.tanh(x + 1)
    y = T.dot(h, w)
    out = y * (1 - T.sqr(h))  # h feeds both the dot and the consumer of the dot
    f = helpers.check_same([x, w], out, [RNG.random((3, 3)), RNG.random((3, 3))])
    f.maker.fgraph.check_integrity()


def test_identical_fused_nodes_merge(helpers):
    x = T.vector("x")
    a = T.exp(T.sin(x) + 1)
    b = T.exp(T.sin(x) + 1)
    f = helpers.check_same([x], [a * 2, b * 3], [RNG.random(4)])
    ops = [n.op for n in f.maker.fgraph.apply_nodes]
    assert len(ops) <= 2


def test_structurally_equal_composites_are_equal_and_hash_equal():
    def build():
        x = T.vector("x")
        out = T.exp(T.sin(x) * 2) + 1
        fg = FunctionGraph([x], [out], clone=False)
        ElemwiseFusion().apply(fg)
        (node,) = fg.apply_nodes
        return node.op

    a, b = build(), build()
    assert a == b and hash(a) == hash(b)
    assert str(a.scalar_op) == "Composite{exp((sin(i0) * 2.0)) + 1.0}"


def test_operand_limit_splits_large_groups(helpers):
    xs = [T.vector(f"x{k}") for k in range(40)]
    out = xs[0]
    for v in xs[1:]:
        out = T.sin(out) + v
    f = helpers.check_same(xs, out, [RNG.random(3) for _ in xs])
    for node in fused_nodes(f):
        assert len(node.inputs) + len(node.outputs) <= MAX_OPERANDS
    assert len(fused_nodes(f)) >= 2


def test_fusion_respects_different_loop_shapes(helpers):
    x = T.matrix("x")
    v = T.vector("v")
    out = T.exp(x) + T.sin(v)  # sin(v) runs on the vector, exp on the matrix
    f = helpers.check_same([x, v], out, [RNG.random((3, 4)), RNG.random(4)])
    f.maker.fgraph.check_integrity()


def test_sum_of_elementwise_fuses_into_one_loop(helpers):
    x, y = T.matrix("x"), T.matrix("y")
    out = T.sum(T.sqr(x - y), axis=1)
    f = helpers.check_same([x, y], out, [RNG.random((3, 4)), RNG.random((3, 4))])
    (node,) = f.maker.fgraph.apply_nodes
    assert isinstance(node.op, FusedReduce)
    assert node.op.reduce_op.name == "add"


def test_max_of_elementwise_fuses(helpers):
    x = T.matrix("x")
    out = T.max(T.abs(x) * 2, axis=0)
    f = helpers.check_same([x], out, [RNG.standard_normal((3, 4))])
    assert any(isinstance(n.op, FusedReduce) for n in f.maker.fgraph.apply_nodes)


def test_reduce_not_fused_when_elementwise_result_is_reused(helpers):
    x = T.matrix("x")
    e = T.exp(x)
    out = e / T.sum(e, axis=1, keepdims=True)
    f = helpers.check_same([x], out, [RNG.random((3, 4))])
    assert not any(isinstance(n.op, FusedReduce) for n in f.maker.fgraph.apply_nodes)


def test_fusion_excluded_by_tag():
    x = T.vector("x")
    out = T.exp(T.sin(x))
    f = theano.function([x], out, mode=Mode(linker="python", optimizer="fast_run").excluding("fusion"))
    assert not fused_nodes(f)
    g = theano.function([x], out, mode=Mode(linker="python", optimizer="o2"))
    assert not fused_nodes(g)


def test_integer_and_boolean_fusion(helpers):
    i, j = T.vector("i", dtype="int64"), T.vector("j", dtype="int64")
    out = T.switch(T.gt(i, j), i * 2, j - 1) + (i % 3)
    f = helpers.check_same([i, j], out, [np.arange(6), np.arange(6)[::-1].copy()])
    assert fused_nodes(f)
    assert f(np.arange(6), np.arange(6)[::-1].copy()).dtype == np.int64


def test_fused_elemwise_is_a_plain_elemwise():
    x = T.vector("x")
    f = theano.function([x], T.exp(T.sin(x)), mode=Mode(linker="python"))
    (node,) = f.maker.fgraph.apply_nodes
    assert type(node.op) is Elemwise


class SmallBackend(Backend):
    name = "small"
    max_operands = 4


def test_the_backends_operand_limit_reaches_fusion():
    xs = [T.vector(f"x{k}") for k in range(8)]
    out = xs[0]
    for v in xs[1:]:
        out = T.sin(out) + v
    fg = FunctionGraph(xs, [out], backend=SmallBackend())
    assert ElemwiseFusion().operand_limit(fg) == 4
    ElemwiseFusion().apply(fg)
    fused = [n for n in fg.apply_nodes if isinstance(getattr(n.op, "scalar_op", None), Composite)]
    assert fused and all(len(n.inputs) + len(n.outputs) <= 4 for n in fused)
    assert ElemwiseFusion().operand_limit(FunctionGraph(xs, [out])) == MAX_OPERANDS
