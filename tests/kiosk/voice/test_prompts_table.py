"""The prompt table: each prompt's pinyin is the Chinese text's, with the tones meant, and espeak-ng reads it as Mandarin."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from pypinyin import Style, lazy_pinyin

from kiosk.voice.prompts import BY_NAME, NAMES, POLYPHONES, PROMPTS, READINGS, SYLLABLE, prompt

HANZI = re.compile(r"[\u4e00-\u9fff]")


def reading(text: str) -> list[str]:
    """Read the text as a whole (pypinyin picks words from context), then put the READINGS words over it."""
    base = [s for s in lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True) if SYLLABLE.fullmatch(s)]
    chars = [c for c in text if HANZI.match(c)]
    assert len(base) == len(chars), f"pypinyin gave {len(base)} syllables for {len(chars)} characters in {text}"
    hanzi_only = "".join(chars)
    for word, (meant, _why) in READINGS.items():
        start = hanzi_only.find(word)
        while start != -1:
            base[start:start + len(word)] = meant.split()
            start = hanzi_only.find(word, start + 1)
    return base


@pytest.mark.parametrize("item", PROMPTS, ids=lambda p: p.name)
def test_pinyin_is_the_texts_reading_with_the_tones_meant(item):
    assert item.syllables() == reading(item.text)


@pytest.mark.parametrize("item", PROMPTS, ids=lambda p: p.name)
def test_one_syllable_per_character_and_every_one_has_a_tone(item):
    chars = HANZI.findall(item.text)
    words = [w for w in re.split(r"[\s,]+", item.pinyin) if w]
    assert len(item.syllables()) == len(chars) == len(words)
    assert all(SYLLABLE.fullmatch(w) for w in words), words


def test_every_polyphone_in_a_prompt_has_its_reading_written_down():
    for item in PROMPTS:
        covered = set()
        for word in READINGS:
            start = item.text.find(word)
            while start != -1:
                covered.update(range(start, start + len(word)))
                start = item.text.find(word, start + 1)
        for i, ch in enumerate(item.text):
            if ch in POLYPHONES:
                assert i in covered, f"{item.name}: {ch} at {i} has no reading in READINGS"


def test_readings_are_each_used_and_explained():
    texts = "".join(p.text for p in PROMPTS)
    for word, (meant, why) in READINGS.items():
        assert word in texts, f"{word} is in READINGS but in no prompt"
        assert len(meant.split()) == len(word) and why


def test_an_override_differs_from_pypinyin_only_where_said():
    # 一次 is the one deliberate change (sandhi espeak-ng does not apply); the other entries agree with pypinyin.
    differs = {w for w, (meant, _) in READINGS.items()
               if lazy_pinyin(w, style=Style.TONE3, neutral_tone_with_five=True) != meant.split()}
    assert differs == {"一次"}


def test_table_names_and_the_brief_prompts():
    assert len(NAMES) == len(set(NAMES)) == len(PROMPTS)
    texts = {p.text for p in PROMPTS}
    for wanted in ("您好，请出示出入证", "请面向测温仪", "体温正常，请通行", "请再测一次", "体温异常，请稍候",
                   "此证无效，请找志愿者", "请找志愿者登记", "请您佩戴好口罩"):
        assert wanted in texts
    assert BY_NAME["fever"].urgent and BY_NAME["fever"].tone == "alarm"
    assert [p.name for p in PROMPTS if p.urgent] == ["fever"]
    with pytest.raises(KeyError, match="known: greeting"):
        prompt("nope")


def test_chinese_punctuation_is_full_width():
    for item in PROMPTS:
        assert not re.search(r"[,.:;!?()]", item.text), item.text


ESPEAK = shutil.which("espeak-ng")


def phonemes(voice: str, text: str) -> str:
    return subprocess.run([ESPEAK, "-q", "-x", "-v", voice, "--", text], capture_output=True, text=True,
                          timeout=20, check=True).stdout


@pytest.mark.parametrize("item", PROMPTS, ids=lambda p: p.name)
def test_espeak_reads_the_pinyin_as_mandarin_one_tone_per_syllable(item):
    assert ESPEAK, "espeak-ng is a system package of make test (apt-get install espeak-ng)"
    out = phonemes("cmn-latn-pinyin", item.pinyin)
    assert "(en)" not in out  # no switch to English letters
    # Each syllable carries a tone contour of digits (55, 35, 214, 51; 3-3 sandhi turns a 214 into 35).
    assert len(re.findall(r"[1-5]{2,3}", out)) == len(item.syllables()), out


def test_the_cmn_voice_misreads_what_the_pinyin_voice_reads_right():
    """Why the table carries pinyin: the Chinese-text voice reads 请 as English letters."""
    assert ESPEAK
    assert "(en)" in phonemes("cmn", "请找志愿者")
    assert "(en)" not in phonemes("cmn-latn-pinyin", BY_NAME["see_volunteer"].pinyin)


def test_espeak_applies_third_tone_sandhi_but_not_yi_sandhi():
    """Why 一次 is written yi2 ci4 while 请找 stays qing3 zhao3."""
    assert ESPEAK
    assert phonemes("cmn-latn-pinyin", "qing3 zhao3") == phonemes("cmn-latn-pinyin", "qing2 zhao3")
    assert phonemes("cmn-latn-pinyin", "yi1 ci4") != phonemes("cmn-latn-pinyin", "yi2 ci4")
