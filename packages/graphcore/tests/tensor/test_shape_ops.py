"""Shape ops and views against NumPy: reshape, flatten, dimshuffle/transpose, swapaxes,
padding, (un)broadcast, specify_shape, squeeze, expand_dims, shape/size, broadcast_to."""

import sys

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode
from graphcore.testing import check_infer_shape, verify_grad

S = sys.modules["graphcore.tensor.shape"]  # T.shape is the function
MODE = Mode(linker="python", optimizer="None")  # the reference semantics, no rewrites
rng = np.random.default_rng(1234)


def run(inputs, outputs, *values):
    return theano.function(inputs, outputs, mode=MODE, on_unused_input="ignore")(*values)


def vg(fn, pt):
    verify_grad(fn, pt, mode=MODE, rng=np.random.default_rng(0))


def tensor_like(value, name="x"):
    return T.tensor(value.dtype, shape=(None,) * value.ndim, name=name)


DTYPES = ["float64", "float32", "int32", "bool"]


def value(shape, dtype="float64"):
    v = rng.normal(size=shape) * 3
    return (v > 0) if dtype == "bool" else v.astype(dtype)


# ------------------------------------------------------------------ reshape
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, newshape", [
    ((2, 3, 4), (6, 4)), ((2, 3, 4), (-1,)), ((2, 3, 4), (4, -1)), ((6,), (1, 6, 1)),
    ((0, 3), (3, 0)), ((0, 3), (0, -1, 1)), ((), (1, 1)), ((1,), ()),
])
def test_reshape_constant_shape(dtype, shape, newshape):
    v = value(shape, dtype)
    x = tensor_like(v)
    if 0 in shape and -1 in newshape and int(np.prod([s for s in newshape if s != -1])) == 0:
        with pytest.raises(ValueError):
            np.reshape(v, newshape)
        return
    out = T.reshape(x, newshape)
    want = np.reshape(v, newshape)
    got = run([x], out, v)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    # static shape: every known entry, -1 solved only when x's shape is static
    assert out.type.shape == tuple(None if s == -1 else s for s in newshape)
    check_infer_shape(out, [x], [v], mode=MODE)


def test_reshape_static_minus_one_solved():
    x = T.tensor("float64", shape=(2, 3, 4))
    assert T.reshape(x, (4, -1)).type.shape == (4, 6)
    assert x.reshape(-1).type.shape == (24,)
    with pytest.raises(ValueError, match="cannot reshape"):
        T.reshape(x, (5, 5))


def test_reshape_symbolic_entries_and_vector():
    x = T.matrix("x")
    n = T.lscalar("n")
    v = value((4, 6))
    out = T.reshape(x, (n, -1))
    np.testing.assert_array_equal(run([x, n], out, v, 3), v.reshape(3, -1))
    check_infer_shape(out, [x, n], [v, 8], mode=MODE)
    # a shape taken from another tensor keeps that tensor's static shape
    y = T.tensor("float64", shape=(3, None, 2))
    out2 = T.reshape(x, T.shape(y))
    assert out2.type.shape == (3, None, 2)
    np.testing.assert_array_equal(run([x, y], out2, v, np.zeros((3, 4, 2))), v.reshape(3, 4, 2))
    check_infer_shape(out2, [x, y], [v, np.zeros((3, 4, 2))], mode=MODE)
    # a fully symbolic shape vector needs ndim
    s = T.lvector("s")
    with pytest.raises(ValueError, match="ndim"):
        T.reshape(x, s)
    out3 = T.reshape(x, s, ndim=3)
    np.testing.assert_array_equal(run([x, s], out3, v, np.array([2, -1, 3])), v.reshape(2, -1, 3))
    # the method form
    np.testing.assert_array_equal(run([x], x.reshape(2, 12), v), v.reshape(2, 12))
    np.testing.assert_array_equal(run([x], x.reshape((12, 2)), v), v.reshape(12, 2))


def test_reshape_errors():
    x = T.matrix("x")
    with pytest.raises(ValueError, match="only one dimension can be -1"):
        T.reshape(x, (-1, -1))
    with pytest.raises(TypeError, match="integer"):
        T.reshape(x, (T.dscalar(), 2))
    with pytest.raises(TypeError, match="must be an integer, got 2.0"):
        T.reshape(x, (T.lscalar(), 2.0))
    f = theano.function([x], T.reshape(x, (5, -1)), mode=MODE)
    with pytest.raises(ValueError, match=r"cannot reshape an array of shape \(2, 3\)"):
        f(np.zeros((2, 3)))


