"""Profiles of compiled functions: ``function(..., profile=True)``, then ``f.profile.summary()``
prints where the time and memory went, by op class, by op and by node (instruction).

A runtime that can profile implements ``executable.enable_profile(stats)``: it
sets ``stats.labels`` ((op, kernel kind) per instruction; kinds are native,
blas, view, perform, python, ...) and fills the lists ``stats.times``
(seconds), ``stats.calls`` and ``stats.peaks`` (live bytes after the
instruction, the largest seen), plus ``stats.ncalls`` and
``stats.total_time``. A runtime may also fill ``stats.out_bytes`` and
``stats.out_shapes`` per instruction with
``graphcore.backends.interpreter.record_outputs`` (the largest bytes of the
outputs it allocates, those that neither view nor overwrite an input, with
their shapes and dtypes): the memory profile then lists the largest
intermediates. Other runtimes leave them None.

``config.profile=True`` (e.g. ``GRAPHCORE_FLAGS=profile=True``) profiles every
compiled function and prints the summary of all of them when the interpreter
exits, as Theano did; ``config.profile_memory`` adds the memory profile and
``config.profile_optimizer`` the time and applications of each rewrite.
"""

from __future__ import annotations

import atexit
import sys

from graphcore.config import config

_AT_EXIT = []  # ProfileStats asked through config.profile, summarized at exit (kept, as Theano)
_at_exit_registered = False


class ProfileStats:
    """What one compiled function spent, instruction by instruction."""

    def __init__(self, fn=None, memory=None):
        self.name = getattr(fn, "name", None)
        self.labels, self.times, self.calls, self.peaks = [], [], [], []
        self.out_bytes = None  # per instruction, when the runtime records them (record_outputs)
        self.out_shapes = None
        self.ncalls = 0
        self.total_time = 0.0
        self.supported = False
        self.memory = config.profile_memory if memory is None else bool(memory)
        maker = getattr(fn, "maker", None)
        self.program = getattr(maker, "program", None)
        self.backend = getattr(getattr(maker, "backend", None), "name", None)
        self.optimizer_profile = getattr(maker, "optimizer_profile", None) or {}
        # seconds per node rewrite inside the passes (graphopt's drivers, profile_optimizer)
        self.rewrite_times = getattr(getattr(maker, "fgraph", None), "rewrite_times", None) or {}
        self.compile_time = getattr(maker, "compile_time", None)
        exe = None if fn is None else fn.executable
        if exe is not None and hasattr(exe, "enable_profile"):
            exe.enable_profile(self)
            self.supported = True
        if fn is not None and config.profile:
            _summarize_at_exit(self)

    def __bool__(self):  # `if f.profile:` keeps meaning "profiling is on"
        return True

    # -- tables -----------------------------------------------------------------------
    def rows(self):
        """(index, op, kernel kind, calls, seconds, peak bytes) per instruction, slowest first."""
        rows = [(k, op, kind, self.calls[k], self.times[k], self.peaks[k])
                for k, (op, kind) in enumerate(self.labels)]
        return sorted(rows, key=lambda r: -r[4])

    def op_rows(self):
        """(op, kernel kinds, nodes, calls, seconds) per distinct op, slowest first."""
        return self._grouped(lambda op: op)

    def class_rows(self):
        """(op class, kernel kinds, nodes, calls, seconds) per op class, slowest first."""
        return self._grouped(lambda op: op.split("{", 1)[0])

    def _grouped(self, key):
        groups = {}
        for k, (op, kind) in enumerate(self.labels):
            if kind == "vm":  # jumps
                continue
            g = groups.setdefault(key(op), [set(), 0, 0, 0.0])
            g[0].add(kind)
            g[1] += 1
            g[2] += self.calls[k]
            g[3] += self.times[k]
        rows = [(name, "/".join(sorted(kinds)), n, calls, t)
                for name, (kinds, n, calls, t) in groups.items()]
        return sorted(rows, key=lambda r: -r[4])

    def peak_memory(self):
        """(bytes, instruction index): the most bytes live at once in a call, and where."""
        if not self.peaks:
            return 0, None
        k = max(range(len(self.peaks)), key=self.peaks.__getitem__)
        return self.peaks[k], k

    def largest_intermediates(self, n=10):
        """(bytes, instruction index, op, kernel kind, ((shape, dtype) per allocated output))
        of the instructions with the largest outputs, when the runtime recorded them."""
        if not self.out_bytes:
            return []
        shapes = self.out_shapes or [()] * len(self.out_bytes)
        rows = [(b, k, *self.labels[k], shapes[k]) for k, b in enumerate(self.out_bytes) if b]
        return sorted(rows, key=lambda r: -r[0])[:n]

    # -- printing ---------------------------------------------------------------------
    def summary(self, file=None, n=30):
        """Print the profile: totals, then op classes, ops and nodes by time (with calls,
        share of the total, kernel kind and peak memory), the memory profile with
        config.profile_memory (or ProfileStats(memory=True)), and the optimizer profile when
        config.profile_optimizer recorded one."""
        file = file or sys.stdout
        title = f"Function profile{f' ({self.name})' if self.name else ''}"
        on = f" (backend {self.backend})" if self.backend else ""
        print(f"{title}: {self.ncalls} call(s), {self.total_time * 1e3:.3f} ms in total{on}",
              file=file)
        if self.compile_time:
            parts = ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in self.compile_time.items())
            print(f"  compile: {parts}", file=file)
        if not self.supported:
            print("  (this backend does not record per-instruction times)", file=file)
            return
        busy = sum(self.times) or 1.0
        if self.ncalls:
            print(f"  time in instructions: {busy * 1e3:.3f} ms "
                  f"({100 * busy / (self.total_time or busy):.1f}% of the calls)", file=file)
        for heading, rows in (("Op classes", self.class_rows()), ("Ops", self.op_rows())):
            print(f"\n  {heading}:", file=file)
            print(f"  {'time %':>6}  {'total ms':>9}  {'nodes':>5}  {'calls':>7}  {'us/call':>9}  "
                  f"{'kernel':<12} name", file=file)
            for name, kinds, nodes, calls, t in rows[:n]:
                per = t / calls * 1e6 if calls else 0.0
                print(f"  {100 * t / busy:6.1f}  {t * 1e3:9.3f}  {nodes:>5}  {calls:>7}  "
                      f"{per:9.2f}  {kinds:<12} {name}", file=file)
        print("\n  Apply nodes (instructions):", file=file)
        print(f"  {'#':>3}  {'time %':>6}  {'total ms':>9}  {'calls':>6}  {'us/call':>9}  "
              f"{'peak MB':>8}  {'kernel':<8} op", file=file)
        for k, op, kind, calls, t, peak in self.rows()[:n]:
            per = t / calls * 1e6 if calls else 0.0
            print(f"  {k:>3}  {100 * t / busy:6.1f}  {t * 1e3:9.3f}  {calls:>6}  {per:9.2f}  "
                  f"{peak / 2**20:8.2f}  {kind:<8} {op}", file=file)
        if self.memory:
            self._memory_summary(file, n)
        if self.optimizer_profile:
            print("", file=file)
            print_rewrite_profile(self.optimizer_profile, self.rewrite_times, file=file)

    def _memory_summary(self, file, n):
        peak, at = self.peak_memory()
        print("\n  Memory profile:", file=file)
        if at is None:
            print("    (no call recorded yet)", file=file)
            return
        op, kind = self.labels[at]
        print(f"    peak: {peak / 2**20:.3f} MB ({peak} bytes) live after instruction {at} "
              f"({op}, {kind})", file=file)
        largest = self.largest_intermediates(min(n, 10))
        if not largest:
            print("    largest intermediates: not recorded by this backend (it records the live "
                  "bytes after each instruction, the 'peak MB' column above)", file=file)
            return
        print("    largest intermediates (outputs that neither view nor overwrite an input):",
              file=file)
        for b, k, op, kind, shapes in largest:
            what = ", ".join(f"{dtype} {shape}" for shape, dtype in shapes)
            print(f"      {b / 2**20:9.3f} MB  {b:>11} bytes  instruction {k:>3}  {kind:<8} {op}"
                  f"  {what}", file=file)


