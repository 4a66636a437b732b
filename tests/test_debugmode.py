"""DebugMode checks every native kernel: wrong kernels planted through graphrt-cpu's public kernel
ABI (a C extension built here against graphrt_cpu.h and registered with
graphrt_cpu.register_kernel, as a third-party op package does) and ops that break their
memory declarations are caught, with the node, the kernel, both results and the user's line.

The C extension is compiled straight with the C compiler (one small file, well under a second),
not through pip like tests/test_plugin_abi.py, and loaded from a temporary folder. Each test
registers kernels only for op classes defined here, so no other test sees them.
"""

import importlib.util
import inspect
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.debugmode import (BadDestroyMap, BadThunkOutput, BadViewMap, DebugMode,
                                         DebugModeError, InvalidValueError)
from graphcore.graph.basic import Apply
from graphcore.graph.op import Op

graphrt_cpu = pytest.importorskip("graphrt_cpu")

C_SOURCE = textwrap.dedent(r"""
    #define PY_SSIZE_T_CLEAN
    #include <Python.h>
    #include "graphrt_cpu.h"

    /* y = 2 * x for a float64 vector, but reading x as if it were contiguous (strides ignored) */
    static int twice_ignoring_strides(const graphrt_call *call)
    {
        const graphrt_array *x = &call->inputs[0];
        graphrt_intp i, n = x->shape[0];
        if (call->alloc_output(call, 0, 1, x->shape, GRAPHRT_FLOAT64) != 0)
            return GRAPHRT_ERROR;
        for (i = 0; i < n; i++)
            ((double *)call->outputs[0].data)[i] = 2.0 * ((const double *)x->data)[i];
        return GRAPHRT_OK;
    }

    /* y = 2 * x, and x is doubled too: it writes into an input (the ABI forbids it) */
    static int twice_into_input(const graphrt_call *call)
    {
        const graphrt_array *x = &call->inputs[0];
        graphrt_intp i, n = x->shape[0];
        if (call->alloc_output(call, 0, 1, x->shape, GRAPHRT_FLOAT64) != 0)
            return GRAPHRT_ERROR;
        for (i = 0; i < n; i++) {
            double *p = (double *)(x->data + i * x->strides[0]);
            *p = 2.0 * *p;
            ((double *)call->outputs[0].data)[i] = *p;
        }
        return GRAPHRT_OK;
    }

    /* y += 2 * x: reads its uninitialised output buffer (right only when the pool gives zeros) */
    static int twice_accumulating(const graphrt_call *call)
    {
        const graphrt_array *x = &call->inputs[0];
        graphrt_intp i, n = x->shape[0];
        if (call->alloc_output(call, 0, 1, x->shape, GRAPHRT_FLOAT64) != 0)
            return GRAPHRT_ERROR;
        for (i = 0; i < n; i++)
            ((double *)call->outputs[0].data)[i] +=
                2.0 * *(const double *)(x->data + i * x->strides[0]);
        return GRAPHRT_OK;
    }

    static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "wrong_kernels", NULL, -1, NULL};

    PyMODINIT_FUNC PyInit_wrong_kernels(void)
    {
        PyObject *m = PyModule_Create(&module);
        if (m == NULL)
            return NULL;
        if (PyModule_AddObject(m, "twice_ignoring_strides",
                               graphrt_kernel_capsule(twice_ignoring_strides)) != 0 ||
            PyModule_AddObject(m, "twice_into_input", graphrt_kernel_capsule(twice_into_input)) != 0 ||
            PyModule_AddObject(m, "twice_accumulating",
                               graphrt_kernel_capsule(twice_accumulating)) != 0) {
            Py_DECREF(m);
            return NULL;
        }
        return m;
    }
""")


def _c_compiler():
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc) or shutil.which("cc") or shutil.which("gcc")


