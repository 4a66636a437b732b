"""function(): compile symbolic inputs -> outputs (with updates and givens) into a callable."""

from __future__ import annotations

import atexit
import pickle
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from types import SimpleNamespace

from graphcore.compile.function_module import Function, FunctionMaker
from graphcore.compile.io import In, Out, as_in
from graphcore.compile.mode import Mode
from graphcore.compile.profiling import ProfileStats
from graphcore.config import config
from graphcore.gc_pause import paused_gc
from graphcore.graph.basic import Constant, Variable
from graphcore.graph.fg import MissingInputError
from graphcore.graph.hooks import compile_function
from graphcore.graph.replace import clone_replace
from graphcore.graph.shared import SharedVariable
from graphcore.graph.traversal import ancestors
from graphcore.tensor.basic import as_tensor_variable


class UnusedInputError(Exception):
    """An input given to function() is not needed to compute the outputs or updates."""


def _as_pairs(mapping, what):
    if mapping is None:
        return []
    if isinstance(mapping, dict):
        if not isinstance(mapping, OrderedDict) and len(mapping) > 1 and type(mapping) is not dict:
            warnings.warn(f"{what}: an unordered mapping makes the order undefined", stacklevel=3)
        return list(mapping.items())
    try:
        pairs = [tuple(p) for p in mapping]
    except TypeError:
        raise TypeError(f"{what} must be a dict or a list of (variable, expression) pairs") from None
    for p in pairs:
        if len(p) != 2:
            raise TypeError(f"{what} must be a list of (variable, expression) pairs, got {p!r}")
    return pairs


def _check_update(target, expr):
    expr = as_tensor_variable(expr) if not isinstance(expr, Variable) else expr
    t = target.type
    if expr.type == t:
        return expr
    if getattr(expr.type, "ndim", None) != getattr(t, "ndim", None):
        raise TypeError(
            f"an update must have the same type as the shared variable it updates: "
            f"{target} has type {t} ({getattr(t, 'ndim', '?')} dimensions), but its update {expr} "
            f"has type {expr.type} ({getattr(expr.type, 'ndim', '?')} dimensions)")
    if getattr(expr.type, "dtype", None) != getattr(t, "dtype", None):
        raise TypeError(
            f"an update must have the same type as the shared variable it updates: "
            f"{target} has type {t}, but its update {expr} has type {expr.type}. Cast the update "
            f"(e.g. T.cast(expr, '{getattr(t, 'dtype', '?')}')) or create the shared variable "
            f"with the update's dtype")
    converted = t.convert_variable(expr)
    if converted is None:
        raise TypeError(f"the update of {target} (type {t}) has an incompatible static shape: "
                        f"{expr.type}")
    return converted


