"""Tensor types and Theano's constructors, floatX, NEP 50 promotion and Theano's broadcast rule."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.tensor.type import TensorType

PREFIXES = {"b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32",
            "d": "float64", "c": "complex64", "z": "complex128"}
KINDS = {"scalar": (), "vector": (None,), "row": (1, None), "col": (None, 1),
         "matrix": (None, None), "tensor3": (None,) * 3, "tensor4": (None,) * 4}


@pytest.mark.parametrize("prefix", sorted(PREFIXES))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_prefixed_constructors(prefix, kind):
    v = getattr(T, prefix + kind)("v")
    assert isinstance(v, T.TensorVariable)
    assert v.name == "v"
    assert v.dtype == PREFIXES[prefix]
    assert v.type.shape == KINDS[kind]
    assert v.ndim == len(KINDS[kind])
    assert v.broadcastable == tuple(s == 1 for s in KINDS[kind])


@pytest.mark.parametrize("floatX", ["float32", "float64"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_unprefixed_constructors_follow_floatX(floatX, kind):
    with theano.change_flags(floatX=floatX):
        v = getattr(T, kind)()
        assert v.dtype == floatX
        assert v.type.shape == KINDS[kind]
        # Python floats combined with floatX tensors stay floatX
        assert (v * 0.5).dtype == floatX


def test_constructor_dtype_argument():
    assert T.matrix(dtype="int16").dtype == "int16"
    assert T.vector("v", dtype="uint8").dtype == "uint8"


def test_tensortype_broadcastable_and_shape():
    t = TensorType("float32", broadcastable=(True, False))
    assert t.shape == (1, None) and t.broadcastable == (True, False) and t.ndim == 2
    assert TensorType("float64", (None, 3)).shape == (None, 3)
    assert TensorType("floatX", (None,)).dtype == theano.config.floatX
    assert TensorType("float32", (1, None)) == t and hash(TensorType("float32", (1, None))) == hash(t)
    assert TensorType("float64", (1, None)) != t
    v = t("v")
    assert v.type is t and v.broadcastable == (True, False)
    assert T.tensor("float32", shape=(None, 1)).broadcastable == (False, True)
    assert T.tensor(dtype="int32", broadcastable=(False,)).type.shape == (None,)


def test_tensortype_errors():
    with pytest.raises(TypeError, match="'foo' is not a dtype"):
        TensorType("foo", (None,))
    with pytest.raises(TypeError, match="unsupported dtype 'object'"):
        TensorType(object, (None,))
    with pytest.raises(TypeError, match="not both"):
        TensorType("float32", shape=(None,), broadcastable=(False,))
    with pytest.raises(TypeError, match="shape entries"):
        TensorType("float32", (-1,))


def test_filter_accepts_safe_values_and_names_lossy_ones():
    t = TensorType("int32", (None,))
    assert t.filter([1, 2]).dtype == np.int32
    assert t.filter(np.array([1, 2], dtype="int8")).dtype == np.int32
    with pytest.raises(TypeError, match="input 'i'.*float64.*may lose data"):
        t.filter(np.array([1.5]), name="i")
    with pytest.raises(TypeError, match="expected 1 dimensions.*got 2"):
        t.filter([[1]])
    np.testing.assert_array_equal(t.filter(np.array([1.7]), allow_downcast=True), [1])
    with pytest.raises(TypeError, match="dimension 1 differs"):
        TensorType("float64", (None, 3)).filter(np.zeros((2, 2)))


# ------------------------------------------------------------------ NEP 50
@pytest.mark.parametrize("make, scalar, expected", [
    (T.bvector, 1, "int8"),
    (T.wvector, 7, "int16"),
    (T.fvector, 0.5, "float32"),
    (T.ivector, 1.5, "float64"),
    (T.lvector, 2, "int64"),
    (T.fvector, 2, "float32"),
    (T.fvector, 1j, "complex64"),
])
def test_python_scalars_are_weak(make, scalar, expected):
    x = make("x")
    for expr in (x + scalar, scalar + x, x * scalar, x - scalar):
        assert expr.dtype == expected
    # and the values match NumPy 2
    value = np.array([1, 2, 3], dtype=x.dtype)
    got = theano.function([x], x + scalar)(value)
    want = value + scalar
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want)


def test_numpy_scalars_and_arrays_are_strong():
    x = T.fvector("x")
    assert (x + np.float64(1.0)).dtype == "float64"
    assert (x + np.ones(3)).dtype == "float64"
    assert (x + np.float32(1.0)).dtype == "float32"


def test_tensor_tensor_promotion_is_numpy():
    pairs = [("int8", "int16"), ("int8", "uint8"), ("float32", "float64"), ("int32", "float32"),
             ("bool", "int8"), ("uint16", "int16"), ("int64", "float32")]
    for a, b in pairs:
        x, y = T.vector(dtype=a), T.vector(dtype=b)
        assert (x + y).dtype == np.result_type(a, b).name, (a, b)


def test_out_of_range_python_int_is_a_clear_overflow_error():
    with pytest.raises(OverflowError, match="1000.*int8"):
        T.bvector("x") + 1000
    with pytest.raises(OverflowError, match="-1.*uint8"):
        T.vector(dtype="uint8") + (-1)


def test_int8_arithmetic_wraps_like_numpy():
    x = T.bvector("x")
    got = theano.function([x], x + 1)(np.array([127, 0], dtype="int8"))
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, np.array([127, 0], dtype="int8") + np.int8(1))


# ------------------------------------------------------- broadcasting rule
def test_size_one_value_in_unknown_dimension_does_not_broadcast():
    a, b = T.dmatrix("a"), T.dmatrix("b")
    f = theano.function([a, b], a + b)
    with pytest.raises(ValueError) as info:
        f(np.ones((1, 3)), np.ones((4, 3)))
    msg = str(info.value)
    assert "(1, 3)" in msg and "(4, 3)" in msg
    assert "add" in msg


def test_row_and_col_broadcast():
    m, r, c = T.dmatrix("m"), T.drow("r"), T.dcol("c")
    f = theano.function([m, r, c], [m + r, m * c])
    mv = np.arange(12.0).reshape(4, 3)
    rv = np.arange(3.0).reshape(1, 3)
    cv = np.arange(4.0).reshape(4, 1)
    s, p = f(mv, rv, cv)
    np.testing.assert_allclose(s, mv + rv)
    np.testing.assert_allclose(p, mv * cv)
    # a row given a non-row value is rejected up front, naming the input
    with pytest.raises(TypeError, match="'r'"):
        f(mv, np.ones((2, 3)), cv)


def test_lower_rank_operands_are_padded_on_the_left():
    m, v = T.dmatrix("m"), T.dvector("v")
    f = theano.function([m, v], m - v)
    mv, vv = np.arange(6.0).reshape(2, 3), np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(f(mv, vv), mv - vv)


def test_static_shape_mismatch_is_caught_when_building():
    a = T.TensorType("float64", (2, 3))("a")
    b = T.TensorType("float64", (4, 3))("b")
    with pytest.raises(ValueError, match="cannot be broadcast"):
        a + b


# ------------------------------------------------- property-based checks
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "float32",
          "float64", "complex64", "complex128"]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(DTYPES), st.sampled_from(DTYPES))
def test_property_tensor_promotion_is_numpys(a, b):
    x, y = T.vector(dtype=a), T.vector(dtype=b)
    assert (x + y).dtype == np.result_type(np.dtype(a), np.dtype(b)).name


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([d for d in DTYPES if d != "bool"]),
       st.one_of(st.integers(-300, 300), st.floats(-1e3, 1e3, allow_nan=False),
                 st.sampled_from([0.5, 1j, 2 ** 40])))
def test_property_weak_python_scalars_follow_nep50(dtype, scalar):
    x = T.vector(dtype=dtype)
    try:
        with np.errstate(all="ignore"):
            want = (np.zeros(1, dtype=dtype) * scalar).dtype
    except OverflowError:
        with pytest.raises(OverflowError):
            x * scalar
        return
    assert (x * scalar).dtype == want.name


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3), st.booleans(), st.booleans()), min_size=1,
                max_size=3))
def test_property_declared_broadcasting_matches_numpy(dims):
    # each dimension: a length n, and whether each operand is declared length 1 there
    shape_a = tuple(1 if ba else n for n, ba, _ in dims)
    shape_b = tuple(1 if bb else n for n, _, bb in dims)
    a = T.TensorType("float64", tuple(1 if ba else None for _, ba, _ in dims))("a")
    b = T.TensorType("float64", tuple(1 if bb else None for _, _, bb in dims))("b")
    va = np.arange(np.prod(shape_a), dtype="float64").reshape(shape_a)
    vb = np.arange(np.prod(shape_b), dtype="float64").reshape(shape_b) + 1
    got = theano.function([a, b], a * b - a)(va, vb)
    np.testing.assert_array_equal(got, va * vb - va)


def test_plural_constructors():
    a, b = T.dmatrices("a", "b")
    assert (a.name, b.name) == ("a", "b") and a.dtype == "float64" and a.ndim == 2
    x, y = T.dscalars("xy")  # Theano: one variable per character of a single string
    assert (x.name, y.name) == ("x", "y") and x.ndim == 0
    three = T.fvectors(3)
    assert len(three) == 3 and all(v.dtype == "float32" and v.ndim == 1 for v in three)
    k = T.iscalars("k")
    assert k.name == "k" and k.dtype == "int32"
    p, q = T.matrices(["p", "q"])
    assert p.dtype == theano.config.floatX and q.name == "q"
    r1, r2 = T.rows(2)
    assert r1.broadcastable == (True, False)
    assert T.ltensor3s("u", "v")[1].type.shape == (None, None, None)
