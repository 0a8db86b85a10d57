/* The kernels compiled for AVX2 (x86-64 with GCC); chosen at import when the CPU has
 * it. No FMA: results are bit-identical to the baseline build (tests check it). */
#include "_kernels.h"
#ifdef HAVE_AVX2_BUILD
#pragma GCC target("avx2")
#define KERNEL_TABLE kernels_avx2
#define KERNEL_NAME "avx2"
#include "_kernels_simd.h"
#endif
