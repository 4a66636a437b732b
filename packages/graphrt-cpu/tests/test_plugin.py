"""The kernel ABI of graphrt_cpu.h, driven without a C compiler: kernels are ctypes callbacks.

The ctypes structures below mirror graphrt_cpu.h field by field, so these tests also pin the
struct layout. (tests/test_plugin_abi.py builds a real C kernel package.)
"""

import ctypes
import os
import re
import struct

import numpy as np
import pytest

import graphcore as gc
import graphcore.tensor as T
import graphrt_cpu
from graphcore.graph.basic import Apply
from graphcore.graph.op import Op
from graphcore.tensor.basic import as_tensor_variable
from graphcore.tensor.type import TensorType
from graphrt_cpu import backend


class GraphrtArray(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("ndim", ctypes.c_int), ("typenum", ctypes.c_int),
                ("itemsize", ctypes.c_int), ("kind", ctypes.c_char),
                ("shape", ctypes.POINTER(ctypes.c_ssize_t)), ("strides", ctypes.POINTER(ctypes.c_ssize_t)),
                ("object", ctypes.c_void_p)]


class GraphrtCall(ctypes.Structure):
    pass


# PYFUNCTYPE: alloc_output needs the GIL, which a CFUNCTYPE call would release
ALLOC = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.POINTER(GraphrtCall), ctypes.c_int, ctypes.c_int,
                          ctypes.POINTER(ctypes.c_ssize_t), ctypes.c_int)
GraphrtCall._fields_ = [("abi_version", ctypes.c_int), ("nin", ctypes.c_int), ("nout", ctypes.c_int),
                        ("inputs", ctypes.POINTER(GraphrtArray)), ("outputs", ctypes.POINTER(GraphrtArray)),
                        ("params", ctypes.c_void_p), ("alloc_output", ALLOC),
                        ("error", ctypes.POINTER(ctypes.c_char)), ("error_size", ctypes.c_size_t),
                        ("runtime", ctypes.c_void_p)]
KERNEL = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(GraphrtCall))

OK, ERROR, VALUE_ERROR, TYPE_ERROR, USE_PERFORM = 0, 1, 2, 3, 4

_new_capsule = ctypes.pythonapi.PyCapsule_New
_new_capsule.restype = ctypes.py_object
_new_capsule.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_set_context = ctypes.pythonapi.PyCapsule_SetContext
_set_context.restype = ctypes.c_int
_set_context.argtypes = [ctypes.py_object, ctypes.c_void_p]
_NAMES = {}  # capsule names must outlive the capsules
_KEEP = []  # and so must the ctypes callbacks


def make_capsule(fn, name=b"graphrt_cpu.kernel", version=1):
    """What graphrt_kernel_capsule() does in C."""
    cb = KERNEL(fn)
    _KEEP.append(cb)
    name = _NAMES.setdefault(name, ctypes.create_string_buffer(name))
    cap = _new_capsule(ctypes.cast(cb, ctypes.c_void_p), ctypes.cast(name, ctypes.c_char_p), None)
    if version:
        _set_context(cap, version)
    return cap


def as_array(a):
    return ctypes.cast(a.object, ctypes.py_object).value


def set_error(call, text):
    msg = text.encode()[: call.error_size - 1] + b"\0"
    ctypes.memmove(call.error, msg, len(msg))


def scale_kernel(factor=None, alloc_dtype=None, alloc=True, rc=OK, message=None, calls=None):
    """A kernel computing out = x * factor (factor: the params double when None)."""
    def kernel(pcall):
        call = pcall.contents
        if calls is not None:
            calls.append((call.abi_version, call.nin, call.nout))
        if message is not None:
            set_error(call, message)
            return rc
        if rc == USE_PERFORM:
            return rc
        x = call.inputs[0]
        xv = as_array(x)
        if alloc:
            typenum = np.dtype(alloc_dtype).num if alloc_dtype else x.typenum
            if call.alloc_output(pcall, 0, x.ndim, x.shape, typenum) != 0:
                return ERROR
            out = as_array(call.outputs[0])
            assert out.flags.c_contiguous and call.outputs[0].kind == xv.dtype.kind.encode()
            f = factor if factor is not None else ctypes.cast(call.params, ctypes.POINTER(ctypes.c_double))[0]
            out[...] = xv * f
        return rc

    return kernel