def test_reshape_grad():
    v = value((2, 3, 4))
    vg(lambda x: T.reshape(x, (4, -1)) ** 2, [v])
    vg(lambda x: T.reshape(x, (x.shape_i if False else S.shape_i(x, 2), 6)), [v])


# ------------------------------------------------------------------ flatten
@pytest.mark.parametrize("shape", [(2, 3, 4), (0, 3, 2), (5,), (1, 1, 1)])
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_flatten(shape, ndim):
    if ndim > len(shape):
        return
    v = value(shape)
    x = tensor_like(v)
    out = T.flatten(x, ndim)
    want = v.reshape(v.shape[: ndim - 1] + (-1,)) if v.size else v.reshape(
        v.shape[: ndim - 1] + (int(np.prod(v.shape[ndim - 1:])),))
    got = run([x], out, v)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    check_infer_shape(out, [x], [v], mode=MODE)


def test_flatten_theano_outdim_and_static_shape():
    x = T.tensor("float32", shape=(2, 3, 4))
    assert T.flatten(x, outdim=2).type.shape == (2, 12)
    assert T.flatten(x).type.shape == (24,)
    assert x.flatten(2).type.shape == (2, 12)
    assert T.flatten(T.scalar()).type.ndim == 1
    with pytest.raises(ValueError, match="ndim must be between 1 and 3"):
        T.flatten(x, 4)
    vg(lambda x: T.flatten(x, 2) * 3, [value((2, 3, 4))])


# -------------------------------------------------------------- dimshuffle
def test_dimshuffle_transpose_swapaxes_moveaxis():
    v = value((2, 3, 4))
    x = tensor_like(v)
    cases = [
        (x.dimshuffle(2, 0, 1), v.transpose(2, 0, 1)),
        (x.dimshuffle(0, "x", 1, 2), v[:, None]),
        (T.transpose(x), v.T),
        (x.T, v.T),
        (x.transpose(1, 0, 2), v.transpose(1, 0, 2)),
        (T.swapaxes(x, 0, -1), np.swapaxes(v, 0, -1)),
        (T.moveaxis(x, 0, -1), np.moveaxis(v, 0, -1)),
        (T.moveaxis(x, [0, 1], [2, 0]), np.moveaxis(v, [0, 1], [2, 0])),
    ]
    for out, want in cases:
        got = run([x], out, v)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)
        check_infer_shape(out, [x], [v], mode=MODE)
    vg(lambda x: T.swapaxes(x, 0, 2) * np.arange(4.0)[:, None, None], [v])
    with pytest.raises(ValueError, match="out of range"):
        T.swapaxes(x, 0, 3)


def test_shape_padding():
    v = value((2, 3))
    x = tensor_like(v)
    assert T.shape_padleft(x, 2).type.shape == (1, 1, None, None)
    assert T.shape_padright(x).type.shape == (None, None, 1)
    assert T.shape_padaxis(x, 1).type.shape == (None, 1, None)
    assert T.shape_padaxis(x, -1).type.shape == (None, None, 1)
    np.testing.assert_array_equal(run([x], T.shape_padaxis(x, 1), v), v[:, None])
    with pytest.raises(IndexError):
        T.shape_padaxis(x, 3)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, (0, 2), (0, 3)])
def test_expand_dims(axis):
    v = value((2, 3))
    x = tensor_like(v)
    out = T.expand_dims(x, axis)
    want = np.expand_dims(v, axis)
    assert out.type.ndim == want.ndim
    np.testing.assert_array_equal(run([x], out, v), want)
    check_infer_shape(out, [x], [v], mode=MODE)


def test_squeeze():
    x = T.tensor("float64", shape=(1, None, 1, None))
    v = value((1, 3, 1, 1))
    out = T.squeeze(x)  # only dims the type says are 1
    assert out.type.shape == (None, None)
    np.testing.assert_array_equal(run([x], out, v), v.reshape(3, 1))
    out2 = T.squeeze(x, axis=3)  # checked at run time
    assert out2.type.shape == (1, None, 1)
    np.testing.assert_array_equal(run([x], out2, v), np.squeeze(v, 3))
    with pytest.raises(AssertionError, match="specify_shape"):
        run([x], out2, value((1, 3, 1, 2)))
    with pytest.raises(ValueError, match="not 1"):
        T.squeeze(T.tensor("float64", shape=(2, 3)), 0)
    vg(lambda x: T.squeeze(x, axis=(0, 2)) * 2, [value((1, 3, 1))])


