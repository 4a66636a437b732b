"""Issue 14's reproducers: no input crashes the process, NumPy's numerics, threads and devices.

(All-or-nothing updates: test_guarantees_updates.py; the subprocess fuzz test:
test_fuzz_inputs.py.)
"""

import pickle
import threading

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.backends.registry import BackendNotInstalledError
from graphcore.compile.mode import Mode
from graphcore.testing import parametrize_backends


def _fn(inputs, outputs, backend, **kwargs):
    return theano.function(inputs, outputs, mode=Mode(linker=backend), **kwargs)


# -- trust_input skips conversions, not memory safety ------------------------------------------

@parametrize_backends()
def test_trust_input_wrong_ndim_is_a_clear_error(backend):
    x = T.dmatrix("x")
    f = _fn([x], T.exp(x) * 2, backend)
    f.trust_input = True
    with pytest.raises(TypeError, match=r"input x: expected an ndarray of dtype float64 and "
                                        r"ndim 2 .* got dtype float64 and shape \(4,\)"):
        f(np.ones(4))
    np.testing.assert_allclose(f(np.ones((2, 2))), 2 * np.e * np.ones((2, 2)))


@parametrize_backends()
def test_trust_input_dot_of_a_3d_array_is_an_error_not_garbage(backend):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = _fn([x, y], T.dot(x, y), backend)
    f.trust_input = True
    with pytest.raises(TypeError, match="ndim 2"):
        f(np.ones((2, 3, 4)), np.ones((4, 2)))


@parametrize_backends()
def test_trust_input_wrong_index_dtype_is_an_error(backend):
    x, i = T.dvector("x"), T.lvector("i")
    f = _fn([x, i], x[i], backend)
    f.trust_input = True
    with pytest.raises(TypeError, match="input i: expected an ndarray of dtype int64"):
        f(np.arange(5.0), np.array([1, 2], dtype="int32"))
    with pytest.raises(TypeError, match="must be a numpy.ndarray"):
        f(np.arange(5.0), [1, 2])
    np.testing.assert_array_equal(f(np.arange(5.0), np.array([1, 2])), [1.0, 2.0])


@parametrize_backends()
def test_trust_input_static_shape_is_checked(backend):
    x = T.specify_shape(T.dmatrix("x"), (2, 3))
    xin = x.owner.inputs[0]
    f = _fn([xin], x.sum(), backend)
    f.trust_input = True
    assert f(np.ones((2, 3))) == 6
    with pytest.raises((ValueError, AssertionError)):
        f(np.ones((3, 2)))


@parametrize_backends()
def test_borrowed_shared_value_reshaped_in_place(backend):
    """A shared array given with borrow=True and then reshaped in place by the user."""
    arr = np.ones((1000, 10))
    a = theano.shared(arr, "a", borrow=True)
    f = _fn([], a.sum(), backend)
    assert f() == 10000
    arr.shape = (10000,)  # same data, another ndim
    with pytest.raises(TypeError, match=r"shared variable a: expected an ndarray of dtype "
                                        r"float64 and ndim 2 .* shape \(10000,\) .*borrow=True"):
        f()
    arr.shape = (100, 100)  # same ndim, another shape: the kernels read the shape each call
    assert f() == 10000


# -- numerics as NumPy ------------------------------------------------------------------------

@parametrize_backends()
def test_float16_mean_accumulates_in_float32(backend):
    x = T.vector("x", dtype="float16")
    f = _fn([x], x.mean(), backend)
    v = np.ones(70000, dtype="float16")
    got = f(v)
    assert got.dtype == np.float16 and got == np.float16(1.0) == v.mean()
    v = np.full(5000, 0.1, dtype="float16")
    np.testing.assert_allclose(f(v), v.astype("float32").mean(), rtol=1e-3)


