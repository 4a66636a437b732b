"""mypy checks graphcore's typed public surface (the modules and settings in the root mypy.ini).

`py.typed` tells type checkers that graphcore's annotations are meant to be
used; this test keeps that promise honest: mypy must pass on the annotated
modules, and the public entry points must stay annotated.
"""

from __future__ import annotations

import inspect
import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("mypy", reason="mypy is installed by requirements/test.txt")

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_mypy_passes_on_the_typed_modules():
    # the settings and the list of files are in mypy.ini; the cache (.mypy_cache, gitignored)
    # makes a re-run take a few seconds
    proc = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "mypy.ini")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _public_api():
    import graphcore
    import graphcore.tensor
    import graphcore.backends as backends
    from graphcore.compile.mode import get_mode
    from graphcore.compile.rewrite_db import RewriteDB

    yield graphcore.Mode.__init__
    yield graphcore.Mode.including
    yield graphcore.Mode.optimize
    yield get_mode
    yield RewriteDB.register
    yield RewriteDB.apply
    yield backends.Backend.link
    yield backends.Backend.availability
    yield backends.get_backend
    yield backends.register_backend
    yield graphcore.function
    yield graphcore.grad
    yield graphcore.Variable.__init__
    yield graphcore.Variable.eval
    yield graphcore.Apply.__init__
    yield graphcore.Op.make_node
    yield graphcore.Op.perform
    yield graphcore.Op.L_op
    yield graphcore.tensor.TensorType.__init__
    yield graphcore.tensor.TensorType.filter


@pytest.mark.parametrize("fn", list(_public_api()), ids=lambda f: f.__qualname__)
def test_public_entry_points_are_annotated(fn):
    sig = inspect.signature(fn)
    missing = [name for name, p in sig.parameters.items()
               if name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
    assert not missing, f"{fn.__qualname__}: parameters without a type hint: {missing}"
    assert sig.return_annotation is not inspect.Signature.empty, f"{fn.__qualname__}: no return type"


def test_graphcore_ships_py_typed():
    import graphcore

    assert (pathlib.Path(graphcore.__file__).parent / "py.typed").is_file()


def test_graphrt_cpu_kernel_registration_is_annotated():
    graphrt_cpu = pytest.importorskip("graphrt_cpu")
    for fn in (graphrt_cpu.get_include, graphrt_cpu.register_kernel, graphrt_cpu.kernel_capsule):
        assert inspect.signature(fn).return_annotation is not inspect.Signature.empty, fn