@pytest.fixture(scope="module")
def wrong_kernels(tmp_path_factory):
    """The C extension `wrong_kernels`, built against graphrt_cpu.get_include() and imported."""
    cc = _c_compiler()
    if cc is None:
        pytest.skip("no C compiler found: the planted kernels cannot be built")
    work = tmp_path_factory.mktemp("wrong_kernels")
    src = work / "wrong_kernels.c"
    src.write_text(C_SOURCE)
    so = work / f"wrong_kernels{sysconfig.get_config_var('EXT_SUFFIX')}"
    cmd = [cc, "-shared", "-fPIC", "-O1", f"-I{sysconfig.get_paths()['include']}",
           f"-I{graphrt_cpu.get_include()}", str(src), "-o", str(so)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"building the planted kernels failed:\n{proc.stderr}"
    spec = importlib.util.spec_from_file_location("wrong_kernels", so)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules.pop("wrong_kernels", None)
    return module


class _Twice(Op):
    """y = 2 * x on a float64 vector; perform is right, each subclass gets a (wrong) kernel."""

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        assert x.type.dtype == "float64" and x.type.ndim == 1
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, out):
        out[0][0] = 2.0 * inputs[0]


class TwiceIgnoringStrides(_Twice):
    pass


class TwiceIntoInput(_Twice):
    pass


class TwiceAccumulating(_Twice):
    pass


@pytest.fixture(scope="module")
def planted(wrong_kernels):
    for cls, name in [(TwiceIgnoringStrides, "twice_ignoring_strides"),
                      (TwiceIntoInput, "twice_into_input"),
                      (TwiceAccumulating, "twice_accumulating")]:
        graphrt_cpu.register_kernel(cls, graphrt_cpu.kernel_capsule(wrong_kernels, name))


def _labels(f):
    return [kind for _, kind in f.executable.kernel_labels()]


def test_a_kernel_ignoring_strides_is_caught_with_node_kernel_results_and_user_line(planted):
    x = T.dvector("x")
    y = TwiceIgnoringStrides()(x[::-2])
    line = inspect.currentframe().f_lineno - 1
    plain = theano.function([x], y, mode="cpu")
    assert "native" in _labels(plain)  # the planted kernel is what the cpu backend runs
    xv = np.arange(6.0)
    assert not np.allclose(plain(xv), 2 * xv[::-2])  # wrong, silently, in a normal mode
    f = theano.function([x], y, mode=DebugMode(linker="cpu"))
    with pytest.raises(BadThunkOutput) as info:
        f(xv)
    msg = str(info.value)
    assert "TwiceIgnoringStrides" in msg  # the node
    assert "cpu native kernel" in msg and "perform" in msg  # the kernel and the reference
    assert "largest difference" in msg
    assert "dtype=float64 shape=(3,)" in msg and "strides=(-16,)" in msg  # results, the input
    assert f'"{__file__}", line {line}' in msg  # the user's line that built the node
    # a contiguous input is read right by the same kernel: DebugMode passes it
    g = theano.function([x], TwiceIgnoringStrides()(x), mode=DebugMode(linker="cpu"))
    np.testing.assert_allclose(g(xv), 2 * xv)


def test_check_c_code_and_check_py_code_switch_the_comparison_off(planted):
    x = T.dvector("x")
    y = TwiceIgnoringStrides()(x[::-2])
    xv = np.arange(6.0)
    # only perform runs: the right answer
    f = theano.function([x], y, mode=DebugMode(linker="cpu", check_c_code=False))
    np.testing.assert_allclose(f(xv), 2 * xv[::-2])
    # only the kernel runs: nothing to compare it with, but the optimized-vs-original check
    # (the graph as written, on the python reference backend) still sees the wrong values
    f = theano.function([x], y, mode=DebugMode(linker="cpu", check_py_code=False))
    with pytest.raises(DebugModeError, match="differs from the original graph"):
        f(xv)


def test_a_kernel_writing_into_its_input_is_caught(planted):
    x = T.dvector("x")
    f = theano.function([x], TwiceIntoInput()(x) + 1, mode=DebugMode(linker="cpu"))
    xv = np.arange(4.0)
    with pytest.raises(BadDestroyMap, match=r"cpu native kernel overwrote input 0 \(x\)"):
        f(xv)
    np.testing.assert_array_equal(xv, np.arange(4.0))  # put back as it was


