"""Other builds of the kernels for the tests: the extension compiled by another
compiler, and the standalone replay harness (replay.c) compiled for every target
this machine can build and run (x86-64 with GCC and clang, AArch64 with Debian's
cross compiler and clang, run under qemu-user).

Tools that are missing skip the tests that need them, except in CI (``CI=true``),
where .ci/run installs them and a skip would hide a platform: there they fail.
"""

from __future__ import annotations

import json
import os
import platform
import runpy
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KERNELS = ROOT / "plurel_sql" / "generator"
BUILD = runpy.run_path(str(KERNELS / "kernel_build.py"))
AARCH64_SYSROOT = "/usr/aarch64-linux-gnu"  # Debian's libc6-arm64-cross


def require(*tools: str) -> None:
    """Skip (fail in CI) unless every tool is on PATH."""
    missing = [t for t in tools if shutil.which(t) is None]
    if not missing:
        return
    reason = f"{', '.join(missing)} not installed (.ci/run installs it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"kernel build tests cannot run in CI: {reason}")
    pytest.skip(reason)


@dataclass(frozen=True)
class Target:
    """A compiler command for the replay harness, how to run what it builds, and the
    kernel builds to replay there."""

    name: str
    compiler: tuple[str, ...]
    runner: tuple[str, ...]
    builds: tuple[str, ...]

    @property
    def tools(self) -> tuple[str, ...]:
        tools = [self.compiler[0], *self.runner[:1]]
        if "--target=aarch64-linux-gnu" in self.compiler:
            tools.append("aarch64-linux-gnu-gcc")  # clang links with its libc and crt files
        return tuple(tools)


def replay_targets(cpu_has_avx2_fma: bool) -> list[Target]:
    """The targets this machine can build the harness for and run."""
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        x86 = ("baseline", "avx2-fma") if cpu_has_avx2_fma else ("baseline",)
        qemu = ("qemu-aarch64", "-L", AARCH64_SYSROOT)
        return [
            Target("x86-64 gcc", ("gcc",), (), x86),
            Target("x86-64 clang", ("clang",), (), x86),
            Target("aarch64 gcc", ("aarch64-linux-gnu-gcc",), qemu, ("neon",)),
            Target("aarch64 clang", ("clang", "--target=aarch64-linux-gnu"), qemu, ("neon",)),
        ]
    native = ("neon",) if machine in ("aarch64", "arm64") else ("baseline",)
    return [Target(f"{machine} {cc}", (cc,), (), native) for cc in ("gcc", "clang")]


def build_replay(target: Target, out: Path) -> Path:
    """Compile the replay harness with the kernels for ``target``, with the flags of
    the extension (kernel_build.COMPILE_FLAGS)."""
    require(*target.tools)
    binary = out / ("replay-" + target.name.replace(" ", "-"))
    sources = [ROOT / "tests" / "kernel_harness" / "replay.c"]
    sources += [ROOT / s for s in BUILD["KERNEL_SOURCES"]]
    command = [*target.compiler, *BUILD["COMPILE_FLAGS"], "-Wall"]
    command += ["-DPLUREL_KERNELS_STANDALONE", f"-I{KERNELS}", *map(str, sources)]
    command += ["-lm", "-o", str(binary)]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stderr[-4000:]}"
    return binary


def replay(target: Target, binary: Path, recording: Path, build: str) -> str:
    """Run the harness on ``recording`` with kernel ``build``; its report."""
    done = subprocess.run(
        [*target.runner, str(binary), str(recording), build], capture_output=True, text=True
    )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


_BUILD_EXTENSION = """
import runpy, sys
from setuptools import Distribution, Extension
build = runpy.run_path("plurel_sql/generator/kernel_build.py")
dist = Distribution({"ext_modules": [Extension(**build["EXTENSION"])]})
command = dist.get_command_obj("build_ext")
command.build_lib, command.build_temp, command.parallel = sys.argv[1], sys.argv[2], 2
command.ensure_finalized()
command.run()
print(command.get_ext_fullpath(build["EXTENSION"]["name"]))
"""

_REPORT_DIGESTS = """
import importlib.util, json, sys
import plurel_sql.generator
spec = importlib.util.spec_from_file_location("plurel_sql.generator._kernels", sys.argv[1])
kernels = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kernels)
sys.modules[spec.name] = plurel_sql.generator._kernels = kernels
from kernel_harness.workloads import build_digests
print(json.dumps({"file": kernels.__file__, "compiler": kernels.COMPILER,
                  "default": kernels.DEFAULT, "builds": build_digests()}))
"""


def build_extension(cc: str, out: Path) -> Path:
    """Compile plurel_sql.generator._kernels with C compiler ``cc`` into ``out`` as pip
    would (setuptools' build_ext, the same Extension as setup.py; the compiler chosen
    by CC as for any setuptools build)."""
    require(cc)
    done = subprocess.run(
        [sys.executable, "-c", _BUILD_EXTENSION, str(out / "lib"), str(out / "tmp")],
        cwd=ROOT,
        env={**os.environ, "CC": cc},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return Path(done.stdout.split()[-1])


def digests_of_extension(path: Path) -> dict:
    """What build_digests gives in a process that runs the extension at ``path``."""
    done = subprocess.run(
        [sys.executable, "-c", _REPORT_DIGESTS, str(path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.splitlines()[-1])
