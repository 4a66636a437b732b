"""searchsorted, unravel_index, ravel_multi_index, bartlett, compress and the small Theano helpers
(horizontal_stack, vertical_stack, get_vector_length, extract_constant) against NumPy."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode
from graphcore.tensor import extra_ops
from graphcore.testing import check_infer_shape, verify_grad

MODE = Mode(linker="python", optimizer="None")  # the reference semantics, no rewrites
rng = np.random.default_rng(77)


def run(inputs, outputs, *values):
    return theano.function(inputs, outputs, mode=MODE, on_unused_input="ignore")(*values)


def same(got, want):
    want = np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------- searchsorted
@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_matches_numpy(side):
    x, v = T.dvector("x"), T.dmatrix("v")
    xv = np.sort(rng.integers(0, 6, 9)).astype("float64")  # ties, so left and right differ
    vv = rng.integers(-1, 8, (3, 4)).astype("float64")
    out = T.searchsorted(x, v, side=side)
    assert out.type.dtype == "int64" and out.type.ndim == 2
    same(run([x, v], out, xv, vv), np.searchsorted(xv, vv, side=side).astype("int64"))
    check_infer_shape(lambda a, b: T.searchsorted(a, b, side=side), [x, v], [xv, vv], mode=MODE)


def test_searchsorted_with_sorter_and_scalar_v():
    x, v, s = T.dvector("x"), T.dscalar("v"), T.lvector("s")
    xv = rng.normal(size=7)
    sv = np.argsort(xv)
    got = run([x, v, s], extra_ops.searchsorted(x, v, sorter=s), xv, 0.1, sv)
    assert got.shape == () and int(got) == np.searchsorted(xv, 0.1, sorter=sv)
    with pytest.raises(ValueError, match="sorter of shape"):
        run([x, v, s], T.searchsorted(x, v, sorter=s), xv, 0.1, sv[:3])


def test_searchsorted_errors_and_zero_gradient():
    with pytest.raises(TypeError, match="searchsorted: x must be a vector"):
        T.searchsorted(T.dmatrix(), T.dvector())
    with pytest.raises(ValueError, match="side must be 'left' or 'right'"):
        T.searchsorted(T.dvector(), T.dvector(), side="middle")
    with pytest.raises(TypeError, match="sorter must be an integer vector"):
        T.searchsorted(T.dvector(), T.dvector(), sorter=T.dvector())
    # piecewise constant: the gradient is zero (Theano's choice), and finite differences agree
    verify_grad(lambda a, b: T.searchsorted(a, b) * 1.0, [np.array([0.0, 1.0, 2.0]),
                                                          np.array([0.5, 1.5])],
                mode=MODE, rng=np.random.default_rng(0))
    x = T.dvector()
    g = T.grad(T.sum(T.searchsorted(x, x * 2) * x), x)
    xv = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(run([x], g, xv), np.searchsorted(xv, 2 * xv))


# ----------------------------------------------------------- unravel_index
@pytest.mark.parametrize("order", ["C", "F"])
def test_unravel_index_matches_numpy(order):
    i = T.lmatrix("i")
    iv = rng.integers(0, 60, (2, 5))
    outs = T.unravel_index(i, (3, 4, 5), order=order)
    assert isinstance(outs, tuple) and len(outs) == 3
    got = run([i], list(outs), iv)
    for g, w in zip(got, np.unravel_index(iv, (3, 4, 5), order=order)):
        same(g, w.astype("int64"))
    check_infer_shape(lambda a: list(T.unravel_index(a, (3, 4, 5), order=order)), [i], [iv],
                      mode=MODE)


def test_unravel_index_symbolic_dims_and_errors():
    i, d = T.ivector("i"), T.lvector("d")
    dims = T.specify_shape(d, (2,))
    got = run([i, d], list(T.unravel_index(i, dims)), np.array([0, 7], "int32"), np.array([3, 4]))
    same(got[0], np.array([0, 1])), same(got[1], np.array([0, 3]))
    with pytest.raises(ValueError, match="length of dims must be known"):
        T.unravel_index(i, d)
    with pytest.raises(TypeError, match="indices must be integers"):
        T.unravel_index(T.dvector(), (2, 3))
    with pytest.raises(ValueError):  # NumPy's out-of-bounds error, at run time
        run([i], list(T.unravel_index(i, (2, 3))), np.array([6], "int32"))


# -------------------------------------------------------- ravel_multi_index
@pytest.mark.parametrize("mode,order", [("raise", "C"), ("wrap", "F"), ("clip", "C"),
                                        (("clip", "wrap"), "C")])
def test_ravel_multi_index_matches_numpy(mode, order):
    a, b = T.lvector("a"), T.lmatrix("b")  # broadcast together
    av = rng.integers(0, 3, 4)
    bv = rng.integers(0, 5, (2, 1)) if mode == "raise" else rng.integers(-6, 9, (2, 1))
    out = T.ravel_multi_index((a, b), (3, 5), mode=mode, order=order)
    assert out.type.dtype == "int64" and out.type.ndim == 2
    want = np.ravel_multi_index((av, bv), (3, 5), mode=mode, order=order)
    same(run([a, b], out, av, bv), want.astype("int64"))
    check_infer_shape(lambda x, y: T.ravel_multi_index((x, y), (3, 5), mode=mode, order=order),
                      [a, b], [av, bv], mode=MODE)


def test_ravel_multi_index_roundtrip_and_errors():
    i = T.lvector()
    flat = T.ravel_multi_index(T.unravel_index(i, (4, 6)), (4, 6))
    same(run([i], flat, np.arange(24)), np.arange(24))
    with pytest.raises(ValueError, match="2 index arrays for 3 dims"):
        T.ravel_multi_index((i, i), (2, 3, 4))
    with pytest.raises(TypeError, match="multi_index must be a tuple"):
        T.ravel_multi_index(i, (2,))
    with pytest.raises(TypeError, match=r"multi_index\[1\] must be integers"):
        T.ravel_multi_index((i, T.dvector()), (2, 3))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        T.ravel_multi_index((T.tensor("int64", shape=(3,)), T.tensor("int64", shape=(4,))), (2, 3))
    with pytest.raises(ValueError):  # out of bounds with mode='raise': NumPy's error
        run([i], T.ravel_multi_index((i, i), (2, 3)), np.array([5]))


# ---------------------------------------------------------------- bartlett
@pytest.mark.parametrize("m", [0, 1, 2, 5, 8, -3])
def test_bartlett_matches_numpy(m):
    M = T.lscalar("M")
    out = T.bartlett(M)
    got = run([M], out, m)
    same(got, np.bartlett(m).astype("float64"))
    check_infer_shape(T.bartlett, [M], [m], mode=MODE)
    assert T.bartlett(m).type.shape == (max(m, 0),)  # a constant M gives a static length


def test_bartlett_errors_and_gradient():
    with pytest.raises(TypeError, match="bartlett: M must be an integer scalar"):
        T.bartlett(T.dscalar())
    with pytest.raises(TypeError, match="bartlett: M must be an integer scalar"):
        T.bartlett(T.lvector())
    M = T.lscalar()
    with pytest.raises(Exception, match="(?i)disconnected|not part"):
        T.grad(T.sum(T.bartlett(M)), M)


# ---------------------------------------------------------------- compress
def test_compress_matches_numpy_and_has_a_gradient():
    x, c = T.dmatrix("x"), T.bvector("c")
    xv = rng.normal(size=(3, 4))
    for axis, cv in [(0, [1, 0, 1]), (1, [0, 1, 1]), (None, [1, 0, 0, 1, 1])]:
        cv = np.array(cv, dtype="int8")
        same(run([x, c], extra_ops.compress(c, x, axis=axis), xv, cv),
             np.compress(cv, xv, axis=axis))
    cv = np.array([1, 0, 1], dtype="int8")
    verify_grad(lambda a: extra_ops.compress(cv, a, axis=0), [xv], mode=MODE,
                rng=np.random.default_rng(0))


# ------------------------------------------------------- small Theano helpers
def test_horizontal_and_vertical_stack():
    a, b = T.dmatrix("a"), T.dmatrix("b")
    av, bv = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    same(run([a, b], T.horizontal_stack(a, b), av, bv), np.hstack([av, bv]))
    same(run([a, b], T.vertical_stack(a, b, a), av, bv), np.vstack([av, bv, av]))
    verify_grad(T.horizontal_stack, [av, bv], mode=MODE, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="horizontal_stack: argument 1 must be a matrix"):
        T.horizontal_stack(a, T.dvector())
    with pytest.raises(ValueError, match="at least two"):
        T.vertical_stack(a)


def test_get_vector_length():
    assert T.get_vector_length(T.as_tensor_variable([1, 2, 3])) == 3
    assert T.get_vector_length(T.shape(T.dtensor3())) == 3
    assert T.get_vector_length(T.tensor("float64", shape=(4,))) == 4
    with pytest.raises(ValueError, match="not known until it runs"):
        T.get_vector_length(T.dvector("v"))
    with pytest.raises(TypeError, match="expected a vector"):
        T.get_vector_length(T.dmatrix())


def test_extract_constant():
    c = T.extract_constant(T.cast(T.constant(3), "float32"))
    assert isinstance(c, T.TensorConstant) and c.type.dtype == "float32" and c.data == 3
    x = T.dscalar()
    assert T.extract_constant(x) is x


def test_theano_names_on_T():
    for name in ["searchsorted", "unravel_index", "ravel_multi_index", "bartlett",
                 "fill_diagonal_offset", "to_one_hot", "unique", "horizontal_stack",
                 "vertical_stack", "get_vector_length", "extract_constant"]:
        assert callable(getattr(T, name)), name
    for name in ["searchsorted", "unravel_index", "ravel_multi_index", "bartlett", "compress"]:
        assert callable(getattr(extra_ops, name)), name


# ------------------------------------------------------------------ choose
@pytest.mark.parametrize("mode", ["raise", "wrap", "clip"])
def test_choose_list_of_choices_matches_numpy(mode):
    a, x, y = T.lmatrix("a"), T.dvector("x"), T.fmatrix("y")
    av = rng.integers(0, 3, (2, 4)) if mode == "raise" else rng.integers(-4, 7, (2, 4))
    xv, yv = rng.normal(size=4), rng.normal(size=(2, 4)).astype("float32")
    out = T.choose(a, [x, y, x * 2], mode=mode)
    want = np.choose(av, [xv, yv, xv * 2], mode=mode)
    got = run([a, x, y], out, av, xv, yv)
    assert got.dtype == want.dtype == out.type.dtype
    np.testing.assert_allclose(got, want)
    check_infer_shape(lambda i, p, q: T.choose(i, [p, q, p * 2], mode=mode), [a, x, y],
                      [av, xv, yv], mode=MODE)
    verify_grad(lambda p, q: T.choose(av, [p, q, p * 2], mode=mode), [xv, yv.astype("float64")],
                mode=MODE, rng=np.random.default_rng(0))


def test_choose_stacked_choices_and_broadcasting():
    a, c = T.lmatrix("a"), T.dtensor3("c")
    av, cv = rng.integers(0, 3, (2, 1)), rng.normal(size=(3, 1, 5))  # broadcast to (2, 5)
    np.testing.assert_allclose(run([a, c], T.choose(a, c), av, cv), np.choose(av, cv))
    check_infer_shape(T.choose, [a, c], [av, cv], mode=MODE)
    verify_grad(lambda q: T.choose(av, q), [cv], mode=MODE, rng=np.random.default_rng(0))
    many = rng.normal(size=(70, 3))  # more choices than np.choose accepts
    idx = rng.integers(0, 70, 3)
    m = T.dmatrix()
    np.testing.assert_allclose(run([m], T.choose(idx, m), many), many[idx, np.arange(3)])


def test_choose_errors():
    a = T.lvector()
    with pytest.raises(TypeError, match="choose: a must be integers"):
        T.choose(T.dvector(), [T.dvector()])
    with pytest.raises(ValueError, match="mode must be"):
        T.choose(a, [a], mode="nearest")
    with pytest.raises(ValueError, match="cannot be broadcast"):
        T.choose(T.tensor("int64", shape=(3,)), [T.tensor("float64", shape=(4,))])
    with pytest.raises(ValueError, match="out= is not supported"):
        T.choose(a, [a], out=a)
    x = T.dvector()
    with pytest.raises(ValueError, match="out of range for 2 choices"):
        run([a, x], T.choose(a, [x, x]), np.array([0, 2]), np.zeros(2))


def test_divmod_matches_numpy():
    x, y = T.lvector("x"), T.dvector("y")
    xv, yv = np.array([7, -7, 7, 0]), np.array([2.0, 2.0, -2.5, 3.0])
    q, r = T.divmod(x, y)
    got_q, got_r = run([x, y], [q, r], xv, yv)
    want_q, want_r = np.divmod(xv, yv)
    same(got_q, want_q), same(got_r, want_r)
