"""Differential fuzzer: random graphs over the op catalogue (elementwise, reductions, indexing,
shape, linear algebra), with broadcasting, non-contiguous and negative-stride inputs, every
float and int dtype, empty and size-1 dimensions, compiled in FAST_RUN on every available
backend and compared with the python reference backend and with NumPy: values, and gradients
against the unoptimized graph on the python reference backend.

CI runs a bounded, reproducible number of examples (the "graphcore-ci" hypothesis profile:
derandomized, 100 examples a test, well under a minute). A long run:

    GRAPHCORE_FUZZ_PROFILE=graphcore-long .venv/bin/python -m pytest -p no:cacheprovider \
        tests/test_fuzz_differential.py -x

("graphcore-long": 5000 examples a test, random seeds; add --hypothesis-seed=N to replay).
Every failure it finds is fixed with a regression test in the test file of the area it is in.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphcore as theano
import graphcore.tensor as T
from graphcore.backends.registry import available_backends
from graphcore.compile.mode import Mode

settings.register_profile("graphcore-ci", max_examples=100, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])
settings.register_profile("graphcore-long", max_examples=int(os.environ.get("GRAPHCORE_FUZZ_EXAMPLES", 5000)), deadline=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])
PROFILE = settings.get_profile(os.environ.get("GRAPHCORE_FUZZ_PROFILE", "graphcore-ci"))

BACKENDS = [b for b in available_backends() if b != "python"]
FLOATS = ["float32", "float64"]
INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
RTOL = {"float32": 2e-4, "float64": 1e-9}


# ------------------------------------------------------------------ inputs
@st.composite
def shapes(draw, ndim=None):
    ndim = draw(st.integers(0, 3)) if ndim is None else ndim
    return tuple(draw(st.sampled_from([0, 1, 1, 2, 3, 4, 5])) for _ in range(ndim))


def _layout(draw, value):
    """The same values in another memory layout: transposed twice, every other element of a
    larger buffer, or reversed along an axis (negative strides)."""
    kind = draw(st.sampled_from(["c", "f", "gaps", "reversed"]))
    if value.ndim == 0 or kind == "c":
        return value
    if kind == "f":
        return np.asfortranarray(value)
    if kind == "gaps":
        big = np.zeros(tuple(2 * n for n in value.shape), value.dtype)
        view = big[tuple(slice(None, None, 2) for _ in value.shape)]
        view[...] = value
        return view
    axis = draw(st.integers(0, value.ndim - 1))
    rev = [slice(None)] * value.ndim
    rev[axis] = slice(None, None, -1)
    out = np.ascontiguousarray(value[tuple(rev)])[tuple(rev)]
    assert np.array_equal(out, value)
    return out


def _values(draw, dtype, shape):
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if dtype in FLOATS:
        v = (rng.standard_normal(shape) * 2).astype(dtype)
    else:
        info = np.iinfo(dtype)
        v = rng.integers(max(info.min, -20), min(info.max, 20), size=shape, endpoint=True)
        v = v.astype(dtype)
    return _layout(draw, v)


def _input(dtype, shape, name):
    """A symbolic input; a length-1 dimension is static (broadcastable, as in Theano)."""
    return T.tensor(dtype=dtype, shape=tuple(1 if n == 1 else None for n in shape), name=name)


def _broadcast_partner(draw, shape):
    """A shape broadcasting against `shape`: leading dims dropped, some lengths set to 1."""
    drop = draw(st.integers(0, len(shape)))
    return tuple(1 if draw(st.booleans()) else n for n in shape[drop:])


# ------------------------------------------------------------------ the graph
UNARY_ANY = {"neg": (T.neg, np.negative), "abs": (abs, np.abs), "sqr": (T.sqr, np.square)}
UNARY_FLOAT = {"exp": (T.exp, np.exp), "tanh": (T.tanh, np.tanh), "sin": (T.sin, np.sin),
               "log1p_abs": (lambda x: T.log1p(abs(x)), lambda x: np.log1p(np.abs(x))),
               "sqrt_abs": (lambda x: T.sqrt(abs(x)), lambda x: np.sqrt(np.abs(x))),
               "floor": (T.floor, np.floor), "sigmoid": (T.nnet.sigmoid,
                                                         lambda x: 1 / (1 + np.exp(-x)))}
BINARY = {"add": (T.add, np.add), "sub": (T.sub, np.subtract), "mul": (T.mul, np.multiply),
          "maximum": (T.maximum, np.maximum), "minimum": (T.minimum, np.minimum)}
REDUCE = {"sum": (T.sum, np.sum), "max": (T.max, np.max), "min": (T.min, np.min),
          "prod": (T.prod, np.prod)}


@st.composite
def graphs(draw, float_only=False):
    """(inputs, input values, symbolic output, NumPy output): a random expression of depth <= 3."""
    dtypes = FLOATS if float_only else FLOATS + INTS
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(shapes())
    x = _input(dtype, shape, "x")
    xv = _values(draw, dtype, shape)
    inputs, values = [x], [xv]
    sym, ref = x, np.asarray(xv)
    steps = [f"x: {dtype}{list(shape)} strides {xv.strides}"]  # printed with a failing case
    dtypes_seen = {dtype}
    wanted, applied = draw(st.integers(1, 4)), 0
    for _ in range(12):  # draws that do not apply (a reduction of a scalar, ...) are redrawn
        if applied == wanted:
            break
        applied += 1
        kind = draw(st.sampled_from(["unary", "binary", "reduce", "index", "shape", "dot"]))
        if kind == "unary":
            table = dict(UNARY_ANY, **(UNARY_FLOAT if ref.dtype.kind == "f" else {}))
            name = draw(st.sampled_from(sorted(table)))
            f, g = table[name]
            sym, ref = f(sym), g(ref)
            steps.append(name)
        elif kind == "binary":
            other_shape = _broadcast_partner(draw, ref.shape)
            other_dtype = draw(st.sampled_from([str(ref.dtype), *dtypes]))
            y = _input(other_dtype, other_shape, f"y{len(inputs)}")
            yv = _values(draw, other_dtype, other_shape)
            if draw(st.booleans()):
                inputs.append(y)
                values.append(yv)
            else:  # a constant operand
                y = T.constant(np.array(yv))
            name = draw(st.sampled_from(sorted(BINARY)))
            f, g = BINARY[name]
            sym, ref = f(sym, y), g(ref, np.asarray(yv))
            dtypes_seen.add(other_dtype)
            steps.append(f"{name} {'input' if y.owner is None and y in inputs else 'constant'} "
                         f"{other_dtype}{list(other_shape)} {np.asarray(yv).tolist()!r:.60}")
        elif kind == "reduce" and ref.ndim:
            name = draw(st.sampled_from(sorted(REDUCE)))
            axis = draw(st.sampled_from([None, *range(ref.ndim)]))
            if name in ("max", "min") and (ref.size == 0 or (axis is not None and
                                                             ref.shape[axis] == 0)):
                applied -= 1  # an error in both (tested elsewhere)
                continue
            f, g = REDUCE[name]
            sym, ref = f(sym, axis=axis), g(ref, axis=axis)
            steps.append(f"{name}(axis={axis})")
        elif kind == "index" and ref.ndim and ref.shape[0]:
            which = draw(st.sampled_from(["int", "slice", "reversed", "take"]))
            i = draw(st.integers(-ref.shape[0], ref.shape[0] - 1))
            steps.append(f"index {which} {i}")
            if which == "int":
                sym, ref = sym[i], ref[i]
            elif which == "slice":
                sym, ref = sym[i:], ref[i:]
            elif which == "reversed":
                sym, ref = sym[::-1], ref[::-1]
            else:
                idx = np.array([i, 0, i])
                sym, ref = sym[idx], ref[idx]
        elif kind == "shape" and ref.ndim:
            which = draw(st.sampled_from(["T", "flatten", "pad"]))
            steps.append(which)
            if which == "T":
                sym, ref = sym.T, ref.T
            elif which == "flatten":
                sym, ref = sym.flatten(), ref.reshape(-1)
            else:
                sym, ref = T.shape_padleft(sym), ref[None]
        elif kind == "dot" and ref.ndim in (1, 2) and ref.dtype.kind == "f":
            k = ref.shape[-1]
            n = draw(st.sampled_from([0, 1, 3]))
            W = _input(str(ref.dtype), (k, n), f"W{len(inputs)}")
            Wv = _values(draw, str(ref.dtype), (k, n))
            inputs.append(W)
            values.append(Wv)
            sym, ref = T.dot(sym, W), np.dot(ref, Wv)
            steps.append(f"dot W{list(Wv.shape)}")
        else:
            applied -= 1
    loosest = "float32" if "float32" in dtypes_seen else None
    return inputs, values, sym, np.asarray(ref), loosest, " -> ".join(steps)


def _compare(got, want, what, loosest=None):
    """Exact for ints and bools; for floats within the tolerance of the least precise float
    dtype of the graph (`loosest`): a float32 intermediate may be kept in float64 by a fused
    kernel, where NumPy rounds it."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    if want.dtype.kind == "f":
        rtol = max(RTOL[want.dtype.name], RTOL.get(loosest, 0.0))
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 10, equal_nan=True,
                                   err_msg=what)
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


