"""The hanzi keyboard's candidates: pinyin prefix in, characters out, the community's own names first."""

from __future__ import annotations

import pytest

from kiosk.gate import hanzi_candidates as hc
from kiosk.registry import Registry


@pytest.fixture(scope="module")
def plain():
    return hc.CandidateIndex([])


def first_page(index, pinyin, slot=hc.Slot.NAME):
    return index.page(pinyin, 0, slot=slot).candidates


@pytest.mark.parametrize("name, letters", [
    ("张伟", ["zhang", "wei"]),
    ("王秀英", ["wang", "xiu", "ying"]),
    ("李娜", ["li", "na"]),
    ("刘洋", ["liu", "yang"]),
    ("陈静", ["chen", "jing"]),
])
def test_common_names_are_on_the_first_page_for_each_character(plain, name, letters):
    for position, (char, pinyin) in enumerate(zip(name, letters, strict=True)):
        slot = hc.Slot.SURNAME if position == 0 else hc.Slot.GIVEN
        assert char in first_page(plain, pinyin, slot), (char, pinyin, first_page(plain, pinyin, slot))
        assert char in first_page(plain, pinyin, hc.Slot.NAME), (char, pinyin)
    # Those surnames are the most common of all: first in the surname slot.
    assert first_page(plain, letters[0], hc.Slot.SURNAME)[0] == name[0]


def test_a_roster_surname_comes_first():
    # 冀 is a rare surname: not first for ji until the community has people called so.
    assert hc.CandidateIndex([]).lookup("ji", hc.Slot.SURNAME)[1][0] != "冀"
    index = hc.CandidateIndex(["冀文斌", "冀丽", "张伟"])
    assert index.lookup("ji", hc.Slot.SURNAME)[1][0] == "冀"
    # The roster's given-name characters count towards the given-name order: 斌 before the common 彬 and 宾.
    given = index.lookup("bin", hc.Slot.GIVEN)[1]
    assert given[0] == "斌" and given.index("斌") < given.index("彬")
    # A roster name outside GB2312 is still offered, under its usual reading.
    assert "喆" in hc.CandidateIndex(["王喆"]).lookup("zhe", hc.Slot.GIVEN)[1][:3]
    assert "喆" not in hc.CandidateIndex([]).lookup("zhe", hc.Slot.GIVEN)[1]


def test_a_polyphonic_surname_comes_under_its_surname_reading(plain):
    assert first_page(plain, "zeng", hc.Slot.SURNAME)[0] == "曾"
    assert "曾" not in first_page(plain, "ceng", hc.Slot.SURNAME)[:1]
    assert "单" in first_page(plain, "shan", hc.Slot.SURNAME)[:3]


def test_exact_syllable_first_then_longer_ones(plain):
    matched, found = plain.lookup("li", hc.Slot.NAME)
    assert matched == "li"
    li = set(hc.base().by_syllable["li"] and (r.char for r in hc.base().by_syllable["li"]))
    # Every character of li itself comes before any character only read lian, liang, liu …
    first_other = next(i for i, ch in enumerate(found) if ch not in li)
    assert all(ch in li for ch in found[:first_other]) and "刘" in found[first_other:]
    # A prefix that is no syllable yet gives the syllables it starts, common surnames first.
    assert plain.lookup("zh", hc.Slot.SURNAME)[1][:3] == ("张", "赵", "周")


def test_general_order_has_common_characters_and_no_rare_variants_first(plain):
    for pinyin, char in [("hao", "号"), ("lou", "楼"), ("men", "门"), ("gong", "公"), ("si", "司"),
                        ("cun", "村"), ("lu", "路"), ("qu", "区"), ("jie", "街"), ("dian", "店")]:
        assert char in first_page(plain, pinyin, hc.Slot.TEXT), (pinyin, first_page(plain, pinyin, hc.Slot.TEXT))
    for pinyin in ["shi", "zhang", "li", "zhong", "z"]:
        page = first_page(plain, pinyin, hc.Slot.TEXT)
        assert all(hc.gb2312_level(ch) == 1 for ch in page), (pinyin, page)
    # Traditional characters never show from the general order (長 is not GB2312).
    assert "長" not in plain.lookup("zhang", hc.Slot.TEXT)[1]


