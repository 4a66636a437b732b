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
"""

from cpython.object cimport PyObject
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.tuple cimport PyTuple_GET_SIZE
from cpython.dict cimport PyDict_Size
from cpython.object cimport PyTypeObject, ternaryfunc
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_GetName
from libc.stdlib cimport malloc, free, calloc
from libc.string cimport memset, memcpy

cimport numpy as cnp
import numpy as np

cnp.import_array()

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

cdef extern from "<time.h>" nogil:
    ctypedef long time_t
    cdef struct timespec:
        time_t tv_sec
        long tv_nsec
    int clock_gettime(int clk, timespec *ts)
    int CLOCK_MONOTONIC

cdef extern from "ew_run.h" nogil:
    ctypedef struct grc_ins:
        int op, dst, a, b, c
    ctypedef struct grc_ewprog:
        int nin, nout, nregs, ncode, nconst
        grc_ins *code
        int *in_reg
        int *in_size
        int *out_reg
        int *out_size
        int *const_reg
        int *const_size
        cnp.npy_uint64 *const_val
        int direct_out
        char *ws
        int busy
    int GRC_BLOCK
    int GRC_PAR_MIN
    int grc_num_threads
    void grc_mvec_init(int enable)
    size_t grc_ws_bytes(const grc_ewprog *p)
    int grc_ew_run(grc_ewprog *p, int ndim, const cnp.npy_intp *shape, char **data,
                   const cnp.npy_intp *strides, int nthreads, char *cached_ws)

cdef extern from "reduce_run.h" nogil:
    int grc_reduce_run(int op, int typenum, int nd, const cnp.npy_intp *shape, const char *x,
                       const cnp.npy_intp *xstrides, char *out, const cnp.npy_intp *ostrides,
                       const unsigned char *reduced)


def _describe(v):
    if isinstance(v, np.ndarray):
        return f"an ndarray of dtype {v.dtype} and shape {v.shape}"
    return f"a {type(v).__name__}"


cdef inline double _now() nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


def set_num_threads(int n):
    """Threads the native loops may use (1: single-threaded). Without OpenMP only 1 is used."""
    global grc_num_threads
    grc_num_threads = n if n > 0 else 1


def get_num_threads():
    return grc_num_threads


def init_vector_math(bint enable=True):
    """Resolve libmvec's vector exp/log/sin/... once (AVX2 CPUs); called at first link."""
    grc_mvec_init(1 if enable else 0)


def openmp_enabled():
    """Whether the extension was compiled with OpenMP (multi-threaded loops)."""
    return bool(_OPENMP_ENABLED)


cdef extern from *:
    """
    #ifdef _OPENMP
    #define _OPENMP_ENABLED 1
    #else
    #define _OPENMP_ENABLED 0
    #endif
    """
    int _OPENMP_ENABLED


