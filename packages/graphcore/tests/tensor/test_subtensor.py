"""Indexing: x[...] (basic, integer arrays, boolean masks), set/inc_subtensor, take, nonzero.

Every value is compared with NumPy on the same index; shapes with
check_infer_shape (the inferred shape vs the computed value, and the static
type vs the value); gradients with finite differences (verify_grad).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphcore as theano
import graphcore.tensor as T
from graphcore.tensor.advanced_subtensor import (AdvancedIncSubtensor, AdvancedIncSubtensor1,
                                                 AdvancedSubtensor, AdvancedSubtensor1)
from graphcore.tensor.subtensor import SYM, IncSubtensor, Subtensor
from graphcore.testing import check_infer_shape, verify_grad

RNG = np.random.default_rng(0)


def tensor_like(value, name="x"):
    return T.TensorType(value.dtype, (None,) * value.ndim)(name)


def run(inputs, outputs, *values):
    return theano.function(list(inputs), outputs, on_unused_input="ignore")(*values)


def check_index(value, index, sym_index=None, sym_values=()):
    """x[index] compiled == value[index] (values, dtype, shape), and infer_shape agrees."""
    x = tensor_like(value)
    sym_index = index if sym_index is None else sym_index
    out = x[sym_index]
    inputs = [x, *[v for v, _ in sym_values]]
    values = [value, *[val for _, val in sym_values]]
    got = run(inputs, out, *values)
    want = value[index]
    assert got.dtype == want.dtype
    assert got.shape == want.shape, (index, got.shape, want.shape)
    np.testing.assert_array_equal(got, want)
    check_infer_shape([out], inputs, values)
    assert tuple(run(inputs, out.shape, *values)) == want.shape
    return out


# ------------------------------------------------------------------- basic
def slices(n):
    bound = st.one_of(st.none(), st.integers(-n - 2, n + 2))
    step = st.one_of(st.none(), st.integers(-3, 3).filter(lambda s: s != 0))
    return st.builds(slice, bound, bound, step)


@st.composite
def basic_case(draw):
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=1, max_size=3)))
    value = np.arange(int(np.prod(shape)), dtype="float64").reshape(shape)
    entries, axis = [], 0
    ellipsis = False
    for _ in range(draw(st.integers(0, len(shape) + 1))):
        kind = draw(st.sampled_from(["int", "slice", "slice", "none", "ellipsis"]))
        if kind == "none":
            entries.append(None)
        elif kind == "ellipsis":
            if not ellipsis:
                ellipsis = True
                entries.append(Ellipsis)
        elif axis < len(shape):
            n = shape[axis] if not ellipsis else None
            if kind == "int" and n:
                entries.append(draw(st.integers(-n, n - 1)))
                axis += 1
            elif kind == "slice":
                entries.append(draw(slices(shape[axis])))
                axis += 1
    if ellipsis:  # ints after an Ellipsis would need the expanded axis: keep them slices
        k = entries.index(Ellipsis)
        entries = entries[:k + 1] + [e if not isinstance(e, int) else slice(None)
                                     for e in entries[k + 1:]]
    return value, tuple(entries)


@settings(max_examples=60, deadline=None)
@given(basic_case())
def test_basic_indexing_matches_numpy(case):
    value, index = case
    out = check_index(value, index)
    assert isinstance(out.owner.op, Subtensor)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), slices(6))
def test_symbolic_slice_bounds_match_numpy(n, sl):
    value = np.arange(n * 2, dtype="float64").reshape(n, 2)
    syms, sym_parts = [], []
    for name, c in (("start", sl.start), ("stop", sl.stop), ("step", sl.step)):
        if c is None:
            sym_parts.append(None)
        else:
            v = T.lscalar(name)
            syms.append((v, c))
            sym_parts.append(v)
    out = check_index(value, (sl, 1), (slice(*sym_parts), 1), syms)
    assert out.owner.op.idx_list[0] == slice(*[None if p is None else SYM for p in sym_parts])


def test_negative_steps_and_empty_results():
    value = RNG.standard_normal((5, 4))
    for index in [np.s_[::-1], np.s_[::-2, 1], np.s_[3:0:-1], np.s_[-1:-6:-2, ::-3], np.s_[2:2],
                  np.s_[4:1], np.s_[:, 5:], np.s_[10:], np.s_[-10:2], np.s_[..., ::-1]]:
        check_index(value, index)


def test_symbolic_int_index_and_ellipsis_and_newaxis():
    value = RNG.standard_normal((3, 4, 5))
    i = T.lscalar("i")
    check_index(value, (1, Ellipsis, 2), (i, Ellipsis, 2), [(i, 1)])
    check_index(value, (None, -1, None, slice(1, 3)), (None, i, None, slice(1, 3)), [(i, -1)])
    check_index(value, (Ellipsis, None))
    check_index(value, ())
    # a 0-d result is still an array, a view of x
    x = tensor_like(value)
    assert run([x], x[0, 1, 2], value).shape == ()


def test_static_shape_inference():
    x = T.TensorType("float32", (5, None, 1))("x")
    assert x[1:].type.shape == (4, None, 1)
    assert x[::-2, 0].type.shape == (3, 1)
    assert x[None, :, 2:, 0].type.shape == (1, 5, None)
    assert x[10:].type.shape == (0, None, 1)
    assert x[T.lscalar():].type.shape == (None, None, 1)
    assert x[:, T.lscalar()].type.shape == (5, 1)
    assert x[[0, 1, 1]].type.shape == (3, None, 1)
    assert x[[[0, 1]], :, [0]].type.shape == (1, 2, None)
    assert x[0, :, [0, 0]].type.shape == (2, None)
    assert x[:, 0, [0, 0]].type.shape == (5, 2)
    assert x[np.array([True, False, True, True, False])].type.shape == (3, None, 1)
    assert x[T.bvector() > 0].type.shape == (None, None, 1)
    y = T.matrix("y")  # slices that are empty whatever the length
    assert y[2:2].type.shape == (0, None) and y[:0].type.shape == (0, None)
    assert y[-1:-3].type.shape == (0, None) and y[1:3:-1].type.shape == (0, None)
    assert y[1:3].type.shape == (None, None) and y[-3:-1:-1].type.shape == (0, None)
    assert x.shape[0].eval() == 5  # x.shape[i] with a static length is a constant
    assert x.shape[-1].eval() == 1


def test_equal_indexing_merges_and_symbolic_scalars_are_inputs():
    x = T.matrix("x")
    i = T.lscalar("i")
    a, b = x[1:3, ::2], x[1:3, ::2]
    assert a.owner.op == b.owner.op and hash(a.owner.op) == hash(b.owner.op)
    assert a.owner.op != x[1:3].owner.op
    c = x[i:, 2]
    assert c.owner.op.idx_list == (slice(SYM, None, None), 2)
    assert c.owner.inputs[1].type.dtype == "int64"
    # constant scalar tensors are folded into the props
    assert x[T.constant(2)].owner.op == x[2].owner.op
    assert x[1, :].owner.op == x[1].owner.op  # trailing full slices do not matter
    assert "Subtensor" in str(a.owner.op) and "1:3" in str(a.owner.op)
    assert Subtensor.view_map == {0: [0]}


# ---------------------------------------------------------------- advanced
ADVANCED = [
    np.s_[[0, 1]],
    np.s_[[1, 0, 0, -1]],
    np.s_[[[0, 1], [1, 0]]],
    np.s_[:, [0, 2]],
    np.s_[[0, 1], :, [1, 3]],
    np.s_[[0, 1], [1, 2], [3, 0]],
    np.s_[0, :, [1, 2]],
    np.s_[:, 0, [0, 1]],
    np.s_[[0], None, [0]],
    np.s_[:, [0], None, [1]],
    np.s_[..., [1, 2]],
    np.s_[[1], ..., [0]],
    np.s_[:, [0], ..., [1]],
    np.s_[None, [0, 1]],
    np.s_[::-1, [0, 0, 2]],
    np.s_[1:, [[0], [2]], [1, 3]],
    np.s_[[]],
    np.s_[np.array([], dtype="int32")],
    np.s_[np.array([True, False])],
    np.s_[np.array([[True, False, True], [False, False, True]])],
    np.s_[:, np.array([False, True, True]), 1:],
    np.s_[np.array([True, True]), [0, 2], 0],
    np.s_[True],
    np.s_[False],
]


@pytest.mark.parametrize("index", ADVANCED, ids=[str(i) for i in range(len(ADVANCED))])
def test_advanced_indexing_matches_numpy(index):
    value = RNG.standard_normal((2, 3, 4))
    out = check_index(value, index)
    assert isinstance(out.owner.op, (AdvancedSubtensor, AdvancedSubtensor1))


@st.composite
def advanced_case(draw):
    """A random index with arrays/masks mixed with ints, slices, None and one Ellipsis."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    bshape = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    entries = []
    for n in shape:
        kind = draw(st.sampled_from(["array", "array", "int", "slice", "mask", "none"]))
        if kind == "none":
            entries.append(None)
            kind = draw(st.sampled_from(["array", "slice"]))
        if kind == "array":
            sub = tuple(draw(st.sampled_from([b, 1])) for b in bshape)
            sub = sub[draw(st.integers(0, len(sub))):]
            size = int(np.prod(sub))
            entries.append(np.array(draw(st.lists(st.integers(-n, n - 1), min_size=size,
                                                  max_size=size)), dtype="int64").reshape(sub))
        elif kind == "int":
            entries.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            entries.append(draw(slices(n)))
        else:
            entries.append(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))))
    if draw(st.booleans()):  # an Ellipsis standing for the entries it replaces
        k = draw(st.integers(0, len(entries)))
        m = draw(st.integers(0, len(entries) - k))
        if all(isinstance(e, slice) and e == slice(None) for e in entries[k:k + m]):
            entries[k:k + m] = [Ellipsis]
    symbolic = [draw(st.booleans()) for _ in entries]
    return np.arange(int(np.prod(shape)), dtype="float64").reshape(shape), entries, symbolic


