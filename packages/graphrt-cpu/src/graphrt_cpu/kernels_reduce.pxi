# Included by _vm.pyx (one Cython module): reductions (Reduce over any axes, Argmax /
# Argmin).

cdef extern from "reduce_run.h" nogil:
    int grc_reduce_run(int op, int typenum, int nd, const cnp.npy_intp *shape, const char *x,
                       const cnp.npy_intp *xstrides, char *out, const cnp.npy_intp *ostrides,
                       const unsigned char *reduced)


# ---------------------------------------------------------------------------------------------
# reductions

cdef class ReduceKernel(Kernel):
    """Reduce (sum, prod, max, min, all, any) over any axes: accumulate into the output in the
    input's memory order (numpy's pairwise summation along a reduced contiguous inner axis)."""

    cdef int op, typenum, out_typenum, nd
    cdef unsigned char reduced[GRC_MAX_NDIM]
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
        cdef cnp.npy_intp oshape[GRC_MAX_NDIM]
        cdef cnp.npy_intp ostr[GRC_MAX_NDIM]
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
        cdef cnp.npy_intp dims[GRC_MAX_NDIM]
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
