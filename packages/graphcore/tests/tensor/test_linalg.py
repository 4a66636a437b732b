"""Products and linear algebra against NumPy/SciPy: dot (every ndim), tensordot, matmul,
batched_dot/tensordot, outer; T.nlinalg and T.slinalg values, shapes and gradients."""

import numpy as np
import pytest
import scipy.linalg

import graphcore as theano
import graphcore.tensor as T
import graphcore.tensor.nlinalg as nlinalg
from graphcore.compile.mode import Mode
from graphcore.tensor import slinalg
from graphcore.testing import check_infer_shape, verify_grad

MODE = Mode(linker="python", optimizer="None")  # the reference semantics, no rewrites
rng = np.random.default_rng(2024)


def run(inputs, outputs, *values):
    return theano.function(inputs, outputs, mode=MODE, on_unused_input="ignore")(*values)


def vg(fn, pt, **kw):
    verify_grad(fn, pt, mode=MODE, rng=np.random.default_rng(0), **kw)


def tensor_like(value, name="x"):
    return T.tensor(value.dtype, shape=(None,) * value.ndim, name=name)


def value(shape, dtype="float64"):
    v = rng.normal(size=shape)
    return v.astype(dtype) if dtype.startswith("float") else (v * 4).astype(dtype)


def tol(dtype):
    return {"float32": 1e-4}.get(np.dtype(dtype).name, 1e-9)


def check(inputs, out, values, want, rtol=None, infer=True):
    outs = out if isinstance(out, (list, tuple)) else [out]
    wants = want if isinstance(want, (list, tuple)) else [want]
    got = run(inputs, list(outs), *values)
    for g, w, o in zip(got, wants, outs):
        w = np.asarray(w)
        assert g.dtype == o.type.dtype
        assert g.shape == w.shape, (g.shape, w.shape)
        for static, n in zip(o.type.shape, g.shape):
            assert static is None or static == n
        np.testing.assert_allclose(g, w, rtol=rtol or tol(g.dtype), atol=rtol or tol(g.dtype))
    if infer:
        check_infer_shape(list(outs), inputs, values, mode=MODE)
    return got


def well_conditioned(n, dtype="float64"):
    return (rng.normal(size=(n, n)) + n * np.eye(n)).astype(dtype)


def spd(n, dtype="float64"):
    a = rng.normal(size=(n, n))
    return (a @ a.T + n * np.eye(n)).astype(dtype)


# --------------------------------------------------------------------- dot
SHAPES = {0: (), 1: (3,), 2: (2, 3), 3: (4, 2, 3), 4: (2, 1, 2, 3)}


def _b_shape(nd_a, nd_b):
    k = SHAPES[nd_a][-1] if nd_a else None
    if nd_b == 0:
        return ()
    if nd_b == 1:
        return (k or 5,)
    base = list(SHAPES[nd_b])
    base[-2] = k or base[-2]
    base[-1] = 5
    return tuple(base)


