# Included by _vm.pyx: kernels of third-party op packages, called through the public C ABI
# of include/graphrt_cpu.h (see graphrt_cpu.register_kernel).

from cpython.exc cimport PyErr_Occurred
from cpython.pycapsule cimport PyCapsule_CheckExact, PyCapsule_GetContext, PyCapsule_IsValid


cdef extern from "Python.h":
    void Py_XDECREF(PyObject *o)
    void PyErr_Clear()

cdef extern from *:
    """
    #define _grc_kind(a) (PyArray_DESCR((PyArrayObject *)(a))->kind)
    """
    char _grc_kind(object a)

cdef extern from "graphrt_cpu.h":
    ctypedef Py_ssize_t graphrt_intp
    ctypedef struct graphrt_array:
        char *data
        int ndim
        int typenum
        int itemsize
        char kind
        const graphrt_intp *shape
        const graphrt_intp *strides
        void *object
    cdef struct graphrt_call:
        int abi_version
        int nin, nout
        const graphrt_array *inputs
        graphrt_array *outputs
        void *params
        int (*alloc_output)(const graphrt_call *call, int k, int ndim, const graphrt_intp *shape,
                            int typenum) noexcept
        char *error
        size_t error_size
        void *runtime
    ctypedef int (*graphrt_kernel)(const graphrt_call *call) noexcept
    int GRAPHRT_CPU_ABI_VERSION
    int GRAPHRT_MAX_ARGS
    int GRAPHRT_OK
    int GRAPHRT_VALUE_ERROR
    int GRAPHRT_TYPE_ERROR
    int GRAPHRT_USE_PERFORM
    const char *GRAPHRT_KERNEL_CAPSULE_NAME


KERNEL_CAPSULE_NAME = "graphrt_cpu.kernel"
ABI_VERSION = GRAPHRT_CPU_ABI_VERSION
PLUGIN_MAX_ARGS = GRAPHRT_MAX_ARGS

cdef extern from "graphrt_cpu.h":
    enum:
        _PLUGIN_MAX "GRAPHRT_MAX_ARGS"  # a compile-time size for the arrays below

cdef extern from *:
    """
    #if GRAPHRT_MAX_NDIM != GRC_MAX_NDIM
    #error "include/graphrt_cpu.h GRAPHRT_MAX_NDIM must equal kernel_constants.MAX_NDIM"
    #endif
    """

cdef enum:
    _PLUGIN_ERR = 512


cdef struct _PluginState:
    graphrt_call call
    PyObject *vm
    PyObject *kernel
    PyObject *pending  # an exception alloc_output recorded (owned), or NULL
    PyObject *outs[_PLUGIN_MAX]  # owned references to the allocated outputs


def kernel_abi_version(capsule):
    """The ABI version a kernel capsule was compiled against; a clear error if it is not one."""
    cdef const char *cname
    if not PyCapsule_CheckExact(capsule):
        raise TypeError(f"graphrt-cpu: a native kernel is a PyCapsule named {KERNEL_CAPSULE_NAME!r} "
                        f"(made by graphrt_kernel_capsule() in graphrt_cpu.h), got {_describe(capsule)}")
    if not PyCapsule_IsValid(capsule, GRAPHRT_KERNEL_CAPSULE_NAME):
        cname = PyCapsule_GetName(capsule)
        name = None if cname == NULL else cname.decode("utf-8", "replace")
        raise TypeError(f"graphrt-cpu: a native kernel capsule must be named {KERNEL_CAPSULE_NAME!r}, "
                        f"got {name!r}")
    return <Py_ssize_t>PyCapsule_GetContext(capsule)


