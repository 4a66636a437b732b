/*
 * reduce_run.h: reductions over any set of axes.
 *
 * The output is initialised with the identity, then the input is walked in
 * its own memory order (dimensions sorted by stride, length-1 ones dropped)
 * and each element is accumulated into the output element it maps to (the
 * output's stride is 0 along reduced dimensions). A reduced, contiguous
 * innermost run is summed pairwise as NumPy does; a kept innermost run is a
 * vectorisable out[i] op= x[i] loop.
 */
#ifndef GRC_REDUCE_RUN_H
#define GRC_REDUCE_RUN_H

#include <stdlib.h>
#include <numpy/npy_common.h>
#include "reduce_generated.h"
#include "constants_generated.h"

static void grc_reduce_rec(grc_red_fn fn, int d, int nd, const npy_intp *shape, const char *x,
                           const npy_intp *xs, char *o, const npy_intp *os, const unsigned char *red)
{
    if (d == nd - 1) {
        fn(shape[d], x, xs[d], o, os[d], red[d]);
        return;
    }
    for (npy_intp i = 0; i < shape[d]; i++)
        grc_reduce_rec(fn, d + 1, nd, shape, x + i * xs[d], xs, o + i * os[d], os, red);
}

static int grc_reduce_run(int op, int typenum, int nd, const npy_intp *shape_in, const char *x,
                          const npy_intp *xstrides, char *out, const npy_intp *ostrides,
                          const unsigned char *reduced)
{
    grc_red_fn fn;
    grc_redinit_fn init;
    int isz, k, j, m = 0, perm[GRC_MAX_NDIM];
    npy_intp shape[GRC_MAX_NDIM], xs[GRC_MAX_NDIM], os[GRC_MAX_NDIM], nout = 1, total = 1;
    unsigned char red[GRC_MAX_NDIM];
    if (nd > GRC_MAX_NDIM) return -2;
    if (grc_reduce_lookup(op, typenum, &fn, &init, &isz) < 0) return -1;
    /* initialise every output element: walk the kept dimensions */
    {
        npy_intp kshape[GRC_MAX_NDIM], kstr[GRC_MAX_NDIM], idx[GRC_MAX_NDIM];
        int nk = 0;
        for (k = 0; k < nd; k++)
            if (!reduced[k]) { kshape[nk] = shape_in[k]; kstr[nk] = ostrides[k]; nout *= shape_in[k]; nk++; }
        for (k = 0; k < nk; k++) idx[k] = 0;
        for (npy_intp t = 0; t < nout; t++) {
            char *p = out;
            for (k = 0; k < nk; k++) p += idx[k] * kstr[k];
            init(p);
            for (k = nk - 1; k >= 0; k--) { if (++idx[k] < kshape[k]) break; idx[k] = 0; }
        }
    }
    for (k = 0; k < nd; k++) total *= shape_in[k];
    if (total == 0) return 0;
    /* drop length-1 dimensions; order the rest by decreasing |input stride| (memory order) */
    for (k = 0; k < nd; k++) if (shape_in[k] != 1) perm[m++] = k;
    for (k = 1; k < m; k++) {
        int v = perm[k];
        npy_intp sv = xstrides[v] < 0 ? -xstrides[v] : xstrides[v];
        for (j = k - 1; j >= 0; j--) {
            npy_intp sj = xstrides[perm[j]] < 0 ? -xstrides[perm[j]] : xstrides[perm[j]];
            if (sj >= sv) break;
            perm[j + 1] = perm[j];
        }
        perm[j + 1] = v;
    }
    for (k = 0; k < m; k++) {
        shape[k] = shape_in[perm[k]];
        xs[k] = xstrides[perm[k]];
        os[k] = reduced[perm[k]] ? 0 : ostrides[perm[k]];
        red[k] = reduced[perm[k]];
    }
    if (m == 0) { shape[0] = 1; xs[0] = 0; os[0] = 0; red[0] = 1; m = 1; }
    grc_reduce_rec(fn, 0, m, shape, x, xs, out, os, red);
    return 0;
}
#endif
