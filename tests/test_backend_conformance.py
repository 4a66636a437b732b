"""Every available backend computes what the python reference backend and NumPy compute.

Parametrised over graphcore.testing.backend_names(): a backend installed later
(a plugin, cuda on a GPU machine) is tested by the same cases automatically.
"""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode
from graphcore.testing import assert_allclose_backends, backend_names, parametrize_backends

rng = np.random.default_rng(7)
M = rng.standard_normal((4, 3))
V = rng.standard_normal(3)
R = rng.standard_normal((1, 3))
I8 = np.array([[1, -2, 3], [4, 5, -6]], dtype="int8")


def _cases():
    m, v, r = T.dmatrix("m"), T.dvector("v"), T.drow("r")
    i = T.bmatrix("i")
    f32 = T.fmatrix("f")
    return {
        "elemwise": ([m, v], lambda: [m * v + 1, T.exp(m) - T.log(abs(v) + 1), T.tanh(m) / 2],
                     [M, V], lambda a, b: [a * b + 1, np.exp(a) - np.log(abs(b) + 1),
                                           np.tanh(a) / 2]),
        "row_broadcast": ([m, r], lambda: [m + r, T.maximum(m, r)], [M, R],
                          lambda a, b: [a + b, np.maximum(a, b)]),
        "comparisons_logic": ([m, v], lambda: [(m > v) & (m < 1), T.switch(m > 0, m, v)], [M, V],
                              lambda a, b: [(a > b) & (a < 1), np.where(a > 0, a, b)]),
        "int8_weak_scalars": ([i], lambda: [i + 1, i * 2, i // 2, i % 3, -i], [I8],
                              lambda a: [a + 1, a * 2, a // 2, a % 3, -a]),
        "reductions": ([m], lambda: [m.sum(axis=0), m.mean(axis=1, keepdims=True), m.max(),
                                     m.argmin(axis=1), m.std(axis=0), m.prod()], [M],
                       lambda a: [a.sum(axis=0), a.mean(axis=1, keepdims=True), a.max(),
                                  a.argmin(axis=1), a.std(axis=0), a.prod()]),
        "shape_ops": ([m], lambda: [m.T, m.dimshuffle(1, "x", 0), m.reshape((2, 6)), m.flatten(),
                                    m.shape], [M],
                      lambda a: [a.T, a.T[:, None, :], a.reshape(2, 6), a.ravel(),
                                 np.array(a.shape, dtype="int64")]),
        "dot": ([m, v], lambda: [T.dot(m, v), T.dot(m.T, m), T.dot(v, v)], [M, V],
                lambda a, b: [a @ b, a.T @ a, b @ b]),
        "float32": ([f32], lambda: [f32 * 0.5 + 1, T.sigmoid(f32), f32.sum(axis=1)],
                    [M.astype("float32")],
                    lambda a: [a * np.float32(0.5) + np.float32(1),
                               (1 / (1 + np.exp(-a))).astype("float32"), a.sum(axis=1)]),
        "gradient": ([m, v], lambda: T.grad((T.tanh(T.dot(m, v)) ** 2).sum(), [m, v]), [M, V],
                     lambda a, b: [np.outer(2 * np.tanh(a @ b) * (1 - np.tanh(a @ b) ** 2), b),
                                   a.T @ (2 * np.tanh(a @ b) * (1 - np.tanh(a @ b) ** 2))]),
    }


CASES = sorted(_cases())


@pytest.mark.parametrize("case", CASES)
def test_backends_agree_with_numpy(case):
    inputs, outputs, values, ref = _cases()[case]
    rtol = 1e-5 if case == "float32" else 1e-7
    assert_allclose_backends(inputs, outputs(), values, ref=ref, rtol=rtol)


@parametrize_backends()
def test_results_are_fresh_arrays_on_every_backend(backend):
    """A later call must not change an earlier result (no reuse of returned buffers)."""
    x = T.dvector("x")
    s = theano.shared(np.zeros(3), "s")
    f = theano.function([x], [x * 2, s + x, x], updates=[(s, s + x)], mode=Mode(linker=backend))
    a = np.array([1.0, 2.0, 3.0])
    first = f(a)
    snapshot = [o.copy() for o in first]
    second = f(a * 10)
    for k, (o, want) in enumerate(zip(first, snapshot)):
        np.testing.assert_array_equal(o, want, err_msg=f"output {k} changed by the next call")
        assert not np.shares_memory(o, a)
        for p in second:
            assert not np.shares_memory(o, p)
    np.testing.assert_allclose(s.get_value(), a * 11)
    np.testing.assert_allclose(a, [1.0, 2.0, 3.0])  # the argument is untouched


@parametrize_backends()
def test_updates_see_old_values_on_every_backend(backend):
    w = theano.shared(np.array([1.0, 2.0]), "w")
    f = theano.function([], [w * 1, (w ** 2).sum()], updates=[(w, w * 3)],
                        mode=Mode(linker=backend))
    a, b = f()
    np.testing.assert_allclose(a, [1.0, 2.0])
    assert b == 5.0
    np.testing.assert_allclose(w.get_value(), [3.0, 6.0])


@parametrize_backends()
def test_runtime_errors_name_the_op_on_every_backend(backend):
    import inspect

    a, b = T.dmatrix("a"), T.dmatrix("b")
    total = a + b
    line = inspect.currentframe().f_lineno - 1
    f = theano.function([a, b], total, mode=Mode(linker=backend))
    with pytest.raises(ValueError, match=r"\(1, 3\).*\(4, 3\)") as info:
        f(np.ones((1, 3)), np.ones((4, 3)))
    msg = str(info.value)
    assert "add" in msg  # the op
    assert f'"{__file__}", line {line}' in msg  # the user's line that built it


def test_the_python_backend_is_always_tested():
    assert "python" in backend_names()


@pytest.mark.parametrize("case", CASES)
def test_optimized_graphs_agree_with_the_graphs_as_written(case):
    """DebugMode runs the rewritten program and the original one and compares them."""
    from graphcore.compile import DebugMode

    inputs, outputs, values, _ = _cases()[case]
    theano.function(inputs, outputs(), mode=DebugMode())(*values)


VIEWS = {
    "reshape": lambda x: x.reshape((6,)),
    "flatten": lambda x: x.flatten(),
    "transpose": lambda x: x.T,
    "dimshuffle": lambda x: x.dimshuffle(1, "x", 0),
    "slice": lambda x: x[1:],
    "row": lambda x: x[0],
    "specify_shape": lambda x: T.specify_shape(x, (2, 3)),
    "disconnected_grad": lambda x: theano.gradient.disconnected_grad(x),
    "times_one": lambda x: x * 1,
    "plus_zero": lambda x: x + 0,
    "advanced_index": lambda x: x[[0, 1]],
}


@parametrize_backends()
@pytest.mark.parametrize("view", sorted(VIEWS))
def test_views_of_inputs_are_returned_as_copies(backend, view):
    """Even an output that is a view (or the identity) of an input never aliases the caller's array."""
    x = T.dmatrix("x")
    f = theano.function([x], VIEWS[view](x), mode=Mode(linker=backend))
    a = np.arange(6.0).reshape(2, 3)
    r = f(a)
    assert not np.shares_memory(r, a)
    np.testing.assert_array_equal(a, np.arange(6.0).reshape(2, 3))
