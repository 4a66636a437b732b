# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The graphrt-cpu virtual machine (native part).

`VM` runs a lowered Program: an array of C instruction records (kernel,
input/output/freed register indices, jump targets) interpreted by a loop in
C. A kernel is a `Kernel` object whose `run` is a C function (a vtable slot);
ops without a native kernel run through `PerformKernel`, which calls the op's
NumPy `perform` with exactly the python backend's semantics and checks.

Buffers: every array a native kernel allocates comes from the VM's pool
(keyed by dtype and shape). A pooled array is free when the pool holds its
only reference, so a register freed earlier in a call, or an output of an
earlier call the caller dropped, serves the next request; arrays the caller
still holds (returned outputs, shared-variable values) are never handed out.

This file holds the VM itself (registers, instruction records, the loop, the buffer pool, the
fast call path, profiling); the native kernels are `include`d from one .pxi per family
(kernels_elemwise, kernels_views, kernels_reduce, kernels_blas, kernels_nnet,
kernels_indexing, plugin_kernel) and compile with it as one module.
"""

from cpython.object cimport PyObject
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.tuple cimport PyTuple_GET_SIZE
from cpython.dict cimport PyDict_Size
from cpython.object cimport PyTypeObject, ternaryfunc
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_GetName
from libc.stdlib cimport malloc, free, calloc
from libc.string cimport memset, memcpy
from cpython.pythread cimport (PyThread_type_lock, PyThread_allocate_lock, PyThread_free_lock,
                               PyThread_acquire_lock, PyThread_release_lock, NOWAIT_LOCK,
                               WAIT_LOCK)

cimport numpy as cnp
import numpy as np

cnp.import_array()

from graphcore.backends.interpreter import RegisterLayout, allocated_outputs, record_outputs
from graphcore.backends.undo import back_up, restore, undo_plan
from graphcore.compile.call_plan import check_exact
from graphcore.graph.trace import reraise_with_node_info


cdef extern from "Python.h":
    Py_ssize_t Py_REFCNT(PyObject *o)
    void Py_INCREF(PyObject *o)

cdef extern from "numpy/arrayobject.h":
    # both steal a reference: descr, and base
    object _new_from_descr "PyArray_NewFromDescr"(void *subtype, void *descr, int nd,
                                                   cnp.npy_intp *dims, cnp.npy_intp *strides,
                                                   void *data, int flags, PyObject *obj)
    int _set_base "PyArray_SetBaseObject"(void *arr, PyObject *base) except -1

# limits and mode numbers from kernel_constants.py (generated header; see tools/gen_kernels.py)
cdef extern from "constants_generated.h":
    enum:
        GRC_MAX_NDIM
        GRC_MAX_OPERANDS
        GRC_MAX_REGISTERS
        GRC_SOFTMAX
        GRC_LOG_SOFTMAX
        GRC_SOFTMAX_GRAD
        GRC_LOG_SOFTMAX_GRAD

MAX_NDIM = GRC_MAX_NDIM
MAX_OPERANDS = GRC_MAX_OPERANDS
MAX_REGISTERS = GRC_MAX_REGISTERS

cdef extern from "<time.h>" nogil:
    ctypedef long time_t
    cdef struct timespec:
        time_t tv_sec
        long tv_nsec
    int clock_gettime(int clk, timespec *ts)
    int CLOCK_MONOTONIC


def _describe(v):
    if isinstance(v, np.ndarray):
        return f"an ndarray of dtype {v.dtype} and shape {v.shape}"
    return f"a {type(v).__name__}"


cdef inline double _now() nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


# ---------------------------------------------------------------------------------------------
# instructions and the loop

cdef enum:
    K_APPLY = 0
    K_JUMP = 1
    K_JUMP_UNLESS = 2


cdef struct CInstr:
    int kind
    int nin, nout, nfree
    int *ins
    int *outs
    int *frees
    int target
    int cond
    int backup  # back up input buffers (VM.undo) before running: see graphcore.backends.undo
    PyObject *kernel


cdef class Kernel:
    """How one instruction runs: reads its input registers and stores its output registers."""

    cdef public object node
    cdef public str label

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        raise NotImplementedError(f"{type(self).__name__}.run")


cdef class PerformKernel(Kernel):
    """The fallback: the op's NumPy `perform`, with the python backend's output checks."""

    cdef object perform
    cdef object checks
    cdef object check_outputs

    def __init__(self, node, checks, check_outputs):
        self.node = node
        self.perform = node.op.perform
        self.checks = checks
        self.check_outputs = check_outputs
        self.label = "perform"

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef int k
        args = [regs[ci.ins[k]] for k in range(ci.nin)]
        cells = [[None] for k in range(ci.nout)]
        self.perform(self.node, args, cells)
        if self.checks is not None:
            for k in range(ci.nout):
                dtype, ndim, static = self.checks[k]
                v = cells[k][0]
                if type(v) is not np.ndarray or v.dtype != dtype or v.ndim != ndim or (
                        static is not None and any(w is not None and w != g
                                                   for w, g in zip(static, v.shape))):
                    self.check_outputs(self.node, cells)
        for k in range(ci.nout):
            regs[ci.outs[k]] = cells[k][0]
        return 0


cdef class PyKernel(Kernel):
    """A kernel written in Python: `fn(vm, inputs) -> list of outputs` (used by hooks such as
    an inner-Program loop); it may call `vm.alloc(shape, dtype)` for pooled buffers."""

    cdef object fn

    def __init__(self, node, fn, label="python"):
        self.node = node
        self.fn = fn
        self.label = label

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef int k
        outs = self.fn(vm, [regs[ci.ins[k]] for k in range(ci.nin)])
        for k in range(ci.nout):
            regs[ci.outs[k]] = outs[k]
        return 0


cdef class VM:
    """Executes a lowered Program: ``vm(input_values) -> output values`` (lists, Program order)."""

    cdef CInstr *code
    cdef int ncode
    cdef int nslots
    cdef list kernels
    cdef list tail
    cdef list template
    cdef tuple input_slots
    cdef tuple output_slots
    cdef bint inputs_first
    cdef int single_out
    cdef dict pool
    cdef Py_ssize_t pool_size
    cdef Py_ssize_t pool_limit
    cdef object profile
    cdef list allocated  # while profiling: per instruction, its outputs that hold new memory
    cdef dict undo
    cdef public int nthreads  # threads of the native loops; 0: the process default (set_num_threads)
    cdef public object program

    def __cinit__(self):
        self.code = NULL
        self.ncode = 0

    def __init__(self, program, steps, int pool_limit=64):
        """steps: per instruction, ("apply", kernel, ins, outs, frees) | ("jump", target) |
        ("jump_unless", cond, target)."""
        cdef int k, j
        cdef CInstr *ci
        self.program = program
        self.nslots = program.nslots
        self.kernels = []
        layout = RegisterLayout(program)  # the python backend's register layout, in C fields
        self.input_slots = layout.input_slots
        self.output_slots = layout.output_slots
        self.inputs_first = layout.inputs_first
        self.template = layout.template
        self.tail = layout.tail
        self.single_out = layout.single_out
        self.pool = {}
        self.pool_size = 0
        self.pool_limit = pool_limit
        self.profile = None
        self.nthreads = 0
        self.ncode = len(steps)
        self.code = <CInstr *>calloc(max(1, self.ncode), sizeof(CInstr))
        if self.code == NULL:
            raise MemoryError()
        for k, step in enumerate(steps):
            ci = &self.code[k]
            kind = step[0]
            if kind == "apply":
                _, kernel, ins, outs, frees = step
                ci.kind = K_APPLY
                self.kernels.append(kernel)
                ci.kernel = <PyObject *>kernel
                ci.nin, ci.nout, ci.nfree = len(ins), len(outs), len(frees)
                ci.ins = _int_array(ins)
                ci.outs = _int_array(outs)
                ci.frees = _int_array(frees)
            elif kind == "jump":
                ci.kind = K_JUMP
                ci.target = step[1]
            elif kind == "jump_unless":
                ci.kind = K_JUMP_UNLESS
                ci.cond = step[1]
                ci.target = step[2]
            else:
                raise ValueError(f"graphrt-cpu VM: unknown instruction kind {kind!r}")
        # a failed call leaves the inputs it overwrites as they were (graphcore.backends.undo)
        self.undo = undo_plan(program)
        if self.undo is not None:
            for k in self.undo:
                self.code[k].backup = 1

    def __dealloc__(self):
        _free_code(self.code, self.ncode)

    # -- running ------------------------------------------------------------------------
    def __call__(self, input_values):
        return self.run(input_values)

    cpdef list run(self, list input_values):
        cdef list regs
        cdef int pc = 0, j
        cdef CInstr *ci
        cdef Kernel kernel
        if self.inputs_first:
            regs = input_values + self.tail
        else:
            regs = list(self.template)
            for j in range(len(self.input_slots)):
                regs[<int>self.input_slots[j]] = input_values[j]
        return self._exec(regs)

    cdef list _exec(self, list regs):
        """Run the program on a full register list (inputs and constants in place)."""
        cdef int j
        self._run_regs(regs)
        if self.single_out >= 0:
            return [regs[self.single_out]]
        return [regs[j] for j in self.output_slots]

    cdef int _run_regs(self, list regs) except -1:
        """Run the program on a full register list; the outputs are left in their registers.
        While profiling, each instruction's time, call and live bytes are recorded too (the
        same loop: one predictable branch per instruction when not profiling)."""
        cdef int pc = 0, j
        cdef CInstr *ci
        cdef Kernel kernel
        cdef bint profiling = self.profile is not None
        cdef double t_call = 0.0, t0 = 0.0
        cdef list saved = None
        if profiling:
            t_call = _now()
        while pc < self.ncode:
            ci = &self.code[pc]
            if ci.kind == K_APPLY:
                kernel = <Kernel>ci.kernel
                if ci.backup:
                    if saved is None:
                        saved = []
                    back_up(saved, regs, self.undo[pc])
                if profiling:
                    t0 = _now()
                try:
                    kernel.run(self, regs, ci)
                except BaseException as exc:
                    if saved is not None:
                        restore(saved)
                    if not isinstance(exc, Exception):
                        raise
                    self._reraise(ci, regs, exc)
                if profiling:
                    self._record(pc, ci, regs, _now() - t0)
                for j in range(ci.nfree):
                    regs[ci.frees[j]] = None
                pc += 1
            elif ci.kind == K_JUMP:
                pc = ci.target
            else:
                pc = pc + 1 if regs[ci.cond] else ci.target
        if profiling:
            self.profile.ncalls += 1
            self.profile.total_time += _now() - t_call
        return 0

    cdef int _reraise(self, CInstr *ci, list regs, exc) except -1:
        cdef int k
        kernel = <Kernel>ci.kernel
        args = [regs[ci.ins[k]] for k in range(ci.nin)]
        reraise_with_node_info(kernel.node, args, exc)
        return -1

    cdef int _record(self, int pc, CInstr *ci, list regs, double elapsed) except -1:
        """Profiling: instruction `pc` ran in `elapsed` seconds (before its registers are freed):
        its time, calls, the live bytes after it and the bytes of the outputs it allocated."""
        cdef int j
        prof = self.profile
        prof.times[pc] += elapsed
        prof.calls[pc] += 1
        live = _live_bytes(regs)
        if live > prof.peaks[pc]:
            prof.peaks[pc] = live
        record_outputs(prof, pc, [regs[ci.outs[j]] for j in range(ci.nout)], self.allocated[pc])
        return 0

    # -- profiling ----------------------------------------------------------------------
    def enable_profile(self, stats):
        """Record per-instruction time, calls, peak live bytes and output bytes into `stats`
        (None: stop).

        `stats` gets `labels` (one per instruction) and zeroed `times`, `calls`, `peaks`,
        `out_bytes` lists (and `out_shapes`: see graphcore.backends.interpreter.record_outputs).
        """
        if stats is None:
            self.profile = None
            return
        labels = []
        for k in range(self.ncode):
            if self.code[k].kind == K_APPLY:
                kernel = <Kernel>self.code[k].kernel
                labels.append((str(kernel.node.op), kernel.label))
            elif self.code[k].kind == K_JUMP:
                labels.append(("jump", "vm"))
            else:
                labels.append(("jump_unless", "vm"))
        stats.labels = labels
        stats.times = [0.0] * self.ncode
        stats.calls = [0] * self.ncode
        stats.peaks = [0] * self.ncode
        stats.out_bytes = [0] * self.ncode
        stats.out_shapes = [()] * self.ncode
        self.allocated = [allocated_outputs(ins) if ins.kind == "apply" else ()
                          for ins in self.program.instructions]
        stats.ncalls = 0
        stats.total_time = 0.0
        self.profile = stats

    def make_fast_call(self, plan):
        """The call of a compiled function in C, from its `graphcore.compile.CallPlan` (see
        FastCall); graphcore's Function installs it with `set_fast_call`."""
        return FastCall(self, plan)

    def kernel_labels(self):
        """(op, kernel kind) per instruction: which run natively and which fall back."""
        out = []
        for k in range(self.ncode):
            if self.code[k].kind == K_APPLY:
                kernel = <Kernel>self.code[k].kernel
                out.append((str(kernel.node.op), kernel.label))
            else:
                out.append(("jump", "vm"))
        return out

    # -- buffers ------------------------------------------------------------------------
    def alloc(self, shape, dtype):
        """A pooled, uninitialised array of `shape` and `dtype` that nothing else references."""
        cdef cnp.npy_intp dims[GRC_MAX_NDIM]
        shape = tuple(shape)
        for k in range(len(shape)):
            dims[k] = shape[k]
        return vm_alloc(self, len(shape), dims, np.dtype(dtype).num)

    def pool_stats(self):
        """(pooled arrays, pooled bytes) held for reuse."""
        n = 0
        nbytes = 0
        for lst in self.pool.values():
            for a in lst:
                n += 1
                nbytes += a.nbytes
        return n, nbytes


