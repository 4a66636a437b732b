# Included by _vm.pyx (one Cython module): the Scan loop, run by the VM without Python.

# ---------------------------------------------------------------------------------------------
# Scan: every step runs the step function's own VM (`_run_regs`) on one register list that
# lives for the whole loop; the sequences' entries and the buffer states' tap rows are views
# made in C, the last-only states are carried as the arrays the step produced (the step's pool
# reuses the previous one's buffer once the loop drops it), each buffer state's and map-like
# output's value is copied into its row of the preallocated output. graphcore's
# `Scan.perform` is the reference: same steps, same checks, same errors (its `check_steps`,
# `check_initial`, `state_shape_error`, `output_shape_error`, `empty_output`).

cdef inline object _row(cnp.ndarray x, Py_ssize_t i):
    """x[i, ...] as a view (a 0-d array for a vector, never a NumPy scalar)."""
    cdef int nd = cnp.PyArray_NDIM(x)
    cdef PyObject *descr = <PyObject *>cnp.PyArray_DESCR(x)
    cdef int flags = cnp.NPY_ARRAY_WRITEABLE if cnp.PyArray_ISWRITEABLE(x) else 0
    Py_INCREF(descr)
    out = _new_from_descr(<void *>np.ndarray, <void *>descr, nd - 1, cnp.PyArray_DIMS(x) + 1,
                          cnp.PyArray_STRIDES(x) + 1,
                          <char *>cnp.PyArray_DATA(x) + i * cnp.PyArray_STRIDES(x)[0], flags, NULL)
    Py_INCREF(<PyObject *>x)
    _set_base(<void *>out, <PyObject *>x)
    return out


cdef inline bint _same_shape(cnp.ndarray a, int nd, cnp.npy_intp *dims):
    cdef int d
    if cnp.PyArray_NDIM(a) != nd:
        return False
    for d in range(nd):
        if cnp.PyArray_DIMS(a)[d] != dims[d]:
            return False
    return True


cdef inline cnp.ndarray _as_array(object v):
    return <cnp.ndarray>v if cnp.PyArray_Check(v) else np.asarray(v)


