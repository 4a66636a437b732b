"""function(): outputs, arguments, In/Out, aliasing, updates, givens, conversions, errors, pickling."""

import inspect
import pickle
import warnings

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore import In, Out
from graphcore.compile import FunctionMaker, UnusedInputError
from graphcore.compile.mode import Mode
from graphcore.graph import MissingInputError

XV = np.array([1.0, 2.0, 3.0])
YV = np.array([0.5, -1.0, 4.0])


# ------------------------------------------------------------ outputs
def test_single_output_is_returned_bare():
    x = T.dvector("x")
    out = theano.function([x], x * 2)(XV)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, XV * 2)


def test_list_of_outputs_is_a_list():
    x = T.dvector("x")
    f = theano.function([x], [x + 1, x.sum()])
    a, b = f(XV)
    np.testing.assert_allclose(a, XV + 1)
    assert b.shape == () and b == XV.sum()
    single_list = theano.function([x], [x * 2])(XV)
    assert isinstance(single_list, list) and len(single_list) == 1


def test_no_outputs():
    s = theano.shared(0.0, "s")
    assert theano.function([], [], updates=[(s, s + 1)])() == []
    assert theano.function([], None, updates=[(s, s + 1)])() == []
    assert s.get_value() == 2.0


def test_tuple_outputs_and_inputs():
    x, y = T.dvector("x"), T.dvector("y")
    r = theano.function((x, y), (x + y, x - y))(XV, YV)
    np.testing.assert_allclose(r[0], XV + YV)
    np.testing.assert_allclose(r[1], XV - YV)


def test_constant_output():
    f = theano.function([], T.constant(np.array([1.0, 2.0])) * 2)
    np.testing.assert_allclose(f(), [2.0, 4.0])


# ------------------------------------------------------------ arguments
def test_keyword_arguments_by_name():
    x, y = T.dvector("x"), T.dvector("y")
    f = theano.function([x, y], x - y)
    np.testing.assert_allclose(f(y=YV, x=XV), XV - YV)
    np.testing.assert_allclose(f(XV, y=YV), XV - YV)


def test_argument_errors_name_the_argument():
    x, y = T.dvector("x"), T.dvector("y")
    f = theano.function([x, y], x - y, name="diff")
    with pytest.raises(TypeError, match="Missing required input: y"):  # Theano's words
        f(XV)
    with pytest.raises(TypeError, match=r"Unknown input or state: z\. The function has 2 named "
                                        r"inputs \(x, y\)\."):
        f(XV, YV, z=1)
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        f(XV, x=YV)
    with pytest.raises(TypeError, match="'diff' takes 2 argument"):
        f(XV, YV, XV)


def test_wrong_ndim_and_lossy_dtype_name_the_input():
    x, i = T.dvector("x"), T.ivector("i")
    f = theano.function([x, i], x * i)
    with pytest.raises(TypeError, match="input 'x'.*expected 1 dimensions.*got 2"):
        f([[1.0]], [1])
    with pytest.raises(TypeError, match="input 'i'.*int32.*float64.*may lose data"):
        f(XV, np.array([1.5, 2.0, 3.0]))
    with pytest.raises(TypeError, match="input 'i'.*int64"):
        f(XV, np.array([1, 2, 3], dtype="int64"))
    # unnamed inputs are named by position
    u = T.dvector()
    with pytest.raises(TypeError, match="input '#0'"):
        theano.function([u], u * 2)([[1.0]])


def test_safe_conversions_are_accepted():
    v = T.fvector("v")
    f = theano.function([v], v * 2)
    np.testing.assert_allclose(f(np.array([1, 2], dtype="int8")), [2.0, 4.0])
    assert f(np.array([1, 2], dtype="int8")).dtype == np.float32
    z = T.dscalar("z")
    assert theano.function([z], z * 2)(3) == 6.0
    i = T.lvector("i")
    np.testing.assert_array_equal(theano.function([i], i + 1)([1, 2]), [2, 3])


def test_allow_input_downcast():
    v = T.fvector("v")
    f = theano.function([v], v * 2, allow_input_downcast=True)
    r = f(np.array([1.1, 2.2]))
    assert r.dtype == np.float32
    np.testing.assert_allclose(r, np.float32([2.2, 4.4]))
    i = T.ivector("i")
    np.testing.assert_array_equal(theano.function([i], i, allow_input_downcast=True)([1.9, -2.9]),
                                  [1, -2])


def test_strict_input_rejects_conversion():
    v = T.fvector("v")
    f = theano.function([In(v, strict=True)], v * 2)
    with pytest.raises(TypeError, match="strict=True"):
        f([1.0])
    f(np.array([1.0], dtype="float32"))