cdef inline object _arr(list regs, int idx):
    """Register `idx` as an ndarray (native kernels read raw memory: anything else is an error,
    e.g. a non-array passed with trust_input=True)."""
    cdef PyObject *o = <PyObject *>PyList_GET_ITEM(regs, idx)
    if not cnp.PyArray_Check(<object>o):
        raise TypeError(f"graphrt-cpu: expected an ndarray, got {type(<object>o).__name__}")
    return <object>o


cdef inline int _same_type(node, int typenum, list arrays) except -1:
    """Raise a TypeError unless every array has dtype number `typenum`."""
    for a in arrays:
        if cnp.PyArray_TYPE(<cnp.ndarray>a) != typenum:
            raise TypeError(f"{node.op}: got {_describe(a)}, expected dtype {np.dtype(typenum_dtype(typenum))}")
    return 0


cdef int _perform_into(node, list regs, CInstr *ci) except -1:
    """Run the op's reference perform for a case the native kernel does not take (it also
    raises the reference's errors)."""
    cdef int k
    cells = [[None] for k in range(ci.nout)]
    node.op.perform(node, [regs[ci.ins[k]] for k in range(ci.nin)], cells)
    for k in range(ci.nout):
        regs[ci.outs[k]] = cells[k][0]
    return 0


