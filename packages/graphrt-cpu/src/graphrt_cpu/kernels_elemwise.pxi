# Included by _vm.pyx (one Cython module): Elemwise through the opcode interpreter of
# csrc/ew_run.h, and the thread and vector-math settings of its loops.

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


def set_num_threads(int n):
    """Threads the native loops of a VM whose own `nthreads` is 0 may use (1: single-threaded);
    a compiled function's VM takes config.num_threads at compile time instead (see
    CPUBackend.link). Without OpenMP only 1 is used."""
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
        self.check_broadcast = op.check_runtime_broadcast
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
        cdef int nin = self.nin, nout = self.nout, nd = self.ndim, k, d, rc, nthreads
        cdef int nops = nin + nout
        cdef cnp.npy_intp shape[GRC_MAX_NDIM]
        cdef cnp.npy_intp strides_buf[16 * 8]
        cdef char *data_buf[16]
        cdef cnp.npy_intp *strides = strides_buf
        cdef char **data = data_buf
        cdef cnp.npy_intp s, total = 1
        cdef PyObject *o
        cdef char *ws
        if nd > GRC_MAX_NDIM:
            raise ValueError(f"graphrt-cpu: more than {GRC_MAX_NDIM} dimensions")
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
                    nthreads = vm.nthreads if vm.nthreads > 0 else grc_num_threads
                    with nogil:
                        rc = grc_ew_run(&self.prog, nd, shape, data, strides, nthreads, ws)
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
