"""Disinfection rounds (消杀): the area and agent codes the gate and the office share, and their Chinese words.

A round names where it was done (``area``) and with what (``agent``). Either is
one of the codes below, or the community's own words (typed on the gate's
keyboard or the desk's form, or listed in the gate's config): a stored value is
a code when it is one of these, and anything else is shown as it was written.
The screens' words (zh-CN and English) are web/common/disinfection_words.py's;
the Chinese here is for the CLI and exports, which speak Chinese only.
"""

from __future__ import annotations

AREAS: dict[str, str] = {
    "gate": "卡口及出入口",
    "stairwells": "楼道",
    "lifts": "电梯",
    "bins": "垃圾站",
    "public_areas": "公共区域",
    "delivery_point": "快递点",
}
"""Area code → Chinese word, in the order the gate offers them by default."""

AGENTS: dict[str, str] = {
    "chlorine": "含氯消毒液",
    "alcohol": "75%酒精",
    "peracetic_acid": "过氧乙酸",
    "chlorine_dioxide": "二氧化氯",
}
"""Agent code → Chinese word, in the order the gate offers them by default."""

MAX_TEXT = 64
"""The longest area or agent (a code or the community's own words)."""
MAX_NOTE = 500


def word(table: dict[str, str], value: str | None) -> str:
    """A stored area or agent in Chinese: a code's word, anything else as it was written."""
    text = (value or "").strip()
    return table.get(text, text)