@pytest.mark.parametrize("nd_a", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("nd_b", [0, 1, 2, 3])
def test_dot_every_ndim(nd_a, nd_b):
    a = value(SHAPES[nd_a])
    b = value(_b_shape(nd_a, nd_b))
    if nd_a == 0 and nd_b:
        a = value(())
    x, y = tensor_like(a, "x"), tensor_like(b, "y")
    out = T.dot(x, y)
    check([x, y], out, [a, b], np.dot(a, b))
    if a.ndim + b.ndim <= 5:
        vg(lambda x, y: T.dot(x, y), [a, b])


@pytest.mark.parametrize("dtypes", [("float32", "float32"), ("int32", "int32"),
                                    ("int64", "float32"), ("float32", "float64")])
def test_dot_dtypes_and_empty(dtypes):
    a, b = value((2, 3), dtypes[0]), value((3, 4), dtypes[1])
    x, y = tensor_like(a, "x"), tensor_like(b, "y")
    want = np.dot(a, b)
    got = check([x, y], T.dot(x, y), [a, b], want)
    assert got[0].dtype == want.dtype
    e1, e2 = value((0, 3)), value((3, 0))
    check([x, y], T.dot(x, y), [e1.astype(dtypes[0]), b], np.dot(e1.astype(dtypes[0]), b))
    check([x, y], T.dot(x, y), [value((2, 0), dtypes[0]), value((0, 4), dtypes[1])],
          np.zeros((2, 4), dtype=want.dtype))
    del e2


def test_dot_errors():
    with pytest.raises(ValueError, match="not aligned"):
        T.dot(T.tensor("float64", shape=(2, 3)), T.tensor("float64", shape=(4, 2)))
    x, y = T.matrix("x"), T.matrix("y")
    f = theano.function([x, y], T.dot(x, y), mode=MODE)
    with pytest.raises(ValueError, match=r"not aligned"):
        f(np.ones((2, 3)), np.ones((4, 2)))


def test_outer():
    a, b = value((3,)), value((4,))
    x, y = tensor_like(a, "x"), tensor_like(b, "y")
    check([x, y], T.outer(x, y), [a, b], np.outer(a, b))
    m = value((2, 2))
    mx = T.matrix("m")
    check([mx, y], T.outer(mx, y), [m, b], np.outer(m, b))
    vg(T.outer, [a, b])


# --------------------------------------------------------------- tensordot
@pytest.mark.parametrize("sa, sb, axes", [
    ((2, 3, 4), (3, 4, 5), 2), ((2, 3, 4), (4, 5), 1), ((2, 3), (4, 5), 0),
    ((2, 3, 4), (4, 2, 6), [[0, 2], [1, 0]]), ((3, 4), (4, 3), ([1, 0], [0, 1])),
    ((2, 3, 4), (5, 3), ([1], [1])), ((2, 0, 4), (0, 5), [[1], [0]]), ((), (2, 3), 0),
    ((2, 3), (3,), [[-1], [-1]]),
])
def test_tensordot(sa, sb, axes):
    a, b = value(sa), value(sb)
    x, y = tensor_like(a, "x"), tensor_like(b, "y")
    out = T.tensordot(x, y, axes)
    check([x, y], out, [a, b], np.tensordot(a, b, axes))
    if a.size and b.size:
        vg(lambda x, y: T.tensordot(x, y, axes), [a, b])


def test_tensordot_static_shape_and_errors():
    x = T.tensor("float64", shape=(2, 3, 4))
    y = T.tensor("float64", shape=(4, 5))
    assert T.tensordot(x, y, 1).type.shape == (2, 3, 5)
    with pytest.raises(ValueError, match="shape-mismatch"):
        T.tensordot(x, y, [[1], [0]])
    with pytest.raises(ValueError, match="different lengths"):
        T.tensordot(x, y, [[1, 2], [0]])
    with pytest.raises(ValueError, match="out of range"):
        T.tensordot(x, y, [[3], [0]])
    with pytest.raises(ValueError, match="cannot contract 3 axes"):
        T.tensordot(x, y, 3)


# ------------------------------------------------------------------ matmul
@pytest.mark.parametrize("sa, sb", [
    ((3,), (3,)), ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((5, 2, 3), (5, 3, 4)),
    ((5, 2, 3), (3, 4)), ((3,), (5, 3, 4)), ((5, 2, 3), (3,)), ((2, 5, 2, 3), (5, 3, 4)),
    ((0, 2, 3), (3, 4)), ((5, 2, 0), (5, 0, 4)),
])
def test_matmul(sa, sb):
    a, b = value(sa), value(sb)
    x, y = tensor_like(a, "x"), tensor_like(b, "y")
    check([x, y], T.matmul(x, y), [a, b], np.matmul(a, b))
    check([x, y], x @ y, [a, b], a @ b)
    if a.size and b.size:
        vg(lambda x, y: x @ y, [a, b])


def test_matmul_broadcast_batch_dims():
    # a batch dimension broadcasts when its type says length 1
    x = T.tensor("float64", shape=(1, None, None, None))
    y = T.tensor("float64", shape=(None, 1, None, None))
    a, b = value((1, 3, 2, 4)), value((5, 1, 4, 2))
    out = T.matmul(x, y)
    assert out.type.shape[:2] == (None, None)
    check([x, y], out, [a, b], np.matmul(a, b))
    vg(lambda x, y: T.matmul(T.addbroadcast(x, 0), T.addbroadcast(y, 1)), [a, b])
    # a batch dimension of unknown length does not broadcast at run time (Theano's rule)
    u, v = T.tensor3("u"), T.tensor3("v")
    f = theano.function([u, v], T.matmul(u, v), mode=MODE)
    with pytest.raises(ValueError, match="batch shapes"):
        f(value((1, 2, 3)), value((4, 3, 2)))
    with pytest.raises(ValueError, match="scalar"):
        T.matmul(T.scalar(), T.matrix())
    with pytest.raises(ValueError, match="not aligned"):
        T.matmul(T.tensor("float64", shape=(2, 2, 3)), T.tensor("float64", shape=(2, 4, 2)))


@pytest.mark.parametrize("sa, sb", [((4, 3), (4, 3)), ((4, 2, 3), (4, 3, 5)), ((4, 3), (4, 3, 5)),
                                    ((4, 2, 3), (4, 3)), ((4,), (4, 3)), ((4, 2, 3), (4,)),
                                    ((4, 2, 3, 2), (4, 2, 5))])
def test_batched_dot(sa, sb):
    a, b = value(sa), value(sb)
    x, y = tensor_like(a, "x"), tensor_like(b, "y")
    want = np.array([np.dot(a[i], b[i]) for i in range(a.shape[0])])
    check([x, y], T.batched_dot(x, y), [a, b], want)
    vg(T.batched_dot, [a, b])


def test_batched_tensordot():
    a, b = value((3, 2, 4, 5)), value((3, 5, 4, 2))
    x, y = tensor_like(a, "x"), tensor_like(b, "y")
    axes = [[2, 3], [2, 1]]
    want = np.array([np.tensordot(a[i], b[i], [[1, 2], [1, 0]]) for i in range(3)])
    check([x, y], T.batched_tensordot(x, y, axes), [a, b], want)
    vg(lambda x, y: T.batched_tensordot(x, y, axes), [a, b])
    c = value((3, 5, 2))
    want2 = np.array([np.tensordot(a[i], c[i], 1) for i in range(3)])
    z = tensor_like(c, "z")
    check([x, z], T.batched_tensordot(x, z, 1), [a, c], want2)
    with pytest.raises(ValueError, match="batch"):
        T.batched_tensordot(x, y, [[0], [0]])
    with pytest.raises(ValueError, match="batch sizes differ"):
        T.batched_dot(T.tensor("float64", shape=(3, 2)), T.tensor("float64", shape=(4, 2)))


# ----------------------------------------------------------------- nlinalg
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_matrix_inverse_det_slogdet(dtype):
    a = well_conditioned(4, dtype)
    x = tensor_like(a)
    check([x], nlinalg.matrix_inverse(x), [a], np.linalg.inv(a), rtol=1e-4 if dtype == "float32" else None)
    check([x], nlinalg.det(x), [a], np.linalg.det(a), rtol=1e-4 if dtype == "float32" else None)
    sign, logdet = nlinalg.slogdet(x)
    check([x], [sign, logdet], [a], list(np.linalg.slogdet(a)), rtol=1e-4 if dtype == "float32" else None)
    assert nlinalg.det(x).type.dtype == dtype
    a64 = a.astype("float64")
    vg(nlinalg.matrix_inverse, [a64])
    vg(nlinalg.det, [a64])
    vg(lambda x: nlinalg.slogdet(x)[1], [a64])


def test_integer_input_becomes_float64_and_errors():
    x = T.imatrix("x")
    a = np.array([[2, 1], [1, 3]], dtype="int32")
    check([x], nlinalg.matrix_inverse(x), [a], np.linalg.inv(a))
    with pytest.raises(TypeError, match="expected a matrix"):
        nlinalg.det(T.vector())
    with pytest.raises(ValueError, match="square"):
        nlinalg.matrix_inverse(T.tensor("float64", shape=(2, 3)))
    m = T.matrix("m")
    f = theano.function([m], nlinalg.det(m), mode=MODE)
    with pytest.raises(ValueError, match=r"square matrix, got shape \(2, 3\)"):
        f(np.ones((2, 3)))
    g = theano.function([m], nlinalg.matrix_inverse(m), mode=MODE)
    with pytest.raises(np.linalg.LinAlgError):
        g(np.zeros((2, 2)))


def test_eig_eigh():
    a = well_conditioned(4)
    x = tensor_like(a)
    w, v = nlinalg.eig(x)
    assert w.type.dtype == "complex128"
    got_w, got_v = run([x], [w, v], a)
    want_w, want_v = np.linalg.eig(a)
    np.testing.assert_allclose(got_w, want_w)
    np.testing.assert_allclose(a @ got_v, got_v * got_w, atol=1e-9)
    s = spd(5)
    for uplo in ("L", "U"):
        # only the triangle UPLO is read: garbage in the other one changes nothing
        junk = np.tril(s) + np.triu(rng.normal(size=(5, 5)), 1) if uplo == "L" else \
            np.triu(s) + np.tril(rng.normal(size=(5, 5)), -1)
        w, v = nlinalg.eigh(x, uplo)
        got_w, got_v = run([x], [w, v], junk)
        want_w, want_v = np.linalg.eigh(s)
        np.testing.assert_allclose(got_w, want_w)
        np.testing.assert_allclose(np.abs(got_v), np.abs(want_v), atol=1e-9)
        check_infer_shape([w, v], [x], [s], mode=MODE)
        vg(lambda x: nlinalg.eigh(x, uplo)[0], [s])
        # sign-invariant functions of the eigenvectors
        vg(lambda x: nlinalg.eigh(x, uplo)[1] ** 2, [s])
        vg(lambda x: T.dot(nlinalg.eigh(x, uplo)[1] * T.arange(5.0), nlinalg.eigh(x, uplo)[1].T),
           [s])


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3), (0, 2)])
@pytest.mark.parametrize("full", [True, False])
def test_svd(shape, full):
    a = value(shape)
    x = tensor_like(a)
    u, s, vt = nlinalg.svd(x, full_matrices=full)
    got = run([x], [u, s, vt], a)
    want = np.linalg.svd(a, full_matrices=full)
    for g, w in zip(got, want):
        assert g.shape == w.shape
    np.testing.assert_allclose(got[1], want[1])
    k = min(shape)
    np.testing.assert_allclose(got[0][:, :k] * got[1] @ got[2][:k], a, atol=1e-9)
    check_infer_shape([u, s, vt], [x], [a], mode=MODE)
    check([x], nlinalg.svd(x, compute_uv=False), [a], np.linalg.svd(a, compute_uv=False))


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3)])
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr(shape, mode):
    a = value(shape)
    x = tensor_like(a)
    out = nlinalg.qr(x, mode)
    want = np.linalg.qr(a, mode=mode)
    check([x], list(out) if mode != "r" else out, [a], list(want) if mode != "r" else want)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3)])
