"""pydotprint renders graphs through Graphviz (the `graphviz` package and the `dot` program, which
CI installs from Debian's graphviz package), with Theano's colours; without `dot` it says how to
install it and still writes the DOT text."""

import shutil

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.printing import pydotprint

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _function():
    x = T.dmatrix("x")
    W = theano.shared(np.ones((3, 2)), "W")
    y = T.tanh(T.dot(x, W)) * 2 + 1
    return theano.function([x], [y.sum(), y[0]], updates=[(W, W - 0.1)])


@pytest.mark.skipif(shutil.which("dot") is None,
                    reason="Graphviz's dot is not installed (CI installs Debian's graphviz)")
def test_renders_a_png_and_an_svg_of_a_compiled_function(tmp_path, capsys):
    pytest.importorskip("graphviz", reason="the graphviz package (graphcore[viz]) is not installed")
    f = _function()
    out = tmp_path / "graph.png"
    pydotprint(f, outfile=str(out))
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000
    assert f"The output file is available at {out}" in capsys.readouterr().out
    svg = pydotprint(f, format="svg", return_image=True).decode()
    assert "<svg" in svg and "tanh" in svg  # the fused elementwise node's label


def test_theano_colours():
    f = _function()
    text = pydotprint(f, format="dot", return_image=True)
    assert 'label="x TensorType(float64, matrix)", shape=box, style=filled, fillcolor="green"' \
        in text
    assert 'fillcolor="greenyellow"' in text  # the shared variable W
    assert text.count('fillcolor="blue"') == 3  # two outputs and W's update
    assert 'fillcolor="#FFAABB"' in text  # elementwise (fused) nodes: dark pink
    assert 'fillcolor="#FFAAFF"' in text  # y[0]: a subtensor, purple
    low = pydotprint(f, format="dot", return_image=True, high_contrast=False)
    assert 'color="green"' in low and "style=filled" not in low


def test_without_dot_the_error_says_how_to_install_it_and_the_dot_text_is_written(
        tmp_path, monkeypatch):
    x = T.dvector("x")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match=r"apt-get install graphviz.*written to .*g\.dot"):
        pydotprint(T.exp(x) + 1, outfile=str(tmp_path / "g.png"), format="png")
    assert not (tmp_path / "g.png").exists()
    text = (tmp_path / "g.dot").read_text()
    assert text.startswith("digraph G {") and "exp" in text
