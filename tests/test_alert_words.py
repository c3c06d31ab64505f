"""Every finding kind, in both languages, in every output (the chat formats and both email
parts): Chinese alerts carry no English words and use a shop operator's trade words
(中评/差评, 同款, 盗图, 上新, 降价/涨价, 缺货/补货, 被低价跟卖/价格最高); dates are written in ``[watcher]
timezone``; hostile text stays inert in either language."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.findings import stored
from watcher.i18n import Audience, audience
from watcher.images import make_thumbnail
from watcher.models import (
    AlertBatch,
    DigestView,
    Evidence,
    Finding,
    FindingKind,
    Photo,
    Severity,
    kind_names,
)
from watcher.notify.channels.apprise import message as apprise_message
from watcher.notify.digest import csv_table, digest_json
from watcher.notify.formats import formats
from watcher.notify.mail import render_html, render_text
from watcher.notify.render import COLLAPSE

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))
ZONE = "America/New_York"
OWN = {"url": "https://my.example/p/1", "title": "真皮卡包", "price": 159.0, "currency": "CNY"}
RIVAL = {
    "url": "https://rival.example/p/7",
    "title": "真皮卡包 同款",
    "price": 99.0,
    "currency": "CNY",
}
HOSTILE = "<!channel> @everyone <script>x</script> [点我](http://evil.example/x)"
CHAT = sorted(n for n in formats() if n != "json")

Sample = tuple[str, Severity, str, dict[str, Any] | None, dict[str, Any], tuple[str, ...]]

# One or more samples per kind: (kind, severity, shop, listing, detail, trade words in zh).
SAMPLES: list[Sample] = [
    (
        "copied_listing",
        Severity.HIGH,
        "我的店",
        OWN,
        {
            "copy": {**RIVAL, "shop": "对手店", "seller": None},
            "title_similarity": 0.91,
            "image_distance": 2,
            "stolen_photo": True,
        },
        ("同款", "盗图"),
    ),
    (
        "negative_review",
        Severity.HIGH,
        "我的店",
        OWN,
        {
            "rating": 1,
            "text": "质量太差，开线了。",
            "author": "张三",
            "published_at": "2027-03-01T02:30:00+00:00",
            "reason": "rating",
        },
        ("差评",),
    ),
    (
        "negative_review",
        Severity.MEDIUM,
        "我的店",
        OWN,
        {"rating": 3, "text": "一般般。", "author": None, "published_at": None, "reason": "rating"},
        ("中评",),
    ),
    (
        "seasonal_launch",
        Severity.MEDIUM,
        "对手店",
        None,
        {
            "season": "spring",
            "year": 2027,
            "items": [{**RIVAL, "date": "2027-02-27"}],
            "competitors_launched": 2,
            "competitors_tracked": 3,
            "launched": [{"name": "对手店", "first_date": "2027-02-27"}],
        },
        ("上新", "春"),
    ),
    (
        "price_change",
        Severity.LOW,
        "对手店",
        RIVAL,
        {"old": 129.0, "new": 99.0, "currency": "CNY", "change": -0.2326},
        ("降价",),
    ),
    (
        "price_change",
        Severity.LOW,
        "对手店",
        RIVAL,
        {"old": 99.0, "new": 129.0, "currency": "CNY", "change": 0.303},
        ("涨价",),
    ),
    (
        "price_change",
        Severity.LOW,
        "对手店",
        RIVAL,
        {"old": 129.0, "new": 99.0, "currency": "CNY", "change": -0.2326, "lowest_in_days": 30},
        ("降价", "30 天内最低价"),
    ),
    ("stock_change", Severity.LOW, "对手店", RIVAL, {"old": True, "new": False}, ("缺货",)),
    ("stock_change", Severity.LOW, "对手店", RIVAL, {"old": False, "new": True}, ("补货",)),
    (
        "listing_changed",
        Severity.MEDIUM,
        "我的店",
        OWN,
        {
            "changes": {
                "title": {"old": "真皮卡包", "new": "真皮卡包 新款"},
                "price": {"old": 159.0, "new": 139.0},
                "available": {"old": True, "new": False},
            }
        },
        ("降价", "缺货", "标题"),
    ),
    (
        "listing_changed",
        Severity.HIGH,
        "我的店",
        OWN,
        {"changes": {"listed": {"old": True, "new": False}}, "http_status": 404},
        ("已下架", "HTTP 404"),
    ),
    (
        "listing_changed",
        Severity.MEDIUM,
        "我的店",
        OWN,
        {"changes": {"listed": {"old": False, "new": True}}},
        ("重新上架",),
    ),
    (
        "price_position",
        Severity.MEDIUM,
        "我的店",
        OWN,
        {
            "own": {k: OWN[k] for k in ("url", "title", "price", "currency")},
            "matched": [
                {**RIVAL, "shop": "对手店"},
                {**RIVAL, "price": 169.0, "shop": "另一家"},
                {**RIVAL, "price": 25.0, "currency": "USD", "shop": "海外店"},
            ],
            "position": "undercut",
            "undercut_by": 0.3774,
        },
        ("被低价跟卖", "比你便宜", "¥60.00", "−37.7%", "同款 2 个", "其他币种"),
    ),
    (
        "price_position",
        Severity.LOW,
        "我的店",
        OWN,
        {
            "own": {k: OWN[k] for k in ("url", "title", "price", "currency")},
            "matched": [{**RIVAL, "price": 149.0, "shop": "对手店"}],
            "position": "most_expensive",
            "undercut_by": None,
        },
        ("价格最高", "比价"),
    ),
    (
        "shop_unreachable",
        Severity.MEDIUM,
        "对手店",
        None,
        {"failures": 3, "since": "2027-03-01T03:30:00+00:00", "error": "HTTP 503"},
        ("无法访问",),
    ),
]

ALLOWED_ASCII = {"HTTP", "watcher", "America", "New_York", "York", "New"}
"""ASCII words a Chinese alert may hold: the sample's fetched error, the product name in
the footer and the zone's name."""

