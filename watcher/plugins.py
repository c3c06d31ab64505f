"""Discovery of plug-in classes: a new source, detector, channel, format or command is one
module with one class that has a ``kind`` (or a ``name``); nothing else needs to be edited to
wire it in."""

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
    their ``attr`` attribute (``kind``, a string), in module-name order. Two classes with
    the same ``attr`` are a mistake in the package, not something to resolve silently:
    TypeError.

    (``base`` is typed as a callable because it is usually abstract, which ``type[T]``
    does not admit.)"""
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
                if key in found:
                    other = found[key]
                    raise TypeError(
                        f"{attr} {key!r} is defined twice: {other.__module__}.{other.__name__}"
                        f" and {obj.__module__}.{obj.__name__}"
                    )
                found[key] = cast(type[T], obj)
    return found
