"""The cuda backend end to end: launches checked against NumPy. GPU only.

On a machine without a usable GPU every test here SKIPS with the reason
(`CUDABackend.availability()`), never passes. tests/test_backend_conformance.py
runs on cuda too wherever the registry lists it (a GPU present); the
`test_conformance_suite_runs_on_cuda` marker below states that here.
"""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode
from graphcore.testing import backend_names

try:
    from graphrt_cuda.backend import CUDABackend

    _ok, _reason = CUDABackend.availability()
except ImportError as exc:  # graphrt-cuda not installed
    _ok, _reason = False, f"graphrt-cuda is not installed ({exc})"

pytestmark = pytest.mark.skipif(not _ok, reason=f"no usable GPU: {_reason}")
CUDA = Mode(linker="cuda")
rng = np.random.default_rng(0)


def test_conformance_suite_runs_on_cuda():
    assert "cuda" in backend_names()


def test_fused_elementwise_matches_numpy():
    x, y = T.fmatrix("x"), T.fmatrix("y")
    f = theano.function([x, y], T.exp(-x ** 2) * T.sin(y) + 0.5 * T.tanh(x * y), mode=CUDA)
    a, b = rng.standard_normal((2, 3, 50)).astype("float32")
    np.testing.assert_allclose(f(a, b), np.exp(-a ** 2) * np.sin(b) + 0.5 * np.tanh(a * b),
                               rtol=1e-5, atol=1e-6)


def test_broadcast_and_strided_inputs():
    x, v = T.dmatrix("x"), T.dvector("v")
    f = theano.function([x, v], x + v, mode=CUDA)
    a = rng.standard_normal((40, 30))[:, ::2].T  # transposed, strided
    b = rng.standard_normal(a.shape[1])
    np.testing.assert_allclose(f(a, b), a + b)


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 2)])
def test_reductions(axis):
    x = T.tensor3("x", dtype="float32")
    f = theano.function([x], [T.sum(x, axis=axis), T.max(x, axis=axis)], mode=CUDA)
    a = rng.standard_normal((5, 300, 7)).astype("float32")
    s, m = f(a)
    np.testing.assert_allclose(s, a.sum(axis=axis), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(m, a.max(axis=axis))


def test_softmax_crossentropy_and_gradient():
    x, y = T.fmatrix("x"), T.lvector("y")
    b = T.fvector("b")
    p = T.nnet.softmax(x + b)
    loss = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    gx = theano.grad(loss, x)
    f = theano.function([x, b, y], [loss, gx], mode=CUDA)
    g = theano.function([x, b, y], [loss, gx], mode=Mode(linker="python"))
    xa = rng.standard_normal((64, 10)).astype("float32")
    ba = rng.standard_normal(10).astype("float32")
    ya = rng.integers(0, 10, 64)
    for got, want in zip(f(xa, ba, ya), g(xa, ba, ya)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_gemm_and_shared_variables_live_on_the_gpu():
    import cupy

    W = theano.shared(rng.standard_normal((20, 30)).astype("float32"), name="W")
    x = T.fmatrix("x")
    f = theano.function([x], T.dot(x, W), updates=[(W, W * 0.5)], mode=CUDA)
    a = rng.standard_normal((4, 20)).astype("float32")
    w0 = W.get_value()
    np.testing.assert_allclose(f(a), a @ w0, rtol=1e-4, atol=1e-5)
    assert isinstance(W.get_value(borrow=True, return_internal_type=True), cupy.ndarray)


def test_graph_replay_gives_the_same_results():
    x = T.fvector("x")
    expr = x
    for k in range(50):
        expr = T.tanh(expr + k * 0.01)
    f = theano.function([x], expr, mode=CUDA)
    a = rng.standard_normal(100).astype("float32")
    want = f(a)
    for _ in range(3):  # second call captures, the rest replay
        np.testing.assert_allclose(f(a), want)
    np.testing.assert_allclose(f(a + 1), theano.function([x], expr, mode=Mode(linker="python"))(a + 1),
                               rtol=1e-5, atol=1e-6)


def test_unsupported_op_names_itself():
    x = T.fmatrix("x")
    with pytest.raises(NotImplementedError, match="cuda"):
        theano.function([x], T.sort(x), mode=CUDA)