def test_addbroadcast_unbroadcast_patternbroadcast():
    x = T.matrix("x")
    y = T.addbroadcast(x, 0)
    assert y.type.shape == (1, None)
    v = value((1, 4))
    np.testing.assert_array_equal(run([x], y + T.ones((3, 4)), v), v + np.ones((3, 4)))
    with pytest.raises(AssertionError):
        run([x], y, value((2, 4)))
    r = T.row("r")
    u = T.unbroadcast(r, 0)
    assert u.type.shape == (None, None)
    np.testing.assert_array_equal(run([r], u, v), v)
    check_infer_shape(u, [r], [v], mode=MODE)
    p = T.patternbroadcast(r, (False, True))
    assert p.type.broadcastable == (False, True)
    np.testing.assert_array_equal(run([r], p, np.ones((1, 1))), np.ones((1, 1)))
    assert T.unbroadcast(x, 0) is x
    vg(lambda r: T.unbroadcast(r, 0) * 2, [np.ones((1, 3))])
    with pytest.raises(ValueError, match="out of range"):
        T.addbroadcast(x, 2)


def test_specify_shape():
    x = T.matrix("x")
    y = T.specify_shape(x, (2, None))
    assert y.type.shape == (2, None)
    v = value((2, 5))
    np.testing.assert_array_equal(run([x], y, v), v)
    with pytest.raises(AssertionError, match=r"expected shape \(2, None\), got \(3, 5\)"):
        run([x], y, value((3, 5)))
    assert T.specify_shape(y, (2, None)) is y
    with pytest.raises(ValueError, match="contradicts"):
        T.specify_shape(y, (3, None))
    vg(lambda x: T.specify_shape(x, (2, 5)) ** 2, [v])


# ------------------------------------------------------------ shape, size
@pytest.mark.parametrize("shape", [(), (0,), (2, 3), (2, 0, 4)])
def test_shape_shape_i_size(shape):
    v = value(shape)
    x = tensor_like(v)
    np.testing.assert_array_equal(run([x], T.shape(x), v), np.array(shape, dtype="int64"))
    assert run([x], T.size(x), v) == v.size
    for i in range(len(shape)):
        got = run([x], T.shape_i(x, i), v)
        assert got == shape[i] and got.dtype == np.int64
    xs = T.tensor("float64", shape=shape)
    assert int(T.get_scalar_constant_value(T.size(xs))) == v.size
    for i in range(len(shape)):
        assert int(T.get_scalar_constant_value(T.shape_i(xs, i))) == shape[i]


# ------------------------------------------------------------ broadcast_to
@pytest.mark.parametrize("src, dst", [((3,), (2, 3)), ((1, 3), (4, 3)), ((), (2, 2)),
                                      ((1,), (0,)), ((2, 1), (2, 5))])
def test_broadcast_to(src, dst):
    v = value(src)
    x = T.tensor("float64", shape=src)
    out = T.broadcast_to(x, dst)
    want = np.broadcast_to(v, dst)
    got = run([x], out, v)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    check_infer_shape(out, [x], [v], mode=MODE)
    if np.prod(dst):
        vg(lambda x: T.broadcast_to(x, dst), [v])


def test_broadcast_to_symbolic_and_errors():
    x = T.vector("x")
    n = T.lscalar("n")
    v = value((3,))
    np.testing.assert_array_equal(run([x, n], T.broadcast_to(x, (n, 3)), v, 2),
                                  np.broadcast_to(v, (2, 3)))
    with pytest.raises(ValueError, match="cannot broadcast"):
        T.broadcast_to(T.matrix(), (3,))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        T.broadcast_to(T.tensor("float64", shape=(3,)), (2, 4))


def test_specify_shape_symbolic_lengths_checked_at_run_time():
    x = T.matrix("x")
    n = T.lscalar("n")
    y = T.specify_shape(x, (2, n))
    assert y.type.shape == (2, None)
    v = value((2, 3))
    np.testing.assert_array_equal(run([x, n], y * 2, v, 3), v * 2)
    with pytest.raises(AssertionError, match=r"expected shape \(\?, 4\), got \(2, 3\)"):
        run([x, n], y, v, 4)
    check_infer_shape(y, [x, n], [v, 3], mode=MODE)
    vg(lambda x: T.specify_shape(x, (S.shape_i(x, 0), 3)) ** 2, [v])
    assert T.specify_shape(x, T.shape(x)) is x
    with pytest.raises(TypeError, match="integer scalar"):
        T.specify_shape(x, (T.dscalar(), None))


