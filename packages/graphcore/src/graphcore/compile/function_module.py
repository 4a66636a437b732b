"""Function (the compiled callable) and FunctionMaker (graph -> optimized Program -> executable)."""

from __future__ import annotations

import copy
import time

import numpy as np

from graphcore.compile.aliasing import outputs_needing_copy
from graphcore.compile.io import In, Out
from graphcore.compile.mode import get_mode
from graphcore.compile.op_plugins import load_op_plugins
from graphcore.compile.scheduler import get_scheduler
from graphcore.compile.sharedvalue import Container
from graphcore.gc_pause import paused_gc
from graphcore.graph.fg import FunctionGraph

_REQUIRED = object()
_ndarray = np.ndarray


class FunctionMaker:
    """Builds the FunctionGraph, optimizes it for a backend, schedules and links it."""

    @paused_gc()  # clone + optimize + schedule + link allocate objects that all live on
    def __init__(self, inputs, outputs, updates, implicit_shared, mode, spec):
        self.inputs = inputs  # list of In (explicit)
        self.outputs = outputs  # list of Out
        self.updates = updates  # list of (target, expr): target is a SharedVariable or an In
        self.implicit_shared = implicit_shared  # shared variables read but not given as inputs
        self.mode = get_mode(mode)
        self.spec = spec
        load_op_plugins()
        t0 = time.perf_counter()
        self.backend = self.mode.backend()
        graph_inputs = [i.variable for i in inputs] + list(implicit_shared)
        graph_outputs = [o.variable for o in outputs] + [expr for _, expr in updates]
        fgraph = FunctionGraph(graph_inputs, graph_outputs, clone=True)
        update_mapping = {}
        for k, (target, _) in enumerate(updates):
            pos = (graph_inputs.index(target.variable) if isinstance(target, In)
                   else graph_inputs.index(target))
            update_mapping[len(outputs) + k] = pos
        fgraph.update_mapping = update_mapping
        fgraph.mutable_inputs = {k for k, i in enumerate(inputs) if i.mutable}
        fgraph.protected_inputs = set(range(len(graph_inputs))) - fgraph.mutable_inputs
        # a shared variable's buffer may be overwritten by the nodes computing its own update
        # (Theano's destructive updates; graphopt's inplace pass proves each case safe); an
        # explicit input is overwritten only when it is In(mutable=True)
        fgraph.destroyable_by_update = {j for j in update_mapping.values() if j >= len(inputs)}
        self.fgraph = fgraph
        # a checking mode (DebugMode) keeps the graph as written, to compare against
        self.original_fgraph = fgraph.clone() if getattr(self.mode, "keeps_original", False) \
            else None
        self.optimizer_profile = self.mode.optimize(fgraph, self.backend)
        t1 = time.perf_counter()
        self.program = get_scheduler()(fgraph)
        link = getattr(self.mode, "link", None)  # a checking mode may wrap the executable
        self.executable = link(self, self.backend, self.program) if link is not None else \
            self.backend.link(self.program)
        self.compile_time = {"optimize": t1 - t0, "link": time.perf_counter() - t1}

    def create(self, containers=None):
        return Function(self, containers)


