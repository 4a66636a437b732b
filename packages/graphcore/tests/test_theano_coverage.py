"""The README's Theano API coverage table (made by tools/theano_coverage.py) cannot rot: every
name it claims present exists, and every name the script checks appears in it."""

import importlib
import importlib.util
import pathlib

import pytest

TOOL = pathlib.Path(__file__).resolve().parents[1] / "tools" / "theano_coverage.py"


@pytest.fixture(scope="module")
def coverage():
    spec = importlib.util.spec_from_file_location("theano_coverage", TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_name_the_readme_claims_present_exists(coverage):
    present, _ = coverage.parse_readme()
    modules = {ns: modname for ns, modname, _, _ in coverage.NAMESPACES}
    assert present, "the README table lists no present names"
    missing = []
    for ns, names in present.items():
        assert ns in modules, f"README names an unknown namespace {ns}"
        mod = importlib.import_module(modules[ns])
        missing += [f"{ns}.{n} ({modules[ns]}.{n})" for n in names if not hasattr(mod, n)]
    assert not missing, ("the README claims these present, but graphcore lacks them (run "
                         "tools/theano_coverage.py --write): " + ", ".join(missing))


def test_readme_lists_every_checked_name_and_its_count(coverage):
    present, absent = coverage.parse_readme()
    listed = {f"{ns}.{n}" for ns, names in present.items() for n in names} | set(absent)
    checked = {f"{ns}.{n}" for ns, _, _, groups in coverage.NAMESPACES
               for _, names in groups for n in names}
    assert checked - listed == set(), "names the script checks but the README omits"
    assert listed - checked == set(), "names in the README that the script does not check"
    n_present = sum(len(v) for v in present.values())
    text = coverage.README.read_text()
    assert f"**{n_present}/{len(checked)}** present" in text


def test_table_round_trips_through_the_parser(coverage):
    result = coverage.survey()
    present, absent = coverage.parse_readme(coverage.table(result))
    want = {ns: [n for _, es in rows for n, p, _ in es if p] for ns, _, rows in result}
    assert {ns: v for ns, v in want.items() if v} == present
    assert absent == [f"{ns}.{n}" for ns, _, rows in result for _, es in rows
                      for n, p, _ in es if not p]
    p, t = coverage.counts(result)
    assert 0 < p <= t


def test_names_added_for_issue_3_are_present(coverage):
    import graphcore
    import graphcore.gradient
    import graphcore.tensor as T

    for name in ["searchsorted", "unravel_index", "ravel_multi_index", "bartlett", "choose",
                 "Lop", "Rop", "horizontal_stack", "vertical_stack", "get_vector_length",
                 "extract_constant", "numeric_grad", "unique", "to_one_hot",
                 "fill_diagonal_offset"]:
        assert hasattr(T, name), name
    assert graphcore.gradient.Rop is T.Rop and graphcore.gradient.Lop is T.Lop
    assert graphcore.dot is T.dot


def test_the_script_runs_from_the_command_line(coverage):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(TOOL)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(coverage.BEGIN) and out.stdout.rstrip().endswith(coverage.END)
