"""Random streams: reproducibility, state updates, shapes (size and broadcasting), dtypes,
distribution sanity on 10^4 draws, parameter errors, and Theano's spellings."""

import copy

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode
from graphcore.gradient import NullTypeGradError
from graphcore.sandbox.rng_mrg import MRG_RandomStreams
from graphcore.tensor.random import (NormalRV, RandomGeneratorSharedVariable, RandomStream,
                                     RandomStreams, dropout, random_generator_type)
from graphcore.tensor.random.op import as_size

MODE = Mode(linker="python", optimizer=None)
N = 10_000


def fn(inputs, outputs, **kw):
    return theano.function(inputs, outputs, mode=MODE, **kw)


def test_seeded_streams_reproduce_and_successive_calls_differ():
    def draws(seed):
        s = RandomStream(seed)
        f = fn([], [s.uniform(size=(3,)), s.normal(size=(2, 2)), s.integers(100, size=4)])
        return [f() for _ in range(3)]

    a, b, c = draws(42), draws(42), draws(7)
    for call_a, call_b in zip(a, b):
        for x, y in zip(call_a, call_b):
            np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0][0], c[0][0])
    assert not np.array_equal(a[0][0], a[1][0]) and not np.array_equal(a[1][1], a[2][1])
    # two draws of one stream are independent
    s = RandomStream(0)
    u1, u2 = s.uniform(size=(5,)), s.uniform(size=(5,))
    v1, v2 = fn([], [u1, u2])()
    assert not np.array_equal(v1, v2)


def test_seed_reseeds_every_generator():
    s = RandomStream(1)
    u, n = s.uniform(size=(4,)), s.normal(size=(4,))
    f = fn([], [u, n])
    first = f()
    f()
    s.seed(1)
    again = f()
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    s.seed(2)
    assert not np.array_equal(f()[0], first[0])


def test_ops_do_not_mutate_their_input_generator():
    rng = np.random.default_rng(3)
    state = copy.deepcopy(rng.bit_generator.state)
    size, _ = as_size((3,))
    r = theano.shared(rng, borrow=True)
    node = NormalRV(has_size=True).make_node(r, size, 0.0, 1.0)
    storage = [[None], [None]]
    node.op.perform(node, [rng, np.array([3]), np.array(0.0), np.array(1.0)], storage)
    assert rng.bit_generator.state == state  # the input is untouched
    assert storage[0][0] is not rng and storage[0][0].bit_generator.state != state
    np.testing.assert_array_equal(storage[1][0], np.random.default_rng(3).normal(0, 1, size=3))
    # without the default update, every call sees the same generator: same numbers
    s = RandomStream(5)
    u = s.uniform(size=(3,))
    f = fn([], u, no_default_updates=True)
    np.testing.assert_array_equal(f(), f())
    g = fn([], u, updates=s.updates(), no_default_updates=True)
    assert not np.array_equal(g(), g())


def test_shared_generator_variable():
    rng = np.random.default_rng(9)
    r = theano.shared(rng)
    assert isinstance(r, RandomGeneratorSharedVariable) and r.type == random_generator_type
    v = r.get_value()
    assert v is not rng and v.bit_generator.state == rng.bit_generator.state
    with pytest.raises(TypeError, match="Generator"):
        r.set_value(np.zeros(3))
    r.set_value(np.random.default_rng(10))
    assert r.get_value().bit_generator.state == np.random.default_rng(10).bit_generator.state


def test_size_forms_and_static_shapes():
    s = RandomStream(0)
    n, m = T.lscalar(), T.iscalar()
    x, sv = T.dmatrix(), T.lvector()
    outs = [s.uniform(size=5), s.uniform(size=(2, 3)), s.normal(size=(n, 3)),
            s.normal(size=[m, n]), s.integers(10, size=x.shape), s.uniform(size=()),
            s.normal(size=sv, ndim=2), s.uniform(0, 1)]
    assert [o.type.shape for o in outs] == [(5,), (2, 3), (None, 3), (None, None), (None, None),
                                            (), (None, None), ()]
    f = fn([n, m, x, sv], outs)
    got = f(4, 2, np.zeros((3, 7)), np.array([2, 5]))
    assert [g.shape for g in got] == [(5,), (2, 3), (4, 3), (2, 4), (3, 7), (), (2, 5), ()]
    with pytest.raises(ValueError, match="ndim"):
        s.normal(size=T.lvector())
    with pytest.raises(TypeError, match="size"):
        s.normal(size=T.dvector())
    with pytest.raises(ValueError, match=">= 0"):
        s.normal(size=(-1, 2))
    with pytest.raises(TypeError, match="integer scalar"):
        s.normal(size=(2.0, n))


