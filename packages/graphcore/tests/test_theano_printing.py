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
    # printing.txt and gradients.txt: pp(gy) before and after optimization
    x = T.dscalar("x")
    y = x ** 2
    gy = T.grad(y, x)
    theano_text = ("((fill((x ** TensorConstant{2}), TensorConstant{1.0}) * TensorConstant{2}) * "
                   "(x ** (TensorConstant{2} - TensorConstant{1})))")
    # the one difference: a Python int meeting a float64 tensor becomes a float64 constant here
    # (NumPy 2's rule), where Theano kept an int8 constant, so 2 and 1 print as 2.0 and 1.0
    assert pp(gy) == theano_text.replace("{2}", "{2.0}").replace("{1}", "{1.0}")
    f = theano.function([x], gy)
    assert pp(f.maker.fgraph.outputs[0]) == "(TensorConstant{2.0} * x)"  # as Theano's page
    assert f(4.0) == 8.0


def test_debugprint_of_the_optimized_output_variable():
    x = T.dscalar("x")
    f = theano.function([x], T.grad(x ** 2, x))
    text = debugprint(f.maker.fgraph.outputs[0], file="str")
    assert _normalised(text) == _normalised("""
        Elemwise{mul,no_inplace} [id A] ''
         |TensorConstant{2.0} [id B]
         |x [id C]""")  # printing.txt's text, exactly
    assert _normalised(debugprint(f.maker.fgraph.outputs[0], file="str", style="tree")) == \
        _normalised("Elemwise{mul} [id A] ├─ 2.0 (constant) [id B] └─ x [id C]")


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
    # depth counts the levels printed, as Theano's (depth=2: the output and its inputs)
    assert debugprint(out, depth=1, file="str").splitlines() == ["Sum{axis=(0,)} [id A] ''"]
    assert debugprint(out, depth=2, file="str").splitlines() == [
        "Sum{axis=(0,)} [id A] ''", " |Elemwise{add,no_inplace} [id B] ''"]
    assert debugprint(out, depth=2, file="str", style="tree").splitlines() == [
        "Sum{axis=(0,)} [id A]", " └─ Elemwise{add} [id B]"]
    assert debugprint(out, depth=3, file="str").count("\n") == 3
    assert debugprint(out, ids="int", file="str").splitlines()[0] == "Sum{axis=(0,)} [id 0] ''"
    assert debugprint(out, ids="", file="str").splitlines()[0] == "Sum{axis=(0,)}  ''"
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


# ---- the examples of Theano's printing pages, rebuilt here and compared as doctest's
# NORMALIZE_WHITESPACE compares them


def test_printing_page_debugprint_of_a_gradient_and_depth():
    # printing.txt: debugprint(gy) and debugprint(gy, depth=2). Theano's text differs in three
    # places this graph legitimately differs: the constants 2 and 1 are float64 here (NumPy 2's
    # rule for a Python int meeting a float64 tensor; Theano kept int8), so they print
    # TensorConstant{2.0} and 1 needs no InplaceDimShuffle{} to reach 0 dimensions; and the nodes
    # Theano's gradient built print here as the tensor API's (',no_inplace'), since a node does
    # not record who built it.
    x = T.dscalar("x")
    gy = T.grad(x ** 2, x)
    theano_text = """
        Elemwise{mul} [id A] ''
         |Elemwise{mul} [id B] ''
         | |Elemwise{second,no_inplace} [id C] ''
         | | |Elemwise{pow,no_inplace} [id D] ''
         | | | |x [id E]
         | | | |TensorConstant{2} [id F]
         | | |TensorConstant{1.0} [id G]
         | |TensorConstant{2} [id F]
         |Elemwise{pow} [id H] ''
           |x [id E]
           |Elemwise{sub} [id I] ''
             |TensorConstant{2} [id F]
             |InplaceDimShuffle{} [id J] ''
               |TensorConstant{1} [id K]"""
    ours = (theano_text.replace("{2}", "{2.0}")
            .replace("|InplaceDimShuffle{} [id J] ''\n               |TensorConstant{1} [id K]",
                     "|TensorConstant{1.0} [id J]"))
    for op in ("mul", "pow", "sub"):
        ours = ours.replace(f"Elemwise{{{op}}}", f"Elemwise{{{op},no_inplace}}")
    assert _normalised(debugprint(gy, file="str")) == _normalised(ours)
    assert _normalised(debugprint(gy, depth=2, file="str")) == _normalised("""
        Elemwise{mul,no_inplace} [id A] ''
         |Elemwise{mul,no_inplace} [id B] ''
         |Elemwise{pow,no_inplace} [id C] ''""")  # Theano's but for ',no_inplace'