@settings(max_examples=50, deadline=None)
@given(advanced_case())
def test_advanced_indexing_property(case):
    """Values, shapes, placement of the advanced dims, set/inc vs NumPy; errors where NumPy errs."""
    value, entries, symbolic = case
    index = tuple(entries)
    sym_index, sym_values = [], []
    for k, (e, sym) in enumerate(zip(entries, symbolic)):
        if sym and isinstance(e, np.ndarray):
            v = T.TensorType(e.dtype, (None,) * e.ndim)(f"i{k}")
            sym_values.append((v, e))
            sym_index.append(v)
        else:
            sym_index.append(e)
    try:
        want = value[index]
    except IndexError:
        with pytest.raises(IndexError):
            check_index(value, index, tuple(sym_index), sym_values)
        return
    check_index(value, index, tuple(sym_index), sym_values)
    x = tensor_like(value)
    yv = RNG.standard_normal(want.shape)
    y = tensor_like(yv, "y")
    inputs = [x, y] + [v for v, _ in sym_values]
    values = [value, yv] + [val for _, val in sym_values]
    got_set, got_inc = run(inputs, [T.set_subtensor(x[tuple(sym_index)], y),
                                    T.inc_subtensor(x[tuple(sym_index)], y)], *values)
    np.testing.assert_allclose(got_set, numpy_set(value, index, yv))
    np.testing.assert_allclose(got_inc, numpy_inc(value, index, yv))