def test_pinv(shape):
    a = value(shape)
    x = tensor_like(a)
    check([x], nlinalg.pinv(x), [a], np.linalg.pinv(a))
    vg(nlinalg.pinv, [a])
    s = spd(3)
    check([x], nlinalg.pinv(x, hermitian=True), [s], np.linalg.pinv(s, hermitian=True))


def test_trace_matrix_dot_matrix_power_norm():
    a = value((3, 4))
    x = tensor_like(a)
    check([x], nlinalg.trace(x), [a], np.trace(a))
    check([x], T.trace(x, 1), [a], np.trace(a, 1))
    vg(nlinalg.trace, [a])
    b, c = value((4, 2)), value((2, 5))
    y, z = tensor_like(b, "y"), tensor_like(c, "z")
    check([x, y, z], nlinalg.matrix_dot(x, y, z), [a, b, c], a @ b @ c)
    m = well_conditioned(3)
    for n in (0, 1, 2, 5, -2):
        check([x], nlinalg.matrix_power(x, n), [m], np.linalg.matrix_power(m, n))
    v = value((5,))
    vx = tensor_like(v, "v")
    for ord_ in (None, 1, 2, np.inf, -np.inf, 3, 0):
        check([vx], nlinalg.norm(vx, ord_), [v], np.linalg.norm(v, ord_))
    for ord_ in (None, "fro", 1, -1, np.inf, -np.inf, "nuc", 2, -2):
        check([x], nlinalg.norm(x, ord_), [a], np.linalg.norm(a, ord_), infer=False)