cdef class ScanKernel(Kernel):
    """A Scan node whose step function was compiled for this VM: the loop of `Scan.perform`
    with each step run by the step's VM directly (no Function call, no Python per step unless
    an inner op runs its `perform` or an input type has a static shape to check)."""

    cdef object op
    cdef VM inner
    cdef int n_seqs, n_states, n_nitsot, n_nonseqs
    cdef bint as_while
    cdef int *windows       # per state: the entries before step 0 (buffer states)
    cdef int *keep          # per state: 1 = a buffer of every step, 0 = only the last value
    cdef int *ntaps         # per state: how many taps
    cdef int *tap_off       # all states' taps, flat (negative offsets)
    cdef int *in_slots      # per inner input: its register in the step's VM
    cdef int *out_slots     # per inner output: its register
    cdef int *nitsot_types  # per map-like output: its dtype's type number
    cdef list clear_slots   # registers of outputs to drop after a step (their pool buffers come back)
    cdef list step_checks   # (inner input index, InputCheck): static shapes checked per step
    cdef list nonseq_checks  # (inner input index, InputCheck): checked once per call
    cdef tuple copy_last    # last-only states whose final value is copied (the step's copy_outputs)

    def __cinit__(self):
        self.windows = NULL
        self.keep = NULL
        self.ntaps = NULL
        self.tap_off = NULL
        self.in_slots = NULL
        self.out_slots = NULL
        self.nitsot_types = NULL

    def __init__(self, node, VM inner, clear_slots, step_checks, nonseq_checks, copy_last):
        """inner: the VM of the step function (`node.op.fn`), whose inputs are the node's
        inner inputs and whose outputs its inner outputs, in order."""
        op = node.op
        info = op.info
        self.node = node
        self.label = "native"
        self.op = op
        self.inner = inner
        self.n_seqs = info.n_seqs
        self.n_states = info.n_states
        self.n_nitsot = info.n_nitsot
        self.n_nonseqs = info.n_nonseqs
        self.as_while = info.as_while
        self.windows = _int_array(info.windows)
        self.keep = _int_array([1 if k else 0 for k in info.keep_all])
        self.ntaps = _int_array([len(t) for t in info.taps])
        self.tap_off = _int_array([d for t in info.taps for d in t])
        self.in_slots = _int_array(inner.input_slots)
        self.out_slots = _int_array(inner.output_slots)
        self.nitsot_types = _int_array([np.dtype(o.type.dtype).num
                                        for o in node.outputs[info.n_states:]])
        self.clear_slots = list(clear_slots)
        self.step_checks = list(step_checks)
        self.nonseq_checks = list(nonseq_checks)
        self.copy_last = tuple(copy_last)

    def __dealloc__(self):
        free(self.windows)
        free(self.keep)
        free(self.ntaps)
        free(self.tap_off)
        free(self.in_slots)
        free(self.out_slots)
        free(self.nitsot_types)

    cdef int run(self, VM vm, list regs, CInstr *ci) except -1:
        cdef Py_ssize_t n, t, done, k, j, d, base, pos, slot, tk
        cdef int ns = self.n_states, w
        cdef cnp.ndarray buf, value, init, row
        cdef cnp.npy_intp dims[GRC_MAX_NDIM]
        cdef VM inner = self.inner
        cdef list iregs
        cdef bint stop
        op = self.op
        n = int(regs[ci.ins[0]])
        seqs = [_as_array(regs[ci.ins[1 + k]]) for k in range(self.n_seqs)]
        op.check_steps(n, seqs)
        bufs = [None] * ns
        lasts = [None] * ns
        for k in range(ns):
            v = regs[ci.ins[1 + self.n_seqs + k]]
            if not self.keep[k]:
                lasts[k] = v
                continue
            init = np.asarray(v)
            op.check_initial(k, init)
            w = self.windows[k]
            dims[0] = w + n
            for d in range(1, cnp.PyArray_NDIM(init)):
                dims[d] = cnp.PyArray_DIMS(init)[d]
            buf = vm_alloc(vm, cnp.PyArray_NDIM(init), dims, cnp.PyArray_TYPE(init))
            if w:
                if cnp.PyArray_CopyInto(buf[:w], init) < 0:
                    return -1
            bufs[k] = buf
        nitsot = [None] * self.n_nitsot

        # the step's registers, for the whole loop: constants in place, non-sequences once
        iregs = list(inner.template)
        pos = self.n_seqs + sum(self.ntaps[k] for k in range(ns))
        for j in range(self.n_nonseqs):
            iregs[self.in_slots[pos + j]] = regs[ci.ins[1 + self.n_seqs + ns + j]]
        for j, check in self.nonseq_checks:
            _check_step_input(check, iregs[self.in_slots[j]])
        done = n
        for t in range(n):
            for j in range(self.n_seqs):
                iregs[self.in_slots[j]] = _row(<cnp.ndarray>seqs[j], t)
            pos = self.n_seqs
            tk = 0
            for k in range(ns):
                if self.keep[k]:
                    buf = <cnp.ndarray>bufs[k]
                    base = self.windows[k] + t
                    for d in range(self.ntaps[k]):
                        iregs[self.in_slots[pos + d]] = _row(buf, base + self.tap_off[tk + d])
                else:
                    iregs[self.in_slots[pos]] = lasts[k]
                pos += self.ntaps[k]
                tk += self.ntaps[k]
            for j, check in self.step_checks:
                _check_step_input(check, iregs[self.in_slots[j]])
            inner._run_regs(iregs)
            for k in range(ns):
                v = iregs[self.out_slots[k]]
                if not self.keep[k]:
                    lasts[k] = v
                    continue
                buf = <cnp.ndarray>bufs[k]
                value = _as_array(v)
                row = _row(buf, self.windows[k] + t)
                if not _same_shape(value, cnp.PyArray_NDIM(row), cnp.PyArray_DIMS(row)):
                    raise op.state_shape_error(t, k, (<object>value).shape, (<object>row).shape)
                if cnp.PyArray_CopyInto(row, value) < 0:
                    return -1
            for j in range(self.n_nitsot):
                value = _as_array(iregs[self.out_slots[ns + j]])
                if nitsot[j] is None:  # the lowering checked the ndim (<= GRC_MAX_NDIM)
                    dims[0] = n
                    for d in range(cnp.PyArray_NDIM(value)):
                        dims[d + 1] = cnp.PyArray_DIMS(value)[d]
                    nitsot[j] = vm_alloc(vm, cnp.PyArray_NDIM(value) + 1, dims,
                                         self.nitsot_types[j])
                buf = <cnp.ndarray>nitsot[j]
                if not _same_shape(value, cnp.PyArray_NDIM(buf) - 1, cnp.PyArray_DIMS(buf) + 1):
                    raise op.output_shape_error(t, ns + j, (<object>value).shape,
                                                  (<object>buf).shape[1:])
                if cnp.PyArray_CopyInto(_row(buf, t), value) < 0:
                    return -1
            stop = self.as_while and bool(iregs[self.out_slots[ns + self.n_nitsot]])
            for slot in self.clear_slots:  # the step's buffers go back to its pool
                iregs[slot] = None
            if stop:
                done = t + 1
                break

        for k in range(ns):
            if self.keep[k]:
                regs[ci.outs[k]] = bufs[k] if done == n else \
                    bufs[k][:self.windows[k] + done].copy()
            elif n > 0 and k in self.copy_last:
                regs[ci.outs[k]] = lasts[k].copy()
            else:
                regs[ci.outs[k]] = lasts[k]
        for j in range(self.n_nitsot):
            if nitsot[j] is None:  # no step ran
                regs[ci.outs[ns + j]] = op.empty_output(self.node, j)
            else:
                regs[ci.outs[ns + j]] = nitsot[j] if done == n else nitsot[j][:done].copy()
        return 0


cdef inline int _check_step_input(check, v) except -1:
    """What the step function's call checks under trust_input (Function, CallPlan step 1)."""
    if not (cnp.PyArray_CheckExact(v) and check.free_shape and v.ndim == check.ndim
            and v.dtype == check.dtype):
        check_exact(check, v)
    return 0
