"""Printing as Theano's doc/library/printing.txt and doc/tutorial/printing_drawing.txt use it:
pp of a gradient before and after optimization, debugprint of a compiled function (no header
line; each node with its position in the run order), of f.maker.fgraph.outputs[0], depth=,
ids=, stop_on_name=, and the names shape_padaxis results print with."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.printing import debugprint, pp


def _normalised(text):
    return " ".join(text.split())


def test_pp_of_a_gradient_before_and_after_optimization():
    x = T.dscalar("x")
    gy = T.grad(x ** 2, x)
    # Theano: ((fill((x ** TensorConstant{2}), TensorConstant{1.0}) * TensorConstant{2})
    #          * (x ** (TensorConstant{2} - TensorConstant{1})))
    assert pp(gy) == "(fill((x ** 2.0), 1.0) * (2.0 * (x ** (2.0 - 1.0))))"
    f = theano.function([x], gy)
    assert pp(f.maker.fgraph.outputs[0]) == "(2.0 * x)"
    assert f(3.0) == 6.0


def test_debugprint_of_the_optimized_output_variable():
    x = T.dscalar("x")
    f = theano.function([x], T.grad(x ** 2, x))
    text = debugprint(f.maker.fgraph.outputs[0], file="str")
    assert _normalised(text) == _normalised("""
        Elemwise{mul} [id A]
         ├─ 2.0 (constant) [id B]
         └─ x [id C]""")


def test_debugprint_of_a_compiled_function_has_no_header_and_numbers_the_nodes():
    x = T.dmatrix("x")
    w = theano.shared(np.ones(3), "w")
    b = theano.shared(0.0, "b")
    predict = theano.function([x], 1 / (1 + T.exp(-T.dot(x, w) - b)) > 0.5, name="predict")
    text = debugprint(predict, file="str")
    lines = text.splitlines()
    assert not lines[0].startswith("Compiled function")
    steps = [ins.node for ins in predict.maker.program.instructions if ins.kind == "apply"]
    assert lines[0].endswith(f"   {len(steps) - 1}")  # the output is computed last
    numbered = [int(line.split()[-1]) for line in lines if "[id" in line and
                line.split()[-1].isdigit()]
    assert sorted(set(numbered)) == list(range(len(steps)))
    header = debugprint(predict, file="str", print_header=True).splitlines()[0]
    assert header.startswith("Compiled function 'predict' (backend ")


def test_debugprint_depth_ids_and_stop_on_name():
    x = T.dvector("x")
    hidden = T.tanh(x * 2)
    hidden.name = "hidden"
    out = (hidden + 1).sum()
    assert debugprint(out, depth=1, file="str").splitlines() == [
        "Sum{axis=(0,)} [id A]", " └─ Elemwise{add} [id B]"]
    assert debugprint(out, depth=2, file="str").count("\n") == 3
    assert debugprint(out, ids="int", file="str").splitlines()[0] == "Sum{axis=(0,)} [id 0]"
    assert debugprint(out, ids="", file="str").splitlines()[0] == "Sum{axis=(0,)}"
    stopped = debugprint(out, stop_on_name=True, file="str")
    assert "'hidden'" in stopped and "x [id" not in stopped
    with pytest.raises(ValueError, match="ids must be"):
        debugprint(out, ids="hex", file="str")


@pytest.mark.parametrize("axis, text", [(0, "DimShuffle{x,0,1,2}.0"), (1, "DimShuffle{0,x,1,2}.0"),
                                        (3, "DimShuffle{0,1,2,x}.0"),
                                        (-1, "DimShuffle{0,1,2,x}.0")])
def test_shape_padaxis_results_print_as_theano_less_the_inplace_prefix(axis, text):
    padded = T.shape_padaxis(T.tensor3(), axis=axis)
    assert str(padded) == text  # Theano: InplaceDimShuffle{...}.0
    assert padded.ndim == 4
