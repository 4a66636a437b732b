/*
 * graphrt_cpu.h: public C header of the graphcore CPU runtime (kernel ABI version 1).
 *
 * A third-party op package ships a native CPU kernel for its op by compiling
 * a function with the signature `graphrt_kernel` against this header (its
 * folder is `graphrt_cpu.get_include()`), exporting it from its C extension
 * as a PyCapsule made by `graphrt_kernel_capsule()`, and registering it:
 *
 *     import graphrt_cpu
 *     graphrt_cpu.register_kernel(MyOp, graphrt_cpu.kernel_capsule("mypkg._native", "my_kernel"))
 *
 * The graphrt-cpu virtual machine then calls the function directly from its C
 * loop for every node whose op is a `MyOp` (no Python-level `perform` call).
 *
 * The call contract
 * -----------------
 * - The kernel is called with the GIL held. It may release it around its
 *   loops (Py_BEGIN_ALLOW_THREADS) but must hold it to call `alloc_output`
 *   or any Python/NumPy C API.
 * - `call->inputs[0 .. nin-1]` describe the input arrays (NumPy ndarrays,
 *   any strides, possibly negative or zero, possibly unaligned views: read
 *   them through `strides`). They are read-only: never write to an input.
 * - Every output k (0 <= k < nout) must be allocated exactly once with
 *   `call->alloc_output(call, k, ndim, shape, typenum)`: the VM hands out an
 *   uninitialised, C-contiguous, aligned buffer from its pool and fills
 *   `call->outputs[k]`. Its dtype (typenum) and ndim must be the ones the
 *   node's output type says (make_node decided them), and its shape must agree
 *   with any static length of that type; otherwise alloc_output fails. On
 *   failure it returns nonzero with the reason recorded; the kernel then
 *   returns GRAPHRT_ERROR at once (the VM raises the recorded error).
 * - Return GRAPHRT_OK (0) on success. To fail, return one of the error codes
 *   below. If a Python exception is set when the kernel returns nonzero, the
 *   VM raises that exception; otherwise it raises ValueError
 *   (GRAPHRT_VALUE_ERROR), TypeError (GRAPHRT_TYPE_ERROR) or RuntimeError (any
 *   other nonzero code) with the text the kernel wrote into `call->error`
 *   (a buffer of `call->error_size` bytes, NUL-terminated; see
 *   graphrt_set_error). Either way the VM adds the op, the input shapes and
 *   dtypes and the line of user code that built the node, exactly as for the
 *   built-in kernels.
 * - Return GRAPHRT_USE_PERFORM to decline this call (a dtype or layout the
 *   kernel does not handle): the VM runs the op's NumPy `perform` instead.
 *   Outputs already allocated are discarded.
 * - `call->params` is the opaque pointer given at registration: a PyCapsule's
 *   pointer, or a private copy (aligned for any C type) of the bytes of a
 *   buffer object such as the result of struct.pack or a NumPy array, taken
 *   when the function is compiled; NULL when none. It stays valid for as long
 *   as the compiled function exists. Registration may compute it per node
 *   from the op's properties (register_kernel(..., params=lambda node: ...)).
 * - The call struct and its arrays are valid only during the call.
 *
 * Versioning: GRAPHRT_CPU_ABI_VERSION changes whenever this contract or a
 * struct layout changes. The capsule records the version the kernel was
 * compiled against (its context) and register_kernel refuses a capsule of
 * another version with an error that says to rebuild the package.
 *
 * This header needs no NumPy headers. Type numbers are NumPy's (the same
 * values as NPY_DOUBLE etc.; np.dtype(...).num in Python); the common ones
 * are defined below, and `kind`/`itemsize` describe any dtype portably.
 */
#ifndef GRAPHRT_CPU_H
#define GRAPHRT_CPU_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GRAPHRT_CPU_ABI_VERSION 1

/* The name every kernel capsule carries. */
#define GRAPHRT_KERNEL_CAPSULE_NAME "graphrt_cpu.kernel"

/* The most inputs / outputs / dimensions a native kernel is called with (more: perform runs). */
#define GRAPHRT_MAX_ARGS 64
#define GRAPHRT_MAX_NDIM 64