def _copies(values):
    return [v.copy() if v.flags.owndata else v for v in values]  # views keep their layout


# ------------------------------------------------------------------ the properties
@pytest.mark.parametrize("backend", ["python", *BACKENDS])
@PROFILE
@given(case=graphs())
def test_values_match_numpy_and_the_reference(backend, case):
    inputs, values, out, want, loosest, _ = case
    with np.errstate(all="ignore"):
        f = theano.function(inputs, out, mode=backend)
        got = f(*_copies(values))
    _compare(got, want, f"{backend} vs NumPy", loosest)
    if backend != "python":
        ref = theano.function(inputs, out, mode="python")
        with np.errstate(all="ignore"):
            _compare(got, ref(*_copies(values)), f"{backend} vs the python reference",
                     loosest)
    for v, orig in zip(values, case[1]):
        assert v is orig  # the caller's arrays are never overwritten (copies were passed)


@pytest.mark.parametrize("backend", ["python", *BACKENDS])
@PROFILE
@given(case=graphs(float_only=True))
def test_gradients_match_the_unoptimized_reference(backend, case):
    inputs, values, out, _, loosest, _ = case
    if out.dtype not in FLOATS:
        return
    cost = out.sum() if out.ndim else out
    wrt = [i for i in inputs if i.dtype in FLOATS]
    grads = theano.grad(cost, wrt, disconnected_inputs="ignore")
    f = theano.function(inputs, grads, mode=backend, on_unused_input="ignore")
    spec = theano.function(inputs, grads, mode=Mode(linker="python", optimizer=None),
                           on_unused_input="ignore")
    with np.errstate(all="ignore"):
        got, want = f(*_copies(values)), spec(*_copies(values))
    for k, (g, w) in enumerate(zip(got, want)):
        _compare(g, w, f"gradient {k} on {backend} vs the unoptimized graph", loosest)


# ------------------------------------------------------------------ regressions it found
@pytest.mark.parametrize("backend", ["python", *BACKENDS])
@pytest.mark.parametrize("dtype", ["uint8", "uint32", "int8", "float64"])
def test_abs_of_a_negation_keeps_unsigned_wraparound(backend, dtype):
    """|-x| = |x| does not hold for unsigned ints: -17 wraps to 239 in uint8 (graphopt's
    useless_patterns applied it to every dtype)."""
    x = T.tensor(dtype=dtype, shape=(None,), name="x")
    xv = np.array([0, 17, 100], dtype=dtype)
    f = theano.function([x], abs(-x), mode=backend)
    _compare(f(xv), np.abs(np.negative(xv)), f"|-x| in {dtype}")
