"""Per-instruction profiles of compiled functions: ``function(..., profile=True)``, then
``f.profile.summary()`` prints where the time and memory went.

A runtime that can profile implements ``executable.enable_profile(stats)``: it
sets ``stats.labels`` ((op, kernel kind) per instruction) and fills the lists
``stats.times`` (seconds), ``stats.calls`` and ``stats.peaks`` (live bytes
after the instruction, the largest seen), plus ``stats.ncalls`` and
``stats.total_time``. Other runtimes leave the table empty.
"""

from __future__ import annotations

import sys


class ProfileStats:
    """What one compiled function spent, instruction by instruction."""

    def __init__(self, fn=None):
        self.name = getattr(fn, "name", None)
        self.labels, self.times, self.calls, self.peaks = [], [], [], []
        self.ncalls = 0
        self.total_time = 0.0
        self.supported = False
        exe = None if fn is None else fn.executable
        if exe is not None and hasattr(exe, "enable_profile"):
            exe.enable_profile(self)
            self.supported = True

    def __bool__(self):  # `if f.profile:` keeps meaning "profiling is on"
        return True

    def rows(self):
        """(index, op, kernel kind, calls, seconds, peak bytes) per instruction, slowest first."""
        rows = [(k, op, kind, self.calls[k], self.times[k], self.peaks[k])
                for k, (op, kind) in enumerate(self.labels)]
        return sorted(rows, key=lambda r: -r[4])

    def summary(self, file=None, n=30):
        """Print the table: the instructions by time, with calls, share of the total and peak memory."""
        file = file or sys.stdout
        title = f"Function profile{f' ({self.name})' if self.name else ''}"
        print(f"{title}: {self.ncalls} call(s), {self.total_time * 1e3:.3f} ms in total", file=file)
        if not self.supported:
            print("  (this backend does not record per-instruction times)", file=file)
            return
        busy = sum(self.times) or 1.0
        print(f"  {'#':>3}  {'time %':>6}  {'total ms':>9}  {'calls':>6}  {'us/call':>9}  "
              f"{'peak MB':>8}  {'kernel':<8} op", file=file)
        for k, op, kind, calls, t, peak in self.rows()[:n]:
            per = t / calls * 1e6 if calls else 0.0
            print(f"  {k:>3}  {100 * t / busy:6.1f}  {t * 1e3:9.3f}  {calls:>6}  {per:9.2f}  "
                  f"{peak / 2**20:8.2f}  {kind:<8} {op}", file=file)
