"""CUDABackend.availability() answers truthfully on any machine, with or without a GPU."""

import importlib.util

import pytest

from graphrt_cuda.backend import CUDABackend


def _cupy_importable():
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy  # noqa: F401
    except Exception:
        return False
    return True


def test_names():
    assert CUDABackend.name == "cuda"
    assert CUDABackend.pip_extra == "cuda"


def test_availability_returns_bool_and_reason():
    ok, reason = CUDABackend.availability()
    assert isinstance(ok, bool)
    assert isinstance(reason, str)
    if not ok:
        assert reason.strip()


def test_unavailable_without_cupy():
    if _cupy_importable():
        pytest.skip("CuPy is importable here; availability depends on the GPU")
    ok, reason = CUDABackend.availability()
    assert ok is False
    assert "CuPy" in reason
    assert "graphcore[cuda]" in reason


def test_unavailable_when_no_device(monkeypatch):
    """A CuPy that imports but sees no device (or no driver) makes the backend unavailable."""
    import sys
    import types

    def make_fake_cupy(get_count):
        runtime = types.SimpleNamespace(getDeviceCount=get_count)
        fake = types.ModuleType("cupy")
        fake.cuda = types.SimpleNamespace(runtime=runtime)
        return fake

    monkeypatch.setitem(sys.modules, "cupy", make_fake_cupy(lambda: 0))
    ok, reason = CUDABackend.availability()
    assert ok is False and "no CUDA device" in reason

    def raising():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    monkeypatch.setitem(sys.modules, "cupy", make_fake_cupy(raising))
    ok, reason = CUDABackend.availability()
    assert ok is False and "cudaErrorNoDevice" in reason

    monkeypatch.setitem(sys.modules, "cupy", make_fake_cupy(lambda: 1))
    assert CUDABackend.availability() == (True, "")