# ----------------------------------------------------------------- slinalg
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("lower", [True, False])
def test_cholesky(dtype, lower):
    s = spd(4, dtype)
    x = tensor_like(s)
    check([x], slinalg.cholesky(x, lower=lower), [s], scipy.linalg.cholesky(s, lower=lower),
          rtol=1e-4 if dtype == "float32" else None)
    vg(lambda x: slinalg.cholesky(x, lower=lower), [s.astype("float64")])
    # a gradient through a symmetric parametrisation, against finite differences
    vg(lambda b: slinalg.cholesky(T.dot(b, b.T) + 4 * T.eye(4), lower=lower),
       [value((4, 4))])


def test_cholesky_not_positive_definite():
    x = T.matrix("x")
    bad = -np.eye(3)
    with pytest.raises(np.linalg.LinAlgError):
        run([x], slinalg.cholesky(x), bad)
    assert np.all(np.isnan(run([x], slinalg.cholesky(x, on_error="nan"), bad)))
    check([x], slinalg.cholesky(x), [np.zeros((0, 0))], np.zeros((0, 0)))


SOLVE_CASES = [
    ({}, "gen"), ({"assume_a": "sym"}, "spd"), ({"assume_a": "pos"}, "spd"),
    ({"assume_a": "pos", "lower": True}, "spd"), ({"A_structure": "general"}, "gen"),
    ({"A_structure": "symmetric"}, "spd"), ({"A_structure": "lower_triangular"}, "lower"),
    ({"A_structure": "upper_triangular"}, "upper"),
]


