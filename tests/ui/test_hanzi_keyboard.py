"""The on-screen hanzi keyboard at the 800×480 panel: a visitor's name typed character by character, a mistake
corrected with ⌫, "coming from" with a digit, in both languages, with the taps counted (docs/gate.md)."""

from __future__ import annotations

import requests

from tests.ui.helpers import type_hanzi

MIN_TARGET = 48  # px: a gloved finger


def keys_on_screen(page) -> list[dict]:
    """Every visible button of the keyboard with its box."""
    return page.eval_on_selector_all("#hz-overlay button", """buttons => buttons.filter(b => b.offsetParent)
        .map(b => { const r = b.getBoundingClientRect();
                    return {text: b.textContent, left: r.left, top: r.top, right: r.right, bottom: r.bottom,
                            width: r.width, height: r.height}; })""")


def assert_fits_the_panel(page) -> None:
    keys = keys_on_screen(page)
    assert len(keys) >= 26 + 7
    for key in keys:
        assert key["width"] >= MIN_TARGET and key["height"] >= MIN_TARGET, key
        assert key["left"] >= 0 and key["top"] >= 0 and key["right"] <= 800 and key["bottom"] <= 480, key
    assert page.evaluate("document.scrollingElement.scrollHeight") <= 480


def test_a_name_typed_with_a_mistake_corrected_and_where_from_with_a_digit(page, demo_gate, shoot):
    page.click("#go-visitor")
    name = page.locator("#v-name")
    # No system keyboard: the fields are readonly for it, and say they want no input method.
    assert name.get_attribute("readonly") is not None and name.get_attribute("inputmode") == "none"
    assert page.locator("#v-from").get_attribute("inputmode") == "none"
    page.click("#v-name")
    assert page.inner_text("#hz-label") == "姓名" and "输入拼音" in page.inner_text("#hz-list")
    assert_fits_the_panel(page)

    # A wrong letter (zhanf), taken back with ⌫: the pending pinyin loses a letter, nothing typed is lost.
    for key in "zhanf":
        page.click(f"#hz-keys button[data-key='{key}']")
    assert page.inner_text("#hz-pinyin") == "zhanf"
    page.click("#hz-back")
    page.click("#hz-keys button[data-key='g']")
    page.wait_for_selector("#hz-list button")
    assert page.inner_text("#hz-pinyin") == "zhang"
    # The first name character is a surname: 张 (the commonest for zhang) comes first.
    assert page.inner_text("#hz-list button >> nth=0") == "张"
    # The wrong character tapped (章), then ⌫ with no pinyin pending deletes it.
    page.click("#hz-list button:has-text('章')")
    assert name.input_value() == "章" and page.inner_text("#hz-pinyin") == ""
    page.click("#hz-back")
    assert name.input_value() == ""
    type_hanzi(page, None, [("zhang", "张")], done=False)
    for key in "wei":
        page.click(f"#hz-keys button[data-key='{key}']")
    page.wait_for_selector("#hz-list button")
    # A given-name character now: 伟 first (张伟 is the most common full name).
    assert page.inner_text("#hz-list button >> nth=0") == "伟"
    shoot(page, "gate-hanzi-keyboard")
    page.click("#hz-list button >> nth=0")
    assert page.inner_text("#hz-text") == "张伟"
    page.click("#hz-done")
    assert page.locator("#hz-overlay").is_hidden() and name.input_value() == "张伟"

    # Coming from 3号楼: the digit from 123 ABC, the characters back in pinyin.
    page.click("#v-from")
    assert page.inner_text("#hz-label") == page.inner_text("label:has(#v-from)").strip()
    page.click("#hz-mode")
    assert page.locator("#hz-keys button[data-key='3']").is_visible()
    assert_fits_the_panel(page)
    page.click("#hz-keys button[data-key='3']")
    page.click("#hz-mode")
    type_hanzi(page, None, [("hao", "号"), ("lou", "楼")])
    assert page.input_value("#v-from") == "3号楼"
    # Opened again, the field keeps what it has and goes on from there; 清空 empties it.
    page.click("#v-from")
    assert page.inner_text("#hz-text") == "3号楼"
    page.click("#hz-clear")
    page.click("#hz-done")
    assert page.input_value("#v-from") == ""


