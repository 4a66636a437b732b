"""The elementwise op catalogue against NumPy/SciPy: values, dtypes, broadcasting, empty
shapes, errors and gradients (finite differences)."""

import numpy as np
import pytest
from scipy import special as sp

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode
from graphcore.gradient import verify_grad

MODE = Mode(linker="python", optimizer=None)  # the reference semantics (each op's perform)
RNG = np.random.default_rng(0)


def run(inputs, outputs, *values):
    return theano.function(inputs, outputs, mode=MODE)(*values)


def tol(dtype):
    return {"float16": 1e-2, "float32": 2e-5, "complex64": 2e-5}.get(np.dtype(dtype).name, 1e-11)


def sample(lo, hi, shape, dtype):
    return RNG.uniform(lo, hi, size=shape).astype(dtype)


# name: (graphcore function, reference, domain, differentiable)
UNARY_FLOAT = {
    "exp": (T.exp, np.exp, (-3, 3), True),
    "exp2": (T.exp2, np.exp2, (-3, 3), True),
    "expm1": (T.expm1, np.expm1, (-3, 3), True),
    "log": (T.log, np.log, (0.2, 5), True),
    "log2": (T.log2, np.log2, (0.2, 5), True),
    "log10": (T.log10, np.log10, (0.2, 5), True),
    "log1p": (T.log1p, np.log1p, (-0.8, 5), True),
    "sqrt": (T.sqrt, np.sqrt, (0.2, 5), True),
    "sin": (T.sin, np.sin, (-3, 3), True),
    "cos": (T.cos, np.cos, (-3, 3), True),
    "tan": (T.tan, np.tan, (-1.2, 1.2), True),
    "arcsin": (T.arcsin, np.arcsin, (-0.9, 0.9), True),
    "arccos": (T.arccos, np.arccos, (-0.9, 0.9), True),
    "arctan": (T.arctan, np.arctan, (-3, 3), True),
    "sinh": (T.sinh, np.sinh, (-3, 3), True),
    "cosh": (T.cosh, np.cosh, (-3, 3), True),
    "tanh": (T.tanh, np.tanh, (-3, 3), True),
    "arcsinh": (T.arcsinh, np.arcsinh, (-3, 3), True),
    "arccosh": (T.arccosh, np.arccosh, (1.2, 4), True),
    "arctanh": (T.arctanh, np.arctanh, (-0.9, 0.9), True),
    "deg2rad": (T.deg2rad, np.deg2rad, (-200, 200), True),
    "rad2deg": (T.rad2deg, np.rad2deg, (-3, 3), True),
    "erf": (T.erf, sp.erf, (-2, 2), True),
    "erfc": (T.erfc, sp.erfc, (-2, 2), True),
    "erfinv": (T.erfinv, sp.erfinv, (-0.9, 0.9), True),
    "erfcinv": (T.erfcinv, sp.erfcinv, (0.1, 1.9), True),
    "erfcx": (T.erfcx, sp.erfcx, (-2, 5), True),
    "gamma": (T.gamma, sp.gamma, (0.5, 4), True),
    "gammaln": (T.gammaln, sp.gammaln, (0.2, 6), True),
    "psi": (T.psi, sp.psi, (0.5, 6), True),
    "tri_gamma": (T.tri_gamma, lambda x: sp.polygamma(1, x), (0.5, 6), False),
    "sigmoid": (T.sigmoid, sp.expit, (-6, 6), True),
    "softplus": (T.softplus, lambda x: np.logaddexp(0, x), (-6, 6), True),
    "log1mexp": (T.log1mexp, lambda x: np.log(-np.expm1(x)), (-4, -0.05), True),
    "reciprocal": (T.inv, np.reciprocal, (0.3, 3), True),
    "j0": (T.j0, sp.j0, (0.2, 4), True),
    "j1": (T.j1, sp.j1, (0.2, 4), True),
    "i0": (T.i0, sp.i0, (-2, 2), True),
    "i1": (T.i1, sp.i1, (-2, 2), True),
    "xlogx": (T.xlogx, lambda x: x * np.log(x), (0.1, 3), True),
}


