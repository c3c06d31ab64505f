"""The gettext catalogs: every marked string is translated, placeholders survive, and the
Chinese words are the ones a Chinese shop operator uses."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import watcher
from scripts.update_catalog import extract
from watcher.i18n import LANGUAGES, catalog_path, language

ROOT = Path(watcher.__file__).parent
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _catalog(code: str) -> dict[str, object]:
    with (ROOT / catalog_path(code)).open("rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0]: m for m in read_po(f) if m.id}


def test_every_marked_string_is_translated_into_chinese() -> None:
    source = extract()
    assert len(source) > 100  # the extraction really found the templates
    catalog = _catalog("zh")
    missing = sorted(m for m in source if m not in catalog)
    assert not missing, f"not in the zh catalog (run scripts/update_catalog.py): {missing}"
    untranslated = sorted(
        k
        for k, m in catalog.items()
        if not (m.string if isinstance(m.string, str) else m.string[0])  # type: ignore[attr-defined]
    )
    assert not untranslated
    stale = sorted(k for k in catalog if k not in source)
    assert not stale, f"in the zh catalog but no longer in the code: {stale}"
    guessed = sorted(k for k, m in catalog.items() if "fuzzy" in m.flags)  # type: ignore[attr-defined]
    assert not guessed, f"fuzzy (guessed) translations are not shown: {guessed}"


def test_placeholders_survive_translation() -> None:
    for msgid, m in _catalog("zh").items():
        text = m.string if isinstance(m.string, str) else m.string[0]  # type: ignore[attr-defined]
        assert set(_PLACEHOLDER.findall(text)) == set(_PLACEHOLDER.findall(msgid)), msgid


@pytest.mark.parametrize(
    ("msgid", "word"),
    [
        ("Negative review", "中差评"),
        ("Copied listing", "同款"),
        ("stolen photo", "盗图"),
        ("Seasonal launch", "上新"),
        ("Out of stock", "缺货"),
        ("bad review (1–2★)", "差评"),
        ("mixed review (3★)", "中评"),
    ],
)
def test_chinese_words_are_a_sellers_words(msgid: str, word: str) -> None:
    assert word in language("zh").gettext(msgid)


def test_every_finding_kind_has_a_chinese_name() -> None:
    from watcher.detectors import kind_details
    from watcher.web.fmt import Formatter

    fmt = Formatter(language("zh"), __import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    names = {str(k): fmt.kind(k) for k in kind_details()}
    assert names["copied_listing"] == "同款/盗图"
    assert names["negative_review"] == "中差评"
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in names.values()), names


def test_plurals_and_times() -> None:
    zh, en = language("zh"), language("en")
    assert zh.ngettext("%(num)d try", "%(num)d tries", 3) % {"num": 3} == "已尝试 3 次"
    assert en.ngettext("%(num)d try", "%(num)d tries", 1) % {"num": 1} == "1 try"
    assert en.gettext("Copied listing") == "Copied listing"
    moment = datetime(2027, 3, 1, 0, 30, tzinfo=UTC)
    assert en.datetime(moment, "Asia/Shanghai") == "2027-03-01 08:30"
    assert zh.date(moment.replace(hour=20), "Asia/Shanghai") == "2027-03-02"
    assert zh.ago(moment - timedelta(hours=3), moment) == "3小时前"
    assert en.ago(moment - timedelta(hours=3), moment) == "3 hours ago"
    assert set(LANGUAGES) == {"en", "zh"}
    with pytest.raises(ValueError):
        language("fr")
