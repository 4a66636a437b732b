/* Row kernels of the softmax family for {T} (template expanded by gen_kernels.py). */
static void grc_exp_{S}(npy_intp n, {T} *d, const {T} *a)
{{
    if (grc_mv_exp_{S}) {{ grc_vloop_exp_{S}(n, d, a); return; }}
    for (npy_intp i = 0; i < n; i++) d[i] = exp{F}(a[i]);
}}

static inline {T} grc_rowmax_{S}(const {T} *x, npy_intp n)
{{
    {T} m0 = -INFINITY, m1 = -INFINITY, m2 = -INFINITY, m3 = -INFINITY, m;
    int nan_seen = 0;
    npy_intp j = 0;
    for (; j + 4 <= n; j += 4) {{
        m0 = x[j] > m0 ? x[j] : m0; m1 = x[j + 1] > m1 ? x[j + 1] : m1;
        m2 = x[j + 2] > m2 ? x[j + 2] : m2; m3 = x[j + 3] > m3 ? x[j + 3] : m3;
        nan_seen |= (x[j] != x[j]) | (x[j + 1] != x[j + 1]) | (x[j + 2] != x[j + 2]) | (x[j + 3] != x[j + 3]);
    }}
    for (; j < n; j++) {{ m0 = x[j] > m0 ? x[j] : m0; nan_seen |= (x[j] != x[j]); }}
    m = m0 > m1 ? m0 : m1;
    m = m > m2 ? m : m2;
    m = m > m3 ? m : m3;
    if (nan_seen) return 0;
    return isfinite(m) ? m : ({T})0;  /* SciPy's rule: an inf/NaN maximum shifts by 0 */
}}

/* out = exp(x - max) / sum(exp(x - max)) */
static void grc_softmax_row_{S}(const {T} *x, {T} *out, npy_intp n)
{{
    if (n == 0) return;
    {T} m = grc_rowmax_{S}(x, n);
    for (npy_intp j = 0; j < n; j++) out[j] = x[j] - m;
    grc_exp_{S}(n, out, out);
    {T} s = grc_pairwise_{D}(out, n);
    for (npy_intp j = 0; j < n; j++) out[j] = out[j] / s;
}}

/* out = (x - max) - log(sum(exp(x - max))); tmp holds n elements */
static void grc_log_softmax_row_{S}(const {T} *x, {T} *out, {T} *tmp, npy_intp n)
{{
    if (n == 0) return;
    {T} m = grc_rowmax_{S}(x, n);
    for (npy_intp j = 0; j < n; j++) out[j] = x[j] - m;
    grc_exp_{S}(n, tmp, out);
    {T} l = log{F}(grc_pairwise_{D}(tmp, n));
    for (npy_intp j = 0; j < n; j++) out[j] = out[j] - l;
}}

/* out = (dy - sum(dy * sm)) * sm */
static void grc_softmax_grad_row_{S}(const {T} *dy, const {T} *sm, {T} *out, npy_intp n)
{{
    if (n == 0) return;
    for (npy_intp j = 0; j < n; j++) out[j] = dy[j] * sm[j];
    {T} s = grc_pairwise_{D}(out, n);
    for (npy_intp j = 0; j < n; j++) out[j] = (dy[j] - s) * sm[j];
}}

/* out = dy - exp(logsm) * sum(dy) */
static void grc_log_softmax_grad_row_{S}(const {T} *dy, const {T} *lsm, {T} *out, npy_intp n)
{{
    if (n == 0) return;
    {T} s = grc_pairwise_{D}(dy, n);
    grc_exp_{S}(n, out, lsm);
    for (npy_intp j = 0; j < n; j++) out[j] = dy[j] - out[j] * s;
}}

/* z = x + b; lse = max + log(sum(exp(z - max))); sm = exp(z - lse) (as e / sum e);
   nll = lse - z[y]; am = argmax z (NumPy's: the first maximum, or the first NaN) */
static void grc_xent_row_{S}(const {T} *x, const {T} *b, npy_int64 y, {T} *sm, {T} *nll,
                             npy_int64 *am, {T} *tmp, npy_intp n)
{{
    npy_intp j, k;
    /* one pass: z, and the running max and its first index in 4 independent lanes */
    {T} lm[4];
    npy_intp li[4] = {{0, 0, 0, 0}};
    int nan_seen = 0;
    for (k = 0; k < 4; k++) lm[k] = -INFINITY;
    for (j = 0; j + 4 <= n; j += 4) {{
        for (k = 0; k < 4; k++) {{
            {T} v = x[j + k] + b[j + k];
            sm[j + k] = v;
            if (v > lm[k]) {{ lm[k] = v; li[k] = j + k; }}
            nan_seen |= (v != v);
        }}
    }}
    for (; j < n; j++) {{
        {T} v = x[j] + b[j];
        sm[j] = v;
        if (v > lm[0] || (v == lm[0] && j < li[0])) {{ lm[0] = v; li[0] = j; }}
        nan_seen |= (v != v);
    }}
    {T} zmax = lm[0];
    npy_intp best = li[0];
    for (k = 1; k < 4; k++)
        if (lm[k] > zmax || (lm[k] == zmax && li[k] < best)) {{ zmax = lm[k]; best = li[k]; }}
    if (zmax == -INFINITY) best = 0;
    if (nan_seen) {{
        for (j = 0; j < n; j++) if (sm[j] != sm[j]) {{ best = j; break; }}
        zmax = NAN;
    }}
    *am = best;
    if (!isfinite(zmax)) zmax = 0;  /* SciPy's rule: an inf/NaN maximum shifts by 0 */
    for (j = 0; j < n; j++) tmp[j] = sm[j] - zmax;
    grc_exp_{S}(n, tmp, tmp);
    {T} s = grc_pairwise_{D}(tmp, n);
    {T} lse = zmax + log{F}(s);
    *nll = lse - sm[y];
    {T} inv = ({T})1 / s;
    for (j = 0; j < n; j++) sm[j] = tmp[j] * inv;
}}

/* dx = sm * dnll; dx[y] -= dnll */
static void grc_xent_dx_row_{S}({T} dnll, const {T} *sm, npy_int64 y, {T} *dx, npy_intp n)
{{
    for (npy_intp j = 0; j < n; j++) dx[j] = sm[j] * dnll;
    dx[y] -= dnll;
}}