class Function:
    """A compiled function: call it with the input values (positionally or by name).

    The call path does no graph work and builds no dictionaries: everything
    it needs (input types and checks, shared containers, which outputs must be
    copied so results never alias inputs, shared values or each other, where
    updates go) is computed once in `_prepare_call`. Measured for f = x + 1 on
    a 10-element float64 vector (timeit, 2-core dev box): this Python path
    adds about 0.3-0.6 us to the executable's own time; graphrt-cpu replaces
    the positional path with its C fast call (`make_fast_call`).
    """

    def __init__(self, maker, containers=None):
        self.maker = maker
        self.name = maker.spec.get("name")
        self.trust_input = False
        self._exe = maker.executable
        ins = maker.inputs
        self._n_explicit = len(ins)
        self._types = [i.variable.type for i in ins]
        self._strict = [i.strict for i in ins]
        self._downcast = [i.allow_downcast for i in ins]
        self._names = {}
        for k, i in enumerate(ins):
            if i.name is not None and i.name not in self._names:
                self._names[i.name] = k
        self._labels = [i.name if i.name is not None else f"#{k}" for k, i in enumerate(ins)]
        # fast path only for tensors whose shape is fully unknown; everything else goes through filter
        self._free_shape = [hasattr(t, "shape") and all(s is None for s in t.shape) for t in self._types]
        # Inputs with a default keep their value in a container (shared by name with In(value=))
        self._containers = [None if i.value is None else Container(None) for i in ins]
        for k, i in enumerate(ins):
            if containers is not None and containers[k] is not None:
                self._containers[k] = containers[k]  # given by copy() or unpickling
            elif i.value is not None:
                self._containers[k].value = self._types[k].filter(
                    i.value, strict=i.strict, allow_downcast=i.allow_downcast, name=self._labels[k])
        self._shared_containers = [s.container for s in maker.implicit_shared]
        n_out = len(maker.outputs)
        self._n_outputs = n_out
        self._single = maker.spec.get("single_output", False)
        self._no_output = maker.spec.get("no_output", False)
        self._updates = []
        for k, (target, _) in enumerate(maker.updates):
            if isinstance(target, In):
                container = self._containers[ins.index(target)]
            else:
                container = target.container
            self._updates.append((container, n_out + k))
        need = outputs_needing_copy(maker.fgraph, n_out)
        # shared inputs the program may overwrite (their updates run in place): a call passes
        # a private copy instead when the stored array is read-only or shares memory with
        # another input value, so the overwrite can never reach a value it does not own
        n_in = len(maker.fgraph.inputs)
        destroyable = getattr(maker.fgraph, "destroyable_by_update", ())
        self._destroyed_shared = tuple(
            k for k in sorted(destroyed_input_indices(maker.program)) if k in destroyable
            and self._n_explicit <= k < n_in)
        self._copy_outputs = [k for k in sorted(need) if k < n_out and not maker.outputs[k].borrow]
        self._copy_updates = [k for k in sorted(need) if k >= n_out]
        self.profile = None
        self._prepare_call()

    # -- calling ----------------------------------------------------------
    def _prepare_call(self):
        """Precompute everything __call__ needs so a call does no lookups beyond its arguments."""
        self._in_checks = tuple(
            (k, t, t.numpy_dtype, t.ndim, self._free_shape[k], self._strict[k], self._downcast[k],
             self._labels[k])
            for k, t in enumerate(self._types))
        self._shared_list = tuple(self._shared_containers)
        self._post = bool(self._copy_updates or self._updates or self._copy_outputs)
        self._n_returned = 0 if self._no_output else self._n_outputs
        # a runtime may implement the positional-argument path below natively (graphrt-cpu);
        # not when shared inputs are overwritten: the alias check below is Python's
        make_fast_call = None if self._destroyed_shared else \
            getattr(self._exe, "make_fast_call", None)
        self._fast_call = make_fast_call(self) if make_fast_call is not None else None

    def __call__(self, *args, **kwargs):
        if self._fast_call is not None and not kwargs and len(args) == self._n_explicit:
            return self._fast_call(self, args)
        if kwargs or len(args) != self._n_explicit:
            values = self._bind(args, kwargs)
        else:
            values = list(args)
        if not self.trust_input:
            for k, t, dtype, ndim, free, strict, downcast, label in self._in_checks:
                v = values[k]
                if (type(v) is not _ndarray or (v.dtype is not dtype and v.dtype != dtype)
                        or v.ndim != ndim or not free):
                    values[k] = t.filter(v, strict=strict, allow_downcast=downcast, name=label)
        for c in self._shared_list:
            values.append(c.value)
        if self._destroyed_shared:
            _private_destroyed(values, self._destroyed_shared)
        outs = self._exe(values)
        if self._post:
            for k in self._copy_updates:
                outs[k] = outs[k].copy()
            for container, k in self._updates:
                container.value = outs[k]
            for k in self._copy_outputs:
                outs[k] = outs[k].copy()
        if self._single:
            return outs[0]
        if len(outs) != self._n_returned:
            return outs[: self._n_returned]
        return outs

    def _bind(self, args, kwargs):
        """Positional and keyword arguments -> one value per explicit input (defaults filled in)."""
        n = len(args)
        if n > self._n_explicit:
            raise TypeError(f"{self._what()} takes {self._n_explicit} argument(s), {n} given")
        values = list(args)
        values.extend([_REQUIRED] * (self._n_explicit - n))
        for key, val in kwargs.items():
            k = self._names.get(key)
            if k is None:
                raise TypeError(f"{self._what()} got an unexpected keyword argument {key!r}; "
                                f"its named inputs are {sorted(self._names)}")
            if values[k] is not _REQUIRED:
                raise TypeError(f"{self._what()} got multiple values for argument {key!r}")
            values[k] = val
        for k in range(self._n_explicit):
            if values[k] is _REQUIRED:
                c = self._containers[k]
                if c is None:
                    raise TypeError(f"{self._what()}: missing required input {self._labels[k]} "
                                    f"(position {k}, type {self._types[k]})")
                values[k] = c.value
        return values

    def get_shared(self):
        """The shared variables this function reads or updates (Theano's Function.get_shared)."""
        return list(self.maker.implicit_shared)

    def free(self):
        """Drop intermediate storage (Theano's Function.free); runtimes here keep none between calls."""
        free = getattr(self._exe, "free", None)
        if free is not None:
            free()

    def __repr__(self):
        ins = ", ".join(str(i.variable) for i in self.maker.inputs)
        outs = ", ".join(str(o.variable) for o in self.maker.outputs)
        name = f" {self.name!r}" if self.name else ""
        return (f"<compiled function{name} ({ins}) -> ({outs}) on {self.maker.backend.name}"
                f"{f', {len(self._updates)} update(s)' if self._updates else ''}>")

    def _what(self):
        return f"function {self.name!r}" if self.name else "the compiled function"

    # -- introspection ----------------------------------------------------
    @property
    def fgraph(self):
        return self.maker.fgraph

    @property
    def program(self):
        return self.maker.program

    def debugprint(self, file=None, **kwargs):
        from graphcore.printing import debugprint

        return debugprint(self, file=file, **kwargs)

    def copy(self, share_memory=False, swap=None, delete_updates=False, name=None):
        """A new compiled function computing the same thing (Theano's Function.copy).

        swap: {shared variable: another shared variable of the same type} used
        instead in the copy; delete_updates: the copy applies no updates;
        share_memory: the copy shares the default values of its optional
        inputs (In(value=)) with this function, instead of copies of them.
        """
        from graphcore.compile.sharedvalue import SharedVariable
        from graphcore.graph.replace import clone_replace

        spec = dict(self.maker.spec)
        swap = dict(swap or {})
        used = set(spec["implicit_shared"])
        for old, new in swap.items():
            if not isinstance(old, SharedVariable) or not isinstance(new, SharedVariable):
                raise TypeError(f"{self._what()}.copy: swap must map shared variables to shared "
                                f"variables, got {old!r} -> {new!r}")
            if old not in used:
                raise ValueError(f"{self._what()}.copy: {old} is not a shared variable of this "
                                 "function")
            if old.type != new.type:
                raise TypeError(f"{self._what()}.copy: cannot swap {old} (type {old.type}) for "
                                f"{new} (type {new.type})")
        updates = [] if delete_updates else list(spec["updates"])
        outputs = list(spec["outputs"])
        if swap:
            exprs = clone_replace([o.variable for o in outputs] + [e for _, e in updates],
                                  list(swap.items()))
            outputs = [Out(e, o.borrow) for o, e in zip(outputs, exprs)]
            updates = [(swap.get(t, t) if isinstance(t, SharedVariable) else t, e)
                       for (t, _), e in zip(updates, exprs[len(outputs):])]
        implicit = [swap.get(v, v) for v in spec["implicit_shared"]]
        spec.update(outputs=outputs, updates=updates, implicit_shared=implicit,
                    name=name if name is not None else spec.get("name"))
        containers = [c if (c is None or share_memory) else Container(copy.deepcopy(c.value))
                      for c in self._containers]
        f = function_from_spec(spec, containers)
        f.trust_input = self.trust_input
        return f

    def __getitem__(self, name):
        """The current default value of a named input (Theano's f['x'])."""
        k = self._names[name]
        c = self._containers[k]
        return None if c is None else c.value

    def __setitem__(self, name, value):
        k = self._names[name]
        if self._containers[k] is None:
            self._containers[k] = Container(None)
        self._containers[k].value = self._types[k].filter(value, name=name)

    # -- pickling: re-compiled (re-linked) on load -------------------------
    def __reduce__(self):
        defaults = [None if c is None else c.value for c in self._containers]
        return (_unpickle_function, (self.maker.spec, defaults, self.trust_input))


