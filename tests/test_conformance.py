"""Backend conformance: every available backend computes what the python reference backend does.

Each case builds a graph, compiles it on the backend under test and on the
python backend, and compares the outputs: exactly for integers and bools,
within a few ulps for floats (only the floating-point order of reductions and
BLAS, and libm-vs-SIMD transcendental rounding, may differ).
"""

import numpy as np
import pytest

import graphcore as gc
import graphcore.tensor as T
from graphcore.backends.registry import available_backends
from graphcore.scalar import ops as so
from graphcore.scalar.composite import Composite
from graphcore.tensor.advanced_subtensor import AdvancedIncSubtensor
from graphcore.tensor.elemwise import Elemwise
from graphcore.tensor.subtensor import ARR

BACKENDS = [b for b in available_backends() if b != "python"]
pytestmark = pytest.mark.skipif(not BACKENDS, reason="no backend besides python is installed")

ALL_DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
              "float32", "float64"]
INT_DTYPES = [d for d in ALL_DTYPES if d not in ("bool", "float32", "float64")]
FLOAT_DTYPES = ["float32", "float64"]
RTOL = {"float32": 2e-5, "float64": 1e-12, "float16": 1e-2}


def _values(dtype, shape, seed=0, positive=False, nonzero=False):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) > 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo = 1 if (positive or nonzero) and dtype.kind == "u" else max(info.min, -50)
        if positive:
            lo = 1
        v = rng.integers(lo, min(info.max, 50), size=shape, endpoint=True).astype(dtype)
        if nonzero:
            v[v == 0] = 1
        return v
    v = rng.standard_normal(shape) * 3
    if positive:
        v = np.abs(v) + 0.1
    return v.astype(dtype)


def _compare(got, want, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    if want.dtype.kind in "fc":
        rtol = RTOL.get(want.dtype.name, 1e-12)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


def check(backend, inputs, outputs, values, **kwargs):
    """Compile on `backend` and on python; compare outputs (twice, to exercise buffer reuse)."""
    outputs = outputs if isinstance(outputs, list) else [outputs]
    f = gc.function(inputs, outputs, mode=backend, on_unused_input="ignore", **kwargs)
    ref = gc.function(inputs, outputs, mode="python", on_unused_input="ignore", **kwargs)
    want = ref(*[np.copy(v) for v in values])
    for _ in range(2):
        got = f(*[np.copy(v) if isinstance(v, np.ndarray) and v.flags.owndata else v for v in values])
        for k, (g, w) in enumerate(zip(got, want)):
            _compare(g, w, f"output {k} on {backend}")
    return f


def sym(dtype, ndim, name="x", shape=None):
    return T.tensor(dtype=dtype, shape=shape if shape is not None else (None,) * ndim, name=name)


# ------------------------------------------------------------------ elementwise, every dtype
BINARY = {"add": T.add, "sub": T.sub, "mul": T.mul, "maximum": T.maximum, "minimum": T.minimum,
          "int_div": T.int_div, "mod": T.mod, "eq": T.eq, "lt": T.lt, "ge": T.ge, "neq": T.neq}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_every_dtype(backend, dtype, name):
    x, y = sym(dtype, 2, "x"), sym(dtype, 2, "y")
    if dtype == "bool" and name == "sub":  # NumPy refuses boolean subtraction too
        with pytest.raises(TypeError, match="boolean subtraction"):
            BINARY[name](x, y)
        return
    check(backend, [x, y], BINARY[name](x, y),
          [_values(dtype, (5, 7), 1), _values(dtype, (5, 7), 2, nonzero=True)])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_unary_every_dtype(backend, dtype):
    x = sym(dtype, 1)
    outs = [T.abs(x), T.sqr(x)]
    if dtype != "bool":
        outs += [T.neg(x), T.sgn(x)]
    if dtype == "bool" or np.dtype(dtype).kind in "iu":
        outs += [T.invert(x), T.and_(x, x[::-1]), T.or_(x, x[::-1]), T.xor(x, x[::-1])]
    check(backend, [x], outs, [_values(dtype, (37,), 3)])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("src", ALL_DTYPES)
def test_casts(backend, src):
    x = sym(src, 1)
    check(backend, [x], [T.cast(x, d) for d in ALL_DTYPES], [_values(src, (19,), 4)])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + ["int16", "int64", "uint8"])
