/*
 * The SCM kernels, written once on 8-lane vectors (GCC vector extensions, which clang
 * also implements) and compiled once per build: _kernels_avx2_fma.c (x86-64 AVX2 +
 * FMA3) and _kernels_base.c (the target's baseline: SSE2 on x86-64, NEON on AArch64,
 * plain vector code elsewhere). The including file defines KERNEL_TABLE and
 * KERNEL_NAME, and KERNELS_AVX2_FMA for the AVX2 build. Everything here is static
 * except that table.
 *
 * Elementwise loops pad their last partial vector, so every element goes through
 * the same instructions whatever its position. Only IEEE add/sub/mul/div/sqrt, fused
 * multiply-add (rounded once), min/max, conversions and comparisons are used (the
 * transcendental functions are polynomials below) and the compiler's own contraction
 * into FMA is off: a multiply-add is fused exactly where fma_ says so, in every
 * build, so all builds give bit-identical results. Where instruction sets differ in
 * semantics (min/max of NaN and signed zeros; out-of-range float-to-int conversion,
 * which no kernel reaches: every converted value is clamped first), the helpers
 * below give the x86 semantics everywhere.
 */
#include <string.h>

#include "_kernels.h"

/* The instruction set of this build. The AVX2 build is compiled under a target
 * attribute or pragma (see _kernels_avx2_fma.c), where clang, unlike GCC, does not
 * define __AVX2__, so the including file says so itself. */
#if defined(KERNELS_AVX2_FMA)
#define ISA_AVX2_FMA 1
#include <immintrin.h>
#elif defined(__SSE2__)
#define ISA_SSE2 1
#include <immintrin.h>
#elif defined(__aarch64__) && defined(__ARM_NEON)
#define ISA_NEON 1
#include <arm_neon.h>
#if !defined(__clang__)
/* GCC (12) has no 8-lane vector mode on AArch64: it compiles 8-lane comparisons and
 * float <-> int conversions one lane at a time and keeps loop-carried 8-lane vectors
 * in memory. For GCC the NEON build does those on 4-lane halves (clang compiles the
 * plain code well, better than the halves). */
#define GCC_NEON 1
#endif
#endif

#define INLINE static inline __attribute__((always_inline))
#define LANES 8

typedef float vf __attribute__((vector_size(32)));
typedef int32_t vi __attribute__((vector_size(32)));
typedef uint32_t vu __attribute__((vector_size(32)));
typedef double vd __attribute__((vector_size(64)));

#define SELU_ALPHA 1.6732632423543772f
#define SELU_SCALE 1.0507009873554805f
#define RRELU_SLOPE 0.22916666666666666f /* torch's rrelu in evaluation: (1/8 + 1/3) / 2 */

/* ------------------------------------------------------------------ math */

INLINE vf load(const float *p)
{
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}

INLINE void store(float *p, vf v) { memcpy(p, &v, sizeof v); }
INLINE vf splat(float x) { return (vf){x, x, x, x, x, x, x, x}; }
/* lanes of ``mask`` are all ones (take a) or all zeros (take b) */
INLINE vf select_(vi mask, vf a, vf b) { return (vf)((mask & (vi)a) | (~mask & (vi)b)); }
/* name(a[, b]): a 4-lane ``instruction`` on both halves of 8-lane vectors */
#define HALVES_1(name, out_t, in_t, out_half, in_half, instruction)                        \
    INLINE out_t name(in_t a)                                                              \
    {                                                                                      \
        in_half x[2];                                                                      \
        out_half r[2];                                                                     \
        out_t out;                                                                         \
        memcpy(x, &a, sizeof a);                                                           \
        r[0] = instruction(x[0]);                                                          \
        r[1] = instruction(x[1]);                                                          \
        memcpy(&out, r, sizeof out);                                                       \
        return out;                                                                        \
    }
#define HALVES_2(name, out_t, in_t, out_half, in_half, instruction)                        \
    INLINE out_t name(in_t a, in_t b)                                                      \
    {                                                                                      \
        in_half x[2], y[2];                                                                \
        out_half r[2];                                                                     \
        out_t out;                                                                         \
        memcpy(x, &a, sizeof a);                                                           \
        memcpy(y, &b, sizeof b);                                                           \
        r[0] = instruction(x[0], y[0]);                                                    \
        r[1] = instruction(x[1], y[1]);                                                    \
        memcpy(&out, r, sizeof out);                                                       \
        return out;                                                                        \
    }

/* Lane-wise comparisons (lanes all ones where true, else zero) and float <-> int32
 * conversions (to_int truncates; every value it meets is in range): the operators,
 * or NEON instructions on the two 4-lane halves for GCC (see GCC_NEON). */
#if defined(GCC_NEON)
HALVES_2(gt_, vi, vf, uint32x4_t, float32x4_t, vcgtq_f32)
HALVES_2(lt_, vi, vf, uint32x4_t, float32x4_t, vcltq_f32)
HALVES_2(eq_, vi, vf, uint32x4_t, float32x4_t, vceqq_f32)
HALVES_2(lt_i, vi, vi, uint32x4_t, int32x4_t, vcltq_s32)
HALVES_2(eq_i, vi, vi, uint32x4_t, int32x4_t, vceqq_s32)
HALVES_1(to_int, vi, vf, int32x4_t, float32x4_t, vcvtq_s32_f32)
HALVES_1(to_float, vf, vi, float32x4_t, int32x4_t, vcvtq_f32_s32)
#else
INLINE vi gt_(vf a, vf b) { return a > b; }
INLINE vi lt_(vf a, vf b) { return a < b; }
INLINE vi eq_(vf a, vf b) { return a == b; }
INLINE vi lt_i(vi a, vi b) { return a < b; }
INLINE vi eq_i(vi a, vi b) { return a == b; }
INLINE vi to_int(vf x) { return __builtin_convertvector(x, vi); }
INLINE vf to_float(vi x) { return __builtin_convertvector(x, vf); }
#endif
INLINE vi ne_(vf a, vf b) { return ~eq_(a, b); } /* true for NaN, like != */
INLINE vi splat_i(int32_t x) { return (vi){x, x, x, x, x, x, x, x}; }

