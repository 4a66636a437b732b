"""CallPlan: what one call of a compiled function does, decided once when it is compiled.

A `Function` builds its plan in `__init__` and runs it in `Function.__call__`
(the reference path, in Python). A runtime may run the same plan natively:
when the executable that `Backend.link` returned has a method
`make_fast_call(plan)`, the Function calls it once and, if it returns a
callable, installs it with `Function.set_fast_call`. That callable must give
exactly the results and errors of `Function.__call__`; it handles the calls
it wants (graphrt-cpu: positional arguments only) and hands every other call
to `plan.fallback(*args, **kwargs)`.

A call, step by step:

1. the arguments: one value per explicit input, in order (keyword arguments
   and defaults are the fallback's business). Unless `trust_input`, a value
   that is not an ndarray of the input's dtype and ndim, or whose type has a
   static shape, is converted by `check.type.filter(value, strict=...,
   allow_downcast=..., name=check.label)` (one `InputCheck` per input).
   With `trust_input` nothing is converted, but what the runtime's kernels
   rely on is still checked: a value that is not an ndarray of the input's
   dtype, ndim and static shape goes to `check_exact(check, value)`, which
   raises (the fast test above costs nothing more);
2. then the current value of each of `shared_containers`, in order; the
   values at the positions `destroyed_shared` are overwritten by the program
   (in-place updates): a runtime that cannot make them private (see
   `Function.__call__`) must not take the call. A shared value whose
   `shared_checks` entry is not None must be an ndarray of that entry's
   dtype and ndim, or `check_exact` raises (an array given with
   `borrow=True` may have been reshaped in place since);
3. the executable runs on that list and returns the outputs, then the
   updates' new values;
4. each output position in `copy_updates` is copied, then every `(container,
   k)` of `updates` stores output k, then each position in `copy_outputs` is
   copied (so results never alias inputs, shared values or each other);
5. the result: output 0 when `single`, else the first `n_returned` outputs
   as a list.

`plan.finish(outs)` does steps 4 and 5; a runtime's fast call should end
with it whenever `post` is true (without `post` there is nothing to copy or
store and no update outputs to drop, so step 5 is `outs[0]` or `outs`).

When `lock` is not None (the function updates shared variables), steps 2-4
run while holding it: concurrent calls of one such function are serialized,
so no update is lost (`lock.acquire()` releases the GIL while it waits, so a
holder running kernels without the GIL can finish).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np


class InputCheck(NamedTuple):
    """How one explicit input's argument is checked (see `CallPlan`, step 1)."""

    position: int
    type: Any  # the input's Type (filter() converts a value)
    dtype: Any  # numpy dtype an argument must have to skip filter()
    ndim: int
    free_shape: bool  # the type's shape is fully unknown (otherwise filter() always runs)
    strict: bool
    allow_downcast: Any  # None, True or False, as In(allow_downcast=)
    label: str  # the input's name, or "#k", for error messages


def check_exact(check, value, what="input"):
    """Raise a TypeError or ValueError unless `value` is an ndarray of exactly the dtype, ndim
    and static shape of `check` (an `InputCheck`): what a runtime's kernels read without
    checking. Used for arguments under trust_input and for shared values."""
    t = check.type
    if type(value) is not np.ndarray:
        raise TypeError(f"{what} {check.label}: trust_input=True skips conversions, so the value "
                        f"must be a numpy.ndarray of type {t}; got {type(value).__name__}")
    if value.dtype != check.dtype or value.ndim != check.ndim:
        hint = "" if what == "input" else \
            " (was its array, given with borrow=True, reshaped or retyped in place?)"
        raise TypeError(f"{what} {check.label}: expected an ndarray of dtype {check.dtype} and "
                        f"ndim {check.ndim} ({t}), got dtype {value.dtype} and shape "
                        f"{value.shape}{hint}")
    static = getattr(t, "shape", None) or ()
    for want, got in zip(static, value.shape):
        if want is not None and want != got:
            raise ValueError(f"{what} {check.label}: expected shape {static} ({t}), got "
                             f"{value.shape}")
    return value


