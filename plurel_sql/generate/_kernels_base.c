/* The kernels for the baseline instruction set of the target (SSE2 on x86-64). */
#define KERNEL_TABLE kernels_base
#define KERNEL_NAME "baseline"
#include "_kernels_simd.h"