/* Return codes of a kernel. */
#define GRAPHRT_OK 0
#define GRAPHRT_ERROR 1        /* RuntimeError(call->error), or the Python exception set */
#define GRAPHRT_VALUE_ERROR 2  /* ValueError(call->error): bad input values or shapes */
#define GRAPHRT_TYPE_ERROR 3   /* TypeError(call->error): bad input dtypes */
#define GRAPHRT_USE_PERFORM 4  /* decline: the VM runs the op's perform for this call */

/* NumPy type numbers (stable across NumPy 1.x and 2.x). */
#define GRAPHRT_BOOL 0
#define GRAPHRT_INT8 1
#define GRAPHRT_UINT8 2
#define GRAPHRT_INT16 3
#define GRAPHRT_UINT16 4
#define GRAPHRT_INT32 5
#define GRAPHRT_UINT32 6
#if LONG_MAX == 9223372036854775807L
#define GRAPHRT_INT64 7   /* NPY_LONG where long is 64-bit */
#define GRAPHRT_UINT64 8
#else
#define GRAPHRT_INT64 9   /* NPY_LONGLONG (Windows) */
#define GRAPHRT_UINT64 10
#endif
#define GRAPHRT_FLOAT32 11
#define GRAPHRT_FLOAT64 12
#define GRAPHRT_COMPLEX64 14
#define GRAPHRT_COMPLEX128 15
#define GRAPHRT_FLOAT16 23

/* An index or a byte stride: the same width as npy_intp and Py_ssize_t. */
typedef intptr_t graphrt_intp;

/* One array: an input, or an output once allocated. */
typedef struct graphrt_array {
    char *data;                   /* the element at index (0, ..., 0) */
    int ndim;
    int typenum;                  /* NumPy type number (GRAPHRT_FLOAT64, ...) */
    int itemsize;                 /* bytes per element */
    char kind;                    /* NumPy dtype kind: 'b', 'i', 'u', 'f', 'c' */
    const graphrt_intp *shape;    /* ndim lengths */
    const graphrt_intp *strides;  /* ndim strides, in bytes */
    void *object;                 /* the ndarray (a borrowed PyObject *) for NumPy C API users */
} graphrt_array;

typedef struct graphrt_call graphrt_call;

struct graphrt_call {
    int abi_version;              /* GRAPHRT_CPU_ABI_VERSION of the runtime */
    int nin, nout;
    const graphrt_array *inputs;  /* nin arrays */
    graphrt_array *outputs;       /* nout arrays, filled by alloc_output */
    void *params;                 /* registration's opaque parameters, or NULL */
    /* Allocate output k (C-contiguous, uninitialised) and describe it in outputs[k].
       Returns 0, or nonzero (the reason is recorded; return GRAPHRT_ERROR). GIL held. */
    int (*alloc_output)(const graphrt_call *call, int k, int ndim, const graphrt_intp *shape,
                        int typenum);
    char *error;                  /* message buffer for a failing kernel */
    size_t error_size;
    void *runtime;                /* the VM's private state: do not touch */
};

/* A native kernel: see the call contract above. */
typedef int (*graphrt_kernel)(const graphrt_call *call);

/* Write a printf-style message into call->error and return `code` (for `return graphrt_set_error(...)`). */
static inline int graphrt_set_error(const graphrt_call *call, int code, const char *fmt, ...)
{
    va_list ap;
    if (call->error != NULL && call->error_size > 0) {
        va_start(ap, fmt);
        vsnprintf(call->error, call->error_size, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Pointer to element `index` (ndim indices) of an array. */
static inline char *graphrt_element(const graphrt_array *a, const graphrt_intp *index)
{
    char *p = a->data;
    int d;
    for (d = 0; d < a->ndim; d++)
        p += index[d] * a->strides[d];
    return p;
}

#ifdef Py_PYTHON_H
/* A new reference to the capsule that exports `fn` (name GRAPHRT_KERNEL_CAPSULE_NAME, context
   the ABI version it was compiled against); NULL with an exception set on failure. Include
   Python.h before this header to get it. */
static inline PyObject *graphrt_kernel_capsule(graphrt_kernel fn)
{
    PyObject *cap = PyCapsule_New((void *)fn, GRAPHRT_KERNEL_CAPSULE_NAME, NULL);
    if (cap != NULL && PyCapsule_SetContext(cap, (void *)(intptr_t)GRAPHRT_CPU_ABI_VERSION) != 0) {
        Py_DECREF(cap);
        return NULL;
    }
    return cap;
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* GRAPHRT_CPU_H */