def test_integer_vector_on_axis_0_uses_advanced_subtensor1():
    x = T.matrix("x")
    iv = T.ivector("iv")
    for out in (x[iv], x[iv, :], x[iv, ...], x[[0, 2]]):
        assert isinstance(out.owner.op, AdvancedSubtensor1)
    assert isinstance(x[:, iv].owner.op, AdvancedSubtensor)
    assert isinstance(x[T.imatrix()].owner.op, AdvancedSubtensor)


def test_symbolic_index_arrays_and_masks():
    value = RNG.standard_normal((4, 3))
    iv, im = T.lvector("iv"), T.imatrix("im")
    ivv, imv = np.array([3, 0, 0, -2]), np.array([[0, 2], [1, 1]], dtype="int32")
    check_index(value, ivv, iv, [(iv, ivv)])
    check_index(value, (ivv, slice(None, None, -1)), (iv, slice(None, None, -1)), [(iv, ivv)])
    check_index(value, (slice(1, None), imv), (slice(1, None), im), [(im, imv)])
    check_index(value, (ivv, imv[:1, :1]), (iv, im), [(iv, ivv), (im, imv[:1, :1])])
    m = T.matrix("m")
    mv = RNG.standard_normal((4, 3))
    check_index(value, mv > 0, m > 0, [(m, mv)])
    bv = T.TensorType("bool", (None,))("bv")
    bvv = np.array([True, False, True, True])
    check_index(value, (bvv, 1), (bv, 1), [(bv, bvv)])
    i = T.lscalar("i")
    check_index(value, (ivv, -1), (iv, i), [(iv, ivv), (i, -1)])


def test_index_arrays_broadcast_against_each_other():
    value = RNG.standard_normal((3, 4))
    check_index(value, (np.array([[0], [2]]), np.array([1, 3, 0])))
    r, c = T.lmatrix("r"), T.lvector("c")
    rv, cv = np.array([[0], [2]]), np.array([1, 3, 0])
    check_index(value, (rv, cv), (r, c), [(r, rv), (c, cv)])
    rv1 = np.array([[1]])
    check_index(value, (rv1, cv), (r, c), [(r, rv1), (c, cv)])


# ----------------------------------------------------------------- set/inc
def numpy_set(value, index, y):
    out = value.copy()
    out[index] = y
    return out


def numpy_inc(value, index, y):
    out = value.copy()
    np.add.at(out, index, y)
    return out


