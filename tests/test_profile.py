"""Profiling on every backend: per op class, op and node time, calls and kernel kind; the memory
profile (config.profile_memory); the optimizer profile (config.profile_optimizer: time and
applications per rewrite); the summary of every function profiled through config at exit."""

import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.backends.registry import available_backends
from graphcore.compile.profiling import ProfileStats

BACKENDS = [b for b in ("python", "cpu") if b in available_backends()]


def _mlp():
    x = T.dmatrix("x")
    W = theano.shared(np.full((4, 3), 0.1), "W")
    h = T.tanh(T.dot(x, W))
    return [x], [T.nnet.softmax(h).sum(), h.T]


@pytest.mark.parametrize("backend", BACKENDS)
def test_summary_by_op_class_op_and_node(backend):
    inputs, outputs = _mlp()
    f = theano.function(inputs, outputs, mode=backend, profile=True, name="mlp")
    for _ in range(4):
        f(np.ones((5, 4)))
    p = f.profile
    assert p.ncalls == 4 and p.supported and all(c == 4 for c in p.calls)
    kinds = {kind for _, kind in p.labels}
    assert kinds <= {"native", "blas", "view", "perform", "python"}
    classes = {row[0]: row for row in p.class_rows()}
    assert "Softmax" in classes and classes["Softmax"][3] == 4  # calls
    buf = io.StringIO()
    p.summary(file=buf)
    text = buf.getvalue()
    assert text.startswith("Function profile (mlp): 4 call(s)")
    assert f"(backend {backend})" in text
    for heading in ("Op classes:", "Ops:", "Apply nodes (instructions):"):
        assert heading in text
    assert "Memory profile" not in text  # only with profile_memory


@pytest.mark.parametrize("backend", BACKENDS)
def test_memory_profile_reports_the_peak_and_where(backend):
    x = T.dvector("x")
    big = T.tanh(T.outer(x, x))  # 1000 x 1000 float64: 8 MB live at once
    with theano.config.change_flags(profile_memory=True):
        f = theano.function([x], big, mode=backend, profile=True)
    f(np.ones(1000))
    peak, at = f.profile.peak_memory()
    assert 8_000_000 <= peak < 17_000_000  # the product, maybe a temporary beside it
    buf = io.StringIO()
    f.profile.summary(file=buf)
    text = buf.getvalue()
    assert "Memory profile:" in text and f"({peak} bytes)" in text
    assert f"live after instruction {at}" in text


@pytest.mark.parametrize("backend", BACKENDS)
def test_memory_profile_lists_the_largest_intermediates(backend):
    x, v = T.dvector("x"), T.fvector("v")
    big = T.outer(x, x)  # (1000, 1000) float64: 8,000,000 bytes
    mid = T.tanh(big) + 1  # another 8 MB, maybe in place over `big`
    small = (v * 2).sum()
    with theano.config.change_flags(profile_memory=True):
        f = theano.function([x, v], [mid.T, mid.sum(axis=0), small], mode=backend, profile=True)
    f(np.ones(1000), np.ones(7, dtype="float32"))
    f(np.ones(10), np.ones(7, dtype="float32"))  # smaller: the largest call is kept
    p = f.profile
    assert len(p.out_bytes) == len(p.labels) == len(p.out_shapes)
    rows = p.largest_intermediates()
    assert rows and rows == sorted(rows, key=lambda r: -r[0])
    nbytes, k, op, kind, shapes = rows[0]
    assert nbytes == 8_000_000 and shapes == (((1000, 1000), "float64"),)
    assert (op, kind) == p.labels[k]
    # only new memory counts: the transpose (a view) and in-place results are not intermediates
    assert sum(b == 8_000_000 for b, *_ in rows) <= 2
    assert not any("DimShuffle" in r[2] and r[0] for r in rows)
    sums = [r for r in rows if r[4] == (((1000,), "float64"),)]
    assert sums and sums[0][0] == 8000
    buf = io.StringIO()
    p.summary(file=buf)
    text = buf.getvalue()
    assert "largest intermediates" in text and "not recorded" not in text
    line = next(t for t in text.splitlines() if "8000000 bytes" in t)
    assert f"instruction {k:>3}" in line and "float64 (1000, 1000)" in line and op in line


def test_optimizer_profile_times_each_rewrite(capsys):
    x = T.dvector("x")
    with theano.config.change_flags(profile_optimizer=True):
        f = theano.function([x], T.log(1 + T.exp(x)).sum(), profile=True)
    printed = capsys.readouterr().out
    assert "Optimizer profile:" in printed and "applications" in printed
    assert "time per node rewrite" in printed
    assert f.profile.optimizer_profile and f.profile.rewrite_times
    buf = io.StringIO()
    f.profile.summary(file=buf)
    assert "Optimizer profile:" in buf.getvalue()


def test_profile_stats_without_a_function():
    p = ProfileStats()
    buf = io.StringIO()
    p.summary(file=buf)
    assert "does not record" in buf.getvalue()


def test_config_profile_prints_every_function_at_exit(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        import graphcore as theano
        import graphcore.tensor as T
        x = T.dvector("x")
        f = theano.function([x], T.exp(x).sum(), name="first")
        g = theano.function([x], (x * 2).sum(), name="second")
        f(np.ones(3)); g(np.ones(3)); g(np.ones(3))
    """))
    env = dict(os.environ, GRAPHCORE_FLAGS="profile=True,profile_memory=True")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr
    assert "graphcore profile: 2 function(s)" in err
    assert "Function profile (first): 1 call(s)" in err
    assert "Function profile (second): 2 call(s)" in err
    assert err.count("Memory profile:") == 2
