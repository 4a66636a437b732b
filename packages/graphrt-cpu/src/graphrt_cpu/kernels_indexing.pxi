# Included by _vm.pyx (one Cython module): indexing (AdvancedSubtensor1 /
# AdvancedIncSubtensor1 row gather and inc/set, basic Subtensor / IncSubtensor).

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
        cdef cnp.npy_intp dims[GRC_MAX_NDIM]
        cdef int nd = cnp.PyArray_NDIM(x), d
        cdef cnp.npy_intp i, m, rowbytes, n = cnp.PyArray_DIMS(x)[0], s
        cdef char *src
        cdef char *dst
        cdef char *pi
        cdef cnp.npy_int64 v
        if nd > GRC_MAX_NDIM or not _indices_ok(ilist, n) or not cnp.PyArray_IS_C_CONTIGUOUS(x):
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
    cdef cnp.npy_intp idx[GRC_MAX_NDIM]
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
    cdef unsigned char ybcast[GRC_MAX_NDIM]

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
        cdef cnp.npy_intp ystr[GRC_MAX_NDIM]
        cdef int nd, d, off, t = self.typenum
        cdef cnp.npy_intp total = 1
        cdef char *lo1
        cdef char *hi1
        cdef char *lo2
        cdef char *hi2
        if (cnp.PyArray_TYPE(x) != t or cnp.PyArray_TYPE(y) != t
                or cnp.PyArray_NDIM(y) != self.ynd or cnp.PyArray_NDIM(x) > GRC_MAX_NDIM):
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
