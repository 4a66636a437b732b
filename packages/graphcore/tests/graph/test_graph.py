"""The graph layer: Variables, Constants, Apply nodes, Op identity, FunctionGraph, cloning, traces."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.graph import (Apply, Constant, Feature, FunctionGraph, InconsistencyError,
                             MissingInputError, Op, Variable, ancestors, clone, clone_replace,
                             graph_inputs, io_toposort, orphans, toposort)
from graphcore.graph.basic import io_signature
from graphcore.tensor.type import TensorType


class AddK(Op):
    """x + k, with k a property: the test op for __props__ identity."""

    __props__ = ("k",)

    def __init__(self, k):
        self.k = k

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] + np.asarray(self.k, dtype=inputs[0].dtype)


# ------------------------------------------------------------ basic objects
def test_apply_links_outputs_to_itself():
    x = T.dvector("x")
    y = AddK(1)(x)
    node = y.owner
    assert isinstance(node, Apply)
    assert node.inputs == [x] and node.outputs == [y]
    assert y.index == 0 and x.owner is None
    assert node.nin == 1 and node.nout == 1
    assert node.default_output() is y and node.out is y
    assert y.type == x.type


def test_apply_rejects_non_variables():
    with pytest.raises(TypeError, match="input 0 is a float"):
        Apply(AddK(1), [1.5], [T.dvector()])
    with pytest.raises(TypeError, match="output 0 is a str"):
        Apply(AddK(1), [T.dvector()], ["y"])


def test_output_cannot_belong_to_two_nodes():
    y = AddK(1)(T.dvector())
    with pytest.raises(ValueError, match="already belongs to another Apply"):
        Apply(AddK(2), [T.dvector()], [y])


def test_variable_clone_is_ownerless_copy():
    x = T.dvector("x")
    y = AddK(1)(x)
    y.name = "y"
    c = y.clone()
    assert c is not y and c.owner is None and c.type == y.type and c.name == "y"


def test_constant_data_signature_and_equality():
    a = T.constant(np.array([1.0, 2.0]))
    b = T.constant(np.array([1.0, 2.0]))
    c = T.constant(np.array([1.0, 3.0]))
    d = T.constant(np.array([1, 2], dtype="int32"))
    assert isinstance(a, Constant) and isinstance(a, Variable)
    assert a.owner is None
    np.testing.assert_array_equal(a.data, [1.0, 2.0])
    assert a.equals(b) and a.signature() == b.signature()
    assert not a.equals(c) and not a.equals(d)
    assert a.type == TensorType("float64", (2,))


def test_constant_is_typed_and_filtered():
    c = T.constant(3)
    assert c.type.dtype == "int64" and c.type.ndim == 0
    assert c.data.dtype == np.int64 and c.data.shape == ()


# ---------------------------------------------------------- op identity
def test_props_define_equality_hash_and_str():
    assert AddK(1) == AddK(1)
    assert hash(AddK(1)) == hash(AddK(1))
    assert AddK(1) != AddK(2)
    assert str(AddK(3)) == "AddK{k=3}"
    assert len({AddK(1), AddK(1), AddK(2)}) == 2


def test_identical_nodes_have_the_same_merge_signature():
    x = T.dvector("x")
    a, b, c = AddK(1)(x), AddK(1)(x), AddK(2)(x)
    assert io_signature(a.owner) == io_signature(b.owner)
    assert io_signature(a.owner) != io_signature(c.owner)
    # the tensor ops follow the same rule: two x + 1 nodes use equal ops
    assert (x * 2).owner.op == (x * 2).owner.op
    assert hash((x * 2).owner.op) == hash((x * 3).owner.op)
    assert T.exp(x).owner.op != T.log(x).owner.op


# ------------------------------------------------------------ traversal
def _diamond():
    x, y = T.dvector("x"), T.dvector("y")
    a = x + y
    b = T.exp(a)
    c = a * b
    return x, y, a, b, c


def test_toposort_puts_each_node_after_its_inputs():
    x, y, a, b, c = _diamond()
    order = toposort([c])
    assert order.index(a.owner) < order.index(b.owner) < order.index(c.owner)
    assert len(order) == len(set(order))
    seen = set()
    for node in order:
        for inp in node.inputs:
            assert inp.owner is None or inp.owner in seen
        seen.add(node)


def test_io_toposort_stops_at_inputs():
    x, y, a, b, c = _diamond()
    order = io_toposort([a], [c])
    assert a.owner not in order and b.owner in order and c.owner in order


def test_ancestors_and_graph_inputs():
    x, y, a, b, c = _diamond()
    anc = ancestors([c])
    assert c in anc and a in anc and x in anc and y in anc
    assert set(graph_inputs([c])) >= {x, y}
    assert all(v.owner is None for v in graph_inputs([c]))
    # blockers stop the walk
    assert x not in ancestors([c], blockers=[a])
    assert a in graph_inputs([c], blockers=[a])


def test_orphans_are_the_constants():
    x = T.dvector("x")
    y = x * 2
    orph = orphans([x], [y])
    assert len(orph) == 1 and isinstance(orph[0], Constant)


def test_cycle_is_detected():
    x = T.dvector("x")
    y = AddK(1)(x)
    z = AddK(2)(y)
    y.owner.inputs[0] = z  # corrupt the graph on purpose
    with pytest.raises(ValueError, match="cycle"):
        toposort([z])


# ------------------------------------------------------------ FunctionGraph
def test_fgraph_clones_by_default_and_keeps_clients():
    x, y, a, b, c = _diamond()
    fg = FunctionGraph([x, y], [c])
    assert fg.inputs[0] is not x and fg.inputs[0].type == x.type
    assert c.owner not in fg.apply_nodes  # the user's graph is untouched
    fa = fg.outputs[0].owner.inputs[0]  # a, inside the clone
    users = {node.op for node, _ in fg.clients[fa] if node != "output"}
    assert len(fg.clients[fa]) == 2 and len(users) == 2  # exp(a) and a * b
    assert fg.clients[fg.outputs[0]] == [("output", 0)]
    assert len(fg.apply_nodes) == 3
    fg.check_integrity()


def test_fgraph_clients_read_like_a_list_in_insertion_order():
    from graphcore.graph.fg import Clients

    x, y = T.dvector("x"), T.dvector("y")
    outs = [x * y, x + y, T.exp(x)]
    fg = FunctionGraph([x, y], outs, clone=False)
    cl = fg.clients[x]
    assert isinstance(cl, Clients) and len(cl) == 3
    assert cl == [(o.owner, 0) for o in outs] and cl[0] == (outs[0].owner, 0)
    assert list(cl) == cl[:] and (outs[2].owner, 0) in cl
    fg.replace(outs[1], x - y)  # x + y is pruned: its client entry goes, the order stays
    assert cl[:2] == [(outs[0].owner, 0), (outs[2].owner, 0)] and len(cl) == 3
    with pytest.raises(ValueError):
        cl.remove(("no such node", 0))
    fg.check_integrity()


def test_fgraph_without_clone_uses_the_variables():
    x, y, a, b, c = _diamond()
    fg = FunctionGraph([x, y], [c], clone=False)
    assert fg.outputs[0] is c and c.owner in fg.apply_nodes
    assert (a.owner, 0) in fg.clients[x]


def test_fgraph_missing_input_error_names_the_variable():
    x, y = T.dvector("x"), T.dvector("y")
    with pytest.raises(MissingInputError, match="y"):
        FunctionGraph([x], [x + y])


def test_fgraph_replace_updates_clients_and_prunes():
    x, y, a, b, c = _diamond()
    fg = FunctionGraph([x, y], [c], clone=False)
    new = x - y
    fg.replace(a, new, reason="test")
    assert c.owner.inputs[0] is new and b.owner.inputs[0] is new
    assert a.owner not in fg.apply_nodes  # x + y is dead and pruned
    assert a not in fg.clients
    assert new.owner in fg.apply_nodes
    assert len(fg.clients[new]) == 2
    fg.check_integrity()
    f = theano.function([x, y], c)
    xv, yv = np.array([1.0, 2.0]), np.array([0.5, 0.25])
    np.testing.assert_allclose(f(xv, yv), (xv - yv) * np.exp(xv - yv))


def test_fgraph_replace_output_and_type_mismatch():
    x = T.dvector("x")
    fg = FunctionGraph([x], [T.exp(x)], clone=False)
    old = fg.outputs[0]
    fg.replace(old, T.log(x))
    assert fg.outputs[0].owner.op == T.log(x).owner.op
    assert old.owner not in fg.apply_nodes
    with pytest.raises(TypeError, match="cannot replace"):
        fg.replace(fg.outputs[0], T.dmatrix())


class RefuseMul(Feature):
    """Refuses any graph that contains a multiplication."""

    def __init__(self):
        self.imported, self.pruned, self.changes = [], [], []

    def on_import(self, fgraph, node, reason):
        self.imported.append(node)

    def on_prune(self, fgraph, node, reason):
        self.pruned.append(node)

    def on_change_input(self, fgraph, node, i, old, new, reason):
        self.changes.append((node, i, old, new))

    def validate(self, fgraph):
        for node in fgraph.apply_nodes:
            if getattr(node.op, "scalar_op", None) is not None and node.op.scalar_op.name == "mul":
                raise InconsistencyError("no mul allowed")


def test_replace_validate_reverts_when_a_feature_refuses():
    x = T.dvector("x")
    e = T.exp(x)
    out = T.log(e)
    feature = RefuseMul()
    fg = FunctionGraph([x], [out], features=[feature], clone=False)
    nodes_before = set(fg.apply_nodes)
    with pytest.raises(InconsistencyError, match="no mul"):
        fg.replace_validate(e, x * 2.0)
    assert out.owner.inputs[0] is e  # reverted
    assert fg.apply_nodes == nodes_before
    fg.check_integrity()
    fg.replace_validate(e, T.sqrt(x))  # accepted
    assert out.owner.inputs[0].owner.op == T.sqrt(x).owner.op
    assert e.owner in feature.pruned
    assert feature.changes and feature.imported


def test_feature_attach_detach_hooks():
    events = []

    class Listener(Feature):
        def on_attach(self, fgraph):
            events.append("attach")

        def on_detach(self, fgraph):
            events.append("detach")

    x = T.dvector()
    fg = FunctionGraph([x], [x + 1])
    f = Listener()
    fg.attach_feature(f)
    fg.attach_feature(f)  # idempotent
    assert f in fg.features
    fg.remove_feature(f)
    assert events == ["attach", "detach"]


def test_fgraph_clone_is_independent():
    x, y, a, b, c = _diamond()
    fg = FunctionGraph([x, y], [c])
    fg2, equiv = fg.clone_get_equiv()
    assert fg2.outputs[0] is equiv[fg.outputs[0]]
    assert not (fg2.apply_nodes & fg.apply_nodes)
    fg2.replace(fg2.outputs[0], fg2.inputs[0] * 1.0)
    assert len(fg.apply_nodes) == 3
    fg.check_integrity()
    fg2.check_integrity()


# -------------------------------------------------------- clone / replace
def test_clone_copies_the_graph():
    x, y, a, b, c = _diamond()
    (x2, y2), (c2,) = clone([x, y], [c])
    assert x2 is not x and c2 is not c and c2.owner is not c.owner
    assert c2.owner.op == c.owner.op
    assert x2 in graph_inputs([c2]) and x not in graph_inputs([c2])


def test_clone_replace_substitutes_and_keeps_the_original():
    x, y = T.dvector("x"), T.dvector("y")
    z = T.dvector("z")
    out = T.exp(x) + y
    new = clone_replace(out, {x: z * 2})
    assert x not in graph_inputs([new]) and z in graph_inputs([new])
    assert y in graph_inputs([new])  # unreplaced inputs are shared
    assert x in graph_inputs([out])  # the original is unchanged
    zv, yv = np.array([0.5, 1.0]), np.array([1.0, 2.0])
    np.testing.assert_allclose(theano.function([z, y], new)(zv, yv), np.exp(zv * 2) + yv)


def test_clone_replace_list_and_pairs():
    x = T.dvector("x")
    a, b = x + 1, x * 3
    w = T.dvector("w")
    na, nb = clone_replace([a, b], [(x, w)])
    wv = np.array([1.0, 2.0])
    ra, rb = theano.function([w], [na, nb])(wv)
    np.testing.assert_allclose(ra, wv + 1)
    np.testing.assert_allclose(rb, wv * 3)


def test_clone_replace_type_mismatch_is_an_error():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="x"):
        clone_replace(x + 1, {x: T.ivector("i")})


def test_graphcore_clone_theano_signature():
    x, y = T.dvector("x"), T.dvector("y")
    out = x * 2
    c = theano.clone(out)
    assert c is not out and c.owner is not out.owner and c.owner.op == out.owner.op
    assert x in graph_inputs([c])  # share_inputs=True by default
    c2 = theano.clone(out, replace={x: y})
    assert y in graph_inputs([c2])
    c3 = theano.clone(out, share_inputs=False)
    assert x not in graph_inputs([c3])
    assert [v.name for v in graph_inputs([c3]) if not isinstance(v, Constant)] == ["x"]


# ------------------------------------------------------------ creation trace
def test_creation_trace_records_user_file_and_line():
    x = T.dvector("x")
    y = T.exp(x)  # the recorded line
    import inspect

    line = inspect.currentframe().f_lineno - 3
    filename, lineno, func = y.owner.tag.trace[-1]
    assert filename == __file__
    assert lineno == line
    assert func == "test_creation_trace_records_user_file_and_line"
    # no graphcore-internal frame is recorded
    import os

    import graphcore

    root = os.path.dirname(graphcore.__file__)
    assert not any(f.startswith(root) for f, _, _ in y.owner.tag.trace)


def test_traceback_limit_zero_records_nothing():
    with theano.change_flags(traceback_limit=0):
        y = T.exp(T.dvector())
    assert y.owner.tag.trace == ()
