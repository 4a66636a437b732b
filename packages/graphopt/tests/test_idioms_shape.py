"""Lengths of arange and of statically bounded slices fold to n, max(n - a, 0), min(n, b), ...

not to NumPy's general ceil((stop - start) / step) cast expression or a clip of every bound.
"""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T


def op_text(f):
    return " ".join(str(n.op) for n in f.maker.fgraph.toposort())


def test_length_of_arange_of_a_length_is_that_length():
    x = T.matrix("x")
    y = T.ivector("y")
    f = theano.function([x, y], [T.arange(y.shape[0]).shape[0], T.arange(0, x.shape[1], 1).shape[0]])
    assert [type(n.op).__name__ for n in f.maker.fgraph.toposort()] == ["Shape_i", "Shape_i"]
    a, b = f(np.zeros((2, 7)), np.zeros(5, dtype="int32"))
    assert (a, b) == (5, 7)


ARANGE_ARGS = [(None, 1), (2, 1), (0, 3), (-3, 2), (7, -1), (5, -3), (-2, -4)]


@pytest.mark.parametrize("dtype,args", [(d, a) for d in ("int8", "int32", "int64", "uint16")
                                        for a in ARANGE_ARGS if d[0] == "i" or (a[0] or 0) >= 0])
def test_length_of_arange_with_int_bounds_matches_numpy(dtype, args):
    start, step = args
    n = T.scalar("n", dtype=dtype)
    r = T.arange(n, step=step) if start is None else T.arange(start, n, step)
    f = theano.function([n], r.shape[0])
    text = op_text(f)
    assert "ceil" not in text and "float" not in text, text
    values = range(0, 12) if dtype.startswith("u") else range(-6, 12)
    for v in values:
        want = len(np.arange(v, step=step) if start is None else np.arange(start, v, step))
        assert f(np.asarray(v, dtype=dtype)) == want, (v, args)


def test_float_arange_keeps_numpys_rule():
    n = T.dscalar("n")
    f = theano.function([n], T.arange(0.0, n, 0.5).shape[0])
    for v in (-1.0, 0.0, 0.2, 2.75, 3.0):
        assert f(v) == len(np.arange(0.0, v, 0.5))


SLICES = [slice(None), slice(2, None), slice(None, 5), slice(1, 4), slice(4, 1), slice(-3, None),
          slice(None, -2), slice(1, -1), slice(-4, -1), slice(-1, -4), slice(0, 0), slice(-2, 3)]


@pytest.mark.parametrize("sl", SLICES, ids=str)
def test_length_of_a_static_slice_matches_numpy(sl):
    x = T.matrix("x")
    f = theano.function([x], [x[sl].shape[0], x[1, sl].shape[0], x[:, sl].shape[1]],
                        on_unused_input="ignore")  # x[4:1] has the static length 0
    text = op_text(f)
    # one bound of each side at most: no clipping of each bound by the length (a negative start
    # with a non-negative stop keeps the general expression)
    if not (sl.start is not None and sl.start < 0 and sl.stop is not None and sl.stop >= 0):
        assert text.count("minimum") + text.count("maximum") <= 4, text
    for n in range(0, 8):
        v = np.zeros((max(n, 2), n))
        got = f(v)
        assert list(got) == [len(v[sl]), len(v[1, sl]), v[:, sl].shape[1]], (n, sl)


def test_length_of_the_picked_rows_is_the_number_of_labels():
    # the mean of the NLL idiom divides by len(y), not by a switch/ceil expression
    z = T.matrix("z")
    y = T.ivector("y")
    picked = T.log(T.nnet.softmax(z))[T.arange(y.shape[0]), y]
    f = theano.function([z, y], picked.shape[0])
    assert [type(n.op).__name__ for n in f.maker.fgraph.toposort()] == ["Shape_i"]