def test_float_functions(backend, dtype):
    x = sym(dtype, 1)
    pos = sym(dtype, 1, "p")
    outs = [T.exp(x), T.sin(x), T.cos(x), T.tanh(x), T.sigmoid(x), T.softplus(x), T.expm1(x),
            T.exp2(x), T.log(pos), T.log1p(pos), T.sqrt(pos), T.log2(pos), T.log10(pos),
            T.true_div(x, pos), T.reciprocal(pos), T.isnan(T.log(x)), T.isinf(T.true_div(x, 0))]
    xv = _values(dtype, (2000,), 5)
    if np.dtype(dtype).kind == "f":
        xv[:4] = [np.nan, np.inf, -np.inf, 0]
    check(backend, [x, pos], outs, [xv, _values(dtype, (2000,), 6, positive=True)])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_float_int_div_mod_pow(backend, dtype):
    x, y = sym(dtype, 1, "x"), sym(dtype, 1, "y")
    xv = _values(dtype, (64,), 7)
    yv = _values(dtype, (64,), 8)
    yv[:3] = [0, -0.0, np.inf]
    check(backend, [x, y], [T.int_div(x, y), T.mod(x, y), T.pow(T.abs(x), y), T.switch(T.lt(x, y), x, y)],
          [xv, yv])


@pytest.mark.parametrize("backend", BACKENDS)
def test_mixed_dtypes_promote_like_numpy(backend):
    a, b, c = sym("int8", 1, "a"), sym("uint8", 1, "b"), sym("float32", 1, "c")
    i64, u64 = sym("int64", 1, "i"), sym("uint64", 1, "u")
    outs = [a + b, a * c, a + b + c, T.true_div(a, b), T.maximum(a, b), T.lt(a, c), b - a,
            i64 + u64, T.switch(T.gt(a, 0), b, c)]
    check(backend, [a, b, c, i64, u64], outs,
          [_values("int8", (50,), 1), _values("uint8", (50,), 2, positive=True),
           _values("float32", (50,), 3), _values("int64", (50,), 4), _values("uint64", (50,), 5)])


@pytest.mark.parametrize("backend", BACKENDS)
def test_integer_overflow_and_division_edges(backend):
    x, y = sym("int8", 1, "x"), sym("int8", 1, "y")
    xv = np.array([127, -128, -128, 7, -7, 7, -7, 0, 100], dtype="int8")
    yv = np.array([1, -1, 2, 0, 2, -2, -2, 0, 100], dtype="int8")
    check(backend, [x, y], [x + y, x * y, T.int_div(x, y), T.mod(x, y), -x, T.abs(x)], [xv, yv])


# ------------------------------------------------------------------ broadcasting and layout
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "bool"])
def test_broadcasting(backend, dtype):
    m = sym(dtype, 2, "m")
    r = T.tensor(dtype=dtype, shape=(1, None), name="r")
    c = T.tensor(dtype=dtype, shape=(None, 1), name="c")
    s = T.tensor(dtype=dtype, shape=(), name="s")
    t3 = sym(dtype, 3, "t")
    outs = [m + r, T.maximum(m, c), r * c, m * s, t3 + m, T.eq(t3, c)]
    check(backend, [m, r, c, s, t3], outs,
          [_values(dtype, (4, 6), 1), _values(dtype, (1, 6), 2), _values(dtype, (4, 1), 3),
           _values(dtype, (), 4), _values(dtype, (3, 4, 6), 5)])


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_arrays(backend):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    v = T.ivector("v")
    outs = [T.exp(x) + y, x.sum(axis=0), x.sum(axis=1), T.dot(x.T, y), v * 2, (x * y).sum()]
    check(backend, [x, y, v], outs,
          [np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0, dtype="int32")])


