"""graphcore finds the CPU backend through its entry point."""

from importlib.metadata import entry_points

from graphcore.backends.python import PythonBackend
from graphrt_cpu import kernel_constants
from graphrt_cpu.backend import CPUBackend


def test_entry_point_loads_cpu_backend():
    (ep,) = [ep for ep in entry_points(group="graphcore.backends") if ep.name == "cpu"]
    assert ep.value == "graphrt_cpu.backend:CPUBackend"
    assert ep.load() is CPUBackend


def test_cpu_backend_describes_itself():
    assert issubclass(CPUBackend, PythonBackend)
    assert CPUBackend.name == "cpu"
    assert CPUBackend.pip_extra == "cpu"
    ok, reason = CPUBackend.availability()
    assert ok is True, reason


def test_cpu_backend_reports_its_kernel_operand_limit():
    assert CPUBackend.max_operands == kernel_constants.MAX_OPERANDS
