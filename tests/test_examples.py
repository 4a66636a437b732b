"""The runnable examples run end to end and do what their docstrings promise."""

import os
import re
import subprocess
import sys


def run_example(repo_root, name, *args, timeout=300, flags=None):
    script = repo_root / "examples" / name
    env = dict(os.environ)
    if flags:
        env["GRAPHCORE_FLAGS"] = ",".join(filter(None, [env.get("GRAPHCORE_FLAGS", ""), flags]))
    proc = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=repo_root, env=env)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_logistic_regression_learns(repo_root):
    out = run_example(repo_root, "logistic_regression.py")
    losses = [float(m) for m in re.findall(r"^step\s+\d+\s+loss (\d+\.\d+)", out, re.M)]
    assert len(losses) >= 3, out
    assert losses[0] > 0.69  # log(2) from zero weights
    assert losses[-1] < 0.5 * losses[0], losses
    assert all(b <= a + 1e-9 for a, b in zip(losses, losses[1:])), losses  # falls monotonically
    accuracy = float(re.search(r"final training accuracy: (\d\.\d+)", out).group(1))
    assert accuracy > 0.9, out


def test_logistic_regression_on_the_python_reference_backend(repo_root):
    out = run_example(repo_root, "logistic_regression.py", "--device", "python", "--steps", "100")
    assert "backend: python" in out
    accuracy = float(re.search(r"final training accuracy: (\d\.\d+)", out).group(1))
    assert accuracy > 0.9, out


def test_logistic_regression_in_float32(repo_root):
    """floatX=float32: every update keeps float32 (Python floats are weak, NEP 50)."""
    out = run_example(repo_root, "logistic_regression.py", "--steps", "100", flags="floatX=float32")
    accuracy = float(re.search(r"final training accuracy: (\d\.\d+)", out).group(1))
    assert accuracy > 0.9, out
