"""Generic validation of TOML settings: durations, URLs, ``${ENV}`` interpolation, limits,
and :func:`build`, which checks a table against a dataclass and names the key path of every
mistake (``shops[2].url``).

Nothing here knows the schema: :mod:`watcher.config` declares the sections as dataclasses,
and a plugin (a source, an alert channel) declares its own options the same way and gets the
same messages for free.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Literal, NewType, TypeVar, get_args, get_origin
from urllib.parse import urlsplit

from watcher.errors import ConfigError
from watcher.secrets import Secrets

T = TypeVar("T")

Url = NewType("Url", str)
"""An absolute http(s) URL."""

Check = Callable[[Any, str], None]
"""A field's extra check (``field(metadata={"check": ...})``): ``check(value, path)``."""

MAX_DURATION_S = 10 * 366 * 86400
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def parse_duration(value: object, path: str = "") -> timedelta:
    """Parse ``30m``, ``1h``, ``21d``, ``1h30m``, ``500ms`` or a number of seconds."""
    if isinstance(value, bool):
        raise ConfigError(path, f"expected a duration like '30m', got {value!r}")
    if isinstance(value, int | float):
        if not MAX_DURATION_S >= value >= 0:  # also rejects NaN
            raise ConfigError(path, f"expected a duration between 0 and 10 years, got {value!r}")
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip().lower()
        pos, total = 0, 0.0
        for m in _DURATION.finditer(text):
            if text[pos : m.start()].strip():
                break
            total += float(m.group(1)) * _UNITS[m.group(2)]
            pos = m.end()
        if text and pos == len(text):
            if total > MAX_DURATION_S:
                raise ConfigError(path, f"expected a duration of at most 10 years, got {value!r}")
            return timedelta(seconds=total)
    raise ConfigError(path, f"expected a duration like '30m', '1h' or '21d', got {value!r}")


def check_url(value: str, path: str) -> str:
    """An absolute http(s) URL, or a ConfigError."""
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        ok = False
    if not ok or any(c.isspace() for c in value):
        raise ConfigError(path, f"expected an http(s) URL, got {value!r}")
    return value


def env_reference(value: str) -> bool:
    """Whether ``value`` is exactly one ``${VAR}`` (or ``${VAR:-default}``) reference."""
    return _ENV.fullmatch(value.strip()) is not None


def interpolate(value: str, path: str, env: Mapping[str, str], secrets: Secrets) -> str:
    """Replace ``${VAR}`` / ``${VAR:-default}`` with the environment's values; each value
    put in is remembered in ``secrets``."""

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in env:
            secret = env[name]
        elif default is not None:
            secret = default
        else:
            raise ConfigError(path, f"environment variable {name} is not set")
        secrets.add(secret, f"${{{name}}}")
        return secret

    return _ENV.sub(sub, value)


def interpolate_all(value: Any, path: str, env: Mapping[str, str], secrets: Secrets) -> Any:
    """:func:`interpolate` every string of a parsed TOML document."""
    if isinstance(value, str):
        return interpolate(value, path, env, secrets)
    if isinstance(value, list):
        return [interpolate_all(v, f"{path}[{i}]", env, secrets) for i, v in enumerate(value)]
    if isinstance(value, dict):
        prefix = f"{path}." if path else ""
        return {k: interpolate_all(v, f"{prefix}{k}", env, secrets) for k, v in value.items()}
    return value


def positive(value: float | timedelta, path: str) -> None:
    """A count, size or duration that must be greater than zero."""
    if (value.total_seconds() if isinstance(value, timedelta) else value) <= 0:
        shown = value if not isinstance(value, timedelta) else f"{value.total_seconds():g}s"
        raise ConfigError(path, f"must be greater than 0, got {shown}")


def not_negative(value: float, path: str) -> None:
    """A count that may be zero but not less."""
    if value < 0:
        raise ConfigError(path, f"must be 0 or more, got {value}")


def between(low: float, high: float) -> Check:
    """A check for numbers from ``low`` to ``high`` inclusive."""

    def check(value: float, path: str) -> None:
        if not low <= value <= high:
            raise ConfigError(path, f"must be between {low:g} and {high:g}, got {value}")

    return check


unit = between(0, 1)
"""A fraction or a similarity: 0..1."""


def nonempty(value: str, path: str) -> None:
    """A name that must say something."""
    if not value.strip():
        raise ConfigError(path, "must not be empty")


_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")


def header_value(value: str, path: str) -> None:
    """A value HTTP clients send in a header as it is: printable ASCII, spaces and tabs
    (anything else fails every request, or crashes it)."""
    if not _HEADER_VALUE.fullmatch(value):
        raise ConfigError(path, "the value must be printable ASCII (no line breaks)")


def currency_code(value: str, path: str) -> str:
    """``value`` as an upper-case ISO 4217 code, or a ConfigError at ``path``: a symbol
    or a word would leave every price of the shop without a currency, never compared."""
    from watcher.money import ISO_CODES

    code = value.strip().upper()
    if code in ISO_CODES:  # the currencies shops use: no need to load Babel's data (+3 MiB)
        return code
    from babel.numbers import list_currencies

    if code not in list_currencies():
        hint = " (the renminbi is 'CNY')" if code == "RMB" else ""
        raise ConfigError(
            path,
            f"expected a three-letter ISO 4217 currency code such as 'CNY', 'USD' or 'EUR',"
            f" got {value!r}{hint}",
        )
    return code


def _type_name(tp: Any) -> str:
    if tp is Url:
        return "an http(s) URL"
    if tp is timedelta:
        return "a duration"
    if get_origin(tp) is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if get_origin(tp) is list:
        return f"a list of {_type_name(get_args(tp)[0])}"
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def convert(tp: Any, value: Any, path: str) -> Any:
    """Convert one TOML value to the annotated type, or raise ConfigError at ``path``."""
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return convert(args[0], value, path)
    if tp is Any:
        return value
    if origin is Literal:
        if value not in get_args(tp):
            raise ConfigError(path, f"expected one of {_type_name(tp)}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(path, f"expected {_type_name(tp)}, got {value!r}")
        (item,) = get_args(tp)
        return [convert(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected a table, got {value!r}")
        return {k: convert(get_args(tp)[1], v, f"{path}.{k}") for k, v in value.items()}
    if tp is timedelta:
        return parse_duration(value, path)
    if tp is Url:
        if not isinstance(value, str):
            raise ConfigError(path, f"expected an http(s) URL, got {value!r}")
        return check_url(value, path)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected a table, got {value!r}")
        return build(tp, value, path)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(path, f"expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, f"expected an integer, got {value!r}")
        return value
    if tp in (str, bool):
        if not isinstance(value, tp):
            raise ConfigError(path, f"expected {_type_name(tp)}, got {value!r}")
        return value
    raise ConfigError(path, f"unsupported type {tp!r}")  # pragma: no cover - programming error


def build(cls: type[T], data: dict[str, Any], path: str = "") -> T:
    """Validate ``data`` against dataclass ``cls``: unknown keys, missing keys, types.

    A field's ``metadata["check"]`` is called as ``check(value, path)`` after conversion
    and may raise ConfigError; a class method ``validate(self, path)`` runs last.
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    prefix = f"{path}." if path else ""
    for key in data:
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"{prefix}{key}", f"unknown key (known keys: {known})")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        key_path = f"{prefix}{name}"
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(key_path, "is required")
            continue
        value = convert(hints[name], data[name], key_path)
        check = f.metadata.get("check")
        if check is not None and value is not None:
            check(value, key_path)
        kwargs[name] = value
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        validate(path)
    return obj
