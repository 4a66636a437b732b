"""shared(): copies and borrowing, get_value/set_value, strict and allow_downcast, types."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile import SharedVariable


def test_shared_copies_unless_borrowed():
    a = np.arange(3.0)
    s = theano.shared(a, "s")
    assert isinstance(s, SharedVariable)
    assert not np.shares_memory(s.get_value(borrow=True), a)
    a[0] = 100.0
    assert s.get_value()[0] == 0.0
    b = np.arange(3.0)
    sb = theano.shared(b, "sb", borrow=True)
    assert np.shares_memory(sb.get_value(borrow=True), b)


def test_get_value_copies_unless_borrowed():
    s = theano.shared(np.arange(3.0), "s")
    v = s.get_value()
    v[0] = 100.0
    assert s.get_value()[0] == 0.0
    assert np.shares_memory(s.get_value(borrow=True), s.get_value(borrow=True))


def test_set_value_copies_unless_borrowed():
    s = theano.shared(np.zeros(3), "s")
    b = np.ones(3)
    s.set_value(b)
    assert not np.shares_memory(s.get_value(borrow=True), b)
    s.set_value(b, borrow=True)
    assert np.shares_memory(s.get_value(borrow=True), b)


def test_set_value_may_change_the_shape_but_not_the_type():
    s = theano.shared(np.zeros(3), "s")
    s.set_value(np.ones(5))
    np.testing.assert_array_equal(s.get_value(), np.ones(5))
    s.set_value([1, 2])  # lossless conversion to float64
    assert s.get_value().dtype == np.float64
    with pytest.raises(TypeError, match="shared variable s.*expected 1 dimensions.*got 2"):
        s.set_value(np.ones((2, 2)))
    i = theano.shared(np.array([1, 2], dtype="int32"), "i")
    with pytest.raises(TypeError, match="shared variable i.*float64.*allow_downcast=True"):
        i.set_value(np.array([1.5]))


def test_strict_and_allow_downcast():
    st = theano.shared(np.float32(1.0), "st", strict=True)
    assert st.type.dtype == "float32" and st.type.ndim == 0
    with pytest.raises(TypeError, match="strict"):
        st.set_value(np.float64(2.0))
    st.set_value(np.array(2.0, dtype="float32"))
    assert st.get_value() == 2.0
    ad = theano.shared(np.zeros(2, dtype="float32"), "ad", allow_downcast=True)
    ad.set_value(np.array([1.1, 2.2]))
    assert ad.get_value().dtype == np.float32
    np.testing.assert_allclose(ad.get_value(), np.float32([1.1, 2.2]))


def test_shared_types_from_values():
    assert theano.shared(1).type.dtype == "int64"
    assert theano.shared(1.5).type.dtype == "float64"
    assert theano.shared(True).type.dtype == "bool"
    assert theano.shared(np.float32(1)).type.dtype == "float32"
    assert theano.shared([1.0, 2.0]).type.ndim == 1
    m = theano.shared(np.zeros((2, 3), dtype="float32"))
    assert m.type.shape == (None, None)  # shapes may change later: not static
    r = theano.shared(np.zeros((1, 3)), broadcastable=(True, False))
    assert r.broadcastable == (True, False)
    with pytest.raises(TypeError, match="not a symbolic variable"):
        theano.shared(T.dvector())
    # any other Python object is a generic shared variable, as in Theano
    assert str(theano.shared(object()).type) == "generic"


def test_shared_variables_are_tensors():
    s = theano.shared(np.array([1.0, 2.0]), "s")
    assert s.name == "s" and str(s) == "s"
    assert s.ndim == 1 and s.dtype == "float64"
    np.testing.assert_allclose((s * 2 + 1).eval(), [3.0, 5.0])
    np.testing.assert_allclose(theano.function([], s.sum())(), 3.0)


def test_functions_read_the_current_value():
    s = theano.shared(np.float64(1.0), "s")
    f = theano.function([], s * 2)
    assert f() == 2.0
    s.set_value(5.0)
    assert f() == 10.0
    g = theano.function([], [], updates=[(s, s + 1)])
    g()
    assert f() == 12.0  # two functions share one container


def test_clone_shares_the_container():
    s = theano.shared(np.float64(1.0), "s")
    c = s.clone()
    assert c is not s and c.container is s.container
    s.set_value(3.0)
    assert c.get_value() == 3.0