def test_trust_input_skips_checks():
    x = T.dvector("x")
    f = theano.function([x], x * 2, trust_input=True)
    assert f.trust_input
    np.testing.assert_allclose(f(XV), XV * 2)
    f.trust_input = False
    with pytest.raises(TypeError):
        f([[1.0]])


# --------------------------------------------------------- In options
def test_in_value_makes_an_optional_argument():
    x, y = T.dvector("x"), T.dvector("y")
    f = theano.function([x, In(y, value=np.array([10.0, 20.0, 30.0]))], x + y)
    np.testing.assert_allclose(f(XV), XV + [10.0, 20.0, 30.0])
    np.testing.assert_allclose(f(XV, YV), XV + YV)
    np.testing.assert_allclose(f(x=XV), XV + [10.0, 20.0, 30.0])
    np.testing.assert_allclose(f["y"], [10.0, 20.0, 30.0])
    f["y"] = np.zeros(3)
    np.testing.assert_allclose(f(XV), XV)


def test_in_name_overrides_the_variable_name():
    x = T.dvector("x")
    f = theano.function([In(x, name="data")], x * 2)
    np.testing.assert_allclose(f(data=XV), XV * 2)
    with pytest.raises(TypeError, match=r"Unknown input or state: x\. .*\(data\)"):
        f(x=XV)


def test_in_update_keeps_private_state():
    x = T.dscalar("x")
    acc = T.dscalar("acc")
    f = theano.function([x, In(acc, value=0.0, update=acc + x)], acc)
    assert f(1.0) == 0.0  # outputs see the value before the update
    assert f(2.0) == 1.0
    assert f(3.0) == 3.0
    assert f["acc"] == 6.0
    with pytest.raises(ValueError, match="needs a value"):
        In(acc, update=acc + 1)


def test_in_mutable_and_borrow_do_not_change_results():
    x = T.dvector("x")
    a = XV.copy()
    f = theano.function([In(x, mutable=True)], x * 2)
    np.testing.assert_allclose(f(a), XV * 2)
    g = theano.function([In(x, borrow=True)], x + 1)
    np.testing.assert_allclose(g(a), a + 1)


def test_in_requires_a_root_variable():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="root variables"):
        In(x * 2)
    with pytest.raises(TypeError, match="symbolic Variable"):
        In(3)


# ---------------------------------------------------------- aliasing
def test_outputs_never_alias_inputs_shared_values_or_each_other():
    x = T.dvector("x")
    s = theano.shared(np.array([1.0, 2.0, 3.0]), "s")
    a = XV.copy()
    f = theano.function([x], [x, x.T, x.dimshuffle("x", 0), s, s.T, x])
    outs = f(a)
    internal = s.get_value(borrow=True)
    for k, o in enumerate(outs):
        assert not np.shares_memory(o, a), k
        assert not np.shares_memory(o, internal), k
    assert not np.shares_memory(outs[0], outs[5])
    outs[3][0] = 100.0  # mutating a result does not touch the shared value
    assert s.get_value()[0] == 1.0


def test_out_borrow_may_return_internal_storage():
    x = T.dvector("x")
    s = theano.shared(np.array([1.0, 2.0, 3.0]), "s")
    a = XV.copy()
    assert np.shares_memory(theano.function([In(x, borrow=True)], Out(x, borrow=True))(a), a)
    assert np.shares_memory(theano.function([], Out(s, borrow=True))(), s.get_value(borrow=True))
    f = theano.function([], [Out(s, borrow=True), s])
    b, c = f()
    assert not np.shares_memory(c, s.get_value(borrow=True))


def test_update_values_do_not_alias_returned_outputs():
    x = T.dvector("x")
    r = theano.shared(np.zeros(3), "r")
    f = theano.function([x], [r + x, r], updates=[(r, r + x)])
    o, old = f(XV)
    assert not np.shares_memory(o, r.get_value(borrow=True))
    o[...] = -1
    np.testing.assert_allclose(r.get_value(), XV)
    np.testing.assert_allclose(old, 0.0)


def test_identity_update_does_not_alias_another_shared_value():
    p = theano.shared(np.array([1.0, 2.0]), "p")
    q = theano.shared(np.array([3.0, 4.0]), "q")
    theano.function([], [], updates=[(p, q)])()
    q.get_value(borrow=True)[0] = 100.0
    np.testing.assert_allclose(p.get_value(), [3.0, 4.0])


# ------------------------------------------------------------- updates
def test_updates_are_applied_after_all_outputs():
    c = theano.shared(np.float64(0.0), "c")
    f = theano.function([], [c, c * 10], updates=[(c, c + 1)])
    a, b = f()
    assert a == 0.0 and b == 0.0
    a, b = f()
    assert a == 1.0 and b == 10.0
    assert c.get_value() == 2.0