#if defined(ISA_AVX2_FMA)
/* MAXPS/MINPS return the first operand exactly when a > b (resp. a < b) */
INLINE vf max_(vf a, vf b) { return (vf)_mm256_max_ps((__m256)a, (__m256)b); }
INLINE vf min_(vf a, vf b) { return (vf)_mm256_min_ps((__m256)a, (__m256)b); }
#elif defined(ISA_SSE2)
HALVES_2(max_, vf, vf, __m128, __m128, _mm_max_ps)
HALVES_2(min_, vf, vf, __m128, __m128, _mm_min_ps)
#else
/* MAXPS/MINPS semantics on any instruction set (NEON's FMAX and FMIN differ: they
 * return NaN when either operand is NaN, and +0 (FMAX) or -0 (FMIN) for +-0 in
 * either order) */
INLINE vf max_(vf a, vf b) { return select_(gt_(a, b), a, b); }
INLINE vf min_(vf a, vf b) { return select_(lt_(a, b), a, b); }
#endif
/* a * b + c rounded once (IEEE fusedMultiplyAdd): the same bits in every build. The
 * AVX2 build has the instruction (it requires FMA3), and so has every AArch64 CPU
 * (FMLA). Elsewhere each lane calls fmaf, which is one instruction where the target
 * has one and a libm call on baseline x86-64: correctly rounded, with the
 * instruction where the CPU has it and in software where not, but generation is 20x
 * slower or more that way. (An inline emulation in double, rounding to odd, measured
 * no faster.) */
#if defined(ISA_AVX2_FMA)
INLINE vf fma_(vf a, vf b, vf c) { return (vf)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c); }
#elif defined(ISA_NEON)
INLINE vf fma_(vf a, vf b, vf c)
{
    float32x4_t x[2], y[2], z[2];
    memcpy(x, &a, sizeof a);
    memcpy(y, &b, sizeof b);
    memcpy(z, &c, sizeof c);
    z[0] = vfmaq_f32(z[0], x[0], y[0]); /* z + x * y: the accumulator comes first */
    z[1] = vfmaq_f32(z[1], x[1], y[1]);
    memcpy(&c, z, sizeof c);
    return c;
}
#else
INLINE vf fma_(vf a, vf b, vf c)
{
    vf r;
    for (int l = 0; l < LANES; l++) r[l] = __builtin_fmaf(a[l], b[l], c[l]);
    return r;
}
#endif
INLINE vf abs_(vf x) { return (vf)((vi)x & INT32_MAX); }
INLINE vf clamp_(vf x, float lo, float hi) { return min_(max_(x, splat(lo)), splat(hi)); }
INLINE vf copysign_(vf magnitude, vf sign) { return (vf)((vi)abs_(magnitude) | ((vi)sign & INT32_MIN)); }

/* lane by lane; compiles to one vector square root (correctly rounded, so exact) */
INLINE vf sqrt_(vf x)
{
    vf r;
    for (int l = 0; l < LANES; l++) r[l] = __builtin_sqrtf(x[l]);
    return r;
}

/* bit l set when lane l of ``mask`` (all ones or all zeros per lane) is set */
INLINE uint32_t lane_bits_(vi mask)
{
#if defined(ISA_AVX2_FMA)
    __m256 m;
    memcpy(&m, &mask, sizeof m);
    return (uint32_t)_mm256_movemask_ps(m);
#else
    vu bits = (vu)mask & (vu){1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u};
    uint32_t set = 0;
    for (int l = 0; l < LANES; l++) set |= bits[l];
    return set;
#endif
}

/* clamp_(x, -c, c) for one float, with the same NaN handling (NaN -> -c) */
INLINE float clamp_scalar_(float x, float c)
{
    x = x > -c ? x : -c;
    return x < c ? x : c;
}

/* sign(x): 1, -1 or 0 */
INLINE vf sign_(vf x) { return select_(ne_(x, splat(0.0f)), copysign_(splat(1.0f), x), splat(0.0f)); }

/* e^x, |relative error| ~1e-7; x is clamped to [-87, 88] (Cephes-style: x = n ln2 + r,
 * a degree-6 polynomial for e^r, 2^n built in the exponent bits). */
INLINE vf exp_(vf x)
{
    x = clamp_(x, -87.0f, 88.0f);
    vf fx = x * 1.44269504088896341f + 0.5f;
    vi n = to_int(fx);
    n += gt_(to_float(n), fx); /* floor: a true comparison is -1 */
    vf nf = to_float(n);
    x = x - nf * 0.693359375f;
    x = x - nf * -2.12194440e-4f;
    vf z = x * x;
    vf y = splat(1.9875691500e-4f);
    y = fma_(y, x, splat(1.3981999507e-3f));
    y = fma_(y, x, splat(8.3334519073e-3f));
    y = fma_(y, x, splat(4.1665795894e-2f));
    y = fma_(y, x, splat(1.6666665459e-1f));
    y = fma_(y, x, splat(5.0000001201e-1f));
    y = fma_(y, z, x) + 1.0f;
    return y * (vf)((n + 127) << 23);
}

/* natural log of a positive normal float (Cephes-style: x = m 2^e, m in [sqrt(1/2), sqrt(2)),
 * a degree-9 polynomial for log(m)) */
INLINE vf log_(vf x)
{
    vi i = (vi)x;
    vi e = ((i >> 23) & 0xff) - 126;
    vf m = (vf)((i & 0x807fffff) | 0x3f000000); /* x = m 2^e, m in [0.5, 1) */
    vi small = lt_(m, splat(0.707106781186547524f));
    e += small;
    m = select_(small, m, splat(0.0f)) + m - 1.0f;
    vf z = m * m;
    vf y = splat(7.0376836292e-2f);
    y = fma_(y, m, splat(-1.1514610310e-1f));
    y = fma_(y, m, splat(1.1676998740e-1f));
    y = fma_(y, m, splat(-1.2420140846e-1f));
    y = fma_(y, m, splat(1.4249322787e-1f));
    y = fma_(y, m, splat(-1.6668057665e-1f));
    y = fma_(y, m, splat(2.0000714765e-1f));
    y = fma_(y, m, splat(-2.4999993993e-1f));
    y = fma_(y, m, splat(3.3333331174e-1f));
    y = y * m * z;
    vf fe = to_float(e);
    y = fma_(splat(-2.12194440e-4f), fe, y);
    y = fma_(splat(-0.5f), z, y);
    return fma_(splat(0.693359375f), fe, m + y);
}

