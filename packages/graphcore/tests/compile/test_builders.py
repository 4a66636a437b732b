"""OpFromGraph: values against NumPy, nesting, shared variables, gradients, Rop, shapes, inlining,
pickling."""

import pickle

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.builders import OpFromGraph
from graphcore.gradient import verify_grad

RNG = np.random.default_rng(7)


def _rand(*shape):
    return RNG.standard_normal(shape)


def _ofg_nodes(f):
    return [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, OpFromGraph)]


def test_theano_names():
    import graphcore.compile.builders as builders

    assert theano.OpFromGraph is OpFromGraph is builders.OpFromGraph
    assert theano.compile.OpFromGraph is OpFromGraph


def test_values_and_two_applications():
    x, y, z = T.dmatrices("x", "y", "z")
    op = OpFromGraph([x, y, z], [x + y * z])
    out = op(x, y, z) + op(z, y, x)
    f = theano.function([x, y, z], out)
    a, b, c = _rand(2, 3), _rand(2, 3), _rand(2, 3)
    np.testing.assert_allclose(f(a, b, c), (a + b * c) + (c + b * a))
    assert len(_ofg_nodes(f)) == 2  # not inlined by default
    assert str(op) == "OpFromGraph{inline=False}"
    assert str(OpFromGraph([x], [x * 2], name="double")) == "double{inline=False}"


def test_multiple_outputs_and_other_input_types():
    x = T.dmatrix("x")
    v = T.dvector("v")
    op = OpFromGraph([x, v], [T.dot(x, v), x.sum(axis=0), T.argmax(v)])
    dot, col, am = op(x, v)
    f = theano.function([x, v], [dot, col, am])
    a, b = _rand(3, 4), _rand(4)
    got = f(a, b)
    np.testing.assert_allclose(got[0], a @ b)
    np.testing.assert_allclose(got[1], a.sum(axis=0))
    assert got[2] == np.argmax(b) and got[2].dtype == np.int64


def test_nested():
    x, y = T.dvectors("x", "y")
    inner = OpFromGraph([x, y], [x * y], name="mul")
    outer = OpFromGraph([x, y], [inner(x, y) + T.exp(inner(y, x))], name="outer")
    z = outer(x, y) - outer(y, x)
    f = theano.function([x, y], z)
    a, b = _rand(3), _rand(3)
    np.testing.assert_allclose(f(a, b), 0 * a, atol=1e-12)
    f2 = theano.function([x, y], outer(x, 2 * y))
    np.testing.assert_allclose(f2(a, b), a * 2 * b + np.exp(a * 2 * b))
    verify_grad(lambda u, w: outer(u, w), [a, b], rng=np.random.RandomState(0))


def test_shared_variables_are_implicit_inputs():
    x = T.dvector("x")
    w = theano.shared(np.array([1.0, 2.0, 3.0]), "w")
    op = OpFromGraph([x], [x * w])
    assert op.shared_inputs == [w]
    out = op(x)
    assert list(out.owner.inputs) == [x, w]
    f = theano.function([x], out)
    np.testing.assert_allclose(f(np.ones(3)), [1, 2, 3])
    w.set_value(np.array([5.0, 5.0, 5.0]))  # the current value is read at each call
    np.testing.assert_allclose(f(np.ones(3)), [5, 5, 5])
    g = theano.function([x], theano.grad((op(x) ** 2).sum(), w))
    xv = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(g(xv), 2 * xv * 5 * xv)
    # updates of the shared variable outside the op are seen inside it
    step = theano.function([x], op(x).sum(), updates=[(w, w + 1)])
    assert step(np.ones(3)) == 15 and step(np.ones(3)) == 18


def test_shared_variable_of_a_nested_op_and_an_identity_op():
    x, y = T.dvectors("x", "y")
    s = theano.shared(np.array([1.0, 2.0]), "s")
    inner = OpFromGraph([x], [x * s])
    outer = OpFromGraph([y], [inner(y) + 1])
    assert outer.shared_inputs == [s]
    f = theano.function([y], [outer(y), theano.grad(outer(y).sum(), s)])
    value, gs = f(np.array([3.0, 4.0]))
    np.testing.assert_allclose(value, [4.0, 9.0])
    np.testing.assert_allclose(gs, [3.0, 4.0])
    hess = theano.function([y], theano.gradient.hessian((outer(y) ** 3).sum(), y))
    np.testing.assert_allclose(hess(np.array([1.0, 2.0])), np.diag([12.0, 120.0]))
    ident = OpFromGraph([x], [x])
    g = theano.function([x], ident(x))
    xv = np.ones(2)
    g(xv)[0] = 5.0  # the result does not alias the argument
    np.testing.assert_allclose(xv, [1.0, 1.0])