@pytest.mark.parametrize("backend", BACKENDS)
def test_noncontiguous_and_negative_strides(backend):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    v = T.fvector("v")
    base = _values("float64", (12, 20), 1)
    xv = base[::2, ::3]  # strided
    yv = base[:6, ::-3][:, :7]  # negative stride
    fv = _values("float32", (2000,), 2)[::-7]
    outs = [T.exp(x) * y + 1, x.T + y.T, x.sum(axis=0), x.max(axis=1), T.dot(x, y.T),
            T.tanh(v) * 2, v.sum()]
    check(backend, [x, y, v], outs, [xv, yv, fv])


@pytest.mark.parametrize("backend", BACKENDS)
def test_large_arrays_cross_blocks(backend):
    # more than one register block, with a ragged tail, in 1-d and 2-d
    x, y = T.dvector("x"), T.fmatrix("y")
    outs = [T.exp(-x ** 2) * T.sin(x) + 0.5 * T.tanh(x * 3), T.log1p(T.abs(y)) + y.T.T * 2]
    check(backend, [x, y], outs, [_values("float64", (5 * 1024 + 17,), 1),
                                  _values("float32", (70, 1031), 2)])


# ------------------------------------------------------------------ composites and in place
@pytest.mark.parametrize("backend", BACKENDS)
def test_composite_multi_output_with_constants(backend):
    a, b = T.dscalar(), T.dscalar()
    one = T.constant(np.float64(1.5))
    comp = Composite([a, b], [so.add(so.mul(so.exp(a), b), one), so.maximum(a, b), so.lt(a, b)])
    x, y = T.dmatrix("x"), T.dmatrix("y")
    outs = Elemwise(comp)(x, y)
    check(backend, [x, y], list(outs), [_values("float64", (9, 33), 1), _values("float64", (9, 33), 2)])


@pytest.mark.parametrize("backend", BACKENDS)
def test_composite_mixed_dtypes(backend):
    a, b = T.bscalar(), T.fscalar()
    three, one = T.constant(np.int8(3)), T.constant(np.int8(1))
    comp = Composite([a, b], [so.add(so.mul(so.Cast("float32")(a), b),
                                     so.Cast("float32")(so.int_div(a, three))), so.add(a, one)])
    x, y = T.bvector("x"), T.fvector("y")
    outs = Elemwise(comp)(x, y)
    check(backend, [x, y], list(outs), [_values("int8", (100,), 1), _values("float32", (100,), 2)])


@pytest.mark.parametrize("backend", BACKENDS)
def test_inplace_elemwise_on_a_temporary(backend):
    x, y = T.dvector("x"), T.dvector("y")
    t = x * 2
    out = Elemwise(so.add, {0: 0})(t, y)
    check(backend, [x, y], [out, x + 0], [_values("float64", (50,), 1), _values("float64", (50,), 2)],
          accept_inplace=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_inplace_elemwise_on_a_strided_input(backend):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    out = Elemwise(so.mul, {0: 0})(x, y)
    f = gc.function([gc.In(x, mutable=True), y], out, mode=backend, accept_inplace=True)
    base = _values("float64", (8, 10), 1)
    xv = base[::2, ::-1]
    yv = _values("float64", (4, 10), 2)
    want = xv * yv
    got = f(xv, yv)
    np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------ reductions
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "uint8", "bool"])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 2), -1])
def test_reductions(backend, dtype, axis):
    x = sym(dtype, 3)
    outs = [T.sum(x, axis=axis), T.max(x, axis=axis), T.min(x, axis=axis), T.any(x, axis=axis),
            T.all(x, axis=axis)]
    if dtype != "bool":
        outs += [T.prod(x, axis=axis), T.mean(x, axis=axis)]
    if axis is None or isinstance(axis, int):
        outs += [T.argmax(x, axis=axis), T.argmin(x, axis=axis)]
    v = _values(dtype, (3, 5, 4), 1)
    if dtype == "float64":
        v = v / 4
    check(backend, [x], outs, [v])


