"""Build of the compiled SCM kernels; all other metadata lives in pyproject.toml.

``-ffp-contract=off`` stops the compiler from fusing multiplications and additions
on its own: the kernels fuse exactly the multiply-adds they name (``fma_`` in
_kernels_simd.h), so every build of the kernels (AVX2 + FMA and baseline, see
plurel_sql/generate/_kernels.c) computes bit-identical values. libm supplies
``fmaf`` to the baseline build.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "plurel_sql.generate._kernels",
            [
                "plurel_sql/generate/_kernels.c",
                "plurel_sql/generate/_kernels_base.c",
                "plurel_sql/generate/_kernels_avx2_fma.c",
            ],
            libraries=["m"],
            depends=["plurel_sql/generate/_kernels.h", "plurel_sql/generate/_kernels_simd.h"],
            extra_compile_args=[
                "-O3",
                "-ffp-contract=off",
                # whatever CFLAGS the environment adds: no value-changing float shortcuts
                "-fno-fast-math",
                "-fno-associative-math",
                "-fno-reciprocal-math",
                "-fno-finite-math-only",
                # these only let loops be vectorized; values are unchanged
                "-fno-math-errno",
                "-fno-trapping-math",
                "-Wno-psabi",
            ],
        )
    ]
)
