"""No untranslated word on any gate screen: every screen and overlay at 800×480, in zh-CN and in English.

In zh-CN no visible word of three or more ASCII letters (except °C, ID, QR, PIN, USB, the gate's id …), and no ASCII
``:`` ``(`` ``)`` beside a Chinese character (full-width ：（） in Chinese text). In English no Chinese except the
community's own data (names, households, the gate's name, configured areas: whatever the gate's API answers) and
the language switch. The walk goes through real flows (a fever, a question, an expired card, a sign-in, the
visitor form with its keyboard …), so strings other parts add are caught too.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.ui.helpers import api, sign_in, simulate
from web.gate.ui import PROVINCES

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
ASCII_WORD = re.compile(r"(?<![A-Za-z])[A-Za-z]{3,}(?![A-Za-z])")
ASCII_PUNCT_BY_CJK = re.compile(r"[\u3400-\u9fff][:()]|[:()][\u3400-\u9fff]")
ALLOWED_ASCII = {"ABC", "PIN", "USB", "CSV", "PDF"}  # key captions and device names volunteers read as they are

VISIBLE_TEXT = """() => {
  const out = [];
  const skip = (e) => !e || e.closest('.sim-body, #sim-toggle, script, style, #hz-list');  // the panel is the demo's;
  const shown = (e) => e.checkVisibility({visibilityProperty: true, opacityProperty: true})
                       && e.getBoundingClientRect().width > 0;                        // candidates are Chinese by design
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, text = node.textContent.trim(), e = node.parentElement;
    if (text && !skip(e) && shown(e)) out.push([text, e.id || e.className || e.tagName]);
  }
  for (const e of document.querySelectorAll('[placeholder], [aria-label], [title]')) {
    if (skip(e) || !shown(e)) continue;
    for (const a of ['placeholder', 'aria-label', 'title']) if (e.getAttribute(a)) out.push([e.getAttribute(a), (e.id || e.className) + '@' + a]);
  }
  return out;
}"""


def data_words(demo_gate) -> set[str]:
    """Every Chinese run in what the gate's API answers: the community's names, households, areas, the gate's name."""
    found: set[str] = set()
    for path in ("status", "today", "alarms", "households", "volunteers", "visitors/inside", "disinfection", "rules"):
        try:
            found |= set(CJK.findall(json.dumps(api(demo_gate, path), ensure_ascii=False)))
        except ValueError:
            continue
    return found


class Words:
    """What each screen showed that a volunteer of this language could not read."""

    def __init__(self, page, demo_gate, language: str):
        self.page, self.demo_gate, self.language = page, demo_gate, language
        self.problems: list[str] = []
        self.seen: list[str] = []
        self.texts = 0  # how many visible strings were read: a walk that read little proves little
        self.gate_id = api(demo_gate, "status")["gate"]["id"]

    def check(self, where: str) -> None:
        self.page.wait_for_timeout(300)  # let the screen's script fill it
        self.seen.append(where)
        data = data_words(self.demo_gate) if self.language == "en" else set()
        for text, element in self.page.evaluate(VISIBLE_TEXT):
            self.texts += 1
            if self.language == "zh-CN":
                words = {w for w in ASCII_WORD.findall(text.replace(self.gate_id, ""))} - ALLOWED_ASCII
                if words:
                    self.problems.append(f"{where} {element}: English {sorted(words)} in {text!r}")
                if ASCII_PUNCT_BY_CJK.search(text):
                    self.problems.append(f"{where} {element}: ASCII punctuation in {text!r}")
            else:
                if element.startswith("sim-said"):  # the voice caption: the gate speaks Mandarin whatever the page's language
                    continue
                foreign = [run for run in CJK.findall(text)
                           if run != "中文" and not set(run) <= set(PROVINCES) and not any(run in d for d in data)]
                if foreign:
                    self.problems.append(f"{where} {element}: Chinese {foreign} in {text!r}")

    def go(self, screen: str) -> None:
        self.page.click(f"[data-go='{screen}']:visible >> nth=0")
        self.page.wait_for_selector(f"body[data-screen='{screen}']")
        self.check(screen)


def walk(page, demo_gate, language: str) -> Words:
    page.goto(demo_gate.url + "lang/" + language)
    page.wait_for_selector("body[data-live='1']")
    words = Words(page, demo_gate, language)
    words.check("home")

    # a fever: measuring, the fever screen, the acknowledgement dialog on the alarms screen
    simulate(page, person="38.6", card="wang-xiaoshan")
    page.wait_for_selector("body[data-screen='measuring']")
    words.check("measuring")
    page.wait_for_selector("body[data-screen='fever']")
    words.check("fever")
    page.click("#fever-ack")
    page.wait_for_selector("#ack-dialog:not([hidden])")
    words.check("ack dialog")
    page.click("#ack-cancel")
    words.check("alarms")

    # the volunteer signs in (the volunteer screen before and after)
    page.click("#volunteer-chip")
    page.wait_for_selector("body[data-screen='volunteer']")
    words.check("volunteer")
    page.goto(demo_gate.url)
    page.wait_for_selector("body[data-live='1']")
    sign_in(page)
    page.click("#volunteer-chip")
    page.wait_for_selector("body[data-screen='volunteer']")
    words.check("volunteer signed in")

    # a card the gate cannot place: 进还是出?, then the result
    page.goto(demo_gate.url)
    page.wait_for_selector("body[data-live='1']")
    simulate(page, person="36.5", card="li-jianguo")
    page.wait_for_selector("body[data-screen='ask']")
    words.check("ask")
    page.click("#screen-ask button:visible >> nth=0")
    page.wait_for_selector("body[data-screen='result']")
    words.check("result after ask")
    page.click("#result-ok")

    # an expired card: its own words, with the date
    page.wait_for_timeout(1500)
    simulate(page, card="expired")
    page.wait_for_selector("body[data-screen='result'] #result.deny")
    words.check("result expired card")
    page.click("#result-ok")

    for screen in ("visitor", "vehicle", "temperature", "today", "disinfection", "inside", "alarms"):
        page.goto(demo_gate.url)
        page.wait_for_selector("body[data-live='1']")
        words.go(screen)
        if screen == "visitor":
            page.click("#v-name")  # the hanzi keyboard
            page.wait_for_selector("#hz-overlay:not([hidden])")
            words.check("hanzi keyboard")
            page.click("#hz-done")
            page.click("#v-host")  # the host household picker
            page.wait_for_timeout(500)
            words.check("host picker")
            page.click("#host-cancel")
            page.click("#v-save")  # an empty form: the server's words name the field
            page.wait_for_timeout(800)
            words.check("visitor form refused")
    return words


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_no_screen_shows_a_word_of_the_other_language(page, demo_gate, language):
    words = walk(page, demo_gate, language)
    assert len(words.seen) >= 18 and words.texts >= 400, (words.seen, words.texts)
    assert not words.problems, "\n".join(words.problems)
