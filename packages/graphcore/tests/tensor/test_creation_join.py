"""Creation, joining and repetition ops against NumPy: concatenate/join/stack/stacklists,
split, alloc/zeros/ones/full/fill, eye/identity_like/tri/tril/triu, arange, linspace,
tile, repeat, roll, diag/diagonal."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode
from graphcore.testing import check_infer_shape, verify_grad

MODE = Mode(linker="python", optimizer="None")  # the reference semantics, no rewrites
rng = np.random.default_rng(4321)


def run(inputs, outputs, *values):
    return theano.function(inputs, outputs, mode=MODE, on_unused_input="ignore")(*values)


def vg(fn, pt):
    verify_grad(fn, pt, mode=MODE, rng=np.random.default_rng(0))


def tensor_like(value, name="x"):
    return T.tensor(value.dtype, shape=(None,) * value.ndim, name=name)


def value(shape, dtype="float64"):
    v = rng.normal(size=shape) * 3
    return (v > 0) if dtype == "bool" else v.astype(dtype)


def check(inputs, out, values, want):
    got = run(inputs, out, *values)
    want = np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    for static, n in zip(out.type.shape, got.shape):
        assert static is None or static == n
    np.testing.assert_allclose(got, want, rtol=1e-6) if got.dtype.kind in "fc" else \
        np.testing.assert_array_equal(got, want)
    check_infer_shape(out, inputs, values, mode=MODE)


# ------------------------------------------------------------- concatenate
@pytest.mark.parametrize("dtypes", [("float64", "float64"), ("int32", "float32"),
                                    ("int8", "int64"), ("bool", "bool")])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_dtypes_axes(dtypes, axis):
    a, b = value((2, 3), dtypes[0]), value((2, 3), dtypes[1])
    if axis == 0:
        b = np.concatenate([b, b])[:3]
    x, y = tensor_like(a, "x"), tensor_like(b, "y")
    check([x, y], T.concatenate([x, y], axis=axis), [a, b], np.concatenate([a, b], axis=axis))


def test_join_stack_empty_and_static():
    a, b = value((0, 3)), value((2, 3))
    x, y = tensor_like(a, "x"), tensor_like(b, "y")
    check([x, y], T.join(0, x, y), [a, b], np.concatenate([a, b]))
    xs = T.tensor("float64", shape=(2, 3))
    ys = T.tensor("float64", shape=(4, 3))
    assert T.concatenate([xs, ys]).type.shape == (6, 3)
    assert T.concatenate([xs, x]).type.shape == (None, 3)
    assert T.join(0, x) is x
    with pytest.raises(TypeError, match="axis must be a constant"):
        T.join(T.lscalar(), x, y)
    with pytest.raises(ValueError, match="differ in dimension 1"):
        T.concatenate([xs, T.tensor("float64", shape=(2, 4))])
    with pytest.raises(ValueError, match="same number of dimensions"):
        T.concatenate([x, T.vector()])
    with pytest.raises(ValueError, match="0-d|zero-dimensional"):
        T.concatenate([T.scalar(), T.scalar()])
    f = theano.function([x, y], T.concatenate([x, y], axis=1), mode=MODE)
    with pytest.raises(ValueError, match=r"join along axis 1"):
        f(value((2, 3)), value((3, 3)))


def test_concatenate_promotes_and_weak_scalars_keep_dtype():
    x = T.fvector("x")
    out = T.concatenate([x, [1.5, 2.0]])  # a list is a float64 array, as in NumPy
    v = value((3,), "float32")
    check([x], out, [v], np.concatenate([v, [1.5, 2.0]]))
    a = T.fscalar("a")
    s = T.stack([a, 2.0])  # a Python float is weak (NEP 50): float32 stays
    check([a], s, [np.float32(1.0)], np.array([1.0, 2.0], dtype="float32"))


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack(axis):
    vals = [value((2, 3)) for _ in range(3)]
    xs = [tensor_like(v, f"x{i}") for i, v in enumerate(vals)]
    check(xs, T.stack(xs, axis=axis), vals, np.stack(vals, axis=axis))


def test_stack_theano_forms_and_stacklists():
    a, b, c = T.dscalar("a"), T.dscalar("b"), T.dscalar("c")
    check([a, b, c], T.stack(a, b, c), [1.0, 2.0, 3.0], np.array([1.0, 2.0, 3.0]))
    check([a, b, c], T.stack([a, b, c]), [1.0, 2.0, 3.0], np.array([1.0, 2.0, 3.0]))
    d = T.dscalar("d")
    out = T.stacklists([[a, b], [c, d]])
    assert out.type.shape == (2, 2)
    check([a, b, c, d], out, [1.0, 2.0, 3.0, 4.0], np.array([[1.0, 2.0], [3.0, 4.0]]))
    m = [T.matrix(f"m{i}") for i in range(4)]
    vals = [value((2, 3)) for _ in range(4)]
    check(m, T.stacklists([[m[0], m[1]], [m[2], m[3]]]), vals,
          np.array([[vals[0], vals[1]], [vals[2], vals[3]]]))
    with pytest.raises(ValueError, match="same number of dimensions"):
        T.stack([T.vector(), T.matrix()])
    check(m[:2], T.stack(m[:2], 1), vals[:2], np.stack(vals[:2], 1))  # np.stack(arrays, axis)


def test_join_stack_grad():
    a, b = value((2, 3)), value((4, 3))
    vg(lambda x, y: T.concatenate([x, y]) ** 2, [a, b])
    vg(lambda x, y: T.concatenate([x.T, y.T], axis=1) * 3, [a, b])
    vg(lambda x, y, z: T.stack([x, y, z], axis=1), [a, a + 1, a * 2])
    vg(lambda x, y: T.join(1, x, y, x), [a.T, b.T])


# -------------------------------------------------------------------- split
@pytest.mark.parametrize("sizes, axis", [([1, 2, 1], 0), ([0, 4], 0), ([3], 1), ([1, 0, 2], 1),
                                         ([2, 1], -1)])
def test_split(sizes, axis):
    v = value((4, 3))
    if sum(sizes) != v.shape[axis]:
        v = value((4, sum(sizes))) if axis in (1, -1) else value((sum(sizes), 3))
    x = tensor_like(v)
    outs = T.split(x, sizes, len(sizes), axis=axis)
    want = np.split(v, np.cumsum(sizes)[:-1], axis=axis)
    got = run([x], outs, v)
    assert len(got) == len(want)
    for g, w, o in zip(got, want, outs):
        np.testing.assert_array_equal(g, w)
        assert o.type.shape[axis] == w.shape[axis]  # constant sizes give static shapes
    check_infer_shape(outs, [x], [v], mode=MODE)


def test_split_symbolic_sizes_grad_and_errors():
    x = T.matrix("x")
    s = T.lvector("s")
    v = value((5, 2))
    outs = T.split(x, s, 2, axis=0)
    got = run([x, s], outs, v, np.array([2, 3]))
    np.testing.assert_array_equal(got[0], v[:2])
    np.testing.assert_array_equal(got[1], v[2:])
    with pytest.raises(ValueError, match=r"add up to 4, but dimension 0"):
        run([x, s], outs, v, np.array([2, 2]))
    n = T.lscalar("n")
    outs2 = T.split(x, [n, 5 - n], 2, axis=0)
    check_infer_shape(outs2, [x, n], [v, 1], mode=MODE)
    # gradient: each piece weighted differently, one piece unused
    vg(lambda x: T.split(x, [1, 3, 1], 3, axis=0)[0] * 2 + T.split(x, [1, 3, 1], 3)[2], [v])
    vg(lambda x: T.concatenate(T.split(x, [1, 1], 2, axis=1)[::-1], axis=1) ** 2, [v])
    with pytest.raises(ValueError, match="add up to"):
        T.split(T.tensor("float64", shape=(4, 2)), [1, 2], 2)
    with pytest.raises(ValueError, match="n_splits"):
        T.split(x, [1, 2], 3)
    with pytest.raises(TypeError, match="constant"):
        T.split(x, [1, 2], 2, axis=T.lscalar())


# --------------------------------------------------------- alloc and friends
def test_alloc_zeros_ones_full_fill_like():
    n = T.lscalar("n")
    check([n], T.zeros((n, 3)), [2], np.zeros((2, 3)))
    check([n], T.ones((n, 0), dtype="int32"), [2], np.ones((2, 0), dtype="int32"))
    check([n], T.full((n, 2), 7, dtype="int16"), [3], np.full((3, 2), 7, dtype="int16"))
    v = value((2, 3))
    x = tensor_like(v)
    check([x], T.alloc(x, 4, 2, 3), [v], np.broadcast_to(v, (4, 2, 3)))
    check([x], T.zeros_like(x), [v], np.zeros_like(v))
    check([x], T.ones_like(x, dtype="int8"), [v], np.ones_like(v, dtype="int8"))
    check([x], T.full_like(x, 2.5), [v], np.full_like(v, 2.5))
    check([x], T.fill(x, 3.0), [v], np.full_like(v, 3.0))
    vg(lambda x: T.alloc(x, 4, 2, 3), [v])


# ---------------------------------------------------------- eye, tri, ...
@pytest.mark.parametrize("n, m, k", [(3, None, 0), (3, 5, 1), (4, 2, -1), (0, 3, 0), (3, 3, 5)])
@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
def test_eye_tri(n, m, k, dtype):
    check([], T.eye(n, m, k, dtype=dtype), [], np.eye(n, m, k, dtype=dtype))
    check([], T.tri(n, m, k, dtype=dtype), [], np.tri(n, m, k, dtype=dtype))
    N = T.lscalar("N")
    out = T.eye(N, m, k, dtype=dtype)
    check([N], out, [n], np.eye(n, m, k, dtype=dtype))


def test_eye_default_dtype_and_identity_like():
    assert T.eye(3).type.dtype == theano.config.floatX
    assert T.eye(3).type.shape == (3, 3)
    v = value((3, 4), "float32")
    x = tensor_like(v)
    check([x], T.identity_like(x), [v], np.eye(3, 4, dtype="float32"))
    with pytest.raises(TypeError, match="integer scalar"):
        T.eye(2.5)


@pytest.mark.parametrize("k", [0, 1, -1, 3])
@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (2, 3, 4), (0, 2)])
def test_tril_triu(k, shape):
    v = value(shape)
    x = tensor_like(v)
    check([x], T.tril(x, k), [v], np.tril(v, k))
    check([x], T.triu(x, k), [v], np.triu(v, k))
    if v.size:
        vg(lambda x: T.tril(x, k) * 2 + T.triu(x, k) ** 2, [v])


def test_tril_keeps_int_dtype_and_inf():
    v = np.array([[1, 2], [3, 4]], dtype="int8")
    x = tensor_like(v)
    check([x], T.tril(x), [v], np.tril(v))
    w = np.array([[1.0, np.inf], [np.inf, 2.0]])
    y = tensor_like(w)
    check([y], T.triu(y, 1), [w], np.triu(w, 1))  # no inf * 0 = nan


# ------------------------------------------------------------ arange etc.
@pytest.mark.parametrize("args", [(5,), (2, 7), (7, 2, -2), (0, 1, 0.25), (1.5, 4.0), (3, 3),
                                  (5, 1), (-3, 4, 3)])
def test_arange_constant(args):
    want = np.arange(*args)
    out = T.arange(*args)
    if want.dtype == np.float64:
        want = want.astype(theano.config.floatX)
    check([], out, [], want)
    assert out.type.shape == want.shape  # constant arguments: static length


@pytest.mark.parametrize("dtype", ["int32", "int64", "float32", "float64"])
def test_arange_symbolic(dtype):
    start, stop, step = (T.scalar(n, dtype=dtype) for n in ("a", "b", "c"))
    out = T.arange(start, stop, step)
    assert out.type.dtype == dtype
    for vals in [(0, 10, 3), (10, 0, -4), (2, 2, 1), (5, 1, 1)]:
        if dtype.startswith("float"):
            vals = tuple(np.float32(v) if dtype == "float32" else float(v) + 0.5 for v in vals)
        vals = [np.asarray(v, dtype=dtype) for v in vals]
        check([start, stop, step], out, vals, np.arange(*vals, dtype=dtype))
    # the dtype promotes the arguments' dtypes (Theano), Python numbers being weak
    assert T.arange(stop).type.dtype == dtype
    assert T.arange(stop, dtype="int16").type.dtype == "int16"


def test_arange_errors_and_grad():
    with pytest.raises(ValueError, match="step must not be zero"):
        T.arange(0, 5, 0)
    s = T.lscalar("s")
    with pytest.raises(ValueError, match="step must not be zero"):
        run([s], T.arange(0, 5, s), 0)
    a = T.dscalar("a")
    g = T.grad(T.sum(T.arange(a, 5.0, 0.5) ** 2), a)
    av = 1.25
    want = np.sum(2 * np.arange(av, 5.0, 0.5))
    np.testing.assert_allclose(run([a], g, av), want)


@pytest.mark.parametrize("endpoint", [True, False])
@pytest.mark.parametrize("num", [0, 1, 5])
def test_linspace(num, endpoint):
    check([], T.linspace(-1.0, 2.0, num, endpoint=endpoint), [],
          np.linspace(-1.0, 2.0, num, endpoint=endpoint).astype(theano.config.floatX))
    a, b = T.dscalar("a"), T.dscalar("b")
    n = T.lscalar("n")
    check([a, b, n], T.linspace(a, b, n, endpoint=endpoint, dtype="float64"), [0.5, 3.0, num],
          np.linspace(0.5, 3.0, num, endpoint=endpoint))
    if num:
        vg(lambda a, b: T.linspace(a, b, num, endpoint=endpoint, dtype="float64") ** 2,
           [np.asarray(0.5), np.asarray(3.0)])


# ----------------------------------------------------- tile, repeat, roll
@pytest.mark.parametrize("shape, reps", [((2, 3), (2, 2)), ((3,), 3), ((2, 3), (2, 1, 3)),
                                         ((2, 1, 3), (2,)), ((0, 3), (2, 2)), ((2, 3), (0, 1))])
def test_tile(shape, reps):
    v = value(shape)
    x = tensor_like(v)
    check([x], T.tile(x, reps), [v], np.tile(v, reps))
    if v.size and np.prod(reps):
        vg(lambda x: T.tile(x, reps), [v])


def test_tile_symbolic_reps():
    v = value((2, 3))
    x = tensor_like(v)
    r = T.lscalar("r")
    check([x, r], T.tile(x, (r, 2)), [v, 3], np.tile(v, (3, 2)))
    with pytest.raises(ValueError, match="smaller than"):
        T.tile(x, (2, 2, 2), ndim=2)


@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
@pytest.mark.parametrize("repeats, axis", [(2, None), (2, 0), (3, 1), (0, 1), ([1, 0, 2], 1),
                                           ([2, 1], 0), ([2], 1)])
def test_repeat(dtype, repeats, axis):
    v = value((2, 3), dtype)
    x = tensor_like(v)
    check([x], T.repeat(x, repeats, axis=axis), [v], np.repeat(v, repeats, axis=axis))


def test_repeat_symbolic_and_grad():
    v = value((2, 3))
    x = tensor_like(v)
    r = T.lvector("r")
    check([x, r], T.repeat(x, r, axis=1), [v, np.array([0, 2, 3])], np.repeat(v, [0, 2, 3], 1))
    n = T.lscalar("n")
    check([x, n], T.repeat(x, n, axis=0), [v, 3], np.repeat(v, 3, 0))
    vg(lambda x: T.repeat(x, 3, axis=1) * np.arange(9.0), [v])
    vg(lambda x: T.repeat(x, [2, 0, 3], axis=1) * np.arange(5.0), [v])
    vg(lambda x: T.repeat(x, 2) ** 2, [v])
    with pytest.raises(TypeError, match="integer"):
        T.repeat(x, 1.5)


@pytest.mark.parametrize("shift, axis", [(1, None), (-4, None), (1, 0), (2, 1), (-1, 1), (7, 1),
                                         (0, 0), ((1, 2), (0, 1))])
def test_roll(shift, axis):
    v = value((3, 4))
    x = tensor_like(v)
    check([x], T.roll(x, shift, axis), [v], np.roll(v, shift, axis))
    vg(lambda x: T.roll(x, shift, axis) * np.arange(12.0).reshape(3, 4), [v])


def test_roll_symbolic_shift_and_empty():
    v = value((3, 4))
    x = tensor_like(v)
    s = T.lscalar("s")
    for sv in (-5, 0, 3, 9):
        check([x, s], T.roll(x, s, 1), [v, sv], np.roll(v, sv, 1))
    e = value((0, 4))
    check([x, s], T.roll(x, s, 0), [e, 2], np.roll(e, 2, 0))


# ------------------------------------------------------- diag, diagonal
@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 2), (0, 3)])
@pytest.mark.parametrize("k", [0, 1, -2])
def test_diag_diagonal(shape, k):
    v = value(shape)
    x = tensor_like(v)
    check([x], T.diag(x, k), [v], np.diag(v, k))
    check([x], T.diagonal(x, k), [v], np.diagonal(v, k))
    if np.diagonal(v, k).size:
        vg(lambda x: T.diagonal(x, k) ** 2, [v])
    d = value(shape[:1])
    y = tensor_like(d)
    check([y], T.diag(y, k), [d], np.diag(d, k))
    if d.size:
        vg(lambda y: T.diag(y, k) * np.arange(float((d.size + abs(k)) ** 2)).reshape(
            d.size + abs(k), -1), [d])


def test_diagonal_nd_axes():
    v = value((2, 3, 4))
    x = tensor_like(v)
    for off, a1, a2 in [(0, 0, 1), (1, 1, 2), (-1, 2, 0), (0, -1, -2)]:
        check([x], T.diagonal(x, off, a1, a2), [v], np.diagonal(v, off, a1, a2))
        vg(lambda x: T.diagonal(x, off, a1, a2) ** 2, [v])
    with pytest.raises(ValueError, match="distinct"):
        T.diagonal(x, 0, 1, 1)
    with pytest.raises(ValueError, match="vector or a matrix"):
        T.diag(x)


def test_fill_diagonal():
    v = value((3, 4))
    x = tensor_like(v)
    want = v.copy()
    np.fill_diagonal(want, 5.0)
    check([x], T.fill_diagonal(x, 5.0), [v], want)


def test_mgrid_ogrid():
    got = run([], T.mgrid[0:3, 1:6:2], )
    want = np.mgrid[0:3, 1:6:2]
    assert len(got) == 2
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    got = run([], T.ogrid[0:3, 1:6:2])
    for g, w in zip(got, np.ogrid[0:3, 1:6:2]):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)
    n = T.lscalar("n")
    got = run([n], T.mgrid[0:n, 0:2], 4)
    for g, w in zip(got, np.mgrid[0:4, 0:2]):
        np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(run([], T.mgrid[2:5]), np.mgrid[2:5])


def test_alloc_only_broadcasts_dims_typed_length_one():
    x = T.vector("x")
    f = theano.function([x], T.alloc(x, 2, 3), mode=MODE)
    np.testing.assert_array_equal(f(np.arange(3.0)), np.broadcast_to(np.arange(3.0), (2, 3)))
    with pytest.raises(ValueError, match="only dimensions whose type says length 1"):
        f(np.ones(1))
    r = T.tensor("float64", shape=(1,))
    np.testing.assert_array_equal(run([r], T.alloc(r, 2, 3), np.ones(1)), np.ones((2, 3)))


def test_tile_static_shape():
    assert T.tile(T.tensor("float64", shape=(2, 3)), (2, 2)).type.shape == (4, 6)
    assert T.tile(T.tensor("float64", shape=(2, None)), (2, 1, 2)).type.shape == (2, 2, None)


@pytest.mark.parametrize("n, axis", [(1, -1), (2, -1), (1, 0), (3, 1), (0, 0)])
@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
def test_diff(n, axis, dtype):
    v = value((4, 5), dtype)
    x = tensor_like(v)
    check([x], T.diff(x, n, axis), [v], np.diff(v, n, axis))
    if dtype == "float64" and n:
        vg(lambda x: T.diff(x, n, axis) ** 2, [v])


@pytest.mark.parametrize("xs, minlength", [([0, 3, 3, 1], 0), ([], 0), ([], 3), ([2, 2], 5),
                                           ([5], 2)])
def test_bincount(xs, minlength):
    xv = np.array(xs, dtype="int64")
    i = T.lvector("i")
    check([i], T.bincount(i, minlength=minlength), [xv], np.bincount(xv, minlength=minlength))
    w = rng.normal(size=len(xs))
    wx = T.dvector("w")
    # NumPy gives int64 for an empty x even with float weights; the type cannot depend on that
    check([i, wx], T.bincount(i, wx, minlength=minlength), [xv, w],
          np.bincount(xv, w, minlength=minlength).astype("float64"))
    if len(xs):
        vg(lambda w: T.bincount(xv, w, minlength=minlength), [w])
    with pytest.raises(ValueError, match="non-negative"):
        run([i], T.bincount(i), np.array([1, -1]))


def test_to_one_hot():
    from graphcore.tensor.extra_ops import to_one_hot

    y = T.ivector("y")
    yv = np.array([0, 3, 1], dtype="int32")
    out = to_one_hot(y, 4)
    assert out.type.dtype == theano.config.floatX
    check([y], out, [yv], np.eye(4)[yv].astype(theano.config.floatX))
    check([y], to_one_hot(y, 5, dtype="int8"), [yv], np.eye(5, dtype="int8")[yv])


@pytest.mark.parametrize("offset", [0, 1, -2, 5])
def test_fill_diagonal_offset(offset):
    from graphcore.tensor.extra_ops import fill_diagonal_offset

    v = value((3, 4))
    x = tensor_like(v)
    want = v.copy()
    i = np.arange(3)
    j = i + offset
    ok = (j >= 0) & (j < 4)
    want[i[ok], j[ok]] = -1.0
    check([x], fill_diagonal_offset(x, -1.0, offset), [v], want)


def test_unique():
    from graphcore.tensor.extra_ops import unique

    v = np.array([[3, 1, 3], [2, 1, 7]], dtype="int32")
    x = tensor_like(v)
    np.testing.assert_array_equal(run([x], unique(x), v), np.unique(v))
    got = run([x], unique(x, True, True, True), v)
    for g, w in zip(got, np.unique(v, True, True, True)):
        np.testing.assert_array_equal(g, w.reshape(-1))
    assert run([x], unique(x), np.zeros((0, 2), dtype="int32")).shape == (0,)