def _matrix_for(kind, n=4):
    a = well_conditioned(n)
    return {"gen": a, "spd": spd(n), "lower": np.tril(a), "upper": np.triu(a)}[kind]


@pytest.mark.parametrize("kw, kind", SOLVE_CASES)
@pytest.mark.parametrize("b_shape", [(4,), (4, 2)])
def test_solve(kw, kind, b_shape):
    a, b = _matrix_for(kind), value(b_shape)
    x, y = tensor_like(a, "a"), tensor_like(b, "b")
    check([x, y], slinalg.solve(x, y, **kw), [a, b], np.linalg.solve(a, b))
    vg(lambda x, y: slinalg.solve(x, y, **kw), [a, b])


def test_solve_theano_objects_dtypes_errors():
    a, b = _matrix_for("lower"), value((4, 3))
    x, y = tensor_like(a, "a"), tensor_like(b, "b")
    check([x, y], slinalg.solve_lower_triangular(x, y), [a, b], scipy.linalg.solve_triangular(a, b, lower=True))
    u = np.triu(well_conditioned(4))
    check([x, y], slinalg.solve_upper_triangular(x, y), [u, b], np.linalg.solve(u, b))
    s = spd(4)
    check([x, y], slinalg.solve_symmetric(x, y), [s, b], np.linalg.solve(s, b))
    f32 = T.fmatrix("f")
    assert slinalg.solve(f32, T.fmatrix()).type.dtype == "float32"
    assert slinalg.solve(f32, T.dmatrix()).type.dtype == "float64"
    assert slinalg.solve(T.imatrix(), T.ivector()).type.dtype == "float64"
    with pytest.raises(ValueError, match="assume_a"):
        slinalg.solve(x, y, assume_a="banded")
    with pytest.raises(ValueError, match="do not match"):
        slinalg.solve(T.tensor("float64", shape=(3, 3)), T.tensor("float64", shape=(4,)))
    with pytest.raises(TypeError, match="vector or a matrix"):
        slinalg.solve(x, T.tensor3())
    f = theano.function([x, y], slinalg.solve(x, y), mode=MODE)
    with pytest.raises(ValueError, match=r"a has shape \(3, 3\) but b has shape \(4, 3\)"):
        f(np.eye(3), b)
    check([x, y], slinalg.solve(x, y), [np.zeros((0, 0)), np.zeros((0, 2))], np.zeros((0, 2)))


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("trans", [0, 1, "T"])
@pytest.mark.parametrize("unit_diagonal", [False, True])
@pytest.mark.parametrize("b_shape", [(4,), (4, 3)])
def test_solve_triangular(lower, trans, unit_diagonal, b_shape):
    a = _matrix_for("lower" if lower else "upper")
    b = value(b_shape)
    x, y = tensor_like(a, "a"), tensor_like(b, "b")
    kw = dict(lower=lower, trans=trans, unit_diagonal=unit_diagonal)
    check([x, y], slinalg.solve_triangular(x, y, **kw), [a, b],
          scipy.linalg.solve_triangular(a, b, **kw))
    vg(lambda x, y: slinalg.solve_triangular(x, y, **kw), [a, b])