def typenum_dtype(int typenum):
    return cnp.PyArray_DescrFromType(typenum)


cdef int *_int_array(seq) except? NULL:
    cdef int n = len(seq), k
    cdef int *out = <int *>malloc(max(1, n) * sizeof(int))
    if out == NULL:
        raise MemoryError()
    for k in range(n):
        out[k] = seq[k]
    return out


cdef void _free_code(CInstr *code, int n) noexcept:
    """Free an instruction array and the index arrays each record owns."""
    cdef int k
    if code == NULL:
        return
    for k in range(n):
        free(code[k].ins)
        free(code[k].outs)
        free(code[k].frees)
    free(code)


cdef Py_ssize_t _live_bytes(list regs):
    cdef Py_ssize_t total = 0
    seen = set()
    for v in regs:
        if type(v) is np.ndarray:
            base = v
            while isinstance(base, np.ndarray) and base.base is not None:
                base = base.base
            if id(base) not in seen:
                seen.add(id(base))
                total += base.nbytes if isinstance(base, np.ndarray) else 0
    return total


# the pool's keys as Python ints, cached by hash (a call then allocates no int object)
cdef unsigned long long _key_hash[256]
cdef list _key_obj = [None] * 256


cdef inline object _shape_key(int typenum, int nd, cnp.npy_intp *dims):
    """A 30-bit hash of (dtype, shape) as the pool's dict key (one-digit ints hash fast);
    entries are verified on lookup, so collisions only cost a scan."""
    cdef unsigned long long h = 1469598103934665603ULL ^ <unsigned long long>typenum
    cdef int k
    h = (h ^ <unsigned long long>nd) * 1099511628211ULL
    for k in range(nd):
        h = (h ^ <unsigned long long>dims[k]) * 1099511628211ULL
    h = (h ^ (h >> 30) ^ (h >> 60)) & 0x3FFFFFFFULL
    k = <int>(h & 255)
    cdef PyObject *o = <PyObject *>PyList_GET_ITEM(_key_obj, k)
    if _key_hash[k] == h and <object>o is not None:
        return <object>o
    key = <long>h
    _key_obj[k] = key
    _key_hash[k] = h
    return key


