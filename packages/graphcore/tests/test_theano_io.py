"""A compiled function's inputs as Theano's doc/library/compile/io.txt describes them: defaults
and states (In(value=, update=, implicit=) and the tuple shortcuts), the container interface
(f[key], f.value[key], f.container[key], shared containers between functions) and
Function.copy(share_memory=, swap=, delete_updates=, name=)."""

import copy
import pickle

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile import In, function


def test_defaults_and_a_state_given_as_theano_tuples():
    x = T.scalar()
    y, z, w = T.scalar("y"), T.scalar("z"), T.scalar("w")
    fn = function([x, y, In(z, value=42), ((w, w + x), 0)], x + y + z)
    with pytest.raises(TypeError, match="^Missing required input: y$"):
        fn(1)
    assert fn(1, 2) == 45.0 and fn["w"] == 1.0  # w: 0 -> 1
    assert fn(1, y=2) == 45.0 and fn["w"] == 2.0
    with pytest.raises(TypeError) as err:
        fn(x=1, y=2)
    assert str(err.value) == (
        "Unknown input or state: x. The function has 3 named inputs (y, z, w), and 1 unnamed "
        "input which thus cannot be accessed through keyword argument (use 'name=...' in a "
        "variable's constructor to give it a name).")
    assert fn(1, 2, 3) == 6.0 and fn["w"] == 3.0  # z given for this call only
    assert fn(1, z=3, y=2) == 6.0 and fn["w"] == 4.0
    assert fn(1, 2, w=400) == 45.0 and fn["w"] == 401.0  # z back to 42; w set, then updated
    assert fn(1, 2) == 45.0 and fn["w"] == 402.0


def test_every_tuple_shortcut():
    r, s = T.dscalar("r"), T.dscalar("s")
    f = function([("alpha", r), ("beta", (s, s * 2), 3.0)], r + s)
    assert f(alpha=1.0) == 4.0 and f["beta"] == 6.0
    g = function([("a", r, 5.0), (s, 1.0)], r * s)
    assert g() == 5.0 and g(2.0, s=4.0) == 8.0 and g["a"] == 5.0
    with pytest.raises(TypeError, match="input 0 is a list"):
        function([[r]], r)


def test_a_value_override_is_temporary_and_a_state_sticks():
    u, x, s = T.scalars("u", "x", "s")
    inc = function([u, In(x, value=3), In(s, update=(s + x * u), value=10.0)], [])
    assert inc(5) == [] and inc[s] == 25.0
    inc(3, 4)
    assert inc[s] == 37.0 and inc[x] == 3.0  # x = 4 for that call only
    inc(3, 4, 7)  # s given: used, then replaced by its update
    assert inc[s] == 19.0
    inc[s] = 10
    value = inc[s]
    assert isinstance(value, np.ndarray) and value.shape == () and value == 10.0


def test_three_ways_to_the_same_value():
    a, b, c = T.scalars("xys")  # c is named 's'
    fn = function([a, b, ((c, c + a + b), 10.0)], [])
    assert fn["s"] is fn.value[c] and fn["s"] is fn.container[c].value and fn[2] is fn["s"]
    assert fn["s"] == 10.0
    fn(1, 2)
    assert fn["s"] == 13.0
    fn["s"] = 99.0
    fn(1, 0)
    assert fn["s"] == 100.0
    fn.value[c] = 99.0
    fn(1, 0)
    assert fn["s"] == 100.0 and fn.value[c] == fn.container["s"].value
    assert c in fn.value and T.dscalar() not in fn.container
    with pytest.raises(TypeError, match="read-only"):
        fn.container[c] = 1.0
    with pytest.raises(TypeError, match="Unknown input or state: nothing"):
        fn["nothing"]  # noqa: B018


def test_two_functions_share_a_state_through_its_container():
    x, s = T.scalars("xs")
    inc = function([x, In(s, update=(s + x), value=10.0)], [])
    dec = function([x, In(s, update=(s - x), value=inc.container[s], implicit=False)], [])
    assert inc[s] == 10.0 and dec.container[s] is inc.container[s]
    inc(2)
    assert inc[s] == 12.0 and dec[s] == 12.0
    dec(3)
    assert inc[s] == 9.0 and dec[s] == 9.0
    inc[s] = 10.0
    assert dec[s] == 10.0
    dec(1, 0)  # implicit=False: a value may be passed; it lands in the shared state
    assert inc[s] == -1.0


def test_an_implicit_input_is_read_from_its_container_only():
    a = T.scalar()
    x, s = T.scalars("xs")
    f = function([x, In(a, value=1.0, name="a"), In(s, value=0.0, update=s + a * x)], s + a * x)
    g = function([x, In(a, value=1.0, name="a"), In(s, value=f.container[s])], s + a * x)
    assert f[a] == 1.0 and f[1] == 1.0 and f[s] == 0.0
    f(1, 2)
    assert f[s] == 2.0 and g[s] == 2.0
    assert g(1, 2) == 4.0 and f[s] == 2.0  # g has no update: no effect on the state
    with pytest.raises(TypeError, match="Tried to provide value for implicit input: s"):
        g(1, 2, 5.0)
    with pytest.raises(ValueError, match="implicit input needs a value"):
        In(T.dscalar(), implicit=True)
    f[a] = 5.0  # a new default, kept
    assert f(3.0) == 2.0 + 15.0 and f[s] == 17.0


