"""GET /api/v1/hanzi: the touchscreen keyboard's candidates over the gate's HTTP API, bounded, errors in words."""

from __future__ import annotations

import pytest

from tests.gate_fixtures import make_rig
from web.gate import create_gate_app


@pytest.fixture
def http(tmp_path):
    rig = make_rig(tmp_path, start=False)
    yield create_gate_app(rig.gate).test_client()
    rig.close()


def test_candidates_for_a_syllable_with_the_rosters_surname_first(http):
    body = http.get("/api/v1/hanzi?pinyin=zhao&page=0&slot=surname").get_json()
    # 赵 is the roster's volunteer 赵志愿 (and a common surname anyway).
    assert body["pinyin"] == "zhao" and body["matched"] == "zhao" and body["candidates"][0] == "赵"
    assert len(body["candidates"]) == 10 and body["more"] is True and body["page"] == 0
    second = http.get("/api/v1/hanzi?pinyin=zhao&page=1&slot=surname").get_json()
    assert second["page"] == 1 and not set(second["candidates"]) & set(body["candidates"])
    # The roster's given-name character 愿 is first for yuan in a given name, not in general text.
    assert http.get("/api/v1/hanzi?pinyin=yuan&slot=given").get_json()["candidates"][0] == "愿"
    assert http.get("/api/v1/hanzi?pinyin=yuan&slot=text").get_json()["candidates"][0] != "愿"
    assert http.get("/api/v1/hanzi?pinyin=LV").get_json()["candidates"][0] == "吕"


@pytest.mark.parametrize("query, code", [
    ("pinyin=", "pinyin_format"),
    ("", "pinyin_format"),
    ("pinyin=zhangweii", "pinyin_format"),
    ("pinyin=zh%20ang", "pinyin_format"),
    ("pinyin=%E5%BC%A0", "pinyin_format"),
    ("pinyin=zhang&page=-1", "page_range"),
    ("pinyin=zhang&page=50", "page_range"),
    ("pinyin=zhang&page=1e3", "page_range"),
    ("pinyin=zhang&slot=poem", "slot_choice"),
])
def test_bad_queries_are_a_400_in_the_pages_language(http, query, code):
    zh = http.get(f"/api/v1/hanzi?{query}")
    assert zh.status_code == 400 and zh.get_json()["code"] == code and zh.get_json()["detail"]
    http.set_cookie("lang", "en")  # the page's language switch
    en = http.get(f"/api/v1/hanzi?{query}")
    assert en.get_json()["code"] == code and en.get_json()["error"] != zh.get_json()["error"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh.get_json()["error"])
