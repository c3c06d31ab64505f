"""Readable alert text (render.py, the kinds' lines, the email bodies) and per-format
escaping of hostile text (each format's ``escape``)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.findings import stored
from watcher import readable
from watcher.detectors.launches import MAX_ITEMS
from watcher.detectors.reviews import stars
from watcher.models import AlertBatch, Finding, Severity
from watcher.money import money, percent_change
from watcher.notify.formats import dingtalk, discord, feishu, formats, slack, wecom
from watcher.notify.formats.slack import SlackFormat
from watcher.notify.mail import html_text, render_html, render_text
from watcher.notify.markup import inert_links
from watcher.notify.render import block, blocks, counts_text, fit, more_note, subject_line

mrkdwn_block = SlackFormat().render

TZ = timezone(timedelta(hours=8))
NOW = datetime(2027, 3, 1, 8, 0, tzinfo=TZ)
HOSTILE = "</b><script>alert(1)</script> <!channel> @all [x](http://evil)"
OWN = {
    "url": "https://my-shop.example/p/1",
    "title": "亚麻衬衫 男款",
    "price": 89.0,
    "currency": "CNY",
}


def finding(
    kind: str,
    detail: dict[str, Any],
    *,
    severity: Severity = Severity.MEDIUM,
    shop: str = "My Shop",
    listing: Any = OWN,
) -> Finding:
    return stored(
        kind, severity, shop, listing, "summary", detail, f"{kind}-{len(str(detail))}", NOW
    )


def review(
    rating: float | None = 1, text: str = "质量太差了。\n不推荐！", shop: str = "My Shop"
) -> Finding:
    detail = {
        "rating": rating,
        "text": text,
        "author": "张三",
        "published_at": "2027-02-28T10:00:00+08:00",
        "reason": "rating",
    }
    return finding("negative_review", detail, severity=Severity.HIGH, shop=shop)


def copy(
    distance: int | None = 3,
    severity: Severity = Severity.HIGH,
    price: float = 69.0,
    title: str = "亚麻衬衫男款 包邮",
    url: str = "https://market.example/i/9",
    listing: Any = OWN,
) -> Finding:
    detail = {
        "copy": {
            "url": url,
            "title": title,
            "price": price,
            "currency": "CNY",
            "shop": "Market",
        },
        "title_similarity": 0.93,
        "image_distance": distance,
    }
    return finding("copied_listing", detail, severity=severity, listing=listing)


def text_of(f: Finding) -> str:
    return render_text(AlertBatch([f]))


# -- header and order ------------------------------------------------------------------


def test_subject_line_pluralised_and_ordered() -> None:
    batch = AlertBatch([review(), review(2), copy()])
    assert subject_line(batch) == "My Shop: 1 copied listing, 2 negative reviews"
    assert subject_line(AlertBatch([])) == "no new alerts"


def test_subject_line_several_shops_and_kinds() -> None:
    price = finding(
        "price_change", {"old": 10.0, "new": 8.0}, severity=Severity.LOW, shop="Rival A"
    )
    stock = finding(
        "stock_change", {"old": True, "new": False}, severity=Severity.LOW, shop="Rival C"
    )
    launch = finding(
        "seasonal_launch", {"season": "spring", "year": 2027}, shop="Rival B", listing=None
    )
    batch = AlertBatch([price, stock, launch, copy(), review()])
    assert subject_line(batch) == (
        "My Shop, Rival B and 2 more shops: 1 copied listing, 1 negative review, "
        "1 seasonal launch and 2 other alerts"
    )
    assert counts_text(batch.findings) == (
        "1 copied listing, 1 negative review, 1 seasonal launch, 1 price change, 1 stock change"
    )


def test_subject_line_is_one_clean_line() -> None:
    assert "\n" not in subject_line(AlertBatch([review(shop="Evil\r\nBcc: x@y.z")]))


def test_most_important_first() -> None:
    price = finding(
        "price_change", {"old": 10.0, "new": 8.0}, severity=Severity.LOW, shop="Rival A"
    )
    title_copy = copy(distance=30, severity=Severity.MEDIUM)
    bs = blocks(AlertBatch([price, title_copy, review(3), copy(), review(1)]))
    order = [(b.finding.kind, b.severity.value) for b in bs]
    assert order == [
        ("copied_listing", "high"),
        ("negative_review", "high"),
        ("negative_review", "high"),
        ("copied_listing", "medium"),
        ("price_change", "low"),
    ]


def test_more_note() -> None:
    left = [review(), review(), copy()]
    assert (
        more_note(left)
        == "…and 3 more alerts not shown here: 1 copied listing, 2 negative reviews."
    )
    assert more_note(left[:1]).startswith("…and 1 more alert not shown")


# -- numbers ---------------------------------------------------------------------------


def test_money_percent_stars() -> None:
    assert money(89, "CNY") == "¥89.00"
    assert money(1234.5, "USD") == "$1,234.50"
    assert money(1200, "JPY") == "¥1,200"
    assert money(5, "XYZ") == "5.00 XYZ"
    assert money(5, None) == "5.00 (currency unknown)"  # never invented, never left out
    assert money(None, "CNY") == "?"
    assert percent_change(99.0, 79.0) == "−20.2%"
    assert percent_change(100, 105) == "+5.0%"
    assert percent_change(0, 5) is None and percent_change(None, 5) is None
    assert stars(1) == "★☆☆☆☆ 1/5"
    assert stars(2.5) == "★★☆☆☆ 2.5/5"
    assert stars(None) == "no rating"


# -- per kind --------------------------------------------------------------------------


def test_copied_listing_shows_both_sides() -> None:
    text = text_of(copy())
    assert "亚麻衬衫 男款 <https://my-shop.example/p/1>" in text
    assert (
        "Copy: 亚麻衬衫男款 包邮 <https://market.example/i/9> — ¥69.00 at Market (¥20.00 cheaper)"
        in text
    )
    assert "Your price: ¥89.00 · title similarity 93% · PHOTO STOLEN (image distance 3)" in text
    assert "photo differs (image distance 30)" in text_of(copy(30, Severity.MEDIUM))
    assert "photo not compared" in text_of(copy(None, Severity.MEDIUM))
    assert "(¥10.00 dearer)" in text_of(copy(price=99.0))
    assert "(same price)" in text_of(copy(price=89.0))


def test_prices_in_two_currencies_are_never_compared_in_any_format() -> None:
    copy_ = {"url": "https://m.example/i/1", "title": "Copy", "price": 59.0, "shop": "Market"}
    dollars = finding("copied_listing", {"copy": {**copy_, "currency": "USD"}})
    unknown = finding(
        "copied_listing", {"copy": copy_}, listing={**OWN, "price": 159.0, "currency": None}
    )
    batch = AlertBatch([dollars, unknown])
    texts = [render_text(batch), render_html(batch)]
    texts += [m.body.decode() for fmt in formats().values() for m in fmt().messages(batch)]
    for text in texts:
        assert "cheaper" not in text and "dearer" not in text and "$30" not in text
    plain = render_text(batch)
    assert "— $59.00 at Market" in plain and "Your price: ¥89.00" in plain
    assert "Your price: 159.00 (currency unknown)" in plain
    assert "— 59.00 (currency unknown) at Market" in plain


def test_review_shows_stars_full_text_author_date() -> None:
    long_text = "第一行\n" + "很差" * 2000
    text = text_of(review(2, long_text))
    assert "★★☆☆☆ 2/5 on 亚麻衬衫 男款" in text
    assert "  > 第一行\n  > " + "很差" * 2000 in text  # full text, lines kept
    assert "— 张三, 2027-02-28" in text
    assert "(no text)" in text_of(review(1, ""))
    assert "no rating" in text_of(review(None))


def test_launch_shows_season_items_and_competitors() -> None:
    items = [
        {
            "url": f"https://r.example/p/{i}",
            "title": f"春季新款 {i}",
            "price": 59.0,
            "currency": "CNY",
        }
        for i in range(MAX_ITEMS + 3)
    ]
    detail = {
        "season": "spring",
        "year": 2027,
        "items": items,
        "competitors_launched": 3,
        "competitors_tracked": 4,
        "launched": [
            {"name": "Rival A", "first": "2027-02-20"},
            {"name": "Rival B", "first": "2027-02-25T09:00:00+08:00"},
        ],
    }
    text = text_of(finding("seasonal_launch", detail, shop="Rival B", listing=None))
    assert "Rival B has started spring 2027" in text
    assert "3 of 4 competitors have started spring 2027." in text
    assert "Started: Rival A (since 2027-02-20), Rival B (since 2027-02-25)" in text
    assert "• 春季新款 0 <https://r.example/p/0> — ¥59.00" in text
    assert f"春季新款 {MAX_ITEMS - 1}" in text and f"春季新款 {MAX_ITEMS} " not in text
    assert "…and 3 more new items" in text


def test_price_stock_changed_unreachable() -> None:
    text = text_of(finding("price_change", {"old": 99.0, "new": 79.0}, severity=Severity.LOW))
    assert "¥99.00 → ¥79.00 (−20.2%)" in text
    assert "in stock → sold out" in text_of(finding("stock_change", {"old": True, "new": False}))
    changes = {
        "title": {"old": "旧标题", "new": "新标题"},
        "price": {"old": 99.0, "new": 89.0},
        "image": {"old": "https://i.example/a.jpg", "new": "https://i.example/b.jpg"},
    }
    text = text_of(finding("listing_changed", {"changes": changes}))
    assert "Title: “旧标题” → “新标题”" in text
    assert "Price: ¥99.00 → ¥89.00 (−10.1%)" in text
    assert "Image: new <https://i.example/b.jpg> (was old <https://i.example/a.jpg>)" in text
    text = text_of(
        finding(
            "shop_unreachable", {"failures": 3, "error": "HTTP 503"}, shop="Rival C", listing=None
        )
    )
    assert (
        "Rival C could not be read" in text
        and "Failed 3 checks in a row." in text
        and "Last error: HTTP 503" in text
    )


def test_unknown_kind_and_bad_detail_do_not_crash() -> None:
    text = text_of(finding("new_kind", {"a": 1}))
    assert "New kind" in text and "a: 1" in text
    weird = finding("copied_listing", {"copy": "not a dict", "title_similarity": "x"})
    assert "Copy: (untitled listing)" in text_of(weird)
    assert "?" in text_of(finding("price_change", {"old": "n/a", "new": None}))


# -- html ------------------------------------------------------------------------------


def test_html_escapes_everything_and_links_only_http() -> None:
    f = copy(
        title=HOSTILE,
        url="javascript:alert(1)",
        listing={**OWN, "title": HOSTILE + ' " onmouseover="x'},
    )
    html = render_html(AlertBatch([f, review(1, HOSTILE)]))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "javascript:" not in html
    assert '" onmouseover="x' not in html
    assert html.count("<a ") == 2  # the own listing (twice); the copy's link was refused
    assert "不推荐" not in html  # the review text here is the hostile one
    assert "★☆☆☆☆" in html


# -- escaping --------------------------------------------------------------------------


def test_clean() -> None:
    assert readable.clean("a\x00b\x1b[0m\u202ec  \n d") == "ab[0mc d"
    assert readable.clean("x\r\ny\n\n\n\nz\t", multiline=True) == "x\ny\n\nz"
    assert readable.clean(None) == ""


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://shop.example/p/1?a=1&b=2", "https://shop.example/p/1?a=1&b=2"),
        ("HTTP://Shop.example/a b", "http://shop.example/a%20b"),
        (
            "https://x.example/a)b|c>d<e]f[g\"h'i`j",
            "https://x.example/a%29b%7Cc%3Ed%3Ce%5Df%5Bg%22h%27i%60j",
        ),
        ("https://例子.测试/商品", "https://xn--fsqu00a.xn--0zwm56d/%E5%95%86%E5%93%81"),
        ("https://[::1]:8080/x", "https://[::1]:8080/x"),
        ("javascript:alert(1)", None),
        ("data:text/html,x", None),
        ("//evil.example/x", None),
        ("https://user:pw@evil.example/", None),
        ("https://ev<il.example/", None),
        ("https://x.example:99999/", None),
        (None, None),
    ],
)
def test_safe_url(url: Any, expected: str | None) -> None:
    assert readable.safe_url(url) == expected


def test_each_escaper_disarms_the_hostile_title() -> None:
    assert html_text(HOSTILE) == (
        "&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt; &lt;!channel&gt; @all [x](http://evil)"
    )
    s = slack.escape(HOSTILE)
    assert "<" not in s and ">" not in s and "&lt;!channel&gt;" in s and "@all" not in s
    d = discord.escape(HOSTILE)
    assert "\\[x\\]\\(http:\u200b//evil\\)" in d and "\\<script\\>" in d and "@all" not in d
    f = feishu.escape(HOSTILE + ' <at user_id="all">所有人</at> @所有人')
    assert "<at" not in f and "@所有人" not in f and "@all" not in f
    for fn in (dingtalk.escape, wecom.escape):
        m = fn(HOSTILE + " <@zhangsan> <font color=red>x</font> @13800000000")
        assert not re.search(r"[<>\[\]@]", m)
        assert "alert(1)" in m and "13800000000" in m


@given(st.text())
def test_escapers_never_leak_markup(text: str) -> None:
    assert not re.search(r"[<>]", slack.escape(text))
    assert not re.search(r"[<>\"']", html_text(text))
    assert not re.search(r"(?<!\\)[\[\]<>*_`|]", discord.escape(text).replace("\\\\", ""))
    assert not re.search(r"[<>\[\]@*_`#]", dingtalk.escape(text, multiline=True))
    assert "\n" not in slack.escape(text) and "\r" not in dingtalk.escape(text)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", readable.clean(text, multiline=True))


@given(st.text())
def test_safe_url_output_cannot_break_out(text: str) -> None:
    url = readable.safe_url("https://x.example/" + text)
    assert url is not None and url.startswith("https://x.example/")
    assert not re.search(r"[\s()<>|\[\]\"'`\\]", url)


# -- fitting ---------------------------------------------------------------------------


def test_fit_shortens_without_breaking_markup() -> None:
    b = block(review(1, "坏" * 10_000 + " <!channel>"))
    out = fit(b, mrkdwn_block, 3000)
    assert len(out) <= 3000 and "…" in out
    body = re.sub(r"(?m)^> ", "", out)
    assert body.count("<") == body.count(">") == 1  # the link is intact, nothing else raw
    assert "*<https://my-shop.example/p/1|亚麻衬衫 男款>*" in out
    short = fit(b, mrkdwn_block, 120)
    assert len(short) <= 120
    with pytest.raises(ValueError):
        fit(b, mrkdwn_block, 10)


def test_inert_links_breaks_schemes_and_host_names_only() -> None:
    z = "\u200b"
    assert (
        inert_links("go to https://evil.example/a.b") == f"go to https:{z}//evil.{z}example/a.{z}b"
    )
    assert inert_links("www.shop.cn, 3.5 kg, v1.2, end. Next") == (
        f"www.{z}shop.{z}cn, 3.5 kg, v1.2, end. Next"
    )
    assert inert_links("连衣裙 新款。") == "连衣裙 新款。"


@given(st.text())
def test_chat_escapers_leave_no_scheme_link(text: str) -> None:
    for fn in (slack.escape, discord.escape, feishu.escape, dingtalk.escape):
        assert not re.search(r"(?i)[a-z][a-z0-9+.-]*://", fn(f"{text} https://x.example/{text}"))
