"""Each app's catalogs (the gate's touchscreen, the office desk): every string in its pages and messages is translated,
and the .mo files are current. An app's strings are those of its own folder and of web/common (its babel.cfg)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
APPS = [app for app in ("gate", "office") if (REPO / "web" / app / "babel.cfg").exists()]


def translations(app: str) -> Path:
    return REPO / "web" / app / "translations"


def source_strings(app: str) -> set[str]:
    """The strings pybabel extracts for ``app``: what its babel.cfg names (its folder, and web/common's parts)."""
    from babel.messages.frontend import parse_mapping_cfg

    with open(REPO / "web" / app / "babel.cfg", encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = set()
    for _, _, message, _, _ in extract_from_dir(REPO, method_map, options_map, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(locale: str, app: str = "gate"):
    with open(translations(app) / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=locale)


@pytest.mark.parametrize("app", APPS)
def test_every_ui_string_has_a_chinese_translation(app: str):
    zh = catalog("zh_Hans_CN", app)
    assert len(source_strings(app)) > 30  # the extractor found the pages' and the messages' strings
    missing = sorted(m for m in source_strings(app) if not (zh.get(m) and zh.get(m).string))
    assert missing == [], (f"translate these in {translations(app)}/zh_Hans_CN "
                           f"(run scripts/translations.sh first): {missing}")
    fuzzy = [m.id for m in zh if m.id and m.fuzzy]
    assert fuzzy == [] and not zh.fuzzy


@pytest.mark.parametrize("app", APPS)
def test_compiled_catalogs_match_their_sources(app: str):
    for locale in ("zh_Hans_CN", "en"):
        po = catalog(locale, app)
        with open(translations(app) / locale / "LC_MESSAGES" / "messages.mo", "rb") as handle:
            mo = read_mo(io.BytesIO(handle.read()))
        wanted = {m.id: m.string for m in po if m.id and m.string}
        compiled = {m.id: m.string for m in mo if m.id and m.string}
        assert compiled == wanted, f"{locale}: messages.mo is stale: run scripts/translations.sh"


def test_every_code_the_policy_sends_has_words():
    from kiosk.gate.policy import AlarmKind, Prompt
    from web.gate.messages import ALARMS, PROMPTS

    assert sorted(p.value for p in Prompt if p.value not in PROMPTS) == []
    assert sorted(a.value for a in AlarmKind if a.value not in ALARMS) == []


@pytest.mark.parametrize("app", APPS)
def test_translations_keep_the_fields_the_page_fills_in(app: str):
    # {valid_until} and the like are filled by the page from a decision's detail; %(n)s by gettext.
    import re

    for locale in ("zh_Hans_CN", "en"):
        for message in catalog(locale, app):
            if message.id and message.string:
                fields = re.compile(r"\{\w+\}|%\(\w+\)s")
                assert sorted(set(fields.findall(message.id))) == sorted(set(fields.findall(message.string))), message.id


def test_every_alarm_kind_and_outcome_code_has_words_for_both_apps():
    import kiosk.alarm_outcomes as outcomes
    from web.common.words import ACK_OUTCOMES, ALARMS

    codes = set()
    for value in vars(outcomes).values():
        tables = list(value.values()) if isinstance(value, dict) else [value] if isinstance(value, tuple) else []
        for table in tables:
            if isinstance(table, tuple):
                codes |= {c for c in table if isinstance(c, str)}
    assert sorted(codes - set(ACK_OUTCOMES)) == []
    kinds = {v for k, v in vars(outcomes).items() if k.isupper() and isinstance(v, str)}
    assert sorted(kinds - set(ALARMS)) == []
