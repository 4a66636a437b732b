"""function_dump: the pickled arguments of a function() call rebuild the same function."""

import pickle

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T


def test_function_dump_round_trip(tmp_path):
    x = T.dvector("x")
    s = theano.shared(np.array([1.0, 2.0]), "s")
    out = T.exp(x) + s
    path = tmp_path / "f.pkl"
    assert theano.function_dump(str(path), [x], out, updates=[(s, s * 2)], name="f") is None
    with open(path, "rb") as fh:
        d = pickle.load(fh)
    assert d["name"] == "f" and d["mode"] is None and d["givens"] is None
    assert not hasattr(d["outputs"].owner.tag, "trace")  # traces are stripped
    assert hasattr(out.owner.tag, "trace")  # the caller's graph keeps them
    f = theano.function(**d)
    np.testing.assert_allclose(f(np.zeros(2)), [2.0, 3.0])
    np.testing.assert_allclose(f(np.zeros(2)), [3.0, 5.0])  # the update acts on the copy of s
    np.testing.assert_allclose(s.get_value(), [1.0, 2.0])


def test_function_dump_extra_tags_and_errors(tmp_path):
    x = T.dvector("x")
    y = x * 2
    y.tag.note = "mine"
    y.tag.keep = 1
    path = tmp_path / "g.pkl"
    theano.function_dump(path, [x], y, extra_tag_to_remove=["note"])
    d = pickle.loads(path.read_bytes())
    assert vars(d["outputs"].tag) == {"keep": 1}
    np.testing.assert_allclose(theano.function(**d)(np.ones(2)), [2.0, 2.0])
    with pytest.raises(TypeError, match="filename must be a path"):
        theano.function_dump(3, [x], y)