@pytest.mark.parametrize("name", sorted(UNARY_FLOAT))
def test_unary_float_values_dtypes_and_shapes(name):
    fn, ref, (lo, hi), _ = UNARY_FLOAT[name]
    for dtype in ("float32", "float64"):
        x = T.matrix("x", dtype=dtype)
        col = T.col("c", dtype=dtype)
        xv, cv = sample(lo, hi, (3, 4), dtype), sample(lo, hi, (2, 1), dtype)
        empty = np.zeros((0, 3), dtype=dtype)
        f = theano.function([x, col], [fn(x), fn(col)], mode=MODE)
        out, out_col = f(xv, cv)
        assert out.dtype == dtype and out.shape == (3, 4)
        np.testing.assert_allclose(out, ref(xv.astype("float64")), rtol=tol(dtype) * 10, atol=tol(dtype))
        np.testing.assert_allclose(out_col, ref(cv.astype("float64")), rtol=tol(dtype) * 10,
                                   atol=tol(dtype))
        assert f(empty, cv)[0].shape == (0, 3)
    # Integers give Theano's float dtype: int8/int16 -> float32, wider ints -> float64.
    for dtype, want in (("int8", "float32"), ("int16", "float32"), ("int32", "float64"),
                        ("uint8", "float32"), ("int64", "float64")):
        assert fn(T.vector(dtype=dtype)).dtype == want
    if name in ("exp", "sqrt", "sigmoid", "log1p"):
        iv = np.array([0, 1, 2, 3], dtype="int32")
        out = run([xi := T.ivector()], fn(xi), iv)
        assert out.dtype == "float64"
        np.testing.assert_allclose(out, ref(iv.astype("float64")), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(n for n, v in UNARY_FLOAT.items() if v[3]))
def test_unary_float_grad(name):
    fn, _, (lo, hi), _ = UNARY_FLOAT[name]
    verify_grad(fn, [sample(lo, hi, (2, 3), "float64")], n_tests=1, mode=MODE)


def test_stable_functions_at_extremes():
    x = T.dvector()
    xv = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    sig, spl, lae = run([x], [T.sigmoid(x), T.softplus(x), T.logaddexp(x, -x)], xv)
    np.testing.assert_allclose(sig, sp.expit(xv))
    np.testing.assert_allclose(spl, np.logaddexp(0, xv))
    np.testing.assert_allclose(lae, np.logaddexp(xv, -xv))
    lm = run([x], T.log1mexp(x), np.array([-1e-10, -0.5, -50.0]))
    np.testing.assert_allclose(lm, [np.log(1e-10), np.log(-np.expm1(-0.5)), -np.exp(-50.0)], rtol=1e-6)


# ------------------------------------------------------------- NumPy-typed unary ops
NUMPY_UNARY = {
    "neg": (T.neg, np.negative),
    "abs": (T.abs_, np.abs),
    "sgn": (T.sgn, np.sign),
    "sqr": (T.sqr, np.square),
    "floor": (T.floor, np.floor),
    "ceil": (T.ceil, np.ceil),
    "trunc": (T.trunc, np.trunc),
    "round": (T.round, np.round),
}


@pytest.mark.parametrize("name", sorted(NUMPY_UNARY))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "int64", "uint16"])
def test_numpy_typed_unary(name, dtype):
    fn, ref = NUMPY_UNARY[name]
    if name == "neg" and dtype == "uint16":
        vals = np.array([[0, 1, 7]], dtype=dtype)  # wraps around, as in NumPy
    elif np.dtype(dtype).kind == "f":
        vals = np.array([[-2.5, -1.5, -0.5, 0.0], [0.5, 1.5, 2.7, -3.2]], dtype=dtype)
    else:
        info = np.iinfo(dtype)
        vals = np.array([[info.min, 0, 3], [info.max, 1, 2]], dtype=dtype)
    x = T.tensor(dtype=dtype, shape=(None, None))
    with np.errstate(all="ignore"):
        want = ref(vals)
    out = run([x], fn(x), vals)
    assert out.dtype == want.dtype, (out.dtype, want.dtype)
    np.testing.assert_array_equal(out, want)
    assert run([x], fn(x), np.zeros((0, 2), dtype=dtype)).shape == (0, 2)


