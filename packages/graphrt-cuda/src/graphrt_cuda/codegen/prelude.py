"""Device helpers every generated kernel may call (NumPy's semantics where C's differ).

Self-contained: no #include, so a kernel compiles with NVRTC alone (no CUDA
headers needed on the machine, and the CPU-side compile tests see exactly
what the GPU runs).
"""

PRELUDE = r"""
// ---- graphrt-cuda prelude: NumPy semantics for integer division, modulo, pow, clip
template <typename T> __device__ __forceinline__ T gc_floordiv_i(T x, T y) {
    if (y == 0) return 0;
    T q = x / y;
    if ((x % y != 0) && ((x < 0) != (y < 0))) q -= 1;
    return q;
}
template <typename T> __device__ __forceinline__ T gc_mod_i(T x, T y) {
    if (y == 0) return 0;
    T r = x % y;
    if (r != 0 && ((r < 0) != (y < 0))) r += y;
    return r;
}
template <typename T> __device__ __forceinline__ T gc_ipow(T x, T y) {
    if (y < 0) return (x == 1) ? 1 : ((x == -1) ? ((y & 1) ? -1 : 1) : 0);
    T r = 1;
    while (y) { if (y & 1) r *= x; x *= x; y >>= 1; }
    return r;
}
template <typename T> __device__ __forceinline__ T gc_upow(T x, T y) {
    T r = 1;
    while (y) { if (y & 1) r *= x; x *= x; y >>= 1; }
    return r;
}
template <typename T> __device__ __forceinline__ T gc_clip(T x, T lo, T hi) {
    T m = x >= lo ? x : lo;
    return m <= hi ? m : hi;
}
template <typename T> __device__ __forceinline__ T gc_clip_f(T x, T lo, T hi) {
    T m = (x >= lo || x != x) ? x : lo;
    return (m <= hi || m != m) ? m : hi;
}
__device__ __forceinline__ float gc_mod_float32(float a, float b) {
    float m = fmodf(a, b);
    if (b == 0.0f) return m;
    if (m != 0.0f) { if ((b < 0.0f) != (m < 0.0f)) m += b; }
    else m = copysignf(0.0f, b);
    return m;
}
__device__ __forceinline__ double gc_mod_float64(double a, double b) {
    double m = fmod(a, b);
    if (b == 0.0) return m;
    if (m != 0.0) { if ((b < 0.0) != (m < 0.0)) m += b; }
    else m = copysign(0.0, b);
    return m;
}
__device__ __forceinline__ float gc_floordiv_float32(float a, float b) {
    if (b == 0.0f) return a / b;
    float m = fmodf(a, b);
    float d = (a - m) / b;
    if (m != 0.0f && ((b < 0.0f) != (m < 0.0f))) d -= 1.0f;
    if (d != 0.0f) { float f = floorf(d); if (d - f > 0.5f) f += 1.0f; return f; }
    return copysignf(0.0f, a / b);
}
__device__ __forceinline__ double gc_floordiv_float64(double a, double b) {
    if (b == 0.0) return a / b;
    double m = fmod(a, b);
    double d = (a - m) / b;
    if (m != 0.0 && ((b < 0.0) != (m < 0.0))) d -= 1.0;
    if (d != 0.0) { double f = floor(d); if (d - f > 0.5) f += 1.0; return f; }
    return copysign(0.0, a / b);
}
__device__ __forceinline__ float gc_logaddexp_float32(float a, float b) {
    if (a == b) return a + 0.6931471805599453f;
    float m = a > b ? a : b;
    if (m != m) return m;
    return m + log1pf(expf(-fabsf(a - b)));
}
__device__ __forceinline__ double gc_logaddexp_float64(double a, double b) {
    if (a == b) return a + 0.6931471805599453;
    double m = a > b ? a : b;
    if (m != m) return m;
    return m + log1p(exp(-fabs(a - b)));
}
// ---- block-wide reductions (blockDim.x a multiple of 32, at most 1024): warp shuffles, one
// ---- value per warp through shared memory, then warp 0; every thread gets the result
struct GcSum { template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; } };
struct GcProd { template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a * b; } };
struct GcMax { template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return (a >= b || a != a) ? a : b; } };
struct GcMin { template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return (a <= b || a != a) ? a : b; } };
struct GcAnd { template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a & b; } };
struct GcOr { template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a | b; } };
template <typename T, typename Op>
__device__ __forceinline__ T gc_block_reduce(T v, Op op, T ident) {
    __shared__ T sh[32];
    for (int off = 16; off > 0; off >>= 1) v = op(v, (T)__shfl_down_sync(0xffffffffu, v, off));
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int nw = (blockDim.x + 31) >> 5;
    __syncthreads();
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < nw ? sh[lane] : ident;
        for (int off = 16; off > 0; off >>= 1) v = op(v, (T)__shfl_down_sync(0xffffffffu, v, off));
        if (lane == 0) sh[0] = v;
    }
    __syncthreads();
    return sh[0];
}
// ---- end prelude
"""
