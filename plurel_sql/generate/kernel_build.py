"""Which build of the compiled kernels runs, and a warning when it is the slow one.

The AVX2 + FMA build runs on x86-64 CPUs that have both (Intel since Haswell, AMD
since Excavator). Elsewhere on x86-64 (older CPUs, emulators and virtual machines
that hide AVX2) the baseline build runs; it computes the same values, but its fused
multiply-adds are libm calls: whole databases took 22-26x longer on a CPU whose libm
fmaf uses the FMA instruction, and libm's software fmaf is slower still. On other
architectures the baseline build fuses with the CPU's own instruction and is not
slow for that reason.
"""

from __future__ import annotations

import platform
import warnings

from plurel_sql.generate import _kernels

_X86_64 = {"x86_64", "amd64"}


def slow_build_message(build: str, machine: str) -> str | None:
    """Why generation will be slow with kernel ``build`` on ``machine``, or None."""
    if build == "baseline" and machine.lower() in _X86_64:
        return (
            "this CPU lacks AVX2 or FMA3: the generator runs its baseline kernels, "
            "which compute the same values with libm multiply-adds, 20x slower or more"
        )
    return None


def warn_if_slow() -> None:
    """Warn (once per process and call site) when the running build is the slow one."""
    message = slow_build_message(_kernels.DEFAULT, platform.machine())
    if message is not None:
        warnings.warn(message, RuntimeWarning, stacklevel=3)
