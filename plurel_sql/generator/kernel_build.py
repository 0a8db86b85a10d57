"""How the compiled kernels are built, which build runs, and a warning when it is slow.

The builds (see plurel_sql/generator/_kernels.c), all computing the same bits:

- x86-64: ``avx2-fma``, chosen at import on CPUs with AVX2 and FMA3 (Intel Core since
  Haswell, AMD since Excavator; some Pentium, Celeron and Atom models lack AVX2),
  compiled by GCC or clang; otherwise ``baseline`` (SSE2), whose fused multiply-adds
  are libm calls: whole databases took 22-26x longer on a CPU whose libm fmaf uses the
  FMA instruction, and libm's software fmaf is slower still.
- AArch64: ``neon``, vectorized with the fused multiply-add every AArch64 CPU has.
- anything else: ``baseline``, portable vector code fusing with fmaf, which is an
  instruction where the CPU has one and a libm call where not.

This module must stay importable without the compiled extension: setup.py reads
``EXTENSION`` from it before anything is built.
"""

from __future__ import annotations

import platform
import warnings

# The arguments of setuptools.Extension for plurel_sql.generator._kernels (setup.py; the
# tests build the same extension with another compiler, and the standalone kernel
# harness with these flags).
KERNEL_SOURCES = [
    "plurel_sql/generator/_kernels_base.c",
    "plurel_sql/generator/_kernels_avx2_fma.c",
]
COMPILE_FLAGS = [
    "-O3",
    # the kernels fuse exactly the multiply-adds they name (``fma_`` in
    # _kernels_simd.h): the compiler must fuse nothing on its own, or builds differ
    "-ffp-contract=off",
    # whatever CFLAGS the environment adds: no value-changing float shortcuts
    "-fno-fast-math",
    "-fno-associative-math",
    "-fno-reciprocal-math",
    "-fno-finite-math-only",
    # these only let loops be vectorized; values are unchanged
    "-fno-math-errno",
    "-fno-trapping-math",
    "-fwrapv",  # CPython's own flag, named so that builds without Python's CFLAGS match
    "-Wno-psabi",
]
EXTENSION = {
    "name": "plurel_sql.generator._kernels",
    "sources": ["plurel_sql/generator/_kernels.c", *KERNEL_SOURCES],
    "libraries": ["m"],
    "depends": ["plurel_sql/generator/_kernels.h", "plurel_sql/generator/_kernels_simd.h"],
    "extra_compile_args": COMPILE_FLAGS,
}

_X86_64 = {"x86_64", "amd64"}
_FAST_BUILDS = {"avx2-fma", "neon"}
_warned = False


def slow_build_message(build: str, machine: str, fast_build_compiled: bool) -> str | None:
    """Why generation may be slow with kernel ``build`` on ``machine``, or None."""
    if build in _FAST_BUILDS:
        return None
    machine = machine.lower()
    if machine not in _X86_64:
        return (
            f"plurel-sql's kernels have not been tested on {machine}: the generator runs "
            "its portable baseline kernels, meant to compute the same values as on x86-64 "
            "and AArch64, 20x slower or more if this CPU has no fused multiply-add"
        )
    if fast_build_compiled:
        reason = "this CPU lacks AVX2 or FMA3"
    else:
        reason = "plurel-sql was compiled without its AVX2 + FMA kernels (they need GCC or clang)"
    return (
        f"{reason}: the generator runs its baseline kernels, which compute the same "
        "values with libm multiply-adds, 20x slower or more"
    )


def warn_if_slow() -> None:
    """Warn, once per process, when the running build may be a slow one."""
    global _warned
    if _warned:
        return
    _warned = True  # the build cannot change within a process: decide once
    # imported here, not at the top: setup.py loads this module before the build
    from plurel_sql.generator import _kernels

    message = slow_build_message(
        _kernels.DEFAULT, platform.machine(), bool(_kernels.AVX2_FMA_COMPILED)
    )
    if message is not None:
        warnings.warn(message, RuntimeWarning, stacklevel=3)
