/* The kernels for the baseline instruction set of the target: SSE2 on x86-64, NEON
 * (with its fused multiply-add) on AArch64, plain vector code on anything else. */
#define KERNEL_TABLE kernels_base
#if defined(__aarch64__) && defined(__ARM_NEON)
#define KERNEL_NAME "neon"
#else
#define KERNEL_NAME "baseline"
#endif
#include "_kernels_simd.h"