def test_a_two_character_name_takes_twelve_taps(page, demo_gate):
    # Tap the field (1), z-h-a-n-g (5), 张 (1), w-e-i (3), 伟 (1), 确定 (1): the count docs/gate.md gives.
    page.click("#go-visitor")
    assert type_hanzi(page, "#v-name", [("zhang", "张"), ("wei", "伟")]) == 12
    assert page.input_value("#v-name") == "张伟"
    # 王秀英 and 李娜 the same way: no paging needed for common names.
    page.click("#v-name")
    page.click("#hz-clear")
    assert type_hanzi(page, None, [("wang", "王"), ("xiu", "秀"), ("ying", "英")]) == 4 + 1 + 3 + 1 + 4 + 1 + 1
    assert page.input_value("#v-name") == "王秀英"


def test_typing_fast_shows_the_candidates_of_the_last_letters_only(page, demo_gate):
    page.click("#go-visitor")
    page.click("#v-name")
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/hanzi" in r.url else None)
    for key in "liu":
        page.click(f"#hz-keys button[data-key='{key}']", delay=0)
    page.wait_for_selector("#hz-list button")
    expected = requests.get(demo_gate.url + "api/v1/hanzi", params={"pinyin": "liu", "slot": "surname"},
                            timeout=10).json()["candidates"]
    assert page.eval_on_selector_all("#hz-list button", "bs => bs.map(b => b.textContent)") == expected
    assert expected[0] == "刘" and len(asked) <= 3
    # Paging forward and back; ‹ is off on the first page.
    assert page.locator("#hz-prev").is_disabled()
    page.click("#hz-next")
    page.wait_for_function("document.querySelector('#hz-list button') && "
                           "document.querySelector('#hz-list button').textContent !== '刘'")
    page.click("#hz-prev")
    page.wait_for_function("document.querySelector('#hz-list button')?.textContent === '刘'")
    # Letters past a syllable (liuy): liu's characters, and the tap leaves the rest pending for the next one.
    page.click("#hz-keys button[data-key='y']")
    page.wait_for_function("document.querySelector('#hz-pinyin').textContent === 'liuy'")
    page.wait_for_function("document.querySelector('#hz-list button')?.textContent === '刘'")
    page.click("#hz-list button >> nth=0")
    assert page.input_value("#v-name") == "刘" and page.inner_text("#hz-pinyin") == "y"
    # Letters that spell nothing: a hint and no candidate; ⌫ takes the letter back, then the character.
    page.click("#hz-back")
    page.click("#hz-keys button[data-key='v']")
    page.wait_for_selector("#hz-list .hz-hint")
    assert page.locator("#hz-list button").count() == 0
    page.click("#hz-back")
    page.click("#hz-back")
    assert page.input_value("#v-name") == ""


def test_the_keyboard_in_english(page, demo_gate, shoot):
    page.goto(demo_gate.url + "lang/en")
    page.wait_for_selector("body[data-live='1']")
    page.click("#go-visitor")
    page.click("#v-name")
    assert page.inner_text("#hz-label") == "Name" and "pinyin" in page.inner_text("#hz-list")
    assert page.inner_text("#hz-done") == "Done" and page.inner_text("#hz-clear") == "Clear"
    assert_fits_the_panel(page)
    type_hanzi(page, None, [("li", "李"), ("na", "娜")], done=False)
    page.click("#hz-mode")
    assert page.inner_text("#hz-mode") == "Pinyin"
    assert_fits_the_panel(page)
    shoot(page, "gate-hanzi-keyboard-en")
    page.click("#hz-done")
    assert page.input_value("#v-name") == "李娜"
