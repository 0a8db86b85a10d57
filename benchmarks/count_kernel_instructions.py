"""Instructions the kernel builds execute for the same work, counted under qemu-user.

    PYTHONPATH=. python benchmarks/count_kernel_instructions.py

No AArch64 machine is at hand, and timings under an emulator mean nothing, so this
compares what can be counted: the guest instructions each build executes (qemu's
``-singlestep -d exec`` log has one line per instruction) to replay the recorded
kernel calls of ``every_kernel_outputs(12)`` (tests/kernel_harness: every activation,
MLPs of four shapes, every aggregation, Beta noise, a weight bank, a category argmax),
minus a replay of an empty recording (process start, loading). It includes the
harness's copying and comparing of buffers, the same for every build, and libm's
fmaf for the x86-64 baseline build. Instruction counts are not time: a 4-lane NEON
instruction does half the work of an 8-lane AVX2 one, and cores differ in how many
of either they retire per cycle. Needs gcc, clang, gcc-aarch64-linux-gnu and qemu-user
(.ci/run installs them); takes ~15 minutes, most of it tracing the x86-64 baseline
build (qemu logs ~200,000 instructions a second).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the replay harness
from kernel_harness.builds import AARCH64_SYSROOT, Target, build_replay  # noqa: E402
from kernel_harness.recording import KernelRecorder  # noqa: E402
from kernel_harness.workloads import every_kernel_outputs  # noqa: E402

X86 = ("qemu-x86_64", "-cpu", "max")  # max: AVX2 and FMA3 (qemu >= 7.2)
ARM = ("qemu-aarch64", "-L", AARCH64_SYSROOT)
TARGETS = [
    Target("x86-64 gcc", ("gcc",), X86, ("avx2-fma", "baseline")),
    Target("x86-64 clang", ("clang",), X86, ("avx2-fma",)),  # its baseline: like GCC's
    Target("aarch64 gcc", ("aarch64-linux-gnu-gcc",), ARM, ("neon",)),
    Target("aarch64 clang", ("clang", "--target=aarch64-linux-gnu"), ARM, ("neon",)),
]


def executed(target: Target, binary: Path, recording: Path, build: str) -> int:
    """Guest instructions executed replaying ``recording`` with ``build``."""
    command = [*target.runner, "-singlestep", "-d", "nochain,exec", "-D", "/dev/stderr"]
    run = subprocess.Popen(
        [*command, str(binary), str(recording), build],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert run.stderr is not None
    count = sum(1 for line in run.stderr if line.startswith(b"Trace"))
    if run.wait() != 0:
        raise RuntimeError(f"{target.name} {build}: the replay failed")
    return count


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        work, empty = out / "work.plkr", out / "empty.plkr"
        with KernelRecorder() as recorder:
            every_kernel_outputs(12)
        recorder.write(work)
        KernelRecorder().write(empty)
        print(f"replaying {len(recorder.records)} kernel calls: {recorder.calls()}")
        reference = None
        for target in TARGETS:
            binary = build_replay(target, out)
            for build in target.builds:
                count = executed(target, binary, work, build)
                count -= executed(target, binary, empty, build)
                reference = reference or count
                print(
                    f"{target.name:14s} {build:9s} {count / 1e6:8.2f} M instructions "
                    f"({count / reference:.2f}x the first line)",
                    flush=True,
                )


if __name__ == "__main__":
    main()
