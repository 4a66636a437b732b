"""Root conftest: settings every test in the monorepo runs with.

Rewrites re-raise their errors in tests (config.on_opt_error='raise'), so a
broken rewrite fails the test that triggered it instead of being skipped
with a warning. Add further suite-wide settings here; keep each one small.
"""

import pytest

from graphcore.config import config


@pytest.fixture(autouse=True)
def _rewrites_raise_in_tests():
    with config.change_flags(on_opt_error="raise"):
        yield