@pytest.mark.parametrize("backend", BACKENDS)
def test_reduction_of_transposed_and_nan(backend):
    x = T.dmatrix("x")
    v = _values("float64", (40, 30), 1)[::-1].T
    v[3, 4] = np.nan
    check(backend, [x], [x.sum(axis=0), x.max(axis=1), x.min(), x.sum(), T.max(x, axis=0)], [v])


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_of_empty_raises(backend):
    x = T.dmatrix("x")
    f = gc.function([x], x.max(axis=0), mode=backend)
    with pytest.raises(ValueError):
        f(np.zeros((0, 3)))


# ------------------------------------------------------------------ dot / gemm
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_dot_shapes_and_layouts(backend, dtype):
    A, B = sym(dtype, 2, "A"), sym(dtype, 2, "B")
    u, v = sym(dtype, 1, "u"), sym(dtype, 1, "v")
    outs = [T.dot(A, B), T.dot(A.T, A), T.dot(B.T, A.T), T.dot(A, v), T.dot(u, A), T.dot(u, u),
            T.dot(A[::2], B)]
    Av = _values(dtype, (6, 5), 1)
    Bv = _values(dtype, (5, 6), 2)
    check(backend, [A, B, u, v], outs, [Av, Bv, _values(dtype, (6,), 3), _values(dtype, (5,), 4)])


@pytest.mark.parametrize("backend", BACKENDS)
def test_gemm_like_graph(backend):
    # what graphopt turns into Gemm: z * a + b * dot(x, y)
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    out = 0.5 * z + 2.0 * T.dot(x, y)
    check(backend, [x, y, z], [out], [_values("float64", (7, 3), 1), _values("float64", (3, 4), 2),
                                      _values("float64", (7, 4), 3)])


# ------------------------------------------------------------------ softmax family
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_softmax_family(backend, dtype):
    nnet = T.nnet
    x = sym(dtype, 2)
    dy = sym(dtype, 2, "dy")
    sm = nnet.softmax(x)
    outs = [sm, nnet.log_softmax(x), T.grad((sm * dy).sum(), x), T.grad((nnet.log_softmax(x) * dy).sum(), x)]
    xv = _values(dtype, (6, 11), 1)
    xv[0, :3] = [1000, -1000, 0]
    check(backend, [x, dy], outs, [xv, _values(dtype, (6, 11), 2)])


@pytest.mark.parametrize("backend", BACKENDS)
def test_softmax_crossentropy(backend):
    nnet = T.nnet
    x, b = T.dmatrix("x"), T.dvector("b")
    y = T.lvector("y")
    nll, sm, am = nnet.crossentropy_softmax_argmax_1hot_with_bias(x, b, y)
    g = T.grad(nll.sum(), [x, b])
    check(backend, [x, b, y], [nll, sm, am] + g,
          [_values("float64", (8, 5), 1), _values("float64", (5,), 2), np.arange(8) % 5])


# ------------------------------------------------------------------ shapes, views, copies
@pytest.mark.parametrize("backend", BACKENDS)
def test_shape_ops_and_views(backend):
    x = T.dtensor3("x")
    outs = [x.shape, x.shape[1] * 2, x.dimshuffle(2, "x", 0, 1), x.reshape((x.shape[0], -1)),
            x.flatten(), T.join(1, x, x), T.alloc(np.float64(3.0), x.shape[0], 2), x[1:, ::-1, 0],
            T.set_subtensor(x[0], 1.0), T.inc_subtensor(x[:, 1], 2.0)]
    check(backend, [x], outs, [_values("float64", (3, 4, 5), 1)])


@pytest.mark.parametrize("backend", BACKENDS)
def test_advanced_indexing_axis0(backend):
    x = T.dmatrix("x")
    i = T.lvector("i")
    outs = [x[i], T.inc_subtensor(x[i], 1.0), T.set_subtensor(x[i], 0.0)]
    check(backend, [x, i], outs, [_values("float64", (6, 3), 1), np.array([0, 5, 2, 2, -1])])


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("backend", BACKENDS)
def test_shape_mismatch_error_names_op_and_shapes(backend):
    x, y = T.dvector("x"), T.dvector("y")
    z = x + y  # the line the error must point at
    f = gc.function([x, y], z * 2, mode=backend)
    with pytest.raises(ValueError) as info:
        f(np.zeros(3), np.zeros(4))
    text = str(info.value)
    assert "Apply node that caused the error" in text
    assert "shape=(3,)" in text and "shape=(4,)" in text
    assert "test_conformance.py" in text