def test_round_modes():
    x = T.dvector()
    xv = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4, -0.6])
    even, away, default, ir = run([x], [T.round(x, mode="half_to_even"),
                                        T.round(x, mode="half_away_from_zero"), T.round(x),
                                        T.iround(x, mode="half_away_from_zero")], xv)
    np.testing.assert_array_equal(even, [-2, -2, -0, 0, 2, 2, 0, -1])
    np.testing.assert_array_equal(default, np.round(xv))
    np.testing.assert_array_equal(away, [-3, -2, -1, 1, 2, 3, 0, -1])
    assert ir.dtype == "int64" and list(ir) == [-3, -2, -1, 1, 2, 3, 0, -1]
    np.testing.assert_array_equal(run([x], T.round_half_away_from_zero(x), xv), away)
    with pytest.raises(ValueError, match="half_to_even"):
        T.round(x, mode="up")
    # piecewise constant: zero gradient
    g = run([x], T.grad(T.sum(T.floor(x) + T.ceil(x) + T.round(x) + T.trunc(x)), x), xv)
    np.testing.assert_array_equal(g, np.zeros_like(xv))


def test_abs_neg_sqr_sgn_grads():
    xv = np.array([[-1.3, 0.7, 2.1], [0.4, -0.2, -3.0]])
    for fn in (T.abs_, T.neg, T.sqr, lambda v: v * T.sgn(v)):
        verify_grad(fn, [xv], n_tests=1, mode=MODE)


# ------------------------------------------------------------------ binary ops
def _pos_ints(dtype, shape):
    return RNG.integers(1, 6, size=shape).astype(dtype)


BINARY = {
    "add": (T.add, np.add), "sub": (T.sub, np.subtract), "mul": (T.mul, np.multiply),
    "int_div": (T.int_div, np.floor_divide), "mod": (T.mod, np.mod), "pow": (T.pow, np.power),
    "maximum": (T.maximum, np.maximum), "minimum": (T.minimum, np.minimum),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtypes", [("float64", "float64"), ("float32", "float32"),
                                    ("int32", "int32"), ("int8", "int16"), ("uint8", "int8"),
                                    ("float32", "int64")])
def test_numpy_typed_binary(name, dtypes):
    fn, ref = BINARY[name]
    da, db = dtypes
    a = T.tensor(dtype=da, shape=(None, 1))
    b = T.tensor(dtype=db, shape=(1, None))
    m = T.tensor(dtype=da, shape=(None, None))
    if name == "pow" and np.dtype(da).kind != "f":
        av, bv = _pos_ints(da, (3, 1)), _pos_ints(db, (1, 4))
    else:
        av = np.array([[-3], [5], [7]]).astype(da)
        bv = np.array([[2, -4, 3, 6]]).astype(db) if np.dtype(db).kind != "u" else \
            np.array([[2, 4, 3, 6]]).astype(db)
        if np.dtype(da).kind == "u":
            av = np.abs(av).astype(da)
        if name == "pow":
            av = np.abs(av).astype(da)
    f = theano.function([a, b, m], [fn(a, b), fn(m, m)], mode=MODE)
    out, out_empty = f(av, bv, np.zeros((0, 3), dtype=da))
    with np.errstate(all="ignore"):
        want = ref(av, bv)
    assert out.dtype == want.dtype and out.shape == (3, 4)
    np.testing.assert_allclose(out, want, rtol=tol(want.dtype) * 10)
    assert out_empty.shape == (0, 3)