def test_shared_variables_through_the_container_interface():
    w = theano.shared(np.zeros(2), name="w")
    x = T.dvector("x")
    f = function([x], (w * x).sum(), updates=[(w, w + x)])
    assert f.container[w] is w.container and f["w"] is w.get_value(borrow=True)
    f[w] = [1.0, 2.0]
    np.testing.assert_array_equal(w.get_value(), [1.0, 2.0])
    assert f([1.0, 1.0]) == 3.0
    np.testing.assert_array_equal(f.value[w], [2.0, 3.0])


def test_a_required_input_stays_required_after_setting_it():
    x = T.dscalar("x")
    f = function([x], x * 2)
    f["x"] = 3.0
    assert f["x"] == 3.0
    with pytest.raises(TypeError, match="Missing required input: x"):
        f()
    g = pickle.loads(pickle.dumps(f))
    assert g(2.0) == 4.0
    with pytest.raises(TypeError, match="Missing required input: x"):
        g()


def test_states_and_defaults_survive_pickling():
    x, s = T.dscalars("x", "s")
    f = function([x, In(s, value=1.0, update=s * x)], s)
    f(3.0)
    g = pickle.loads(pickle.dumps(f))
    assert g["s"] == 3.0 and g(2.0) == 3.0 and g["s"] == 6.0 and f["s"] == 3.0


# -------------------------------------------------------------------- copy
def test_copy_keeps_immutable_values_and_copies_mutable_ones():
    a = T.scalar()
    x, s = T.scalars("xs")
    f = function([x, In(a, value=1.0, name="a"), In(s, value=0.0, update=s + a * x,
                                                     mutable=True)], s + a * x)
    g = copy.copy(f)
    assert g.container[x] is not f.container[x] and g.container[s] is not f.container[s]
    assert g.value[a] is f.value[a]  # not copied
    assert g.value[s] is not f.value[s] and g.value[s] == f.value[s]  # mutable: copied
    assert f(2, 1) == g(2) and f(2, 1) == g(2)  # in step: same defaults, same states
    f(1, 2)
    assert f(1, 2) != g(1, 2)  # out of step


def test_copy_share_memory_runs_the_same_executable():
    x = T.fscalar("x")
    y, z = theano.shared(1), theano.shared(2)
    out = T.tanh((x + y + 2) / (x + z - 0.2) ** 2)
    ori = function([x], [out], updates={z: z + 1}, name="ori")
    cpy = ori.copy(share_memory=True)
    assert cpy.executable is ori.executable and cpy.name == "ori copy"
    fresh = ori.copy()
    assert fresh.executable is not ori.executable
    first = cpy(1.0)[0]
    np.testing.assert_allclose(first, np.tanh(4.0 / 2.8 ** 2), rtol=1e-6)
    assert z.get_value() == 3  # the copy updates the same shared variable
    np.testing.assert_allclose(ori(1.0)[0], np.tanh(4.0 / 3.8 ** 2), rtol=1e-6)
    assert z.get_value() == 4 and ori.copy(name="other").name == "other"


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
def test_copy_swap_uses_other_shared_variables(mode):
    i = T.iscalar()
    x_list = theano.shared(np.arange(10.0))
    x = T.scalar("x")
    y, z, m = theano.shared(1.0, name="y"), theano.shared(2.0, name="z"), theano.shared(0.0, "m")
    y_rpl, z_rpl = theano.shared(3.0, name="y_rpl"), theano.shared(4.0, name="z_rpl")
    ori = function([i], [x + y + z + m], mode=mode, updates=[(z, z + 1), (m, m + 2)],
                   givens={x: x_list[i]})
    cpy = ori.copy(swap={y: y_rpl, z: z_rpl})
    assert ori(1)[0] == 1.0 + 1 + 2 + 0
    assert cpy(1)[0] == 1.0 + 3 + 4 + 2 and cpy(2)[0] == 2.0 + 3 + 5 + 4
    assert (m.get_value(), z.get_value(), z_rpl.get_value()) == (6.0, 3.0, 6.0)
    assert (y.get_value(), y_rpl.get_value()) == (1.0, 3.0)
    assert cpy.container[z_rpl] is z_rpl.container and cpy.container[m] is m.container
    with pytest.raises(TypeError, match="Unknown input or state"):
        cpy.container[z]  # noqa: B018


def test_copy_delete_updates():
    w, x = T.iscalar("w"), T.fscalar("x")
    y, z = theano.shared(1, name="y"), theano.shared(2, name="z")
    ori = function([x], x + y + z, updates={z: z * 2})
    cpy = ori.copy(delete_updates=True)
    assert cpy(1) == 4 and cpy(1) == 4 and z.get_value() == 2
    # inputs left unused once the updates are gone are fine
    assert ori.copy(delete_updates=True) is not None
    ori = function([x, w], x, updates={z: z + w})
    assert ori.copy(delete_updates=True)(1.0, 5) == 1.0 and z.get_value() == 2
    s = T.dscalar("s")
    state = function([x, In(s, value=0.0, update=s + 1)], s, on_unused_input="ignore")
    frozen = state.copy(delete_updates=True)
    assert [frozen(1.0) for _ in range(3)] == [0.0, 0.0, 0.0] and state["s"] == 0.0
