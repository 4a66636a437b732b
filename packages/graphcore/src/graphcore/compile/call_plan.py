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
   allow_downcast=..., name=check.label)` (one `InputCheck` per input);
2. then the current value of each of `shared_containers`, in order; the
   values at the positions `destroyed_shared` are overwritten by the program
   (in-place updates): a runtime that cannot make them private (see
   `Function.__call__`) must not take the call;
3. the executable runs on that list and returns the outputs, then the
   updates' new values;
4. each output position in `copy_updates` is copied, then every `(container,
   k)` of `updates` stores output k, then each position in `copy_outputs` is
   copied (so results never alias inputs, shared values or each other);
5. the result: output 0 when `single`, else the first `n_returned` outputs
   as a list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


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


class CallPlan:
    """Everything a call of a compiled function needs, computed once (see the module docstring).

    Fields (all read-only for runtimes, except `trust_input`, which follows
    `Function.trust_input`):

    - `n_inputs`: number of explicit inputs (positional arguments of a call)
    - `input_checks`: one `InputCheck` per explicit input
    - `shared_containers`: containers whose values follow the arguments
    - `destroyed_shared`: positions in the value list the program overwrites
    - `updates`: `(container, output index)` pairs stored after the run
    - `copy_updates`, `copy_outputs`: output indices copied (before/after storing updates)
    - `post`: whether any of updates, copy_updates, copy_outputs is non-empty
    - `n_returned`: how many outputs a call returns (the rest are updates)
    - `single`: a call returns output 0 itself, not a list
    - `trust_input`: skip the argument checks of step 1
    - `fallback`: `fallback(*args, **kwargs)` runs the call on Function's
      Python path; it holds the function weakly
    """

    __slots__ = ("n_inputs", "input_checks", "shared_containers", "destroyed_shared", "updates",
                 "copy_updates", "copy_outputs", "post", "n_returned", "single", "trust_input",
                 "fallback")

    def __init__(self, input_checks, shared_containers, updates, copy_updates, copy_outputs,
                 n_returned, single, destroyed_shared=(), trust_input=False,
                 fallback: Callable | None = None):
        self.input_checks = tuple(input_checks)
        self.n_inputs = len(self.input_checks)
        self.shared_containers = tuple(shared_containers)
        self.destroyed_shared = tuple(destroyed_shared)
        self.updates = tuple(updates)
        self.copy_updates = tuple(copy_updates)
        self.copy_outputs = tuple(copy_outputs)
        self.post = bool(self.updates or self.copy_updates or self.copy_outputs)
        self.n_returned = n_returned
        self.single = bool(single)
        self.trust_input = bool(trust_input)
        self.fallback = fallback

    def __repr__(self):
        return (f"<CallPlan {self.n_inputs} input(s), {len(self.shared_containers)} shared, "
                f"{len(self.updates)} update(s), returns {self.n_returned}"
                f"{' (single)' if self.single else ''}>")


__all__ = ["CallPlan", "InputCheck"]
