"""`watcher serve`, `run --serve` and `demo --serve` as real processes on loopback: what
they refuse, the headers every answer carries, login, CSRF, the JSON API, the CSV."""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.dashboard import (
    FORMULA_TITLE,
    PASSWORD,
    PASSWORD_ENV,
    Filled,
    Served,
    fill,
    serve,
    wait_for_address,
    with_password,
)
from tests.e2e import env, write_config
from watcher.config import parse_config
from watcher.demo import Marketplace
from watcher.store.db import make_engine
from watcher.store.history import DashboardReads
from watcher.web import queries
from watcher.web.auth import CSP

# The tests that share the module's filled database run on one worker (one fill).
shared = pytest.mark.xdist_group("dashboard-http")


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Filled:
    db = tmp_path_factory.mktemp("dash") / "watcher.db"
    return fill(f"sqlite:///{db}")


@pytest.fixture(scope="module")
def server(filled: Filled, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(filled.write(tmp_path_factory.mktemp("cfg") / "watcher.toml")) as s:
        yield s


def _ids(filled: Filled) -> dict[str, int]:
    engine = make_engine(filled.database)
    try:
        rows, _ = DashboardReads(engine).listings(limit=500)
        copies = DashboardReads(engine).alerts(kind="copied_listing")
        return {
            "listing": next(r.id for r in rows if r.title == "醋酸缎面半身裙 垂感鱼尾裙"),
            "formula": next(r.id for r in rows if r.title == FORMULA_TITLE),
            "copy": copies[0].id,
        }
    finally:
        engine.dispose()


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token in the form"
    return m.group(1)


def _cookie(response: httpx.Response) -> str:
    """The session cookie as a Cookie header value (sent by hand: it may be Secure)."""
    header = response.headers.get("set-cookie", "")
    return header.split(";", 1)[0]


@shared
def test_every_route_answers_with_the_security_headers(server: Served, filled: Filled) -> None:
    ids = _ids(filled)
    pages = [
        "/",
        "/alerts",
        "/alerts?kind=copied_listing&severity=high",
        "/listings",
        "/listings?shop=Urban+Threads&q=tee",
        f"/listings/{ids['listing']}",
        f"/listings/{ids['listing']}?days=30&page=1",
        "/copies",
        f"/copies/{ids['copy']}",
        "/launches",
    ]
    for path in [*pages, "/healthz", "/api/alerts", f"/api/listings/{ids['listing']}/history"]:
        r = server.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-security-policy"] == CSP
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "server" not in r.headers
        if path in pages:
            assert "<script" not in r.text.lower()  # nothing to run: the pages need no JavaScript
            assert "text/html" in r.headers["content-type"]
    for path in ["/listings/999999", "/copies/999999", "/nowhere"]:
        r = server.get(path)
        assert r.status_code == 404 and r.headers["content-security-policy"] == CSP
    assert server.get("/api/listings/999999/history").status_code == 404


@shared
def test_a_foreign_host_name_is_refused(server: Served) -> None:
    # DNS rebinding: a site pointing its own name at 127.0.0.1 must get nothing
    assert server.get("/", headers={"Host": "evil.example"}).status_code == 421
    port = server.url.rsplit(":", 1)[1].strip("/")
    assert server.get("/", headers={"Host": f"localhost:{port}"}).status_code == 200


@shared
def test_posts_need_the_csrf_token(filled: Filled, tmp_path: Path) -> None:
    db = tmp_path / "copy.db"
    shutil.copy(filled.database.removeprefix("sqlite:///"), db)
    copy = Filled(f"sqlite:///{db}", filled.config_text.replace(filled.database, f"sqlite:///{db}"))
    with serve(copy.write(tmp_path / "watcher.toml")) as s:
        assert s.get("/").text.count("failed for good") == 1
        r = httpx.post(s.url + "alerts/retry", data={"csrf": "x" * 43}, timeout=10)
        assert r.status_code == 403
        page = s.get("/alerts")
        token, cookie = _csrf(page.text), _cookie(page)
        r = httpx.post(
            s.url + "alerts/retry", data={"csrf": token}, headers={"Cookie": cookie}, timeout=10
        )
        assert r.status_code == 303 and r.headers["location"] == "/alerts?retried=5"
        engine = make_engine(copy.database)
        backlog = DashboardReads(engine).delivery_backlog()
        engine.dispose()
        assert (backlog.failed, backlog.retrying) == (0, 5)
        shown = s.get("/alerts?retried=5", headers={"Cookie": cookie}).text
        assert "5 deliveries queued again" in shown


@shared
def test_the_json_api(server: Served, filled: Filled) -> None:
    r = server.get("/api/alerts?kind=copied_listing")
    data = r.json()
    assert [a["kind"] for a in data["alerts"]] == ["copied_listing", "copied_listing"]
    assert data["next_before"] is None
    first = data["alerts"][0]
    assert {d["channel"]: d["state"] for d in first["deliveries"]} == {
        "ops-hook": "failed",
        "team-chat": "sent",
    }
    assert first["detail"]["copy"]["shop"] and first["dedup_key"].startswith("copied_listing:")
    page1 = server.get("/api/alerts?limit=4").json()
    page2 = server.get(f"/api/alerts?limit=4&before={page1['next_before']}").json()
    ids = [a["id"] for a in page1["alerts"] + page2["alerts"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 8

    lid = _ids(filled)["listing"]
    hist = server.get(f"/api/listings/{lid}/history").json()
    assert hist["listing"]["title"] == "醋酸缎面半身裙 垂感鱼尾裙"
    assert [(s["price"], s["compare_at"]) for s in hist["states"]] == [
        (199.0, None),
        (159.0, 199.0),
    ]
    assert hist["stats"]["min"] == 159.0 and hist["stats"]["max"] == 199.0


@shared
def test_csv_export_keeps_formulas_inert(server: Served, filled: Filled) -> None:
    ids = _ids(filled)
    r = server.get(f"/listings/{ids['formula']}.csv")
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][:3] == ["at", "title", "price"]
    assert rows[1][1] == "'" + FORMULA_TITLE
    rows = list(csv.reader(io.StringIO(server.get(f"/listings/{ids['listing']}.csv").text)))
    assert [(row[2], row[4]) for row in rows[1:]] == [("199.0", ""), ("159.0", "199.0")]


@shared
def test_serve_refuses_other_hosts_without_a_password(filled: Filled, tmp_path: Path) -> None:
    config = filled.write(tmp_path / "watcher.toml")
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "serve", "--config", str(config), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        env=env(),
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "refusing to serve the dashboard on 0.0.0.0" in proc.stderr
    assert "[serve] password" in proc.stderr
    literal = filled.write(
        tmp_path / "literal.toml", extra='[serve]\npassword = "hunter2hunter2"\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "run", "--config", str(literal), "--serve", "0"],
        capture_output=True,
        text=True,
        env=env(),
        timeout=60,
    )
    assert proc.returncode == 2
    assert "serve.password: must come from the environment" in proc.stderr
    assert "hunter2" not in proc.stderr


@shared
def test_with_a_password_it_listens_anywhere_behind_a_login(filled: Filled, tmp_path: Path) -> None:
    config = with_password(filled, tmp_path / "watcher.toml", public_url="https://dash.example")
    with serve(config, "--host", "0.0.0.0", password=PASSWORD) as s:
        r = s.get("/alerts?kind=copied_listing")
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=/alerts%3Fkind%3Dcopied_listing"
        assert s.get("/api/alerts").status_code == 401
        assert s.get("/healthz").status_code == 200
        # arriving from a chat link (cross-site): a self-reload, so the Strict cookie is sent
        r = s.get("/", headers={"Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 200 and 'http-equiv="refresh"' in r.text
        assert "set-cookie" not in r.headers

        page = s.get("/login?next=/copies")
        cookie_header = page.headers["set-cookie"].lower()
        assert "httponly" in cookie_header and "samesite=strict" in cookie_header
        assert "secure" in cookie_header  # public_url is https
        token, cookie = _csrf(page.text), _cookie(page)

        def login(password: str, *, csrf: str = token) -> httpx.Response:
            return httpx.post(
                s.url + "login",
                data={"csrf": csrf, "password": password, "next": "/copies"},
                headers={"Cookie": cookie},
                timeout=10,
            )

        assert login(PASSWORD, csrf="y" * 43).status_code == 403
        wrong = login("not the password")
        assert wrong.status_code == 401 and "Wrong password." in wrong.text
        ok = login(PASSWORD)
        assert ok.status_code == 303 and ok.headers["location"] == "/copies"
        session = _cookie(ok)
        assert session != cookie  # a fresh session after logging in
        copies = s.get("/copies", headers={"Cookie": session})
        assert copies.status_code == 200 and "Copies of your listings" in copies.text
        assert PASSWORD not in copies.text
        assert s.get("/api/alerts", headers={"Cookie": session}).status_code == 200
        out = httpx.post(
            s.url + "logout", data={"csrf": _csrf(copies.text)}, headers={"Cookie": session}
        )
        assert out.status_code == 303
        assert s.get("/", headers={"Cookie": _cookie(out) or "x=y"}).status_code == 303


@shared
def test_failed_logins_are_limited(filled: Filled, tmp_path: Path) -> None:
    with serve(with_password(filled, tmp_path / "watcher.toml"), password=PASSWORD) as s:
        page = s.get("/login")
        token, cookie = _csrf(page.text), _cookie(page)
        statuses = []
        for password in ["guess1", "guess2", "guess3", "guess4", "guess5", PASSWORD]:
            r = httpx.post(
                s.url + "login",
                data={"csrf": token, "password": password},
                headers={"Cookie": cookie},
                timeout=10,
            )
            statuses.append(r.status_code)
        # the right password waits too, once the limit is reached
        assert statuses == [401, 401, 401, 401, 401, 429]
        assert int(r.headers["retry-after"]) > 60
        s.proc.send_signal(signal.SIGTERM)
        _, err = s.proc.communicate(timeout=20)
    assert err.count("failed login from 127.0.0.1") == 5
    assert PASSWORD not in err and PASSWORD_ENV not in err


def test_health_turns_degraded(tmp_path: Path) -> None:
    with Marketplace() as market:
        config = parse_config(
            __import__("tomllib").loads(market.config_toml(f"sqlite:///{tmp_path / 'w.db'}")),
            env={},
        )
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    from watcher.store.db import migrate

    migrate(engine)
    h = queries.health(DashboardReads(engine), config, datetime.now(UTC))
    assert h.to_json() == {"status": "degraded", "last_check_at": None, "database": "ok"}
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    broken = DashboardReads(make_engine(f"sqlite:///{garbage}"))
    h = queries.health(broken, config, datetime.now(UTC))
    assert (h.status, h.database) == ("degraded", "error")


def test_run_serve_checks_and_serves_in_one_process(tmp_path: Path) -> None:
    with Marketplace() as market:
        config = write_config(market, tmp_path / "watcher.toml", f"sqlite:///{tmp_path / 'w.db'}")
        proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "run", "--config", str(config), "--serve", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
        )
        try:
            url = wait_for_address(proc)
            deadline = time.monotonic() + 60
            health = httpx.get(url + "healthz").json()
            while health["status"] != "ok" and time.monotonic() < deadline:
                time.sleep(0.3)
                health = httpx.get(url + "healthz").json()
            assert health["status"] == "ok" and health["last_check_at"]
            assert "小鹿服饰 Fawn" in httpx.get(url).text
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0  # the daemon's shutdown, the dashboard with it
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_demo_serve_leaves_the_dashboard_up() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "demo", "--serve", "127.0.0.1:0", "--language", "zh"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        url = wait_for_address(proc)
        deadline = time.monotonic() + 60
        while "同款/盗图" not in httpx.get(url).text and time.monotonic() < deadline:
            time.sleep(0.3)  # the timeline runs before the pages have anything to show
        copies = httpx.get(url + "copies").text
        assert copies.count('class="copy"') == 2 and "盗图" in copies
        page = httpx.get(url + "alerts").text
        english = {a["summary"] for a in httpx.get(url + "api/alerts").json()["alerts"]}
        shown = [html.unescape(x) for x in re.findall(r'<p class="summary">(.*?)</p>', page)]
        assert shown and not english & set(shown), "written in Chinese, not the stored English"
        assert any("同款" in x or "盗图" in x for x in shown), shown
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0
        assert re.search(r"看板：http://127\.0\.0\.1:\d+/", out), "in the chosen language"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
