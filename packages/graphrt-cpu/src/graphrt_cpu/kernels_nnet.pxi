# Included by _vm.pyx (one Cython module): the softmax family (softmax, log-softmax, their
# gradients, the fused softmax-crossentropy ops).

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


# the modes (kernel_constants.SOFTMAX_MODES) under their kernel names
cdef enum:
    SM_SOFTMAX = GRC_SOFTMAX
    SM_LOG_SOFTMAX = GRC_LOG_SOFTMAX
    SM_GRAD = GRC_SOFTMAX_GRAD
    SM_LOG_GRAD = GRC_LOG_SOFTMAX_GRAD


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