def test_eigvalsh():
    s = spd(4)
    x = tensor_like(s)
    check([x], slinalg.eigvalsh(x), [s], scipy.linalg.eigvalsh(s))
    vg(slinalg.eigvalsh, [s])
    vg(lambda x: slinalg.eigvalsh(x, lower=False), [s])
    b = np.eye(4) + 0.1 * spd(4) / 10
    y = tensor_like(b, "b")
    check([x, y], slinalg.eigvalsh(x, y), [s, b], scipy.linalg.eigh(s, b, eigvals_only=True))
    vg(slinalg.eigvalsh, [s, b])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_expm(dtype):
    a = (value((4, 4)) * 0.5).astype(dtype)
    x = tensor_like(a)
    check([x], slinalg.expm(x), [a], scipy.linalg.expm(a), rtol=1e-4 if dtype == "float32" else None)
    vg(slinalg.expm, [a.astype("float64")])
    check([x], slinalg.expm(x), [np.zeros((0, 0), dtype=dtype)], np.zeros((0, 0), dtype=dtype))


def test_namespaces():
    import graphcore.tensor.nlinalg as nl

    assert T.nlinalg is nl
    assert T.slinalg.cholesky is slinalg.cholesky
    assert T.nlinalg.matrix_inverse is nl.matrix_inverse


def test_tensordot_runtime_mismatch_is_an_error():
    # (2, 3) against (3, 2): the same number of elements, so only a real check catches it
    x, z = T.tensor3("x"), T.tensor3("z")
    f = theano.function([x, z], T.tensordot(x, z, 2), mode=MODE)
    with pytest.raises(ValueError, match="shape-mismatch for sum: axis 1"):
        f(np.ones((4, 2, 3)), np.ones((3, 2, 5)))
    g = theano.function([x, z], T.batched_tensordot(x, z, [[2], [1]]), mode=MODE)
    with pytest.raises(ValueError, match="batched_tensordot: shape-mismatch"):
        g(np.ones((2, 2, 3)), np.ones((2, 4, 5)))
    with pytest.raises(ValueError, match="batched_tensordot: shape-mismatch"):
        g(np.ones((2, 2, 3)), np.ones((3, 3, 5)))


@pytest.mark.parametrize("sa, sb", [((2, 3), (4, 5)), ((3,), (4, 5)), ((2, 3), (4,)), ((3,), (2,)),
                                    ((0, 2), (3, 1))])
def test_kron(sa, sb):
    a, b = value(sa), value(sb)
    x, y = tensor_like(a, "x"), tensor_like(b, "y")
    check([x, y], slinalg.kron(x, y), [a, b], np.kron(a, b))
    if a.size and b.size:
        vg(slinalg.kron, [a, b])


def test_lstsq_tensorinv_tensorsolve():
    m, y = value((5, 3)), value((5,))
    x, v = tensor_like(m, "m"), tensor_like(y, "y")
    out = nlinalg.lstsq(x, v)
    assert len(out) == 4
    want = np.linalg.lstsq(m, y)
    got = run([x, v], out, m, y)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-9)
    check([x, v], out[0], [m, y], want[0])
    vg(lambda a, b: nlinalg.lstsq(a, b)[0], [m, y])
    wide, y3 = value((2, 4)), value((2, 3))
    bm = T.matrix("bm")
    got = run([x, bm], nlinalg.lstsq(x, bm), wide, y3)
    for g, w in zip(got, np.linalg.lstsq(wide, y3)):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)
    t = (value((6, 6)) + 6 * np.eye(6)).reshape(2, 3, 2, 3)
    tx = tensor_like(t, "t")
    check([tx], nlinalg.tensorinv(tx), [t], np.linalg.tensorinv(t))
    b = value((2, 3))
    bx = tensor_like(b, "b")
    check([tx, bx], nlinalg.tensorsolve(tx, bx), [t, b], np.linalg.tensorsolve(t, b))
    vg(lambda t: nlinalg.tensorinv(t), [t])


# ------------------------------------------------------------ properties
from hypothesis import given, settings, strategies as st  # noqa: E402


@st.composite
def _matmul_case(draw):
    nb = draw(st.integers(0, 3))
    batch = [draw(st.integers(1, 3)) for _ in range(nb)]
    ba = [b if draw(st.booleans()) else 1 for b in batch]
    bb = [b if draw(st.booleans()) else 1 for b in batch]
    ba = ba[draw(st.integers(0, nb)):]  # fewer leading dims on one side
    n, k, m = (draw(st.integers(0, 3)) for _ in range(3))
    return tuple(ba) + (n, k), tuple(bb) + (k, m)