# ------------------------------------------------------------ properties
from hypothesis import given, settings, strategies as st  # noqa: E402


@st.composite
def _shape_and_reshape(draw):
    shape = draw(st.lists(st.integers(0, 4), min_size=0, max_size=4))
    size = int(np.prod(shape, dtype=int))
    # a random factorisation of size into up to 4 factors, one maybe replaced by -1
    factors = []
    rest = size
    for _ in range(draw(st.integers(0, 3))):
        divisors = [d for d in range(1, 5) if rest % d == 0] if rest else [0, 1, 2]
        d = draw(st.sampled_from(divisors))
        factors.append(d)
        rest = rest // d if d else 0
    factors.append(rest if size else 0)
    if size and draw(st.booleans()):
        factors[draw(st.integers(0, len(factors) - 1))] = -1
    return tuple(shape), tuple(factors)


@settings(max_examples=40, deadline=None)
@given(_shape_and_reshape())
def test_reshape_property(case):
    shape, newshape = case
    v = np.arange(int(np.prod(shape, dtype=int)), dtype="float64").reshape(shape)
    x = tensor_like(v)
    out = T.reshape(x, newshape)
    got = run([x], out, v)
    np.testing.assert_array_equal(got, v.reshape(newshape))
    xs = T.tensor("float64", shape=shape)
    static = T.reshape(xs, newshape).type.shape
    assert static == v.reshape(newshape).shape  # fully static input: -1 solved too


def test_tensor_methods():
    v = value((2, 1, 3))
    x = T.tensor("float64", shape=(None, 1, None), name="x")
    cases = [
        (x.ravel(), v.ravel()), (x.flatten(outdim=2), v.reshape(2, 3)), (x.squeeze(), v.squeeze()),
        (x.squeeze(1), v.squeeze(1)), (x.swapaxes(0, 2), v.swapaxes(0, 2)),
        (x.repeat(2, axis=2), v.repeat(2, axis=2)), (x.diagonal(0, 0, 2), v.diagonal(0, 0, 2)),
        (x.squeeze().trace(), v.squeeze().trace()), (x.fill(2.0), np.full_like(v, 2.0)),
    ]
    for out, want in cases:
        np.testing.assert_allclose(run([x], out, v), want)
    assert x.size.type.ndim == 0
    assert run([x], x.size, v) == 6
    assert int(T.get_scalar_constant_value(T.tensor("float64", shape=(2, 5)).size)) == 10


def test_output_shapes_under_the_default_mode():
    # the optimizer's shape rewrites use each op's infer_shape: the shapes must still be right
    x = T.matrix("x")
    n = T.lscalar("n")
    v = np.arange(12.0).reshape(3, 4)
    outs = [T.reshape(x, (n, -1)), T.flatten(x), T.tile(x, (n, 2)), T.repeat(x, n, axis=0),
            T.roll(x, n, 1), T.diagonal(x), T.diag(T.diagonal(x)), T.arange(n), T.eye(n),
            T.linspace(0.0, 1.0, n), T.concatenate([x, x]), T.split(x, [1, n], 2, axis=1)[1],
            T.stack([x, x], 1), T.nlinalg.pinv(x), T.tensordot(x, x, [[0], [0]]),
            T.matmul(x.dimshuffle("x", 0, 1), x.T), T.specify_shape(x, (3, n + 1)),
            T.squeeze(T.shape_padleft(x)), T.broadcast_to(x, (2, 3, 4))]
    shapes = theano.function([x, n], [o.shape for o in outs], on_unused_input="ignore")(v, 3)
    values = theano.function([x, n], outs, on_unused_input="ignore")(v, 3)
    for out, s, val in zip(outs, shapes, values):
        assert tuple(s) == val.shape, out


def test_reshape_static_shape_through_sliced_and_joined_shapes():
    x = T.tensor("float64", shape=(2, None, 4), name="x")
    out = x.reshape(T.concatenate([x.shape[:-1], [-1]]))
    assert out.type.shape == (2, None, None)
    assert x.reshape(x.shape[::-1]).type.shape == (4, None, 2)
    v = value((2, 3, 4))
    np.testing.assert_array_equal(run([x], out, v), v.reshape(2, 3, -1))
    np.testing.assert_array_equal(run([x], x.reshape(x.shape[::-1]), v), v.reshape(4, 3, 2))
    check_infer_shape([out, x.reshape(x.shape[::-1])], [x], [v], mode=MODE)
