"""The touchscreen's catalogs: every string in the page and the messages is translated, and the .mo files are current."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[2]
TRANSLATIONS = REPO / "web" / "gate" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]


def source_strings() -> set[str]:
    found = set()
    for _, _, message, _, _ in extract_from_dir(REPO / "web", METHODS, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=locale)


def test_every_ui_string_has_a_chinese_translation():
    zh = catalog("zh_Hans_CN")
    assert len(source_strings()) > 100  # the extractor found the page's and the messages' strings
    missing = sorted(m for m in source_strings() if not (zh.get(m) and zh.get(m).string))
    assert missing == [], f"translate these in {TRANSLATIONS}/zh_Hans_CN (run scripts/translations.sh first): {missing}"
    fuzzy = [m.id for m in zh if m.id and m.fuzzy]
    assert fuzzy == [] and not zh.fuzzy


def test_compiled_catalogs_match_their_sources():
    for locale in ("zh_Hans_CN", "en"):
        po = catalog(locale)
        with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as handle:
            mo = read_mo(io.BytesIO(handle.read()))
        wanted = {m.id: m.string for m in po if m.id and m.string}
        compiled = {m.id: m.string for m in mo if m.id and m.string}
        assert compiled == wanted, f"{locale}: messages.mo is stale: run scripts/translations.sh"


def test_every_code_the_policy_sends_has_words():
    from kiosk.gate.policy import AlarmKind, Prompt
    from web.gate.messages import ALARMS, PROMPTS

    assert sorted(p.value for p in Prompt if p.value not in PROMPTS) == []
    assert sorted(a.value for a in AlarmKind if a.value not in ALARMS) == []


def test_translations_keep_the_fields_the_page_fills_in():
    # {valid_until} and the like are filled by the page from a decision's detail; %(n)s by gettext.
    import re

    for locale in ("zh_Hans_CN", "en"):
        for message in catalog(locale):
            if message.id and message.string:
                fields = re.compile(r"\{\w+\}|%\(\w+\)s")
                assert sorted(set(fields.findall(message.id))) == sorted(set(fields.findall(message.string))), message.id
