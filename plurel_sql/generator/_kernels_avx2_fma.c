/* The kernels compiled for AVX2 with FMA3 (x86-64, GCC or clang); chosen at import
 * when the CPU has both, so the rest of the extension, and the package, still run on
 * CPUs without them. Results are bit-identical to the baseline build (tests check
 * it): the multiply-adds fused here are exactly the ones the baseline build fuses
 * with fmaf.
 *
 * Only this file's functions may use AVX2: it is compiled with the same flags as the
 * others, and the instruction set is switched on for the functions below by a target
 * pragma (GCC) or a target attribute applied to every function (clang, which ignores
 * GCC's pragma). The system headers are included first, outside that region. */
#include "_kernels.h"
#ifdef HAVE_AVX2_FMA_BUILD
#include <immintrin.h>
#include <string.h>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx2,fma")
#endif
#define KERNELS_AVX2_FMA 1
#define KERNEL_TABLE kernels_avx2_fma
#define KERNEL_NAME "avx2-fma"
#include "_kernels_simd.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
