"""The native extension is built, ships its public header and exports its constants."""

import os

import graphrt_cpu
from graphrt_cpu import _vm, kernel_constants


def test_extension_is_compiled():
    suffix = os.path.splitext(graphrt_cpu._vm.__file__)[1]
    assert suffix in (".so", ".pyd")


def test_get_include_holds_public_header():
    inc = graphrt_cpu.get_include()
    assert os.path.isdir(inc)
    header = os.path.join(inc, "graphrt_cpu.h")
    assert os.path.isfile(header)
    with open(header) as f:
        assert "#ifndef GRAPHRT_CPU_H" in f.read()


def test_version():
    assert graphrt_cpu.__version__ == "1.0.0"


def test_smoke_kernel_is_not_public_api():
    assert not hasattr(graphrt_cpu, "add_one_f64")
    assert not hasattr(_vm, "add_one_f64")


def test_the_extension_was_built_from_kernel_constants():
    # the C arrays and checks use the generated GRC_* defines of kernel_constants.py
    assert _vm.MAX_NDIM == kernel_constants.MAX_NDIM
    assert _vm.MAX_OPERANDS == kernel_constants.MAX_OPERANDS
    assert _vm.MAX_REGISTERS == kernel_constants.MAX_REGISTERS
    with open(os.path.join(graphrt_cpu.get_include(), "graphrt_cpu.h")) as f:
        assert f"#define GRAPHRT_MAX_NDIM {kernel_constants.MAX_NDIM}" in f.read()
