"""Every prompt the gate speaks, defined once: (name, Chinese text, pinyin with tone numbers, English gloss).

Why pinyin: espeak-ng's ``cmn`` voice reads several common characters wrong
(请 comes out as English letters), while ``cmn-latn-pinyin`` fed with
tone-numbered pinyin reads every syllable as meant. So the table carries the
pinyin, and a test checks it against pypinyin's reading of the Chinese text
(``Style.TONE3``, neutral tone written 5) so a typo in a tone cannot slip in.

Where the table deliberately differs from pypinyin, or a character has more
than one reading, the word is listed in :data:`READINGS` with the reading
meant and why; the test requires every occurrence of a character in
:data:`POLYPHONES` to be covered there. Third-tone sandhi (请找 → qing2 zhao3)
is left to espeak-ng, which applies it itself; 一 and 不 sandhi it does not
apply, so those are written as spoken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Prompt:
    """One spoken prompt: its code, what it says, the pinyin fed to the voice, and an English gloss."""

    name: str
    text: str
    pinyin: str
    english: str
    urgent: bool = False
    """Urgent prompts (fever) are never dropped from the queue and cut a playing prompt short."""
    tone: str | None = None
    """A tone (from :mod:`kiosk.voice.tone`) played just before the words."""

    def syllables(self) -> list[str]:
        """The tone-numbered syllables, in order (punctuation dropped)."""
        return SYLLABLE.findall(self.pinyin)


SYLLABLE = re.compile(r"[a-zü:v]+[1-5]")

PROMPTS: tuple[Prompt, ...] = (
    Prompt("greeting", "您好，请出示出入证", "nin2 hao3, qing3 chu1 shi4 chu1 ru4 zheng4",
           "Hello, please show your entry card"),
    Prompt("greeting_measure", "您好，请面向测温仪", "nin2 hao3, qing3 mian4 xiang4 ce4 wen1 yi2",
           "Hello, please face the thermometer"),
    Prompt("face_thermometer", "请面向测温仪", "qing3 mian4 xiang4 ce4 wen1 yi2", "Please face the thermometer"),
    Prompt("temperature_normal", "体温正常，请通行", "ti3 wen1 zheng4 chang2, qing3 tong1 xing2",
           "Temperature normal, please go through"),
    Prompt("go_through", "请通行", "qing3 tong1 xing2", "Please go through"),
    Prompt("measure_again", "请再测一次", "qing3 zai4 ce4 yi2 ci4", "Please measure again"),
    Prompt("fever", "体温异常，请稍候", "ti3 wen1 yi4 chang2, qing3 shao1 hou4",
           "Temperature abnormal, please wait", urgent=True, tone="alarm"),
    Prompt("card_invalid", "此证无效，请找志愿者", "ci3 zheng4 wu2 xiao4, qing3 zhao3 zhi4 yuan4 zhe3",
           "This card is not valid, please see the volunteer"),
    Prompt("register_with_volunteer", "请找志愿者登记", "qing3 zhao3 zhi4 yuan4 zhe3 deng1 ji4",
           "Please see the volunteer to register"),
    Prompt("see_volunteer", "请找志愿者", "qing3 zhao3 zhi4 yuan4 zhe3", "Please see the volunteer"),
    Prompt("wear_mask", "请您佩戴好口罩", "qing3 nin2 pei4 dai4 hao3 kou3 zhao4", "Please wear your mask properly"),
)

BY_NAME: dict[str, Prompt] = {p.name: p for p in PROMPTS}
NAMES: tuple[str, ...] = tuple(BY_NAME)

# Characters whose reading depends on the word (and a few that change tone in speech): every occurrence in a
# prompt must sit in a word of READINGS, so the reading meant is written down, not left to a guess.
POLYPHONES = frozenset("行长重还得着为地的了一不好正稍调差空便量数传朝乐相参处结教强")

# word → (the reading the table uses, why). A word here overrides pypinyin in the test.
READINGS: dict[str, tuple[str, str]] = {
    "通行": ("tong1 xing2", "行 is xing2 (to go), not hang2 (a row, a trade)"),
    "您好": ("nin2 hao3", "好 is hao3 (good), not hao4 (to like)"),
    "佩戴好": ("pei4 dai4 hao3", "好 is hao3 (properly, a result complement), not hao4"),
    "正常": ("zheng4 chang2", "正 is zheng4 (normal), not zheng1 (the first month)"),
    "稍候": ("shao1 hou4", "稍 is shao1 (a moment), not shao4 (at ease, a drill command)"),
    "一次": ("yi2 ci4", "一 before a 4th tone is said yi2; espeak-ng does not apply this sandhi itself"),
}


def prompt(name: str) -> Prompt:
    """The prompt called ``name``; KeyError names the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no prompt named {name!r} (known: {', '.join(NAMES)})") from None