def test_a_kernel_reading_its_uninitialised_output_is_caught_with_preallocated_garbage(planted):
    x = T.dvector("x")
    xv = np.arange(5.0)
    # whether the first run's fresh buffer holds zeros is luck; over garbage it never does
    # (check_py_code=False: the kernel is compared with itself over the two kinds of buffer)
    f = theano.function([x], TwiceAccumulating()(x),
                        mode=DebugMode(linker="cpu", check_py_code=False, check_isfinite=False,
                                       check_preallocated_output=True))
    with pytest.raises(BadThunkOutput, match="output buffers hold garbage"):
        f(xv)


class SneakyIncrement(Op):
    """Adds 1 to its input in place without declaring a destroy_map."""

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, out):
        inputs[0] += 1
        out[0][0] = inputs[0].copy()


class UndeclaredView(Op):
    """Returns its input itself, without a view_map."""

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, out):
        out[0][0] = inputs[0]


class WrongDtype(Op):
    """Declares float64 and returns float32."""

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [T.dvector()])

    def perform(self, node, inputs, out):
        out[0][0] = inputs[0].astype("float32")


@pytest.mark.parametrize("backend", ["cpu", "python"])
def test_an_op_writing_into_an_undeclared_input_is_caught(backend):
    x = T.dvector("x")
    f = theano.function([x], SneakyIncrement()(x * 2) * 3, mode=DebugMode(linker=backend))
    with pytest.raises(BadDestroyMap, match=r"overwrote input 0 \(.*\).*destroy_map"):
        f(np.arange(3.0))


def test_an_output_aliasing_an_undeclared_input_is_caught():
    x = T.dvector("x")
    f = theano.function([x], UndeclaredView()(x), mode=DebugMode())
    with pytest.raises(BadViewMap, match="shares memory with input 0"):
        f(np.arange(3.0))


def test_an_output_of_the_wrong_type_is_caught():
    x = T.dvector("x")
    f = theano.function([x], WrongDtype()(x), mode=DebugMode())
    with pytest.raises(InvalidValueError, match="not of the declared type"):
        f(np.arange(3.0))


def test_check_isfinite():
    x = T.dvector("x")
    f = theano.function([x], T.log(x), mode=DebugMode())
    with pytest.raises(InvalidValueError, match="NaN or Inf"):
        f(np.array([1.0, 0.0]))
    f = theano.function([x], T.log(x), mode=DebugMode(check_isfinite=False))
    np.testing.assert_array_equal(f(np.array([1.0, 0.0])), [0.0, -np.inf])


def test_a_correct_graph_with_views_inplace_updates_and_strided_inputs_passes():
    x, W = T.dmatrix("x"), theano.shared(np.ones((3, 4)), "W")
    h = T.tanh(T.dot(x, W))
    cost = (h ** 2).sum() + x.T[::-1].sum()
    gW = T.grad(cost, W)
    f = theano.function([x], [cost, h.T[1:]], updates=[(W, W - 0.1 * gW)],
                        mode=DebugMode(check_preallocated_output=True))
    xv = np.arange(12.0).reshape(4, 3)[:, ::-1] / 10
    c, ht = f(xv)
    want_h = np.tanh(xv @ np.ones((3, 4)))
    np.testing.assert_allclose(c, (want_h ** 2).sum() + xv.sum())
    np.testing.assert_allclose(ht, want_h.T[1:])
    assert not np.allclose(W.get_value(), 1.0)  # the update ran


def test_mode_by_name_checks_the_configured_backend():
    x = T.dvector("x")
    f = theano.function([x], T.exp(x), mode="DebugMode")
    assert isinstance(f.maker.mode, DebugMode)
    assert f.maker.backend.name == "cpu"  # config.device=auto picks graphrt-cpu when installed
    kernels = [s[2] for s in f.executable.steps if s[2] is not None]
    assert [k.label for k in kernels] == ["cpu native kernel"]
    np.testing.assert_allclose(f(np.arange(3.0)), np.exp(np.arange(3.0)))
