"""The vectorised transcendental loops agree with NumPy's to within a few ulp (10^7 values)."""

import numpy as np
import pytest

import graphcore as gc
import graphcore.tensor as T

SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 5e-324, -5e-324, 2.2250738585072014e-308,
            1e-300, -1e-18, 1e-8, 0.625, -0.625, np.nextafter(0.625, 0), np.nextafter(-0.625, 0),
            0.55, 1.0, 19.06, -19.07, 20.0, 354.0, 355.0, -710.0, 711.0, 1e308, -1.7976931348623157e308]


def _inputs(n, seed=0):
    rng = np.random.default_rng(seed)
    k = n // 8
    parts = [rng.standard_normal(2 * k) * 2,                       # the bulk
             rng.uniform(-0.7, 0.7, 2 * k),                         # around the branch point
             rng.uniform(-25.0, 25.0, k),                           # up to saturation
             np.exp(rng.uniform(-745.0, 6.0, k)) * rng.choice([-1.0, 1.0], k),  # tiny .. large
             rng.uniform(0.6, 0.65, k) * rng.choice([-1.0, 1.0], k)]
    rest = n - sum(p.size for p in parts) - len(SPECIALS)
    parts.append(rng.uniform(-3.0, 3.0, rest))
    parts.append(np.array(SPECIALS))
    return np.concatenate(parts)


def _ulp_error(got, want):
    err = np.abs(got - want) / np.spacing(np.abs(want))
    err[(got == want) | (np.isnan(got) & np.isnan(want))] = 0.0
    return err


@pytest.mark.parametrize("layout", ["contiguous", "strided"])
def test_tanh_float64_within_2_ulp_of_numpy(layout):
    x = T.dvector("x")
    f = gc.function([x], T.tanh(x), mode="cpu")
    a = _inputs(10**7)
    if layout == "strided":
        a = np.repeat(a[: 2 * 10**6], 2)[::2]
    got = f(a)
    want = np.tanh(a)
    err = _ulp_error(got, want)
    worst = int(np.argmax(err))
    assert err.max() <= 2.0, (a[worst], got[worst], want[worst], err.max())
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.signbit(got[~np.isnan(got)]), np.signbit(want[~np.isnan(want)]))
    assert np.all(np.abs(got[~np.isnan(got)]) <= 1.0)


def test_tanh_float64_specials_exact():
    x = T.dvector("x")
    f = gc.function([x], T.tanh(x), mode="cpu")
    v = np.array([0.0, -0.0, np.inf, -np.inf, 5e-324, -5e-324, 1e-300, 30.0, -30.0, 1e308, np.nan] * 3)
    got = f(v)
    want = np.tanh(v)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got[:-3]), np.signbit(want[:-3]))


def test_tanh_float64_inside_a_fused_expression():
    x, y = T.dvector("x"), T.dvector("y")
    f = gc.function([x, y], T.exp(-x ** 2) * T.sin(y) + 0.5 * T.tanh(x * y), mode="cpu")
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(100003), rng.standard_normal(100003)
    np.testing.assert_allclose(f(a, b), np.exp(-a ** 2) * np.sin(b) + 0.5 * np.tanh(a * b),
                               rtol=1e-14, atol=1e-15)
