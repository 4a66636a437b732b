"""The backend registry: entry points, clear errors naming the pip extra, device flags, fallback."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.backends import (Backend, BackendNotInstalledError, BackendUnavailableError,
                                available_backends, default_device, get_backend,
                                installed_backends, is_available, register_backend)
from graphcore.backends import registry
from graphcore.backends.python import PythonBackend
from graphcore.compile.mode import Mode
from graphcore.testing import assert_allclose_backends, backend_names


@pytest.fixture
def clean_registry():
    """Restore the registry after a test registers backends of its own."""
    installed_backends()
    saved_eps, saved_instances = dict(registry._entry_points), dict(registry._instances)
    yield
    registry._entry_points.clear()
    registry._entry_points.update(saved_eps)
    registry._instances.clear()
    registry._instances.update(saved_instances)


class NoGPUBackend(PythonBackend):
    name = "fakegpu"
    pip_extra = "cuda"

    @classmethod
    def availability(cls):
        return False, "no NVIDIA GPU was found"


class OffByOneBackend(PythonBackend):
    """A deliberately wrong backend: float outputs come back with 1 added."""

    name = "offbyone"

    def link(self, program):
        exe = super().link(program)

        def run(values):
            return [o + 1 if o.dtype.kind == "f" else o for o in exe(values)]

        return run


def test_python_backend_is_always_there():
    assert "python" in installed_backends()
    assert "python" in available_backends()
    assert is_available("python")
    b = get_backend("python")
    assert isinstance(b, Backend) and b.name == "python"
    assert get_backend("python") is b  # one instance per backend
    assert "python" in backend_names()


def test_every_installed_backend_loads_or_explains():
    for name in installed_backends():
        if is_available(name):
            assert get_backend(name).name == name
        else:
            with pytest.raises(BackendUnavailableError, match=name):
                get_backend(name)


def test_unknown_backend_names_the_pip_extra():
    if "cuda" not in installed_backends():
        with pytest.raises(BackendNotInstalledError, match=r"pip install 'graphcore\[cuda\]'"):
            get_backend("cuda")
    with pytest.raises(BackendNotInstalledError, match="'tpu' is not installed.*Installed backends"):
        get_backend("tpu")
    assert issubclass(BackendNotInstalledError, ImportError)
    assert not is_available("tpu")


def test_function_with_a_missing_backend_fails_clearly():
    x = T.dvector("x")
    with pytest.raises(BackendNotInstalledError, match="'tpu'"):
        theano.function([x], x + 1, mode=Mode(linker="tpu"))


def test_unavailable_backend_explains_why_and_can_fall_back(clean_registry):
    register_backend("fakegpu", NoGPUBackend)
    assert "fakegpu" in installed_backends() and "fakegpu" not in available_backends()
    with pytest.raises(BackendUnavailableError, match="no NVIDIA GPU was found.*fallback_device"):
        get_backend("fakegpu")
    with theano.change_flags(fallback_device="python"):
        assert get_backend("fakegpu").name == "python"
    with theano.change_flags(device="fakegpu", fallback_device="python"):
        x = T.dvector("x")
        f = theano.function([x], x * 2)
        assert f.maker.backend.name == "python"
        np.testing.assert_allclose(f(np.array([1.0, 2.0])), [2.0, 4.0])
    with theano.change_flags(device="fakegpu"):
        with pytest.raises(BackendUnavailableError):
            y = T.dvector("y")
            theano.function([y], y * 1)


def test_device_flag_picks_the_default_backend():
    with theano.change_flags(device="python"):
        assert default_device() == "python"
        f = theano.function([x := T.dvector("x")], x + 1)
        assert f.maker.backend.name == "python"
    with theano.change_flags(device="auto"):
        assert default_device() == ("cpu" if is_available("cpu") else "python")


def test_registered_backend_runs_functions(clean_registry):
    register_backend("offbyone", OffByOneBackend)
    x = T.dvector("x")
    f = theano.function([x], x * 2, mode=Mode(linker="offbyone"))
    np.testing.assert_allclose(f(np.array([1.0])), [3.0])
    assert "offbyone" in backend_names()


def test_assert_allclose_backends_catches_a_wrong_backend(clean_registry):
    register_backend("offbyone", OffByOneBackend)
    x = T.dvector("x")
    with pytest.raises(AssertionError, match="offbyone"):
        assert_allclose_backends([x], x * 2, [np.array([1.0, 2.0])])
    # a backend list without it passes
    assert_allclose_backends([x], x * 2, [np.array([1.0, 2.0])], backends=["python"],
                             ref=lambda v: v * 2)


def test_theano_gpu_device_names_mean_the_cuda_backend():
    from graphcore.backends.registry import backend_name

    for name in ("gpu", "gpu0", "cuda0", "cuda1", "cuda"):
        assert backend_name(name) == "cuda"
    assert backend_name("cpu") == "cpu" and backend_name("python") == "python"
    if "cuda" not in installed_backends():
        with theano.change_flags(device="cuda0"):
            assert default_device() == "cuda"
            with pytest.raises(BackendNotInstalledError, match=r"graphcore\[cuda\]"):
                get_backend()
