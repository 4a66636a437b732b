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


# ---------------------------------------------------------------------------------------------
# advanced indexing by several integer arrays: x[i0, i1, ...] and x[:, i0, i1] (full slices
# before and after the arrays), its inc (np.add.at) and set (last write wins)
#
# The index arrays are walked once, in C order over their broadcast shape, into one byte
# offset per index position (checking every index first, so an in-place write never starts
# with a bad index); the copy / set / add then runs per position over the trailing block
# (the dimensions after the indexed axes), inside an outer loop over the leading full slices.

ctypedef cnp.npy_intp intp

ctypedef fused advnum_t:
    cnp.npy_float64
    cnp.npy_float32

cdef enum:
    ADV_GATHER = 0
    ADV_SET = 1
    ADV_INC = 2


cdef object _adv_offsets(VM vm, list regs, int *ins, int k, cnp.ndarray x, int a,
                        const intp *strides, int *bnd, intp *bshape):
    """Broadcast the k index arrays in registers ins[0..k-1] (NumPy's rules: shape `bshape`,
    `bnd` dimensions) and return a pooled intp vector holding, in C order over that shape, the
    byte offset each position selects on axes a..a+k-1 of an array of x's shape with byte
    `strides` (negative indices count from the end). None when the kernel does not take the
    case (an index array that is not int64, shapes that do not broadcast, an index out of
    bounds): the reference perform then raises its error."""
    cdef int j, d, dd, n_b = 0
    cdef intp size, s, v, n, xs, i, q, inner, si, total = 1
    cdef cnp.ndarray ix
    cdef intp ist[GRC_MAX_NDIM]
    cdef intp pos[GRC_MAX_NDIM]
    cdef char *p
    cdef intp *out
    cdef bint bad = False
    if k > GRC_MAX_NDIM:
        return None
    arrays = []
    for j in range(k):
        ix = _arr(regs, ins[j])
        if cnp.PyArray_TYPE(ix) != cnp.NPY_INT64 or cnp.PyArray_NDIM(ix) > GRC_MAX_NDIM:
            return None
        arrays.append(ix)
        if cnp.PyArray_NDIM(ix) > n_b:
            n_b = cnp.PyArray_NDIM(ix)
    for d in range(n_b):  # right-aligned
        size = 1
        for ix in arrays:
            dd = d - (n_b - cnp.PyArray_NDIM(ix))
            if dd >= 0:
                s = cnp.PyArray_DIMS(ix)[dd]
                if s != 1:
                    if size == 1:
                        size = s
                    elif size != s:
                        return None
        bshape[d] = size
        total *= size
    if n_b == 0:
        return None
    bnd[0] = n_b
    offsets = vm_alloc(vm, 1, &total, cnp.NPY_INTP)
    out = <intp *>cnp.PyArray_DATA(<cnp.ndarray>offsets)
    if total == 0:
        return offsets
    inner = bshape[n_b - 1]
    # one index array at a time, its innermost broadcast dimension in a tight loop
    for j in range(k):
        ix = arrays[j]
        for d in range(n_b):
            dd = d - (n_b - cnp.PyArray_NDIM(ix))
            ist[d] = 0 if dd < 0 or cnp.PyArray_DIMS(ix)[dd] == 1 else cnp.PyArray_STRIDES(ix)[dd]
        p = <char *>cnp.PyArray_DATA(ix)
        n = cnp.PyArray_DIMS(x)[a + j]
        xs = strides[a + j]
        si = ist[n_b - 1]
        with nogil:
            for d in range(n_b):
                pos[d] = 0
            q = 0
            while True:
                for i in range(inner):
                    v = (<cnp.npy_int64 *>(p + i * si))[0]
                    bad |= (v < -n) | (v >= n)
                    v += n if v < 0 else 0
                    if j == 0:
                        out[q + i] = v * xs
                    else:
                        out[q + i] += v * xs
                if bad:
                    break
                q += inner
                d = n_b - 2
                while d >= 0:
                    pos[d] += 1
                    p += ist[d]
                    if pos[d] < bshape[d]:
                        break
                    p -= ist[d] * bshape[d]
                    pos[d] = 0
                    d -= 1
                if d < 0:
                    break
        if bad:
            return None
    return offsets


cdef void _strided_offsets(int nd, const intp *shape, const intp *strides, intp *out) noexcept nogil:
    """out[p] = the byte offset of C-order position p of an nd-d shape with these strides."""
    cdef intp pos[GRC_MAX_NDIM]
    cdef intp o = 0, p = 0
    cdef int d
    for d in range(nd):
        if shape[d] == 0:
            return
        pos[d] = 0
    while True:
        out[p] = o
        p += 1
        d = nd - 1
        while d >= 0:
            pos[d] += 1
            o += strides[d]
            if pos[d] < shape[d]:
                break
            o -= strides[d] * shape[d]
            pos[d] = 0
            d -= 1
        if d < 0:
            return