@paused_gc()  # givens/clone and FunctionMaker build objects that all live on (see gc_pause)
def function(inputs: Sequence[Variable | In],
             outputs: Variable | Out | Sequence[Variable | Out] | None = None,
             mode: str | Mode | None = None,
             updates: Iterable[tuple[Variable, Any]] | Mapping[Variable, Any] | None = None,
             givens: Iterable[tuple[Variable, Any]] | Mapping[Variable, Any] | None = None,
             no_default_updates: bool | Sequence[Variable] = False, accept_inplace: bool = False,
             name: str | None = None, rebuild_strict: bool = True,
             allow_input_downcast: bool | None = None, profile: Any = None,
             on_unused_input: str | None = None, trust_input: bool = False) -> Function:
    """Compile a callable computing `outputs` from `inputs`, applying `updates` after each call.

    inputs: Variables or In; outputs: a Variable/Out, a list of them, or None;
    updates: (shared, expression) pairs, applied after all outputs are computed;
    givens: (variable, replacement) pairs substituted in the graph before compiling.
    """
    if not isinstance(inputs, (list, tuple)):
        raise TypeError("function: inputs must be a list (or tuple) of variables, "
                        f"got {type(inputs).__name__}")
    on_unused_input = on_unused_input or config.on_unused_input
    if on_unused_input not in ("raise", "warn", "ignore"):
        raise ValueError(f"function: on_unused_input must be 'raise', 'warn' or 'ignore', got "
                         f"{on_unused_input!r}")

    in_specs = []
    for k, i in enumerate(inputs):
        if isinstance(i, Constant):
            raise TypeError(f"function: input {k} ({i}) is a constant; inputs must be "
                            "symbolic variables")
        try:
            spec = as_in(i)  # a Variable, an In, or Theano's tuples ((r, update), value)
        except TypeError as exc:
            raise TypeError(f"function: input {k} {exc}") from None
        if isinstance(spec.variable, SharedVariable):
            raise TypeError(f"function: input {k} ({spec.variable}) is a shared variable; a shared "
                            "variable cannot be an explicit input (functions read it implicitly). "
                            "To feed a value in its place, substitute it with givens=")
        if spec.allow_downcast is None:
            spec.allow_downcast = allow_input_downcast
        in_specs.append(spec)
    seen = set()
    for spec in in_specs:
        if spec.variable in seen:
            raise ValueError(f"function: input {spec.variable} is given more than once")
        seen.add(spec.variable)

    single = False
    no_output = outputs is None
    output_keys = None
    if isinstance(outputs, dict):  # Theano: a dict of outputs gives a dict of results
        bad = [k for k in outputs if not isinstance(k, str)]
        if bad:
            raise TypeError(f"function: the keys of a dict of outputs must be strings, got "
                            f"{bad[0]!r} ({type(bad[0]).__name__})")
        output_keys = sorted(outputs)
        outputs = [outputs[k] for k in output_keys]
    if outputs is None:
        out_list = []
    elif isinstance(outputs, (list, tuple)):
        out_list = list(outputs)
    else:
        out_list = [outputs]
        single = True

    out_specs = []
    for k, o in enumerate(out_list):
        if isinstance(o, Out):
            out_specs.append(Out(as_tensor_variable(o.variable), o.borrow))
        else:
            try:
                out_specs.append(Out(as_tensor_variable(o)))
            except TypeError:
                raise TypeError(f"function: output {k} is a {type(o).__name__}, expected a "
                                "symbolic Variable") from None

    update_pairs = []
    targets = set()
    for target, expr in _as_pairs(updates, "updates"):
        if not isinstance(target, SharedVariable):
            raise TypeError(f"function: update target {target} is not a shared variable; only "
                            "shared variables can be updated")
        if target in targets:
            raise ValueError(f"function: {target} is updated more than once")
        targets.add(target)
        update_pairs.append((target, _check_update(target, expr)))
    for spec in in_specs:
        if spec.update is not None:
            update_pairs.append((spec, _check_update(spec.variable, spec.update)))

    # givens: substitute before anything else looks at the graph
    given_pairs = _as_pairs(givens, "givens")
    if given_pairs:
        for old, new in given_pairs:
            if not isinstance(old, Variable):
                raise TypeError(f"givens: key {old!r} is not a symbolic variable")
        exprs = [o.variable for o in out_specs] + [e for _, e in update_pairs]
        replaced = clone_replace(exprs, given_pairs, rebuild_strict=rebuild_strict)
        for o, r in zip(out_specs, replaced[: len(out_specs)]):
            o.variable = r
        update_pairs = [(t, r) for (t, _), r in zip(update_pairs, replaced[len(out_specs):])]

    explicit = {spec.variable for spec in in_specs}
    # default updates (e.g. random generator states) of shared variables the graph reads
    exprs = [o.variable for o in out_specs] + [e for _, e in update_pairs]
    if no_default_updates is not True:
        excluded = set(no_default_updates or ())
        pending = list(ancestors(exprs, blockers=list(explicit)))
        done = set()
        while pending:
            var = pending.pop()
            if (isinstance(var, SharedVariable) and var not in targets and var not in excluded
                    and var not in done and getattr(var, "default_update", None) is not None):
                done.add(var)
                targets.add(var)
                expr = var.default_update
                if given_pairs:  # givens apply to default updates as to outputs (Theano's pfunc)
                    expr = clone_replace([expr], given_pairs, rebuild_strict=rebuild_strict)[0]
                expr = _check_update(var, expr)
                update_pairs.append((var, expr))
                pending.extend(ancestors([expr], blockers=list(explicit)))
        exprs = [o.variable for o in out_specs] + [e for _, e in update_pairs]

    needed = ancestors(exprs, blockers=list(explicit))
    needed_set = set(needed)
    implicit_shared = []
    for var in needed:
        if var.owner is None and var not in explicit:
            if isinstance(var, SharedVariable):
                implicit_shared.append(var)
            elif not isinstance(var, Constant):
                raise MissingInputError(
                    f"function: the outputs depend on {var} (type {var.type}), which is not "
                    f"among the inputs {[str(s.variable) for s in in_specs]}. Add it to the "
                    "inputs, give it a value with givens=, or make it a shared variable")
    for target, _ in update_pairs:
        if isinstance(target, SharedVariable) and target not in explicit and target not in implicit_shared:
            implicit_shared.append(target)
    for k, spec in enumerate(in_specs):
        if spec.variable not in needed_set and on_unused_input != "ignore":
            message = (f"function: input {k} ({spec.variable}) is not used to compute the outputs "
                       "or updates. Pass on_unused_input='warn' or 'ignore' to allow this")
            if on_unused_input == "raise":
                raise UnusedInputError(message)
            warnings.warn(message, stacklevel=2)

    spec = {
        "inputs": in_specs, "outputs": out_specs, "updates": update_pairs,
        "implicit_shared": implicit_shared, "mode": mode, "name": name,
        "single_output": single, "no_output": no_output, "output_keys": output_keys,
    }
    fn = FunctionMaker(in_specs, out_specs, update_pairs, implicit_shared, mode, spec).create()
    fn.trust_input = trust_input
    profile_mode = getattr(fn.maker.mode, "profile", False)  # Theano's ProfileMode
    if profile or config.profile or profile_mode:
        fn.profile = ProfileStats(fn)
        if profile_mode and not config.profile:  # printed at exit, as ProfileMode did
            atexit.register(fn.profile.summary)
    return fn


