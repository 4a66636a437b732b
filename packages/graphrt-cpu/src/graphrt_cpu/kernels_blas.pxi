# Included by _vm.pyx (one Cython module): the BLAS kernels (Dot, Gemm, Gemv, Ger) through
# SciPy's scipy.linalg.cython_blas.

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


cdef cnp.ndarray _blas_operand(cnp.ndarray a, int isz, char *trans, int *ld):
    """a itself when it has a BLAS layout (see _blas_layout), else a C-contiguous copy of it;
    sets trans and ld for the array returned."""
    if not _blas_layout(a, isz, trans, ld):
        a = np.ascontiguousarray(a)
        _blas_layout(a, isz, trans, ld)
    return a


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
                x = _blas_operand(x, self.isz, &ta, &lda)
                y = _blas_operand(y, self.isz, &tb, &ldb)
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
                mat = _blas_operand(mat, self.isz, &ta, &lda)
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
# graphopt's BLAS ops: Gemm (beta * z + alpha * dot(x, y)) and Gemv, in place when allowed

cdef inline double _scalar_value(cnp.ndarray a):
    if cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT64:
        return (<double *>cnp.PyArray_DATA(a))[0]
    return (<float *>cnp.PyArray_DATA(a))[0]


cdef int _scale(cnp.ndarray out, double beta) except -1:
    """out *= beta in place; beta == 0 writes zeros (z is not read, as in BLAS)."""
    if beta == 0:
        (<object>out).fill(0)
    elif beta != 1:
        (<object>out).__imul__(beta)
    return 0


cdef class BlasKernel(Kernel):
    """What Gemm, Gemv and Ger share: the output's type number and item size, whether it is
    float64, and whether the instruction allows overwriting the updated operand (z or A)."""

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


cdef class GemmKernel(BlasKernel):
    """Gemm through dgemm/sgemm: the output is z itself (in place, when the instruction's
    in-place map allows it and z's rows are contiguous) or a pooled copy of z."""

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
            if k == 0:  # an empty product: BLAS is not called
                _scale(out, beta)
            else:
                x = _blas_operand(x, self.isz, &ta, &lda)
                y = _blas_operand(y, self.isz, &tb, &ldb)
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


cdef class GemvKernel(BlasKernel):
    """Gemv through dgemv/sgemv: beta * z + alpha * dot(A, x), z overwritten when allowed."""

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
            if k == 0:  # an empty product: BLAS is not called
                _scale(out, beta)
            else:
                A = _blas_operand(A, self.isz, &ta, &lda)
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


cdef class GerKernel(BlasKernel):
    """Ger through dger/sger: A + alpha * outer(x, y), A overwritten when the instruction allows
    it and A has a BLAS layout (C or Fortran order rows/columns), else a pooled copy of A."""

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