SET_INC = [
    (np.s_[1:, ::-2], (2, 2)),
    (np.s_[0], (4,)),
    (np.s_[0], ()),
    (np.s_[:, 1], (1,)),
    (np.s_[None, 2, 1:3], (2,)),
    (np.s_[..., -1], (3,)),
    (np.s_[[0, 2, 0]], (3, 4)),
    (np.s_[[0, 2, 0]], (4,)),
    (np.s_[[1, 1, 1], [0, 0, 3]], (3,)),
    (np.s_[[1, 1], :, None], (2, 4, 1)),
    (np.s_[:, [3, 3, 0]], (3, 3)),
    (np.s_[0, [1, 1]], ()),
    (np.s_[[0], ..., [1, 1]], (2,)),
    (np.s_[np.array([[True, False, True, False]] * 3)], (6,)),
    (np.s_[np.array([True, False, True]), 1:], (1, 3)),
]


@pytest.mark.parametrize("index,yshape", SET_INC, ids=[str(i) for i in range(len(SET_INC))])
def test_set_and_inc_subtensor_match_numpy(index, yshape):
    value = RNG.standard_normal((3, 4))
    yv = RNG.standard_normal(yshape)
    x = tensor_like(value)
    y = T.TensorType("float64", tuple(1 if s == 1 else None for s in yshape))("y")
    for fn, ref in ((T.set_subtensor, numpy_set), (T.inc_subtensor, numpy_inc)):
        out = fn(x[index], y)
        got = run([x, y], out, value, yv)
        np.testing.assert_allclose(got, ref(value, index, yv))
        assert got.dtype == value.dtype
        check_infer_shape([out], [x, y], [value, yv])
    # the input is not modified by the out-of-place ops
    assert np.array_equal(value, value.copy())


def test_inc_accumulates_repeated_indices_and_set_keeps_last_write():
    x = T.vector("x")
    y = T.vector("y")
    xv, yv = np.zeros(4), np.array([1.0, 2.0, 3.0, 4.0])
    idx = [1, 1, 3, 1]
    assert run([x, y], T.inc_subtensor(x[idx], y), xv, yv).tolist() == [0, 7, 0, 3]
    assert run([x, y], T.set_subtensor(x[idx], y), xv, yv).tolist() == [0, 4, 0, 3]
    m = T.matrix("m")
    mv = np.zeros((2, 3))
    got = run([m, y], T.inc_subtensor(m[[0, 0, 1, 0], [2, 2, 2, 2]], y), mv, yv)
    assert got.tolist() == [[0, 0, 7], [0, 0, 3]]


def test_set_inc_with_symbolic_indices_and_python_scalars():
    x = T.matrix("x")
    i, iv = T.lscalar("i"), T.lvector("iv")
    xv = RNG.standard_normal((4, 3))
    got = run([x, i], T.set_subtensor(x[i:, 0], 5), xv, 2)
    np.testing.assert_allclose(got, numpy_set(xv, np.s_[2:, 0], 5))
    got = run([x, iv], T.inc_subtensor(x[iv], 1.5), xv, np.array([0, 0, -1]))
    np.testing.assert_allclose(got, numpy_inc(xv, [0, 0, -1], 1.5))
    got = run([x, iv], T.inc_subtensor(x[1:, iv], [1.0, 2.0, 3.0]), xv, np.array([2, 2, 0]))
    np.testing.assert_allclose(got, numpy_inc(xv, np.s_[1:, [2, 2, 0]], [1.0, 2.0, 3.0]))
    # indexed through an inserted axis: y loses that axis
    got = run([x], T.set_subtensor(x[1].dimshuffle("x", 0), np.ones((1, 3))), xv)
    np.testing.assert_allclose(got, numpy_set(xv, 1, 1.0))
    # ... or transposed: y is transposed back
    y = T.matrix("y")
    yv = RNG.standard_normal((3, 2))
    got = run([x, y], T.inc_subtensor(x[[0, 0]].T, y), xv, yv)
    np.testing.assert_allclose(got, numpy_inc(xv, [0, 0], yv.T))
    got = run([x, y], T.set_subtensor(x[2:, None].dimshuffle(2, 1, 0), y[:, :1, None]), xv, yv)
    np.testing.assert_allclose(got, numpy_set(xv, np.s_[2:], yv[:, :1].T))
    with pytest.raises(ValueError, match="inserted axis"):
        T.set_subtensor(x[1].dimshuffle("x", 0), T.matrix())


