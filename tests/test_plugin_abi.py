"""A third-party op package with its own native CPU kernel (examples/plugin_op) builds against
graphrt_cpu.h, is found through its graphcore.ops entry point, and runs natively in the VM.

The package is built and installed into a temporary folder (nothing is installed into the
environment); the checks run in a subprocess that has that folder on sys.path.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent

pytest.importorskip("graphrt_cpu")


def _c_compiler():
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc) or shutil.which("cc") or shutil.which("gcc")


CHECKS = textwrap.dedent(r'''
    import json, sys, traceback
    import numpy as np
    import graphcore as gc
    import graphcore.tensor as T
    from graphcore.compile.op_plugins import load_op_plugins

    report = {}
    load_op_plugins()  # what the first compile does: imports the graphcore.ops entry points
    report["loaded_by_entry_point"] = "graphcore_l2norm" in sys.modules
    from graphcore_l2norm import RowL2Normalize, l2_normalize

    def reference(op, x):
        cells = [[None]]
        op.perform(None, [x], cells)
        return cells[0][0]

    rng = np.random.default_rng(0)
    results = []
    for dtype, eps, transpose in [("float64", 0.0, False), ("float64", 0.25, True),
                                  ("float32", 1e-3, False), ("float32", 0.0, True)]:
        x = T.matrix("x", dtype=dtype)
        xin = x.T if transpose else x
        f = gc.function([x], l2_normalize(xin, eps=eps), mode="cpu", profile=True)
        xv = rng.standard_normal((6, 9)).astype(dtype)
        got = f(xv)
        want = reference(RowL2Normalize(eps), xv.T if transpose else xv)
        results.append({"case": [dtype, eps, transpose], "dtype": str(got.dtype),
                        "max_err": float(np.max(np.abs(got - want))), "labels": f.profile.labels})
        got2 = f(xv[:3])  # another shape through the same function (pool, no stale data)
        want2 = reference(RowL2Normalize(eps), xv[:3].T if transpose else xv[:3])
        results[-1]["max_err2"] = float(np.max(np.abs(got2 - want2))) if got2.shape == want2.shape \
            else "shape %s vs %s" % (got2.shape, want2.shape)
    report["results"] = results

    x = T.dmatrix("x")
    f_err = gc.function([x], l2_normalize(x) * 2.0, mode="cpu", profile=True)  # USER-LINE-MARKER
    bad = np.ones((3, 4))
    bad[1] = 0.0
    try:
        f_err(bad)
        report["error"] = None
    except Exception as exc:
        report["error"] = {"type": type(exc).__name__, "message": str(exc),
                           "traceback": "".join(traceback.format_exception(exc))}
    report["error_labels"] = f_err.profile.labels

    from graphcore.gradient import verify_grad
    try:
        verify_grad(lambda v: l2_normalize(v, eps=0.1), [rng.standard_normal((3, 4))],
                    rng=np.random.default_rng(1), mode="cpu")
        report["grad"] = "ok"
    except Exception as exc:
        report["grad"] = repr(exc)
    print("REPORT" + json.dumps(report))
''')


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    """examples/plugin_op built (pip, no build isolation: it needs the installed graphrt-cpu)
    and installed into a temporary target folder."""
    if _c_compiler() is None:
        pytest.skip("no C compiler found: the example plugin's C extension cannot be built")
    setuptools = pytest.importorskip("setuptools", reason="building the example plugin needs setuptools")
    if tuple(int(p) for p in setuptools.__version__.split(".")[:2] if p.isdigit()) < (70, 1):
        pytest.importorskip("wheel", reason="setuptools < 70.1 needs the wheel package to build")
    work = tmp_path_factory.mktemp("plugin_op")
    src = work / "src"
    shutil.copytree(REPO_ROOT / "examples" / "plugin_op", src,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "*.so"))
    site = work / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps",
                           "--no-index", "--quiet", "--target", str(site), str(src)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"building examples/plugin_op failed:\n{proc.stdout}\n{proc.stderr}"
    return site


@pytest.fixture(scope="module")
def report(plugin_site, tmp_path_factory):
    script = tmp_path_factory.mktemp("plugin_checks") / "user_program.py"
    script.write_text(CHECKS)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_site), env.get("PYTHONPATH")]))
    env.pop("GRAPHCORE_FLAGS", None)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          env=env, cwd=str(script.parent))
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("REPORT"))
    return json.loads(line[len("REPORT"):])


def test_entry_point_registers_the_package(report):
    assert report["loaded_by_entry_point"]


def test_native_kernel_equals_perform(report):
    for r in report["results"]:
        dtype = r["case"][0]
        tol = 1e-12 if dtype == "float64" else 2e-6
        assert r["dtype"] == dtype, r
        assert r["max_err"] <= tol, r
        assert r["max_err2"] <= tol, r


def test_instruction_runs_the_native_kernel(report):
    for r in report["results"]:
        kinds = {op.split("{")[0]: kind for op, kind in r["labels"]}
        assert kinds["RowL2Normalize"] == "native", r["labels"]


def test_kernel_error_names_the_op_and_the_user_line(report):
    err = report["error"]
    assert err is not None, "a row of zeros should fail"
    assert err["type"] == "ValueError", err
    msg = err["message"]
    assert "RowL2Normalize: row 1 has zero norm" in msg
    assert "Apply node that caused the error: RowL2Normalize" in msg
    assert "shape=(3, 4) dtype=float64" in msg
    assert "user_program.py" in msg and "USER-LINE-MARKER" in msg
    # raised by the C kernel, not by the perform fallback
    assert dict((op.split("{")[0], k) for op, k in report["error_labels"])["RowL2Normalize"] == "native"
    assert "in perform" not in err["traceback"]


def test_gradient_of_the_plugin_op(report):
    assert report["grad"] == "ok"
