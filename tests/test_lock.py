"""requirements.lock pins every runtime dependency the image needs, and the Dockerfile
installs it before copying the source (so a source change reuses the dependency layer)."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def check_lock() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_lock", ROOT / "scripts/check_lock.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def lock() -> str:
    return (ROOT / "requirements.lock").read_text(encoding="utf-8")


def without(text: str, name: str) -> str:
    return "\n".join(x for x in text.splitlines() if not x.lower().startswith(f"{name}=="))


def test_the_lock_covers_every_runtime_dependency() -> None:
    assert check_lock().problems(lock(), pyproject()) == []


def test_the_check_finds_missing_and_outdated_pins() -> None:
    cl = check_lock()
    assert any("httpx" in p for p in cl.problems(without(lock(), "httpx"), pyproject()))
    assert any("h11" in p for p in cl.problems(without(lock(), "h11"), pyproject())), (
        "a dependency of a dependency"
    )
    assert any(
        "psycopg-binary" in p.lower() or "psycopg_binary" in p.lower()
        for p in cl.problems(without(lock(), "psycopg-binary"), pyproject())
    ), "the binary extra of the postgres extra"
    old = re.sub(r"(?im)^httpx==.*$", "httpx==0.20.0", lock())
    assert any("httpx==0.20.0" in p for p in cl.problems(old, pyproject()))


def test_the_image_installs_the_lock_before_the_source() -> None:
    lines = [
        x.strip()
        for x in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
        if x.strip() and not x.strip().startswith("#")
    ]

    def first(pattern: str) -> int:
        return next(i for i, x in enumerate(lines) if re.search(pattern, x))

    assert first(r"^COPY requirements\.lock") < first(r"pip install .*-r requirements\.lock")
    assert first(r"pip install .*-r requirements\.lock") < first(r"^COPY watcher")
    assert re.search(r"--no-deps", lines[first(r"pip install .*-r requirements\.lock")])
    assert "STOPSIGNAL SIGTERM" in lines
    assert any(x.startswith("HEALTHCHECK") for x in lines)