def test_integer_semantics():
    a, b = T.bvector(), T.bvector()
    av = np.array([100, -7, 7, -7, 127], dtype="int8")
    bv = np.array([100, 2, -2, -2, 1], dtype="int8")
    s, fd, md, td, ceil_div = run([a, b], [a + b, a // b, a % b, a / b, T.ceil_intdiv(a, b)], av, bv)
    np.testing.assert_array_equal(s, (av + bv))  # wraps: 100 + 100 = -56
    assert s.dtype == "int8" and s[0] == -56
    np.testing.assert_array_equal(fd, [1, -4, -4, 3, 127])  # floor division
    np.testing.assert_array_equal(md, [0, 1, -1, -1, 0])  # sign of the divisor
    assert td.dtype == "float32"  # int8 / int8 -> float32 (Theano's rule)
    np.testing.assert_allclose(td, av.astype("float64") / bv, rtol=1e-6)
    np.testing.assert_array_equal(ceil_div, -(-av.astype(int) // bv))
    i, j = T.lvector(), T.lvector()
    assert (i / j).dtype == "float64"
    bt = T.tensor(dtype="bool", shape=(None,))
    assert (bt // bt).dtype == "int8" and (bt + bt).dtype == "bool" and (bt * bt).dtype == "bool"
    # a Python number is weak: x * 2 keeps int8, 2.5 * int8 is a float
    assert (a * 2).dtype == "int8" and (a * 2.5).dtype == "float64"


BINARY_FLOAT = {
    "true_div": (T.true_div, np.true_divide, (0.5, 3), (0.5, 3)),
    "arctan2": (T.arctan2, np.arctan2, (-3, 3), (-3, 3)),
    "logaddexp": (T.logaddexp, np.logaddexp, (-5, 5), (-5, 5)),
    "complex_abs": (lambda a, b: abs(T.complex(a, b)), lambda a, b: np.abs(a + 1j * b), (-3, 3), (-3, 3)),
}


@pytest.mark.parametrize("name", sorted(BINARY_FLOAT))
def test_binary_float(name):
    fn, ref, da, db = BINARY_FLOAT[name]
    for dtype in ("float32", "float64"):
        a = T.tensor(dtype=dtype, shape=(None, 1))
        b = T.tensor(dtype=dtype, shape=(None,))
        av, bv = sample(*da, (3, 1), dtype), sample(*db, (4,), dtype)
        out = run([a, b], fn(a, b), av, bv)
        assert out.dtype == dtype and out.shape == (3, 4)
        np.testing.assert_allclose(out, ref(av.astype("float64"), bv.astype("float64")),
                                   rtol=tol(dtype) * 10)
    verify_grad(fn, [sample(*da, (2, 3), "float64"), sample(*db, (2, 3), "float64")], n_tests=1,
                mode=MODE)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "pow", "maximum", "minimum", "mod", "int_div"])
def test_binary_grads(name):
    fn = BINARY[name][0]
    av = np.array([[0.7, 1.6, 2.3], [1.2, 0.4, 3.1]])
    bv = np.array([[1.1, 0.3, 2.9], [0.5, 1.9, 1.4]])  # no ties, no integer crossings nearby
    verify_grad(fn, [av, bv], n_tests=1, mode=MODE)
    # broadcasting: the gradient of a broadcast operand is summed over the broadcast axes
    verify_grad(lambda a, b: fn(a, b.dimshuffle("x", 0)), [av, bv[0]], n_tests=1, mode=MODE)


def test_pow_grad_at_zero_base():
    x, y = T.dvector(), T.dvector()
    gx, gy = run([x, y], T.grad(T.sum(x ** y), [x, y]), np.array([0.0, 2.0]), np.array([2.0, 3.0]))
    np.testing.assert_allclose(gx, [0.0, 12.0])
    np.testing.assert_allclose(gy, [0.0, 8 * np.log(2.0)])


# ----------------------------------------------------------- comparisons, logic
def test_comparisons_and_predicates():
    a, b = T.dmatrix(), T.drow()
    av = np.array([[1.0, np.nan, 3.0], [-np.inf, 2.0, 0.0]])
    bv = np.array([[1.0, 2.0, np.inf]])
    fns = [T.eq, T.neq, T.lt, T.gt, T.le, T.ge]
    refs = [np.equal, np.not_equal, np.less, np.greater, np.less_equal, np.greater_equal]
    outs = run([a, b], [f(a, b) for f in fns] + [T.isnan(a), T.isinf(a), a < b, a >= b,
                                                  T.isclose(a, b), T.isclose(a, a, equal_nan=True),
                                                  T.allclose(b, b + 1e-9)], av, bv)
    for out, ref in zip(outs, refs):
        assert out.dtype == "bool"
        np.testing.assert_array_equal(out, ref(av, bv))
    np.testing.assert_array_equal(outs[6], np.isnan(av))
    np.testing.assert_array_equal(outs[7], np.isinf(av))
    np.testing.assert_array_equal(outs[8], av < bv)
    np.testing.assert_array_equal(outs[9], av >= bv)
    np.testing.assert_array_equal(outs[10], np.isclose(av, bv))
    np.testing.assert_array_equal(outs[11], np.isclose(av, av, equal_nan=True))
    assert outs[12].shape == () and bool(outs[12])
    i = T.ivector()
    assert run([i], T.isnan(i) | T.isinf(i), np.array([1, 2], dtype="int32")).tolist() == [False, False]


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint32", "int64"])
def test_bitwise(dtype):
    a = T.tensor(dtype=dtype, shape=(None,))
    b = T.tensor(dtype=dtype, shape=(None,))
    if dtype == "bool":
        av, bv = np.array([True, True, False, False]), np.array([True, False, True, False])
    else:
        av, bv = np.array([0, 5, 12, 7], dtype=dtype), np.array([3, 6, 10, 7], dtype=dtype)
    outs = run([a, b], [a & b, a | b, a ^ b, ~a, T.and_(a, b), T.or_(a, b), T.xor(a, b),
                        T.invert(a), T.bitwise_and(a, b)], av, bv)
    wants = [av & bv, av | bv, av ^ bv, ~av, av & bv, av | bv, av ^ bv, ~av, av & bv]
    for out, want in zip(outs, wants):
        assert out.dtype == want.dtype
        np.testing.assert_array_equal(out, want)


def test_dtype_errors_name_the_op():
    f, bv = T.dvector(), T.tensor(dtype="bool", shape=(None,))
    with pytest.raises(TypeError, match="and.*integer or boolean.*float64"):
        T.and_(f, f)
    with pytest.raises(TypeError, match="sub"):
        bv - bv
    with pytest.raises(TypeError, match="neg"):
        -bv
    with pytest.raises(TypeError, match="sgn.*bool"):
        T.sgn(bv)
    z = T.zvector()
    with pytest.raises(TypeError, match="not ordered"):
        z < z
    with pytest.raises(TypeError, match="not ordered"):
        T.clip(z, 0, 1)
    with pytest.raises(TypeError, match="imaginary"):
        T.cast(z, "float64")


# ------------------------------------------------------ switch, clip, cast
def test_switch_where_and_grads():
    c = T.tensor(dtype="bool", shape=(None, 1))
    a, b = T.dmatrix(), T.dvector()
    cv = np.array([[True], [False]])
    av, bv = np.arange(6.0).reshape(2, 3), np.array([-1.0, -2.0, -3.0])
    s, w = run([c, a, b], [T.switch(c, a, b), T.where(c, a, b)], cv, av, bv)
    np.testing.assert_array_equal(s, np.where(cv, av, bv))
    np.testing.assert_array_equal(w, np.where(cv, av, bv))
    cost = T.sum(T.switch(c, a * 2, b * 3))
    ga, gb = run([c, a, b], T.grad(cost, [a, b]), cv, av, bv)
    np.testing.assert_array_equal(ga, [[2, 2, 2], [0, 0, 0]])
    np.testing.assert_array_equal(gb, [3, 3, 3])
    i = T.ivector()
    assert T.switch(T.gt(i, 0), i, 0.5).dtype == "float64"
    with pytest.raises(TypeError, match="both"):
        T.where(c, a)
    v = T.dvector()
    (idx,) = T.where(v > 0)  # the one-argument form is nonzero, as np.where
    np.testing.assert_array_equal(run([v], idx, np.array([1.0, -1.0, 2.0])), [0, 2])


def test_clip_values_grad_and_bounds():
    x, lo, hi = T.dvector(), T.dscalar(), T.dscalar()
    xv = np.array([-2.0, -1.0, 0.3, 1.0, 2.0])
    out, gx, glo, ghi = run([x, lo, hi], [T.clip(x, lo, hi)] + T.grad(T.sum(T.clip(x, lo, hi) * [1, 2, 3, 4, 5]),
                                                                     [x, lo, hi]), xv, -1.0, 1.0)
    np.testing.assert_array_equal(out, np.clip(xv, -1, 1))
    np.testing.assert_array_equal(gx, [0, 2, 3, 4, 0])  # bounds included: gz * (lo <= x <= hi)
    assert glo == 1 and ghi == 5
    verify_grad(lambda v: T.clip(v, -0.5, 0.5), [np.array([-1.0, -0.2, 0.1, 0.9])], mode=MODE)
    verify_grad(lambda v, a, b: T.clip(v, a, b), [np.array([-1.0, -0.2, 0.1, 0.9]),
                                                  np.array(-0.5), np.array(0.5)], mode=MODE)
    i = T.ivector()
    iv = np.array([-5, 0, 9], dtype="int32")
    o1, o2, o3 = run([i], [T.clip(i, 0, 3), T.clip(i, None, 3), i.clip(-1, None)], iv)
    assert o1.dtype == "int32"
    np.testing.assert_array_equal(o1, np.clip(iv, 0, 3))
    np.testing.assert_array_equal(o2, np.clip(iv, None, 3))
    np.testing.assert_array_equal(o3, np.clip(iv, -1, None))
    with pytest.raises(ValueError, match="a_min"):
        T.clip(i, None, None)


@pytest.mark.parametrize("src,dst", [("float64", "int32"), ("float32", "uint8"), ("int64", "float32"),
                                     ("bool", "float64"), ("float64", "bool"), ("float64", "complex64"),
                                     ("int32", "int8")])
def test_cast(src, dst):
    x = T.tensor(dtype=src, shape=(None,))
    vals = np.array([0, 1, 3.7, 200, -1.5], dtype="float64").astype(src) if src != "bool" else \
        np.array([True, False])
    with np.errstate(all="ignore"):
        want = vals.astype(dst)
    out = run([x], [T.cast(x, dst), x.astype(dst)], vals)
    for o in out:
        assert o.dtype == dst
        np.testing.assert_array_equal(o, want)


def test_cast_grad():
    # a float32 intermediate: finite differences need a float32-sized step and tolerance
    verify_grad(lambda v: T.cast(v, "float32") * 2, [np.array([0.5, -1.5])], mode=MODE,
                eps=1e-2, abs_tol=1e-3, rel_tol=1e-3)
    x = T.dvector()
    g = run([x], T.grad(T.sum(T.cast(T.cast(x, "int32"), "float64")), x, disconnected_inputs="ignore"),
            np.array([1.5]))
    np.testing.assert_array_equal(g, [0.0])


# ------------------------------------------------------------------- complex
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_parts(dtype):
    z = T.tensor(dtype=dtype, shape=(None,))
    zv = np.array([1 + 2j, -3 - 0.5j, 0j, -1 + 0j], dtype=dtype)
    outs = run([z], [T.real(z), T.imag(z), T.conj(z), T.angle(z), abs(z), T.sgn(z), z * T.conj(z),
                     z.real, z.imag, z.conj()], zv)
    wants = [zv.real, zv.imag, np.conj(zv), np.angle(zv), np.abs(zv), np.sign(zv), zv * np.conj(zv),
             zv.real, zv.imag, zv.conj()]
    for out, want in zip(outs, wants):
        assert out.dtype == want.dtype, (out.dtype, want.dtype)
        np.testing.assert_allclose(out, want, rtol=tol(dtype) * 10)
    real_dtype = "float32" if dtype == "complex64" else "float64"
    a, b = T.tensor(dtype=real_dtype, shape=(None,)), T.tensor(dtype=real_dtype, shape=(None,))
    av, bv = zv.real.copy(), zv.imag.copy()
    c, p = run([a, b], [T.complex(a, b), T.complex_from_polar(a, b)], av, bv)
    assert c.dtype == dtype and p.dtype == dtype
    np.testing.assert_allclose(c, zv)
    np.testing.assert_allclose(p, av * np.exp(1j * bv), rtol=tol(dtype) * 10)
    # real inputs: real is the identity, imag is zero, conj is the identity
    d = T.dvector()
    r, i, cj = run([d], [T.real(d), T.imag(d), T.conj(d)], np.array([1.5, -2.0]))
    np.testing.assert_array_equal(r, [1.5, -2.0])
    np.testing.assert_array_equal(i, [0.0, 0.0])
    np.testing.assert_array_equal(cj, [1.5, -2.0])


def test_complex_grads_through_real_costs():
    av, bv = np.array([1.0, -0.5, 2.0]), np.array([0.3, 1.2, -0.7])
    for fn in (lambda a, b: abs(T.complex(a, b)), lambda a, b: T.angle(T.complex(a, b)),
               lambda a, b: T.real(T.complex_from_polar(a, b)),
               lambda a, b: T.imag(T.complex_from_polar(a, b)),
               lambda a, b: T.real(T.complex(a, b) * T.conj(T.complex(b, a))),
               lambda a, b: T.imag(T.sqr(T.complex(a, b))),
               lambda a, b: T.real(T.exp(T.complex(a, b)) / T.complex(b, a)),
               lambda a, b: T.imag(T.log(T.complex(a, b)) ** 2),
               lambda a, b: abs(a * (1 + 2j) + b) + T.real(T.exp(b * 1j))):  # real inputs, complex graph
        verify_grad(fn, [av, bv], n_tests=1, mode=MODE)


def test_var_and_mean_of_complex():
    z = T.zmatrix()
    zv = np.array([[1 + 2j, 3 - 1j, 0.5j], [2 + 0j, -1 - 1j, 4 + 4j]])
    v, m, s = run([z], [T.var(z), T.mean(z, axis=0), T.std(z, axis=1)], zv)
    assert v.dtype == "float64" and m.dtype == "complex128"
    np.testing.assert_allclose(v, np.var(zv))
    np.testing.assert_allclose(m, np.mean(zv, axis=0))
    np.testing.assert_allclose(s, np.std(zv, axis=1))


# --------------------------------------------------------- names and aliases
def test_theano_and_numpy_aliases():
    assert T.floor_div is T.int_div and T.abs_ is T.abs and T.inv is T.reciprocal
    assert T.true_divide is T.true_div and T.bitwise_not is T.invert and T.digamma is T.psi
    assert T.bitwise_or is T.or_ and T.bitwise_xor is T.xor and T.sqr is T.square
    x = T.dvector()
    xv = np.array([0.5, 2.0, -1.0])
    outs = run([x], [T.largest(x, 0.0, x * 2), T.smallest(x, 0.0), T.sign(x), T.expit(x)], xv)
    np.testing.assert_array_equal(outs[0], np.maximum(np.maximum(xv, 0), 2 * xv))
    np.testing.assert_array_equal(outs[1], np.minimum(xv, 0))
    np.testing.assert_array_equal(outs[2], np.sign(xv))
    np.testing.assert_allclose(outs[3], sp.expit(xv))


def test_default_mode_runs_the_catalogue():
    """The ops also compile and run in the default mode (rewrites and default backend)."""
    x, y = T.dmatrix(), T.dmatrix()
    xv, yv = sample(0.5, 2, (2, 3), "float64"), sample(0.5, 2, (2, 3), "float64")
    exprs = [T.clip(x, 0.7, 1.5), T.arctan2(x, y), T.erfcx(x), T.gammaln(x), T.round(x * 3),
             T.logaddexp(x, y), T.tan(x) + T.arccosh(y + 1)]
    refs = [np.clip(xv, 0.7, 1.5), np.arctan2(xv, yv), sp.erfcx(xv), sp.gammaln(xv),
            np.round(xv * 3), np.logaddexp(xv, yv), np.tan(xv) + np.arccosh(yv + 1)]
    for out, ref in zip(theano.function([x, y], exprs)(xv, yv), refs):
        np.testing.assert_allclose(out, ref, rtol=1e-12)


# f(a, x), differentiable in x: (function, reference, domain of a, domain of x)
SPECIAL_BINARY = {
    "jv": (T.jv, sp.jv, (0.5, 3), (0.2, 4)),
    "iv": (T.iv, sp.iv, (0.5, 3), (0.2, 3)),
    "gammainc": (T.gammainc, sp.gammainc, (0.5, 4), (0.2, 5)),
    "gammaincc": (T.gammaincc, sp.gammaincc, (0.5, 4), (0.2, 5)),
    "gammau": (T.gammau, lambda k, x: sp.gammaincc(k, x) * sp.gamma(k), (0.5, 4), (0.2, 5)),
    "gammal": (T.gammal, lambda k, x: sp.gammainc(k, x) * sp.gamma(k), (0.5, 4), (0.2, 5)),
    "chi2sf": (lambda k, x: T.chi2sf(x, k), lambda k, x: sp.chdtrc(k, x), (1, 5), (0.2, 6)),
    "xlogy0": (lambda y, x: T.xlogy0(x, y), lambda y, x: x * np.log(y), (0.2, 3), (0.2, 3)),
}


@pytest.mark.parametrize("name", sorted(SPECIAL_BINARY))
def test_special_binary(name):
    fn, ref, da, dx = SPECIAL_BINARY[name]
    for dtype in ("float32", "float64"):
        a, x = T.tensor(dtype=dtype, shape=(None, 1)), T.tensor(dtype=dtype, shape=(None,))
        av, xv = sample(*da, (3, 1), dtype), sample(*dx, (4,), dtype)
        out = run([a, x], fn(a, x), av, xv)
        assert out.dtype == dtype and out.shape == (3, 4)
        np.testing.assert_allclose(out, ref(av.astype("float64"), xv.astype("float64")),
                                   rtol=tol(dtype) * 20, atol=tol(dtype))
    av = sample(*da, (2, 3), "float64")
    verify_grad(lambda v: fn(av, v), [sample(*dx, (2, 3), "float64")], n_tests=1, mode=MODE)


def test_xlogx_xlogy0_at_zero():
    x, y = T.dvector(), T.dvector()
    a, b = run([x, y], [T.xlogx(x), T.xlogy0(x, y)], np.array([0.0, 1.0]), np.array([0.0, 2.0]))
    np.testing.assert_array_equal(a, [0.0, 0.0])
    np.testing.assert_allclose(b, [0.0, np.log(2.0)])


# ------------------------------------------------- promotion (property-based)
from hypothesis import given, settings, strategies as st  # noqa: E402

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "float16",
          "float32", "float64"]
PROMOTING = {"add": (T.add, np.add), "mul": (T.mul, np.multiply), "maximum": (T.maximum, np.maximum),
             "int_div": (T.int_div, np.floor_divide), "mod": (T.mod, np.mod), "pow": (T.pow, np.power),
             "minimum": (T.minimum, np.minimum), "arctan2": (T.arctan2, None),
             "true_div": (T.true_div, None), "sub": (T.sub, np.subtract)}


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(PROMOTING)), da=st.sampled_from(DTYPES), db=st.sampled_from(DTYPES))
def test_binary_dtype_promotion_matches_numpy(name, da, db):
    fn, ref = PROMOTING[name]
    a, b = T.tensor(dtype=da, shape=(None,)), T.tensor(dtype=db, shape=(None,))
    if ref is None:  # float-valued: NumPy's promotion, then Theano's int -> float rule
        want = np.result_type(da, db)
        want = want.name if want.kind in "fc" else ("float32" if want.itemsize <= 2 else "float64")
    else:
        try:
            want = ref(np.ones(1, da), np.ones(1, db)).dtype.name
        except TypeError:  # NumPy has no loop (bool - bool): neither do we
            with pytest.raises(TypeError, match=name):
                fn(a, b)
            return
    assert fn(a, b).dtype == want


