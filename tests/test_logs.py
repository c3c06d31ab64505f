"""The log set-up masks secrets everywhere in a record, tracebacks included."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SECRET = "hook-token-8c1f2e"

SCRIPT = textwrap.dedent(
    f"""
    from loguru import logger
    from watcher import logs
    from watcher.secrets import Secrets

    secrets = Secrets()
    secrets.add({SECRET!r}, "${{HOOK}}")
    logs.setup("INFO", json=JSON, secrets=secrets)
    logger.info("posting to https://hooks.example/{SECRET}")
    try:
        raise ValueError("bad URL https://hooks.example/{SECRET}")
    except ValueError:
        logger.exception("alerts to hook crashed")
    """
)


def _stderr(json: bool) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT.replace("JSON", str(json))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return proc.stderr


def test_a_logged_traceback_has_its_secrets_masked() -> None:
    for json in (False, True):
        err = _stderr(json)
        assert "alerts to hook crashed" in err and "ValueError" in err
        assert "***" in err
        assert SECRET not in err, err