def test_updates_are_simultaneous():
    p = theano.shared(np.float64(1.0), "p")
    q = theano.shared(np.float64(2.0), "q")
    theano.function([], [], updates=[(p, q), (q, p)])()
    assert (p.get_value(), q.get_value()) == (2.0, 1.0)


def test_updates_as_dict_and_python_values():
    c = theano.shared(np.float64(0.0), "c")
    theano.function([], [], updates={c: c + 5})()
    assert c.get_value() == 5.0
    theano.function([], [], updates=[(c, 7.0)])()
    assert c.get_value() == 7.0


def test_update_errors():
    c = theano.shared(np.float64(0.0), "c")
    x = T.dvector("x")
    with pytest.raises(TypeError, match="same type.*float32.*T.cast"):
        theano.function([], [], updates=[(c, c.astype("float32"))])
    with pytest.raises(TypeError, match="0 dimensions.*1 dimensions"):
        theano.function([], [], updates=[(c, T.zeros((2,)))])
    with pytest.raises(TypeError, match="not a shared variable"):
        theano.function([x], [], updates=[(x, x + 1)])
    with pytest.raises(ValueError, match="updated more than once"):
        theano.function([], [], updates=[(c, c + 1), (c, c + 2)])


def test_default_updates_and_no_default_updates():
    d = theano.shared(np.float64(0.0), "d")
    d.default_update = d + 1
    f = theano.function([], d * 1)
    assert f() == 0.0 and f() == 1.0 and d.get_value() == 2.0
    g = theano.function([], d * 1, no_default_updates=True)
    assert g() == 2.0 and d.get_value() == 2.0
    h = theano.function([], d * 1, no_default_updates=[d])
    assert h() == 2.0 and d.get_value() == 2.0
    k = theano.function([], d * 1, updates=[(d, d + 10)])  # explicit update wins
    k()
    assert d.get_value() == 12.0


# -------------------------------------------------------------- givens
def test_givens_substitute_before_compiling():
    x, y = T.dvector("x"), T.dvector("y")
    f = theano.function([y], x * 2, givens={x: y + 1})
    np.testing.assert_allclose(f(YV), (YV + 1) * 2)
    data = theano.shared(np.arange(6.0), "data")
    i = T.lscalar("i")
    g = theano.function([i], x.sum(), givens=[(x, data * i)])
    assert g(2) == 30.0
    with pytest.raises(TypeError, match="cannot replace x"):
        theano.function([i], x.sum(), givens={x: i})
    with pytest.raises(TypeError, match="key 3"):
        theano.function([i], x.sum(), givens={3: i})