def test_set_inc_dtypes():
    xi = T.ivector("xi")
    out = T.inc_subtensor(xi[1:], T.bvector("b"))
    assert out.type.dtype == "int32"
    assert T.set_subtensor(xi[0], 7).type.dtype == "int32"
    xf = T.fvector("xf")
    assert T.set_subtensor(xf[0], 0.5).type.dtype == "float32"
    with pytest.raises(TypeError, match="float64.*float32"):
        T.set_subtensor(xf[0], T.dscalar("d"))
    with pytest.raises(TypeError, match="float64.*int32"):
        T.inc_subtensor(xi[[0, 1]], T.dvector("d"))
    with pytest.raises(TypeError, match="int32"):
        T.set_subtensor(xi[0], 1.5)
    with pytest.raises(TypeError, match="float64 to x's dtype int32"):
        T.set_subtensor(xi[0], 2.0)  # a float never becomes an int implicitly
    with pytest.raises(TypeError, match="int64 to x's dtype int32"):
        T.set_subtensor(xi[0], 2 ** 40)
    assert T.set_subtensor(T.bvector()[0], True).type.dtype == "int8"
    assert T.inc_subtensor(T.tensor("complex64", shape=(None,))[0], 1j).type.dtype == "complex64"
    with pytest.raises(TypeError, match="complex128 to x's dtype float32"):
        T.set_subtensor(xf[0], 1j)
    # constants (lists, arrays) take x's dtype when their values survive it
    got = run([xf], T.set_subtensor(xf[1:], [1, 2]), np.zeros(3, dtype="float32"))
    assert got.dtype == "float32" and got.tolist() == [0, 1, 2]
    assert T.inc_subtensor(xf[:2], np.full(2, 0.1)).type.dtype == "float32"
    assert T.inc_subtensor(xi[[0, 0]], np.array([1, 2], dtype="int64")).type.dtype == "int32"
    with pytest.raises(TypeError, match="int64 to x's dtype int32"):
        T.inc_subtensor(xi[[0, 0]], np.array([1, 2 ** 40]))
    with pytest.raises(TypeError, match="float64 to x's dtype int32"):
        T.set_subtensor(xi[1:], np.array([1.0, 2.5]))


def test_inplace_variants_destroy_their_input():
    op = IncSubtensor((slice(1, None),), inplace=True)
    assert op.destroy_map == {0: [0]} and IncSubtensor((0,)).destroy_map == {}
    assert op != IncSubtensor((slice(1, None),)) and "inplace" in str(op)
    assert AdvancedIncSubtensor1(inplace=True).destroy_map == {0: [0]}
    assert AdvancedIncSubtensor((None, 0), inplace=True).destroy_map == {0: [0]}
    x, y = T.vector("x"), T.vector("y")
    for node, idx in [(op.make_node(x, y), None),
                      (AdvancedIncSubtensor1(inplace=True).make_node(x, y, T.lvector()), [0, 0])]:
        xv = np.zeros(3)
        storage = [[None]]
        args = [xv, np.ones(2)] + ([np.array(idx)] if idx else [])
        node.op.perform(node, args, storage)
        assert storage[0][0] is xv and xv.tolist() == ([0, 1, 1] if idx is None else [2, 0, 0])


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("fn", [
    lambda a: a[1:, ::-2],
    lambda a: a[None, -1, 1:3],
    lambda a: a[2],
    lambda a: a[[0, 2, 2, 0]],
    lambda a: a[:, [1, 1, 0]],
    lambda a: a[[0, 1], [2, 2]],
    lambda a: a[[[0], [2]], 1:],
    lambda a: a[np.array([[True, False, True, False]] * 3)],
    lambda a: a[np.array([False, True, True])],
    lambda a: T.take(a, [[0, 3], [3, 3]], axis=1),
], ids=["slices", "newaxis", "int", "adv1", "adv_axis1", "adv_pairs", "adv_slice", "mask",
        "mask_rows", "take"])
def test_indexing_gradients(fn):
    verify_grad(fn, [RNG.standard_normal((3, 4))], rng=np.random.default_rng(1))


@settings(max_examples=40, deadline=None)
@given(st.one_of(advanced_case(), basic_case().map(lambda c: (c[0], list(c[1]), []))),
       st.sampled_from(["get", "set", "inc"]))
def test_gradient_property(case, which):
    """Gradients of x[idx], set and inc (repeated indices included) vs finite differences."""
    value, entries, _ = case
    index = tuple(entries)
    try:
        want = value[index]
    except IndexError:
        return
    rng = np.random.default_rng(4)
    xv = rng.standard_normal(value.shape)
    if which == "get":
        verify_grad(lambda a: a[index], [xv], rng=rng)
    else:
        fn = T.set_subtensor if which == "set" else T.inc_subtensor
        verify_grad(lambda a, b: fn(a[index], b), [xv, rng.standard_normal(want.shape)], rng=rng)


def test_gradient_through_a_mask_computed_from_x():
    x = T.vector("x")
    xv = np.array([1.0, -2.0, 3.0])
    g = T.grad((x[x > 0] ** 2).sum(), x)
    np.testing.assert_allclose(run([x], g, xv), [2, 0, 6])
    g = T.grad(T.set_subtensor(x[x > 0], 0.0).sum(), x)
    np.testing.assert_allclose(run([x], g, xv), [0, 1, 0])