cdef int _plugin_alloc(const graphrt_call *call, int k, int ndim, const graphrt_intp *shape,
                       int typenum) noexcept:
    """alloc_output of the ABI: a pooled output array, checked against the node's output type."""
    cdef _PluginState *st = <_PluginState *>call.runtime
    cdef PluginKernel kernel = <PluginKernel>st.kernel
    cdef cnp.ndarray arr
    cdef graphrt_array *o
    cdef int d
    try:
        if k < 0 or k >= call.nout:
            raise IndexError(f"{kernel.node.op}: native kernel allocated output {k}, "
                             f"but the node has {call.nout} output(s)")
        if st.outs[k] != NULL:
            raise RuntimeError(f"{kernel.node.op}: native kernel allocated output {k} twice")
        out_type = kernel.node.outputs[k].type
        if typenum != kernel.out_typenum[k] or ndim != out_type.ndim:
            got = typenum_dtype(typenum) if 0 <= typenum < 256 else f"type number {typenum}"
            raise TypeError(f"{kernel.node.op}: native kernel allocated output {k} as {ndim}-d {got}, "
                            f"but the node's output type is {out_type} (dtype {out_type.dtype}, "
                            f"{out_type.ndim}-d)")
        for d in range(ndim):
            if shape[d] < 0:
                raise ValueError(f"{kernel.node.op}: native kernel asked for output {k} with a "
                                 f"negative length {shape[d]}")
            want = out_type.shape[d]
            if want is not None and want != shape[d]:
                got_shape = []
                for j in range(ndim):
                    got_shape.append(shape[j])
                raise ValueError(f"{kernel.node.op}: native kernel allocated output {k} with shape "
                                 f"{tuple(got_shape)}, but its type says {out_type.shape}")
        arr = vm_alloc(<VM>st.vm, ndim, <cnp.npy_intp *>shape, typenum)
        Py_INCREF(<PyObject *>arr)
        st.outs[k] = <PyObject *>arr
        o = &call.outputs[k]
        o.data = <char *>cnp.PyArray_DATA(arr)
        o.ndim = ndim
        o.typenum = typenum
        o.itemsize = <int>cnp.PyArray_ITEMSIZE(arr)
        o.kind = _grc_kind(arr)
        o.shape = <const graphrt_intp *>cnp.PyArray_DIMS(arr)
        o.strides = <const graphrt_intp *>cnp.PyArray_STRIDES(arr)
        o.object = <void *>arr
        return 0
    except BaseException as exc:
        if st.pending == NULL:  # the first failure is the one to report
            Py_INCREF(<PyObject *>exc)
            st.pending = <PyObject *>exc
        return -1


