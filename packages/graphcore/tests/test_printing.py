"""debugprint (trees with ids, types, shared and constant markers) and pp (infix text)."""

import io

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.graph import FunctionGraph


def test_debugprint_tree_with_ids_and_markers():
    x = T.dvector("x")
    s = theano.shared(np.zeros(2), "s")
    text = theano.debugprint(T.exp(x) * 2 + s, file="str")
    lines = text.splitlines()
    assert lines[0] == "Elemwise{add} [id A]"
    assert lines[1] == " ├─ Elemwise{mul} [id B]"
    assert lines[2] == " │   ├─ Elemwise{exp} [id C]"
    assert lines[3] == " │   │   └─ x [id D]"
    assert "2.0 (constant)" in text
    assert lines[-1] == " └─ s (shared) [id G]"


def test_debugprint_prints_a_shared_node_once():
    x = T.dvector("x")
    y = T.exp(x)
    y.name = "y"
    text = theano.debugprint([y + y, y], file="str")
    assert text.count("Elemwise{exp} 'y' [id B]") == 3  # named each time it is used
    assert text.count("└─ x [id C]") == 1  # its inputs only the first time


def test_debugprint_types_depth_and_file():
    x = T.fmatrix("x")
    text = theano.debugprint(x.sum(axis=0), print_type=True, file="str")
    assert "Tensor{float32, (?,)}" in text and "x [id B] Tensor{float32, (?, ?)}" in text
    shallow = theano.debugprint(T.exp(T.log(x)), depth=1, file="str")
    assert "log" in shallow and "x [id" not in shallow
    buf = io.StringIO()
    returned = theano.debugprint(x * 2, file=buf)
    assert buf.getvalue().strip() == returned
    assert theano.dprint is theano.debugprint


def test_debugprint_of_apply_fgraph_and_function():
    x = T.dvector("x")
    y = x + 1
    assert theano.debugprint(y.owner, file="str").startswith("Elemwise{add} [id A]")
    assert theano.debugprint(FunctionGraph([x], [y]), file="str").startswith("Elemwise{add}")
    s = theano.shared(np.zeros(2), "s")
    f = theano.function([x], x + s, name="step", updates=[(s, s + x)])
    text = f.debugprint(file="str")
    first = text.splitlines()[0]
    assert first.startswith("Compiled function 'step' (backend ")
    assert f.maker.backend.name in first
    assert "(update of s)" in text
    assert "s (shared)" in text
    with pytest.raises(TypeError, match="cannot print a int"):
        theano.debugprint(3)


def test_pp_infix():
    x, y = T.dvector("x"), T.dvector("y")
    m = T.dmatrix("m")
    assert theano.pp(x + y) == "(x + y)"
    assert theano.pp(x * 2) == "(x * 2.0)"
    assert theano.pp(-x) == "-x"
    assert theano.pp(T.exp(x - y)) == "exp((x - y))"
    assert theano.pp(m.T) == "m.T"
    assert theano.pp(m.dimshuffle(0, "x", 1)) == "m.dimshuffle(0, 'x', 1)"
    assert theano.pp(x < y) == "(x < y)"
    assert "Dot" in theano.pp(T.dot(m, x)) and "(m, x)" in theano.pp(T.dot(m, x))
    assert theano.pp([x + y, x]) == "(x + y)\nx"