# ------------------------------------------------------ input checking
def test_unused_input_raise_warn_ignore():
    x, y = T.dvector("x"), T.dvector("y")
    with pytest.raises(UnusedInputError, match=r"input 1 \(y\) is not used"):
        theano.function([x, y], x * 2)
    with pytest.warns(UserWarning, match=r"input 1 \(y\)"):
        f = theano.function([x, y], x * 2, on_unused_input="warn")
    np.testing.assert_allclose(f(XV, YV), XV * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        theano.function([x, y], x * 2, on_unused_input="ignore")
    with theano.change_flags(on_unused_input="ignore"):
        theano.function([x, y], x * 2)
    with pytest.raises(ValueError, match="on_unused_input"):
        theano.function([x], x, on_unused_input="sometimes")


def test_building_errors():
    x = T.dvector("x")
    with pytest.raises(MissingInputError, match="depend on x"):
        theano.function([], x * 2)
    with pytest.raises(TypeError, match="is a constant"):
        theano.function([T.constant(1.0)], x)
    with pytest.raises(TypeError, match="input 0 is a int"):
        theano.function([3], x)
    with pytest.raises(TypeError, match="must be a list"):
        theano.function(x, x)
    with pytest.raises(TypeError, match="output 0 is a str"):
        theano.function([x], "hello")
    with pytest.raises(ValueError, match="more than once"):
        theano.function([x, x], x)
    s = theano.shared(1.0, "s")
    with pytest.raises(TypeError, match=r"input 0 \(s\) is a shared variable.*givens"):
        theano.function([s], s * 2)


# ------------------------------------------------------- runtime errors
def test_runtime_error_names_the_op_the_inputs_and_the_user_line():
    a, b = T.dmatrix("a"), T.dmatrix("b")
    out = T.dot(a, b)
    line = inspect.currentframe().f_lineno - 1
    f = theano.function([a, b], out)
    with pytest.raises(ValueError) as info:
        f(np.ones((2, 3)), np.ones((2, 3)))
    msg = str(info.value)
    assert "Dot" in msg
    assert "shape=(2, 3) dtype=float64" in msg
    assert f'"{__file__}", line {line}' in msg
    assert "out = T.dot(a, b)" in msg
    assert info.value.node.op == out.owner.op


def test_runtime_broadcast_error_keeps_its_type():
    a, b = T.dmatrix("a"), T.dmatrix("b")
    f = theano.function([a, b], a + b)
    with pytest.raises(ValueError, match=r"\(1, 3\).*\(4, 3\)"):
        f(np.ones((1, 3)), np.ones((4, 3)))


# ------------------------------------------------------------- pickling
def test_pickled_function_keeps_shared_state_and_runs():
    x = T.dvector("x")
    s = theano.shared(np.zeros(3), "s")
    f = theano.function([x, In(T.dscalar("k"), value=2.0)], s * 1, updates=[(s, s + x)],
                        on_unused_input="ignore")
    f(XV)
    f2, s2 = pickle.loads(pickle.dumps([f, s]))
    np.testing.assert_allclose(s2.get_value(), XV)
    np.testing.assert_allclose(f2(XV), XV)  # sees the pickled state
    np.testing.assert_allclose(s2.get_value(), 2 * XV)  # and updates the unpickled variable
    np.testing.assert_allclose(s.get_value(), XV)  # the original is untouched
    assert f2["k"] == 2.0
    # re-linked: a fresh executable, same backend
    assert f2.maker.backend.name == f.maker.backend.name
    assert f2._exe is not f._exe


def test_pickled_function_alone_carries_its_shared_values():
    x = T.dvector("x")
    w = theano.shared(np.array([1.0, 2.0, 3.0]), "w")
    f = theano.function([x], (x * w).sum())
    g = pickle.loads(pickle.dumps(f))
    assert g(XV) == f(XV) == (XV * [1.0, 2.0, 3.0]).sum()


# ----------------------------------------------------------------- modes
def test_python_backend_mode_explicitly():
    x = T.dvector("x")
    f = theano.function([x], T.exp(x) + 1, mode=Mode(linker="python"))
    assert f.maker.backend.name == "python"
    np.testing.assert_allclose(f(XV), np.exp(XV) + 1)
    g = theano.function([x], x + 1, mode="python")
    assert g.maker.backend.name == "python"
    with pytest.raises(ValueError, match="unknown mode 'nonsense'"):
        theano.function([x], x, mode="nonsense")


def test_copy_is_an_independent_function():
    x = T.dvector("x")
    f = theano.function([x, In(T.dscalar("k"), value=1.0)], x * 2, on_unused_input="ignore")
    g = f.copy()
    np.testing.assert_allclose(g(XV), XV * 2)
    assert g is not f


def test_eval():
    x = T.dvector("x")
    np.testing.assert_allclose((x * 2).eval({x: XV}), XV * 2)
    assert T.constant(3.0).eval() == 3.0


def test_profile_on_the_python_backend():
    import io

    x = T.dvector("x")
    f = theano.function([x], T.exp(x).sum(), mode=Mode(linker="python"), profile=True, name="pf")
    for _ in range(3):
        f(XV)
    assert f.profile.ncalls == 3 and f.profile.supported
    assert all(c == 3 for c in f.profile.calls)
    assert f.profile.total_time > 0
    buf = io.StringIO()
    f.profile.summary(file=buf)
    text = buf.getvalue()
    assert text.startswith("Function profile (pf): 3 call(s)")
    assert "perform" in text
    np.testing.assert_allclose(f(XV), np.exp(XV).sum())  # profiling does not change results


def test_repr_get_shared_and_free():
    x = T.dvector("x")
    s = theano.shared(np.zeros(3), "s")
    f = theano.function([x], s + x, updates=[(s, s * 2)], name="step")
    text = repr(f)
    assert "'step'" in text and "(x)" in text and "1 update(s)" in text
    assert f.maker.backend.name in text
    assert f.get_shared() == [s]
    f.free()
    np.testing.assert_allclose(f(XV), XV)


def test_from_optimized_links_without_rewriting():
    x = T.dvector("x")
    s = theano.shared(np.zeros(3), "s")
    f = theano.function([x], T.log(1 + T.exp(x)), updates=[(s, s + x)])
    m = f.maker
    n_nodes = len(m.fgraph.apply_nodes)
    g = FunctionMaker.from_optimized(m.inputs, m.outputs, m.updates, m.implicit_shared, m.mode,
                                     m.spec, fgraph=m.fgraph, program=m.program,
                                     backend=m.backend).create()
    assert g.maker.program is m.program and g.maker.fgraph is m.fgraph
    assert len(g.maker.fgraph.apply_nodes) == n_nodes
    assert g.maker.compile_time["optimize"] == 0.0
    np.testing.assert_allclose(g(XV), np.log1p(np.exp(XV)))
    np.testing.assert_allclose(s.get_value(), XV)  # the update runs too