def add_one_f64(const double[::1] x):
    """Return a new float64 array equal to ``x + 1``, computed in a C loop (the toolchain smoke kernel)."""
    cdef Py_ssize_t i, n = x.shape[0]
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    with nogil:
        for i in range(n):
            o[i] = x[i] + 1.0
    return out


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
        template = [None] * self.nslots
        for s in program.slots:
            if s.role == "constant":
                template[s.index] = s.value
        n_in = len(program.inputs)
        self.input_slots = tuple(program.inputs)
        self.output_slots = tuple(program.outputs)
        self.inputs_first = self.input_slots == tuple(range(n_in))
        self.template = template
        self.tail = template[n_in:] if self.inputs_first else template
        self.single_out = self.output_slots[0] if len(self.output_slots) == 1 else -1
        self.pool = {}
        self.pool_size = 0
        self.pool_limit = pool_limit
        self.profile = None
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

    def __dealloc__(self):
        cdef int k
        if self.code != NULL:
            for k in range(self.ncode):
                free(self.code[k].ins)
                free(self.code[k].outs)
                free(self.code[k].frees)
            free(self.code)

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
        """Run the program on a full register list; the outputs are left in their registers."""
        cdef int pc = 0, j
        cdef CInstr *ci
        cdef Kernel kernel
        if self.profile is not None:
            self._run_profiled(regs)
        else:
            while pc < self.ncode:
                ci = &self.code[pc]
                if ci.kind == K_APPLY:
                    kernel = <Kernel>ci.kernel
                    try:
                        kernel.run(self, regs, ci)
                    except Exception as exc:
                        self._reraise(ci, regs, exc)
                    for j in range(ci.nfree):
                        regs[ci.frees[j]] = None
                    pc += 1
                elif ci.kind == K_JUMP:
                    pc = ci.target
                else:
                    pc = pc + 1 if regs[ci.cond] else ci.target
        return 0

    cdef int _reraise(self, CInstr *ci, list regs, exc) except -1:
        cdef int k
        kernel = <Kernel>ci.kernel
        args = [regs[ci.ins[k]] for k in range(ci.nin)]
        reraise_with_node_info(kernel.node, args, exc)
        return -1

    cdef int _run_profiled(self, list regs) except -1:
        cdef int pc = 0, j
        cdef CInstr *ci
        cdef Kernel kernel
        cdef double t0
        prof = self.profile
        times, calls, peaks = prof.times, prof.calls, prof.peaks
        t_call = _now()
        while pc < self.ncode:
            ci = &self.code[pc]
            if ci.kind == K_APPLY:
                kernel = <Kernel>ci.kernel
                t0 = _now()
                try:
                    kernel.run(self, regs, ci)
                except Exception as exc:
                    self._reraise(ci, regs, exc)
                times[pc] += _now() - t0
                calls[pc] += 1
                live = _live_bytes(regs)
                if live > peaks[pc]:
                    peaks[pc] = live
                for j in range(ci.nfree):
                    regs[ci.frees[j]] = None
                pc += 1
            elif ci.kind == K_JUMP:
                pc = ci.target
            else:
                pc = pc + 1 if regs[ci.cond] else ci.target
        prof.ncalls += 1
        prof.total_time += _now() - t_call
        return 0

    # -- profiling ----------------------------------------------------------------------
    def enable_profile(self, stats):
        """Record per-instruction time, calls and peak live bytes into `stats` (None: stop).

        `stats` gets `labels` (one per instruction) and zeroed `times`, `calls`, `peaks` lists.
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
        stats.ncalls = 0
        stats.total_time = 0.0
        self.profile = stats

    def make_fast_call(self, fn):
        """A C implementation of `fn.__call__` for positional arguments (see FastCall)."""
        return install_fast_call(fn, FastCall(self, fn))

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
        cdef cnp.npy_intp dims[64]
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
# native kernels

cdef class ElemwiseKernel(Kernel):
    """Elemwise (single scalar op or Composite) through the bytecode interpreter."""

    cdef grc_ewprog prog
    cdef int nin, nout, ndim
    cdef unsigned char *bcast  # nin x ndim: the input's type says length 1 there
    cdef int *out_typenum
    cdef int *inplace  # per output: the input it overwrites, or -1
    cdef int *in_typenum
    cdef object check_broadcast

    def __cinit__(self):
        memset(&self.prog, 0, sizeof(grc_ewprog))
        self.bcast = NULL
        self.out_typenum = NULL
        self.inplace = NULL
        self.in_typenum = NULL

    def __init__(self, node, code, nregs, in_regs, in_sizes, out_regs, out_sizes, consts, direct_out):
        """code: (op, dst, a, b, c) tuples; consts: (reg, itemsize, raw uint64 bits)."""
        cdef int k, d
        self.node = node
        self.label = "native"
        op = node.op
        self.nin = len(node.inputs)
        self.nout = len(node.outputs)
        self.ndim = node.outputs[0].type.ndim
        self.check_broadcast = op._check_runtime_broadcast
        p = &self.prog
        p.nin, p.nout, p.nregs, p.ncode, p.nconst = self.nin, self.nout, nregs, len(code), len(consts)
        p.code = <grc_ins *>calloc(max(1, len(code)), sizeof(grc_ins))
        for k, (o, dst, a, b, c) in enumerate(code):
            p.code[k].op, p.code[k].dst, p.code[k].a, p.code[k].b, p.code[k].c = o, dst, a, b, c
        p.in_reg = _int_array(in_regs)
        p.in_size = _int_array(in_sizes)
        p.out_reg = _int_array(out_regs)
        p.out_size = _int_array(out_sizes)
        p.const_reg = _int_array([c[0] for c in consts])
        p.const_size = _int_array([c[1] for c in consts])
        p.const_val = <cnp.npy_uint64 *>calloc(max(1, len(consts)), sizeof(cnp.npy_uint64))
        for k, c in enumerate(consts):
            p.const_val[k] = c[2]
        p.direct_out = 1 if direct_out else 0
        p.ws = <char *>malloc(grc_ws_bytes(p))
        if p.code == NULL or p.const_val == NULL or p.ws == NULL:
            raise MemoryError()
        self.bcast = <unsigned char *>calloc(max(1, self.nin * self.ndim), 1)
        for k, x in enumerate(node.inputs):
            for d in range(self.ndim):
                self.bcast[k * self.ndim + d] = 1 if x.type.shape[d] == 1 else 0
        self.out_typenum = _int_array([np.dtype(o.type.dtype).num for o in node.outputs])
        self.in_typenum = _int_array([np.dtype(i.type.dtype).num for i in node.inputs])
        destroy = dict(getattr(op, "inplace_pattern", ()))
        self.inplace = _int_array([destroy.get(k, -1) for k in range(self.nout)])

    def __dealloc__(self):
        free(self.prog.code)
        free(self.prog.in_reg)
        free(self.prog.in_size)
        free(self.prog.out_reg)
        free(self.prog.out_size)
        free(self.prog.const_reg)
        free(self.prog.const_size)
        free(self.prog.const_val)
        free(self.prog.ws)
        free(self.bcast)
        free(self.out_typenum)
        free(self.inplace)
        free(self.in_typenum)

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef int nin = self.nin, nout = self.nout, nd = self.ndim, k, d, rc
        cdef int nops = nin + nout
        cdef cnp.npy_intp shape[64]
        cdef cnp.npy_intp strides_buf[16 * 8]
        cdef char *data_buf[16]
        cdef cnp.npy_intp *strides = strides_buf
        cdef char **data = data_buf
        cdef cnp.npy_intp s, total = 1
        cdef PyObject *o
        cdef char *ws
        if nd > 64:
            raise ValueError("graphrt-cpu: more than 64 dimensions")
        if nops > 16 or nd > 8:
            strides = <cnp.npy_intp *>malloc(nops * max(1, nd) * sizeof(cnp.npy_intp))
            data = <char **>malloc(nops * sizeof(char *))
        try:
            for d in range(nd):
                shape[d] = -1
            for k in range(nin):
                o = <PyObject *>PyList_GET_ITEM(regs, ci.ins[k])
                if not cnp.PyArray_Check(<object>o) or cnp.PyArray_TYPE(<cnp.ndarray>o) != self.in_typenum[k]:
                    raise TypeError(f"{self.node.op}: input {k} is {_describe(<object>o)}, expected "
                                    f"{self.node.inputs[k].type}")
                data[k] = <char *>cnp.PyArray_DATA(<cnp.ndarray>o)
                for d in range(nd):
                    if self.bcast[k * nd + d]:
                        strides[k * nd + d] = 0
                        continue
                    s = cnp.PyArray_DIMS(<cnp.ndarray>o)[d]
                    if shape[d] < 0:
                        shape[d] = s
                    elif shape[d] != s:
                        self.check_broadcast(self.node, [regs[ci.ins[j]] for j in range(nin)])
                        raise ValueError(f"{self.node.op}: input shapes do not match")
                    strides[k * nd + d] = cnp.PyArray_STRIDES(<cnp.ndarray>o)[d] if s != 1 else 0
            for d in range(nd):
                if shape[d] < 0:
                    shape[d] = 1
                total *= shape[d]
            for k in range(nout):
                if self.inplace[k] >= 0:
                    out = regs[ci.ins[self.inplace[k]]]
                else:
                    out = vm_alloc(vm, nd, shape, self.out_typenum[k])
                regs[ci.outs[k]] = out  # (an error below propagates; the register is not read)
                data[nin + k] = <char *>cnp.PyArray_DATA(<cnp.ndarray>out)
                for d in range(nd):
                    strides[(nin + k) * nd + d] = cnp.PyArray_STRIDES(<cnp.ndarray>out)[d] if shape[d] != 1 else 0
            # the cached workspace is claimed under the GIL, so a thread entering this kernel
            # while another runs it without the GIL gets a private one
            ws = NULL
            if not self.prog.busy:
                self.prog.busy = 1
                ws = self.prog.ws
            try:
                if total >= GRC_PAR_MIN:
                    with nogil:
                        rc = grc_ew_run(&self.prog, nd, shape, data, strides, grc_num_threads, ws)
                else:
                    rc = grc_ew_run(&self.prog, nd, shape, data, strides, 1, ws)
            finally:
                if ws != NULL:
                    self.prog.busy = 0
            if rc != 0:
                raise RuntimeError(f"graphrt-cpu: elementwise program failed (code {rc})")
        finally:
            if strides != strides_buf:
                free(strides)
                free(data)
        return 0


cdef class DimShuffleKernel(Kernel):
    """DimShuffle as a view: permuted strides, stride 0 for inserted axes, dropped axes gone."""

    cdef int nd_out
    cdef int *src  # per output axis: input axis, or -1 for an inserted one

    def __init__(self, node):
        op = node.op
        self.node = node
        self.label = "view"
        self.nd_out = len(op.new_order)
        self.src = _int_array([-1 if o == "x" else o for o in op.new_order])

    def __dealloc__(self):
        free(self.src)

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray x = _arr(regs, ci.ins[0])
        regs[ci.outs[0]] = _view(x, self.nd_out, self.src)
        return 0


cdef object _view(cnp.ndarray x, int nd, int *src):
    cdef cnp.npy_intp dims[64]
    cdef cnp.npy_intp strides[64]
    cdef int d
    for d in range(nd):
        if src[d] < 0:
            dims[d] = 1
            strides[d] = 0
        else:
            dims[d] = cnp.PyArray_DIMS(x)[src[d]]
            strides[d] = cnp.PyArray_STRIDES(x)[src[d]]
    cdef PyObject *descr = <PyObject *>cnp.PyArray_DESCR(x)
    cdef int flags = cnp.NPY_ARRAY_WRITEABLE if cnp.PyArray_ISWRITEABLE(x) else 0
    Py_INCREF(descr)
    out = _new_from_descr(<void *>np.ndarray, <void *>descr, nd, dims, strides,
                          cnp.PyArray_DATA(x), flags, NULL)
    Py_INCREF(<PyObject *>x)
    _set_base(<void *>out, <PyObject *>x)
    return out


cdef class ShapeKernel(Kernel):
    """Shape (int64 vector) and Shape_i (int64 scalar) without calling Python."""

    cdef int which  # -1: the whole shape

    def __init__(self, node, which):
        self.node = node
        self.label = "native"
        self.which = which

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray x = _arr(regs, ci.ins[0])
        cdef int nd = cnp.PyArray_NDIM(x), d
        cdef cnp.npy_intp n = nd
        cdef cnp.ndarray out
        if self.which < 0:
            out = cnp.PyArray_EMPTY(1, &n, cnp.NPY_INT64, 0)
            for d in range(nd):
                (<cnp.npy_int64 *>cnp.PyArray_DATA(out))[d] = cnp.PyArray_DIMS(x)[d]
        else:
            out = cnp.PyArray_EMPTY(0, &n, cnp.NPY_INT64, 0)
            (<cnp.npy_int64 *>cnp.PyArray_DATA(out))[0] = cnp.PyArray_DIMS(x)[self.which]
        regs[ci.outs[0]] = out
        return 0


# ---------------------------------------------------------------------------------------------
# reductions

cdef class ReduceKernel(Kernel):
    """Reduce (sum, prod, max, min, all, any) over any axes: accumulate into the output in the
    input's memory order (numpy's pairwise summation along a reduced contiguous inner axis)."""

    cdef int op, typenum, out_typenum, nd
    cdef unsigned char reduced[64]
    cdef object empty_error

    def __init__(self, node, int op, typenum, empty_error):
        self.node = node
        self.label = "native"
        self.op = op
        self.typenum = typenum
        self.out_typenum = np.dtype(node.outputs[0].type.dtype).num
        self.nd = node.inputs[0].type.ndim
        for d in range(self.nd):
            self.reduced[d] = 1 if d in node.op.axis else 0
        self.empty_error = empty_error

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray x = _arr(regs, ci.ins[0])
        cdef int nd = self.nd, d, j = 0, rc
        cdef cnp.npy_intp oshape[64]
        cdef cnp.npy_intp ostr[64]
        cdef cnp.npy_intp *shape = cnp.PyArray_DIMS(x)
        cdef cnp.ndarray out
        if cnp.PyArray_TYPE(x) != self.typenum:
            _same_type(self.node, self.typenum, [x])
        for d in range(nd):
            if self.reduced[d]:
                if shape[d] == 0 and self.empty_error is not None:
                    self.empty_error(x)
            else:
                oshape[j] = shape[d]
                j += 1
        out = vm_alloc(vm, j, oshape, self.out_typenum)
        j = 0
        for d in range(nd):
            if self.reduced[d]:
                ostr[d] = 0
            else:
                ostr[d] = cnp.PyArray_STRIDES(out)[j]
                j += 1
        with nogil:
            rc = grc_reduce_run(self.op, self.typenum, nd, shape, <char *>cnp.PyArray_DATA(x),
                                cnp.PyArray_STRIDES(x), <char *>cnp.PyArray_DATA(out), ostr,
                                self.reduced)
        if rc != 0:
            raise RuntimeError(f"graphrt-cpu: reduction failed (code {rc})")
        regs[ci.outs[0]] = out
        return 0


# ---------------------------------------------------------------------------------------------
# BLAS (SciPy's cython_blas, resolved from its capsules at first use)

ctypedef void (*dgemm_t)(char *ta, char *tb, int *m, int *n, int *k, double *alpha, double *a,
                         int *lda, double *b, int *ldb, double *beta, double *c, int *ldc) nogil
ctypedef void (*sgemm_t)(char *ta, char *tb, int *m, int *n, int *k, float *alpha, float *a,
                         int *lda, float *b, int *ldb, float *beta, float *c, int *ldc) nogil
ctypedef void (*dgemv_t)(char *t, int *m, int *n, double *alpha, double *a, int *lda, double *x,
                         int *incx, double *beta, double *y, int *incy) nogil
ctypedef void (*sgemv_t)(char *t, int *m, int *n, float *alpha, float *a, int *lda, float *x,
                         int *incx, float *beta, float *y, int *incy) nogil
ctypedef double (*ddot_t)(int *n, double *x, int *incx, double *y, int *incy) nogil
ctypedef float (*sdot_t)(int *n, float *x, int *incx, float *y, int *incy) nogil
ctypedef void (*dger_t)(int *m, int *n, double *alpha, double *x, int *incx, double *y, int *incy,
                        double *a, int *lda) nogil
ctypedef void (*sger_t)(int *m, int *n, float *alpha, float *x, int *incx, float *y, int *incy,
                        float *a, int *lda) nogil

cdef dgemm_t _dgemm = NULL
cdef sgemm_t _sgemm = NULL
cdef dgemv_t _dgemv = NULL
cdef sgemv_t _sgemv = NULL
cdef ddot_t _ddot = NULL
cdef sdot_t _sdot = NULL
cdef dger_t _dger = NULL
cdef sger_t _sger = NULL


cdef void *_capsule(capi, name) except NULL:
    cap = capi[name]
    return PyCapsule_GetPointer(cap, PyCapsule_GetName(cap))


def load_blas():
    """Resolve dgemm/sgemm/dgemv/sgemv/ddot/sdot/dger/sger from scipy.linalg.cython_blas (once)."""
    global _dgemm, _sgemm, _dgemv, _sgemv, _ddot, _sdot, _dger, _sger
    if _dgemm != NULL:
        return True
    from scipy.linalg import cython_blas

    capi = cython_blas.__pyx_capi__
    _dgemm = <dgemm_t>_capsule(capi, "dgemm")
    _sgemm = <sgemm_t>_capsule(capi, "sgemm")
    _dgemv = <dgemv_t>_capsule(capi, "dgemv")
    _sgemv = <sgemv_t>_capsule(capi, "sgemv")
    _ddot = <ddot_t>_capsule(capi, "ddot")
    _sdot = <sdot_t>_capsule(capi, "sdot")
    _dger = <dger_t>_capsule(capi, "dger")
    _sger = <sger_t>_capsule(capi, "sger")
    return True


cdef int _blas_layout(cnp.ndarray a, int isz, char *trans, int *ld):
    """For a 2-d operand: 'N' with ld when rows are contiguous (C order), 'T' when columns are
    (Fortran order); 0 when neither (the caller copies)."""
    cdef cnp.npy_intp r = cnp.PyArray_DIMS(a)[0], c = cnp.PyArray_DIMS(a)[1]
    cdef cnp.npy_intp s0 = cnp.PyArray_STRIDES(a)[0], s1 = cnp.PyArray_STRIDES(a)[1]
    if (s1 == isz or c == 1) and s0 > 0 and s0 % isz == 0 and s0 // isz >= max(1, c):
        trans[0] = b'N'
        ld[0] = <int>(s0 // isz)
        return 1
    if (s0 == isz or r == 1) and s1 > 0 and s1 % isz == 0 and s1 // isz >= max(1, r):
        trans[0] = b'T'
        ld[0] = <int>(s1 // isz)
        return 1
    if r <= 1 and c <= 1:
        trans[0] = b'N'
        ld[0] = 1
        return 1
    return 0


cdef class DotKernel(Kernel):
    """Dot of float32/float64 vectors and matrices through gemm / gemv / dot."""

    cdef int typenum, isz, xnd, ynd

    def __init__(self, node):
        self.node = node
        self.label = "blas"
        dtype = np.dtype(node.outputs[0].type.dtype)
        self.typenum = dtype.num
        self.isz = dtype.itemsize
        self.xnd = node.inputs[0].type.ndim
        self.ynd = node.inputs[1].type.ndim
        load_blas()

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray x = _arr(regs, ci.ins[0])
        cdef cnp.ndarray y = _arr(regs, ci.ins[1])
        cdef cnp.ndarray out
        cdef cnp.npy_intp dims[2]
        cdef int m, n, k, lda, ldb, ldc, incx, incy, one = 1
        cdef char ta, tb
        cdef double done = 1.0, dzero = 0.0
        cdef float sone = 1.0, szero = 0.0
        cdef bint dbl = self.typenum == cnp.NPY_FLOAT64
        _same_type(self.node, self.typenum, [x, y])
        kx = cnp.PyArray_DIMS(x)[self.xnd - 1]
        ky = cnp.PyArray_DIMS(y)[0]
        if kx != ky:
            raise ValueError(f"Dot: shapes {(<object>x).shape} and {(<object>y).shape} are not "
                             f"aligned: {kx} (dim {self.xnd - 1}) != {ky} (dim 0)")
        k = <int>kx
        if self.xnd == 2 and self.ynd == 2:
            m = <int>cnp.PyArray_DIMS(x)[0]
            n = <int>cnp.PyArray_DIMS(y)[1]
            dims[0] = m
            dims[1] = n
            out = vm_alloc(vm, 2, dims, self.typenum)
            if m == 0 or n == 0:
                pass
            elif k == 0:
                memset(cnp.PyArray_DATA(out), 0, m * n * self.isz)
            else:
                if not _blas_layout(x, self.isz, &ta, &lda):
                    x = np.ascontiguousarray(x)
                    _blas_layout(x, self.isz, &ta, &lda)
                if not _blas_layout(y, self.isz, &tb, &ldb):
                    y = np.ascontiguousarray(y)
                    _blas_layout(y, self.isz, &tb, &ldb)
                ldc = n
                # row-major C = X Y is column-major C^T = Y^T X^T
                with nogil:
                    if dbl:
                        _dgemm(&tb, &ta, &n, &m, &k, &done, <double *>cnp.PyArray_DATA(y), &ldb,
                               <double *>cnp.PyArray_DATA(x), &lda, &dzero,
                               <double *>cnp.PyArray_DATA(out), &ldc)
                    else:
                        _sgemm(&tb, &ta, &n, &m, &k, &sone, <float *>cnp.PyArray_DATA(y), &ldb,
                               <float *>cnp.PyArray_DATA(x), &lda, &szero,
                               <float *>cnp.PyArray_DATA(out), &ldc)
        elif self.xnd == 1 and self.ynd == 1:
            out = vm_alloc(vm, 0, dims, self.typenum)
            x = _positive_vector(x, self.isz)
            y = _positive_vector(y, self.isz)
            incx = <int>(cnp.PyArray_STRIDES(x)[0] // self.isz) if k > 1 else 1
            incy = <int>(cnp.PyArray_STRIDES(y)[0] // self.isz) if k > 1 else 1
            if dbl:
                (<double *>cnp.PyArray_DATA(out))[0] = _ddot(&k, <double *>cnp.PyArray_DATA(x), &incx,
                                                            <double *>cnp.PyArray_DATA(y), &incy) if k else 0.0
            else:
                (<float *>cnp.PyArray_DATA(out))[0] = _sdot(&k, <float *>cnp.PyArray_DATA(x), &incx,
                                                           <float *>cnp.PyArray_DATA(y), &incy) if k else 0.0
        else:
            if self.xnd == 2:  # out(m) = X(m, k) y(k)
                mat, vec = x, y
                m = <int>cnp.PyArray_DIMS(x)[0]
            else:  # out(n) = x(k) Y(k, n) = Y^T x
                mat, vec = y, x
                m = <int>cnp.PyArray_DIMS(y)[1]
            dims[0] = m
            out = vm_alloc(vm, 1, dims, self.typenum)
            if m == 0:
                pass
            elif k == 0:
                memset(cnp.PyArray_DATA(out), 0, m * self.isz)
            else:
                if not _blas_layout(mat, self.isz, &ta, &lda):
                    mat = np.ascontiguousarray(mat)
                    _blas_layout(mat, self.isz, &ta, &lda)
                vec = _positive_vector(vec, self.isz)
                incx = <int>(cnp.PyArray_STRIDES(vec)[0] // self.isz) if k > 1 else 1
                _gemv(dbl, self.xnd == 2, ta, lda, m, k, mat, vec, incx, out)
        regs[ci.outs[0]] = out
        return 0


cdef cnp.ndarray _positive_vector(cnp.ndarray v, int isz):
    cdef cnp.npy_intp s = cnp.PyArray_STRIDES(v)[0]
    if cnp.PyArray_DIMS(v)[0] > 1 and (s <= 0 or s % isz != 0):
        return np.ascontiguousarray(v)
    return v


cdef void _gemv(bint dbl, bint mat_first, char ta, int lda, int m, int k, cnp.ndarray mat,
                cnp.ndarray vec, int incx, cnp.ndarray out):
    """out(m) = A(m, k) v when mat_first, else out(m) = B(k, m)^T v; `ta` is B's or A's layout."""
    cdef char t
    cdef int rows, cols, one = 1
    cdef double done = 1.0, dzero = 0.0
    cdef float sone = 1.0, szero = 0.0
    # column-major view of the memory: layout 'N' (C order) shows the transpose
    if mat_first:  # A(m, k): C order -> memory is A^T (k x m) col-major: gemv 'T'
        if ta == b'N':
            t, rows, cols = b'T', k, m
        else:
            t, rows, cols = b'N', m, k
    else:  # B(k, m): C order -> memory is B^T (m x k): gemv 'N'
        if ta == b'N':
            t, rows, cols = b'N', m, k
        else:
            t, rows, cols = b'T', k, m
    with nogil:
        if dbl:
            _dgemv(&t, &rows, &cols, &done, <double *>cnp.PyArray_DATA(mat), &lda,
                   <double *>cnp.PyArray_DATA(vec), &incx, &dzero, <double *>cnp.PyArray_DATA(out), &one)
        else:
            _sgemv(&t, &rows, &cols, &sone, <float *>cnp.PyArray_DATA(mat), &lda,
                   <float *>cnp.PyArray_DATA(vec), &incx, &szero, <float *>cnp.PyArray_DATA(out), &one)


# ---------------------------------------------------------------------------------------------
# softmax family (rows along the last axis of a matrix or a vector)

cdef extern from "softmax_generated.h" nogil:
    void grc_softmax_row_f64(const double *x, double *out, cnp.npy_intp n)
    void grc_softmax_row_f32(const float *x, float *out, cnp.npy_intp n)
    void grc_log_softmax_row_f64(const double *x, double *out, double *tmp, cnp.npy_intp n)
    void grc_log_softmax_row_f32(const float *x, float *out, float *tmp, cnp.npy_intp n)
    void grc_softmax_grad_row_f64(const double *dy, const double *sm, double *out, cnp.npy_intp n)
    void grc_softmax_grad_row_f32(const float *dy, const float *sm, float *out, cnp.npy_intp n)
    void grc_log_softmax_grad_row_f64(const double *dy, const double *lsm, double *out, cnp.npy_intp n)
    void grc_log_softmax_grad_row_f32(const float *dy, const float *lsm, float *out, cnp.npy_intp n)
    void grc_xent_row_f64(const double *x, const double *b, cnp.npy_int64 y, double *sm, double *nll,
                          cnp.npy_int64 *am, double *tmp, cnp.npy_intp n)
    void grc_xent_row_f32(const float *x, const float *b, cnp.npy_int64 y, float *sm, float *nll,
                          cnp.npy_int64 *am, float *tmp, cnp.npy_intp n)
    void grc_xent_dx_row_f64(double dnll, const double *sm, cnp.npy_int64 y, double *dx, cnp.npy_intp n)
    void grc_xent_dx_row_f32(float dnll, const float *sm, cnp.npy_int64 y, float *dx, cnp.npy_intp n)


cdef enum:
    SM_SOFTMAX = 0
    SM_LOG_SOFTMAX = 1
    SM_GRAD = 2
    SM_LOG_GRAD = 3


cdef cnp.ndarray _rows_contiguous(cnp.ndarray a, int isz):
    """`a` with contiguous rows (the inner stride equal to the itemsize), copying if needed."""
    cdef int nd = cnp.PyArray_NDIM(a)
    if nd == 0 or cnp.PyArray_DIMS(a)[nd - 1] <= 1 or cnp.PyArray_STRIDES(a)[nd - 1] == isz:
        return a
    return np.ascontiguousarray(a)


cdef inline cnp.npy_intp _row_stride(cnp.ndarray a):
    return cnp.PyArray_STRIDES(a)[0] if cnp.PyArray_NDIM(a) == 2 else 0


cdef class SoftmaxKernel(Kernel):
    """Softmax, LogSoftmax, SoftmaxGrad and LogSoftmaxGrad along the last axis, row by row."""

    cdef int mode, nd, isz
    cdef bint dbl

    def __init__(self, node, int mode):
        self.node = node
        self.label = "native"
        self.mode = mode
        self.nd = node.outputs[0].type.ndim
        dtype = np.dtype(node.outputs[0].type.dtype)
        self.dbl = dtype == np.float64
        self.isz = dtype.itemsize

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray a = _arr(regs, ci.ins[0])
        cdef cnp.ndarray b
        cdef cnp.ndarray out, tmp
        cdef cnp.npy_intp rows, n, i, sa, sb = 0, so_
        cdef char *pa
        cdef char *pb = NULL
        cdef char *po
        cdef char *pt = NULL
        cdef int mode = self.mode
        cdef bint dbl = self.dbl
        _same_type(self.node, cnp.NPY_FLOAT64 if dbl else cnp.NPY_FLOAT32, [a])
        if mode >= SM_GRAD:
            b = _arr(regs, ci.ins[1])
            if (<object>a).shape != (<object>b).shape:  # the reference raises the error
                return _perform_into(self.node, regs, ci)
            b = _rows_contiguous(b, self.isz)
        a = _rows_contiguous(a, self.isz)
        out = vm_alloc(vm, self.nd, cnp.PyArray_DIMS(a), cnp.PyArray_TYPE(a))
        n = cnp.PyArray_DIMS(a)[self.nd - 1]
        rows = cnp.PyArray_DIMS(a)[0] if self.nd == 2 else 1
        if rows * n == 0:
            regs[ci.outs[0]] = out
            return 0
        if mode == SM_LOG_SOFTMAX:
            tmp = cnp.PyArray_EMPTY(1, &n, cnp.PyArray_TYPE(a), 0)
            pt = <char *>cnp.PyArray_DATA(tmp)
        pa = <char *>cnp.PyArray_DATA(a)
        sa = _row_stride(a)
        if mode >= SM_GRAD:
            pb = <char *>cnp.PyArray_DATA(b)
            sb = _row_stride(b)
        po = <char *>cnp.PyArray_DATA(out)
        so_ = n * self.isz
        with nogil:
            for i in range(rows):
                if mode == SM_SOFTMAX:
                    if dbl:
                        grc_softmax_row_f64(<double *>(pa + i * sa), <double *>(po + i * so_), n)
                    else:
                        grc_softmax_row_f32(<float *>(pa + i * sa), <float *>(po + i * so_), n)
                elif mode == SM_LOG_SOFTMAX:
                    if dbl:
                        grc_log_softmax_row_f64(<double *>(pa + i * sa), <double *>(po + i * so_),
                                                <double *>pt, n)
                    else:
                        grc_log_softmax_row_f32(<float *>(pa + i * sa), <float *>(po + i * so_),
                                                <float *>pt, n)
                elif mode == SM_GRAD:
                    if dbl:
                        grc_softmax_grad_row_f64(<double *>(pa + i * sa), <double *>(pb + i * sb),
                                                 <double *>(po + i * so_), n)
                    else:
                        grc_softmax_grad_row_f32(<float *>(pa + i * sa), <float *>(pb + i * sb),
                                                 <float *>(po + i * so_), n)
                else:
                    if dbl:
                        grc_log_softmax_grad_row_f64(<double *>(pa + i * sa), <double *>(pb + i * sb),
                                                     <double *>(po + i * so_), n)
                    else:
                        grc_log_softmax_grad_row_f32(<float *>(pa + i * sa), <float *>(pb + i * sb),
                                                     <float *>(po + i * so_), n)
        regs[ci.outs[0]] = out
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


cdef bint _labels_ok(cnp.ndarray y, cnp.npy_intp rows, cnp.npy_intp k):
    cdef cnp.npy_intp i, s
    cdef char *p
    cdef cnp.npy_int64 v
    if cnp.PyArray_TYPE(y) != cnp.NPY_INT64 or cnp.PyArray_NDIM(y) != 1 or cnp.PyArray_DIMS(y)[0] != rows:
        return False
    p = <char *>cnp.PyArray_DATA(y)
    s = cnp.PyArray_STRIDES(y)[0]
    for i in range(rows):
        v = (<cnp.npy_int64 *>(p + i * s))[0]
        if v < 0 or v >= k:
            return False
    return True


cdef class CrossentropyKernel(Kernel):
    """CrossentropySoftmaxArgmax1HotWithBias (x, b, y) -> (nll, sm, argmax) in one pass per row."""

    cdef int isz
    cdef bint dbl

    def __init__(self, node):
        self.node = node
        self.label = "native"
        dtype = np.dtype(node.outputs[0].type.dtype)
        self.dbl = dtype == np.float64
        self.isz = dtype.itemsize

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray x = _arr(regs, ci.ins[0])
        cdef cnp.ndarray b = _arr(regs, ci.ins[1])
        cdef cnp.ndarray y = _arr(regs, ci.ins[2])
        cdef cnp.ndarray nll, sm, am, tmp
        cdef cnp.npy_intp rows = cnp.PyArray_DIMS(x)[0], n = cnp.PyArray_DIMS(x)[1], i, sx, sy
        cdef char *px
        cdef char *pb
        cdef char *py
        cdef char *pn
        cdef char *ps
        cdef char *pa
        cdef char *pt
        cdef bint dbl = self.dbl
        _same_type(self.node, cnp.NPY_FLOAT64 if dbl else cnp.NPY_FLOAT32, [x, b])
        if (rows * n == 0 or cnp.PyArray_DIMS(b)[0] != n or not _labels_ok(y, rows, n)):
            return _perform_into(self.node, regs, ci)
        x = _rows_contiguous(x, self.isz)
        b = np.ascontiguousarray(b)
        nll = vm_alloc(vm, 1, &rows, cnp.PyArray_TYPE(x))
        sm = vm_alloc(vm, 2, cnp.PyArray_DIMS(x), cnp.PyArray_TYPE(x))
        am = vm_alloc(vm, 1, &rows, cnp.NPY_INT64)
        tmp = cnp.PyArray_EMPTY(1, &n, cnp.PyArray_TYPE(x), 0)
        px, pb, py = <char *>cnp.PyArray_DATA(x), <char *>cnp.PyArray_DATA(b), <char *>cnp.PyArray_DATA(y)
        pn, ps, pa = <char *>cnp.PyArray_DATA(nll), <char *>cnp.PyArray_DATA(sm), <char *>cnp.PyArray_DATA(am)
        pt = <char *>cnp.PyArray_DATA(tmp)
        sx = cnp.PyArray_STRIDES(x)[0]
        sy = cnp.PyArray_STRIDES(y)[0]
        with nogil:
            for i in range(rows):
                if dbl:
                    grc_xent_row_f64(<double *>(px + i * sx), <double *>pb, (<cnp.npy_int64 *>(py + i * sy))[0],
                                     <double *>(ps + i * n * 8), <double *>pn + i,
                                     <cnp.npy_int64 *>pa + i, <double *>pt, n)
                else:
                    grc_xent_row_f32(<float *>(px + i * sx), <float *>pb, (<cnp.npy_int64 *>(py + i * sy))[0],
                                     <float *>(ps + i * n * 4), <float *>pn + i,
                                     <cnp.npy_int64 *>pa + i, <float *>pt, n)
        regs[ci.outs[0]] = nll
        regs[ci.outs[1]] = sm
        regs[ci.outs[2]] = am
        return 0


cdef class CrossentropyDxKernel(Kernel):
    """CrossentropySoftmax1HotWithBiasDx (dnll, sm, y) -> dx = sm * dnll[:, None], minus dnll at y."""

    cdef int isz
    cdef bint dbl

    def __init__(self, node):
        self.node = node
        self.label = "native"
        dtype = np.dtype(node.outputs[0].type.dtype)
        self.dbl = dtype == np.float64
        self.isz = dtype.itemsize

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray dnll = _arr(regs, ci.ins[0])
        cdef cnp.ndarray sm = _arr(regs, ci.ins[1])
        cdef cnp.ndarray y = _arr(regs, ci.ins[2])
        cdef cnp.ndarray dx
        cdef cnp.npy_intp rows = cnp.PyArray_DIMS(sm)[0], n = cnp.PyArray_DIMS(sm)[1], i, ss, sd, sy
        cdef char *pd
        cdef char *ps
        cdef char *py
        cdef char *po
        cdef bint dbl = self.dbl
        _same_type(self.node, cnp.NPY_FLOAT64 if dbl else cnp.NPY_FLOAT32, [dnll, sm])
        if rows * n == 0 or cnp.PyArray_DIMS(dnll)[0] != rows or not _labels_ok(y, rows, n):
            return _perform_into(self.node, regs, ci)
        sm = _rows_contiguous(sm, self.isz)
        dx = vm_alloc(vm, 2, cnp.PyArray_DIMS(sm), cnp.PyArray_TYPE(sm))
        pd, ps, py, po = (<char *>cnp.PyArray_DATA(dnll), <char *>cnp.PyArray_DATA(sm),
                          <char *>cnp.PyArray_DATA(y), <char *>cnp.PyArray_DATA(dx))
        sd, ss, sy = cnp.PyArray_STRIDES(dnll)[0], cnp.PyArray_STRIDES(sm)[0], cnp.PyArray_STRIDES(y)[0]
        with nogil:
            for i in range(rows):
                if dbl:
                    grc_xent_dx_row_f64((<double *>(pd + i * sd))[0], <double *>(ps + i * ss),
                                        (<cnp.npy_int64 *>(py + i * sy))[0], <double *>(po + i * n * 8), n)
                else:
                    grc_xent_dx_row_f32((<float *>(pd + i * sd))[0], <float *>(ps + i * ss),
                                        (<cnp.npy_int64 *>(py + i * sy))[0], <float *>(po + i * n * 4), n)
        regs[ci.outs[0]] = dx
        return 0


# ---------------------------------------------------------------------------------------------
# the whole Function.__call__ fast path in C

cdef class FastCall:
    """Function.__call__ for positional arguments, in C: argument checks (conversion through the
    type's filter only when an argument is not already an ndarray of the right dtype and ndim),
    shared values, the VM run, updates and output copies -- the same steps, no Python frame."""

    cdef VM vm
    cdef int n
    cdef list types
    cdef list dtypes
    cdef int *ndims
    cdef unsigned char *free_shape
    cdef list strict
    cdef list downcast
    cdef list labels
    cdef tuple shared
    cdef tuple updates
    cdef tuple copy_updates
    cdef tuple copy_outputs
    cdef bint post, single
    cdef Py_ssize_t n_returned
    cdef public object fn_ref

    def __cinit__(self):
        self.ndims = NULL
        self.free_shape = NULL

    def __init__(self, VM vm, fn):
        cdef int k
        self.vm = vm
        checks = fn._in_checks
        self.n = len(checks)
        self.types = [c[1] for c in checks]
        self.dtypes = [np.dtype(c[2]) for c in checks]
        self.ndims = _int_array([c[3] for c in checks])
        self.free_shape = <unsigned char *>calloc(max(1, self.n), 1)
        for k in range(self.n):
            self.free_shape[k] = 1 if checks[k][4] else 0
        self.strict = [c[5] for c in checks]
        self.downcast = [c[6] for c in checks]
        self.labels = [c[7] for c in checks]
        self.shared = tuple(fn._shared_list)
        self.updates = tuple(fn._updates)
        self.copy_updates = tuple(fn._copy_updates)
        self.copy_outputs = tuple(fn._copy_outputs)
        self.post = bool(fn._post)
        self.single = bool(fn._single)
        self.n_returned = fn._n_returned

    def __dealloc__(self):
        free(self.ndims)
        free(self.free_shape)

    def __call__(self, fn, tuple args):
        """The protocol Function.__call__ uses: fast(function, positional arguments)."""
        return self.call(fn, args)

    cdef object call(self, fn, tuple args):
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
                if fn is None:
                    fn = self.fn_ref()
                trusted = 1 if fn.trust_input else 0
            if not trusted:
                values[k] = self.types[k].filter(<object>v, strict=self.strict[k],
                                                 allow_downcast=self.downcast[k], name=self.labels[k])
        if vm.inputs_first:
            for k in range(len(self.shared)):
                values[self.n + k] = self.shared[k].value
            if self.single and not self.post and vm.single_out >= 0:
                vm._run_regs(values)
                return values[vm.single_out]
            outs = vm._exec(values)
        else:
            for c in self.shared:
                values.append(c.value)
            outs = vm.run(values)
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


cdef class BoundCall:
    """`__call__` of a function's own class (see install_fast_call): fn(*args) in C."""

    cdef FastCall fast
    cdef object fn_ref
    cdef object python_call

    def __init__(self, FastCall fast, python_call):
        self.fast = fast
        self.python_call = python_call

    def _release(self, ref):
        """The function is gone: drop the VM now (its class lives until the cycle collector)."""
        self.fast = None

    def __call__(self, *args, **kwargs):
        if kwargs or self.fast is None or len(args) != self.fast.n:
            return self.python_call(self.fn_ref(), *args, **kwargs)
        return self.fast.call(None, args)


cdef PyObject *_bound_tp_call(PyObject *self, PyObject *args, PyObject *kwargs) except NULL:
    """BoundCall's tp_call slot: Cython's `__call__(*args, **kwargs)` wrapper builds a kwargs
    dict on every call; this one goes straight to FastCall when there are no keywords."""
    cdef BoundCall b = <BoundCall>self
    if (kwargs == NULL or PyDict_Size(<object>kwargs) == 0) and b.fast is not None \
            and PyTuple_GET_SIZE(<object>args) == b.fast.n:
        r = b.fast.call(None, <tuple>args)
    elif kwargs == NULL:
        r = b.python_call(b.fn_ref(), *<tuple>args)
    else:
        r = b.python_call(b.fn_ref(), *<tuple>args, **<dict>kwargs)
    Py_INCREF(<PyObject *>r)
    return <PyObject *>r


(<PyTypeObject *>BoundCall).tp_call = <ternaryfunc>_bound_tp_call


def install_fast_call(fn, FastCall fast):
    """Make `fn(...)` go straight to `fast` (C), skipping the Python frame of Function.__call__.

    `fn` gets its own subclass of its class whose `__call__` is the FastCall object; CPython
    calls a non-descriptor `__call__` without binding `self`, so `fn(x)` is `fast(x)`. The
    behaviour is Function.__call__'s: FastCall hands keyword calls and wrong argument counts
    to it. FastCall holds `fn` weakly, so no reference cycle keeps a function alive.
    """
    import weakref

    cdef BoundCall bound
    base = type(fn)
    bound = BoundCall(fast, base.__call__)
    bound.fn_ref = fast.fn_ref = weakref.ref(fn, bound._release)
    cls = type(base.__name__, (base,), {"__call__": bound, "__module__": base.__module__,
                                        "__qualname__": base.__qualname__, "__doc__": base.__doc__,
                                        "_fast_call_class": True})
    try:
        fn.__class__ = cls
    except TypeError:
        pass
    return fast


# ---------------------------------------------------------------------------------------------
# graphopt's BLAS ops: Gemm (beta * z + alpha * dot(x, y)) and Gemv, in place when allowed

cdef inline double _scalar_value(cnp.ndarray a):
    if cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT64:
        return (<double *>cnp.PyArray_DATA(a))[0]
    return (<float *>cnp.PyArray_DATA(a))[0]


cdef class GemmKernel(Kernel):
    """Gemm through dgemm/sgemm: the output is z itself (in place, when the instruction's
    in-place map allows it and z's rows are contiguous) or a pooled copy of z."""

    cdef int typenum, isz
    cdef bint inplace, dbl

    def __init__(self, node, bint inplace):
        self.node = node
        self.label = "blas"
        dtype = np.dtype(node.outputs[0].type.dtype)
        self.typenum = dtype.num
        self.isz = dtype.itemsize
        self.dbl = dtype == np.float64
        self.inplace = inplace
        load_blas()

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray z = _arr(regs, ci.ins[0])
        cdef cnp.ndarray x = _arr(regs, ci.ins[2])
        cdef cnp.ndarray y = _arr(regs, ci.ins[3])
        cdef double alpha, beta
        cdef cnp.ndarray out
        cdef int m, n, k, lda, ldb, ldc
        cdef char ta, tb
        cdef float fa, fb
        cdef cnp.npy_intp *zd = cnp.PyArray_DIMS(z)
        _same_type(self.node, self.typenum, [z, x, y, _arr(regs, ci.ins[1]), _arr(regs, ci.ins[4])])
        alpha = _scalar_value(_arr(regs, ci.ins[1]))
        beta = _scalar_value(_arr(regs, ci.ins[4]))
        fa, fb = <float>alpha, <float>beta
        if (cnp.PyArray_DIMS(x)[1] != cnp.PyArray_DIMS(y)[0] or zd[0] != cnp.PyArray_DIMS(x)[0]
                or zd[1] != cnp.PyArray_DIMS(y)[1]):
            return _perform_into(self.node, regs, ci)  # raises the reference's error
        m, n, k = <int>zd[0], <int>zd[1], <int>cnp.PyArray_DIMS(x)[1]
        if (self.inplace and cnp.PyArray_ISWRITEABLE(z) and (cnp.PyArray_STRIDES(z)[1] == self.isz or n <= 1)
                and cnp.PyArray_STRIDES(z)[0] % self.isz == 0 and cnp.PyArray_STRIDES(z)[0] // self.isz >= max(1, n)):
            out = z
            ldc = <int>(cnp.PyArray_STRIDES(z)[0] // self.isz) if m > 1 else max(1, n)
        else:
            out = vm_alloc(vm, 2, zd, self.typenum)
            ldc = max(1, n)
            if beta != 0:
                cnp.PyArray_CopyInto(out, z)
        if m and n:
            if k == 0:
                if beta == 0:
                    (<object>out).fill(0)
                elif beta != 1:
                    (<object>out).__imul__(beta)
            else:
                if not _blas_layout(x, self.isz, &ta, &lda):
                    x = np.ascontiguousarray(x)
                    _blas_layout(x, self.isz, &ta, &lda)
                if not _blas_layout(y, self.isz, &tb, &ldb):
                    y = np.ascontiguousarray(y)
                    _blas_layout(y, self.isz, &tb, &ldb)
                with nogil:
                    if self.dbl:
                        _dgemm(&tb, &ta, &n, &m, &k, &alpha, <double *>cnp.PyArray_DATA(y), &ldb,
                               <double *>cnp.PyArray_DATA(x), &lda, &beta,
                               <double *>cnp.PyArray_DATA(out), &ldc)
                    else:
                        _sgemm(&tb, &ta, &n, &m, &k, &fa, <float *>cnp.PyArray_DATA(y), &ldb,
                               <float *>cnp.PyArray_DATA(x), &lda, &fb,
                               <float *>cnp.PyArray_DATA(out), &ldc)
        regs[ci.outs[0]] = out
        return 0


cdef class GemvKernel(Kernel):
    """Gemv through dgemv/sgemv: beta * z + alpha * dot(A, x), z overwritten when allowed."""

    cdef int typenum, isz
    cdef bint inplace, dbl

    def __init__(self, node, bint inplace):
        self.node = node
        self.label = "blas"
        dtype = np.dtype(node.outputs[0].type.dtype)
        self.typenum = dtype.num
        self.isz = dtype.itemsize
        self.dbl = dtype == np.float64
        self.inplace = inplace
        load_blas()

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray z = _arr(regs, ci.ins[0])
        cdef cnp.ndarray A = _arr(regs, ci.ins[2])
        cdef cnp.ndarray x = _arr(regs, ci.ins[3])
        cdef double alpha, beta
        cdef float fa, fb
        cdef cnp.ndarray out
        cdef int m, k, lda, incx, incy = 1, rows, cols
        cdef char ta, t
        _same_type(self.node, self.typenum, [z, A, x, _arr(regs, ci.ins[1]), _arr(regs, ci.ins[4])])
        alpha = _scalar_value(_arr(regs, ci.ins[1]))
        beta = _scalar_value(_arr(regs, ci.ins[4]))
        fa, fb = <float>alpha, <float>beta
        if cnp.PyArray_DIMS(A)[1] != cnp.PyArray_DIMS(x)[0] or cnp.PyArray_DIMS(z)[0] != cnp.PyArray_DIMS(A)[0]:
            return _perform_into(self.node, regs, ci)
        m, k = <int>cnp.PyArray_DIMS(A)[0], <int>cnp.PyArray_DIMS(A)[1]
        if (self.inplace and cnp.PyArray_ISWRITEABLE(z) and cnp.PyArray_STRIDES(z)[0] > 0
                and cnp.PyArray_STRIDES(z)[0] % self.isz == 0):
            out = z
            incy = <int>(cnp.PyArray_STRIDES(z)[0] // self.isz) if m > 1 else 1
        else:
            out = vm_alloc(vm, 1, cnp.PyArray_DIMS(z), self.typenum)
            if beta != 0:
                cnp.PyArray_CopyInto(out, z)
        if m:
            if k == 0:
                if beta == 0:
                    (<object>out).fill(0)
                elif beta != 1:
                    (<object>out).__imul__(beta)
            else:
                if not _blas_layout(A, self.isz, &ta, &lda):
                    A = np.ascontiguousarray(A)
                    _blas_layout(A, self.isz, &ta, &lda)
                x = _positive_vector(x, self.isz)
                incx = <int>(cnp.PyArray_STRIDES(x)[0] // self.isz) if k > 1 else 1
                if ta == b'N':  # C order: memory is A^T (k x m)
                    t, rows, cols = b'T', k, m
                else:
                    t, rows, cols = b'N', m, k
                with nogil:
                    if self.dbl:
                        _dgemv(&t, &rows, &cols, &alpha, <double *>cnp.PyArray_DATA(A), &lda,
                               <double *>cnp.PyArray_DATA(x), &incx, &beta,
                               <double *>cnp.PyArray_DATA(out), &incy)
                    else:
                        _sgemv(&t, &rows, &cols, &fa, <float *>cnp.PyArray_DATA(A), &lda,
                               <float *>cnp.PyArray_DATA(x), &incx, &fb,
                               <float *>cnp.PyArray_DATA(out), &incy)
        regs[ci.outs[0]] = out
        return 0


cdef class GerKernel(Kernel):
    """Ger through dger/sger: A + alpha * outer(x, y), A overwritten when the instruction allows
    it and A has a BLAS layout (C or Fortran order rows/columns), else a pooled copy of A."""

    cdef int typenum, isz
    cdef bint inplace, dbl

    def __init__(self, node, bint inplace):
        self.node = node
        self.label = "blas"
        dtype = np.dtype(node.outputs[0].type.dtype)
        self.typenum = dtype.num
        self.isz = dtype.itemsize
        self.dbl = dtype == np.float64
        self.inplace = inplace
        load_blas()

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray A = _arr(regs, ci.ins[0])
        cdef cnp.ndarray x = _arr(regs, ci.ins[2])
        cdef cnp.ndarray y = _arr(regs, ci.ins[3])
        cdef cnp.ndarray out
        cdef double alpha
        cdef float fa
        cdef int m, n, lda, incx, incy
        cdef char t
        _same_type(self.node, self.typenum, [A, x, y, _arr(regs, ci.ins[1])])
        alpha = _scalar_value(_arr(regs, ci.ins[1]))
        fa = <float>alpha
        if (cnp.PyArray_DIMS(A)[0] != cnp.PyArray_DIMS(x)[0]
                or cnp.PyArray_DIMS(A)[1] != cnp.PyArray_DIMS(y)[0]):
            return _perform_into(self.node, regs, ci)  # raises the reference's error
        if alpha == 0:  # BLAS returns early; NumPy's A + 0 * outer(x, y) still spreads inf/nan
            return _perform_into(self.node, regs, ci)
        m, n = <int>cnp.PyArray_DIMS(A)[0], <int>cnp.PyArray_DIMS(A)[1]
        if self.inplace and cnp.PyArray_ISWRITEABLE(A) and _blas_layout(A, self.isz, &t, &lda):
            out = A
        else:
            out = vm_alloc(vm, 2, cnp.PyArray_DIMS(A), self.typenum)
            cnp.PyArray_CopyInto(out, A)
            _blas_layout(out, self.isz, &t, &lda)
        if m and n:
            x = _positive_vector(x, self.isz)
            y = _positive_vector(y, self.isz)
            incx = <int>(cnp.PyArray_STRIDES(x)[0] // self.isz) if m > 1 else 1
            incy = <int>(cnp.PyArray_STRIDES(y)[0] // self.isz) if n > 1 else 1
            with nogil:
                # column-major BLAS: a C-order A is A^T (n x m), so A^T += alpha * y x^T
                if t == b'N':
                    if self.dbl:
                        _dger(&n, &m, &alpha, <double *>cnp.PyArray_DATA(y), &incy,
                              <double *>cnp.PyArray_DATA(x), &incx, <double *>cnp.PyArray_DATA(out), &lda)
                    else:
                        _sger(&n, &m, &fa, <float *>cnp.PyArray_DATA(y), &incy,
                              <float *>cnp.PyArray_DATA(x), &incx, <float *>cnp.PyArray_DATA(out), &lda)
                else:
                    if self.dbl:
                        _dger(&m, &n, &alpha, <double *>cnp.PyArray_DATA(x), &incx,
                              <double *>cnp.PyArray_DATA(y), &incy, <double *>cnp.PyArray_DATA(out), &lda)
                    else:
                        _sger(&m, &n, &fa, <float *>cnp.PyArray_DATA(x), &incx,
                              <float *>cnp.PyArray_DATA(y), &incy, <float *>cnp.PyArray_DATA(out), &lda)
        regs[ci.outs[0]] = out
        return 0


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
        cdef int k
        if self.code != NULL:
            for k in range(self.nsteps):
                free(self.code[k].ins)
                free(self.code[k].outs)
                free(self.code[k].frees)
            free(self.code)
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
# Reshape: a view when the layout allows it (NumPy's rules), a copy otherwise

cdef class ReshapeKernel(Kernel):
    """Reshape(x, shape) through PyArray_Newshape; an invalid shape runs the reference perform,
    which raises its error."""

    cdef int nd

    def __init__(self, node):
        self.node = node
        self.label = "view"
        self.nd = node.op.ndim

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray x = _arr(regs, ci.ins[0])
        cdef cnp.ndarray shp = _arr(regs, ci.ins[1])
        cdef cnp.npy_intp dims[64]
        cdef cnp.PyArray_Dims newshape
        cdef int k
        cdef char *p
        cdef cnp.npy_intp s
        if (cnp.PyArray_TYPE(shp) != cnp.NPY_INT64 or cnp.PyArray_NDIM(shp) != 1
                or cnp.PyArray_DIMS(shp)[0] != self.nd or self.nd > 64):
            return _perform_into(self.node, regs, ci)
        p = <char *>cnp.PyArray_DATA(shp)
        s = cnp.PyArray_STRIDES(shp)[0]
        for k in range(self.nd):
            dims[k] = (<cnp.npy_int64 *>(p + k * s))[0]
        newshape.ptr = dims
        newshape.len = self.nd
        try:
            out = cnp.PyArray_Newshape(x, &newshape, cnp.NPY_CORDER)
        except ValueError:
            return _perform_into(self.node, regs, ci)
        regs[ci.outs[0]] = out
        return 0


# ---------------------------------------------------------------------------------------------
# kernels of third-party op packages (the public C ABI of include/graphrt_cpu.h)

include "plugin_kernel.pxi"


# ---------------------------------------------------------------------------------------------
# integer-vector indexing on axis 0: x[ilist] and x[ilist] += y / x[ilist] = y

cdef bint _indices_ok(cnp.ndarray ilist, cnp.npy_intp n):
    """ilist is an int64 vector whose entries are in [-n, n)."""
    cdef cnp.npy_intp i, m, s
    cdef char *p
    cdef cnp.npy_int64 v
    if cnp.PyArray_TYPE(ilist) != cnp.NPY_INT64 or cnp.PyArray_NDIM(ilist) != 1:
        return False
    m = cnp.PyArray_DIMS(ilist)[0]
    p = <char *>cnp.PyArray_DATA(ilist)
    s = cnp.PyArray_STRIDES(ilist)[0]
    for i in range(m):
        v = (<cnp.npy_int64 *>(p + i * s))[0]
        if v < -n or v >= n:
            return False
    return True


cdef class TakeRowsKernel(Kernel):
    """AdvancedSubtensor1: rows of x gathered into a pooled array (out-of-range indices run the
    reference perform, which raises its IndexError)."""

    def __init__(self, node):
        self.node = node
        self.label = "native"

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray x = _arr(regs, ci.ins[0])
        cdef cnp.ndarray ilist = _arr(regs, ci.ins[1])
        cdef cnp.npy_intp dims[64]
        cdef int nd = cnp.PyArray_NDIM(x), d
        cdef cnp.npy_intp i, m, rowbytes, n = cnp.PyArray_DIMS(x)[0], s
        cdef char *src
        cdef char *dst
        cdef char *pi
        cdef cnp.npy_int64 v
        if nd > 64 or not _indices_ok(ilist, n) or not cnp.PyArray_IS_C_CONTIGUOUS(x):
            return _perform_into(self.node, regs, ci)
        m = cnp.PyArray_DIMS(ilist)[0]
        dims[0] = m
        rowbytes = cnp.PyArray_ITEMSIZE(x)
        for d in range(1, nd):
            dims[d] = cnp.PyArray_DIMS(x)[d]
            rowbytes *= dims[d]
        out = vm_alloc(vm, nd, dims, cnp.PyArray_TYPE(x))
        src = <char *>cnp.PyArray_DATA(x)
        dst = <char *>cnp.PyArray_DATA(<cnp.ndarray>out)
        pi = <char *>cnp.PyArray_DATA(ilist)
        s = cnp.PyArray_STRIDES(ilist)[0]
        with nogil:
            for i in range(m):
                v = (<cnp.npy_int64 *>(pi + i * s))[0]
                if v < 0:
                    v += n
                memcpy(dst + i * rowbytes, src + v * rowbytes, rowbytes)
        regs[ci.outs[0]] = out
        return 0


cdef class IncRowsKernel(Kernel):
    """AdvancedIncSubtensor1 for float32/float64 with y of the indexed rows' exact shape:
    x[ilist] += y with repeated rows accumulating (np.add.at), or x[ilist] = y (last write
    wins); in place when the instruction allows it. Other cases run the reference perform."""

    cdef bint inplace, set_
    cdef bint dbl

    def __init__(self, node, bint inplace):
        self.node = node
        self.label = "native"
        self.inplace = inplace
        self.set_ = node.op.set_instead_of_inc
        self.dbl = node.outputs[0].type.dtype == "float64"

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray x = _arr(regs, ci.ins[0])
        cdef cnp.ndarray y = _arr(regs, ci.ins[1])
        cdef cnp.ndarray ilist = _arr(regs, ci.ins[2])
        cdef cnp.ndarray out
        cdef int nd = cnp.PyArray_NDIM(x), d
        cdef cnp.npy_intp i, j, m, row, n = cnp.PyArray_DIMS(x)[0], s
        cdef char *po
        cdef char *py
        cdef char *pi
        cdef cnp.npy_int64 v
        cdef bint dbl = self.dbl, set_ = self.set_
        if (not _indices_ok(ilist, n) or cnp.PyArray_NDIM(y) != nd
                or cnp.PyArray_TYPE(y) != cnp.PyArray_TYPE(x)
                or cnp.PyArray_TYPE(x) != (cnp.NPY_FLOAT64 if dbl else cnp.NPY_FLOAT32)):
            return _perform_into(self.node, regs, ci)
        m = cnp.PyArray_DIMS(ilist)[0]
        if cnp.PyArray_DIMS(y)[0] != m:
            return _perform_into(self.node, regs, ci)
        row = 1
        for d in range(1, nd):
            if cnp.PyArray_DIMS(y)[d] != cnp.PyArray_DIMS(x)[d]:
                return _perform_into(self.node, regs, ci)
            row *= cnp.PyArray_DIMS(x)[d]
        if self.inplace and cnp.PyArray_IS_C_CONTIGUOUS(x) and cnp.PyArray_ISWRITEABLE(x):
            out = x
        else:
            out = vm_alloc(vm, nd, cnp.PyArray_DIMS(x), cnp.PyArray_TYPE(x))
            cnp.PyArray_CopyInto(out, x)
        y = np.ascontiguousarray(y)
        po = <char *>cnp.PyArray_DATA(out)
        py = <char *>cnp.PyArray_DATA(y)
        pi = <char *>cnp.PyArray_DATA(ilist)
        s = cnp.PyArray_STRIDES(ilist)[0]
        with nogil:
            for i in range(m):
                v = (<cnp.npy_int64 *>(pi + i * s))[0]
                if v < 0:
                    v += n
                if dbl:
                    if set_:
                        memcpy(po + v * row * 8, py + i * row * 8, row * 8)
                    else:
                        for j in range(row):
                            (<double *>po)[v * row + j] += (<double *>py)[i * row + j]
                else:
                    if set_:
                        memcpy(po + v * row * 4, py + i * row * 4, row * 4)
                    else:
                        for j in range(row):
                            (<float *>po)[v * row + j] += (<float *>py)[i * row + j]
        regs[ci.outs[0]] = out
        return 0


# ---------------------------------------------------------------------------------------------
# Argmax / Argmin: the reduced axes moved last and flattened (a copy only when they are not
# already the contiguous tail), then one scan per row; NumPy's rules: the first extreme wins,
# and a NaN is the extreme (the first NaN)

ctypedef fused argnum_t:
    cnp.npy_float64
    cnp.npy_float32
    cnp.npy_int64
    cnp.npy_int32


cdef void _arg_rows(const argnum_t *x, cnp.npy_intp rows, cnp.npy_intp n, bint minimum,
                    cnp.npy_int64 *out) noexcept nogil:
    cdef cnp.npy_intp r, j, best
    cdef argnum_t m, v
    for r in range(rows):
        best = 0
        m = x[r * n]
        if m == m:
            for j in range(1, n):
                v = x[r * n + j]
                if v != v:
                    best = j
                    break
                if (v < m) if minimum else (v > m):
                    m = v
                    best = j
        out[r] = best


cdef class ArgmaxKernel(Kernel):
    """Argmax / Argmin (int64 indices) over any axes for float32/float64/int32/int64."""

    cdef tuple perm
    cdef int nkeep
    cdef bint minimum
    cdef int typenum

    def __init__(self, node):
        op = node.op
        self.node = node
        self.label = "native"
        nd = node.inputs[0].type.ndim
        axes = tuple(op.axis) if op.axis is not None else tuple(range(nd))
        keep = [d for d in range(nd) if d not in axes]
        self.perm = tuple(keep + list(axes))
        self.nkeep = len(keep)
        self.minimum = op.minimum
        self.typenum = np.dtype(node.inputs[0].type.dtype).num

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray x = _arr(regs, ci.ins[0])
        cdef cnp.ndarray y
        cdef cnp.npy_intp dims[64]
        cdef cnp.npy_intp rows = 1, n = 1
        cdef int k, nd = cnp.PyArray_NDIM(x)
        cdef cnp.npy_int64 *po
        cdef void *px
        if cnp.PyArray_TYPE(x) != self.typenum:
            _same_type(self.node, self.typenum, [x])
        for k in range(nd):
            if k < self.nkeep:
                dims[k] = cnp.PyArray_DIMS(x)[self.perm[k]]
                rows *= dims[k]
            else:
                if cnp.PyArray_DIMS(x)[self.perm[k]] == 0:
                    return _perform_into(self.node, regs, ci)  # raises the reference's error
                n *= cnp.PyArray_DIMS(x)[self.perm[k]]
        y = np.ascontiguousarray((<object>x).transpose(self.perm))
        out = vm_alloc(vm, self.nkeep, dims, cnp.NPY_INT64)
        po = <cnp.npy_int64 *>cnp.PyArray_DATA(<cnp.ndarray>out)
        px = cnp.PyArray_DATA(y)
        with nogil:
            if self.typenum == cnp.NPY_FLOAT64:
                _arg_rows(<cnp.npy_float64 *>px, rows, n, self.minimum, po)
            elif self.typenum == cnp.NPY_FLOAT32:
                _arg_rows(<cnp.npy_float32 *>px, rows, n, self.minimum, po)
            elif self.typenum == cnp.NPY_INT64:
                _arg_rows(<cnp.npy_int64 *>px, rows, n, self.minimum, po)
            else:
                _arg_rows(<cnp.npy_int32 *>px, rows, n, self.minimum, po)
        regs[ci.outs[0]] = out
        return 0


# ---------------------------------------------------------------------------------------------
# Alloc of a 0-d value (zeros, ones, full): a pooled array filled in C

cdef class AllocKernel(Kernel):
    """Alloc(value, *shape) for a 0-d value: a pooled array filled with it (other cases, and
    invalid shapes, run the reference perform)."""

    cdef int typenum

    def __init__(self, node):
        self.node = node
        self.label = "native"
        self.typenum = np.dtype(node.outputs[0].type.dtype).num

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray value = _arr(regs, ci.ins[0])
        cdef cnp.ndarray s
        cdef cnp.npy_intp dims[64]
        cdef int k, nd = ci.nin - 1
        if cnp.PyArray_NDIM(value) != 0 or nd > 64:
            return _perform_into(self.node, regs, ci)
        for k in range(nd):
            s = _arr(regs, ci.ins[k + 1])
            if cnp.PyArray_NDIM(s) != 0 or cnp.PyArray_TYPE(s) != cnp.NPY_INT64:
                return _perform_into(self.node, regs, ci)
            dims[k] = (<cnp.npy_int64 *>cnp.PyArray_DATA(s))[0]
            if dims[k] < 0:
                return _perform_into(self.node, regs, ci)
        out = vm_alloc(vm, nd, dims, self.typenum)
        cnp.PyArray_CopyInto(<cnp.ndarray>out, value)
        regs[ci.outs[0]] = out
        return 0


# ---------------------------------------------------------------------------------------------
# Join: concatenation into a pooled C-contiguous array, one memcpy per input slab

cdef class JoinKernel(Kernel):
    """Join(axis) of same-dtype inputs; mismatched shapes run the reference perform (its error)."""

    cdef int axis, typenum

    def __init__(self, node):
        self.node = node
        self.label = "native"
        self.axis = node.op.axis
        self.typenum = np.dtype(node.outputs[0].type.dtype).num

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray x0 = _arr(regs, ci.ins[0])
        cdef cnp.ndarray x
        cdef int nd = cnp.PyArray_NDIM(x0), k, d, axis = self.axis
        cdef cnp.npy_intp dims[64]
        cdef cnp.npy_intp outer = 1, inner, total = 0, off = 0, o, isz, L
        cdef char *po
        cdef char *px
        if nd > 64 or axis >= nd:
            return _perform_into(self.node, regs, ci)
        for d in range(nd):
            dims[d] = cnp.PyArray_DIMS(x0)[d]
        inputs = []
        for k in range(ci.nin):
            x = _arr(regs, ci.ins[k])
            if cnp.PyArray_NDIM(x) != nd or cnp.PyArray_TYPE(x) != self.typenum:
                return _perform_into(self.node, regs, ci)
            for d in range(nd):
                if d != axis and cnp.PyArray_DIMS(x)[d] != dims[d]:
                    return _perform_into(self.node, regs, ci)
            total += cnp.PyArray_DIMS(x)[axis]
            inputs.append(np.ascontiguousarray(x))
        dims[axis] = total
        for d in range(axis):
            outer *= dims[d]
        isz = cnp.PyArray_ITEMSIZE(x0)
        inner = isz
        for d in range(axis + 1, nd):
            inner *= dims[d]
        out = vm_alloc(vm, nd, dims, self.typenum)
        po = <char *>cnp.PyArray_DATA(<cnp.ndarray>out)
        for x in inputs:
            L = cnp.PyArray_DIMS(x)[axis]
            px = <char *>cnp.PyArray_DATA(x)
            if L * inner:
                with nogil:
                    for o in range(outer):
                        memcpy(po + (o * total + off) * inner, px + o * L * inner, L * inner)
            off += L
        regs[ci.outs[0]] = out
        return 0


# ---------------------------------------------------------------------------------------------
# basic Subtensor: NumPy's own view indexing with an index tuple prepared at link time

cdef tuple _index_tuple(list plan, list regs, CInstr *ci, int k):
    """The NumPy index tuple of a basic-index plan, symbolic entries read from input registers
    ci.ins[k], ci.ins[k + 1], ... (0-d integer arrays), with a trailing Ellipsis."""
    cdef list parts = []
    for kind, val in plan:
        if kind == "c":
            parts.append(val)
        elif kind == "i":
            parts.append(int(regs[ci.ins[k]]))
            k += 1
        else:
            fields = []
            for f in val:
                if f is True:
                    fields.append(int(regs[ci.ins[k]]))
                    k += 1
                else:
                    fields.append(f)
            parts.append(slice(fields[0], fields[1], fields[2]))
    parts.append(Ellipsis)
    return tuple(parts)


cdef class SubtensorKernel(Kernel):
    """Subtensor (ints, slices, new axes): x[index] through NumPy's C indexing; a static index
    is built once, symbolic bounds are filled in per call; index errors run the reference
    perform (its message)."""

    cdef tuple static_idx
    cdef list plan  # per index entry: ("c", value) | ("i",) | ("s", (start, stop, step)) with
                    # each slice field None / an int / True (a symbolic input)
    cdef bint dynamic

    def __init__(self, node, static_idx, plan):
        self.node = node
        self.label = "view"
        self.static_idx = static_idx
        self.plan = plan
        self.dynamic = static_idx is None

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef object x = _arr(regs, ci.ins[0])
        idx = self.static_idx if not self.dynamic else _index_tuple(self.plan, regs, ci, 1)
        try:
            out = x[idx]
        except (IndexError, ValueError, TypeError):
            return _perform_into(self.node, regs, ci)
        regs[ci.outs[0]] = out
        return 0


# ---------------------------------------------------------------------------------------------
# basic IncSubtensor: x[index] += y / x[index] = y on x itself (in place) or on a pooled copy

ctypedef fused incnum_t:
    cnp.npy_float64
    cnp.npy_float32
    cnp.npy_int64
    cnp.npy_int32


cdef void _inc_strided(incnum_t *tag, int nd, const cnp.npy_intp *shape, char *po,
                       const cnp.npy_intp *ost, const char *py, const cnp.npy_intp *yst) noexcept nogil:
    """out[...] += y over an nd-d strided region (y's strides 0 where it broadcasts)."""
    cdef cnp.npy_intp idx[64]
    cdef cnp.npy_intp i, n, so, sy
    cdef int d
    if nd == 0:
        (<incnum_t *>po)[0] = (<incnum_t *>po)[0] + (<const incnum_t *>py)[0]
        return
    n = shape[nd - 1]
    so = ost[nd - 1]
    sy = yst[nd - 1]
    for d in range(nd):
        idx[d] = 0
    while True:
        if so == sizeof(incnum_t) and sy == sizeof(incnum_t):
            for i in range(n):
                (<incnum_t *>po)[i] = (<incnum_t *>po)[i] + (<const incnum_t *>py)[i]
        elif so == sizeof(incnum_t) and sy == 0:
            for i in range(n):
                (<incnum_t *>po)[i] = (<incnum_t *>po)[i] + (<const incnum_t *>py)[0]
        else:
            for i in range(n):
                (<incnum_t *>(po + i * so))[0] = (<incnum_t *>(po + i * so))[0] + (<const incnum_t *>(py + i * sy))[0]
        d = nd - 2
        while d >= 0:
            idx[d] += 1
            po += ost[d]
            py += yst[d]
            if idx[d] < shape[d]:
                break
            po -= ost[d] * shape[d]
            py -= yst[d] * shape[d]
            idx[d] = 0
            d -= 1
        if d < 0:
            return


cdef inline void _extent(cnp.ndarray a, char **lo, char **hi):
    """The byte range [lo, hi) that array `a` touches."""
    cdef int d
    cdef char *p = <char *>cnp.PyArray_DATA(a)
    cdef char *l = p
    cdef char *h = p + cnp.PyArray_ITEMSIZE(a)
    cdef cnp.npy_intp s, n
    for d in range(cnp.PyArray_NDIM(a)):
        n = cnp.PyArray_DIMS(a)[d]
        s = cnp.PyArray_STRIDES(a)[d]
        if n == 0:
            lo[0] = hi[0] = p
            return
        if s > 0:
            h += s * (n - 1)
        else:
            l += s * (n - 1)
    lo[0] = l
    hi[0] = h


cdef class IncSubtensorKernel(Kernel):
    """IncSubtensor (ints, slices, new axes): out = x itself when the instruction may overwrite
    it (and x is writeable), else a pooled copy of x; then out[index] = y (NumPy's C copy) or
    out[index] += y (a strided C loop for float32/float64/int32/int64, NumPy's add for the
    rest). y broadcasts only through the dimensions its type says have length 1 (Theano's rule);
    index errors and bad y shapes run the reference perform (its message)."""

    cdef tuple static_idx
    cdef list plan
    cdef bint dynamic, inplace, set_
    cdef int typenum, ynd
    cdef unsigned char ybcast[64]

    def __init__(self, node, static_idx, plan, bint inplace):
        cdef int d
        self.node = node
        self.label = "native"
        self.static_idx = static_idx
        self.plan = plan
        self.dynamic = static_idx is None
        self.inplace = inplace
        self.set_ = node.op.set_instead_of_inc
        self.typenum = np.dtype(node.outputs[0].type.dtype).num
        ytype = node.inputs[1].type
        self.ynd = ytype.ndim
        for d in range(self.ynd):
            self.ybcast[d] = 1 if ytype.shape[d] == 1 else 0

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray x = _arr(regs, ci.ins[0])
        cdef cnp.ndarray y = _arr(regs, ci.ins[1])
        cdef cnp.ndarray out, view
        cdef cnp.npy_intp ystr[64]
        cdef int nd, d, off, t = self.typenum
        cdef cnp.npy_intp total = 1
        cdef char *lo1
        cdef char *hi1
        cdef char *lo2
        cdef char *hi2
        if (cnp.PyArray_TYPE(x) != t or cnp.PyArray_TYPE(y) != t
                or cnp.PyArray_NDIM(y) != self.ynd or cnp.PyArray_NDIM(x) > 64):
            return _perform_into(self.node, regs, ci)
        idx = self.static_idx if not self.dynamic else _index_tuple(self.plan, regs, ci, 2)
        try:
            view = (<object>x)[idx]
        except (IndexError, ValueError, TypeError):
            return _perform_into(self.node, regs, ci)  # raises the reference's error
        nd = cnp.PyArray_NDIM(view)
        if self.ynd > nd:
            return _perform_into(self.node, regs, ci)
        off = nd - self.ynd
        for d in range(nd):
            total *= cnp.PyArray_DIMS(view)[d]
            if d < off:
                ystr[d] = 0
            elif cnp.PyArray_DIMS(y)[d - off] == cnp.PyArray_DIMS(view)[d]:
                ystr[d] = cnp.PyArray_STRIDES(y)[d - off] if cnp.PyArray_DIMS(view)[d] != 1 else 0
            elif cnp.PyArray_DIMS(y)[d - off] == 1 and self.ybcast[d - off]:
                ystr[d] = 0
            else:
                return _perform_into(self.node, regs, ci)  # raises the reference's error
        if self.inplace and cnp.PyArray_ISWRITEABLE(x):
            out = x
        else:
            out = vm_alloc(vm, cnp.PyArray_NDIM(x), cnp.PyArray_DIMS(x), t)
            cnp.PyArray_CopyInto(out, x)
            view = (<object>out)[idx]
        if total:
            if out is x:
                # y read while x[index] is written: a copy of y when their memory overlaps
                _extent(view, &lo1, &hi1)
                _extent(y, &lo2, &hi2)
                if lo1 < hi2 and lo2 < hi1:
                    y = y.copy()
                    for d in range(off, nd):
                        if ystr[d] != 0:
                            ystr[d] = cnp.PyArray_STRIDES(y)[d - off]
            if self.set_:
                cnp.PyArray_CopyInto(view, y)
            elif t == cnp.NPY_FLOAT64:
                with nogil:
                    _inc_strided(<cnp.npy_float64 *>NULL, nd, cnp.PyArray_DIMS(view), <char *>cnp.PyArray_DATA(view),
                                 cnp.PyArray_STRIDES(view), <char *>cnp.PyArray_DATA(y), ystr)
            elif t == cnp.NPY_FLOAT32:
                with nogil:
                    _inc_strided(<cnp.npy_float32 *>NULL, nd, cnp.PyArray_DIMS(view), <char *>cnp.PyArray_DATA(view),
                                 cnp.PyArray_STRIDES(view), <char *>cnp.PyArray_DATA(y), ystr)
            elif t == cnp.NPY_INT64:
                with nogil:
                    _inc_strided(<cnp.npy_int64 *>NULL, nd, cnp.PyArray_DIMS(view), <char *>cnp.PyArray_DATA(view),
                                 cnp.PyArray_STRIDES(view), <char *>cnp.PyArray_DATA(y), ystr)
            elif t == cnp.NPY_INT32:
                with nogil:
                    _inc_strided(<cnp.npy_int32 *>NULL, nd, cnp.PyArray_DIMS(view), <char *>cnp.PyArray_DATA(view),
                                 cnp.PyArray_STRIDES(view), <char *>cnp.PyArray_DATA(y), ystr)
            else:
                np.add(view, y, out=view, casting="unsafe")
        regs[ci.outs[0]] = out
        return 0