_URL = re.compile(r"https?://[^\s|)>\]\"]+")
_TAG = re.compile(r"</?[a-z]+[^>]*>")
"""Our own markup (WeCom's ``<font color="warning">``), not words."""


def _thumb() -> Any:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 30, 30)).save(out, "PNG")
    return make_thumbnail(out.getvalue())


def finding(sample: Sample, n: int, title: str | None = None, shop: str | None = None) -> Finding:
    kind, severity, default_shop, listing, detail, _ = sample
    if title is not None:
        listing = {**listing, "title": title} if listing else None
        if "copy" in detail:
            detail = {**detail, "copy": {**detail["copy"], "title": title}}
        if "text" in detail:
            detail = {**detail, "text": title, "author": title}
    return stored(kind, severity, shop or default_shop, listing, "s", detail, f"{kind}-{n}", NOW)


def batch(findings: list[Finding], a: Audience) -> AlertBatch:
    thumb = _thumb()
    evidence = {
        f.dedup_key: Evidence(
            "https://watch.example/copies/1"
            if f.kind == "copied_listing"
            else "https://watch.example/alerts",
            Photo("https://my.example/img/1.jpg", thumb) if f.kind == "copied_listing" else None,
            Photo("https://rival.example/img/7.jpg", thumb) if f.kind == "copied_listing" else None,
        )
        for f in findings
    }
    return AlertBatch(findings, audience=a, evidence=evidence)


def _texts(value: Any) -> list[str]:
    """The words people read in a chat body: the text fields, not keys, types or URLs."""
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            if isinstance(v, str) and k in {"text", "content", "title", "description", "alt_text"}:
                out.append(v)
            elif not isinstance(v, str):
                out += _texts(v)
        return out
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def outputs(b: AlertBatch) -> dict[str, str]:
    """What each output shows people, by output name."""
    out = {}
    for name in CHAT:
        bodies = [m.json() for m in formats()[name]().messages(b)]
        out[name] = "\n".join(t for body in bodies for t in _texts(body))
    out["email-text"] = render_text(b)
    html = render_html(b)
    out["email-html"] = re.sub(r"<[^>]+>", " ", html)
    out["email-html-raw"] = html
    out["apprise"] = "\n".join(apprise_message(b))
    if b.digest is not None:
        summary = digest_json(b)
        said = [summary["title"], *(f for g in summary["groups"] for f in g["facts"])]
        out["json-digest"] = "\n".join(said)
        out["csv"] = csv_table(b).decode("utf-8-sig")
    return out


def test_every_kind_has_a_sample() -> None:
    assert {s[0] for s in SAMPLES} == {str(k) for k in FindingKind}, (
        "add a sample of the new kind to SAMPLES (with its Chinese trade words)"
    )


@pytest.mark.parametrize("kind", list(FindingKind))
def test_chinese_alerts_have_no_english_and_use_a_sellers_words(kind: FindingKind) -> None:
    samples = [s for s in SAMPLES if s[0] == kind]
    assert samples, f"no sample of {kind}"
    for i, sample in enumerate(samples):
        f = finding(sample, i)
        zh = outputs(batch([f], audience("zh", ZONE)))
        en = outputs(batch([f], audience("en", ZONE)))
        label = kind_names(kind).label
        for name, text in zh.items():
            if name == "email-html-raw":
                continue
            plain = _TAG.sub(" ", _URL.sub(" ", text))
            words = set(re.findall(r"[A-Za-z][A-Za-z_]{2,}", plain))
            assert words <= ALLOWED_ASCII, (name, kind, words - ALLOWED_ASCII, text)
            for word in sample[5]:
                assert word in text, (name, kind, word, text)
            assert label not in text
        for name, text in en.items():
            assert label in text or name == "email-html-raw", (name, text)


