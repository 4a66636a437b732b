"""Function (the compiled callable) and FunctionMaker (graph -> optimized Program -> executable)."""

from __future__ import annotations

import copy
import threading
import time
import weakref

import numpy as np

from graphcore.compile.aliasing import outputs_needing_copy
from graphcore.compile.call_plan import CallPlan, InputCheck, check_exact, shared_check
from graphcore.compile.containers import ContainerView, ValueView, find_container, named_inputs_info
from graphcore.compile.io import In, Out
from graphcore.compile.mode import get_mode
from graphcore.compile.op_plugins import load_op_plugins
from graphcore.compile.profiling import ProfileStats
from graphcore.compile.scheduler import get_scheduler
from graphcore.gc_pause import paused_gc
from graphcore.graph.fg import FunctionGraph
from graphcore.graph.hooks import debugprint as debugprint_hook
from graphcore.graph.replace import clone_replace
from graphcore.graph.shared import Container, SharedVariable

_REQUIRED = object()
_ndarray = np.ndarray


class FunctionMaker:
    """Builds the FunctionGraph, optimizes it for a backend, schedules and links it."""

    @paused_gc()  # clone + optimize + schedule + link allocate objects that all live on
    def __init__(self, inputs, outputs, updates, implicit_shared, mode, spec):
        self._set_signature(inputs, outputs, updates, implicit_shared, mode, spec)
        t0 = time.perf_counter()
        self.backend = self.mode.backend()
        graph_inputs = [i.variable for i in inputs] + list(implicit_shared)
        graph_outputs = [o.variable for o in outputs] + [expr for _, expr in updates]
        update_mapping = {}
        for k, (target, _) in enumerate(updates):
            pos = (graph_inputs.index(target.variable) if isinstance(target, In)
                   else graph_inputs.index(target))
            update_mapping[len(outputs) + k] = pos
        mutable = {k for k, i in enumerate(inputs) if i.mutable}
        # a shared variable's buffer may be overwritten by the nodes computing its own update
        # (Theano's destructive updates; graphopt's inplace pass proves each case safe); an
        # explicit input is overwritten only when it is In(mutable=True)
        fgraph = FunctionGraph(
            graph_inputs, graph_outputs, clone=True, update_mapping=update_mapping,
            mutable_inputs=mutable, protected_inputs=set(range(len(graph_inputs))) - mutable,
            destroyable_by_update={j for j in update_mapping.values() if j >= len(inputs)},
            backend=self.backend)
        self.fgraph = fgraph
        # a checking mode (DebugMode) keeps the graph as written, to compare against
        self.original_fgraph = fgraph.clone() if getattr(self.mode, "keeps_original", False) \
            else None
        self.optimizer_profile = self.mode.optimize(fgraph, self.backend)
        t1 = time.perf_counter()
        self.program = get_scheduler()(fgraph)
        self._link(t0, t1)

    @classmethod
    @paused_gc()
    def from_optimized(cls, inputs, outputs, updates, implicit_shared, mode, spec, *, fgraph,
                       program, backend):
        """Link an already optimized `fgraph` and its scheduled `program` with `backend`: no
        rewrite runs (graphcore.dask re-links a shipped function this way on each worker).

        The arguments are the fields of another maker built for `backend` (e.g. unpickled);
        `fgraph` is adopted, not cloned, and is attached to `backend`.
        """
        self = cls.__new__(cls)
        self._set_signature(inputs, outputs, updates, implicit_shared, mode, spec)
        self.backend = backend
        fgraph.backend = backend
        self.fgraph = fgraph
        self.original_fgraph = None
        self.optimizer_profile = {}
        self.program = program
        now = time.perf_counter()
        self._link(now, now)
        return self

    def _set_signature(self, inputs, outputs, updates, implicit_shared, mode, spec):
        self.inputs = inputs  # list of In (explicit)
        self.outputs = outputs  # list of Out
        self.updates = updates  # list of (target, expr): target is a SharedVariable or an In
        self.implicit_shared = implicit_shared  # shared variables read but not given as inputs
        self.mode = get_mode(mode)
        self.spec = spec
        load_op_plugins()

    def _link(self, t0, t1):
        """Link the Program; compile_time counts [t0, t1) as optimizing, the rest as linking."""
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
    updates go) is computed once into `call_plan` (a `CallPlan`). Measured for
    f = x + 1 on a 10-element float64 vector (timeit, 2-core dev box): this
    Python path adds about 0.3-0.6 us to the executable's own time. A runtime
    may run the plan natively: when the executable has `make_fast_call(plan)`,
    its result is installed with `set_fast_call` (graphrt-cpu does this).
    """

    def __init__(self, maker, containers=None):
        self.maker = maker
        self.name = maker.spec.get("name")
        self._exe = maker.executable
        ins = maker.inputs
        self._n_explicit = len(ins)
        self._types = [i.variable.type for i in ins]
        self._names = {}
        for k, i in enumerate(ins):
            if i.name is not None and i.name not in self._names:
                self._names[i.name] = k
        self._labels = [i.name if i.name is not None else f"#{k}" for k, i in enumerate(ins)]
        # Inputs with a default keep their value in a container: In(value=Container) shares
        # another function's; a required input gets one only when asked (f.container[x])
        self._required = [i.value is None for i in ins]
        self._implicit = [bool(i.implicit) for i in ins]
        self._bind_always = any(self._implicit)  # every call checks what it was given
        self._containers = [None] * len(ins)
        for k, i in enumerate(ins):
            if containers is not None and containers[k] is not None:
                self._containers[k] = containers[k]  # given by copy() or unpickling
            elif isinstance(i.value, Container):
                self._containers[k] = i.value
            elif i.value is not None:
                self._containers[k] = Container(self._types[k].filter(
                    i.value, strict=i.strict, allow_downcast=i.allow_downcast, name=self._labels[k]))
        self._updates = []
        n_out = len(maker.outputs)
        self._n_outputs = n_out
        for k, (target, _) in enumerate(maker.updates):
            if isinstance(target, In):
                container = self._containers[ins.index(target)]
            else:
                container = target.container
            self._updates.append((container, n_out + k))
        self.profile = None
        self.fast_call = None
        self.call_plan = self._make_call_plan()
        # a runtime may run the plan natively (graphrt-cpu); not when shared inputs are
        # overwritten: making them private (_private_destroyed) is Python's
        # nor when an input is implicit (a positional argument may not reach it: Python checks)
        make_fast_call = None if self.call_plan.destroyed_shared or any(self._implicit) else \
            getattr(self._exe, "make_fast_call", None)
        if make_fast_call is not None:
            fast = make_fast_call(self.call_plan)
            if fast is not None:
                self.set_fast_call(fast)
        self.output_keys = maker.spec.get("output_keys")  # outputs given as a dict
        if self.output_keys is not None:
            self.set_fast_call(_dict_call(self.output_keys, self.fast_call or
                                          self.call_plan.fallback))

    # -- calling ----------------------------------------------------------
    def _make_call_plan(self):
        """The CallPlan of this function: everything a call does, decided once."""
        maker = self.maker
        ins = maker.inputs
        n_out = len(maker.outputs)
        checks = []
        for k, (i, t) in enumerate(zip(ins, self._types)):
            # fast path only for tensors whose shape is fully unknown; the rest go through filter
            free = hasattr(t, "shape") and all(s is None for s in t.shape)
            checks.append(InputCheck(k, t, t.numpy_dtype, t.ndim, free, i.strict, i.allow_downcast,
                                     self._labels[k]))
        need = outputs_needing_copy(maker.fgraph, n_out)
        # shared inputs the program may overwrite (their updates run in place): a call passes
        # a private copy instead when the stored array is read-only or shares memory with
        # another input value, so the overwrite can never reach a value it does not own
        n_in = len(maker.fgraph.inputs)
        destroyable = maker.fgraph.destroyable_by_update
        destroyed = tuple(k for k in sorted(destroyed_input_indices(maker.program))
                          if k in destroyable and self._n_explicit <= k < n_in)
        ref = weakref.ref(self)
        python_call = type(self).__call__  # the Python path (before set_fast_call)

        def fallback(*args, **kwargs):
            return python_call(ref(), *args, **kwargs)

        return CallPlan(
            checks, [s.container for s in maker.implicit_shared], self._updates,
            copy_updates=[k for k in sorted(need) if k >= n_out],
            copy_outputs=[k for k in sorted(need) if k < n_out and not maker.outputs[k].borrow],
            n_returned=0 if maker.spec.get("no_output", False) else n_out,
            single=maker.spec.get("single_output", False), destroyed_shared=destroyed,
            fallback=fallback,
            shared_checks=[shared_check(self._n_explicit + j, s)
                           for j, s in enumerate(maker.implicit_shared)],
            # calls that update shared state are serialized (two threads updating one shared
            # variable would lose updates); uncontended, it costs well under a microsecond
            lock=threading.Lock() if self._updates else None)

    @property
    def trust_input(self):
        """Skip the argument checks and conversions (the caller passes exact ndarrays)."""
        return self.call_plan.trust_input

    @trust_input.setter
    def trust_input(self, value):
        self.call_plan.trust_input = bool(value)

    @property
    def executable(self):
        """What the backend's `link` returned for this function's Program."""
        return self._exe

    def set_fast_call(self, call):
        """Make every call `f(*args, **kwargs)` of this function run `call(*args, **kwargs)`.

        `call` (a runtime's native call path, built from `self.call_plan`)
        must give the results and errors of `Function.__call__`; it passes the
        calls it does not handle to `self.call_plan.fallback`. None restores
        the Python path. This function gets a class of its own whose
        `__call__` is `call`, so a call goes straight to it (no Python frame);
        the class drops `call` when the function is garbage-collected.
        """
        base = type(self).__mro__[1] if getattr(type(self), "_fast_call_class", False) \
            else type(self)
        self.fast_call = call
        if call is None:
            self.__class__ = base
            return
        if hasattr(type(call), "__get__"):  # a Python function would be bound to the instance
            call = staticmethod(call)
        cls = type(base.__name__, (base,), {
            "__call__": call, "__module__": base.__module__, "__qualname__": base.__qualname__,
            "__doc__": base.__doc__, "_fast_call_class": True})
        # the class outlives the function until the cycle collector runs: release `call` (and
        # the runtime state it holds) as soon as the function goes
        cls._release = weakref.ref(self, lambda _, cls=cls: delattr(cls, "__call__"))
        self.__class__ = cls

    def __call__(self, *args, **kwargs):
        lock = self.call_plan.lock
        if lock is None:
            return self._call(args, kwargs)
        with lock:
            return self._call(args, kwargs)

    def _call(self, args, kwargs):
        plan = self.call_plan
        if kwargs or len(args) != self._n_explicit or self._bind_always:
            values = self._bind(args, kwargs)
        else:
            values = list(args)
        trusted = plan.trust_input
        for check in plan.input_checks:
            k, t, dtype, ndim, free, strict, downcast, label = check
            v = values[k]
            if (type(v) is not _ndarray or (v.dtype is not dtype and v.dtype != dtype)
                    or v.ndim != ndim or not free):
                if trusted:  # no conversion, but what the kernels rely on is still checked
                    check_exact(check, v)
                else:
                    values[k] = t.filter(v, strict=strict, allow_downcast=downcast, name=label)
        for c, check in zip(plan.shared_containers, plan.shared_checks):
            v = c.value
            if check is not None and (type(v) is not _ndarray or v.ndim != check.ndim or (
                    v.dtype is not check.dtype and v.dtype != check.dtype)):
                check_exact(check, v, "the value of")
            values.append(v)
        if plan.destroyed_shared:
            _private_destroyed(values, plan.destroyed_shared)
        return plan.finish(self._exe(values))

    def _bind(self, args, kwargs):
        """Positional and keyword arguments -> one value per explicit input (defaults filled in)."""
        n = len(args)
        if n > self._n_explicit:
            raise TypeError(f"{self._what()} takes {self._n_explicit} argument(s), {n} given")
        values = list(args)
        values.extend([_REQUIRED] * (self._n_explicit - n))
        for key, val in kwargs.items():
            k = self._names.get(key)
            if k is None:  # Theano's words
                named = [i.name for i in self.maker.inputs if i.name is not None]
                raise TypeError(f"Unknown input or state: {key}. "
                                f"{named_inputs_info(named, self._n_explicit - len(named))}")
            if values[k] is not _REQUIRED:
                raise TypeError(f"{self._what()} got multiple values for argument {key!r}")
            values[k] = val
        for k in range(self._n_explicit):
            if values[k] is _REQUIRED:
                if self._required[k]:
                    name = self.maker.inputs[k].name
                    raise TypeError(f"Missing required input: {name}" if name is not None else
                                    f"Missing required input: {self.maker.inputs[k].variable} "
                                    f"(position {k}, unnamed, type {self._types[k]})")
                values[k] = self._containers[k].value
            elif self._implicit[k]:
                raise TypeError(f"Tried to provide value for implicit input: {self._labels[k]} "
                                "(In(implicit=True): the function reads it from its container)")
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
        # graphcore.printing (a layer above) registers the printer
        return debugprint_hook(self, file=file, **kwargs)

    def copy(self, share_memory=False, swap=None, delete_updates=False, name=None, profile=None):
        """A new compiled function computing the same thing (Theano's Function.copy).

        share_memory: the copy runs this function's executable (its compiled
        Program and whatever the runtime keeps between calls: Theano's shared
        intermediate storage) instead of a newly compiled one, so two copies
        must not run at the same time from two threads; with swap or
        delete_updates the graph differs, and the copy is compiled anew.
        swap: {shared variable: another shared variable of the same type} used
        instead in the copy (the user's graph is unchanged); delete_updates:
        the copy applies no updates (neither updates= nor In(update=)); name:
        the copy's name (default: this name + " copy"); profile: profile the copy.
        Either way the copy has input containers of its own, starting from
        this function's current values (the same objects; copies for
        In(mutable=True)); a Container given as In(value=) stays shared, and
        so do the shared variables that are not swapped.
        """
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
        if name is None and self.name:
            name = f"{self.name} copy"
        containers = []
        for k, (i, c) in enumerate(zip(self.maker.inputs, self._containers)):
            if c is None or self._required[k] or isinstance(i.value, Container):
                containers.append(None if self._required[k] else c)
            else:
                containers.append(Container(copy.deepcopy(c.value) if i.mutable else c.value))
        if share_memory and not swap and not delete_updates:
            f = self.maker.create(containers)
            f.name = name
        else:
            updates = [] if delete_updates else list(spec["updates"])
            outputs = list(spec["outputs"])
            if swap:
                exprs = clone_replace([o.variable for o in outputs] + [e for _, e in updates],
                                      list(swap.items()))
                outputs = [Out(e, o.borrow) for o, e in zip(outputs, exprs)]
                updates = [(swap.get(t, t) if isinstance(t, SharedVariable) else t, e)
                           for (t, _), e in zip(updates, exprs[len(outputs):])]
            implicit = [swap.get(v, v) for v in spec["implicit_shared"]]
            spec.update(outputs=outputs, updates=updates, implicit_shared=implicit, name=name)
            f = function_from_spec(spec, containers)
        f.trust_input = self.trust_input
        if profile:
            f.profile = ProfileStats(f)
        return f

    # -- Theano's container interface (doc/library/compile/io.txt) ----------
    @property
    def input_names(self):
        """{name: position} of the inputs that can be passed by keyword."""
        return self._names

    def input_container(self, k):
        """The Container holding input k's stored value (made on first use for a required
        input, which stays required: a call must still pass it)."""
        if self._containers[k] is None:
            self._containers[k] = Container(None)
        return self._containers[k]

    @property
    def value(self):
        """`f.value[key]`: the stored value of an input (by position, name or Variable) or of
        a shared variable the function reads; assignable."""
        return ValueView(self)

    @property
    def container(self):
        """`f.container[key]`: the Container behind `f.value[key]` (to share it with another
        function through `In(x, value=f.container[x])`)."""
        return ContainerView(self)

    def __getitem__(self, key):
        """The stored value of an input or shared variable (Theano's f['x'], f[x], f[0])."""
        return find_container(self, key).value

    def __setitem__(self, key, value):
        """Set the stored value (the default of an optional input, the state of an updated
        one, a shared variable's value), converted to the input's type."""
        c = find_container(self, key)
        k = next((k for k, ic in enumerate(self._containers) if ic is c), None)
        if k is None:  # a shared variable's container
            next(s for s in self.maker.implicit_shared if s.container is c).set_value(value)
            return
        i = self.maker.inputs[k]
        c.value = self._types[k].filter(value, strict=i.strict, allow_downcast=i.allow_downcast,
                                        name=self._labels[k])

    def __copy__(self):
        return self.copy()

    # -- pickling: re-compiled (re-linked) on load -------------------------
    def __reduce__(self):
        defaults = [None if c is None or required else c.value  # a required input's value
                    for c, required in zip(self._containers, self._required)]  # is not kept
        return (_unpickle_function, (self.maker.spec, defaults, self.trust_input))


def _dict_call(keys, call):
    """A call returning {key: output} (function() was given a dict of outputs)."""
    def dict_call(*args, **kwargs):
        return dict(zip(keys, call(*args, **kwargs)))

    return dict_call


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


def restore_function_state(f, defaults, trust_input):
    """Give the freshly compiled `f` the saved values of its inputs' containers (None: keep its
    own) and its trust_input flag: what unpickling and graphcore.dask's loading restore."""
    for k, value in enumerate(defaults):
        if value is not None:
            f._containers[k].value = value
    f.trust_input = trust_input
    return f


def _unpickle_function(spec, defaults, trust_input):
    return restore_function_state(function_from_spec(spec), defaults, trust_input)


def function_from_spec(spec, containers=None):
    maker = FunctionMaker(spec["inputs"], spec["outputs"], spec["updates"], spec["implicit_shared"],
                          spec["mode"], spec)
    return maker.create(containers)