# ------------------------------------------------------------------ buffers
@pytest.mark.parametrize("backend", BACKENDS)
def test_outputs_are_not_overwritten_by_the_next_call(backend):
    x = T.dvector("x")
    f = gc.function([x], [T.exp(x) + 1, x.sum(), (x * 2).dimshuffle("x", 0)], mode=backend)
    a = f(np.zeros(10))
    a_copy = [np.copy(v) for v in a]
    b = f(np.ones(10))
    for old, kept in zip(a, a_copy):
        np.testing.assert_array_equal(old, kept)
    for new, old in zip(b, a):
        assert not np.shares_memory(new, old)


@pytest.mark.parametrize("backend", BACKENDS)
def test_outputs_do_not_alias_inputs(backend):
    x = T.dvector("x")
    f = gc.function([x], [x, x.dimshuffle("x", 0), x + 0], mode=backend)
    v = np.arange(5.0)
    outs = f(v)
    for o in outs:
        assert not np.shares_memory(o, v)


@pytest.mark.parametrize("backend", BACKENDS)
def test_repeated_calls_do_not_grow_memory(backend):
    import tracemalloc

    x, W = T.dmatrix("x"), T.dmatrix("W")
    h = T.tanh(T.dot(x, W) + 1)
    f = gc.function([x, W], [h.sum(axis=0), T.nnet.softmax(h)], mode=backend)
    xv, Wv = _values("float64", (64, 32), 1), _values("float64", (32, 16), 2)
    for _ in range(5):
        f(xv, Wv)
    tracemalloc.start()
    try:
        f(xv, Wv)
        first, _ = tracemalloc.get_traced_memory()
        for _ in range(50):
            f(xv, Wv)
        later, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # growing by one output set per call would be 50 * ~4 KiB
    assert later - first < 16 * 1024, (first, later)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("inplace", [False, True])
def test_gemm_gemv_ops(backend, dtype, inplace):
    from graphcore.tensor.blas import Gemm, Gemv

    z, x, y = sym(dtype, 2, "z"), sym(dtype, 2, "x"), sym(dtype, 2, "y")
    zv, v = sym(dtype, 1, "zv"), sym(dtype, 1, "v")
    a = T.constant(np.asarray(1.5, dtype=dtype))
    outs = []
    for k, beta in enumerate((0.0, 1.0, -0.5)):
        b = T.constant(np.asarray(beta, dtype=dtype))
        c = T.constant(np.asarray(k + 1, dtype=dtype))  # a fresh temporary per destroyer
        outs.append(Gemm(inplace)(z * c, a, x, y, b))
        outs.append(Gemm(inplace)((z * c).T + 1, a, y.T, x.T, b))
        outs.append(Gemv(inplace)(zv * c, a, x, v, b))
        outs.append(Gemv(inplace)(T.tanh(zv[:4] * c), a, y.T, v, b))
    check(backend, [z, x, y, zv, v], outs,
          [_values(dtype, (5, 4), 1), _values(dtype, (5, 3), 2), _values(dtype, (3, 4), 3),
           _values(dtype, (5,), 4), _values(dtype, (3,), 5)], accept_inplace=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gemm_shape_mismatch_raises(backend):
    from graphcore.tensor.blas import Gemm

    z, x, y = T.dmatrix("z"), T.dmatrix("x"), T.dmatrix("y")
    one = T.constant(np.float64(1.0))
    f = gc.function([z, x, y], Gemm(False)(z, one, x, y, one), mode=backend)
    with pytest.raises(ValueError):
        f(np.zeros((2, 2)), np.zeros((2, 3)), np.zeros((4, 2)))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_advanced_indexing_axis0_shapes_and_errors(backend, dtype):
    x = sym(dtype, 3, "x")
    y = sym(dtype, 3, "y")
    yb = T.tensor(dtype=dtype, shape=(None, 1, None), name="yb")  # broadcasts over axis 1
    i = T.lvector("i")
    j = T.mod(i, 2)
    outs = [x[i], x.T[j], T.inc_subtensor(x[i], y), T.set_subtensor(x[i], y),
            T.inc_subtensor(x[i], yb), T.inc_subtensor(x.T[j], T.ones_like(x.T[j]) * 2)]
    idx = np.array([1, -1, 0, 1, 3])
    check(backend, [x, y, yb, i], outs,
          [_values(dtype, (4, 3, 2), 1), _values(dtype, (5, 3, 2), 2), _values(dtype, (5, 1, 2), 3), idx])
    f = gc.function([x, i], x[i], mode=backend)
    with pytest.raises(IndexError):
        f(_values(dtype, (4, 3, 2), 1), np.array([0, 4]))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "int8", "bool"])