def _logistic_regression():
    """printing_drawing.txt's (and modes.txt's) logistic regression graph."""
    rng = np.random.default_rng(0)
    feats = 784
    x = T.matrix("x")
    w = theano.shared(rng.standard_normal(feats).astype(theano.config.floatX), name="w")
    b = theano.shared(np.asarray(0., dtype=theano.config.floatX), name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = p_1 > 0.5
    predict = theano.function(inputs=[x], outputs=prediction, name="predict")
    return x, prediction, predict


def test_printing_drawing_page_pprint_of_the_prediction():
    _, prediction, _ = _logistic_regression()
    theano_text = ("gt((TensorConstant{1} / (TensorConstant{1} + exp(((-(x \\dot w)) - b)))), "
                   "TensorConstant{0.5})")
    # 1 is a float64 constant here (see above): TensorConstant{1.0}
    assert theano.printing.pprint(prediction) == theano_text.replace("{1}", "{1.0}")


def test_printing_drawing_page_debugprint_before_compilation():
    _, prediction, _ = _logistic_regression()
    theano_text = """
        Elemwise{gt,no_inplace} [id A] ''
         |Elemwise{true_div,no_inplace} [id B] ''
         | |InplaceDimShuffle{x} [id C] ''
         | | |TensorConstant{1} [id D]
         | |Elemwise{add,no_inplace} [id E] ''
         |   |InplaceDimShuffle{x} [id F] ''
         |   | |TensorConstant{1} [id D]
         |   |Elemwise{exp,no_inplace} [id G] ''
         |     |Elemwise{sub,no_inplace} [id H] ''
         |       |Elemwise{neg,no_inplace} [id I] ''
         |       | |dot [id J] ''
         |       |   |x [id K]
         |       |   |w [id L]
         |       |InplaceDimShuffle{x} [id M] ''
         |         |b [id N]
         |InplaceDimShuffle{x} [id O] ''
           |TensorConstant{0.5} [id P]"""
    # the two 1s are two float64 constants here (Theano shared one int8 constant [id D]), so the
    # second gets its own id and every later id moves one letter on
    ours = theano_text.replace("{1}", "{1.0}")
    ours = ours.replace("|TensorConstant{1.0} [id D]\n         |   |Elemwise", "|X\n         |   |Elemwise")
    letters = "ABCDEFGHIJKLMNOP"
    for k in range(len(letters) - 1, 5, -1):  # [id G] .. [id P] -> [id H] .. [id Q]
        ours = ours.replace(f"[id {letters[k]}]", f"[id {chr(ord(letters[k]) + 1)}]")
    ours = ours.replace("|X", "|TensorConstant{1.0} [id G]")
    assert _normalised(debugprint(prediction, file="str")) == _normalised(ours)


def test_printing_drawing_page_debugprint_after_compilation():
    # Theano's compiled graph (Theano 1.0's page):
    #   Elemwise{Composite{GT(scalar_sigmoid((-((-i0) - i1))), i2)}} [id A] ''   4
    #    |CGemv{inplace} [id B] ''   3
    #    | |AllocEmpty{dtype='float64'} [id C] ''   2
    #    | | |Shape_i{0} [id D] ''   1
    #    | |   |x [id E]
    #    | |TensorConstant{1.0} [id F]
    #    | |x [id E]
    #    | |w [id G]
    #    | |TensorConstant{0.0} [id H]
    #    |InplaceDimShuffle{x} [id I] ''   0
    #    | |b [id J]
    #    |TensorConstant{(1,) of 0.5} [id K]
    # Here the matrix-vector product stays one dot (graphcore has no Gemv taking a preallocated
    # output), and fusion inlines the constant 0.5 into the Composite instead of passing it as
    # input i2; the rest is printed as Theano's.
    _, _, predict = _logistic_regression()
    assert _normalised(debugprint(predict, file="str")) == _normalised("""
        Elemwise{Composite{GT(scalar_sigmoid((-((-i0) - i1))), 0.5)}} [id A] ''   2
         |dot [id B] ''   1
         | |x [id C]
         | |w [id D]
         |InplaceDimShuffle{x} [id E] ''   0
           |b [id F]""")


def test_debug_faq_debugprint_of_the_apply_node_with_types():
    # debug_faq.txt: 'Debugprint of the apply node' (exception_verbosity=high), of z = x + x + y
    x = T.vector()
    y = T.vector()
    z = x + x
    z = z + y
    assert _normalised(debugprint(z, print_type=True, file="str")) == _normalised("""
        Elemwise{add,no_inplace} [id A] <TensorType(float64, vector)> ''
         |Elemwise{add,no_inplace} [id B] <TensorType(float64, vector)> ''
         | |<TensorType(float64, vector)> [id C] <TensorType(float64, vector)>
         | |<TensorType(float64, vector)> [id C] <TensorType(float64, vector)>
         |<TensorType(float64, vector)> [id D] <TensorType(float64, vector)>""")


def test_debug_faq_monitor_mode_nan_detection_prints_the_node(capsys):
    # debug_faq.txt: detect_nan's debugprint(node) of the fused log(x) * x
    def detect_nan(i, node, fn):
        for output in fn.outputs:
            if np.isnan(output[0]).any():
                print("*** NaN detected ***")
                theano.printing.debugprint(node)
                break

    x = T.dscalar("x")
    f = theano.function([x], [T.log(x) * x], mode=theano.compile.MonitorMode(post_func=detect_nan))
    with np.errstate(divide="ignore", invalid="ignore"):
        f(0)
    assert _normalised(capsys.readouterr().out) == _normalised("""
        *** NaN detected ***
        Elemwise{Composite{(log(i0) * i0)}} [id A] ''
         |x [id B]""")


def test_theano_names_are_only_in_printing():
    x = T.dvector("x")
    y = (x * 2).dimshuffle("x", 0)
    assert str(y.owner.op) == "DimShuffle{x,0}" and str(y.owner.inputs[0].owner.op) == \
        "Elemwise{mul}"  # error messages and str() keep graphcore's names
    assert debugprint(y, file="str").splitlines()[:2] == [
        "InplaceDimShuffle{x,0} [id A] ''", " |Elemwise{mul,no_inplace} [id B] ''"]
    assert theano.printing.theano_constant_str(T.constant(np.ones(3))) == \
        "TensorConstant{(3,) of 1.0}"
    text = str(np.arange(30.0))  # Theano cut texts over 20 characters to their ends
    assert theano.printing.theano_constant_str(T.constant(np.arange(30.0))) == \
        f"TensorConstant{{{text[:10]}..{text[-10:]}}}"