def destroyed_input_indices(program):
    """Positions of the graph inputs that some instruction of `program` overwrites."""
    slot_to_input = {s: k for k, s in enumerate(program.inputs)}
    out = set()
    for ins in program.instructions:
        if ins.kind != "apply":
            continue
        for i in ins.inplace.values():
            k = slot_to_input.get(ins.inputs[i])
            if k is not None:
                out.add(k)
    return out


def _private_destroyed(values, destroyed):
    """Replace each value at a `destroyed` position by a copy when overwriting it could change
    anything else: it is read-only, or it shares memory with another input value (a shared
    variable set with borrow=True from another one's array, or passed as an argument too)."""
    for k in destroyed:
        v = values[k]
        if not isinstance(v, _ndarray):
            continue
        if type(v) is not _ndarray or not v.flags.writeable:  # a memmap, or read-only
            values[k] = np.array(v)
            continue
        for j, w in enumerate(values):
            if j != k and isinstance(w, _ndarray) and np.may_share_memory(v, w):
                values[k] = v.copy()
                break


def _unpickle_function(spec, defaults, trust_input):
    f = function_from_spec(spec)
    for k, value in enumerate(defaults):
        if value is not None:
            f._containers[k].value = value
    f.trust_input = trust_input
    return f


def function_from_spec(spec, containers=None):
    maker = FunctionMaker(spec["inputs"], spec["outputs"], spec["updates"], spec["implicit_shared"],
                          spec["mode"], spec)
    return maker.create(containers)