def test_parameter_broadcasting():
    s = RandomStream(0)
    loc, scale = T.dvector(), T.dcol()
    a = s.normal(loc, scale)  # broadcast shape (?, ?) from (?,) and (?, 1)
    b = s.uniform(T.zeros((2, 1)), T.ones((3,)))
    c = s.normal(loc, 1.0, size=(4, 3))
    d = s.binomial(T.lvector(), 0.5)
    f = fn([loc, scale, d.owner.inputs[2]], [a, b, c, d])
    av, bv, cv, dv = f(np.array([0.0, 100.0, -100.0]), np.array([[1e-3], [1e-3]]), np.array([0, 5, 50]))
    assert av.shape == (2, 3) and bv.shape == (2, 3) and cv.shape == (4, 3) and dv.shape == (3,)
    np.testing.assert_allclose(av, np.broadcast_to([0.0, 100.0, -100.0], (2, 3)), atol=0.05)
    assert dv[0] == 0 and 0 <= dv[2] <= 50
    g = fn([loc], s.normal(loc, 1.0, size=(4, 2)))  # loc of length 3 cannot fill size (4, 2)
    with pytest.raises(ValueError, match="NormalRV"):
        g(np.zeros(3))


def _infer_shape_check(var, inputs, values):
    """The draws' inferred shape (from the op's infer_shape) equals the computed shape."""
    node = var.owner
    in_shapes = [None if not hasattr(i.type, "ndim") else
                 tuple(T.shape_i(i, d) for d in range(i.type.ndim)) for i in node.inputs]
    shape = node.op.infer_shape(None, node, in_shapes)[1]
    shape = [T.as_tensor_variable(d) for d in shape]
    f = fn(inputs, [var] + shape, on_unused_input="ignore")
    value, *dims = f(*values)
    assert tuple(int(d) for d in dims) == value.shape


def test_infer_shape():
    s = RandomStream(0)
    n = T.lscalar()
    loc, scale, pv = T.dvector(), T.dcol(), T.dmatrix()
    vals = [3, np.zeros(4), np.ones((2, 1)), np.full((5, 3), 1 / 3)]
    inputs = [n, loc, scale, pv]
    for var in (s.normal(loc, scale), s.uniform(size=(n, 2)), s.multinomial(7, pv),
                s.multinomial(3, [0.5, 0.5], size=(n,)), s.choice(5, size=(2, n)),
                s.permutation(n, size=(2,)), s.permutation(pv), s.integers(5, size=loc.shape)):
        _infer_shape_check(var, inputs, vals)


def test_dtypes():
    s = RandomStream(0)
    with theano.config.change_flags(floatX="float32"):
        u = s.uniform(size=(2,))
    assert u.dtype == "float32"
    assert s.normal(size=(2,), dtype="float64").dtype == "float64"
    assert s.binomial(1, 0.5, size=(2,)).dtype == "int64"
    mask = s.binomial(1, 0.5, size=(2,), dtype="float32")
    assert s.integers(0, 5, size=3, dtype="int32").dtype == "int32"
    assert s.choice(np.array([1.5, 2.5]), size=2).dtype == "float64"
    v = fn([], [mask, u])()
    assert v[0].dtype == "float32" and set(v[0]) <= {0.0, 1.0} and v[1].dtype == "float32"


