/* Row kernels of the softmax family for {T} (template expanded by gen_kernels.py). */
static void grc_exp_{S}(npy_intp n, {T} *d, const {T} *a)
{{
    if (grc_mv_exp_{S}) {{ grc_vloop_exp_{S}(n, d, a); return; }}
    for (npy_intp i = 0; i < n; i++) d[i] = exp{F}(a[i]);
}}

static inline {T} grc_rowmax_{S}(const {T} *x, npy_intp n)
{{
    {T} m = x[0];
    for (npy_intp j = 1; j < n; j++) {{ {T} v = x[j]; m = (m >= v || m != m) ? m : v; }}
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

/* z = x + b; lse = max + log(sum(exp(z - max))); sm = exp(z - lse); nll = lse - z[y]; am = argmax z */
static void grc_xent_row_{S}(const {T} *x, const {T} *b, npy_int64 y, {T} *sm, {T} *nll,
                             npy_int64 *am, {T} *tmp, npy_intp n)
{{
    npy_intp j, best = 0;
    {T} zmax;
    for (j = 0; j < n; j++) sm[j] = x[j] + b[j];
    zmax = sm[0];
    for (j = 1; j < n; j++) if (sm[j] > zmax) {{ zmax = sm[j]; best = j; }}
    for (j = 0; j < n; j++) if (sm[j] != sm[j]) {{ best = j; break; }}  /* NumPy: the first NaN wins */
    *am = best;
    zmax = grc_rowmax_{S}(sm, n);
    for (j = 0; j < n; j++) tmp[j] = sm[j] - zmax;
    grc_exp_{S}(n, tmp, tmp);
    {T} lse = zmax + log{F}(grc_pairwise_{D}(tmp, n));
    *nll = lse - sm[y];
    for (j = 0; j < n; j++) sm[j] = sm[j] - lse;
    grc_exp_{S}(n, sm, sm);
}}

/* dx = sm * dnll; dx[y] -= dnll */
static void grc_xent_dx_row_{S}({T} dnll, const {T} *sm, npy_int64 y, {T} *dx, npy_intp n)
{{
    for (npy_intp j = 0; j < n; j++) dx[j] = sm[j] * dnll;
    dx[y] -= dnll;
}}