def test_join_and_alloc(backend, dtype):
    x, y = sym(dtype, 3, "x"), sym(dtype, 3, "y")
    s = T.tensor(dtype=dtype, shape=(), name="s")
    outs = [T.join(0, x, y), T.join(1, x, y, x), T.join(2, x, y[:, :, ::-1]), T.join(0, x[:0], y),
            T.alloc(s, x.shape[0], 2), T.alloc(s, 0, x.shape[2])]
    check(backend, [x, y, s], outs, [_values(dtype, (2, 3, 4), 1), _values(dtype, (2, 3, 4), 2),
                                     _values(dtype, (), 3)])
    f = gc.function([x, y], T.join(0, x, y), mode=backend)
    with pytest.raises(ValueError):
        f(_values(dtype, (2, 3, 4), 1), _values(dtype, (2, 5, 4), 2))


def _native_labels(f, opname):
    """The kernel kinds of the instructions whose op's name starts with `opname`."""
    return [kind for op, kind in f.executable.kernel_labels() if op.startswith(opname)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "int64", "int8", "bool"])
def test_inc_subtensor_basic(backend, dtype):
    x = sym(dtype, 3, "x")
    y2 = sym(dtype, 2, "y2")
    yb = T.tensor(dtype=dtype, shape=(1, None), name="yb")  # broadcasts over its first axis
    s = T.tensor(dtype=dtype, shape=(), name="s")
    i, j = T.lscalar("i"), T.lscalar("j")
    c = T.constant(np.asarray(1, dtype=dtype))
    t = x.T * c  # a temporary (transposed: non-contiguous) that the update may overwrite
    outs = [T.set_subtensor(x[0], s), T.inc_subtensor(x[:, 1], y2),  # out of place
            T.inc_subtensor(x[1:, ::-1, 0], y2[:2, :4]),  # negative step
            T.inc_subtensor(x[::-1, 2:0:-1, 1:], yb),  # broadcast y, negative steps
            T.set_subtensor(x[:, :, i], y2[:, :4]),
            T.inc_subtensor(x[i:j, ::2], s),  # symbolic bounds, scalar y
            T.inc_subtensor(t[1, :, None], yb[0].dimshuffle(0, "x", "x")),  # new axis, temporary
            T.set_subtensor(t[::-2, 1:], yb[:, :3]), T.inc_subtensor(t[-1], y2[:3, :4].T),
            T.inc_subtensor(x[5:], s)]  # an empty region
    f = check(backend, [x, y2, yb, s, i, j], outs,
              [_values(dtype, (3, 4, 5), 1), _values(dtype, (3, 5), 2), _values(dtype, (1, 4), 3),
               _values(dtype, (), 4), np.int64(1), np.int64(3)], accept_inplace=True)
    if backend == "cpu":
        kinds = _native_labels(f, "IncSubtensor")
        assert len(kinds) == len(outs) and set(kinds) == {"native"}, kinds


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("inplace", [False, True])
def test_inc_subtensor_in_place_and_out_of_place(backend, inplace):
    from graphcore.tensor.subtensor import IncSubtensor

    x, y = T.dmatrix("x"), T.dvector("y")
    t = x * 2
    inc = IncSubtensor((slice(None, None, -1), 1), inplace=inplace)(t, y)
    st = IncSubtensor((slice(1, None),), inplace=inplace, set_instead_of_inc=True)(x * 3, y[:3])
    u = x * 5
    both = IncSubtensor((slice(1, None),), inplace=inplace)(u, u[:-1])  # y overlaps the update
    f = check(backend, [x, y], [inc, st, both], [_values("float64", (4, 3), 1),
                                                 _values("float64", (4,), 2)], accept_inplace=True)
    if backend == "cpu":
        assert set(_native_labels(f, "IncSubtensor")) == {"native"}
    xv = _values("float64", (4, 3), 1)
    keep = xv.copy()
    f(xv, _values("float64", (4,), 2))
    np.testing.assert_array_equal(xv, keep)  # inputs are never overwritten


