"""The architecture rules of issue 8, checked: graphcore's layers import only downward, graphcore
imports none of its optimizer and runtimes, and those use graphcore's public names only.

The contracts live in the repository's .importlinter (run `lint-imports` from the root); the
layer rules are explained in packages/graphcore/docs/layers.md.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"
GRAPHCORE_SRC = ROOT / "packages" / "graphcore" / "src"
CLIENT_SRCS = [ROOT / "packages" / "graphopt" / "src" / "graphopt",
               ROOT / "packages" / "graphrt-cpu" / "src" / "graphrt_cpu",
               ROOT / "packages" / "graphrt-cuda" / "src" / "graphrt_cuda"]


def _lint_imports_exe():
    exe = Path(sys.executable).with_name("lint-imports")
    if exe.exists():
        return str(exe)
    found = shutil.which("lint-imports")
    if found is None:
        pytest.fail("import-linter is not installed: pip install -r requirements/test.txt")
    return found


def _lint_imports(cwd, env=None):
    return subprocess.run([_lint_imports_exe(), "--no-cache", "--no-logo", str(CONFIG)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


# ------------------------------------------------------------------ import contracts
def test_import_contracts_hold():
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout or "broken" not in done.stdout.split("Contracts:")[-1]


@pytest.mark.parametrize("module, planted, contract, edge", [
    # a graph-layer module compiling a function (what Variable.eval does through a hook)
    ("graph/basic.py", "import graphcore.compile.function", "graphcore's layers import only downward",
     "graphcore.graph.basic -> graphcore.compile.function"),
    # a tensor-core module reaching up into an op family (what TensorVariable does through a hook)
    ("tensor/variable.py", "from graphcore.tensor.shape import reshape",
     "the tensor core (types, variables, basic, elemwise) does not import the op",
     "graphcore.tensor.variable -> graphcore.tensor.shape"),
])
def test_a_planted_upward_import_breaks_the_contracts(tmp_path, module, planted, contract, edge):
    copy = tmp_path / "src"
    shutil.copytree(GRAPHCORE_SRC / "graphcore", copy / "graphcore",
                    ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "graphcore" / module
    text = target.read_text()
    head, sep, rest = text.partition("\nfrom __future__ import annotations\n")
    assert sep, f"{module} has no __future__ import to plant after"
    target.write_text(head + sep + planted + "  # planted upward import\n" + rest)
    env = dict(os.environ, PYTHONPATH=str(copy) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = _lint_imports(tmp_path, env)
    out = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0, out
    assert f"{contract}" in out and "BROKEN" in out, out
    assert edge in out, out


# ------------------------------------------------------------------ in-function imports
# An import inside a function is allowed only to load an optional third-party dependency lazily
# (and then says so in a comment on its line).
OPTIONAL = {"pytest", "graphviz", "pydot", "pydot_ng", "IPython", "matplotlib", "cupy", "dask",
            "numba", "jax", "torch"}

def _module_name(path, src_root):
    parts = list(path.relative_to(src_root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _in_function_imports(src_root, package):
    """{module: [(line, import text, has a comment)]} for every import inside a function body."""
    found = {}
    for path in sorted((src_root / package).rglob("*.py")):
        text = path.read_text()
        lines = text.splitlines()
        for fn in ast.walk(ast.parse(text)):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    names = [a.name for a in node.names] if isinstance(node, ast.Import) \
                        else [node.module or ""]
                    commented = "#" in lines[node.lineno - 1]
                    found.setdefault(_module_name(path, src_root), set()).add(
                        (node.lineno, tuple(names), commented))
    return {m: sorted(v) for m, v in found.items()}


def test_graphcore_imports_inside_functions_only_optional_dependencies():
    found = _in_function_imports(GRAPHCORE_SRC, "graphcore")
    bad = []
    for module, imports in sorted(found.items()):
        for line, names, commented in imports:
            optional = all(n.split(".")[0] in OPTIONAL for n in names)
            if not (optional and commented):
                bad.append(f"{module}:{line} imports {', '.join(names)}"
                           + ("" if optional else " (not an optional dependency: import it at "
                              "the top, or use a hook from graphcore.graph.hooks)")
                           + ("" if commented else " (no comment saying why it is lazy)"))
    assert not bad, "imports inside functions:\n" + "\n".join(bad)



# ------------------------------------------------------------------ private names
# import-linter sees modules, not names: a runtime doing `from graphcore.x import _helper` or
# `graphcore_module._helper` slips through it. This scan of graphopt's and the runtimes' sources
# reports both (Python files by their syntax tree, Cython files by their import lines).

_CYTHON_FROM = re.compile(r"^\s*from\s+(graphcore[\w.]*)\s+c?import\s+(.+)$", re.M)


def _private_graphcore_names(path, module):
    text = path.read_text()
    uses = set()
    if path.suffix in (".pyx", ".pxi", ".pxd"):
        for mod, names in _CYTHON_FROM.findall(text):
            for name in re.split(r"[,\s()]+", names):
                if name.startswith("_") and not name.startswith("__"):
                    uses.add(f"{module}: {mod}.{name}")
        return uses
    tree = ast.parse(text)
    graphcore_modules = set()  # local names bound to graphcore modules
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "graphcore":
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    uses.add(f"{module}: {node.module}.{alias.name}")
                elif alias.name[:1].islower():  # possibly a submodule: `from graphcore import x`
                    graphcore_modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "graphcore":
                    graphcore_modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                and not node.attr.startswith("__"):
            base = node.value
            chain = []
            while isinstance(base, ast.Attribute):
                chain.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in graphcore_modules:
                dotted = ".".join([base.id, *reversed(chain)])
                uses.add(f"{module}: {dotted}.{node.attr}")
    return uses


def _client_private_uses():
    uses = set()
    for src in CLIENT_SRCS:
        for path in sorted(src.rglob("*")):
            if path.suffix in (".py", ".pyx", ".pxi", ".pxd") and "__pycache__" not in path.parts:
                uses |= _private_graphcore_names(path, _module_name(path, src.parent))
    return uses


def test_optimizer_and_runtimes_use_public_graphcore_names_only():
    uses = _client_private_uses()
    assert not uses, "private graphcore names used outside graphcore:\n" + "\n".join(sorted(uses))


def test_the_private_name_scan_sees_what_it_should(tmp_path):
    client = tmp_path / "client.py"
    client.write_text("from graphcore.tensor.elemwise import _retype_weak, Elemwise\n"
                      "import graphcore.graph.trace as trace\n"
                      "from graphcore.graph import basic\n"
                      "x = trace._internal_roots()\ny = basic._ids\nz = obj._private\n")
    assert _private_graphcore_names(client, "client") == {
        "client: graphcore.tensor.elemwise._retype_weak", "client: trace._internal_roots",
        "client: basic._ids"}
    kernel = tmp_path / "kernels.pxi"
    kernel.write_text("from graphcore.scalar.basic import upcast, _upcast\n")
    assert _private_graphcore_names(kernel, "k") == {"k: graphcore.scalar.basic._upcast"}