/* tanh: an odd polynomial near 0, (1 - e^-2|x|) / (1 + e^-2|x|) elsewhere */
INLINE vf tanh_(vf x)
{
    vf a = abs_(x);
    vf z = x * x;
    vf p = splat(-5.70498872745e-3f);
    p = fma_(p, z, splat(2.06390887954e-2f));
    p = fma_(p, z, splat(-5.37397155531e-2f));
    p = fma_(p, z, splat(1.33314422036e-1f));
    p = fma_(p, z, splat(-3.33332819422e-1f));
    vf near = fma_(p * z, x, x);
    vf e = exp_(-2.0f * a);
    vf far = copysign_((1.0f - e) / (1.0f + e), x);
    return select_(lt_(a, splat(0.625f)), near, far);
}

/* sine and cosine of |r| <= pi/4 (Cephes polynomials) */
typedef struct {
    vf s, c;
} SinCos;

INLINE SinCos sincos_reduced_(vf r)
{
    vf z = r * r;
    vf s = splat(-1.9515295891e-4f);
    s = fma_(s, z, splat(8.3321608736e-3f));
    s = fma_(s, z, splat(-1.6666654611e-1f));
    s = fma_(s * z, r, r);
    vf c = splat(2.443315711809948e-5f);
    c = fma_(c, z, splat(-1.388731625493765e-3f));
    c = fma_(c, z, splat(4.166664568298827e-2f));
    c = fma_(c * z, z, fma_(splat(-0.5f), z, splat(1.0f)));
    return (SinCos){s, c};
}

/* sin(r + k pi/2) from the sine and cosine of r */
INLINE vf quadrant_(SinCos sc, vi k)
{
    vf v = select_(-(k & 1), sc.c, sc.s);
    return (vf)((vu)v ^ (((vu)k & 2u) << 30)); /* flip the sign in quadrants 2 and 3 */
}

/* sin(x + quarter * pi/2). The argument is reduced to r = x - n pi/2, |r| <= pi/4, in
 * float with a three-part pi/2 (Cody-Waite; every product n * part is exact for
 * |x| <= 8192), or in double for the lanes beyond (up to the 3e9 clamp). The path
 * depends only on the lane's own |x|. */
INLINE vf sin_quarter_(vf x, int32_t quarter)
{
    vf xs = clamp_(x, -8192.0f, 8192.0f); /* the float path's range; beyond, lanes are replaced */
    vf q = xs * 0.63661977236758134308f;
    vi n = to_int(q + copysign_(splat(0.5f), q)); /* nearest, halves away from zero */
    vf nf = to_float(n);
    vf r = ((xs - nf * 1.5703125f) - nf * 4.837512969970703125e-4f) - nf * 7.54978995489188216e-8f;
    vi big = gt_(abs_(x), splat(8192.0f));
    if (lane_bits_(big)) {
        vd xd = __builtin_convertvector(clamp_(x, -3.0e9f, 3.0e9f), vd);
        /* round to nearest by adding and removing 1.5 * 2^52: exact and branch-free */
        vd nd = (xd * 0.63661977236758134308 + 6755399441055744.0) - 6755399441055744.0;
        n = (n & ~big) | (__builtin_convertvector(nd, vi) & big);
        r = select_(big, __builtin_convertvector(xd - nd * 1.57079632679489661923, vf), r);
    }
    SinCos sc = sincos_reduced_(r);
    return quadrant_(sc, n + quarter);
}

/* log(1 + e^x), stable for any x */
INLINE vf softplus_(vf x) { return max_(x, splat(0.0f)) + log_(1.0f + exp_(-abs_(x))); }

/* erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7) */
INLINE vf erf_(vf x)
{
    vf a = abs_(x);
    vf t = 1.0f / (1.0f + 0.3275911f * a);
    vf p = splat(1.061405429f);
    p = fma_(p, t, splat(-1.453152027f));
    p = fma_(p, t, splat(1.421413741f));
    p = fma_(p, t, splat(-0.284496736f));
    p = fma_(p, t, splat(0.254829592f));
    p = p * t;
    return sign_(x) * (1.0f - p * exp_(-a * a));
}

/* x tanh(softplus(x)) = x n / (n + 2) with n = e^x (e^x + 2); for x > 20 the
 * ratio is 1 in float32, so e^x is taken at min(x, 20) */
INLINE vf mish_(vf x)
{
    vf e = exp_(min_(x, splat(20.0f)));
    vf n = e * (e + 2.0f);
    return x * n / (n + 2.0f);
}

INLINE vf sigmoid_(vf x) { return 0.5f * (1.0f + tanh_(0.5f * x)); }
INLINE vf expm1_neg_(vf x) { return exp_(min_(x, splat(0.0f))) - 1.0f; }

/* random_sines: params = [count, (amplitude, frequency, phase) x count] */
INLINE vf sines_(vf x, const float *params)
{
    int count = (int)params[0];
    vf out = splat(0.0f);
    for (int s = 0; s < count; s++) {
        const float *p = params + 1 + 3 * s;
        out = fma_(splat(p[0]), sin_quarter_(fma_(splat(p[1]), x, splat(p[2])), 0), out);
    }
    return out;
}

#if defined(GCC_NEON)
/* The k loop of dense's 32-wide path for ``rows`` (1 or 2) consecutive rows, on 4-lane
 * registers: *out[4 * i + j] = lanes 8j..8j+7 of row i times w. The same fused
 * multiply-adds in the same order as the 8-lane loop there, whose accumulators GCC
 * keeps in memory on AArch64 (see GCC_NEON). */
