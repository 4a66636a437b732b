"""debugprint (trees with ids, types, shared and constant markers), pp/pprint (infix text),
the Print op and pydotprint (DOT text)."""

import io
import shutil

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.graph import FunctionGraph


def test_debugprint_theano_layout_is_the_default():
    x = T.dvector("x")
    s = theano.shared(np.zeros(2), "s")
    assert theano.debugprint(T.exp(x) * 2 + s, file="str").splitlines() == [
        "Elemwise{add,no_inplace} [id A] ''",
        " |Elemwise{mul,no_inplace} [id B] ''",
        " | |Elemwise{exp,no_inplace} [id C] ''",
        " | | |x [id D]",
        " | |InplaceDimShuffle{x} [id E] ''",
        " |   |TensorConstant{2.0} [id F]",
        " |s [id G]"]
    assert theano.debugprint(x * 2, print_type=True, file="str").splitlines()[:2] == [
        "Elemwise{mul,no_inplace} [id A] <TensorType(float64, vector)> ''",
        " |x [id B] <TensorType(float64, vector)>"]
    with pytest.raises(ValueError, match="style must be"):
        theano.debugprint(x, style="boxes", file="str")


def test_debugprint_tree_style_with_ids_and_markers():
    x = T.dvector("x")
    s = theano.shared(np.zeros(2), "s")
    text = theano.debugprint(T.exp(x) * 2 + s, file="str", style="tree")
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
    assert text.count("Elemwise{exp,no_inplace} [id B] 'y'") == 3  # named each time it is used
    assert text.count(" |x [id C]") == 1  # its inputs only the first time
    tree = theano.debugprint([y + y, y], file="str", style="tree")
    assert tree.count("Elemwise{exp} 'y' [id B]") == 3
    assert tree.count("└─ x [id C]") == 1
    with theano.config.change_flags(debugprint_style="tree"):  # the flag sets the default
        assert theano.debugprint([y + y, y], file="str") == tree


def test_debugprint_types_depth_and_file():
    x = T.fmatrix("x")
    text = theano.debugprint(x.sum(axis=0), print_type=True, file="str", style="tree")
    assert "TensorType(float32, vector)" in text and "x [id B] TensorType(float32, matrix)" in text
    text = theano.debugprint(x.sum(axis=0), print_type=True, file="str")
    assert "x [id B] <TensorType(float32, matrix)>" in text
    shallow = theano.debugprint(T.exp(T.log(x)), depth=2, file="str")
    assert "log" in shallow and "x [id" not in shallow
    buf = io.StringIO()
    returned = theano.debugprint(x * 2, file=buf)
    assert buf.getvalue().strip() == returned
    assert theano.dprint is theano.debugprint


def test_debugprint_of_apply_fgraph_and_function():
    x = T.dvector("x")
    y = x + 1
    assert theano.debugprint(y.owner, file="str").startswith("Elemwise{add,no_inplace} [id A] ''")
    assert theano.debugprint(FunctionGraph([x], [y]), file="str").startswith(
        "Elemwise{add,no_inplace}")
    assert theano.debugprint(y.owner, file="str", style="tree").startswith("Elemwise{add} [id A]")
    s = theano.shared(np.zeros(2), "s")
    f = theano.function([x], x + s, name="step", updates=[(s, s + x)])
    text = f.debugprint(file="str", print_header=True)
    first = text.splitlines()[0]
    assert first.startswith("Compiled function 'step' (backend ")
    assert f.maker.backend.name in first
    assert not f.debugprint(file="str").startswith("Compiled function")  # Theano printed none
    assert "(update of s)" in text
    assert " |s [id " in text
    assert "s (shared)" in f.debugprint(file="str", style="tree")
    with pytest.raises(TypeError, match="cannot print a int"):
        theano.debugprint(3)


def test_pp_infix():
    x, y = T.dvector("x"), T.dvector("y")
    m = T.dmatrix("m")
    assert theano.pp(x + y) == "(x + y)"
    assert theano.pp(x * 2) == "(x * TensorConstant{2.0})"
    assert theano.pp(-x) == "(-x)"
    assert theano.pp(T.exp(x - y)) == "exp((x - y))"
    assert theano.pp(m.T) == "m.T"
    assert theano.pp(m.dimshuffle(0, "x", 1)) == "m.dimshuffle(0, 'x', 1)"
    assert theano.pp(x < y) == "lt(x, y)"
    assert theano.pp(T.dot(m, x)) == "(m \\dot x)"
    assert theano.pp([x + y, x]) == "(x + y)\nx"


