"""Run what the Docker image runs, without Docker: the Dockerfile's pip commands in a fresh
venv, its CMD against the sample marketplace, its HEALTHCHECK while the daemon runs and
after it stops, and its stop signal (exit code and time). Needs the package registry for
the installs (about a minute).

    .venv/bin/python scripts/image_smoke.py
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from watcher.demo import Marketplace  # noqa: E402


def dockerfile() -> dict[str, list[str]]:
    """The instructions of the Dockerfile (continuation lines joined), by keyword."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, rest = line.partition(" ")
            out.setdefault(key, []).append(rest.strip())
    return out


def main() -> int:
    """Build, run, probe, stop; print what happened; exit 1 on any failure."""
    df = dockerfile()
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        subprocess.run([sys.executable, "-m", "venv", str(tmp / "venv")], check=True)
        bindir = tmp / "venv" / "bin"
        env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
        env.pop("VIRTUAL_ENV", None)
        for run in df["RUN"]:
            if "pip " not in run:
                continue  # the user and directories of the image
            started = time.monotonic()
            proc = subprocess.run(
                run, shell=True, cwd=ROOT, env=env, text=True, capture_output=True
            )
            print(f"RUN {run}: exit {proc.returncode} in {time.monotonic() - started:.0f}s")
            if proc.returncode:
                failures.append(f"RUN {run}: {proc.stderr[-2000:]}")
                print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
                return 1
        (tmp / "config").mkdir()
        (tmp / "data").mkdir()
        vars_ = dict(re.findall(r"(\w+)=(\S+)", df["ENV"][0]))
        env.update(vars_)
        env["WATCHER_DATABASE_URL"] = vars_["WATCHER_DATABASE_URL"].replace(
            "/data", str(tmp / "data")
        )

        def here(args: list[str]) -> list[str]:
            return [a.replace("/config/", f"{tmp}/config/") for a in args]

        entry = json.loads(df["ENTRYPOINT"][0])
        cmd = json.loads(df["CMD"][0])
        check = df["HEALTHCHECK"][0]
        probe = here(json.loads(check[check.index("CMD") + 3 :].strip()))
        probe = [str(bindir / "python") if probe[0] == "python" else probe[0], *probe[1:]]
        with Marketplace() as market:
            (tmp / "config" / "watcher.toml").write_text(
                market.config_toml("sqlite:///ignored.db"), encoding="utf-8"
            )
            daemon = subprocess.Popen(
                [str(bindir / entry[0]), *here(cmd)],
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert daemon.stderr is not None
            log: list[str] = []
            for line in daemon.stderr:
                log.append(line)
                if "next check at" in line and "ok," in "".join(log):
                    break
            healthy = subprocess.run(probe, env=env, capture_output=True, text=True)
            print(f"HEALTHCHECK while running: exit {healthy.returncode}")
            if healthy.returncode != 0:
                failures.append(f"unhealthy while running: {healthy.stderr[-1000:]}")
            stopsignal = getattr(signal, df["STOPSIGNAL"][0])
            started = time.monotonic()
            daemon.send_signal(stopsignal)
            code = daemon.wait(30)
            took = time.monotonic() - started
            print(f"STOPSIGNAL {df['STOPSIGNAL'][0]}: exit {code} after {took:.1f}s")
            if code != 0 or took >= 10:
                failures.append(f"stop: exit {code} after {took:.1f}s")
        stopped = subprocess.run(probe, env=env, capture_output=True, text=True)
        print(f"HEALTHCHECK after the stop: exit {stopped.returncode}")
        if stopped.returncode == 0:
            failures.append("healthy after the daemon stopped")
    for f in failures:
        print(f"FAILED: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