def test_a_stolen_photo_names_both_photos_and_the_dashboard_in_both_languages() -> None:
    f = finding(SAMPLES[0], 0)
    for code, words in (
        ("zh", ("图片", "在看板中查看")),
        ("en", ("Photos", "Open in the dashboard")),
    ):
        shown = outputs(batch([f], audience(code, ZONE)))
        for name in (*CHAT, "email-text"):
            assert all(w in shown[name] for w in words), (code, name)
        html = shown["email-html-raw"]
        assert html.count('src="cid:') == 2
        assert 'href="https://watch.example/copies/1"' in html


def test_dates_are_written_in_the_configured_zone() -> None:
    review = finding(SAMPLES[1], 0)  # published 02:30 UTC on 1 March: 28 Feb in New York
    down = finding(SAMPLES[-1], 1)  # failing since 03:30 UTC: 22:30 the day before
    for code in ("en", "zh"):
        shown = outputs(batch([review, down], audience(code, ZONE)))
        for name in (*CHAT, "email-text", "email-html"):
            text = shown[name].replace("\\", "")  # Discord escapes "-"
            assert "2027-02-28" in text, (code, name)
            assert "2027-02-28 22:30" in text, (code, name)
            if name in CHAT:  # (an email's footer says when it was sent)
                assert "2027-03-01" not in text, (code, name)
    utc = outputs(batch([review, down], audience("en", "UTC")))
    assert "2027-03-01 03:30" in utc["email-text"]


@pytest.mark.parametrize("code", ["en", "zh"])
def test_hostile_text_stays_inert_in_either_language(code: str) -> None:
    findings = [finding(s, i, title=HOSTILE, shop=HOSTILE) for i, s in enumerate(SAMPLES)]
    shown = outputs(batch(findings, audience(code, ZONE)))
    for name in CHAT:
        text = shown[name]
        assert "<!channel>" not in text and "@everyone" not in text, name
        assert "<script>" not in text and "http://evil" not in text, name
        assert "script" in text and "evil" in text, name  # there, and inert
    html = shown["email-html-raw"]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="http://evil' not in html
    json.dumps(shown)


ATTACHED = "watcher-digest-2027-02-28-1900.csv"


@pytest.mark.parametrize("code", ["en", "zh"])
@pytest.mark.parametrize("view", ["attached", "dashboard", "bare"])
def test_a_digest_reads_in_the_audiences_language_and_zone(code: str, view: str) -> None:
    """A digest of every kind (each a storm summarised, and once on its own) in every
    output: its title, facts, examples, lines, notes and CSV in ``[watcher] language``,
    its slot and times in ``[watcher] timezone`` (08:00 in Shanghai is 19:00 the day
    before in New York)."""
    storm = [finding(s, 100 * i + n) for i, s in enumerate(SAMPLES) for n in range(COLLAPSE + 1)]
    alone = [finding(s, 100 * i + 99, shop="另一家店") for i, s in enumerate(SAMPLES)]
    b = batch(storm + alone, audience(code, ZONE))
    b.digest = DigestView(
        public_url="https://watch.example/" if view == "dashboard" else "",
        schedule="1h",
        at=NOW,
        attached=ATTACHED if view == "attached" else "",
    )
    shown = outputs(b)
    assert shown.keys() >= {*CHAT, "email-text", "apprise", "json-digest", "csv"}
    slot = {"en": "Digest (1h, 19:00)", "zh": "摘要（1h，19:00）"}[code]
    for name, text in shown.items():
        if name in ("email-html-raw", "csv"):
            continue
        assert slot in text.replace("\\", ""), (name, text)
    assert "2027-02-28 19:00" in shown["csv"]
    labels = {kind_names(s[0]).label for s in SAMPLES}
    if code == "en":
        for name, text in shown.items():
            assert all(label in text for label in labels) or name == "email-html-raw", name
        return
    for name, text in shown.items():
        if name == "email-html-raw":
            continue
        # DingTalk and Discord break the file's name up (unlinked, escaped)
        unlinked = text.replace("\u200b", "").replace("\\", "").replace(ATTACHED, " ")
        plain = _TAG.sub(" ", _URL.sub(" ", unlinked))
        plain = plain.replace("watcher alerts", " ")
        words = set(re.findall(r"[A-Za-z][A-Za-z_]{2,}", plain))
        assert words <= ALLOWED_ASCII, (name, words - ALLOWED_ASCII, text)
        assert not any(label in text for label in labels), (name, text)
        if name not in ("json-digest", "csv"):  # (a CSV row is the alert's first line)
            for s in SAMPLES:
                assert all(word in text for word in s[5]), (name, s[0], s[5], text)
