"""Build of the compiled SCM kernels; all other metadata lives in pyproject.toml.

The extension's sources and compiler flags are in plurel_sql/generator/kernel_build.py
(read here by path: nothing of the package can be imported before it is built), where
the tests find them too. The flags keep every build of the kernels bit-identical: no
contraction into fused multiply-adds, no value-changing float shortcuts.
"""

import runpy

from setuptools import Extension, setup

build = runpy.run_path("plurel_sql/generator/kernel_build.py")
setup(ext_modules=[Extension(**build["EXTENSION"])])
