/*
 * The native CPU kernel of RowL2Normalize, written against the graphrt-cpu kernel ABI
 * (graphrt_cpu.h). The VM calls row_l2_normalize directly from its C loop.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>  /* before graphrt_cpu.h: it then also defines graphrt_kernel_capsule() */
#include <math.h>
#include <string.h>

#include "graphrt_cpu.h"

/* call->params: what graphcore_l2norm packs with struct.pack("d", op.eps). */
typedef struct {
    double eps;
} l2norm_params;

#define NORMALIZE_ROWS(T)                                                              \
    for (i = 0; i < rows && bad < 0; i++) {                                            \
        const char *xr = x->data + i * x->strides[0];                                  \
        T *yr = (T *)(y->data + i * y->strides[0]);                                    \
        T ss = 0, n;                                                                   \
        for (j = 0; j < cols; j++) {                                                   \
            T v = *(const T *)(xr + j * x->strides[1]);                                \
            ss += v * v;                                                               \
        }                                                                              \
        n = (T)sqrt((double)(ss + (T)eps));                                            \
        if (n == 0) {                                                                  \
            bad = i;                                                                   \
            break;                                                                     \
        }                                                                              \
        for (j = 0; j < cols; j++)                                                     \
            yr[j] = *(const T *)(xr + j * x->strides[1]) / n;                          \
    }

static int row_l2_normalize(const graphrt_call *call)
{
    const graphrt_array *x = &call->inputs[0];
    const graphrt_array *y;
    double eps = 0.0;
    graphrt_intp rows, cols, i, j, bad = -1;

    if (call->params != NULL)
        eps = ((const l2norm_params *)call->params)->eps;
    if (x->ndim != 2)
        return graphrt_set_error(call, GRAPHRT_VALUE_ERROR,
                                 "RowL2Normalize: expected a matrix, got %d dimension(s)", x->ndim);
    if (x->typenum != GRAPHRT_FLOAT64 && x->typenum != GRAPHRT_FLOAT32)
        return GRAPHRT_USE_PERFORM; /* other dtypes: the op's NumPy perform */
    rows = x->shape[0];
    cols = x->shape[1];
    /* the output: same shape and dtype, C-contiguous, from the VM's buffer pool */
    if (call->alloc_output(call, 0, 2, x->shape, x->typenum) != 0)
        return GRAPHRT_ERROR;
    y = &call->outputs[0];

    Py_BEGIN_ALLOW_THREADS  /* the loop touches no Python object */
    if (x->typenum == GRAPHRT_FLOAT64) {
        NORMALIZE_ROWS(double)
    } else {
        NORMALIZE_ROWS(float)
    }
    Py_END_ALLOW_THREADS

    if (bad >= 0)  /* the same error as RowL2Normalize.perform */
        return graphrt_set_error(call, GRAPHRT_VALUE_ERROR,
                                 "RowL2Normalize: row %lld has zero norm (use eps > 0)", (long long)bad);
    return GRAPHRT_OK;
}

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT, "graphcore_l2norm._native",
    "Native CPU kernels of graphcore_l2norm (graphrt-cpu kernel ABI).", -1, NULL,
};

PyMODINIT_FUNC PyInit__native(void)
{
    PyObject *m = PyModule_Create(&native_module);
    PyObject *cap;
    if (m == NULL)
        return NULL;
    cap = graphrt_kernel_capsule(row_l2_normalize);
    if (cap == NULL || PyModule_AddObject(m, "row_l2_normalize", cap) != 0) {
        Py_XDECREF(cap);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "ABI_VERSION", GRAPHRT_CPU_ABI_VERSION) != 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