@pytest.mark.parametrize("backend", BACKENDS)
def test_inc_subtensor_errors(backend):
    x, y = T.dmatrix("x"), T.dvector("y")
    i = T.lscalar("i")
    f = gc.function([x, y, i], T.inc_subtensor(x[i], y), mode=backend)
    with pytest.raises(IndexError):
        f(np.zeros((2, 3)), np.zeros(3), np.int64(5))
    with pytest.raises(ValueError):
        f(np.zeros((2, 3)), np.zeros(4), np.int64(0))
    with pytest.raises(ValueError):  # length 1 but not typed as broadcastable (Theano's rule)
        f(np.zeros((2, 3)), np.zeros(1), np.int64(0))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("inplace", [False, True])
def test_ger(backend, dtype, inplace):
    from graphcore.tensor.blas import Ger

    A, x, y = sym(dtype, 2, "A"), sym(dtype, 1, "x"), sym(dtype, 1, "y")
    outs = []
    for k, alpha in enumerate((1.5, -1.0, 0.0)):
        a = T.constant(np.asarray(alpha, dtype=dtype))
        c = T.constant(np.asarray(k + 1, dtype=dtype))  # a fresh temporary per destroyer
        outs.append(Ger(inplace)(A * c, a, x[:5], y[:4]))  # C order
        d = T.constant(np.asarray(k + 5, dtype=dtype))
        outs.append(Ger(inplace)((A.T * d).T, a, x[::-2], y[4:]))  # Fortran order, negative stride
        outs.append(Ger(False)(A, a, x[::2], y[::2]))  # an input (never overwritten)
        outs.append(Ger(inplace)(T.tanh(A * c)[::2, 1:3], a, x[1:4], y[1:3]))  # strided rows
    outs.append(Ger(False)(A[:0], T.constant(np.asarray(2.0, dtype=dtype)), x[:0], y[:4]))  # empty
    f = check(backend, [A, x, y], outs, [_values(dtype, (5, 4), 1), _values(dtype, (10,), 2),
                                         _values(dtype, (8,), 3)], accept_inplace=True)
    if backend == "cpu":
        kinds = _native_labels(f, "Ger")
        assert len(kinds) == len(outs) and "perform" not in kinds, kinds
    with np.errstate(invalid="ignore"):  # alpha 0 with an inf in x: NumPy's nan row
        check(backend, [A, x, y], Ger(False)(A, T.constant(np.asarray(0, dtype=dtype)), x, y),
              [_values(dtype, (2, 3), 1), np.array([np.inf, 1.0], dtype=dtype), _values(dtype, (3,), 3)])
    with pytest.raises(ValueError):
        f2 = gc.function([A, x, y], Ger(False)(A, T.constant(np.asarray(1, dtype=dtype)), x, y),
                         mode=backend)
        f2(_values(dtype, (5, 4), 1), _values(dtype, (4,), 2), _values(dtype, (4,), 3))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_advanced_indexing_several_arrays(backend, dtype):
    """x[rows, cols] and x[:, rows, cols]: index arrays broadcast against each other, negative
    and repeated indices, strided x, int32 indices; inc accumulates repeats, set keeps the last."""
    x = sym(dtype, 3, "x")
    y2, y3 = sym(dtype, 2, "y2"), sym(dtype, 3, "y3")
    yb = T.tensor(dtype=dtype, shape=(1, None), name="yb")  # broadcasts over its first axis
    r, c = T.lvector("r"), T.lvector("c")
    rc = T.lmatrix("rc")  # a column (3, 1): broadcasts against c
    r32 = T.ivector("r32")
    one = T.constant(np.asarray(1, dtype=dtype))
    t = x * one  # a temporary the in-place ops may overwrite
    inc = AdvancedIncSubtensor((ARR, ARR), inplace=True)
    put = AdvancedIncSubtensor((slice(None), ARR, ARR), inplace=True,
                               set_instead_of_inc=True)
    outs = [x[r, c], x[:, r, c], x[rc, c], x.T[r, c], x[::-1, :, 1:][r32, c[:3]],
            x[r, c, :], x[rc, r][:, :0],  # an empty index broadcast
            T.inc_subtensor(x[r, c], y2), T.set_subtensor(x[r, c], y2),  # repeated (r, c) pairs
            T.inc_subtensor(x[rc, c], y3), T.set_subtensor(x[:, r, c], yb),
            T.inc_subtensor(x.T[r, c], y2[:, ::-1]), T.set_subtensor(x[r32, c[:3]], y2[:3] * 2),
            inc(t, y2, r, c), put(t.T * 2, yb, r, c),
            inc(t[::2], t[0, :2], r[:2] % 2, c[:2])]  # y overlaps x
    rv = np.array([0, -1, 2, 0, 3, 0])
    cv = np.array([1, 1, -5, 1, 4, 1])  # (0, 1) three times, (-1, 1) once
    f = check(backend, [x, y2, y3, yb, r, c, rc, r32], outs,
              [_values(dtype, (5, 5, 5), 1), _values(dtype, (6, 5), 2),
               _values(dtype, (3, 6, 5), 3), _values(dtype, (1, 6), 4), rv, cv,
               np.array([[1], [-2], [3]]), np.array([2, 0, 1], dtype="int32")],
              accept_inplace=True)
    if backend == "cpu":
        kinds = _native_labels(f, "AdvancedSubtensor") + _native_labels(f, "AdvancedIncSubtensor")
        assert len(kinds) >= len(outs) - 2 and set(kinds) == {"native"}, kinds