def test_symbolic_slice_gradient():
    i = T.lscalar("i")

    def fn(a):
        out = a[i:, ::-1]
        return theano.clone(out, replace={i: T.constant(np.int64(1))})

    verify_grad(fn, [RNG.standard_normal((3, 4))])


@pytest.mark.parametrize("index,yshape", [
    (np.s_[1:, ::-2], (2, 2)),
    (np.s_[:, 1], (1,)),
    (np.s_[0], ()),
    (np.s_[[0, 2, 0]], (3, 4)),
    (np.s_[[0, 2, 0]], (4,)),
    (np.s_[[1, 1, 2], [0, 0, 3]], (3,)),
    (np.s_[:, [3, 3, 0]], (1, 3)),
    (np.s_[np.array([True, False, True]), 1:], (3,)),
    (np.s_[[2, 0, 2], None, 1:], (3, 1, 1)),
], ids=["basic", "basic_bcast", "scalar_y", "adv1", "adv1_bcast", "adv_pairs", "adv_bcast",
        "mask", "adv_newaxis"])
@pytest.mark.parametrize("fn", [T.inc_subtensor, T.set_subtensor], ids=["inc", "set"])
def test_set_inc_gradients(index, yshape, fn):
    """Repeated indices included: for set, only the last write gets y's gradient."""
    xv = RNG.standard_normal((3, 4))
    yv = RNG.standard_normal(yshape)
    ystatic = tuple(1 if s == 1 else None for s in yshape)

    def f(a, b):
        return fn(a[index], T.specify_shape(b, ystatic) if 1 in ystatic else b)

    verify_grad(f, [xv, yv], rng=np.random.default_rng(2))


def test_set_gradient_with_unique_rows():
    xv, yv = RNG.standard_normal((3, 4)), RNG.standard_normal((2, 4))
    verify_grad(lambda a, b: T.set_subtensor(a[[2, 0]], b), [xv, yv])
    verify_grad(lambda a, b: T.set_subtensor(a[[2, 0], [1, 1]], b[0, :2]), [xv, yv])


def test_gradient_of_integer_index_is_disconnected():
    x, iv = T.vector("x"), T.lvector("iv")
    cost = x[iv].sum()
    with pytest.raises(Exception, match="does not depend|disconnected|integer"):
        T.grad(cost, iv)
    g = T.grad(cost, x)
    np.testing.assert_allclose(run([x, iv], g, np.zeros(3), np.array([0, 0, 2])), [2, 0, 1])


def test_subtensor_r_op():
    x, ev = T.matrix("x"), T.matrix("ev")
    out = x[1:, ::-1]
    (rop,) = out.owner.op.R_op(out.owner.inputs, [ev])
    evv = RNG.standard_normal((3, 2))
    np.testing.assert_allclose(run([x, ev], rop, np.zeros((3, 2)), evv), evv[1:, ::-1])
    out = x[[0, 0]]
    (rop,) = out.owner.op.R_op(out.owner.inputs, [ev])
    np.testing.assert_allclose(run([x, ev], rop, np.zeros((3, 2)), evv), evv[[0, 0]])


def test_inc_r_op_is_the_linear_map():
    x, y, ex, ey = T.matrix("x"), T.vector("y"), T.matrix("ex"), T.vector("ey")
    xv, exv = RNG.standard_normal((3, 2)), RNG.standard_normal((3, 2))
    yv, eyv = RNG.standard_normal(2), RNG.standard_normal(2)
    for out, ref in [(T.set_subtensor(x[1], y), lambda a, b: numpy_set(a, 1, b)),
                     (T.inc_subtensor(x[[0, 0]], y), lambda a, b: numpy_inc(a, [0, 0], b)),
                     (T.set_subtensor(x[[2, 0], 1], y), lambda a, b: numpy_set(a, ([2, 0], 1), b))]:
        nidx = len(out.owner.inputs) - 2
        (rop,) = out.owner.op.R_op(out.owner.inputs, [ex, ey] + [None] * nidx)
        got = run([x, y, ex, ey], rop, xv, yv, exv, eyv)
        np.testing.assert_allclose(got, ref(exv, eyv))


def test_set_winners_marks_the_last_write():
    from graphcore.tensor.advanced_subtensor import SetWinners

    x, iv = T.matrix("x"), T.lvector("iv")
    out = SetWinners((slice(None), T.subtensor.ARR))(x, iv)
    ivv = np.array([1, 0, 1, 1, 2])
    got = run([x, iv], out, np.zeros((2, 3)), ivv)
    assert got.dtype == bool and got.tolist() == [[False, True, False, True, True]] * 2
    check_infer_shape([out], [x, iv], [np.zeros((2, 3)), ivv])