cdef class PluginKernel(Kernel):
    """A third-party op's native kernel (a `graphrt_kernel` from a capsule), called directly
    from the VM loop with the public ABI of graphrt_cpu.h."""

    cdef graphrt_kernel fn
    cdef void *params
    cdef object capsule
    cdef object params_owner  # keeps the memory `params` points into alive
    cdef int nin, nout
    cdef int out_typenum[_PLUGIN_MAX]

    def __init__(self, node, capsule, params=None, label="native"):
        cdef int k
        version = kernel_abi_version(capsule)
        if version != GRAPHRT_CPU_ABI_VERSION:
            raise ImportError(f"graphrt-cpu: the native kernel for {type(node.op).__name__} was built for "
                              f"kernel ABI version {version}, this graphrt-cpu has version "
                              f"{GRAPHRT_CPU_ABI_VERSION}: rebuild the package that provides it")
        if len(node.inputs) > _PLUGIN_MAX or len(node.outputs) > _PLUGIN_MAX:
            raise ValueError(f"graphrt-cpu: native kernels take at most {_PLUGIN_MAX} inputs and outputs")
        self.node = node
        self.label = label
        self.capsule = capsule
        self.fn = <graphrt_kernel>PyCapsule_GetPointer(capsule, GRAPHRT_KERNEL_CAPSULE_NAME)
        self.nin = len(node.inputs)
        self.nout = len(node.outputs)
        for k in range(self.nout):
            self.out_typenum[k] = np.dtype(node.outputs[k].type.dtype).num
        self.params = NULL
        self.params_owner = None
        if params is None:
            pass
        elif PyCapsule_CheckExact(params):
            self.params = PyCapsule_GetPointer(params, PyCapsule_GetName(params))
            self.params_owner = params
        else:
            try:
                # a private, aligned copy: the kernel may read it as any C struct
                buf = np.frombuffer(params, dtype=np.uint8).copy()
            except (TypeError, ValueError) as exc:
                raise TypeError(f"graphrt-cpu: kernel params for {node.op} must be None, a PyCapsule or a "
                                f"contiguous buffer (bytes, a NumPy array), got {_describe(params)}") from exc
            self.params = cnp.PyArray_DATA(buf) if buf.size else NULL
            self.params_owner = buf

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef _PluginState st
        cdef graphrt_array ins[_PLUGIN_MAX]
        cdef graphrt_array outs[_PLUGIN_MAX]
        cdef char err[_PLUGIN_ERR]
        cdef cnp.ndarray x
        cdef int k, rc
        for k in range(ci.nin):
            x = _arr(regs, ci.ins[k])
            ins[k].data = <char *>cnp.PyArray_DATA(x)
            ins[k].ndim = cnp.PyArray_NDIM(x)
            ins[k].typenum = cnp.PyArray_TYPE(x)
            ins[k].itemsize = <int>cnp.PyArray_ITEMSIZE(x)
            ins[k].kind = _grc_kind(x)
            ins[k].shape = <const graphrt_intp *>cnp.PyArray_DIMS(x)
            ins[k].strides = <const graphrt_intp *>cnp.PyArray_STRIDES(x)
            ins[k].object = <void *>x  # regs holds the reference during the call
        memset(outs, 0, ci.nout * sizeof(graphrt_array))
        err[0] = 0
        st.call.abi_version = GRAPHRT_CPU_ABI_VERSION
        st.call.nin = ci.nin
        st.call.nout = ci.nout
        st.call.inputs = ins
        st.call.outputs = outs
        st.call.params = self.params
        st.call.alloc_output = _plugin_alloc
        st.call.error = err
        st.call.error_size = _PLUGIN_ERR
        st.call.runtime = &st
        st.vm = <PyObject *>vm
        st.kernel = <PyObject *>self
        st.pending = NULL
        for k in range(ci.nout):
            st.outs[k] = NULL
        rc = self.fn(&st.call)
        if rc == GRAPHRT_OK and st.pending == NULL and PyErr_Occurred() == NULL:
            for k in range(ci.nout):
                if st.outs[k] == NULL:
                    _plugin_release(&st, ci.nout)
                    raise RuntimeError(f"{self.node.op}: native kernel returned success without "
                                       f"allocating output {k}")
            for k in range(ci.nout):
                regs[ci.outs[k]] = <object>st.outs[k]
            _plugin_release(&st, ci.nout)
            return 0
        return self._fail(&st, ci, regs, rc, err)

    cdef int _fail(self, _PluginState *st, CInstr *ci, list regs, int rc, char *err) except -1:
        cdef PyObject *pending = st.pending
        st.pending = NULL
        _plugin_release(st, ci.nout)
        if pending != NULL:
            exc = <object>pending
            Py_XDECREF(pending)
            if PyErr_Occurred() != NULL:
                PyErr_Clear()
            raise exc
        if PyErr_Occurred() != NULL:
            return -1  # the kernel's Python exception propagates
        if rc == GRAPHRT_USE_PERFORM:
            return _perform_into(self.node, regs, ci)
        msg = err.decode("utf-8", "replace") or f"native kernel failed (code {rc})"
        if rc == GRAPHRT_VALUE_ERROR:
            raise ValueError(msg)
        if rc == GRAPHRT_TYPE_ERROR:
            raise TypeError(msg)
        raise RuntimeError(msg)


cdef void _plugin_release(_PluginState *st, int nout):
    cdef int k
    for k in range(nout):
        Py_XDECREF(st.outs[k])
        st.outs[k] = NULL
