"""Check that requirements.lock covers pyproject.toml's runtime dependencies.

Every dependency of ``[project] dependencies`` and of the ``postgres`` extra must be
pinned (``name==version``) at a version its specifier allows, and so must everything they
need in turn (read from the installed distributions' metadata, markers evaluated for this
interpreter: the image's CPython 3.11 on Linux). Exit 1 and one line per problem when not.

    .venv/bin/python scripts/check_lock.py [requirements.lock]
"""

from __future__ import annotations

import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = ("postgres",)


def pins(lock: str) -> dict[str, Version]:
    """The ``name==version`` lines of a lock file, by canonical name."""
    out: dict[str, Version] = {}
    for line in lock.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, ver = line.partition("==")
        if not sep:
            raise ValueError(f"not a pin: {line!r}")
        try:
            out[canonicalize_name(name.strip())] = Version(ver.strip())
        except InvalidVersion:
            raise ValueError(f"bad version in {line!r}") from None
    return out


def direct(pyproject: dict[str, object]) -> list[Requirement]:
    """Runtime requirements: the dependencies and the extras the image installs."""
    project = pyproject["project"]
    assert isinstance(project, dict)
    reqs = list(project.get("dependencies", []))
    for extra in EXTRAS:
        reqs += project.get("optional-dependencies", {}).get(extra, [])
    return [Requirement(r) for r in reqs]


def _needed(req: Requirement, extras: frozenset[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": e}) for e in extras | {""})


def problems(lock: str, pyproject: dict[str, object]) -> list[str]:
    """What the lock misses; empty when it covers every runtime dependency."""
    pinned = pins(lock)
    out: list[str] = []
    todo = [(r, frozenset[str]()) for r in direct(pyproject)]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        req, parent_extras = todo.pop()
        if not _needed(req, parent_extras):
            continue
        name = canonicalize_name(req.name)
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        version = pinned.get(name)
        if version is None:
            out.append(f"{req} is needed but not pinned")
            continue
        if not req.specifier.contains(version, prereleases=True):
            out.append(f"{req.name}=={version} is pinned but {req} is required")
        try:
            requires = metadata.requires(req.name) or []
        except metadata.PackageNotFoundError:
            continue  # not installed here: its own dependencies cannot be read
        todo += [(Requirement(r), frozenset(req.extras)) for r in requires]
    return out


def main(argv: list[str]) -> int:
    """Print the problems; exit 1 when there are any."""
    lock = Path(argv[0]) if argv else ROOT / "requirements.lock"
    found = problems(
        lock.read_text(encoding="utf-8"),
        tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8")),
    )
    for p in found:
        print(f"{lock.name}: {p}", file=sys.stderr)
    if not found:
        print(f"{lock.name}: covers pyproject.toml's runtime dependencies")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