INLINE void neon_rows_by_32_(const float *row, int din, const float *w, int rows, vf *const *out)
{
    float32x4_t a[8], b[8]; /* kept in registers (a 2-d array, or 32-byte copies, are not) */
    for (int j = 0; j < 8; j++) a[j] = b[j] = vdupq_n_f32(0.0f);
    for (int k = 0; k < din; k++) {
        const float *wk = w + (Py_ssize_t)k * 32;
        float32x4_t u = vdupq_n_f32(row[k]), v = vdupq_n_f32(row[rows == 2 ? din + k : k]);
        for (int j = 0; j < 8; j++) {
            float32x4_t wj = vld1q_f32(wk + 4 * j);
            a[j] = vfmaq_f32(a[j], u, wj);
            if (rows == 2) b[j] = vfmaq_f32(b[j], v, wj);
        }
    }
    for (int j = 0; j < 8; j++) {
        memcpy((char *)out[j / 2] + 16 * (j % 2), &a[j], 16);
        if (rows == 2) memcpy((char *)out[4 + j / 2] + 16 * (j % 2), &b[j], 16);
    }
}
#endif

/* Apply ``expr`` (of the vector v) to x[0..n) in place, padding the last vector. Two
 * vectors per iteration: their long dependency chains (exp, log, divisions) overlap,
 * ~20 % faster for the transcendental activations; each lane's value is unchanged. */
#define MAP(expr)                                                                          \
    do {                                                                                   \
        Py_ssize_t i = 0;                                                                  \
        for (; i + 2 * LANES <= n; i += 2 * LANES) {                                       \
            vf r0, r1;                                                                     \
            {                                                                              \
                vf v = load(x + i);                                                        \
                r0 = (expr);                                                               \
            }                                                                              \
            {                                                                              \
                vf v = load(x + i + LANES);                                                \
                r1 = (expr);                                                               \
            }                                                                              \
            store(x + i, r0);                                                              \
            store(x + i + LANES, r1);                                                      \
        }                                                                                  \
        for (; i + LANES <= n; i += LANES) {                                               \
            vf v = load(x + i);                                                            \
            store(x + i, (expr));                                                          \
        }                                                                                  \
        if (i < n) {                                                                       \
            float pad[LANES] = {0};                                                        \
            memcpy(pad, x + i, sizeof(float) * (n - i));                                   \
            vf v = load(pad);                                                              \
            store(pad, (expr));                                                            \
            memcpy(x + i, pad, sizeof(float) * (n - i));                                   \
        }                                                                                  \
    } while (0)

/* Apply activation ``code`` to x[0..n) in place. */
static void activate(int code, float *restrict x, Py_ssize_t n, const float *params)
{
    const vf zero = splat(0.0f);
    switch (code) {
    case 0: MAP(max_(v, zero)); break;
    case 1: /* elu */
    case 14: MAP(max_(v, zero) + expm1_neg_(v)); break; /* celu, alpha = 1 */
    case 2: MAP(SELU_SCALE * (max_(v, zero) + SELU_ALPHA * expm1_neg_(v))); break;
    case 3: MAP(v * sigmoid_(v)); break;
    case 4: MAP(v / (1.0f + abs_(v))); break;
    case 5: MAP(tanh_(v)); break;
    case 6: MAP(sigmoid_(v)); break;
    case 7: MAP(v * clamp_(v + 3.0f, 0.0f, 6.0f) / 6.0f); break;
    case 8: MAP(mish_(v)); break;
    case 9: MAP(max_(v, 0.01f * v)); break;
    case 10: MAP(0.5f * v * (1.0f + erf_(v * 0.70710678118654752f))); break;
    case 11: MAP(softplus_(v)); break;
    case 12: MAP(clamp_(v / 6.0f + 0.5f, 0.0f, 1.0f)); break;
    case 13:
    case 25: MAP(clamp_(v, -1.0f, 1.0f)); break; /* hardtanh, clamp */
    case 15: MAP(v - tanh_(v)); break;
    case 16: MAP(max_(v, RRELU_SLOPE * v)); break;
    case 17: MAP(-softplus_(-v)); break;
    case 18: MAP(sign_(v) * max_(abs_(v) - 0.5f, zero)); break;
    case 19: MAP(select_(gt_(abs_(v), splat(0.5f)), v, zero)); break;
    case 20: break; /* identity */
    case 21: MAP(abs_(v)); break;
    case 22: MAP(sin_quarter_(v, 0)); break;
    case 23: MAP(sin_quarter_(v, 1)); break;
    case 24: MAP(sign_(v)); break;
    case 26: MAP(sign_(v) * log_(1.0f + abs_(v))); break;
    case 27: MAP((sqrt_(v * v + 1.0f) - 1.0f) / 2.0f + v); break;
    case RANDOM_SINES: MAP(sines_(v, params)); break;
    }
}

/* out (rows x dout) = clamp(in (rows x din) @ w). Which path computes a layer depends
 * only on its shape, and each path sums in a fixed order. */
