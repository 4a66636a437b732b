"""The native extension is built and computes what NumPy computes."""

import os

import numpy as np
import pytest

import graphrt_cpu
from graphrt_cpu import add_one_f64


@pytest.mark.parametrize("n", [1, 7, 1000, 10**5])
def test_add_one_f64_matches_numpy(n):
    x = np.random.default_rng(n).standard_normal(n)
    got = add_one_f64(x)
    assert got.dtype == np.float64
    assert got.shape == (n,)
    np.testing.assert_array_equal(got, x + 1.0)


def test_add_one_f64_returns_new_array():
    x = np.arange(5, dtype=np.float64)
    got = add_one_f64(x)
    assert not np.shares_memory(got, x)
    np.testing.assert_array_equal(x, np.arange(5, dtype=np.float64))


def test_add_one_f64_empty():
    got = add_one_f64(np.empty(0, dtype=np.float64))
    assert got.dtype == np.float64
    assert got.shape == (0,)


def test_add_one_f64_special_values():
    x = np.array([np.inf, -np.inf, np.nan, -1.0, 1e308])
    np.testing.assert_array_equal(add_one_f64(x), x + 1.0)


def test_add_one_f64_accepts_readonly_input():
    x = np.linspace(0.0, 1.0, 11)
    x.flags.writeable = False
    np.testing.assert_array_equal(add_one_f64(x), x + 1.0)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros(4, dtype=np.float32),
        np.zeros(8, dtype=np.float64)[::2],
    ],
    ids=["float32", "non-contiguous"],
)
def test_add_one_f64_rejects_wrong_buffer(bad):
    with pytest.raises(ValueError):
        add_one_f64(bad)


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
