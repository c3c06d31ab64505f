"""The dashboard in a real browser: headless Chromium (Debian's ``chromium`` package, never
a downloaded one) driven by Playwright, against `watcher serve` on a database filled by
real checks of the sample marketplace's timeline.

Each test asserts what a person sees, and fails on any JavaScript console error, CSP
violation, dialog, or request that leaves the dashboard (competitor photos must come from
watcher's thumbnails, never from their sites). ``pytest --screens`` saves a screenshot of
every page under ``bench/screens/``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard import (
    PASSWORD,
    Filled,
    Served,
    fill,
    in_env,
    serve,
    with_password,
)
from watcher.store.db import make_engine
from watcher.store.history import DashboardReads
from watcher.web.chart import change_points

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.xdist_group("dashboard-browser")

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENS = Path(__file__).resolve().parent.parent / "bench" / "screens"
SKIRT = "醋酸缎面半身裙 垂感鱼尾裙"  # Fengshang's price drop, ¥199 -> ¥159 with compare-at
TEE = "Organic Cotton Crew Tee"  # Urban Threads' stock-out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} missing: apt-get install -y chromium"
        if in_env("WATCHER_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@dataclass
class Site:
    """The filled database and the dashboards serving it."""

    filled: Filled
    en: Served
    zh: Served
    ids: dict[str, int]


def _ids(database: str) -> dict[str, int]:
    engine = make_engine(database)
    try:
        rows, _ = DashboardReads(engine).listings(limit=500)
        by_title = {r.title: r.id for r in rows}
        return {
            "skirt": by_title[SKIRT],
            "tee": by_title[TEE],
            "hostile": next(i for t, i in by_title.items() if "Hostile" in t),
            "blouse": by_title["山茶花刺绣真丝衬衫 Camellia Embroidered Silk Blouse"],
            "skirt_own": by_title["羊毛混纺格纹半身裙 Wool Blend Plaid Midi Skirt"],
        }
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("browser")
    filled = fill(f"sqlite:///{tmp / 'watcher.db'}")
    with (
        serve(filled.write(tmp / "en.toml")) as en,
        serve(filled.write(tmp / "zh.toml", watcher='language = "zh"')) as zh,
    ):
        yield Site(filled, en, zh, _ids(filled.database))


class Page:
    """A browser tab that records everything that must not happen."""

    def __init__(self, context: Any, base: str, name: str, screens: bool) -> None:
        self.context, self.base, self.name, self.screens = context, base, name, screens
        self.problems: list[str] = []
        self.tab = context.new_page()
        self.tab.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        self.tab.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.tab.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))
        self.shots = 0

        def only_the_dashboard(route: Any) -> None:
            if route.request.url.startswith(base):
                route.continue_()
            else:
                self.problems.append(f"request outside the dashboard: {route.request.url}")
                route.abort()

        context.route("**/*", only_the_dashboard)

    def go(self, path: str) -> Any:
        """Open a dashboard path; returns the response."""
        response = self.tab.goto(self.base + path.lstrip("/"))
        self.shot()
        return response

    def shot(self, suffix: str = "") -> None:
        """With ``--screens``: save what the page looks like now."""
        if self.screens:
            SCREENS.mkdir(parents=True, exist_ok=True)
            self.shots += 1
            name = f"{self.name}-{self.shots}{suffix}.png"
            self.tab.screenshot(path=str(SCREENS / name), full_page=True)

    def text(self, selector: str) -> list[str]:
        """The visible texts of the elements matching ``selector``."""
        return [t.strip() for t in self.tab.locator(selector).all_inner_texts()]


def _open(
    browser: Any, request: pytest.FixtureRequest, base: str, **context: Any
) -> Iterator[Page]:
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, **context)
    page = Page(ctx, base, request.node.name, bool(request.config.getoption("--screens")))
    try:
        yield page
        assert page.problems == []
    finally:
        ctx.close()


@pytest.fixture
def en(browser: Any, site: Site, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from _open(browser, request, site.en.url)


@pytest.fixture
def zh(browser: Any, site: Site, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from _open(browser, request, site.zh.url, locale="zh-CN")


def _alert_count(database: str, **filters: str) -> int:
    engine = make_engine(database)
    try:
        return len(DashboardReads(engine).alerts(limit=1000, **filters))  # type: ignore[arg-type]
    finally:
        engine.dispose()


def test_the_guards_catch_a_violation(en: Page) -> None:
    """The watch on console, CSP and outside requests really fails a page (then is reset)."""
    en.go("/")
    en.tab.evaluate(
        "() => { const s = document.createElement('style'); s.textContent = 'body{}';"
        " document.head.appendChild(s);"
        " const i = document.createElement('img'); i.src = 'http://example.com/x.png';"
        " document.body.appendChild(i); }"
    )
    en.tab.wait_for_timeout(300)
    assert any("Content Security Policy" in p for p in en.problems), en.problems
    assert any("outside the dashboard" in p or "example.com" in p for p in en.problems)
    en.problems.clear()


def test_overview_shows_every_shop_and_what_needs_a_person(en: Page) -> None:
    en.go("/")
    assert en.tab.locator("h1").inner_text() == "Overview"
    rows = en.tab.locator("tr.shop")
    assert rows.count() == 5
    assert en.text("tr.shop .status") == ["ok"] * 5
    assert "5 alert deliveries failed for good." in en.tab.locator(".attention").inner_text()
    counts = {r.split("\t")[0]: r.split("\t")[1:] for r in en.text("table.counts tbody tr")}
    assert counts["Copied listing"] == ["2", "2"]
    assert counts["Seasonal launch"] == ["3", "3"]


def test_alerts_filter_by_kind_severity_and_shop(en: Page, site: Site) -> None:
    en.go("/alerts")
    total = _alert_count(site.filled.database)
    assert en.tab.locator("li.alert").count() == total == 13
    en.tab.select_option("select[name=kind]", "copied_listing")
    en.tab.click("form.filters button[type=submit]")
    en.tab.wait_for_url(re.compile(r"kind=copied_listing"))
    en.shot()
    kinds = en.tab.locator("li.alert").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert kinds == ["copied_listing", "copied_listing"]
    deliveries = en.text("li.alert >> nth=0 >> li.delivery")
    assert deliveries[0].startswith("ops-hook: failed") and "HTTP 400" in deliveries[0]
    assert deliveries[1].startswith("team-chat: sent")
    en.tab.select_option("select[name=kind]", "")
    en.tab.select_option("select[name=severity]", "low")
    en.tab.select_option("select[name=shop]", "Urban Threads")
    en.tab.click("form.filters button[type=submit]")
    en.tab.wait_for_url(re.compile(r"severity=low"))
    shown = en.tab.locator("li.alert").evaluate_all(
        "els => els.map(e => [e.dataset.kind, e.dataset.severity, e.dataset.shop])"
    )
    assert shown == [["stock_change", "low", "Urban Threads"]]
    assert _alert_count(site.filled.database, severity="low", shop="Urban Threads") == 1


def test_listings_search_and_shop_filter(en: Page, site: Site) -> None:
    en.go("/listings")
    engine = make_engine(site.filled.database)
    try:
        _, total = DashboardReads(engine).listings()
    finally:
        engine.dispose()
    assert en.tab.locator("p.count").inner_text() == f"1–50 of {total}"
    assert en.tab.locator("tr.listing").count() == 50
    en.tab.fill("input[name=q]", "tea dress")
    en.tab.click("form.filters button[type=submit]")
    en.tab.wait_for_url(re.compile(r"q=tea\+dress"))
    titles = en.text("tr.listing td:nth-child(2) a")
    assert titles and all("tea dress" in t.lower() for t in titles)
    en.tab.select_option("select[name=shop]", "小鹿服饰 Fawn")
    en.tab.click("form.filters button[type=submit]")
    en.tab.wait_for_url(re.compile(r"shop="))
    assert en.text("tr.listing td:nth-child(3)") == ["小鹿服饰 Fawn"]
    assert "收腰显瘦" in en.text("tr.listing td:nth-child(2) a")[0]


def test_the_price_chart_has_a_point_per_price(en: Page, site: Site) -> None:
    en.go(f"/listings/{site.ids['skirt']}")
    chart = en.tab.locator("svg.chart")
    assert chart.locator("circle.point").count() == 2  # ¥199, then ¥159
    assert chart.locator("path.compare").count() == 1  # the sale keeps ¥199 as compare-at
    assert chart.locator("rect.oos").count() == 0
    stats = dict(zip(en.text("dl.stats dt"), en.text("dl.stats dd"), strict=True))
    assert (stats["Lowest"], stats["Highest"]) == ("¥159.00", "¥199.00")
    assert en.tab.locator("tr.snapshot").count() == 2
    assert en.tab.locator("tr.snapshot >> nth=0 >> td.changed").count() == 2  # price, compare-at

    en.go(f"/listings/{site.ids['tee']}")
    assert en.tab.locator("svg.chart rect.oos").count() == 1
    assert en.tab.locator(".price-now .stock.out").inner_text() == "out of stock"

    # every listing that changed: as many dots as the stored history has prices
    engine = make_engine(site.filled.database)
    try:
        rows, _ = DashboardReads(engine).listings(limit=500)
        changed = [r for r in rows if len(DashboardReads(engine).history(r.id)) > 1]
        expected = {
            r.id: len(change_points(DashboardReads(engine).history(r.id), lambda s: s.price))
            for r in changed
        }
    finally:
        engine.dispose()
    assert len(expected) >= 4
    for lid, n in expected.items():
        en.tab.goto(f"{site.en.url}listings/{lid}")
        assert en.tab.locator("svg.chart circle.point").count() == n, lid


def test_own_listing_reviews_mark_the_negative_ones(en: Page, site: Site) -> None:
    en.go(f"/listings/{site.ids['blouse']}")
    negative = en.text("li.review.negative p")
    assert "Arrived torn, the seams came apart after one wash." in negative
    # the hostile review, tags stripped when it was read, shown as text and run as nothing
    assert any("bold? 差评 terrible" in t for t in negative)
    assert "Absolutely love it, the silk is soft and the embroidery is perfect." not in negative
    en.go(f"/listings/{site.ids['skirt_own']}")
    flagged = en.tab.locator("li.review.negative")
    assert flagged.count() == 1
    assert "complaint in the text" in flagged.inner_text()
    assert "五星是给快递的" in flagged.inner_text()


def test_the_stolen_photo_pair_is_shown_from_thumbnails(en: Page) -> None:
    en.go("/copies")
    groups = en.tab.locator("section.copy-group")
    assert groups.count() == 2
    assert en.text("tr.copy td:nth-child(4) .sev") == ["stolen photo", "stolen photo"]
    en.tab.locator("a.button", has_text="Evidence").first.click()
    en.tab.wait_for_url(re.compile(r"/copies/\d+$"))
    en.shot()
    photos = en.tab.locator(".pair img.thumb.large")
    assert photos.count() == 2
    sizes = photos.evaluate_all(
        "els => els.map(e => [e.getAttribute('src'), e.complete, e.naturalWidth])"
    )
    assert all(src.startswith("/thumbs/") and done and width > 100 for src, done, width in sizes)
    assert sizes[0][0] != sizes[1][0]  # two photos, kept separately
    assert en.text(".side.own .title mark") == []
    assert en.text(".side.copy .title mark") == ["【包邮】"]
    assert "The copy is ¥67.00 cheaper." in en.tab.locator("dl.match").inner_text()
    assert en.tab.locator(".side.copy a.out").get_attribute("rel") == "noopener noreferrer nofollow"
    en.tab.emulate_media(media="print")
    assert not en.tab.locator("header.top").is_visible()
    assert photos.first.is_visible() and photos.last.is_visible()
    en.shot("-print")


def test_launch_timeline_per_season(en: Page) -> None:
    en.go("/launches")
    spring = en.tab.locator("section.season[data-season=spring][data-year='2027']")
    assert spring.locator("p.headline").inner_text() == (
        "2 of 3 competitors have started spring 2027."
    )
    assert spring.locator("svg.timeline circle.start").count() == 2
    assert spring.locator("li.competitor.waiting").inner_text().startswith("小鹿服饰 Fawn")
    assert spring.locator("li.competitor >> nth=0 >> ul.items li").count() in (3, 4)
    winter = en.tab.locator("section.season[data-season=winter]")
    assert "1 of 3 competitors" in winter.locator("p.headline").inner_text()


def test_hostile_titles_arrive_inert(en: Page, site: Site) -> None:
    en.go(f"/listings/{site.ids['hostile']}")
    heading = en.tab.locator("h1").inner_text()
    assert "<script>" in heading and "onerror" in heading
    assert "\u202e" not in heading  # the bidi override that disguises file names is dropped
    assert en.tab.title() != "pwned"
    assert en.tab.locator("img[src=x]").count() == 0
    assert en.tab.locator("main script").count() == 0
    en.go("/listings?q=Hostile")
    assert en.tab.locator("tr.listing").count() == 1


def test_the_chinese_dashboard(zh: Page, site: Site) -> None:
    zh.go("/")
    assert zh.tab.locator("h1").inner_text() == "总览"
    assert zh.text("header.top nav a") == ["总览", "提醒", "商品", "同款", "上新"]
    assert "5 条提醒发送失败" in zh.tab.locator(".attention").inner_text()
    zh.go("/alerts?kind=negative_review")
    assert set(zh.text("li.alert .kind")) == {"中差评"}
    zh.go("/launches")
    assert "3 家竞品中已有 2 家开始上新 2027年春季款。" in zh.text("p.headline")
    zh.go(f"/listings/{site.ids['blouse']}")
    assert "差评（1–2★）" in zh.text("li.review .flag")
    zh.go("/copies")
    assert zh.text("tr.copy td:nth-child(4) .sev") == ["盗图", "盗图"]


def test_pages_work_without_javascript(
    browser: Any, site: Site, request: pytest.FixtureRequest
) -> None:
    for page in _open(browser, request, site.en.url, java_script_enabled=False):
        page.go("/alerts")
        page.tab.select_option("select[name=kind]", "seasonal_launch")
        page.tab.click("form.filters button[type=submit]")
        page.tab.wait_for_url(re.compile(r"kind=seasonal_launch"))
        assert page.tab.locator("li.alert").count() == 3
        page.go(f"/listings/{site.ids['skirt']}")
        page.tab.click("nav.periods a:has-text('30 days')")
        page.tab.wait_for_url(re.compile(r"days=30"))
        assert page.tab.locator("svg.chart circle.point").count() == 2


def test_login_then_retry_then_logout(
    browser: Any, site: Site, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    db = tmp_path / "copy.db"
    shutil.copy(site.filled.database.removeprefix("sqlite:///"), db)
    copy = Filled(
        f"sqlite:///{db}", site.filled.config_text.replace(site.filled.database, f"sqlite:///{db}")
    )
    with serve(with_password(copy, tmp_path / "watcher.toml"), password=PASSWORD) as s:
        for page in _open(browser, request, s.url):
            page.go("/copies")
            assert page.tab.url.endswith("/login?next=/copies")
            page.tab.fill("#password", "not it")
            page.tab.click("section.login button")
            assert page.tab.locator("p.error").inner_text() == "Wrong password."
            # the failed login is an HTTP 401: Chromium reports that on the console
            page.problems = [p for p in page.problems if "401" not in p]
            page.tab.fill("#password", PASSWORD)
            page.tab.click("section.login button")
            page.tab.wait_for_url(re.compile(r"/copies$"))
            cookie = next(c for c in page.context.cookies() if c["name"] == "watcher_session")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            page.go("/")
            page.tab.click(".attention button")
            page.tab.wait_for_url(re.compile(r"retried=5"))
            assert "5 deliveries queued again" in page.tab.locator("p.notice").inner_text()
            page.tab.click("header.top .logout button")
            page.tab.wait_for_url(re.compile(r"/login$"))
            page.go("/alerts")
            assert "/login" in page.tab.url


@pytest.fixture(scope="module")
def pg_site(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[Served, dict[str, int]]]:
    url = request.getfixturevalue("pg_url_module")
    tmp = tmp_path_factory.mktemp("pg")
    filled = fill(url)
    with serve(filled.write(tmp / "watcher.toml")) as s:
        yield s, _ids(url)


def test_the_pages_on_postgresql(
    browser: Any, pg_site: tuple[Served, dict[str, int]], request: pytest.FixtureRequest
) -> None:
    served, ids = pg_site
    for page in _open(browser, request, served.url):
        page.go("/")
        assert page.text("tr.shop .status") == ["ok"] * 5
        page.go("/alerts?kind=copied_listing")
        assert page.tab.locator("li.alert").count() == 2
        page.go(f"/listings/{ids['skirt']}")
        assert page.tab.locator("svg.chart circle.point").count() == 2
        page.go("/copies")
        page.tab.locator("a.button", has_text="Evidence").first.click()
        page.tab.wait_for_url(re.compile(r"/copies/\d+$"))
        widths = page.tab.locator(".pair img.thumb.large").evaluate_all(
            "els => els.map(e => e.naturalWidth)"
        )
        assert len(widths) == 2 and min(widths) > 100
        page.go("/launches")
        assert "2 of 3 competitors have started spring 2027." in page.text("p.headline")
