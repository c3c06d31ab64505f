"""Bring the gettext catalogs in line with the strings marked in the code and templates.

Extracts every ``_()`` / ``gettext`` / ``ngettext`` / ``N_`` string of ``watcher/`` (Python)
and ``watcher/web/templates`` (Jinja) and every finding kind's name, keeps the existing translations, adds the new
strings with an empty translation, drops the ones no longer used, and never guesses
("fuzzy" matches are how a wrong word ends up on a page). Then translate every empty
``msgstr``; ``tests/test_i18n.py`` fails until they are all there.

    .venv/bin/python scripts/update_catalog.py
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "watcher"
HEADER = """\
# Chinese (Simplified) words of the watcher dashboard, as a shop operator writes them
# (中差评, 同款, 盗图, 上新, 降价, 缺货). Source strings live in the code and templates;
# `.venv/bin/python scripts/update_catalog.py` adds new ones here with an empty msgstr.
msgid ""
msgstr ""
"Project-Id-Version: watcher\\n"
"Language: zh_Hans_CN\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=utf-8\\n"
"Content-Transfer-Encoding: 8bit\\n"

"""
LOCALES = {"zh": "zh_Hans_CN"}


def extract(root: Path = ROOT) -> dict[str, str | None]:
    """Every marked msgid under ``root`` -> its plural form (None for a singular-only one),
    and the names of every finding kind (each kind's module names it, and counts of it:
    the pages and the alerts translate those names)."""
    method_map = [("**.py", "python"), ("web/templates/**.html", "jinja2")]
    options = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "n_": (1, 2), "N_": None}
    found: dict[str, str | None] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(root), method_map, options, keywords=keywords
    ):
        if isinstance(message, tuple):
            found[message[0]] = message[1]
        else:
            found.setdefault(message, None)
    from watcher.detectors import kind_details

    for cls in kind_details().values():
        found.setdefault(cls.names.label, None)
        found.setdefault(cls.names.one, cls.names.many)
    return found


def update(code: str) -> tuple[int, int]:
    """Rewrite one language's catalog; returns (strings added, strings dropped)."""
    path = ROOT / "locale" / code / "LC_MESSAGES" / "watcher.po"
    old: dict[str, object] = {}
    if path.exists():
        with path.open("rb") as f:
            old = {
                (m.id if isinstance(m.id, str) else m.id[0]): m.string for m in read_po(f) if m.id
            }
    fresh = Catalog(locale=LOCALES[code], domain="watcher")
    added = 0
    for msgid, plural in sorted(extract().items()):
        known = old.get(msgid)
        if known is None:
            added += 1
        if plural is None:
            string = known if isinstance(known, str) else ""
            fresh.add(msgid, string, flags={"python-format"} if "%(" in msgid else ())
        else:
            text = known[0] if isinstance(known, tuple | list) else (known or "")
            fresh.add((msgid, plural), (text,), flags={"python-format"})
    buf = io.BytesIO()
    write_po(buf, fresh, width=100, omit_header=True, sort_output=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + buf.getvalue().decode("utf-8").lstrip("\n"), encoding="utf-8")
    dropped = len(set(old) - set(extract()))
    return added, dropped


if __name__ == "__main__":
    for code in LOCALES:
        new, gone = update(code)
        print(f"{code}: {new} new string(s) to translate, {gone} dropped")