# ------------------------------------------------------------ take/nonzero
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("mode", ["raise", "wrap", "clip"])
def test_take_matches_numpy(axis, mode):
    value = RNG.standard_normal((3, 4))
    for ind in ([2, 0, 2], [[1, -1], [0, 2]], 1, [] if mode == "raise" else [5, -7]):
        ind = np.asarray(ind, dtype="int64")
        got = run([], T.take(T.constant(value), ind, axis=axis, mode=mode))
        want = np.take(value, ind, axis=axis, mode=mode)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    iv = T.lvector("iv")
    x = tensor_like(value)
    out = T.take(x, iv, axis=axis, mode=mode)
    got = run([x, iv], out, value, np.array([0, 2]))
    np.testing.assert_array_equal(got, np.take(value, [0, 2], axis=axis, mode=mode))


def test_nonzero_family_matches_numpy():
    value = np.array([[0.0, 1.5, 0.0], [np.nan, 0.0, -2.0]])
    x = tensor_like(value)
    for got, want in zip(run([x], list(T.nonzero(x)), value), np.nonzero(value)):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(run([x], T.nonzero(x, return_matrix=True), value),
                                  np.array(np.nonzero(value)))
    np.testing.assert_array_equal(run([x], T.flatnonzero(x), value), np.flatnonzero(value))
    np.testing.assert_array_equal(run([x], T.nonzero_values(x), value),
                                  value.reshape(-1)[np.flatnonzero(value)])
    for got, want in zip(run([x], list(T.where(x)), value), np.where(value)):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(run([x], list(x.nonzero()), value), value.nonzero()):
        np.testing.assert_array_equal(got, want)
    empty = np.zeros((2, 0))
    e = tensor_like(empty)
    assert run([e], T.nonzero(e, return_matrix=True), empty).shape == (2, 0)
    check_infer_shape([T.nonzero(x, return_matrix=True)], [x], [value])
    with pytest.raises(ValueError, match="0-d"):
        T.nonzero(T.scalar())


# ------------------------------------------------------------------ errors
def test_static_out_of_range_is_an_index_error_at_build_time():
    x = T.TensorType("float64", (3, None))("x")
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 3"):
        x[3]
    with pytest.raises(IndexError, match="index -4 is out of bounds for axis 0 with size 3"):
        x[-4, 1:]
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 0 with size 3"):
        x[[0, 5]]
    with pytest.raises(IndexError, match="index 7 is out of bounds for axis 1 with size 1"):
        x[:, [0]][[0, 1], [7]]
    x[100:]  # slices clip, as in NumPy
    x[:, 100]  # unknown length: checked at run time


def test_run_time_out_of_range_names_the_op_and_shapes():
    x, i, iv = T.matrix("x"), T.lscalar("i"), T.lvector("iv")
    value = np.zeros((2, 3))
    with pytest.raises(IndexError, match=r"(?s)Subtensor.*out of bounds.*\(2, 3\)"):
        run([x, i], x[i], value, 5)
    with pytest.raises(IndexError, match=r"(?s)AdvancedSubtensor1.*out of bounds.*\(2, 3\)"):
        run([x, iv], x[iv], value, np.array([0, 2]))
    with pytest.raises(IndexError, match=r"(?s)AdvancedSubtensor.*out of bounds"):
        run([x, iv], x[:, iv], value, np.array([0, 3]))
    with pytest.raises(IndexError, match=r"(?s)AdvancedIncSubtensor1.*out of bounds"):
        run([x, iv], T.inc_subtensor(x[iv], 1.0), value, np.array([9]))
    with pytest.raises(IndexError, match=r"(?s)IncSubtensor.*out of bounds"):
        run([x, i], T.set_subtensor(x[:, i], 1.0), value, -4)
    with pytest.raises(IndexError, match="boolean index did not match"):
        run([x, iv], x[T.neq(iv, 0)], value, np.array([1, 0, 1]))
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        run([x, i], x[::i], value, 0)


def test_invalid_indices():
    x = T.matrix("x")
    with pytest.raises(IndexError, match="too many indices.*2 dimension"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="too many indices"):
        x[np.ones((2, 2, 2), dtype=bool)]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., 0, ...]
    with pytest.raises(IndexError, match="valid indices.*float"):
        x[1.5]
    with pytest.raises(IndexError, match="valid indices.*float64"):
        x[T.dscalar("d")]
    with pytest.raises(IndexError, match="slice start must be an integer"):
        x[T.dscalar("d"):]
    with pytest.raises(IndexError, match="slice stop must be an integer scalar"):
        x[:T.lvector("v")]
    with pytest.raises(ValueError, match="step cannot be zero"):
        x[::0]
    with pytest.raises(IndexError, match="boolean index did not match.*axis 1"):
        T.TensorType("float64", (2, 3))("x")[:, np.array([True, False])]
    with pytest.raises(IndexError, match="could not be broadcast"):
        x[[0, 1], [0, 1, 2]]


