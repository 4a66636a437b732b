"""Backend: what a runtime provides to graphcore (availability, rewrite tags, linking)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from graphcore.backends.program import Program

# What `Backend.link` returns: called with the input values (in Program order), returns the
# output values (in Program order).
Executable = Callable[[Sequence[Any]], Sequence[Any]]


class Backend:
    """A runtime that executes Programs. Registered under the `graphcore.backends` entry point group.

    Subclasses set `name` and `pip_extra`, say whether they can run here
    (`availability`), which rewrite tags form their own optimizer phase
    (`rewrite_tags`), and turn a Program into an executable with `link`.
    """

    name: ClassVar[str] = ""
    pip_extra: ClassVar[str | None] = None  # the graphcore extra that installs this backend
    # extra rewrite-database tags compiled functions for this backend include
    rewrite_tags: ClassVar[tuple[str, ...]] = ()
    # the most inputs + outputs one elementwise kernel takes here (None: no limit of its own);
    # graphopt's fusion never builds a larger fused node for this backend
    max_operands: ClassVar[int | None] = None

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        """(available, reason): False with a human-readable reason when it cannot run here."""
        return True, ""

    def link(self, program: Program) -> Executable:
        """Return an executable: `exe(input_values) -> output_values` (lists, in Program order).

        The executable may also offer `make_fast_call(plan)`, a native call path for a
        compiled function built from its `graphcore.compile.call_plan.CallPlan` (or None).
        """
        raise NotImplementedError(f"backend {self.name!r} does not implement link")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