cdef inline bint _fits(PyObject *o, int nd, cnp.npy_intp *dims, int typenum):
    cdef cnp.ndarray a = <cnp.ndarray>o
    cdef int k
    if cnp.PyArray_NDIM(a) != nd or cnp.PyArray_TYPE(a) != typenum:
        return False
    for k in range(nd):
        if cnp.PyArray_DIMS(a)[k] != dims[k]:
            return False
    return True


cdef object vm_alloc(VM vm, int nd, cnp.npy_intp *dims, int typenum):
    """A free pooled array of this dtype and shape, or a new one added to the pool."""
    cdef Py_ssize_t i, n
    cdef PyObject *o
    key = _shape_key(typenum, nd, dims)
    lst = vm.pool.get(key)
    if lst is not None:
        n = PyList_GET_SIZE(lst)
        for i in range(n):
            o = <PyObject *>PyList_GET_ITEM(lst, i)
            if Py_REFCNT(o) == 1 and _fits(o, nd, dims, typenum):
                return <object>o
    else:
        lst = []
        vm.pool[key] = lst
    arr = cnp.PyArray_EMPTY(nd, dims, typenum, 0)
    if vm.pool_size >= vm.pool_limit:
        _evict(vm)
        lst = vm.pool.setdefault(key, [])
    lst.append(arr)
    vm.pool_size += 1
    return arr