static void dense(const float *restrict in, int rows, int din, const float *restrict w,
                      int dout, float clamp, float *restrict out)
{
    if (dout == 32) { /* the default embedding width: rows in pairs, 8 vector accumulators */
        int r = 0;
        for (; r + 2 <= rows; r += 2) {
            vf a0 = splat(0.0f), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            const float *row = in + (Py_ssize_t)r * din;
#if defined(GCC_NEON)
            neon_rows_by_32_(row, din, w, 2, (vf *const[]){&a0, &a1, &a2, &a3, &b0, &b1, &b2, &b3});
#else
            for (int k = 0; k < din; k++) {
                const float *wk = w + (Py_ssize_t)k * 32;
                vf w0 = load(wk), w1 = load(wk + 8), w2 = load(wk + 16), w3 = load(wk + 24);
#ifdef ISA_AVX2_FMA
                /* keep the weights in registers: otherwise gcc folds each load into both
                 * rows' multiplies, and the loads, not the arithmetic, set the pace */
                __asm__("" : "+x"(w0), "+x"(w1), "+x"(w2), "+x"(w3));
#endif
                vf u = splat(row[k]), v = splat(row[din + k]);
                a0 = fma_(u, w0, a0);
                a1 = fma_(u, w1, a1);
                a2 = fma_(u, w2, a2);
                a3 = fma_(u, w3, a3);
                b0 = fma_(v, w0, b0);
                b1 = fma_(v, w1, b1);
                b2 = fma_(v, w2, b2);
                b3 = fma_(v, w3, b3);
            }
#endif
            float *o = out + (Py_ssize_t)r * 32;
            store(o, clamp_(a0, -clamp, clamp));
            store(o + 8, clamp_(a1, -clamp, clamp));
            store(o + 16, clamp_(a2, -clamp, clamp));
            store(o + 24, clamp_(a3, -clamp, clamp));
            store(o + 32, clamp_(b0, -clamp, clamp));
            store(o + 40, clamp_(b1, -clamp, clamp));
            store(o + 48, clamp_(b2, -clamp, clamp));
            store(o + 56, clamp_(b3, -clamp, clamp));
        }
        for (; r < rows; r++) {
            vf a0 = splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
            const float *row = in + (Py_ssize_t)r * din;
#if defined(GCC_NEON)
            neon_rows_by_32_(row, din, w, 1, (vf *const[]){&a0, &a1, &a2, &a3});
#else
            for (int k = 0; k < din; k++) {
                vf u = splat(row[k]);
                const float *wk = w + (Py_ssize_t)k * 32;
                a0 = fma_(u, load(wk), a0);
                a1 = fma_(u, load(wk + 8), a1);
                a2 = fma_(u, load(wk + 16), a2);
                a3 = fma_(u, load(wk + 24), a3);
            }
#endif
            float *o = out + (Py_ssize_t)r * 32;
            store(o, clamp_(a0, -clamp, clamp));
            store(o + 8, clamp_(a1, -clamp, clamp));
            store(o + 16, clamp_(a2, -clamp, clamp));
            store(o + 24, clamp_(a3, -clamp, clamp));
        }
        return;
    }
    if (dout == 1 && din % LANES == 0) { /* a numeric decoder's last layer: a dot product */
        for (int r = 0; r < rows; r++) {
            const float *row = in + (Py_ssize_t)r * din;
            vf acc = splat(0.0f);
            for (int k = 0; k < din; k += LANES) acc = fma_(load(row + k), load(w + k), acc);
            float lanes[LANES], sum = 0.0f;
            store(lanes, acc);
            for (int l = 0; l < LANES; l++) sum += lanes[l];
            out[r] = clamp_scalar_(sum, clamp);
        }
        return;
    }
    for (int r = 0; r < rows; r++) {
        const float *row = in + (Py_ssize_t)r * din;
        for (int j = 0; j < dout; j++) {
            float acc = 0.0f;
            for (int k = 0; k < din; k++)
                acc = __builtin_fmaf(row[k], w[(Py_ssize_t)k * dout + j], acc);
            out[(Py_ssize_t)r * dout + j] = clamp_scalar_(acc, clamp);
        }
    }
}

/* x[0..n) clamped to [-c, c] in place (NaN -> -c, as clamp_) */
static void clamp_all(float *restrict x, Py_ssize_t n, float c)
{
    Py_ssize_t i = 0;
    for (; i + LANES <= n; i += LANES) store(x + i, clamp_(load(x + i), -c, c));
    for (; i < n; i++) x[i] = clamp_scalar_(x[i], c);
}

/* Run ``rows`` (<= TILE) rows through the MLP; returns the buffer holding the output
 * (one of a, b, each TILE x max_dim floats). Every layer's product is clamped to
 * +-m->clamp; a hidden layer's activation is then clamped to +-params[offset - 1]
 * (the method clamps scale x activation, and the scale is folded into the next
 * matrix); the last layer is not clamped further. */
static float *mlp_tile(const MLPView *m, const float *in, int rows, float *a, float *b)
{
    const float *cur = in;
    float *dst = a;
    for (int l = 0; l < m->layers; l++) {
        int din = m->dims[l], dout = m->dims[l + 1];
        dense(cur, rows, din, m->weights + m->matrices[l], dout, m->clamp, dst);
        if (l < m->layers - 1) {
            const float *params = m->params + m->offsets[l];
            activate(m->acts[l], dst, (Py_ssize_t)rows * dout, params);
            clamp_all(dst, (Py_ssize_t)rows * dout, params[-1]);
        }
        cur = dst;
        dst = dst == a ? b : a;
    }
    return (float *)cur;
}


/* One vector of fold: (acc, aux) <- combine((acc, aux), clip(t)). */
INLINE void fold_vector(int mode, int first, float bound, vf t, float *acc, float *aux)
{
    t = clamp_(t, -bound, bound);
    if (first) {
        store(acc, t);
        if (mode == AGG_LOGSUMEXP) store(aux, splat(1.0f));
        return;
    }
    vf a = load(acc);
    switch (mode) {
    case AGG_SUM: store(acc, a + t); break;
    case AGG_MAX: store(acc, max_(a, t)); break;
    case AGG_PRODUCT: store(acc, a * t); break;
    default: {
        /* sum * exp(a - top) + exp(t - top) with one exp: for finite terms one of the
         * two exponents is 0 and exp_(0) == 1 exactly, so this is the same value bit
         * for bit (terms are clamped, so finite; were both the same infinity, the
         * infinite top would hide the sum either way) */
        vf top = max_(a, t);
        vf e = exp_(min_(a, t) - top);
        vf sum = load(aux);
        store(aux, select_(gt_(t, a), sum * e + 1.0f, sum + e));
        store(acc, top);
    }
    }
}

/* Fold n terms (clipped to +-bound) into the running aggregate; ``first`` starts it.
 * logsumexp keeps (running max in acc, sum of exp(term - max) in aux). */
