"""Backend: what a runtime provides to graphcore (availability, native ops, linking)."""

from __future__ import annotations


class Backend:
    """A runtime that executes Programs. Registered under the `graphcore.backends` entry point group.

    Subclasses set `name` and `pip_extra`, say whether they can run here
    (`availability`), which ops they run natively, which rewrite tags form
    their own optimizer phase, how their arrays convert to and from NumPy,
    and turn a Program into an executable with `link`.
    """

    name = ""
    pip_extra = None  # the graphcore extra that installs this backend
    rewrite_tags = ()  # extra rewrite-database tags compiled functions for this backend include

    @classmethod
    def availability(cls):
        """(available, reason): False with a human-readable reason when it cannot run here."""
        return True, ""

    def supports(self, op):
        """Whether `op` has a native kernel here (others fall back to perform, or error)."""
        return False

    def to_backend(self, value):
        return value

    def to_numpy(self, value):
        return value

    def link(self, program):
        """Return an executable: `exe(input_values) -> output_values` (lists, in Program order)."""
        raise NotImplementedError(f"backend {self.name!r} does not implement link")

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}>"