def function_dump(filename, inputs, outputs=None, mode=None, updates=None, givens=None,
                  no_default_updates=False, accept_inplace=False, name=None, rebuild_strict=True,
                  allow_input_downcast=None, profile=None, on_unused_input=None,
                  extra_tag_to_remove=None):
    """Pickle the arguments of a function() call to `filename`, to reproduce it elsewhere:

        d = pickle.load(open(filename, "rb")); f = theano.function(**d)

    (Theano's debugging helper.) The variables' `trace` tags (where user code
    built each node) and those named in extra_tag_to_remove are left out.
    """
    if not isinstance(filename, (str, bytes)) and not hasattr(filename, "__fspath__"):
        raise TypeError(f"function_dump: filename must be a path, got {type(filename).__name__}")
    d = dict(inputs=inputs, outputs=outputs, mode=mode, updates=updates, givens=givens,
             no_default_updates=no_default_updates, accept_inplace=accept_inplace, name=name,
             rebuild_strict=rebuild_strict, allow_input_downcast=allow_input_downcast,
             profile=profile, on_unused_input=on_unused_input)
    with open(filename, "wb") as fh:
        _TagStripper(fh, ("trace",) + tuple(extra_tag_to_remove or ())).dump(d)


class _TagStripper(pickle.Pickler):
    """A pickler writing graph objects' tags without the given entries (traces by default)."""

    def __init__(self, file, drop):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.drop = set(drop)

    def reducer_override(self, obj):
        if type(obj) is SimpleNamespace and self.drop & vars(obj).keys():
            kept = {k: v for k, v in vars(obj).items() if k not in self.drop}
            return (SimpleNamespace, (), kept)
        return NotImplemented


compile_function.register(function)  # Variable.eval and the gradient layer compile through it