@settings(max_examples=40, deadline=None)
@given(_matmul_case())
def test_matmul_broadcast_property(case):
    sa, sb = case
    a, b = value(sa), value(sb)
    # length-1 batch dims are typed as such, so they broadcast
    x = T.tensor("float64", shape=tuple(1 if s == 1 else None for s in sa[:-2]) + (None, None))
    y = T.tensor("float64", shape=tuple(1 if s == 1 else None for s in sb[:-2]) + (None, None))
    got = run([x, y], T.matmul(x, y), a, b)
    want = np.matmul(a, b)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=1, max_size=4), st.data())
def test_tensordot_property(shape_a, data):
    n = data.draw(st.integers(0, len(shape_a)))
    ax_a = data.draw(st.permutations(range(len(shape_a))))[:n]
    extra = data.draw(st.lists(st.integers(1, 3), max_size=2))
    shape_b = [shape_a[i] for i in ax_a] + extra
    perm = data.draw(st.permutations(range(len(shape_b))))
    shape_b = [shape_b[p] for p in perm]
    ax_b = [perm.index(i) for i in range(n)]
    a, b = value(tuple(shape_a)), value(tuple(shape_b))
    x, y = tensor_like(a, "x"), tensor_like(b, "y")
    got = run([x, y], T.tensordot(x, y, [ax_a, ax_b]), a, b)
    np.testing.assert_allclose(got, np.tensordot(a, b, [ax_a, ax_b]), atol=1e-12)


def test_inverse_det_slogdet_of_stacks():
    a = np.stack([well_conditioned(3) for _ in range(4)]).reshape(2, 2, 3, 3)
    x = tensor_like(a)
    check([x], nlinalg.matrix_inverse(x), [a], np.linalg.inv(a))
    check([x], nlinalg.det(x), [a], np.linalg.det(a))
    check([x], list(nlinalg.slogdet(x)), [a], list(np.linalg.slogdet(a)))
    vg(nlinalg.matrix_inverse, [a[0]])
    vg(nlinalg.det, [a[0]])
    vg(lambda x: nlinalg.slogdet(x)[1], [a])
    assert nlinalg.det(T.tensor("float64", shape=(5, None, None))).type.shape == (5,)


def test_second_order_gradients():
    a, b = well_conditioned(3), value((3, 2))
    vg(lambda x: T.grad(nlinalg.det(x), x), [a])
    vg(lambda x: T.grad((nlinalg.matrix_inverse(x) ** 2).sum(), x), [a])
    vg(lambda x, y: T.grad((slinalg.solve(x, y) ** 2).sum(), x), [a, b])
    vg(lambda x, y: T.grad((slinalg.solve_triangular(x, y, lower=True) ** 2).sum(), y),
       [np.tril(a), b])
    vg(lambda x: T.grad((T.tensordot(x, x, [[0], [0]]) ** 2).sum(), x), [b])
    vg(lambda x, y: T.grad((T.matmul(x, y) ** 2).sum(), y), [value((2, 3, 3)), value((2, 3, 2))])


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("b_shape", [(4,), (4, 2)])
def test_cho_solve(lower, b_shape):
    s, b = spd(4), value(b_shape)
    c = scipy.linalg.cholesky(s, lower=lower)
    x, y = tensor_like(c, "c"), tensor_like(b, "b")
    check([x, y], slinalg.cho_solve((x, lower), y), [c, b], scipy.linalg.cho_solve((c, lower), b))
    # end to end: solve through the factor of a symmetric positive-definite matrix
    vg(lambda a, y: slinalg.cho_solve((slinalg.cholesky(a, lower=lower), lower), y), [s, b])


def test_block_diag():
    a, b, c = value((2, 3)), value((1, 1)), value((3, 2))
    xs = [tensor_like(v, n) for v, n in ((a, "a"), (b, "b"), (c, "c"))]
    check(xs, slinalg.block_diag(*xs), [a, b, c], scipy.linalg.block_diag(a, b, c))
    vg(lambda *m: slinalg.block_diag(*m), [a, b, c])
    i = T.imatrix("i")
    assert slinalg.block_diag(i, T.fmatrix()).type.dtype == "float64"
    e = np.zeros((0, 2))
    check([xs[0], xs[1]], slinalg.block_diag(xs[0], xs[1]), [e, b], scipy.linalg.block_diag(e, b))
