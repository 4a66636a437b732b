"""All-or-nothing calls: which input buffers a runtime backs up so a failed call changes nothing.

A Program may overwrite the buffer of an input it was allowed to destroy (a
shared variable's value, updated in place). If a later instruction raises,
that buffer would be left half-updated. The contract every runtime keeps:

- every destructive kernel checks what can fail (shapes, bounds, dtypes)
  before it writes, so an instruction that raises has written nothing;
- graphopt's scheduler runs the instructions that overwrite an input as
  late as it can (after everything that does not depend on them);
- `undo_plan(program)` lists, per instruction, the input slots whose
  buffers must be copied just before it runs: those it is the first to
  overwrite while some instruction after it may still raise. A runtime
  copies them before running that instruction and, when any later
  instruction raises, copies them back before re-raising.

With that order, an update whose destroyer is the last instruction (the
usual single in-place update) costs no copy; several in-place updates cost
a copy of every overwritten buffer but the last one's.
"""

from __future__ import annotations

import numpy as np


def undo_plan(program, checked_steps=False):
    """{instruction index: input slots to back up before it runs}, or None when none are needed.

    checked_steps: a check that can raise runs after every instruction (NanGuardMode's), so
    even the last overwrite needs its backup.

    An input slot is protected unless it is `mutable` (In(mutable=True) lets
    the program overwrite it with no promise). A buffer is reached through
    the in-place and view maps: an in-place op on a view of an input
    overwrites that input.
    """
    root = {s.index: s.index for s in program.slots if s.role == "input" and not s.mutable}
    first_destroyer = {}  # protected input slot -> index of the first instruction overwriting it
    last_apply = -1
    for pc, ins in enumerate(program.instructions):
        if ins.kind != "apply":
            continue
        last_apply = pc
        for j in ins.inplace.values():
            r = root.get(ins.inputs[j])
            if r is not None and r not in first_destroyer:
                first_destroyer[r] = pc
        for o, j in list(ins.inplace.items()) + list(ins.views.items()):
            r = root.get(ins.inputs[j])
            if r is not None:
                root[ins.outputs[o]] = r
    plan = {}
    for r, pc in first_destroyer.items():
        # nothing runs after it: the destroyer itself raises before writing (the contract above)
        if pc < last_apply or checked_steps:
            plan.setdefault(pc, []).append(r)
    return {pc: tuple(sorted(slots)) for pc, slots in plan.items()} or None


def back_up(saved, registers, slots):
    """Append (buffer, copy) for each ndarray in `registers` at `slots` to the list `saved`."""
    for s in slots:
        v = registers[s]
        if isinstance(v, np.ndarray):
            saved.append((v, v.copy()))
    return saved


def restore(saved):
    """Copy every backup of `saved` (from `back_up`) back into its buffer, latest first."""
    for buf, copy in reversed(saved):
        np.copyto(buf, copy)


__all__ = ["back_up", "restore", "undo_plan"]
