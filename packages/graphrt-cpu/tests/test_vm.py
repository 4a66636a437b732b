"""The C virtual machine: native kernels are used, control flow, buffers, profiling, threads."""

import io

import numpy as np
import pytest

import graphcore as gc
import graphcore.tensor as T
from graphcore.backends.program import Jump, JumpUnless, build_program
from graphrt_cpu.backend import CPUBackend, lower_program


def compile_cpu(inputs, outputs, **kw):
    return gc.function(inputs, outputs, mode="cpu", **kw)


def kinds(f):
    return {op: kind for op, kind in f.executable.kernel_labels()}


def test_common_ops_run_natively():
    x, W = T.dmatrix("x"), T.dmatrix("W")
    b = T.dvector("b")
    h = T.tanh(T.dot(x, W) + b)
    f = compile_cpu([x, W, b], [T.nnet.softmax(h), h.sum(axis=0), h.max(), h.T])
    labels = f.executable.kernel_labels()
    assert all(kind != "perform" for _, kind in labels), labels


def test_composite_is_compiled_to_bytecode():
    x, y = T.dvector("x"), T.dvector("y")
    f = compile_cpu([x, y], T.exp(-x ** 2) * T.sin(y) + 0.5 * T.tanh(x * y))
    (label,) = f.executable.kernel_labels()
    assert label[1] == "native" and "Composite" in label[0]
    xv, yv = np.linspace(-2, 2, 3001), np.linspace(-1, 3, 3001)
    np.testing.assert_allclose(f(xv, yv), np.exp(-xv ** 2) * np.sin(yv) + 0.5 * np.tanh(xv * yv), atol=1e-15,
                               rtol=1e-14)


def test_unsupported_op_falls_back_to_perform():
    x = T.dvector("x")
    f = compile_cpu([x], T.gammaln(x))
    assert [k for _, k in f.executable.kernel_labels()] == ["perform"]
    np.testing.assert_allclose(f(np.array([1.5, 3.0])), [-0.1207822376352452, 0.6931471805599453])


def test_jump_unless_skips_instructions():
    from graphcore.graph.fg import FunctionGraph

    x, y = T.dscalar("x"), T.dscalar("y")
    c = T.gt(x, 0)
    a, b = x + 1, x - 1
    fg = FunctionGraph([x, y], [c, a, b], clone=False)
    prog = build_program(fg)
    apply = list(prog.instructions)
    k_cond = next(k for k, i in enumerate(apply) if i.node.outputs[0] is c)
    k_a = next(k for k, i in enumerate(apply) if i.node.outputs[0] is a)
    k_b = next(k for k, i in enumerate(apply) if i.node.outputs[0] is b)
    # cond; jump_unless(cond) -> b; a; jump -> end; b
    order = [apply[k_cond], JumpUnless(cond=apply[k_cond].outputs[0], target=4), apply[k_a],
             Jump(target=5), apply[k_b]]
    prog.instructions = [type(i)(**{**i.__dict__, "frees": ()}) if i.kind == "apply" else i
                         for i in order]
    CPUBackend().link(build_program(fg))  # registers the kernels
    vm = lower_program(prog)
    out = vm([np.array(2.0), np.array(0.0)])
    assert bool(out[0]) and out[1] == 3.0 and out[2] is None
    out = vm([np.array(-2.0), np.array(0.0)])
    assert not bool(out[0]) and out[1] is None and out[2] == -3.0


def test_buffers_are_reused_when_the_caller_drops_outputs():
    x = T.dvector("x")
    f = compile_cpu([x], T.exp(x) + 1)
    v = np.ones(1000)
    out = f(v)
    addr = out.ctypes.data
    del out
    out2 = f(v)
    assert out2.ctypes.data == addr  # the pooled buffer came back
    out3 = f(v)
    assert not np.shares_memory(out2, out3)  # but never while the caller holds it


def test_freed_temporary_serves_a_later_instruction():
    x = T.dmatrix("x")
    y = T.nnet.softmax(T.exp(x))  # exp's buffer is dead once softmax has run
    z = T.nnet.softmax(y * 2)
    f = compile_cpu([x], z)
    f(np.ones((30, 40)))
    n, _ = f.executable.pool_stats()
    assert n <= 3


def test_error_names_op_shapes_and_user_line():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    z = T.dot(x, y)  # marker-line
    f = compile_cpu([x, y], z)
    with pytest.raises(ValueError) as info:
        f(np.ones((2, 3)), np.ones((4, 5)))
    text = str(info.value)
    assert "Dot" in text and "shape=(2, 3)" in text and "shape=(4, 5)" in text
    assert "marker-line" in text


def test_profile_summary_lists_instructions():
    x = T.dmatrix("x")
    f = compile_cpu([x], T.nnet.softmax(T.exp(x)).sum(), profile=True)
    for _ in range(3):
        f(np.ones((5, 6)))
    assert f.profile.ncalls == 3
    assert sum(f.profile.calls) == 3 * len(f.profile.labels)
    buf = io.StringIO()
    f.profile.summary(file=buf)
    text = buf.getvalue()
    assert "Softmax" in text and "3 call(s)" in text and "peak MB" in text


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_results_do_not_depend_on_thread_count(threads):
    x = T.dvector("x")
    f = compile_cpu([x], T.exp(-x ** 2) * T.sin(x) + 1)
    v = np.linspace(-3, 3, 300_001)
    f.executable.nthreads = 1  # the function's own thread count (config.num_threads at compile)
    want = f(v)
    f.executable.nthreads = threads
    got = f(v)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(got, np.exp(-v ** 2) * np.sin(v) + 1, rtol=1e-14)


def test_fast_call_path_matches_function_call_semantics():
    x = T.dvector("x")
    y = T.dscalar("y")
    f = compile_cpu([x, gc.In(y, value=2.0)], x * y)
    assert f.fast_call is not None
    np.testing.assert_array_equal(f(np.ones(3), 3.0), [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(f(np.ones(3)), [2.0, 2.0, 2.0])  # a default: the Python path
    np.testing.assert_array_equal(f(x=np.ones(2), y=4.0), [4.0, 4.0])
    np.testing.assert_array_equal(f([1, 2], 1), [1.0, 2.0])  # converted through the type's filter
    with pytest.raises(TypeError):
        f(np.ones(3), 1.0, 2.0)
    np.testing.assert_array_equal(f(np.ones(3, dtype="float32"), 1.0), [1.0, 1.0, 1.0])  # upcast


def test_fast_call_releases_the_vm_with_the_function():
    import weakref

    x = T.dvector("x")
    f = compile_cpu([x], x + 1)
    ref = weakref.ref(f)
    del f
    assert ref() is None


def test_trust_input_with_wrong_values_raises_instead_of_reading_memory():
    x = T.dvector("x")
    f = compile_cpu([x], T.exp(x) + 1, trust_input=True)
    with pytest.raises(TypeError):
        f(np.ones(3, dtype="float32"))
    with pytest.raises(TypeError):
        f([1.0, 2.0])


def test_concurrent_calls_from_threads_give_correct_results():
    import threading

    x = T.dvector("x")
    f = compile_cpu([x], T.exp(-x ** 2) * T.sin(x) + T.tanh(x))
    vals = [np.linspace(-k, k, 200_003) for k in range(1, 5)]
    want = [f(v).copy() for v in vals]
    errors = []

    def work(k):
        for _ in range(5):
            got = f(vals[k])
            if not np.array_equal(got, want[k]):
                errors.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