def test_distribution_sanity():
    s = RandomStream(123)
    p = np.array([0.1, 0.2, 0.7])
    outs = [s.uniform(-1, 3, size=N), s.normal(2.0, 3.0, size=N), s.binomial(10, 0.3, size=N),
            s.integers(0, 10, size=N), s.poisson(4.0, size=N), s.multinomial(20, p, size=N),
            s.choice(3, size=N, p=p), s.exponential(2.0, size=N), s.gamma(3.0, 2.0, size=N),
            s.beta(2.0, 5.0, size=N), s.bernoulli(0.25, size=N), s.truncated_normal(1.0, 2.0, size=N)]
    (u, n, b, i, po, mn, ch, ex, ga, be, ber, tn) = fn([], outs)()
    assert u.min() >= -1 and u.max() < 3 and abs(u.mean() - 1) < 0.05 and abs(u.std() - 4 / 12 ** 0.5) < 0.05
    assert abs(n.mean() - 2) < 0.1 and abs(n.std() - 3) < 0.1
    assert b.min() >= 0 and b.max() <= 10 and abs(b.mean() - 3) < 0.1
    assert set(np.unique(i)) == set(range(10)) and abs(i.mean() - 4.5) < 0.15
    assert abs(po.mean() - 4) < 0.1
    assert mn.shape == (N, 3) and (mn.sum(axis=1) == 20).all()
    np.testing.assert_allclose(mn.mean(axis=0), 20 * p, atol=0.1)
    np.testing.assert_allclose(np.bincount(ch, minlength=3) / N, p, atol=0.02)
    assert abs(ex.mean() - 2) < 0.1 and abs(ga.mean() - 6) < 0.2 and abs(be.mean() - 2 / 7) < 0.01
    assert set(np.unique(ber)) == {0, 1} and abs(ber.mean() - 0.25) < 0.02
    assert np.abs(tn - 1).max() <= 4 and abs(tn.mean() - 1) < 0.1


def test_choice_and_permutation():
    s = RandomStream(4)
    a = T.dvector()
    outs = [s.choice(10, size=10, replace=False), s.choice(a, size=(2, 2)), s.permutation(6),
            s.permutation(a), s.permutation(4, size=(3,))]
    c, ca, p, pa, p3 = fn([a], outs)(np.array([1.5, 2.5, 3.5]))
    assert sorted(c) == list(range(10))
    assert ca.shape == (2, 2) and set(ca.ravel()) <= {1.5, 2.5, 3.5}
    assert sorted(p) == list(range(6)) and sorted(pa) == [1.5, 2.5, 3.5]
    assert p3.shape == (3, 4) and all(sorted(r) == [0, 1, 2, 3] for r in p3)


def test_parameter_errors():
    s = RandomStream(0)
    with pytest.raises(ValueError, match="scale >= 0"):
        s.normal(0.0, -1.0)
    with pytest.raises(ValueError, match="0 <= p <= 1"):
        s.binomial(3, 1.5)
    with pytest.raises(ValueError, match="n >= 0"):
        s.binomial(-1, 0.5)
    with pytest.raises(TypeError, match="n must be an integer"):
        s.binomial(2.5, 0.5)
    with pytest.raises(ValueError, match="sum to 1"):
        s.choice(3, p=np.array([0.5, 0.2, 0.2]))
    with pytest.raises(ValueError, match="a must be > 0"):
        s.choice(0, size=2)
    with pytest.raises(ValueError, match="pvals"):
        s.multinomial(3, np.array([0.9, 0.9]))
    with pytest.raises(TypeError, match="random generator"):
        NormalRV()(T.dscalar(), as_size(None)[0], 0.0, 1.0)
    # run-time checks name the op and the parameter
    scale, lo, hi = T.dscalar(), T.lscalar(), T.lscalar()
    f = fn([scale], s.normal(0.0, scale, size=(2,)))
    with pytest.raises(ValueError, match="NormalRV.*scale >= 0"):
        f(-1.0)
    g = fn([lo, hi], s.integers(lo, hi, size=(2,)))
    with pytest.raises(ValueError, match="low >= high"):
        g(3, 3)
    k = T.lscalar()
    h = fn([k], s.choice(3, size=(k,), replace=False))
    with pytest.raises(ValueError, match="ChoiceRV"):
        h(5)


def test_draws_are_not_differentiable_wrt_parameters():
    s = RandomStream(0)
    mu = T.dscalar()
    with pytest.raises(NullTypeGradError, match="reparameterize"):
        T.grad(T.sum(s.normal(mu, 1.0, size=(3,))), mu)
    eps = s.normal(0.0, 1.0, size=(3,))
    g = fn([mu], T.grad(T.sum(mu + 2.0 * eps), mu))(0.5)
    assert g == 3.0