cdef void _evict(VM vm):
    """Forget pooled arrays that someone else holds (the caller's outputs): they are theirs now."""
    cdef Py_ssize_t size = 0
    for key in list(vm.pool):
        lst = vm.pool[key]
        keep = [a for a in lst if Py_REFCNT(<PyObject *>a) <= 2]  # the pool + this comprehension
        if keep:
            vm.pool[key] = keep
            size += len(keep)
        else:
            del vm.pool[key]
    if size >= vm.pool_limit:  # all free but too many: start over
        vm.pool.clear()
        size = 0
    vm.pool_size = size


# ---------------------------------------------------------------------------------------------
# native kernels, one file per family (included here: one module, one C file)

include "kernels_elemwise.pxi"
include "kernels_views.pxi"
include "kernels_reduce.pxi"
include "kernels_blas.pxi"
include "kernels_nnet.pxi"


# ---------------------------------------------------------------------------------------------
# a compiled function's call in C (graphcore's CallPlan)

cdef class CallLock:
    """The lock serializing the calls of one compiled function with updates (CallPlan.lock),
    taken from C in a few nanoseconds when free; a waiting thread releases the GIL (the
    holder may be running a kernel without it). Usable as `with lock:` and through
    acquire()/release() like threading.Lock."""

    cdef PyThread_type_lock handle

    def __cinit__(self):
        self.handle = PyThread_allocate_lock()
        if self.handle == NULL:
            raise MemoryError()

    def __dealloc__(self):
        if self.handle != NULL:
            PyThread_free_lock(self.handle)

    cdef inline int take(self) except -1:
        if not PyThread_acquire_lock(self.handle, NOWAIT_LOCK):
            with nogil:
                PyThread_acquire_lock(self.handle, WAIT_LOCK)
        return 0

    cdef inline void give(self) noexcept:
        PyThread_release_lock(self.handle)

    def acquire(self, blocking=True):
        if not blocking:
            return bool(PyThread_acquire_lock(self.handle, NOWAIT_LOCK))
        self.take()
        return True

    def release(self):
        self.give()

    def __enter__(self):
        self.take()
        return self

    def __exit__(self, *exc):
        self.give()
        return False