def test_gradients_verify_grad_and_second_order():
    x, y = T.dvectors("x", "y")
    op = OpFromGraph([x, y], [T.sin(x) * y, (x * y).sum()])
    a, b = _rand(4), _rand(4)
    verify_grad(lambda u, w: op(u, w)[0], [a, b], rng=np.random.RandomState(1))
    verify_grad(lambda u, w: op(u, w)[1], [a, b], rng=np.random.RandomState(2))
    # both outputs used, and the gradient op is itself differentiable
    cost = op(x, y)[0].sum() + op(x, y)[1] ** 2
    gx = theano.grad(cost, x)
    hx = theano.grad(gx.sum(), x)
    f = theano.function([x, y], [gx, hx])
    got_g, got_h = f(a, b)
    s = (a * b).sum()
    np.testing.assert_allclose(got_g, np.cos(a) * b + 2 * s * b)
    np.testing.assert_allclose(got_h, -np.sin(a) * b + 2 * b * b.sum())


def test_gradient_of_disconnected_and_integer_inputs():
    x, y = T.dvectors("x", "y")
    k = T.lscalar("k")
    op = OpFromGraph([x, y, k], [x * 3 + k])
    gx, gy = theano.grad(op(x, y, k).sum(), [x, y], disconnected_inputs="ignore")
    f = theano.function([x, y, k], [gx, gy])
    got = f(np.ones(2), np.ones(2), 4)
    np.testing.assert_allclose(got[0], [3, 3])
    np.testing.assert_allclose(got[1], [0, 0])
    with pytest.raises(theano.gradient.DisconnectedInputError):
        theano.grad(op(x, y, k).sum(), y)


def test_grad_overrides():
    x, y = T.dvectors("x", "y")
    # a callable: the same gradients as a custom rule (here: clipped like a straight-through)
    op = OpFromGraph([x, y], [x * y],
                     grad_overrides=lambda inps, gs: [gs[0] * 10, gs[0] * 0])
    f = theano.function([x, y], theano.grad(op(x, y).sum(), [x, y]))
    gx, gy = f(np.ones(2), np.ones(2))
    np.testing.assert_allclose(gx, [10, 10])
    np.testing.assert_allclose(gy, [0, 0])
    # a list: 'default' for x, a callable for y
    op2 = OpFromGraph([x, y], [x * y], grad_overrides=["default", lambda inps, gs: -gs[0]])
    f2 = theano.function([x, y], theano.grad(op2(x, y).sum(), [x, y]))
    gx, gy = f2(np.array([2.0, 3.0]), np.array([5.0, 7.0]))
    np.testing.assert_allclose(gx, [5, 7])
    np.testing.assert_allclose(gy, [-1, -1])
    # lop_overrides sees the outputs too
    op3 = OpFromGraph([x], [T.exp(x)], lop_overrides=lambda inps, outs, gs: [outs[0] * gs[0]])
    verify_grad(lambda u: op3(u), [_rand(3)], rng=np.random.RandomState(3))
    with pytest.raises(ValueError, match="not both"):
        OpFromGraph([x], [x], grad_overrides=lambda i, g: g, lop_overrides=lambda i, o, g: g)


def test_rop():
    x, y = T.dvectors("x", "y")
    vx, vy = T.dvectors("vx", "vy")
    op = OpFromGraph([x, y], [T.sin(x) * y])
    jv = theano.Rop(op(x, y), [x, y], [vx, vy])
    f = theano.function([x, y, vx, vy], jv)
    a, b, c, d = _rand(3), _rand(3), _rand(3), _rand(3)
    np.testing.assert_allclose(f(a, b, c, d), np.cos(a) * b * c + np.sin(a) * d)
    only_x = theano.function([x, y, vx], theano.Rop(op(x, y), x, vx))
    np.testing.assert_allclose(only_x(a, b, c), np.cos(a) * b * c)
    custom = OpFromGraph([x], [x * 2], rop_overrides=lambda inps, evs: [evs[0] * 100])
    g = theano.function([x, vx], theano.Rop(custom(x), x, vx), on_unused_input="ignore")
    np.testing.assert_allclose(g(a, c), 100 * c)


