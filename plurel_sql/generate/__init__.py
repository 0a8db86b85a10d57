"""Stages 2 and 3 of the method, streaming (``plurel_sql.generate.stream``), and the
public call ``plurel_sql.generate(url, seed, config)``.

``plurel_sql.generate`` is this package *and* the function users call: the
package's module object is callable and forwards to
:func:`plurel_sql.orchestrate.job.generate` (generate one database into a URL), so
``plurel_sql.generate(...)`` works whether or not a submodule such as
``plurel_sql.generate.stream`` was imported first. Importing this package imports
nothing else.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    """A package whose module object is ``plurel_sql.orchestrate.job.generate``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from plurel_sql.orchestrate.job import generate

        return generate(*args, **kwargs)

    @property
    def __signature__(self) -> Any:  # inspect.signature / help show the real call
        import inspect

        from plurel_sql.orchestrate.job import generate

        return inspect.signature(generate)


sys.modules[__name__].__class__ = _CallablePackage