cdef class FastCall:
    """Function.__call__ for positional arguments, in C, as its CallPlan describes it: argument
    checks (conversion through the type's filter only when an argument is not already an
    ndarray of the right dtype and ndim), shared values, the VM run, updates and output copies
    -- the same steps, no Python frame. Keyword calls and other argument counts go to
    `plan.fallback`. Its tp_call slot is `_fast_tp_call` (no kwargs dict per call)."""

    cdef VM vm
    cdef object plan
    cdef object fallback
    cdef int n
    cdef list types
    cdef list dtypes
    cdef int *ndims
    cdef unsigned char *free_shape
    cdef list strict
    cdef list downcast
    cdef list labels
    cdef list checks
    cdef tuple shared
    cdef list shared_checks
    cdef list shared_dtypes
    cdef int *shared_ndims
    cdef object finish
    cdef bint post, single
    cdef CallLock lock

    def __cinit__(self):
        self.ndims = NULL
        self.free_shape = NULL
        self.shared_ndims = NULL

    def __init__(self, VM vm, plan):
        cdef int k
        self.vm = vm
        self.plan = plan
        self.fallback = plan.fallback
        checks = plan.input_checks
        self.n = len(checks)
        self.types = [c.type for c in checks]
        self.dtypes = [np.dtype(c.dtype) for c in checks]
        self.ndims = _int_array([c.ndim for c in checks])
        self.free_shape = <unsigned char *>calloc(max(1, self.n), 1)
        for k in range(self.n):
            self.free_shape[k] = 1 if checks[k].free_shape else 0
        self.strict = [c.strict for c in checks]
        self.downcast = [c.allow_downcast for c in checks]
        self.labels = [c.label for c in checks]
        self.checks = list(checks)
        self.shared = tuple(plan.shared_containers)
        # a shared value must still match its type (a borrowed array reshaped in place would
        # make the kernels read past it): dtype None = not a tensor, unchecked
        self.shared_checks = list(plan.shared_checks)
        self.shared_dtypes = [None if c is None else np.dtype(c.dtype) for c in self.shared_checks]
        self.shared_ndims = _int_array([-1 if c is None else c.ndim for c in self.shared_checks])
        # copies, updates and the result of a plan with post-processing: CallPlan.finish, the
        # one copy of those steps (Function.__call__ ends with it too)
        self.finish = plan.finish
        self.post = bool(plan.post) or len(vm.output_slots) != plan.n_returned
        self.single = bool(plan.single)
        # calls of a function with updates are serialized (CallPlan.lock): by a lock taken in
        # C, which the Python path (fallback) takes too
        self.lock = None
        if getattr(plan, "lock", None) is not None:
            self.lock = CallLock()
            plan.lock = self.lock

    def __dealloc__(self):
        free(self.ndims)
        free(self.free_shape)
        free(self.shared_ndims)

    def __call__(self, *args, **kwargs):
        """fast(*args, **kwargs): the function's call (see the class docstring)."""
        if kwargs or len(args) != self.n:
            return self.fallback(*args, **kwargs)
        return self.call(args)

    cdef object call(self, tuple args):
        cdef CallLock lock = self.lock
        if lock is None:
            return self._call(args)
        lock.take()
        try:
            return self._call(args)
        finally:
            lock.give()

    cdef object _call(self, tuple args):
        cdef Py_ssize_t k, nt
        cdef VM vm = self.vm
        cdef list values
        cdef list outs
        cdef list tail
        cdef PyObject *v
        cdef int trusted = -1
        if vm.inputs_first:
            # the whole register list at once: arguments, shared values, constants/temporaries
            tail = vm.tail
            nt = PyList_GET_SIZE(tail)
            values = [None] * (self.n + len(self.shared) + nt)
            for k in range(self.n):
                values[k] = args[k]
            for k in range(nt):
                values[self.n + len(self.shared) + k] = <object>PyList_GET_ITEM(tail, k)
        else:
            values = list(args)
        for k in range(self.n):
            v = <PyObject *>PyList_GET_ITEM(values, k)
            if (cnp.PyArray_CheckExact(<object>v) and self.free_shape[k]
                    and cnp.PyArray_NDIM(<cnp.ndarray>v) == self.ndims[k]
                    and (<PyObject *>cnp.PyArray_DESCR(<cnp.ndarray>v) == <PyObject *>self.dtypes[k]
                         or (<object>v).dtype == self.dtypes[k])):
                continue
            if trusted == -1:
                trusted = 1 if self.plan.trust_input else 0
            if not trusted:
                values[k] = self.types[k].filter(<object>v, strict=self.strict[k],
                                                 allow_downcast=self.downcast[k], name=self.labels[k])
            else:  # no conversion, but what the kernels rely on is still checked
                check_exact(self.checks[k], <object>v)
        if vm.inputs_first:
            for k in range(len(self.shared)):
                values[self.n + k] = self._shared_value(k)
            if self.single and not self.post and vm.single_out >= 0:
                vm._run_regs(values)
                return values[vm.single_out]
            outs = vm._exec(values)
        else:
            for k in range(len(self.shared)):
                values.append(self._shared_value(k))
            outs = vm.run(values)
        if self.post:
            return self.finish(outs)
        # nothing to copy or store, and no update outputs to drop (CallPlan's step 5)
        return outs[0] if self.single else outs


    cdef inline object _shared_value(self, Py_ssize_t k):
        """The value of shared container k, checked against its type's dtype and ndim."""
        v = self.shared[k].value
        if self.shared_ndims[k] >= 0 and not (
                cnp.PyArray_CheckExact(v) and cnp.PyArray_NDIM(<cnp.ndarray>v) == self.shared_ndims[k]
                and (<PyObject *>cnp.PyArray_DESCR(<cnp.ndarray>v) ==
                     <PyObject *>PyList_GET_ITEM(self.shared_dtypes, k)
                     or v.dtype == self.shared_dtypes[k])):
            check_exact(self.shared_checks[k], v, "the value of")
        return v


