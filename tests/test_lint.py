"""The checks a change must pass besides the tests: mypy on ``watcher/`` (configured in
pyproject.toml), ``ruff check`` and ``ruff format --check``. They run here so the README's
one test command (and CI, which runs exactly that) enforces them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["mypy", "--cache-dir", "{tmp}/mypy"],
        ["ruff", "check", "--no-cache", "."],
        ["ruff", "format", "--check", "--no-cache", "."],
    ],
    ids=["mypy", "ruff-check", "ruff-format"],
)
def test_clean(command: list[str], tmp_path: Path) -> None:
    argv = [str(BIN / command[0]), *(a.format(tmp=tmp_path) for a in command[1:])]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