@parametrize_backends()
def test_float16_sum_accumulates_in_float32(backend):
    x = T.vector("x", dtype="float16")
    f = _fn([x], x.sum(), backend)
    v = np.concatenate([np.full(4096, 1.0), np.full(4096, 1e-3)]).astype("float16")
    want = np.float16(v.astype("float32").sum())
    got = f(v)
    assert got.dtype == np.float16 and got == want
    # a float16 running sum stalls at 2048 (+1 rounds away); float32 accumulation does not
    assert f(np.ones(3000, dtype="float16")) == 3000


@parametrize_backends()
def test_int32_shape_arithmetic_does_not_wrap(backend):
    n, m = T.iscalar("n"), T.iscalar("m")
    f = _fn([n, m], T.zeros((n * m,)).shape, backend)
    assert f(3, 4)[0] == 12
    assert f(100000, 100000)[0] == 10**10  # int32 arithmetic gave 1410065408
    k = T.iscalar("k")
    g = _fn([n, m, k], T.zeros((n * m * k,), dtype="int8"), backend)
    with pytest.raises(Exception, match="Unable to allocate"):
        g(100000, 100000, 100000)  # 1e15 bytes: an error, never a wrapped size
    assert (n * m).dtype == "int32"  # the user's own expression keeps NumPy's dtype


# -- threads and devices ----------------------------------------------------------------------

def test_thread_count_belongs_to_the_compiled_function():
    x = T.dvector("x")
    with theano.change_flags(num_threads=2):
        f = _fn([x], T.exp(x), "cpu")
    with theano.change_flags(num_threads=1):
        g = _fn([x], T.exp(x), "cpu")
    assert f.executable.nthreads == 2 and g.executable.nthreads == 1
    v = np.linspace(0, 1, 300_001)
    np.testing.assert_array_equal(f(v), g(v))


@parametrize_backends()
def test_concurrent_calls_with_an_inplace_update_lose_nothing(backend):
    s = theano.shared(np.zeros(200_000), "s")
    f = _fn([], [], backend, updates=[(s, s + 1)])
    calls = 100 if backend == "python" else 500

    def work():
        for _ in range(calls):
            f()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(s.get_value()[[0, 99_999, -1]], [4 * calls] * 3)
    assert f.call_plan.lock is not None
    x = T.dvector("x")
    assert _fn([x], x + 1, backend).call_plan.lock is None  # no updates: no lock


@parametrize_backends()
def test_the_lock_of_a_function_with_updates_excludes_other_calls(backend):
    """The lock serializes calls on the native fast path too (an update not done in place)."""
    s = theano.shared(np.zeros(3), "s")
    x = T.dvector("x")
    g = _fn([x], x * 2, backend, updates=[(s, x + 1)])
    lock = g.call_plan.lock
    started, done = threading.Event(), threading.Event()

    def call():
        started.set()
        g(np.ones(3))
        done.set()

    with lock:  # held here: the thread's call must wait for it
        t = threading.Thread(target=call)
        t.start()
        started.wait()
        assert not done.wait(0.2)
        np.testing.assert_array_equal(s.get_value(), np.zeros(3))
    t.join()
    assert done.is_set()
    np.testing.assert_array_equal(s.get_value(), 2 * np.ones(3))


def test_fallback_device_covers_a_backend_that_is_not_installed():
    x = T.dvector("x")
    f = _fn([x], x * 2, "cpu")
    f.maker.spec["mode"] = Mode(linker="cpu")
    data = pickle.dumps(f)
    # the function was compiled for a backend this machine does not have
    data = data.replace(b"\x8c\x03cpu", b"\x8c\x03xpu")
    with pytest.raises(BackendNotInstalledError, match="'xpu' is not installed"):
        pickle.loads(data)
    with theano.change_flags(fallback_device="cpu"):
        g = pickle.loads(data)
    assert g.maker.backend.name == "cpu"
    np.testing.assert_array_equal(g(np.arange(3.0)), [0, 2, 4])