cdef PyObject *_fast_tp_call(PyObject *self, PyObject *args, PyObject *kwargs) except NULL:
    """FastCall's tp_call slot: Cython's `__call__(*args, **kwargs)` wrapper builds a kwargs
    dict on every call; this one goes straight to FastCall.call when there are no keywords."""
    cdef FastCall f = <FastCall>self
    if (kwargs == NULL or PyDict_Size(<object>kwargs) == 0) \
            and PyTuple_GET_SIZE(<object>args) == f.n:
        r = f.call(<tuple>args)
    elif kwargs == NULL:
        r = f.fallback(*<tuple>args)
    else:
        r = f.fallback(*<tuple>args, **<dict>kwargs)
    Py_INCREF(<PyObject *>r)
    return <PyObject *>r


(<PyTypeObject *>FastCall).tp_call = <ternaryfunc>_fast_tp_call


# ---------------------------------------------------------------------------------------------
# several kernels as one instruction (FusedReduce = its Elemwise, then its Reduce)

cdef class ChainKernel(Kernel):
    """Runs kernels in sequence on private registers: inputs first, then temporaries; the
    temporaries' pooled buffers go back to the pool when the instruction ends."""

    cdef list kernels
    cdef CInstr *code
    cdef int nsteps, nregs, nin
    cdef int *out_regs
    cdef int nout

    def __cinit__(self):
        self.code = NULL
        self.out_regs = NULL

    def __init__(self, node, steps, int nregs, out_regs, label="native"):
        """steps: (kernel, input registers, output registers); registers 0..nin-1 hold the inputs."""
        cdef int k
        self.node = node
        self.label = label
        self.kernels = [s[0] for s in steps]
        self.nsteps = len(steps)
        self.nregs = nregs
        self.nin = len(node.inputs)
        self.nout = len(out_regs)
        self.out_regs = _int_array(out_regs)
        self.code = <CInstr *>calloc(max(1, self.nsteps), sizeof(CInstr))
        for k, (kernel, ins, outs) in enumerate(steps):
            self.code[k].kind = K_APPLY
            self.code[k].kernel = <PyObject *>kernel
            self.code[k].nin = len(ins)
            self.code[k].nout = len(outs)
            self.code[k].ins = _int_array(ins)
            self.code[k].outs = _int_array(outs)
            self.code[k].frees = _int_array(())

    def __dealloc__(self):
        _free_code(self.code, self.nsteps)
        free(self.out_regs)

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef int k
        cdef list priv = [None] * self.nregs
        for k in range(self.nin):
            priv[k] = regs[ci.ins[k]]
        for k in range(self.nsteps):
            (<Kernel>self.code[k].kernel).run(vm, priv, &self.code[k])
        for k in range(self.nout):
            regs[ci.outs[k]] = priv[self.out_regs[k]]
        return 0


# ---------------------------------------------------------------------------------------------
# kernels of third-party op packages (the public C ABI of include/graphrt_cpu.h)

include "plugin_kernel.pxi"


# ---------------------------------------------------------------------------------------------
# indexing kernels

include "kernels_indexing.pxi"


# ---------------------------------------------------------------------------------------------
# the Scan loop (each step on the step function's own VM)

include "kernels_scan.pxi"