def test_infer_shape_uses_the_inner_graph():
    x = T.dmatrix("x")
    i = T.lscalar("i")
    op = OpFromGraph([x, i], [x[i:].T, T.dot(x, x.T)])
    a, b = op(x, i)
    f = theano.function([x, i], [a.shape, b.shape])
    sa, sb = f(np.zeros((5, 3)), 2)
    assert tuple(sa) == (3, 3) and tuple(sb) == (5, 5)
    assert not _ofg_nodes(f)  # the shapes come from infer_shape, the op itself is not run
    # from the input shapes alone: no x, no OpFromGraph in the shape graph
    r, c = T.lscalar("r"), T.lscalar("c")
    shapes = op.infer_shape(None, a.owner, [(r, c), ()])
    g = theano.function([r, c, i], [*shapes[0], *shapes[1]])
    assert [int(v) for v in g(5, 3, 2)] == [3, 3, 5, 5]
    assert not _ofg_nodes(g)


def test_inline_is_expanded_by_the_optimizer():
    x, y = T.dvectors("x", "y")
    op = OpFromGraph([x, y], [x * y + 1], inline=True)
    for mode in ("FAST_RUN", "FAST_COMPILE"):
        f = theano.function([x, y], op(x, y) * 2, mode=mode)
        assert not _ofg_nodes(f)
        np.testing.assert_allclose(f(np.array([2.0]), np.array([3.0])), [14.0])
    f = theano.function([x, y], op(x, y), mode=theano.Mode(optimizer=None))
    assert len(_ofg_nodes(f)) == 1  # no optimizer: run through perform
    np.testing.assert_allclose(f(np.array([2.0]), np.array([3.0])), [7.0])
    gop = theano.grad(op(x, y).sum(), x).owner
    assert isinstance(gop.op, OpFromGraph) and gop.op.is_inline


def test_equality_is_identity():
    x = T.dvector("x")
    a, b = OpFromGraph([x], [x + 1]), OpFromGraph([x], [x + 1])
    assert a == a and a != b
    f = theano.function([x], [a(x), a(x), b(x)])
    assert len(_ofg_nodes(f)) == 2  # the two applications of `a` merged


def test_errors():
    x, y = T.dvectors("x", "y")
    with pytest.raises(ValueError, match="depend on y"):
        OpFromGraph([x], [x + y])
    with pytest.raises(TypeError, match="shared variable"):
        OpFromGraph([theano.shared(np.zeros(2))], [x])
    op = OpFromGraph([x], [x + 1])
    with pytest.raises(TypeError, match="expected 1 inputs, got 2"):
        op(x, y)
    with pytest.raises(TypeError, match="input 0 must be of type"):
        op(T.dmatrix())
    # an int vector is safely cast to the float64 the op takes
    f = theano.function([], op(np.array([1, 2])))
    np.testing.assert_allclose(f(), [2, 3])


def test_pickling_a_function_using_it(tmp_path):
    x = T.dvector("x")
    w = theano.shared(np.array([1.0, 2.0]), "w")
    op = OpFromGraph([x], [T.tanh(x) * w], name="layer")
    f = theano.function([x], [op(x), theano.grad(op(x).sum(), x)])
    expect = f(np.array([0.5, -1.0]))
    op.fn  # compiled and cached on the op; not pickled
    path = tmp_path / "f.pkl"
    path.write_bytes(pickle.dumps(f))
    g = pickle.loads(path.read_bytes())
    for got, want in zip(g(np.array([0.5, -1.0])), expect):
        np.testing.assert_allclose(got, want)
    loaded = [n.op for n in g.maker.fgraph.apply_nodes if isinstance(n.op, OpFromGraph)]
    assert loaded and all(o is not op and o._fn is not None for o in loaded)
