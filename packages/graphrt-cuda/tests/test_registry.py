"""How graphcore finds (or declines) the cuda backend on this machine."""

import pytest

from graphcore.backends import registry
from graphcore.config import config

from graphrt_cuda.backend import CUDABackend


def test_device_spellings_mean_cuda():
    for name in ("cuda", "gpu", "cuda0", "gpu1"):
        assert registry.backend_name(name) == "cuda"


def test_unavailable_cuda_is_a_clear_error_never_a_crash():
    ok, reason = CUDABackend.availability()
    if ok:
        pytest.skip("a GPU is present: cuda is available here")
    assert reason
    assert "cuda" not in registry.available_backends()
    with pytest.raises(registry.BackendUnavailableError, match="not available") as info:
        registry.get_backend("gpu")
    assert reason in str(info.value)


def test_auto_picks_cuda_only_with_a_gpu():
    ok, _ = CUDABackend.availability()
    with config.change_flags(device="auto"):
        chosen = registry.default_device()
    assert (chosen == "cuda") == ok