def test_u_umlaut_is_typed_as_v(plain):
    assert "吕" in first_page(plain, "lv", hc.Slot.SURNAME)[:1]
    assert "女" in first_page(plain, "nv", hc.Slot.TEXT)
    assert hc.normalise("LÜ") == "lv" and hc.normalise("lue") == "lve" and hc.normalise(" Nue ") == "nve"
    assert "略" in first_page(plain, "lue", hc.Slot.TEXT)


def test_letters_past_a_syllable_match_its_leading_syllable(plain):
    matched, found = plain.lookup("zhangw", hc.Slot.SURNAME)
    assert matched == "zhang" and found[0] == "张"
    assert plain.lookup("vvv")[1] == () and plain.lookup("vvv")[0] == ""


@pytest.mark.parametrize("bad", ["", " ", "zhangweii", "zh4ng", "zhang wei", "张", "a-b", "ö", None, 5, "x" * 10_000])
def test_anything_but_pinyin_is_refused(plain, bad):
    with pytest.raises(hc.PinyinError):
        plain.lookup(bad)


def test_pages_are_bounded_and_say_when_there_are_more(plain):
    first = plain.page("li", 0)
    second = plain.page("li", 1)
    assert len(first.candidates) == hc.PAGE_SIZE and first.more and not set(first.candidates) & set(second.candidates)
    last = plain.page("lou", 1)
    assert 0 < len(last.candidates) <= hc.PAGE_SIZE and not last.more
    assert plain.page("lou", 5).candidates == () and not plain.page("lou", 5).more
    for page, size in [(-1, 10), (hc.MAX_PAGES, 10), (0, 0), (0, hc.MAX_PAGE_SIZE + 1)]:
        with pytest.raises(ValueError):
            plain.page("li", page, size=size)


def test_lookups_over_a_big_registry_answer_every_prefix_and_repeat_from_the_cache(plain):
    # How fast: bench/hanzi_bench.py (docs/benchmarks.md); a timing here failed under emulation (arm64 check).
    index = hc.CandidateIndex(["张伟", "王秀英"] * 500)
    for pinyin in ["z", "s", "y", "zh", "shi", "zhuang"]:
        matched, candidates = index.lookup(pinyin, hc.Slot.TEXT)
        assert matched == pinyin and candidates, pinyin
        assert index.lookup(pinyin, hc.Slot.TEXT) == (matched, candidates)
    assert index.lookup("zh", hc.Slot.NAME)[1][0] == "张"  # in a name, the registry's characters first


def test_the_source_follows_the_registry_version(tmp_path):
    registry = Registry(tmp_path / "registry.db")
    try:
        registry.apply_snapshot({"households": [{"id": 1, "building": "1", "unit": "1", "room": "101"}],
                                 "residents": [{"id": 1, "household_id": 1, "name": "冀文斌"}]}, version=1)
        source = hc.CandidateSource(registry.names, lambda: registry.version)
        first = source.index()
        assert source.index() is first and first.lookup("ji", hc.Slot.SURNAME)[1][0] == "冀"
        assert registry.names() == ["冀文斌"]
        assert first.lookup("qin", hc.Slot.SURNAME)[1][0] == "秦"
        registry.apply_changes([{"table": "visitor_passes", "op": "upsert", "row": {
            "id": 1, "name": "覃美", "phone_masked": "138****0000", "host_household_id": 1,
            "valid_from": "2026-01-01T00:00:00", "valid_until": "2026-01-02T00:00:00", "reason": "other"}}],
            from_version=1, to_version=2)
        rebuilt = source.index()
        assert rebuilt is not first and rebuilt.lookup("qin", hc.Slot.SURNAME)[1][0] == "覃"
    finally:
        registry.close()


def test_the_shipped_list_is_well_formed():
    names = hc.load_name_chars()
    assert list(names.surnames)[:10] == list("王李张刘陈杨黄赵吴周")
    assert len(names.surnames) >= 100 and len(names.given) >= 100
    assert all(len(ch) == 1 and ch in hc.base().readings for ch in [*names.surnames, *names.given])
    for char, reading in names.surname_readings.items():
        assert reading in hc.base().readings[char], (char, reading)
