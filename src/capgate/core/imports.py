"""Importing a package's modules without running its `__init__`, for packages whose `__init__` imports far more
than capgate uses (start-up time and memory, bench/PROFILE.md)."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any


def defer_package_init(name: str) -> None:
    """Put package `name` in `sys.modules` with its search path only: its submodules import as usual, and its
    `__init__` runs on the first attribute they do not provide (`from uvicorn import run` elsewhere in the
    process), so nothing that imports the package the usual way notices. A package already imported, or one
    that is not a plain package, is left alone."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return  # not a package we know how to defer: import it normally
    package = importlib.util.module_from_spec(spec)  # __path__ and __spec__ set, __init__ not run
    loader = spec.loader

    def complete(attribute: str) -> Any:
        del vars(package)["__getattr__"]  # runs once; __init__ then defines everything
        loader.exec_module(package)
        return getattr(package, attribute)

    vars(package)["__getattr__"] = complete  # a module's __getattr__ (PEP 562): called for missing names only
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:  # as an import would: `mcp.server` is an attribute of `mcp`
        setattr(sys.modules[parent], child, package)