def shared_check(position, variable):
    """The `InputCheck` a shared variable's value must pass each call (None: not a tensor)."""
    t = variable.type
    if not hasattr(t, "numpy_dtype"):
        return None
    return InputCheck(position, t, t.numpy_dtype, t.ndim, all(s is None for s in t.shape), False,
                      None, f"shared variable {variable}")


class CallPlan:
    """Everything a call of a compiled function needs, computed once (see the module docstring).

    Fields (all read-only for runtimes, except `trust_input`, which follows
    `Function.trust_input`):

    - `n_inputs`: number of explicit inputs (positional arguments of a call)
    - `input_checks`: one `InputCheck` per explicit input
    - `shared_containers`: containers whose values follow the arguments
    - `shared_checks`: per shared container, the `InputCheck` its value must
      pass (position: its index in the value list), or None
    - `destroyed_shared`: positions in the value list the program overwrites
    - `updates`: `(container, output index)` pairs stored after the run
    - `copy_updates`, `copy_outputs`: output indices copied (before/after storing updates)
    - `post`: whether any of updates, copy_updates, copy_outputs is non-empty
    - `n_returned`: how many outputs a call returns (the rest are updates)
    - `single`: a call returns output 0 itself, not a list
    - `trust_input`: skip the argument checks of step 1
    - `fallback`: `fallback(*args, **kwargs)` runs the call on Function's
      Python path; it holds the function weakly (and takes `lock` itself)
    - `lock`: a `threading.Lock` held around each call of a function with
      updates, else None; a runtime's `make_fast_call` may replace it (before
      any call) with a lock of its own that supports `with` and
      acquire()/release(), which both paths then take
    """

    __slots__ = ("n_inputs", "input_checks", "shared_containers", "shared_checks",
                 "destroyed_shared", "updates",
                 "copy_updates", "copy_outputs", "post", "n_returned", "single", "trust_input",
                 "fallback", "lock")

    def __init__(self, input_checks, shared_containers, updates, copy_updates, copy_outputs,
                 n_returned, single, destroyed_shared=(), trust_input=False,
                 fallback: Callable | None = None, shared_checks=None, lock=None):
        self.input_checks = tuple(input_checks)
        self.n_inputs = len(self.input_checks)
        self.shared_containers = tuple(shared_containers)
        self.shared_checks = tuple(shared_checks) if shared_checks is not None else \
            (None,) * len(self.shared_containers)
        self.destroyed_shared = tuple(destroyed_shared)
        self.updates = tuple(updates)
        self.copy_updates = tuple(copy_updates)
        self.copy_outputs = tuple(copy_outputs)
        self.post = bool(self.updates or self.copy_updates or self.copy_outputs)
        self.n_returned = n_returned
        self.single = bool(single)
        self.trust_input = bool(trust_input)
        self.fallback = fallback
        self.lock = lock

    def finish(self, outs):
        """Steps 4 and 5 of a call: from the executable's output list `outs` (the outputs, then
        the updates' new values), copy what must not alias, store the updates and return the
        call's result. The one copy of these steps: Function.__call__ and runtimes' fast calls
        (for plans with `post`) both end with it."""
        if self.post:
            for k in self.copy_updates:
                outs[k] = outs[k].copy()
            for container, k in self.updates:
                container.value = outs[k]
            for k in self.copy_outputs:
                outs[k] = outs[k].copy()
        if self.single:
            return outs[0]
        if len(outs) != self.n_returned:
            return outs[: self.n_returned]
        return outs

    def __repr__(self):
        return (f"<CallPlan {self.n_inputs} input(s), {len(self.shared_containers)} shared, "
                f"{len(self.updates)} update(s), returns {self.n_returned}"
                f"{' (single)' if self.single else ''}>")


__all__ = ["CallPlan", "InputCheck", "check_exact", "shared_check"]
