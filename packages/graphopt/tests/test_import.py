"""graphopt imports cleanly and exposes its rewrites entry point."""

from importlib.metadata import entry_points, version

import graphopt


def test_version_matches_distribution():
    assert graphopt.__version__ == "1.0.0"
    assert version("graphopt") == graphopt.__version__


def test_register_is_callable():
    assert callable(graphopt.register)
    assert graphopt.register.__doc__.startswith("Entry point of group graphcore.rewrites")


def test_register_entry_point_resolves_to_register():
    eps = entry_points(group="graphcore.rewrites")
    (ep,) = [ep for ep in eps if ep.name == "graphopt"]
    assert ep.value == "graphopt:register"
    assert ep.load() is graphopt.register
