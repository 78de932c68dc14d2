"""来自何处 in one tap: the hanzi keyboard offers where this gate's visitors came from lately while the field is
empty, commonest first; typing pinyin replaces the offer with characters as usual."""

from __future__ import annotations

from tests.ui.helpers import api, post


def test_a_common_place_is_one_tap_and_typing_still_spells(page, demo_gate):
    host = api(demo_gate, "households")[0]["id"]
    for place in ("通州", "顺义区", "通州"):
        status, answer = post(demo_gate, "visitors", {"name": "孙来访", "phone": "13800138000", "coming_from": place,
                                                       "host_household_id": host, "reason": "delivery",
                                                       "temperatures_c": [36.4]})
        assert status == 200, answer
    offered = api(demo_gate, "visitors/places")["places"]
    assert offered[0] == "通州" and "顺义区" in offered
    page.click("#go-visitor")
    page.click("#v-from")  # 1
    page.wait_for_selector("#hz-list button.hz-word")
    words = page.eval_on_selector_all("#hz-list button.hz-word", "bs => bs.map(b => b.textContent)")
    assert words == offered[:len(words)] and words[0] == "通州"
    page.click("#hz-list button.hz-word:has-text('通州')")  # 2
    assert page.input_value("#v-from") == "通州"
    page.wait_for_selector("#hz-list .hz-hint")  # the field has text now: no more offers, the usual hint
    page.click("#hz-done")  # 3
    assert page.input_value("#v-from") == "通州" and page.locator("#hz-overlay").is_hidden()
    # Cleared and spelt instead: a letter replaces the offer with that letter's characters.
    page.click("#v-from")
    page.click("#hz-clear")
    page.wait_for_selector("#hz-list button.hz-word")
    page.click("#hz-keys button[data-key='s']")
    page.wait_for_selector("#hz-list button:not(.hz-word)")
    assert page.locator("#hz-list button.hz-word").count() == 0