def test_dropout():
    s = RandomStream(8)
    x = T.dmatrix()
    y = dropout(s, x, 0.25)
    f = fn([x], [y, T.grad(T.sum(y), x)])
    out, g = f(np.ones((100, 100)))
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(out[kept], 1 / 0.75)
    np.testing.assert_allclose(g, out)  # d(sum(x * mask / keep))/dx = mask / keep
    assert not np.array_equal(f(np.ones((100, 100)))[0], out)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        dropout(s, x, 1.0)


def test_default_mode():
    s = RandomStream(11)
    x = T.dvector()
    f = theano.function([x], [x + s.uniform(size=x.shape), s.normal(size=(2,))])
    a, b = f(np.zeros(3)), f(np.zeros(3))
    assert a[0].shape == (3,) and (a[0] >= 0).all() and (a[0] < 1).all()
    assert not np.array_equal(a[0], b[0]) and not np.array_equal(a[1], b[1])


# --------------------------------------------------------------- Theano spellings
def test_theano_shared_randomstreams():
    assert T.shared_randomstreams.RandomStreams is not RandomStreams  # size-first signatures
    assert RandomStreams is RandomStream
    srng = T.shared_randomstreams.RandomStreams(seed=234)
    outs = [srng.uniform((N,), low=-1.0, high=1.0), srng.normal((N,), avg=1.0, std=0.5),
            srng.binomial(size=(N,), n=1, p=0.8), srng.random_integers((N,), low=1, high=3),
            srng.choice(size=(4,), a=3), srng.permutation((2,), 5),
            srng.multinomial((2,), n=5, pvals=[0.2, 0.8]), srng.poisson((N,), lam=2.0)]
    u, n, b, ri, ch, pe, mn, po = fn([], outs)()
    assert abs(u.mean()) < 0.05 and abs(n.mean() - 1) < 0.05 and abs(n.std() - 0.5) < 0.05
    assert abs(b.mean() - 0.8) < 0.02
    assert set(np.unique(ri)) == {1, 2, 3}  # high is included, as in Theano
    assert ch.shape == (4,) and set(ch) <= {0, 1, 2}
    assert pe.shape == (2, 5) and all(sorted(r) == list(range(5)) for r in pe)
    assert mn.shape == (2, 2) and (mn.sum(axis=1) == 5).all() and abs(po.mean() - 2) < 0.1
    m = T.dmatrix()
    sh = fn([m], srng.shuffle_row_elements(m))(np.arange(12.0).reshape(3, 4))
    assert [sorted(r) for r in sh] == [list(np.arange(4.0) + 4 * k) for k in range(3)]
    # the same seed gives the same numbers
    again = T.shared_randomstreams.RandomStreams(seed=234)
    np.testing.assert_array_equal(fn([], again.uniform((N,), low=-1.0, high=1.0))(), u)


def test_mrg_random_streams():
    srng = MRG_RandomStreams(seed=1234)
    pv = np.array([[0.1, 0.9], [0.6, 0.4]])
    p3 = np.array([[0.2, 0.3, 0.5], [0.9, 0.05, 0.05]])
    outs = [srng.uniform((N,)), srng.normal((N,), avg=-1.0, std=2.0),
            srng.normal((N,), truncate=True), srng.binomial(size=(N,), p=0.3, dtype="float32"),
            srng.multinomial(pvals=pv, n=10), srng.choice(size=2, a=None, replace=False, p=p3),
            srng.truncated_normal((3, 3), std=0.1)]
    u, n, tn, b, mn, ch, tn2 = fn([], outs)()
    assert abs(u.mean() - 0.5) < 0.02 and abs(n.mean() + 1) < 0.1 and abs(n.std() - 2) < 0.1
    assert np.abs(tn).max() <= 2 and b.dtype == "float32" and abs(b.mean() - 0.3) < 0.02
    assert mn.shape == (2, 2) and (mn.sum(axis=1) == 10).all()
    assert ch.shape == (2, 2) and all(len(set(r)) == 2 for r in ch)
    assert tn2.shape == (3, 3) and np.abs(tn2).max() <= 0.2
    with pytest.raises(NotImplementedError, match="without replacement"):
        srng.choice(size=2, p=p3)
    with pytest.raises(ValueError, match="size must be None"):
        srng.multinomial(size=(2,), pvals=pv)
    x = T.dmatrix()
    f = fn([x], x * srng.binomial(size=x.shape, p=0.5, dtype="float64"))
    assert f(np.ones((3, 2))).shape == (3, 2)
