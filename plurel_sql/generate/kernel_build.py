"""Which build of the compiled kernels runs, and a warning when it is the slow one.

On x86-64 the fast build needs AVX2 and FMA3 in the CPU (Intel Core since Haswell,
AMD since Excavator; some Pentium, Celeron and Atom models lack AVX2) and GCC at
install time (it is compiled with GCC's target pragma). Otherwise the baseline
build runs; it computes the same values, but its fused multiply-adds are libm
calls: whole databases took 22-26x longer on a CPU whose libm fmaf uses the FMA
instruction, and libm's software fmaf is slower still. On other architectures the
baseline build fuses with the CPU's own instruction and is not slow for that reason.
"""

from __future__ import annotations

import platform
import warnings

from plurel_sql.generate import _kernels

_X86_64 = {"x86_64", "amd64"}
_warned = False


def slow_build_message(build: str, machine: str, fast_build_compiled: bool) -> str | None:
    """Why generation will be slow with kernel ``build`` on ``machine``, or None."""
    if build != "baseline" or machine.lower() not in _X86_64:
        return None
    if fast_build_compiled:
        reason = "this CPU lacks AVX2 or FMA3"
    else:
        reason = "plurel-sql was compiled without its AVX2 + FMA kernels (they need GCC)"
    return (
        f"{reason}: the generator runs its baseline kernels, which compute the same "
        "values with libm multiply-adds, 20x slower or more"
    )


def warn_if_slow() -> None:
    """Warn, once per process, when the running build is the slow one."""
    global _warned
    if _warned:
        return
    _warned = True  # the build cannot change within a process: decide once
    message = slow_build_message(
        _kernels.DEFAULT, platform.machine(), bool(_kernels.AVX2_FMA_COMPILED)
    )
    if message is not None:
        warnings.warn(message, RuntimeWarning, stacklevel=3)