cdef void _adv_block(advnum_t *tag, int mode, int nt, const intp *shape, char *dst,
                     const intp *dst_st, const char *src, const intp *src_st) noexcept nogil:
    """dst[...] = src[...] (ADV_GATHER, ADV_SET) or dst[...] += src[...] (ADV_INC) over an nt-d
    strided block (src strides 0 where it broadcasts)."""
    cdef intp pos[GRC_MAX_NDIM]
    cdef intp i, n, sd, ss
    cdef int d
    if nt == 0:
        if mode == ADV_INC:
            (<advnum_t *>dst)[0] = (<advnum_t *>dst)[0] + (<const advnum_t *>src)[0]
        else:
            (<advnum_t *>dst)[0] = (<const advnum_t *>src)[0]
        return
    n = shape[nt - 1]
    sd = dst_st[nt - 1]
    ss = src_st[nt - 1]
    for d in range(nt - 1):
        pos[d] = 0
    while True:
        if mode == ADV_INC:
            for i in range(n):
                (<advnum_t *>(dst + i * sd))[0] = (<advnum_t *>(dst + i * sd))[0] + (<const advnum_t *>(src + i * ss))[0]
        elif sd == sizeof(advnum_t) and ss == sizeof(advnum_t):
            memcpy(dst, src, n * sizeof(advnum_t))
        else:
            for i in range(n):
                (<advnum_t *>(dst + i * sd))[0] = (<const advnum_t *>(src + i * ss))[0]
        d = nt - 2
        while d >= 0:
            pos[d] += 1
            dst += dst_st[d]
            src += src_st[d]
            if pos[d] < shape[d]:
                break
            dst -= dst_st[d] * shape[d]
            src -= src_st[d] * shape[d]
            pos[d] = 0
            d -= 1
        if d < 0:
            return


cdef void _adv_loop(advnum_t *tag, int mode, int a, const intp *lshape, intp nb, int nt,
                    const intp *tshape, char *dst, const intp *dst_st, const intp *doffs,
                    intp dstep, const char *src, const intp *src_st, const intp *soffs) noexcept nogil:
    """For each position of the leading full slices (a dims of lshape, strides dst_st[:a] /
    src_st[:a]) and each of the nb index positions p: the block op of _adv_block between
    dst + doffs[p] (or p * dstep when doffs is NULL) and src + soffs[p], over the trailing
    nt dims (tshape, strides dst_st[a:] / src_st[a:]). Positions run in C order, so with
    repeated indices the last write wins (as NumPy's assignment) and increments accumulate."""
    cdef intp pos[GRC_MAX_NDIM]
    cdef intp p
    cdef int d
    for d in range(a):
        if lshape[d] == 0:
            return
        pos[d] = 0
    while True:
        if nt == 0 and doffs == NULL:  # gather of scalars: x[i, j] into a contiguous run
            for p in range(nb):
                (<advnum_t *>(dst + p * dstep))[0] = (<const advnum_t *>(src + soffs[p]))[0]
        elif nt == 0 and mode == ADV_INC:
            for p in range(nb):
                (<advnum_t *>(dst + doffs[p]))[0] = (<advnum_t *>(dst + doffs[p]))[0] + (<const advnum_t *>(src + soffs[p]))[0]
        elif nt == 0:
            for p in range(nb):
                (<advnum_t *>(dst + doffs[p]))[0] = (<const advnum_t *>(src + soffs[p]))[0]
        else:
            for p in range(nb):
                _adv_block(tag, mode, nt, tshape, dst + (doffs[p] if doffs != NULL else p * dstep),
                           dst_st + a, src + soffs[p], src_st + a)
        d = a - 1
        while d >= 0:
            pos[d] += 1
            dst += dst_st[d]
            src += src_st[d]
            if pos[d] < lshape[d]:
                break
            dst -= dst_st[d] * lshape[d]
            src -= src_st[d] * lshape[d]
            pos[d] = 0
            d -= 1
        if d < 0:
            return


cdef inline void _c_strides(int nd, const intp *dims, intp itemsize, intp *out) noexcept:
    cdef int d
    for d in range(nd - 1, -1, -1):
        out[d] = itemsize
        itemsize *= dims[d]