def print_rewrite_profile(profile, rewrite_times=None, file=None):
    """Time per rewrite pass and how many times each of its rewrites applied (a pass returns a
    {rewrite name: applications} dict; other results are printed as they are). `profile` is
    {pass name: (seconds, result)}; `rewrite_times` is {node rewrite name: seconds} spent
    inside the passes (graphopt's drivers record it with config.profile_optimizer)."""
    file = file or sys.stdout
    inner = rewrite_times or {}
    total = sum(t for t, _ in profile.values())
    print(f"Optimizer profile: {total * 1e3:.2f} ms in {len(profile)} rewrites", file=file)
    for name, (t, result) in sorted(profile.items(), key=lambda kv: -kv[1][0]):
        if isinstance(result, dict):
            napplied = sum(v for v in result.values() if isinstance(v, (int, float)))
            print(f"  {t * 1e3:8.3f} ms  {name}  ({napplied} applications)", file=file)
            for sub, count in sorted(result.items(), key=lambda kv: -kv[1]):
                spent = f"  {inner[sub] * 1e3:.3f} ms" if sub in inner else ""
                print(f"               {count:6d} x {sub}{spent}", file=file)
            continue
        detail = f"  {result}" if result not in (None, True, False) else ""
        print(f"  {t * 1e3:8.3f} ms  {name}{detail}", file=file)
    if inner:
        print("  time per node rewrite (tried or applied):", file=file)
        for sub, t in sorted(inner.items(), key=lambda kv: -kv[1])[:30]:
            print(f"    {t * 1e3:8.3f} ms  {sub}", file=file)


def _summarize_at_exit(stats):
    global _at_exit_registered
    _AT_EXIT.append(stats)
    if not _at_exit_registered:
        atexit.register(print_all_profiles)
        _at_exit_registered = True


def print_all_profiles(file=None):
    """Print the summary of every function profiled through config.profile (run at exit)."""
    file = file or sys.stderr
    alive = list(_AT_EXIT)
    if not alive:
        return
    total = sum(s.total_time for s in alive)
    print(f"graphcore profile: {len(alive)} function(s), {total * 1e3:.3f} ms in calls",
          file=file)
    for s in sorted(alive, key=lambda s: -s.total_time):
        print("", file=file)
        s.summary(file=file)
