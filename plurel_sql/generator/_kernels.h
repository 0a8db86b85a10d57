/*
 * Declarations shared by the compiled SCM kernels (see _kernels.c): the MLP view,
 * the table of kernel functions, and constants. The kernels themselves are in
 * _kernels_simd.h, compiled for the baseline instruction set (_kernels_base.c) and,
 * on x86-64, also for AVX2 with FMA3 (_kernels_avx2_fma.c).
 *
 * The kernels need nothing from Python but its index type: with
 * PLUREL_KERNELS_STANDALONE they compile without Python's headers (the test harness
 * tests/kernel_replay/replay.c, which runs them on other architectures).
 */
#ifndef PLUREL_KERNELS_H
#define PLUREL_KERNELS_H

#ifdef PLUREL_KERNELS_STANDALONE
#include <stddef.h>
typedef ptrdiff_t Py_ssize_t;
#else
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#endif
#include <stdint.h>

#define TILE 32 /* rows pushed through an MLP together: (32 x 32) floats = 4 KB */
#define NUM_ACTIVATIONS 29
#define RANDOM_SINES 28

/* codes of the aggregations, in the order of the module's AGGREGATIONS tuple */
enum { AGG_SUM = 0, AGG_MAX = 1, AGG_PRODUCT = 2, AGG_LOGSUMEXP = 3 };

/* An MLP as flat arrays: meta = [L, d_0 .. d_L, act_0 .. act_{L-2}, off_0 .. off_{L-2},
 * w_0 .. w_{L-1}] (act_j the activation after layer j, off_j >= 1 the offset of its
 * parameters in params, preceded by the clamp of its output; w_j the offset of
 * matrix j, d_j x d_{j+1} row-major, in weights). Many MLPs share one weights array
 * (a bank) and one params array; layer scales are already folded into the matrices. */
typedef struct {
    int layers;
    const int32_t *dims;
    const int32_t *acts;
    const int32_t *offsets;
    const int32_t *matrices;
    const float *weights;
    const float *params;
    float clamp;
    int max_dim;
} MLPView;

/* One build of the kernels. ``scratch`` holds 2 x TILE x max_dim floats. */
typedef struct {
    const char *name;
    void (*activate)(int code, float *x, Py_ssize_t n, const float *params);
    void (*mlp_forward)(const MLPView *m, const float *x, Py_ssize_t rows, float *out,
                        float *scratch);
    void (*encode_fold)(const MLPView *m, const float *x, Py_ssize_t rows, float bound,
                        int mode, int first, float *acc, float *aux, float *scratch);
    void (*fold)(int mode, int first, float bound, const float *term, float *acc, float *aux,
                 Py_ssize_t n);
    void (*gather)(int mode, int first, float bound, const float *table, Py_ssize_t width,
                   const int64_t *index, Py_ssize_t rows, float *acc, float *aux);
    void (*finish)(int mode, float *acc, const float *aux, Py_ssize_t n);
    void (*beta_noise)(float *out, Py_ssize_t n, const float *icdf, int q, float inv_a,
                       float inv_b, uint64_t seed);
    void (*fill_bank)(float *bank, const int64_t *offsets, const int32_t *shapes,
                      const int32_t *inits, const float *densities, const float *factors,
                      Py_ssize_t count, uint64_t seed, int32_t *scratch);
    void (*argmax_similarity)(const float *emb, Py_ssize_t rows, int d, const float *table,
                              int k, int64_t *out);
} KernelTable;

/* the baseline build: "baseline", or "neon" on AArch64 */
extern const KernelTable kernels_base;
/* GCC and clang (which defines __GNUC__ too) can compile it */
#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_AVX2_FMA_BUILD 1
extern const KernelTable kernels_avx2_fma;
#endif

#endif