def test_pp_indexing_and_set_inc_subtensor():
    x, y = T.dmatrices("x", "y")
    i = T.lvector("i")
    s = T.lscalar("s")
    assert theano.pp(x[1:3, ::-1]) == "x[1:3, ::-1]"
    assert theano.pp(x[1]) == "x[1]"
    assert theano.pp(x[s:, ::2]) == "x[s:, ::2]"
    assert theano.pp(x[i]) == "x[i]"
    assert theano.pp(x[:, i]) == "x[:, i]"
    assert theano.pp(x[i, 1:]) == "x[i, 1:]"
    assert theano.pp(x[x > 0]) == "x[gt(x, TensorConstant{0.0})]"
    assert theano.pp(T.set_subtensor(x[1:3], y[:2])) == "set_subtensor(x[1:3], y[:2])"
    assert theano.pp(T.inc_subtensor(x[s:], y[s:])) == "inc_subtensor(x[s:], y[s:])"
    assert theano.pp(T.inc_subtensor(x[i], y[0])) == "inc_subtensor(x[i], y[0])"
    assert theano.pp(T.set_subtensor(x[i, 1:], 0)) == "set_subtensor(x[i, 1:], TensorConstant{0.0})"


def test_pp_reductions_dot_and_transpose():
    x = T.dmatrix("x")
    t = T.dtensor3("t")
    v = T.dvector("v")
    assert theano.pp(x.sum(axis=0)) == "sum(x, axis=0)"
    assert theano.pp(x.sum()) == "sum(x)"
    assert theano.pp(t.max(axis=(0, 2))) == "max(t, axis=(0, 2))"
    assert theano.pp(T.prod(x, axis=1) + 1) == "(prod(x, axis=1) + TensorConstant{1.0})"
    assert theano.pp(T.dot(x, v) / 2) == "((x \\dot v) / TensorConstant{2.0})"
    assert theano.pp(t.dimshuffle(1, 0, 2)) == "t.transpose(1, 0, 2)"
    assert theano.pp(t.dimshuffle(2, 1, 0)) == "t.T"
    assert theano.pp(x.transpose()) == "x.T"


def test_pprint_is_pp_and_takes_rules():
    from graphcore.printing import PPrinter, pprint
    from graphcore.tensor.dot import Dot

    assert pprint is theano.pp is theano.pprint and isinstance(pprint, PPrinter)
    x, y = T.dmatrices("x", "y")
    printer = PPrinter()
    printer.assign(Dot, lambda var, pp: f"({pp(var.owner.inputs[0])} @ {pp(var.owner.inputs[1])})")
    assert printer(T.dot(x, y) + 1) == "((x @ y) + TensorConstant{1.0})"
    assert pprint(T.dot(x, y) + 1) == "((x \\dot y) + TensorConstant{1.0})"  # the shared printer is unchanged


def test_print_op_prints_at_run_time_and_is_an_identity(capsys):
    from graphcore.printing import Print

    x = T.dvector("x")
    shown = Print("x*2 is")(x * 2)
    assert shown.owner.op.view_map == {0: [0]}
    f = theano.function([x], shown + 1)
    assert capsys.readouterr().out == ""  # nothing at compile time
    np.testing.assert_allclose(f(np.array([1.0, 2.0])), [3.0, 5.0])
    assert capsys.readouterr().out == "x*2 is __str__ = [2. 4.]\n"
    probe = Print("v", attrs=("shape", "sum"))(x)
    g = theano.function([x], theano.grad((probe ** 2).sum(), x))
    np.testing.assert_allclose(g(np.array([1.0, 3.0])), [2.0, 6.0])  # grad passes through
    assert capsys.readouterr().out == "v shape = (2,)\nv sum = 4.0\n"
    c = Print("const")(T.constant(np.array([1.0, 2.0])))
    h = theano.function([], c * 2)  # not constant-folded away: prints on every call
    h()
    h()
    assert capsys.readouterr().out.count("const __str__ = [1. 2.]") == 2
    assert theano.pp(shown) == "Print{x*2 is}((x * TensorConstant{2.0}))"


def test_pydotprint_writes_dot_text(tmp_path, capsys):
    from graphcore.printing import pydotprint

    x = T.dvector("x")
    s = theano.shared(np.zeros(3), "s")
    f = theano.function([x], T.exp(x).sum() + s.sum(), updates=[(s, s + x)])
    out = tmp_path / "graph"
    assert pydotprint(f, outfile=str(out), format="dot") is None
    text = (tmp_path / "graph.dot").read_text()
    assert capsys.readouterr().out.strip() == f"The output file is available at {out}.dot"
    assert text.startswith("digraph G {") and text.rstrip().endswith("}")
    assert 'label="x TensorType(float64, vector)", shape=box, style=filled, fillcolor="green"' in text
    assert 'label="s TensorType(float64, vector)", shape=box, style=filled, fillcolor="greenyellow"' \
        in text
    assert text.count("shape=ellipse") == len(f.maker.fgraph.apply_nodes)
    assert text.count('fillcolor="blue"') == 2  # the output and the update
    y = T.dmatrix("y")
    small = pydotprint(y.sum(axis=0) * 2, format="dot", return_image=True)
    assert '"Sum{axis=(0,)}"' in small and "-> n1" in small


def test_pydotprint_image_formats_need_graphviz(tmp_path, monkeypatch):
    from graphcore.printing import pydotprint

    x = T.dvector("x")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="install Graphviz .* or pass format='dot'"):
        pydotprint(x + 1, outfile=str(tmp_path / "g.png"), format="png")
    assert not (tmp_path / "g.png").exists()
    with pytest.raises(TypeError, match="cannot draw a int"):
        pydotprint(3, format="dot")
