"""Discovery of plug-in classes: a new source, detector or channel is one module with one
class that has a ``kind``; nothing else needs to be edited to wire it in."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from types import ModuleType
from typing import TypeVar, cast

T = TypeVar("T")


def discover(package: ModuleType, base: Callable[..., T], attr: str = "kind") -> dict[str, type[T]]:
    """Import every module of ``package`` and return its concrete ``base`` subclasses by
    their ``attr`` attribute (``kind``, a string), in module-name order."""
    assert isinstance(base, type)
    found: dict[str, type[T]] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            key = getattr(obj, attr, None)
            if (
                issubclass(obj, base)
                and obj is not base
                and obj.__module__ == module.__name__
                and not inspect.isabstract(obj)
                and isinstance(key, str)
            ):
                found[key] = cast(type[T], obj)
    return found
