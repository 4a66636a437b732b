/*
 * ew_run.h: the fused elementwise interpreter (numexpr's design).
 *
 * A program is a list of typed opcodes over a block-sized register file:
 * every register holds GRC_BLOCK elements (8 bytes each at most). The
 * operands' dimensions are collapsed where contiguous, then the iteration
 * space is cut into tasks of one block along the innermost dimension. An
 * input whose inner stride is its itemsize is read in place (the register
 * points into the array); a broadcast (stride 0) input is filled, a strided
 * or negative-stride one gathered. Outputs are written back at the end of
 * each block, or directly when the single output's last instruction can
 * write into contiguous output memory.
 */
#ifndef GRC_EW_RUN_H
#define GRC_EW_RUN_H

#include <stdlib.h>
#include <string.h>
#include <numpy/npy_common.h>
#include "ew_generated.h"
#include "constants_generated.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define GRC_BLOCK 1024
#define GRC_PAR_MIN 65536 /* elements below which a loop stays on one thread */

typedef struct { int op, dst, a, b, c; } grc_ins;

typedef struct {
    int nin, nout, nregs, ncode, nconst;
    grc_ins *code;
    int *in_reg, *in_size;      /* register and itemsize of each input */
    int *out_reg, *out_size;    /* register and itemsize of each output */
    int *const_reg, *const_size;
    npy_uint64 *const_val;      /* raw bytes of each constant (in its dtype) */
    int direct_out;             /* one output, written by the last instruction */
    char *ws;                   /* the cached single-thread workspace */
    int busy;                   /* the cached workspace is in use (re-entrant calls) */
} grc_ewprog;

static int grc_num_threads = 1;
static void *grc_mvec_handle = NULL;
static int grc_mvec_tried = 0;

