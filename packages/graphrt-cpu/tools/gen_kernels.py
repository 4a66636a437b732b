"""Generate the typed C loops (ew_generated.h, reduce_generated.h) from graphrt_cpu/ewspec.py,
and the native kernels' constants (constants_generated.h) from graphrt_cpu/kernel_constants.py.

Run by CMake at build time: ``python gen_kernels.py SPEC.py OUTDIR``. Every
(op, dtype) pair of the table becomes one ``case`` of a switch whose body is
a plain loop over a block, which the C compiler vectorises; casts are the
NDTYPES x NDTYPES square. Writing these out by hand would be ~600 cases.
"""

import importlib.util
import sys


def load_spec(path):
    spec = importlib.util.spec_from_file_location("ewspec", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def helpers(s):
    out = []
    for d, (name, ctype, kind) in enumerate(zip(s.DTYPES, s.CTYPES, s.KINDS)):
        if kind == "i":
            out.append(f"""
static inline {ctype} grc_floordiv_{name}({ctype} a, {ctype} b) {{
    if (b == 0) return 0;
    if (b == -1) return ({ctype})(0 - (npy_uint64)a);  /* MIN // -1 wraps, as NumPy */
    {ctype} q = a / b;
    if (((a > 0) != (b > 0)) && q * b != a) q--;
    return q;
}}
static inline {ctype} grc_mod_{name}({ctype} a, {ctype} b) {{
    if (b == 0 || b == -1) return 0;
    {ctype} r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}}""")
        elif kind == "f":
            F = "f" if name == "float32" else ""
            out.append(f"""
/* NumPy's npy_divmod: floor division and Python-style remainder. */
static inline {ctype} grc_divmod_{name}({ctype} a, {ctype} b, {ctype} *modulus) {{
    {ctype} mod = fmod{F}(a, b), div, floordiv;
    if (!b) {{ *modulus = mod; return a / b; }}
    div = (a - mod) / b;
    if (mod) {{
        if ((b < 0) != (mod < 0)) {{ mod += b; div -= 1; }}
    }} else {{
        mod = copysign{F}(0, b);
    }}
    if (div) {{
        floordiv = floor{F}(div);
        if (div - floordiv > 0.5) floordiv += 1;
    }} else {{
        floordiv = copysign{F}(0, a / b);
    }}
    *modulus = mod;
    return floordiv;
}}
static inline {ctype} grc_floordiv_{name}({ctype} a, {ctype} b) {{
    {ctype} m;
    if (!b) return a / b;
    return grc_divmod_{name}(a, b, &m);
}}
static inline {ctype} grc_mod_{name}({ctype} a, {ctype} b) {{
    {ctype} m;
    if (!b) return fmod{F}(a, b);
    grc_divmod_{name}(a, b, &m);
    return m;
}}""")
    return "\n".join(out)


def mvec_table(s):
    """Function-pointer slots for libmvec's AVX2 variants, resolved with dlsym at first use."""
    lines = []
    for fn in s.MVEC:
        lines.append(f"static __m256d (*grc_mv_{fn}_f64)(__m256d);")
        lines.append(f"static __m256 (*grc_mv_{fn}_f32)(__m256);")
    # float64 tanh: our own AVX2+FMA loop (csrc/vec_tanh.h) when the CPU has FMA
    lines.append('#include "vec_tanh.h"')
    lines.append("static int grc_fast_tanh_f64 = 0;")
    lines.append("static void grc_mvec_resolve(void *h) {")
    lines.append('    grc_fast_tanh_f64 = __builtin_cpu_supports("fma");')
    for fn in s.MVEC:
        lines.append(f'    grc_mv_{fn}_f64 = (__m256d (*)(__m256d))dlsym(h, "_ZGVdN4v_{fn}");')
        lines.append(f'    grc_mv_{fn}_f32 = (__m256 (*)(__m256))dlsym(h, "_ZGVdN8v_{fn}f");')
    lines.append("}")
    # the vector loops: whole vectors through libmvec, the tail through the scalar function
    for fn in s.MVEC:
        fast = ""
        if fn == "tanh":
            fast = """
    if (grc_fast_tanh_f64) {
        for (; i + 4 <= n; i += 4) _mm256_storeu_pd(d + i, grc_tanh_f64x4(_mm256_loadu_pd(a + i)));
        for (; i < n; i++) d[i] = tanh(a[i]);
        return;
    }"""
        lines.append(f"""
__attribute__((target("{'avx2,fma' if fast else 'avx2'}"))) static void grc_vloop_{fn}_f64(npy_intp n, npy_float64 *d, const npy_float64 *a) {{
    npy_intp i = 0;{fast}
    for (; i + 4 <= n; i += 4) _mm256_storeu_pd(d + i, grc_mv_{fn}_f64(_mm256_loadu_pd(a + i)));
    for (; i < n; i++) d[i] = {fn}(a[i]);
}}
__attribute__((target("avx2"))) static void grc_vloop_{fn}_f32(npy_intp n, npy_float32 *d, const npy_float32 *a) {{
    npy_intp i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, grc_mv_{fn}_f32(_mm256_loadu_ps(a + i)));
    for (; i < n; i++) d[i] = {fn}f(a[i]);
}}""")
    return "\n".join(lines)


def cases(s):
    out = []
    for k, (name, nargs, result, exprs) in enumerate(s.OPS):
        for d, (dname, ctype, kind) in enumerate(zip(s.DTYPES, s.CTYPES, s.KINDS)):
            if kind not in exprs:
                continue
            F = "f" if dname == "float32" else ""
            expr = exprs[kind].format(F=F, T=ctype, D=dname)
            rtype = "npy_bool" if result == "bool" else ctype
            code = k * s.NDTYPES + d
            if name == "switch":
                decl = (f"const npy_bool *A = (const npy_bool *)a; const {ctype} *B = (const {ctype} *)b; "
                        f"const {ctype} *C = (const {ctype} *)c;")
                body = f"{{ npy_bool x = A[i]; {ctype} y = B[i], z = C[i]; D[i] = ({rtype})({expr}); }}"
            else:
                decl = f"const {ctype} *A = (const {ctype} *)a;"
                load = f"{ctype} x = A[i];"
                if nargs >= 2:
                    decl += f" const {ctype} *B = (const {ctype} *)b;"
                    load += f" {ctype} y = B[i];"
                body = f"{{ {load} D[i] = ({rtype})({expr}); }}"
            vec = ""
            if name in s.MVEC and kind == "f":
                sfx = "f32" if dname == "float32" else "f64"
                vec = (f"if (grc_mv_{name}_{sfx}) {{ grc_vloop_{name}_{sfx}(n, ({ctype} *)d, "
                       f"(const {ctype} *)a); break; }} ")
            out.append(f"    case {code}: /* {name} {dname} */ {{ {vec}{decl} {rtype} *D = ({rtype} *)d; "
                       f"for (npy_intp i = 0; i < n; i++) {body} }} break;")
    for src, (sname, sctype, skind) in enumerate(zip(s.DTYPES, s.CTYPES, s.KINDS)):
        for dst, (dname, dctype, dkind) in enumerate(zip(s.DTYPES, s.CTYPES, s.KINDS)):
            code = s.CAST_BASE + src * s.NDTYPES + dst
            expr = "(x != 0)" if dname == "bool" else "x"
            out.append(f"    case {code}: /* cast {sname} -> {dname} */ {{ const {sctype} *A = "
                       f"(const {sctype} *)a; {dctype} *D = ({dctype} *)d; for (npy_intp i = 0; i < n; i++) "
                       f"{{ {sctype} x = A[i]; D[i] = ({dctype}){expr}; }} }} break;")
    return "\n".join(out)


REDUCE_TYPES = (("float32", "npy_float32", "f"), ("float64", "npy_float64", "f"),
                ("int32", "npy_int32", "i"), ("int64", "npy_int64", "i"),
                ("uint8", "npy_uint8", "u"), ("bool", "npy_bool", "b"))
# op code: (name, identity per kind, accumulate expression over acc `a` and element `x`)
# the op codes are the positions in kernel_constants.REDUCE_OPS (read by reduce_kernels)
REDUCE_OPS = {
    "add": ({"f": "0", "i": "0", "u": "0"}, "a + x"),
    "mul": ({"f": "1", "i": "1", "u": "1"}, "a * x"),
    "maximum": ({"f": "-INFINITY", "i": "{MIN}", "u": "0"}, "((a >= x || a != a) ? a : x)"),
    "minimum": ({"f": "INFINITY", "i": "{MAX}", "u": "{MAX}"}, "((a <= x || a != a) ? a : x)"),
    "and": ({"b": "1"}, "(a && x)"),
    "or": ({"b": "0"}, "(a || x)"),
}
LIMITS = {"int32": ("NPY_MIN_INT32", "NPY_MAX_INT32"), "int64": ("NPY_MIN_INT64", "NPY_MAX_INT64"),
          "uint8": ("0", "NPY_MAX_UINT8")}
TYPENUMS = {"float32": "NPY_FLOAT32", "float64": "NPY_FLOAT64", "int32": "NPY_INT32",
            "int64": "NPY_INT64", "uint8": "NPY_UINT8", "bool": "NPY_BOOL"}


def reduce_kernels(constants):
    """Per (op, dtype): an inner loop over one run, reduced (into one accumulator) or kept."""
    out = []
    dispatch = []
    for dname, ctype, kind in REDUCE_TYPES:
        if kind == "f":
            out.append(f"""
/* NumPy's pairwise summation (8 accumulators, blocks of 128) for a contiguous run. */
static {ctype} grc_pairwise_{dname}(const {ctype} *a, npy_intp n)
{{
    if (n < 8) {{
        {ctype} res = 0;
        for (npy_intp i = 0; i < n; i++) res += a[i];
        return res;
    }} else if (n <= 128) {{
        {ctype} r[8], res;
        npy_intp i;
        for (i = 0; i < 8; i++) r[i] = a[i];
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }} else {{
        npy_intp n2 = n / 2;
        n2 -= n2 % 8;
        return grc_pairwise_{dname}(a, n2) + grc_pairwise_{dname}(a + n2, n - n2);
    }}
}}""")
        for k, oname in enumerate(constants.REDUCE_OPS):
            idents, expr = REDUCE_OPS[oname]
            if kind not in idents:
                continue
            lo, hi = LIMITS.get(dname, ("0", "1"))
            ident = idents[kind].format(MIN=lo, MAX=hi)
            pairwise = ""
            if oname == "add" and kind == "f":
                pairwise = (f"if (xs == sizeof({ctype})) {{ *({ctype} *)o = ({ctype})(*({ctype} *)o + "
                            f"grc_pairwise_{dname}((const {ctype} *)xp, n)); return; }}")
            out.append(f"""
static void grc_red_{oname}_{dname}(npy_intp n, const char *xp, npy_intp xs, char *o, npy_intp os, int reduced)
{{
    if (reduced) {{
        {pairwise}
        {ctype} a = *({ctype} *)o;
        for (npy_intp i = 0; i < n; i++) {{ {ctype} x = *(const {ctype} *)(xp + i * xs); a = ({ctype})({expr}); }}
        *({ctype} *)o = a;
    }} else {{
        for (npy_intp i = 0; i < n; i++) {{
            {ctype} a = *({ctype} *)(o + i * os), x = *(const {ctype} *)(xp + i * xs);
            *({ctype} *)(o + i * os) = ({ctype})({expr});
        }}
    }}
}}
static void grc_redinit_{oname}_{dname}(char *o) {{ *({ctype} *)o = ({ctype})({ident}); }}""")
            dispatch.append(f"    if (op == {k} && typenum == {TYPENUMS[dname]}) "
                            f"{{ *fn = grc_red_{oname}_{dname}; *init = grc_redinit_{oname}_{dname}; "
                            f"*isz = sizeof({ctype}); return 0; }}")
    return "\n".join(out), "\n".join(dispatch)


def main(spec_path, out_dir):
    import os

    constants = load_spec(os.path.join(os.path.dirname(spec_path), "kernel_constants.py"))
    with open(os.path.join(out_dir, "constants_generated.h"), "w") as f:
        f.write("/* Generated by tools/gen_kernels.py from kernel_constants.py: do not edit. */\n"
                "#ifndef GRC_CONSTANTS_GENERATED_H\n#define GRC_CONSTANTS_GENERATED_H\n"
                + constants.c_defines() + "\n#endif\n")
    body, dispatch = reduce_kernels(constants)
    with open(os.path.join(out_dir, "reduce_generated.h"), "w") as f:
        f.write(f"""/* Generated by tools/gen_kernels.py: do not edit. */
#ifndef GRC_REDUCE_GENERATED_H
#define GRC_REDUCE_GENERATED_H
#include <math.h>
#include <numpy/npy_common.h>
#include <numpy/ndarraytypes.h>
typedef void (*grc_red_fn)(npy_intp n, const char *x, npy_intp xs, char *o, npy_intp os, int reduced);
typedef void (*grc_redinit_fn)(char *o);
{body}

/* The loop and the initialiser of reduction `op` (GRC_REDUCE_*, constants_generated.h). */
static int grc_reduce_lookup(int op, int typenum, grc_red_fn *fn, grc_redinit_fn *init, int *isz)
{{
{dispatch}
    return -1;
}}
#endif
""")
    write_elemwise(spec_path, os.path.join(out_dir, "ew_generated.h"))
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "softmax_template.c")) as f:
        template = f.read()
    rows = [template.format(T=ctype, S=sfx, F=libm, D=dname)
            for ctype, sfx, libm, dname in (("npy_float64", "f64", "", "float64"),
                                            ("npy_float32", "f32", "f", "float32"))]
    with open(os.path.join(out_dir, "softmax_generated.h"), "w") as f:
        f.write("/* Generated by tools/gen_kernels.py from softmax_template.c: do not edit. */\n"
                "#ifndef GRC_SOFTMAX_GENERATED_H\n#define GRC_SOFTMAX_GENERATED_H\n"
                '#include "ew_generated.h"\n#include "reduce_generated.h"\n'
                + "\n".join(rows) + "\n#endif\n")


def write_elemwise(spec_path, out_path):
    s = load_spec(spec_path)
    text = f"""/* Generated by tools/gen_elemwise.py from ewspec.py: do not edit. */
#ifndef GRC_EW_GENERATED_H
#define GRC_EW_GENERATED_H
#include <math.h>
#include <dlfcn.h>
#include <immintrin.h>
#include <numpy/npy_common.h>

#define GRC_NDTYPES {s.NDTYPES}
#define GRC_CAST_BASE {s.CAST_BASE}
#define GRC_NOPCODES {s.NOPCODES}
{helpers(s)}

{mvec_table(s)}

/* Run opcode `op` over n elements: d[i] = op(a[i], b[i], c[i]). Returns -1 for an unknown opcode.
   Compiled twice (GCC picks one at load time): AVX2 loops on CPUs that have it, else baseline.
   No FMA in either, so results do not depend on the clone. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
static int grc_ew_exec(int op, npy_intp n, char *d, const char *a, const char *b, const char *c)
{{
    (void)b; (void)c;
    switch (op) {{
{cases(s)}
    default: return -1;
    }}
    return 0;
}}
#endif
"""
    with open(out_path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
