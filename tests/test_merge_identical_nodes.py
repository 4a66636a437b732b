"""Ops are data: equal __props__ on equal inputs make one node in a compiled function."""

import numpy as np

import graphcore as theano
import graphcore.tensor as T
from graphcore.graph import Apply, Op


class Scale(Op):
    """x * k; `k` is its only property."""

    __props__ = ("k",)

    def __init__(self, k):
        self.k = k

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] * np.asarray(self.k, dtype=inputs[0].dtype)

    def infer_shape(self, fgraph, node, shapes):
        return shapes


def _count(f, cls):
    return sum(isinstance(n.op, cls) for n in f.maker.fgraph.apply_nodes)


def test_equal_ops_on_equal_inputs_merge():
    x = T.dvector("x")
    a, b, c = Scale(2)(x), Scale(2)(x), Scale(3)(x)
    f = theano.function([x], [a, b, c])
    assert _count(f, Scale) == 2  # the two Scale{k=2} became one; Scale{k=3} stays
    ra, rb, rc = f(np.array([1.0, 2.0]))
    np.testing.assert_allclose(ra, [2.0, 4.0])
    np.testing.assert_allclose(rb, [2.0, 4.0])
    np.testing.assert_allclose(rc, [3.0, 6.0])
    assert not np.shares_memory(ra, rb)  # merged outputs are still distinct arrays


def test_merge_reaches_downstream_nodes():
    x = T.dvector("x")
    y1 = Scale(2)(Scale(5)(x))
    y2 = Scale(2)(Scale(5)(x))
    f = theano.function([x], y1 + y2)
    assert _count(f, Scale) == 2
    np.testing.assert_allclose(f(np.array([1.0])), [20.0])