/* Resolve libmvec's AVX2 variants once; without AVX2 or libmvec the scalar loops run. */
static void grc_mvec_init(int enable)
{
    if (grc_mvec_tried) return;
    grc_mvec_tried = 1;
    if (!enable) return;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2")) return;
    grc_mvec_handle = dlopen("libmvec.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (grc_mvec_handle) grc_mvec_resolve(grc_mvec_handle);
}

static inline size_t grc_ws_bytes(const grc_ewprog *p)
{
    return (size_t)p->nregs * GRC_BLOCK * 8 + 64;
}

static inline void grc_fill(char *dst, const char *src, int size, npy_intp m)
{
    npy_intp i;
    switch (size) {
    case 1: memset(dst, *src, m); break;
    case 2: { npy_uint16 v; memcpy(&v, src, 2); for (i = 0; i < m; i++) ((npy_uint16 *)dst)[i] = v; } break;
    case 4: { npy_uint32 v; memcpy(&v, src, 4); for (i = 0; i < m; i++) ((npy_uint32 *)dst)[i] = v; } break;
    default: { npy_uint64 v; memcpy(&v, src, 8); for (i = 0; i < m; i++) ((npy_uint64 *)dst)[i] = v; } break;
    }
}

static inline void grc_gather(char *dst, const char *src, npy_intp stride, int size, npy_intp m)
{
    npy_intp i;
    switch (size) {
    case 1: for (i = 0; i < m; i++) dst[i] = src[i * stride]; break;
    case 2: for (i = 0; i < m; i++) memcpy(dst + 2 * i, src + i * stride, 2); break;
    case 4: for (i = 0; i < m; i++) memcpy(dst + 4 * i, src + i * stride, 4); break;
    default: for (i = 0; i < m; i++) memcpy(dst + 8 * i, src + i * stride, 8); break;
    }
}

static inline void grc_scatter(char *dst, npy_intp stride, const char *src, int size, npy_intp m)
{
    npy_intp i;
    switch (size) {
    case 1: for (i = 0; i < m; i++) dst[i * stride] = src[i]; break;
    case 2: for (i = 0; i < m; i++) memcpy(dst + i * stride, src + 2 * i, 2); break;
    case 4: for (i = 0; i < m; i++) memcpy(dst + i * stride, src + 4 * i, 4); break;
    default: for (i = 0; i < m; i++) memcpy(dst + i * stride, src + 8 * i, 8); break;
    }
}

/* Run the tasks [t0, t1) of a collapsed iteration with workspace ws. */
static int grc_ew_tasks(const grc_ewprog *p, int nd, const npy_intp *shape, char **data,
                        const npy_intp *strides, npy_intp t0, npy_intp t1, char *ws)
{
    int nops = p->nin + p->nout, k, j;
    npy_intp n = shape[nd - 1];
    npy_intp cpr = (n + GRC_BLOCK - 1) / GRC_BLOCK;
    char *regbase = (char *)(((size_t)ws + 63) & ~(size_t)63);
    char *regp[GRC_MAX_REGISTERS];
    char *home[GRC_MAX_REGISTERS];
    npy_intp fill_n = n < GRC_BLOCK ? n : GRC_BLOCK;
    npy_intp t;
    if (p->nregs > GRC_MAX_REGISTERS || nops > GRC_MAX_OPERANDS) return -2;
    for (k = 0; k < p->nregs; k++) home[k] = regp[k] = regbase + (size_t)k * GRC_BLOCK * 8;
    for (k = 0; k < p->nconst; k++)
        grc_fill(home[p->const_reg[k]], (const char *)&p->const_val[k], p->const_size[k], fill_n);
    for (t = t0; t < t1; t++) {
        npy_intp row = t / cpr, start = (t % cpr) * GRC_BLOCK;
        npy_intp m = n - start < GRC_BLOCK ? n - start : GRC_BLOCK;
        npy_intp idx[GRC_MAX_NDIM];
        npy_intp r = row;
        for (j = nd - 2; j >= 0; j--) { idx[j] = r % shape[j]; r /= shape[j]; }
        char *ptr[GRC_MAX_OPERANDS];
        for (k = 0; k < nops; k++) {
            const npy_intp *st = strides + (size_t)k * nd;
            char *q = data[k] + start * st[nd - 1];
            for (j = 0; j < nd - 1; j++) q += idx[j] * st[j];
            ptr[k] = q;
        }
        for (k = 0; k < p->nin; k++) {
            int reg = p->in_reg[k], size = p->in_size[k];
            npy_intp s = strides[(size_t)k * nd + nd - 1];
            if (s == size) regp[reg] = ptr[k];
            else {
                regp[reg] = home[reg];
                if (s == 0) grc_fill(home[reg], ptr[k], size, m);
                else grc_gather(home[reg], ptr[k], s, size, m);
            }
        }
        int direct = 0;
        if (p->direct_out) {
            int reg = p->out_reg[0];
            if (strides[(size_t)p->nin * nd + nd - 1] == p->out_size[0]) { regp[reg] = ptr[p->nin]; direct = 1; }
            else regp[reg] = home[reg];
        }
        for (k = 0; k < p->ncode; k++) {
            const grc_ins *in = &p->code[k];
            if (grc_ew_exec(in->op, m, regp[in->dst], regp[in->a], regp[in->b], regp[in->c]) < 0)
                return -1;
        }
        if (!direct) {
            for (k = 0; k < p->nout; k++) {
                int size = p->out_size[k];
                npy_intp s = strides[(size_t)(p->nin + k) * nd + nd - 1];
                const char *src = regp[p->out_reg[k]];
                if (s == size) memmove(ptr[p->nin + k], src, (size_t)m * size);
                else grc_scatter(ptr[p->nin + k], s, src, size, m);
            }
        }
    }
    return 0;
}

/*
 * Run program p over operands (inputs then outputs) of broadcast shape `shape` (ndim dims).
 * strides: (nin + nout) rows of ndim byte strides; 0 where an input broadcasts.
 * cached_ws: a workspace the caller owns for this call (NULL: allocate one).
 * Returns 0, or -1 for an unknown opcode, -2 for a program too large.
 */
static int grc_ew_run(grc_ewprog *p, int ndim, const npy_intp *shape_in, char **data,
                      const npy_intp *strides_in, int nthreads, char *cached_ws)
{
    int nops = p->nin + p->nout, k, j, nd = 0;
    npy_intp shape[GRC_MAX_NDIM];
    npy_intp *strides;
    npy_intp stack_strides[256];
    npy_intp total = 1;
    int rc = 0;
    if (ndim > GRC_MAX_NDIM) return -2;
    for (j = 0; j < ndim; j++) total *= shape_in[j];
    if (total == 0) return 0;
    if ((size_t)nops * (ndim + 1) <= 256) strides = stack_strides;
    else strides = (npy_intp *)malloc(sizeof(npy_intp) * (size_t)nops * (ndim + 1));
    if (!strides) return -3;
    /* drop length-1 dimensions, then merge neighbours that are contiguous for every operand */
    for (j = 0; j < ndim; j++) {
        if (shape_in[j] == 1) continue;
        if (nd > 0) {
            int merge = 1;
            for (k = 0; k < nops; k++) {
                npy_intp outer = strides[(size_t)k * (ndim + 1) + nd - 1];
                if (outer != strides_in[(size_t)k * ndim + j] * shape_in[j]) { merge = 0; break; }
            }
            if (merge) {
                shape[nd - 1] *= shape_in[j];
                for (k = 0; k < nops; k++)
                    strides[(size_t)k * (ndim + 1) + nd - 1] = strides_in[(size_t)k * ndim + j];
                continue;
            }
        }
        shape[nd] = shape_in[j];
        for (k = 0; k < nops; k++) strides[(size_t)k * (ndim + 1) + nd] = strides_in[(size_t)k * ndim + j];
        nd++;
    }
    if (nd == 0) {
        shape[0] = 1;
        for (k = 0; k < nops; k++) strides[(size_t)k * (ndim + 1)] = 0;
        nd = 1;
    }
    /* compact the rows to stride nd */
    for (k = 0; k < nops; k++)
        for (j = 0; j < nd; j++) strides[(size_t)k * nd + j] = strides[(size_t)k * (ndim + 1) + j];
    npy_intp n = shape[nd - 1], cpr = (n + GRC_BLOCK - 1) / GRC_BLOCK;
    npy_intp ntasks = (total / n) * cpr;
#ifdef _OPENMP
    if (nthreads > 1 && total >= GRC_PAR_MIN && ntasks > 1) {
        int bad = 0;
        #pragma omp parallel num_threads(nthreads) reduction(|:bad)
        {
            int nt = omp_get_num_threads(), id = omp_get_thread_num();
            npy_intp a = ntasks * id / nt, b = ntasks * (id + 1) / nt;
            char *ws = (char *)malloc(grc_ws_bytes(p));
            if (!ws) bad = 1;
            else {
                if (grc_ew_tasks(p, nd, shape, data, strides, a, b, ws) < 0) bad = 1;
                free(ws);
            }
        }
        if (strides != stack_strides) free(strides);
        return bad ? -1 : 0;
    }
#else
    (void)nthreads;
#endif
    if (cached_ws) {
        rc = grc_ew_tasks(p, nd, shape, data, strides, 0, ntasks, cached_ws);
    } else {
        char *ws = (char *)malloc(grc_ws_bytes(p));
        if (!ws) { if (strides != stack_strides) free(strides); return -3; }
        rc = grc_ew_tasks(p, nd, shape, data, strides, 0, ntasks, ws);
        free(ws);
    }
    if (strides != stack_strides) free(strides);
    return rc;
}

#endif