cdef class AdvancedIndexKernel(Kernel):
    """AdvancedSubtensor / AdvancedIncSubtensor whose index is `a` full slices, then k integer
    arrays (broadcast together by NumPy's rules), then full slices: x[rows, cols],
    x[:, rows, cols], and their inc (repeats accumulate, np.add.at) and set (the last write
    wins, as NumPy's assignment), float32/float64, any layout of x, y and the index arrays.
    The output of a read is a pooled C-contiguous array; a write works on x itself when the
    instruction may overwrite it (and x is writeable), else on a pooled copy. Indices out of
    bounds, index shapes that do not broadcast and bad y shapes run the reference perform
    (its error), before anything is written."""

    cdef int mode, a, k, typenum, ynd
    cdef bint inplace
    cdef unsigned char ybcast[GRC_MAX_NDIM]

    def __init__(self, node, int a, int k, bint inplace=False):
        cdef int d
        self.node = node
        self.label = "native"
        self.a = a
        self.k = k
        self.inplace = inplace
        self.typenum = np.dtype(node.outputs[0].type.dtype).num
        self.ynd = 0
        if len(node.inputs) == 1 + k:  # a read
            self.mode = ADV_GATHER
        else:
            self.mode = ADV_SET if node.op.set_instead_of_inc else ADV_INC
            ytype = node.inputs[1].type
            self.ynd = ytype.ndim
            for d in range(self.ynd):
                self.ybcast[d] = 1 if ytype.shape[d] == 1 else 0

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef cnp.ndarray x = _arr(regs, ci.ins[0])
        cdef int xnd = cnp.PyArray_NDIM(x), a = self.a, k = self.k, t = self.typenum
        cdef int nt = xnd - a - k, bnd, tnd, d
        cdef intp bshape[GRC_MAX_NDIM]
        cdef intp dims[GRC_MAX_NDIM]
        if cnp.PyArray_TYPE(x) != t or nt < 0 or xnd > GRC_MAX_NDIM:
            return _perform_into(self.node, regs, ci)
        if self.mode != ADV_GATHER:
            return self._write(vm, regs, ci, x)
        offs = _adv_offsets(vm, regs, ci.ins + 1, k, x, a, cnp.PyArray_STRIDES(x), &bnd, bshape)
        tnd = a + bnd + nt
        if offs is None or tnd > GRC_MAX_NDIM:
            return _perform_into(self.node, regs, ci)
        for d in range(a):
            dims[d] = cnp.PyArray_DIMS(x)[d]
        for d in range(bnd):
            dims[a + d] = bshape[d]
        for d in range(nt):
            dims[a + bnd + d] = cnp.PyArray_DIMS(x)[a + k + d]
        out = vm_alloc(vm, tnd, dims, t)
        _gather(t, <cnp.ndarray>out, x, a, bnd, cnp.PyArray_SIZE(<cnp.ndarray>offs), nt,
                <intp *>cnp.PyArray_DATA(<cnp.ndarray>offs))
        regs[ci.outs[0]] = out
        return 0

    cdef int _write(self, VM vm, list regs, CInstr *ci, cnp.ndarray x) except -1:
        cdef cnp.ndarray y = _arr(regs, ci.ins[1])
        cdef cnp.ndarray out
        cdef int xnd = cnp.PyArray_NDIM(x), a = self.a, k = self.k, t = self.typenum
        cdef int nt = xnd - a - k, bnd, tnd, d, off
        cdef intp nb
        cdef intp *po
        cdef intp *py
        cdef intp bshape[GRC_MAX_NDIM]
        cdef intp tshape[GRC_MAX_NDIM]
        cdef intp ost[GRC_MAX_NDIM]
        cdef intp ystr[GRC_MAX_NDIM]
        cdef bint own = self.inplace and cnp.PyArray_ISWRITEABLE(x)
        cdef char *lo1
        cdef char *hi1
        cdef char *lo2
        cdef char *hi2
        if cnp.PyArray_TYPE(y) != t or cnp.PyArray_NDIM(y) != self.ynd:
            return _perform_into(self.node, regs, ci)
        # the offsets are taken with the strides of the array written: x, or its C-order copy
        if own:
            memcpy(ost, cnp.PyArray_STRIDES(x), xnd * sizeof(intp))
        else:
            _c_strides(xnd, cnp.PyArray_DIMS(x), cnp.PyArray_ITEMSIZE(x), ost)
        offs = _adv_offsets(vm, regs, ci.ins + 2, k, x, a, ost, &bnd, bshape)
        if offs is None:
            return _perform_into(self.node, regs, ci)
        nb = cnp.PyArray_SIZE(<cnp.ndarray>offs)
        tnd = a + bnd + nt
        if tnd > GRC_MAX_NDIM or self.ynd > tnd:
            return _perform_into(self.node, regs, ci)
        for d in range(a):
            tshape[d] = cnp.PyArray_DIMS(x)[d]
        for d in range(bnd):
            tshape[a + d] = bshape[d]
        for d in range(nt):
            tshape[a + bnd + d] = cnp.PyArray_DIMS(x)[a + k + d]
        # y broadcasts to the indexed shape only through dims its type says have length 1
        off = tnd - self.ynd
        for d in range(tnd):
            if d < off:
                ystr[d] = 0
            elif cnp.PyArray_DIMS(y)[d - off] == tshape[d]:
                ystr[d] = cnp.PyArray_STRIDES(y)[d - off] if tshape[d] != 1 else 0
            elif cnp.PyArray_DIMS(y)[d - off] == 1 and self.ybcast[d - off]:
                ystr[d] = 0
            else:
                return _perform_into(self.node, regs, ci)  # raises the reference's error
        if own:
            out = x
            # y read while x is written: a copy of y when their memory overlaps
            _extent(x, &lo1, &hi1)
            _extent(y, &lo2, &hi2)
            if lo1 < hi2 and lo2 < hi1:
                y = y.copy()
                for d in range(off, tnd):
                    if ystr[d] != 0:
                        ystr[d] = cnp.PyArray_STRIDES(y)[d - off]
        else:
            out = vm_alloc(vm, xnd, cnp.PyArray_DIMS(x), t)
            cnp.PyArray_CopyInto(out, x)
        yoffs = vm_alloc(vm, 1, &nb, cnp.NPY_INTP)
        # the write order: leading slices, index positions, trailing dims (out's strides
        # for the slices, the index offsets for the arrays)
        for d in range(nt):
            ost[a + d] = ost[a + k + d]
            tshape[a + d] = tshape[a + bnd + d]
        po = <intp *>cnp.PyArray_DATA(<cnp.ndarray>offs)
        py = <intp *>cnp.PyArray_DATA(<cnp.ndarray>yoffs)
        with nogil:
            _strided_offsets(bnd, bshape, ystr + a, py)
        for d in range(nt):
            ystr[a + d] = ystr[a + bnd + d]
        if t == cnp.NPY_FLOAT64:
            with nogil:
                _adv_loop(<cnp.npy_float64 *>NULL, self.mode, a, tshape, nb, nt, tshape + a,
                          <char *>cnp.PyArray_DATA(out), ost, po, 0,
                          <char *>cnp.PyArray_DATA(y), ystr, py)
        else:
            with nogil:
                _adv_loop(<cnp.npy_float32 *>NULL, self.mode, a, tshape, nb, nt, tshape + a,
                          <char *>cnp.PyArray_DATA(out), ost, po, 0,
                          <char *>cnp.PyArray_DATA(y), ystr, py)
        regs[ci.outs[0]] = out
        return 0