def test_set_inc_errors():
    x = T.matrix("x")
    with pytest.raises(TypeError, match="result of indexing"):
        T.set_subtensor(x, 1.0)
    with pytest.raises(TypeError, match="result of indexing.*Elemwise"):
        T.inc_subtensor(x + 1, 1.0)
    xs = T.TensorType("float64", (3, 4))("xs")
    with pytest.raises(ValueError, match=r"cannot broadcast y of shape \(3,\) to the indexed "
                                         r"shape \(2, 4\)"):
        T.set_subtensor(xs[1:], np.ones(3))
    with pytest.raises(ValueError, match="3 dimensions but the indexed x has only 2"):
        T.set_subtensor(xs[1:], T.tensor3())
    y = T.vector("y")
    out = T.set_subtensor(x[1:], y)
    with pytest.raises(ValueError, match=r"cannot broadcast y of shape \(3,\) to the indexed "
                                         r"shape \(1, 4\)"):
        run([x, y], out, np.zeros((2, 4)), np.ones(3))
    # a length-1 y dimension of unknown static length does not broadcast (Theano's rule)
    with pytest.raises(ValueError, match="its type .* does not say so"):
        run([x, y], out, np.zeros((2, 4)), np.ones(1))
    # ... while one typed as length 1 does
    yb = T.TensorType("float64", (1,))("yb")
    got = run([x, yb], T.set_subtensor(x[1:], yb), np.zeros((2, 4)), np.ones(1))
    assert got.tolist() == [[0] * 4, [1] * 4]


def test_ops_pickle_and_theano_names():
    import pickle

    x, i = T.matrix("x"), T.lscalar("i")
    for out in (x[i:, ::-1], T.set_subtensor(x[[0, i], 1:], 2.0), x[x > 0], x[[1, 0]]):
        op = out.owner.op
        again = pickle.loads(pickle.dumps(op))
        assert again == op and hash(again) == hash(op)
    from graphcore.tensor import subtensor

    assert subtensor.AdvancedSubtensor1 is AdvancedSubtensor1
    assert isinstance(subtensor.advanced_set_subtensor1, AdvancedIncSubtensor1)
    assert subtensor.advanced_set_subtensor1.set_instead_of_inc
    with pytest.raises(AttributeError):
        subtensor.no_such_name
    f = theano.function([x, i], x[i:, ::-1])
    g = pickle.loads(pickle.dumps(f))
    value = RNG.standard_normal((3, 2))
    np.testing.assert_array_equal(g(value, 1), value[1:, ::-1])


def test_tensor_methods_and_item_assignment():
    x = T.matrix("x")
    value = RNG.standard_normal((3, 4))
    np.testing.assert_array_equal(run([x], x.take([2, 0], axis=1), value), value.take([2, 0], 1))
    np.testing.assert_array_equal(run([x], x.take([5]), value), value.take([5]))
    np.testing.assert_array_equal(run([x], (x > 0).nonzero_values(), value),
                                  (value > 0)[np.nonzero(value > 0)])
    with pytest.raises(TypeError, match="set_subtensor"):
        x[0] = 1.0
    with pytest.raises(TypeError, match="inc_subtensor"):
        x[0] += 1.0


def test_sparse_update_of_a_shared_variable():
    """Theano's idiom: updates=[(W, inc_subtensor(W[idx], -lr * g))], repeated rows accumulate."""
    W = theano.shared(np.zeros((5, 3)), name="W")
    idx, g = T.lvector("idx"), T.matrix("g")
    cost = (W[idx] ** 2).sum()
    gW = T.grad(cost, W)
    assert isinstance(gW.owner.op, AdvancedIncSubtensor1)
    f = theano.function([idx, g], cost, updates=[(W, T.inc_subtensor(W[idx], -0.5 * g))])
    f(np.array([0, 0, 4]), np.ones((3, 3)))
    want = np.zeros((5, 3))
    np.add.at(want, [0, 0, 4], -0.5)
    np.testing.assert_array_equal(W.get_value(), want)


@pytest.mark.parametrize("idx", [(np.array([0]), Ellipsis, np.array([0]), slice(None)),
                                 (Ellipsis, np.array([1]), slice(None)),
                                 (0, Ellipsis, slice(None))])
def test_trailing_full_slice_after_ellipsis_is_kept(idx):
    """x[i, ..., j, :] is not x[i, ..., j]: the `:` fixes which axis j indexes."""
    x = T.tensor3("x")
    xv = np.arange(12.0).reshape(2, 3, 2)
    want = xv.copy()
    want[idx] = 7.0
    got_read, got_set = theano.function([x], [x[idx], T.set_subtensor(x[idx], 7.0)])(xv)
    np.testing.assert_array_equal(got_read, xv[idx])
    np.testing.assert_array_equal(got_set, want)