class Scale(Op):
    """x * factor (the test op; `perform` is the reference)."""

    __props__ = ("factor",)

    def __init__(self, factor=2.0):
        self.factor = float(factor)

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [TensorType(x.type.dtype, x.type.shape)()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = (inputs[0] * self.factor).astype(inputs[0].dtype)


@pytest.fixture
def op_class():
    """A fresh Scale subclass per test, so registrations do not leak between tests."""
    cls = type("Scale", (Scale,), {})
    yield cls
    backend.LOWERINGS.pop(cls, None)


def run(op_class, xv, **kw):
    x = T.TensorType(str(xv.dtype), (None,) * xv.ndim)("x")
    f = gc.function([x], op_class(3.0)(x), mode="cpu", profile=True)
    return f, f(xv)


def test_registered_kernel_runs_natively_and_matches_perform(op_class):
    calls = []
    graphrt_cpu.register_kernel(op_class, make_capsule(scale_kernel(3.0, calls=calls)))
    xv = np.arange(12.0).reshape(3, 4)[:, ::2]  # strided input
    f, got = run(op_class, xv)
    np.testing.assert_array_equal(got, xv * 3.0)
    assert [k for _, k in f.profile.labels] == ["native"]
    assert calls == [(1, 1, 1)]
    got2 = f(np.ones((2, 2)))  # the same function, another shape
    np.testing.assert_array_equal(got2, np.full((2, 2), 3.0))


def test_params_reach_the_kernel_per_node(op_class):
    graphrt_cpu.register_kernel(op_class, make_capsule(scale_kernel()),
                                params=lambda node: struct.pack("d", node.op.factor))
    _, got = run(op_class, np.array([1.0, -2.0]))
    np.testing.assert_array_equal(got, [3.0, -6.0])


def test_use_perform_runs_the_reference(op_class):
    calls = []
    graphrt_cpu.register_kernel(op_class, make_capsule(scale_kernel(rc=USE_PERFORM, calls=calls)))
    f, got = run(op_class, np.array([1, 2], dtype="int32"))
    assert calls and got.dtype == np.int32
    np.testing.assert_array_equal(got, [3, 6])


def test_accepts_declines_at_compile_time(op_class):
    graphrt_cpu.register_kernel(op_class, make_capsule(scale_kernel(3.0)),
                                accepts=lambda node: node.inputs[0].type.dtype == "float64")
    f, _ = run(op_class, np.array([1.0]))
    assert [k for _, k in f.profile.labels] == ["native"]
    f, got = run(op_class, np.array([1.0], dtype="float32"))
    assert [k for _, k in f.profile.labels] == ["perform"]
    assert got.dtype == np.float32


@pytest.mark.parametrize("rc, exc_type", [(VALUE_ERROR, ValueError), (TYPE_ERROR, TypeError),
                                           (ERROR, RuntimeError), (17, RuntimeError)])
def test_kernel_error_is_raised_with_node_info(op_class, rc, exc_type):
    graphrt_cpu.register_kernel(op_class, make_capsule(scale_kernel(rc=rc, message="bad things")))
    x = T.dvector("x")
    f = gc.function([x], op_class(3.0)(x), mode="cpu")  # the user's line
    with pytest.raises(exc_type) as info:
        f(np.ones(4))
    msg = str(info.value)
    assert msg.startswith("bad things")
    assert "Apply node that caused the error: Scale{factor=3.0}(x)" in msg
    assert "shape=(4,) dtype=float64" in msg
    assert os.path.basename(__file__) in msg and "# the user's line" in msg


def test_kernel_error_without_message(op_class):
    graphrt_cpu.register_kernel(op_class, make_capsule(scale_kernel(rc=VALUE_ERROR, message="")))
    with pytest.raises(ValueError, match=r"native kernel failed \(code 2\)"):
        run(op_class, np.ones(2))


def test_output_of_the_wrong_dtype_is_refused(op_class):
    graphrt_cpu.register_kernel(op_class, make_capsule(scale_kernel(3.0, alloc_dtype="float32")))
    with pytest.raises(TypeError, match=re.escape("allocated output 0 as 1-d float32, but the node's "
                                                  "output type is")):
        run(op_class, np.ones(2))


def test_success_without_an_output_is_an_error(op_class):
    graphrt_cpu.register_kernel(op_class, make_capsule(scale_kernel(3.0, alloc=False)))
    with pytest.raises(RuntimeError, match="returned success without allocating output 0"):
        run(op_class, np.ones(2))


def test_capsules_are_checked_at_registration(op_class):
    with pytest.raises(TypeError, match="must be named 'graphrt_cpu.kernel'"):
        graphrt_cpu.register_kernel(op_class, make_capsule(scale_kernel(3.0), name=b"other"))
    with pytest.raises(TypeError, match="PyCapsule"):
        graphrt_cpu.register_kernel(op_class, lambda call: 0)
    with pytest.raises(ImportError, match="no kernel ABI version.*graphrt_kernel_capsule"):
        graphrt_cpu.register_kernel(op_class, make_capsule(scale_kernel(3.0), version=0))
    with pytest.raises(ImportError, match="ABI version 2.*rebuild"):
        graphrt_cpu.register_kernel(op_class, make_capsule(scale_kernel(3.0), version=2))
    assert op_class not in backend.LOWERINGS


def test_kernel_capsule_reads_a_module_attribute():
    import types

    mod = types.ModuleType("fake_native")
    mod.k = make_capsule(scale_kernel(3.0))
    assert graphrt_cpu.kernel_capsule(mod, "k") is mod.k
    with pytest.raises(AttributeError, match="no kernel capsule 'missing'"):
        graphrt_cpu.kernel_capsule(mod, "missing")


def test_header_declares_abi_version_1():
    header = os.path.join(graphrt_cpu.get_include(), "graphrt_cpu.h")
    text = open(header).read()
    assert "#define GRAPHRT_CPU_ABI_VERSION 1" in text
    assert "typedef int (*graphrt_kernel)(const graphrt_call *call);" in text
