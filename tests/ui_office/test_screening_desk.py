"""Door-to-door screening at the desk in a real browser against ``kiosk demo --serve``: start a round at the office
PC, walk a building on a phone marking households, see coverage and the missing list change, bad input refused."""

from __future__ import annotations

import pytest

from tests.ui_office.conftest import DESK, PHONE, sign_in

pytestmark = pytest.mark.timeout(180)


def _no_sideways_scrolling(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, (page.url, overflow)


def _reached(page) -> str:
    return page.inner_text("#sc-total")


def test_a_round_walked_on_a_phone(browser, demo_office, shoot):
    office = browser.new_context(viewport=DESK, locale="zh-CN")
    pc = office.new_page()
    pc.set_default_timeout(20000)
    errors: list[str] = []
    pc.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(pc, demo_office)
    pc.click("nav a:has-text('逐户排查')")
    pc.wait_for_selector("h1:has-text('逐户排查')")
    if pc.locator("#sc-close").count():  # the demo may come with a round open: finish it first
        pc.check("#sc-close input[name=confirm]")
        pc.click("#sc-close button")
        pc.wait_for_selector("#sc-notice:has-text('本轮排查已结束')")
    pc.fill("#sc-start input[name=name]", "   ")
    pc.evaluate("document.querySelector('#sc-start input[name=name]').removeAttribute('required')")
    pc.click("#sc-start button")
    assert "轮次名称不能为空" in pc.inner_text("#sc-problem")  # refused on the server too
    pc.fill("#sc-start input[name=name]", "第二轮逐户排查")
    pc.click("#sc-start button")
    pc.wait_for_selector("#sc-notice:has-text('本轮排查已开始')")
    households = pc.locator("#sc-missing tbody tr").count()
    assert households > 3 and "0.0%" in _reached(pc)
    building = pc.locator(".sc-building").first.get_attribute("data-building")
    _no_sideways_scrolling(pc)

    phone_context = browser.new_context(viewport=PHONE, has_touch=True, locale="zh-CN")
    phone = phone_context.new_page()
    phone.set_default_timeout(20000)
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(phone, demo_office)
    phone.goto(demo_office.url + "/screening")
    phone.tap(f".sc-building[data-building='{building}']")
    phone.wait_for_selector("#sc-houses")
    _no_sideways_scrolling(phone)
    houses = phone.locator(".sc-house")
    first, second = houses.nth(0).get_attribute("data-household"), houses.nth(1).get_attribute("data-household")
    card = phone.locator(f".sc-house[data-household='{first}']")
    card.locator("input[name=note]").fill("家中3人，均正常")
    card.locator("input[name=back_from_elsewhere]").check()
    card.locator("button[value=visited]").tap()
    phone.wait_for_selector(f"#sc-marked:has-text('{first}')")
    assert phone.evaluate("location.hash").startswith("#h-")  # on to the next household
    card = phone.locator(f".sc-house[data-household='{first}']")
    assert card.get_attribute("data-outcome") == "visited" and "外地返回" in card.inner_text()
    phone.locator(f".sc-house[data-household='{second}'] button[value=not_reached]").tap()
    phone.wait_for_selector(f".sc-house[data-household='{second}'][data-outcome=not_reached]")
    too_long = phone.locator(f".sc-house[data-household='{second}']")
    too_long.locator("input[name=note]").evaluate("(e) => { e.removeAttribute('maxlength'); e.value = '长'.repeat(300) }")
    too_long.locator("button[value=phone]").tap()
    phone.wait_for_selector("#sc-problem")
    assert "备注最多 200 字" in phone.inner_text("#sc-problem")
    _no_sideways_scrolling(phone)
    shoot(phone, "desk-screening-phone")

    pc.goto(demo_office.url + "/screening")
    assert "未联系上 1" in _reached(pc) and "已入户 1" in _reached(pc)
    missing = [row.get_attribute("data-household") for row in pc.locator("#sc-missing tbody tr").all()]
    assert first not in missing and second in missing and len(missing) == households - 1
    row = pc.locator(f"#sc-coverage tr[data-building='{building}']")
    assert row.locator("td[data-key=visited]").inner_text() == "1"
    assert row.locator("td[data-key=not_reached]").inner_text() == "1"
    _no_sideways_scrolling(pc)
    shoot(pc, "desk-screening")
    phone_context.close()
    office.close()
    assert errors == [], errors
