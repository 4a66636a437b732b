# Included by _vm.pyx (one Cython module): kernels that make views or new arrays from
# shapes (DimShuffle, Shape, Reshape, Alloc, Join).

# ---------------------------------------------------------------------------------------------
# views and shapes: DimShuffle (a strided view), Shape / Shape_i

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
    cdef cnp.npy_intp dims[GRC_MAX_NDIM]
    cdef cnp.npy_intp strides[GRC_MAX_NDIM]
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
        cdef cnp.npy_intp dims[GRC_MAX_NDIM]
        cdef cnp.PyArray_Dims newshape
        cdef int k
        cdef char *p
        cdef cnp.npy_intp s
        if (cnp.PyArray_TYPE(shp) != cnp.NPY_INT64 or cnp.PyArray_NDIM(shp) != 1
                or cnp.PyArray_DIMS(shp)[0] != self.nd or self.nd > GRC_MAX_NDIM):
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
        cdef cnp.npy_intp dims[GRC_MAX_NDIM]
        cdef int k, nd = ci.nin - 1
        if cnp.PyArray_NDIM(value) != 0 or nd > GRC_MAX_NDIM:
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
        cdef cnp.npy_intp dims[GRC_MAX_NDIM]
        cdef cnp.npy_intp outer = 1, inner, total = 0, off = 0, o, isz, L
        cdef char *po
        cdef char *px
        if nd > GRC_MAX_NDIM or axis >= nd:
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