static void fold(int mode, int first, float bound, const float *restrict term,
                     float *restrict acc, float *restrict aux, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    for (; i + LANES <= n; i += LANES)
        fold_vector(mode, first, bound, load(term + i), acc + i, aux + i);
    if (i < n) {
        float t[LANES] = {0}, a[LANES] = {0}, x[LANES] = {0};
        Py_ssize_t rest = n - i;
        memcpy(t, term + i, sizeof(float) * rest);
        memcpy(a, acc + i, sizeof(float) * rest);
        if (mode == AGG_LOGSUMEXP) memcpy(x, aux + i, sizeof(float) * rest);
        fold_vector(mode, first, bound, load(t), a, x);
        memcpy(acc + i, a, sizeof(float) * rest);
        if (mode == AGG_LOGSUMEXP) memcpy(aux + i, x, sizeof(float) * rest);
    }
}

/* Fold rows ``index`` of a (k x width) table into the aggregate (rows x width). */
static void gather(int mode, int first, float bound, const float *restrict table,
                       Py_ssize_t width, const int64_t *restrict index, Py_ssize_t rows,
                       float *restrict acc, float *restrict aux)
{
    if (width % LANES) { /* any width: row by row through the padded path */
        for (Py_ssize_t r = 0; r < rows; r++)
            fold(mode, first, bound, table + index[r] * width, acc + r * width, aux + r * width,
                 width);
        return;
    }
    for (Py_ssize_t r = 0; r < rows; r++) {
        const float *t = table + index[r] * width;
        for (Py_ssize_t j = 0; j < width; j += LANES)
            fold_vector(mode, first, bound, load(t + j), acc + r * width + j, aux + r * width + j);
    }
}

/* fold_result(mode, acc, aux): turn the running aggregate into its value, in acc
 * (logsumexp: max + log(sum); product: NaN -> 0, +-inf -> +-3e38). */
static void finish(int mode, float *restrict acc, const float *restrict aux, Py_ssize_t n)
{
    if (mode != AGG_LOGSUMEXP && mode != AGG_PRODUCT) return;
    for (Py_ssize_t i = 0; i < n; i += LANES) {
        Py_ssize_t m = n - i < LANES ? n - i : LANES;
        float a[LANES] = {0}, sums[LANES] = {1, 1, 1, 1, 1, 1, 1, 1};
        memcpy(a, acc + i, sizeof(float) * m);
        vf v = load(a);
        if (mode == AGG_LOGSUMEXP) {
            memcpy(sums, aux + i, sizeof(float) * m);
            v += log_(load(sums));
        } else {
            v = select_(ne_(v, v), splat(0.0f), clamp_(v, -3e38f, 3e38f));
        }
        store(a, v);
        memcpy(acc + i, a, sizeof(float) * m);
    }
}

/* -------------------------------------------------------- weight banks */

/* xoshiro128** on 8 independent lanes (32-bit state words, vector friendly). Hot
 * loops copy the state into a local ``RngState`` and back, so it lives in registers
 * (through the ``Rng`` struct the compiler kept it in memory, and every draw waited
 * on store-to-load forwarding). */

typedef struct {
    vu s0, s1, s2, s3;
} RngState;

typedef struct {
    RngState st;
    float uniform[LANES];
    int u_next;
} Rng;

INLINE vu rotl_(vu x, int k) { return (x << k) | (x >> (32 - k)); }