cdef int _gather(int t, cnp.ndarray out, cnp.ndarray x, int a, int bnd, intp nb, int nt,
                 const intp *offs) except -1:
    """out (C order: leading slices, index positions, trailing dims) = x at the offsets."""
    cdef intp ost[GRC_MAX_NDIM]
    cdef intp xst[GRC_MAX_NDIM]
    cdef intp shape[GRC_MAX_NDIM]
    cdef intp blockbytes = cnp.PyArray_ITEMSIZE(x)
    cdef int d, k = cnp.PyArray_NDIM(x) - a - nt
    _c_strides(cnp.PyArray_NDIM(out), cnp.PyArray_DIMS(out), cnp.PyArray_ITEMSIZE(out), ost)
    for d in range(a):
        shape[d] = cnp.PyArray_DIMS(x)[d]
        xst[d] = cnp.PyArray_STRIDES(x)[d]
    for d in range(nt):
        shape[a + d] = cnp.PyArray_DIMS(x)[a + k + d]
        xst[a + d] = cnp.PyArray_STRIDES(x)[a + k + d]
        ost[a + d] = ost[a + bnd + d]
        blockbytes *= shape[a + d]
    if cnp.PyArray_SIZE(out) == 0:
        return 0
    if t == cnp.NPY_FLOAT64:
        with nogil:
            _adv_loop(<cnp.npy_float64 *>NULL, ADV_GATHER, a, shape, nb, nt, shape + a,
                      <char *>cnp.PyArray_DATA(out), ost, NULL, blockbytes,
                      <char *>cnp.PyArray_DATA(x), xst, offs)
    else:
        with nogil:
            _adv_loop(<cnp.npy_float32 *>NULL, ADV_GATHER, a, shape, nb, nt, shape + a,
                      <char *>cnp.PyArray_DATA(out), ost, NULL, blockbytes,
                      <char *>cnp.PyArray_DATA(x), xst, offs)
    return 0
