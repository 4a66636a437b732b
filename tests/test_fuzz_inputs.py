"""No input crashes the process: compiled graphs fed arrays of the wrong ndim, dtype, shape,
strides and alignment, with and without trust_input.

The driver runs in a subprocess (a crash would take pytest down with it): every call must
either give the reference result (the python backend, arguments converted as usual) or raise
a clear error (TypeError, ValueError, IndexError with a message); a signal fails the test.
"""

import importlib.util
import json
import pathlib
import subprocess
import sys

import numpy as np

CLEAR_ERRORS = (TypeError, ValueError, IndexError)


def _cases():
    """(name, inputs, outputs, good values): graphs like the conformance suite's, one per kernel
    family of graphrt-cpu (elementwise, broadcasting, reductions, views, BLAS, indexing,
    softmax, joins, in-place writes)."""
    import graphcore.tensor as T

    rng = np.random.default_rng(3)
    m, v, r = T.dmatrix("m"), T.dvector("v"), T.drow("r")
    f32 = T.fmatrix("f")
    idx = T.lvector("idx")
    i = T.lscalar("i")
    M = rng.standard_normal((4, 3))
    V = rng.standard_normal(3)
    return [
        ("elemwise", [m, v], [m * v + 1, T.exp(m) - T.log(abs(v) + 1)], [M, V]),
        ("row_broadcast", [m, r], [m + r, T.maximum(m, r)], [M, rng.standard_normal((1, 3))]),
        ("reductions", [m], [m.sum(axis=0), m.mean(axis=1), m.max(), m.argmin(axis=1)], [M]),
        ("shape_ops", [m], [m.T * 2, m.dimshuffle(1, "x", 0) + 1, m.reshape((2, 6)), m.shape],
         [M]),
        ("dot", [m, v], [T.dot(m, v), T.dot(m.T, m), T.dot(v, v)], [M, V]),
        ("gemm", [m, v], [T.dot(m, m.T) * 2 + 1, T.outer(v, v) + T.dot(m.T, m)], [M, V]),
        ("float32", [f32], [f32 * 0.5 + 1, f32.sum(axis=1)], [M.astype("float32")]),
        ("take_rows", [m, idx], [m[idx], m[idx].sum(axis=1)], [M, np.array([0, 3, 1])]),
        ("inc_rows", [m, idx], [T.inc_subtensor(m[idx], 1.0)], [M, np.array([0, 0, 2])]),
        ("subtensor", [m, i], [m[i], m[1:i], T.set_subtensor(m[i], 0.0)], [M, 2]),
        ("softmax", [m], [T.nnet.softmax(m), T.nnet.logsoftmax(m)], [M]),
        ("join", [m, v], [T.concatenate([m, m * 2]), T.stack([v, v])], [M, V]),
        ("gradient", [m, v], list(T.grad((T.tanh(T.dot(m, v)) ** 2).sum(), [m, v])), [M, V]),
    ]


def _conformance_cases():
    """Every graph of tests/test_backend_conformance.py (loaded from its file: test modules
    do not import each other), as (name, inputs, outputs, good values)."""
    path = pathlib.Path(__file__).with_name("test_backend_conformance.py")
    spec = importlib.util.spec_from_file_location("_conformance_cases", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [(f"conformance:{name}", inputs, outputs(), values)
            for name, (inputs, outputs, values, _) in sorted(module._cases().items())]


def _mutations(value):
    """(label, bad value) pairs derived from a good argument."""
    a = np.asarray(value)
    out = [("list", a.tolist()), ("ndim+1", a[None]), ("float32", a.astype("float32")),
           ("int32", a.astype("int32")), ("bool", a.astype(bool)),
           ("complex", a.astype("complex128")), ("byteswapped", a.astype(a.dtype.newbyteorder())),
           ("0-d", np.asarray(a.ravel()[0] if a.size else 0, dtype=a.dtype))]
    if a.ndim >= 1:
        out += [("ndim-1", a[0]), ("longer", np.concatenate([a, a[:1]])), ("empty", a[:0]),
                ("huge", np.full_like(a, np.iinfo(a.dtype).max) if a.dtype.kind in "iu"
                 else a * 1e300 if a.dtype.kind == "f" else a),
                ("negative strides", a[::-1]),
                ("strided", np.repeat(a, 2, axis=0)[::2]),
                ("unaligned", _unaligned(a))]
    if a.ndim >= 2:
        out += [("transposed", a.T), ("fortran", np.asfortranarray(a)),
                ("ndim+1 (3-d)", np.stack([a, a]))]
    else:
        out += [("negative", np.asarray(np.iinfo(a.dtype).min, dtype=a.dtype)
                 if a.dtype.kind == "i" else -a)]
    return out


def _unaligned(a):
    buf = bytearray(a.nbytes + 1)
    u = np.frombuffer(buf, dtype=a.dtype, offset=1, count=a.size).reshape(a.shape)
    u[...] = a
    return u


def _same(got, want):
    if len(got) != len(want):
        return False
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        if g.shape != w.shape or g.dtype != w.dtype:
            return False
        if not np.allclose(g, w, rtol=1e-5, atol=1e-6, equal_nan=True):
            return False
    return True


def drive():
    """Run every case; print a JSON report {calls, errors, results, failures}."""
    import graphcore as theano
    from graphcore.compile.mode import Mode
    from graphcore.testing import backend_names

    report = {"calls": 0, "errors": 0, "results": 0, "failures": []}
    for name, inputs, outputs, good in _cases() + _conformance_cases():
        reference = theano.function(inputs, outputs, mode=Mode(linker="python"))
        for backend in backend_names():
            for trust in (False, True):
                f = theano.function(inputs, outputs, mode=Mode(linker=backend))
                f.trust_input = trust
                for pos in range(len(inputs)):
                    for label, bad in _mutations(good[pos]):
                        args = [np.array(g, copy=True) for g in good]
                        args[pos] = bad
                        what = f"{name}[{backend}, trust={trust}] input {pos} {label}"
                        print(what, file=sys.stderr, flush=True)  # the last line before a crash
                        report["calls"] += 1
                        try:
                            got = f(*args)
                        except CLEAR_ERRORS as exc:
                            if not str(exc):
                                report["failures"].append(f"{what}: empty {type(exc).__name__}")
                            report["errors"] += 1
                            continue
                        except Exception as exc:  # noqa: BLE001 (any other kind is a finding)
                            report["failures"].append(f"{what}: {type(exc).__name__}: {exc}"[:300])
                            continue
                        report["results"] += 1
                        try:
                            want = reference(*[np.array(g, copy=True) for g in args])
                        except CLEAR_ERRORS:
                            if trust:  # accepted only what the reference accepts after conversion
                                report["failures"].append(f"{what}: a result where the "
                                                          "reference raises")
                            continue
                        if not _same(got, want):
                            report["failures"].append(f"{what}: wrong result")
    print(json.dumps(report))


def test_no_input_crashes_or_reads_out_of_bounds():
    proc = subprocess.run([sys.executable, __file__], capture_output=True, text=True, timeout=300)
    last = proc.stderr.strip().splitlines()[-3:]
    assert proc.returncode == 0, f"the driver died (return code {proc.returncode}) at: {last}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["calls"] >= 300
    assert report["errors"] > 100 and report["results"] > 50  # both outcomes are exercised
    assert report["failures"] == [], "\n".join(report["failures"][:40])


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")  # overflow/cast warnings of the bad values
    drive()