SCALAR_OPS = [("clip", 3), ("isclose", 2), ("erfcx", 1), ("log1mexp", 1), ("logaddexp", 2),
              ("round_half_away_from_zero", 1), ("arctan2", 2), ("complex", 2), ("gammainc", 2),
              ("xlogy0", 2), ("tri_gamma", 1), ("floor", 1), ("angle", 1)]


@pytest.mark.parametrize("name,nin", SCALAR_OPS)
def test_scalar_ops_work_on_0d_inputs(name, nin):
    """Each op is a ScalarOp on 0-d tensors too (what Composite/fusion builds on)."""
    import graphcore.scalar as gs

    op = {"isclose": gs.IsClose(), "complex": gs.complex_}.get(name) or getattr(gs, name)
    assert isinstance(op, gs.ScalarOp)
    vals = [np.float64(v) for v in (-0.7, 0.4, 0.9)[:nin]]
    if name in ("gammainc", "xlogy0"):
        vals = [np.float64(1.5), np.float64(0.7)]
    ins = [T.dscalar() for _ in range(nin)]
    node = op.make_node(*ins)
    storage = [[None]]
    node.op.perform(node, [np.asarray(v) for v in vals], storage)
    elem = run(ins, getattr(T, name)(*ins), *vals)
    np.testing.assert_allclose(storage[0][0], elem)
    assert storage[0][0].dtype == elem.dtype and storage[0][0].shape == ()
