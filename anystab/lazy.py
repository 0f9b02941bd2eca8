"""Names a package exports but imports only when first used, so that ``anystab --help`` and the light
modules (options, the registry, the executors' protocol) load without pandas, pyarrow and numpy."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, where: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` (PEP 562) that imports ``name`` from the module ``where[name]``."""

    def __getattr__(name: str) -> object:
        if name in where:
            return getattr(importlib.import_module(where[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