INLINE vu next_bits(RngState *g)
{
    vu result = rotl_(g->s1 * 5u, 7) * 9u;
    vu t = g->s1 << 9;
    g->s2 ^= g->s0;
    g->s3 ^= g->s1;
    g->s1 ^= g->s2;
    g->s0 ^= g->s3;
    g->s2 ^= t;
    g->s3 = rotl_(g->s3, 11);
    return result;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* lanes seeded by SplitMix64 from the 64-bit seed (never all-zero state) */
static void rng_seed(Rng *g, uint64_t seed)
{
    uint32_t words[4][LANES];
    for (int l = 0; l < LANES; l++)
        for (int w = 0; w < 4; w += 2) {
            uint64_t z = splitmix64(&seed);
            words[w][l] = (uint32_t)z;
            words[w + 1][l] = (uint32_t)(z >> 32) | 1u;
        }
    memcpy(&g->st.s0, words[0], sizeof g->st.s0);
    memcpy(&g->st.s1, words[1], sizeof g->st.s1);
    memcpy(&g->st.s2, words[2], sizeof g->st.s2);
    memcpy(&g->st.s3, words[3], sizeof g->st.s3);
    g->u_next = LANES;
}

INLINE vf bits_to_unit(vu bits) { return to_float((vi)(bits >> 8)) * 0x1p-24f; }

/* U[0, 1) with 24 random bits */
INLINE float next_uniform(Rng *g)
{
    if (g->u_next == LANES) {
        store(g->uniform, bits_to_unit(next_bits(&g->st)));
        g->u_next = 0;
    }
    return g->uniform[g->u_next++];
}

/* sixteen N(0, 1) by Box-Muller: u1 in (0, 1], u2 in [0, 1) (24 bits each); the
 * radius caps |z| at sqrt(48 ln 2) = 5.77 */
INLINE void normals16(RngState *g, float *out)
{
    vf u1 = bits_to_unit(next_bits(g)) + 0x1p-24f;
    vf r = sqrt_(-2.0f * log_(u1));
    /* the angle 2 pi u2 as quadrant n (0..4) + remainder t pi/2, t in [-1/2, 1/2):
     * exact in float, so one polynomial pair gives both sine and cosine */
    vf q = 4.0f * bits_to_unit(next_bits(g));
    vi n = to_int(q + 0.5f);
    SinCos sc = sincos_reduced_((q - to_float(n)) * 1.57079632679489661923f);
    store(out, r * quadrant_(sc, n + 1)); /* cos(a) = sin(a + pi/2) */
    store(out + LANES, r * quadrant_(sc, n));
}

/* out[0..n) = N(0, 1) * scale, sixteen at a time (the last block's extras are dropped) */
static void fill_normal(Rng *g, float *out, Py_ssize_t n, float scale)
{
    RngState st = g->st;
    float z[2 * LANES];
    Py_ssize_t i = 0;
    for (; i + 2 * LANES <= n; i += 2 * LANES) {
        normals16(&st, z);
        store(out + i, load(z) * scale);
        store(out + i + LANES, load(z + LANES) * scale);
    }
    if (i < n) {
        normals16(&st, z);
        for (Py_ssize_t j = 0; i + j < n; j++) out[i + j] = z[j] * scale;
    }
    g->st = st;
}

enum { INIT_KAIMING_NORMAL, INIT_KAIMING_UNIFORM, INIT_XAVIER_NORMAL, INIT_XAVIER_UNIFORM,
       INIT_TRUNC_NORMAL, INIT_SPARSE };

/* One matrix (rows x cols, row-major) by initializer ``init``, each entry kept with
 * probability ``density`` (rescaled by 1/density; density >= 1: no mask) and
 * multiplied by ``factor``. ``scratch`` holds rows ints (sparse's permutation). */
static void fill_matrix(Rng *g, float *out, int rows, int cols, int init, float density,
                        float factor, int32_t *scratch)
{
    Py_ssize_t n = (Py_ssize_t)rows * cols;
    /* torch's convention, which the reference inherits: a 2-D tensor's fan-in is its
     * second dimension, even for the (in, out) matrices it uses as x @ W and for the
     * (k, d) embedding tables; so a (1 x 32) matrix gets kaiming std sqrt(2 / 32) and a
     * (32 x 1) one sqrt(2). Xavier is symmetric in the two. */
    float fan_in = (float)cols, fan_out = (float)rows;
    switch (init) {
    case INIT_KAIMING_NORMAL:
        fill_normal(g, out, n, __builtin_sqrtf(2.0f / fan_in));
        break;
    case INIT_XAVIER_NORMAL:
        fill_normal(g, out, n, __builtin_sqrtf(2.0f / (fan_in + fan_out)));
        break;
    case INIT_KAIMING_UNIFORM:
    case INIT_XAVIER_UNIFORM: {
        float bound = __builtin_sqrtf(6.0f / (init == INIT_KAIMING_UNIFORM ? fan_in : fan_in + fan_out));
        RngState st = g->st;
        Py_ssize_t i = 0;
        for (; i + LANES <= n; i += LANES)
            store(out + i, (2.0f * bits_to_unit(next_bits(&st)) - 1.0f) * bound);
        if (i < n) {
            float u[LANES];
            store(u, (2.0f * bits_to_unit(next_bits(&st)) - 1.0f) * bound);
            for (Py_ssize_t j = 0; i + j < n; j++) out[i + j] = u[j];
        }
        g->st = st;
        break;
    }
    case INIT_TRUNC_NORMAL: { /* N(0, 1) restricted to [-2, 2], by rejection */
        float z[2 * LANES];
        Py_ssize_t filled = 0;
        while (filled < n) {
            normals16(&g->st, z);
            for (int j = 0; j < 2 * LANES && filled < n; j++)
                if (z[j] >= -2.0f && z[j] <= 2.0f) out[filled++] = z[j];
        }
        break;
    }
    default: { /* sparse: N(0, 0.01) with ceil(rows / 2) random entries of each column zeroed */
        fill_normal(g, out, n, 0.01f);
        int zeroed = rows / 2 + (rows & 1); /* ceil(rows / 2) */
        for (int c = 0; c < cols; c++) {
            for (int r = 0; r < rows; r++) scratch[r] = r;
            for (int t = 0; t < zeroed; t++) { /* partial Fisher-Yates */
                int pick = t + (int)(next_uniform(g) * (float)(rows - t));
                pick = pick < rows ? pick : rows - 1;
                int32_t swap = scratch[t];
                scratch[t] = scratch[pick];
                scratch[pick] = swap;
                out[(Py_ssize_t)scratch[t] * cols + c] = 0.0f;
            }
        }
    }
    }
    if (density < 1.0f) { /* Bernoulli mask, eight entries per draw */
        vf keep = splat(factor / density), zero = splat(0.0f);
        RngState st = g->st;
        Py_ssize_t i = 0;
        for (; i + LANES <= n; i += LANES)
            store(out + i, load(out + i) * select_(lt_(bits_to_unit(next_bits(&st)), splat(density)), keep, zero));
        if (i < n) {
            float kept[LANES];
            store(kept, select_(lt_(bits_to_unit(next_bits(&st)), splat(density)), keep, zero));
            for (Py_ssize_t j = 0; i + j < n; j++) out[i + j] *= kept[j];
        }
        g->st = st;
    } else if (factor != 1.0f) {
        for (Py_ssize_t i = 0; i < n; i++) out[i] *= factor;
    }
}

/* Fill every matrix of a bank in order, from one generator seeded by ``seed``. */
static void fill_bank(float *bank, const int64_t *offsets, const int32_t *shapes,
                      const int32_t *inits, const float *densities, const float *factors,
                      Py_ssize_t count, uint64_t seed, int32_t *scratch)
{
    Rng g;
    rng_seed(&g, seed);
    for (Py_ssize_t i = 0; i < count; i++)
        fill_matrix(&g, bank + offsets[i], shapes[2 * i], shapes[2 * i + 1], inits[i],
                    densities[i], factors[i], scratch);
}

/* ------------------------------------------------------------ node noise */

/* The lanes of Beta noise that fell in the first or last interval of the table,
 * collected so their power laws run eight at a time (about 3 % of all values). */
typedef struct {
    float frac[LANES];
    int32_t last[LANES];
    float *at[LANES];
    int count;
} NoiseTails;

/* Give the collected tail lanes their values: lo + (hi - lo) * w with the power-law
 * weight w of their interval (the same lane-wise arithmetic as any other lane). */
static void noise_tails_flush(NoiseTails *t, const float *restrict icdf, int q, float inv_a,
                              float inv_b)
{
    vf frac = load(t->frac);
    vi last;
    memcpy(&last, t->last, sizeof last);
    vf tiny = splat(1e-30f);
    vf low = exp_(log_(max_(frac, tiny)) * inv_a);
    vf high = 1.0f - exp_(log_(max_(1.0f - frac, tiny)) * inv_b);
    vf weight = select_(last, high, low);
    vf lo = select_(last, splat(icdf[q - 1]), splat(icdf[0]));
    vf hi = select_(last, splat(icdf[q]), splat(icdf[1]));
    vf value = lo + (hi - lo) * weight;
    for (int l = 0; l < t->count; l++) *t->at[l] = value[l];
    t->count = 0;
}

/* out[0..n) = Beta node noise: uniforms from a generator seeded by ``seed``, mapped
 * through the inverse-CDF table ``icdf`` (q + 1 evenly spaced quantiles): linear
 * interpolation inside, the quantile function's power laws u^(1/a) and
 * 1 - (1-u)^(1/b) in the first and last intervals (those lanes are set aside and
 * computed in batches, so the common case has no transcendental math). The table
 * lookups are scalar loads over a chunk of knots: AVX2 gathers cost more here. */
static void beta_noise(float *restrict out, Py_ssize_t n, const float *restrict icdf, int q,
                       float inv_a, float inv_b, uint64_t seed)
{
    enum { CHUNK = 8 * LANES };
    Rng g;
    rng_seed(&g, seed);
    RngState st = g.st;
    NoiseTails tails = {.count = 0};
    int32_t knots[CHUNK];
    float fracs[CHUNK];
    for (Py_ssize_t i = 0; i < n; i += CHUNK) {
        int m = n - i < CHUNK ? (int)(n - i) : CHUNK;
        uint32_t edges[CHUNK / LANES];
        for (int j = 0; j < CHUNK; j += LANES) {
            vf s = bits_to_unit(next_bits(&st)) * (float)q;
            vi knot = to_int(s);
            vi inside = lt_i(knot, splat_i(q - 1)); /* u * q < q, but rounding can give exactly q */
            knot = (knot & inside) | ((q - 1) & ~inside);
            store(fracs + j, s - to_float(knot));
            memcpy(knots + j, &knot, sizeof knot);
            vi first = eq_i(knot, splat_i(0));
            edges[j / LANES] = lane_bits_(first | eq_i(knot, splat_i(q - 1))) | lane_bits_(first) << LANES;
            if (j + LANES >= m) break; /* the generator advances only for values drawn */
        }
        for (int j = 0; j < m; j++) {
            float lo = icdf[knots[j]], hi = icdf[knots[j] + 1];
            out[i + j] = lo + (hi - lo) * fracs[j];
        }
        for (int v = 0; v * LANES < m; v++) {
            uint32_t edge = edges[v] & 0xffu, first = edges[v] >> LANES;
            while (edge) {
                int l = __builtin_ctz(edge);
                int j = v * LANES + l;
                edge &= edge - 1;
                if (j >= m) break;
                tails.frac[tails.count] = fracs[j];
                /* q = 1: the first interval */
                tails.last[tails.count] = (first >> l & 1u) ? 0 : -1;
                tails.at[tails.count] = out + i + j;
                if (++tails.count == LANES) noise_tails_flush(&tails, icdf, q, inv_a, inv_b);
            }
        }
    }
    if (tails.count) {
        for (int l = tails.count; l < LANES; l++) { /* padding lanes, never written */
            tails.frac[l] = 0.5f;
            tails.last[l] = 0;
        }
        noise_tails_flush(&tails, icdf, q, inv_a, inv_b);
    }
}

/* ------------------------------------------------------------ categories */

/* out[r] = argmax_c <emb[r], table[c]> over the k rows of a (k x d) table: the first
 * category of highest similarity. Dot products sum lanes of 8 (d % 8 == 0) or
 * sequentially (other d), then the lanes in order: a fixed order on every build. */
static void argmax_similarity(const float *restrict emb, Py_ssize_t rows, int d,
                              const float *restrict table, int k, int64_t *restrict out)
{
    for (Py_ssize_t r = 0; r < rows; r++) {
        const float *e = emb + r * d;
        float best = 0.0f;
        int64_t best_c = 0;
        for (int c = 0; c < k; c++) {
            const float *t = table + (Py_ssize_t)c * d;
            float dot = 0.0f;
            if (d % LANES == 0) {
                vf acc = splat(0.0f);
                for (int j = 0; j < d; j += LANES) acc = fma_(load(e + j), load(t + j), acc);
                float lanes[LANES];
                store(lanes, acc);
                for (int l = 0; l < LANES; l++) dot += lanes[l];
            } else {
                for (int j = 0; j < d; j++) dot = __builtin_fmaf(e[j], t[j], dot);
            }
            if (c == 0 || dot > best) {
                best = dot;
                best_c = c;
            }
        }
        out[r] = best_c;
    }
}

/* ----------------------------------------------------------- drivers */

static void mlp_forward(const MLPView *m, const float *x, Py_ssize_t rows, float *out,
                        float *scratch)
{
    int din = m->dims[0], dout = m->dims[m->layers];
    for (Py_ssize_t r = 0; r < rows; r += TILE) {
        int n = rows - r < TILE ? (int)(rows - r) : TILE;
        float *res = mlp_tile(m, x + r * din, n, scratch, scratch + (Py_ssize_t)TILE * m->max_dim);
        memcpy(out + r * dout, res, sizeof(float) * n * dout);
    }
}

static void encode_fold(const MLPView *m, const float *x, Py_ssize_t rows, float bound, int mode,
                        int first, float *acc, float *aux, float *scratch)
{
    int din = m->dims[0], dout = m->dims[m->layers];
    for (Py_ssize_t r = 0; r < rows; r += TILE) {
        int n = rows - r < TILE ? (int)(rows - r) : TILE;
        float *res = mlp_tile(m, x + r * din, n, scratch, scratch + (Py_ssize_t)TILE * m->max_dim);
        fold(mode, first, bound, res, acc + r * dout, aux + r * dout, (Py_ssize_t)n * dout);
    }
}

const KernelTable KERNEL_TABLE = {
    KERNEL_NAME, activate, mlp_forward, encode_fold, fold, gather, finish, beta_noise, fill_bank,
    argmax_similarity,
};