@pytest.mark.parametrize("backend", BACKENDS)
def test_advanced_indexing_several_arrays_errors(backend):
    x, y = T.dmatrix("x"), T.dvector("y")
    r, c = T.lvector("r"), T.lvector("c")
    f = gc.function([x, r, c], x[r, c], mode=backend)
    g = gc.function([x, y, r, c], T.inc_subtensor(x[r, c], y), mode=backend)
    h = gc.function([x, y, r, c], T.set_subtensor(x[r, c], y), mode=backend)
    xv = np.zeros((3, 5))
    for fn, args in ((f, ()), (g, (np.ones(2),)), (h, (np.ones(2),))):
        with pytest.raises(IndexError, match=r"index 7 is out of bounds for axis 1 with size 5 "
                                             r"\(x has shape \(3, 5\)"):
            fn(xv, *args, np.array([0, 1]), np.array([1, 7]))
        with pytest.raises(IndexError, match=r"index -4 is out of bounds for axis 0 with size 3"):
            fn(xv, *args, np.array([-4, 1]), np.array([1, 2]))
        with pytest.raises(IndexError, match="shape mismatch"):
            fn(xv, *args, np.array([0, 1]), np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="cannot broadcast y of shape"):
        g(xv, np.ones(3), np.array([0, 1]), np.array([1, 2]))
    np.testing.assert_array_equal(xv, 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_advanced_indexing_several_arrays_other_dtypes_fall_back(backend):
    x, y = T.imatrix("x"), T.ivector("y")
    r, c = T.lvector("r"), T.lvector("c")
    f = check(backend, [x, y, r, c], [x[r, c], T.inc_subtensor(x[r, c], y)],
              [_values("int32", (3, 4), 1), _values("int32", (3,), 2), np.array([0, 2, 0]),
               np.array([1, -1, 1])])
    if backend == "cpu":
        assert set(_native_labels(f, "Advanced")) == {"perform"}
