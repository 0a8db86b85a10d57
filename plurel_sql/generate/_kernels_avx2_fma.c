/* The kernels compiled for AVX2 with FMA3 (x86-64 with GCC); chosen at import when the
 * CPU has both. Results are bit-identical to the baseline build (tests check it): the
 * multiply-adds fused here are exactly the ones the baseline build fuses with fmaf. */
#include "_kernels.h"
#ifdef HAVE_AVX2_FMA_BUILD
#pragma GCC target("avx2,fma")
#define KERNEL_TABLE kernels_avx2_fma
#define KERNEL_NAME "avx2-fma"
#include "_kernels_simd.h"
#endif
