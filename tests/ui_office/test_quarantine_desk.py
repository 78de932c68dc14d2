"""The desk's home-quarantine screen (/quarantine) in a real browser against ``kiosk demo --serve``: record a
check, see an overdue one flagged, a fever check raising the alarm banner on another open page, extend, lift, bad
input refused with nothing stored, a viewer reading only, and the layout at an office PC and on a phone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from kiosk.office import quarantine as q
from kiosk.office.accounts import Accounts
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore
from tests.ui_office.conftest import DESK, PHONE, sign_in

TZ = ZoneInfo("Asia/Shanghai")  # the demo's (kiosk.demo.TIMEZONE)
LI, LIU, ZHANG = 3, 5, 4  # 李建国 (household order 1), 刘洋 (order 2, demo_seed), 张伟 (no order in the demo)


def _today():
    return datetime.now(TZ).date()


def _checks(office, resident_id: int) -> int:
    store = OfficeStore(office.office_dir / "office.db")
    try:
        return store.database().execute("SELECT COUNT(*) FROM quarantine_checks WHERE resident_id = ?",
                                        [resident_id]).fetchone()[0]
    finally:
        store.close()


def test_record_a_check_and_see_the_overdue_ones(desk, demo_office, shoot):
    desk.goto(demo_office.url + "/quarantine?day=" + (_today() - timedelta(days=1)).isoformat())
    # yesterday: 刘洋's evening check was never recorded, flagged in red; 李建国's both done
    liu = desk.locator(f"#person-{LIU}")
    assert liu.locator(".q-slot[data-slot='1'][data-status='overdue'] .tag.bad").is_visible()
    assert "逾期未测" in liu.inner_text() and "card bad" in (liu.get_attribute("class") or "")
    assert desk.locator(f"#person-{LI} .q-slot[data-status='overdue']").count() == 0

    desk.click("a.button:has-text('今日')")
    person = desk.locator(f"#person-{LI}")
    assert "第 4 天 / 共 14 天" in person.inner_text()
    before = _checks(demo_office, LI)
    form = person.locator("form.q-check-form")
    form.locator("input[name=temperature]").fill("36.7")
    form.locator("input[name=method][value=door]").check()
    form.locator("input[name=note]").fill("精神好")
    form.locator("button[type=submit]").click()
    desk.wait_for_selector("#q-saved")
    assert "已记录测温" in desk.locator("#q-saved").inner_text()
    assert "36.7 °C" in desk.locator(f"#person-{LI}").inner_text() and "精神好" in desk.locator(f"#person-{LI}").inner_text()
    assert _checks(demo_office, LI) == before + 1
    overflow = desk.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    shoot(desk, "desk-quarantine")

    # a reading typed wrong: the field is named, nothing stored, the typed values kept
    form = desk.locator(f"#person-{LI} form.q-check-form")
    form.locator("input[name=temperature]").fill("3.66")
    form.locator("button[type=submit]").click()
    desk.wait_for_selector("#q-problem")
    assert "体温须在" in desk.locator("#q-problem").inner_text()
    assert desk.locator(f"#person-{LI} input[name=temperature]").input_value() == "3.66"
    assert _checks(demo_office, LI) == before + 1


def test_a_fever_check_raises_the_alarm_banner_on_every_page(desk, demo_office, browser):
    # another staff PC has the alarm page open
    other = browser.new_context(viewport=DESK, locale="zh-CN")
    watcher = other.new_page()
    sign_in(watcher, demo_office)
    watcher.wait_for_function("Number(document.body.dataset.alarmsLoaded || 0) >= 1")
    watcher.click("#alarm-banner-hide")  # the demo's own fever banner, seen: only a new one brings it back

    desk.goto(demo_office.url + "/quarantine")
    form = desk.locator(f"#person-{LIU} form.q-check-form")
    form.locator("input[name=temperature]").fill("38.2")
    form.locator("button[type=submit]").click()
    desk.wait_for_selector("#q-saved")
    assert "发热报警" in desk.locator("#q-saved").inner_text()
    assert "38.2 °C" in desk.locator(f"#person-{LIU} .q-fever").inner_text()

    watcher.wait_for_function("document.getElementById('alarm-banner-text').textContent.includes('居家隔离')",
                              timeout=5000)
    text = watcher.locator("#alarm-banner-text").inner_text()
    assert "发热" in text and "居家隔离 1-2-301" in text
    card = watcher.locator("#alarm-list article[data-kind='fever']", has_text="居家隔离 1-2-301")
    card.wait_for(timeout=5000)
    assert "刘*" in card.inner_text() and "1-2-301" in card.inner_text() and "38.2" in card.inner_text()
    other.close()
    # this page shows it too (the summary the top bar reads on every page)
    desk.wait_for_function("document.getElementById('alarm-banner-text').textContent.includes('居家隔离')")


def test_extend_and_lift(desk, demo_office):
    today = _today()
    # an order of 张伟's that ends today, added as the CLI or another desk would
    store = OfficeStore(demo_office.office_dir / "office.db")
    master = RegistryMaster(demo_office.office_dir / "registry.db")
    try:
        order, _ = q.add_order(store, master, by="test", tz=TZ, starts_on=today - timedelta(days=13),
                               resident_id=ZHANG, note="外地返回")
    finally:
        store.close()
        master.close()
    desk.goto(demo_office.url + "/quarantine")
    zhang = desk.locator(f"#person-{ZHANG}")
    assert "第 14 天 / 共 14 天" in zhang.inner_text()

    # extend order 2 (刘洋) by three days
    liu = desk.locator(f"#person-{LIU}")
    old_end = liu.locator(".q-end").inner_text()
    new_end = (datetime.fromisoformat(old_end) + timedelta(days=3)).date().isoformat()
    liu.locator("details.q-order summary").click()
    liu.locator("form.q-extend input[name=until]").fill(new_end)
    liu.locator("form.q-extend input[name=note]").fill("社区医生建议延长")
    liu.locator("form.q-extend button[type=submit]").click()
    desk.wait_for_selector("#q-saved")
    assert desk.locator(f"#person-{LIU} .q-end").inner_text() == new_end

    # lifting 李建国's order before its end is refused, nothing changes
    li = desk.locator(f"#person-{LI}")
    li.locator("details.q-order summary").click()
    li.locator("form.q-lift input[name=note]").fill("提前解除")
    li.locator("form.q-lift button[type=submit]").click()
    desk.wait_for_selector("#q-problem")
    assert "解除日期不能早于结束日期" in desk.locator("#q-problem").inner_text()
    assert desk.locator(f"#person-{LI}").count() == 1

    # 张伟's ends today: lifted with the clinic's release, gone from today's list, out from today
    zhang = desk.locator(f"#person-{ZHANG}")
    zhang.locator("details.q-order summary").click()
    zhang.locator("form.q-lift input[name=note]").fill("   ")  # only spaces: the browser sends it, the desk refuses
    zhang.locator("form.q-lift button[type=submit]").click()
    desk.wait_for_selector("#q-problem")
    assert "解除说明不能为空" in desk.locator("#q-problem").inner_text()
    zhang = desk.locator(f"#person-{ZHANG}")
    zhang.locator("form.q-lift input[name=note]").fill("社区卫生服务中心解除隔离通知")
    zhang.locator("form.q-lift button[type=submit]").click()
    desk.wait_for_selector("#q-saved")
    assert "已解除隔离" in desk.locator("#q-saved").inner_text()
    assert desk.locator(f"#person-{ZHANG}").count() == 0
    with RegistryMaster(demo_office.office_dir / "registry.db") as master:
        assert not master.quarantine_orders(resident_id=ZHANG, household_id=3, on=today)
    store = OfficeStore(demo_office.office_dir / "office.db")
    try:
        assert [h["action"] for h in q.history(store, order["id"])] == ["added", "lifted"]
    finally:
        store.close()
    desk.goto(demo_office.url + "/audit?action=quarantine.")
    table = desk.locator("#audit-table").inner_text()
    assert "quarantine.lift" in table and "社区卫生服务中心解除隔离通知" in table and "quarantine.extend" in table
    assert "quarantine.check" in table and f"order:{order['id']}" in table


def test_a_viewer_reads_the_list_without_forms_and_it_fits_a_phone(browser, demo_office, shoot):
    store = OfficeStore(demo_office.office_dir / "office.db")
    Accounts(store).add_user("subdistrict", "viewer", "viewer password 1")
    store.close()
    context = browser.new_context(viewport=PHONE, has_touch=True, locale="zh-CN")
    page = context.new_page()
    sign_in(page, demo_office, "subdistrict", "viewer password 1")
    page.goto(demo_office.url + "/quarantine")
    assert page.locator(".q-person").count() == 2
    assert page.locator("form.q-check-form").count() == 0 and page.locator("details.q-order").count() == 0
    assert "刘*" in page.locator(f"#person-{LIU}").inner_text()  # a viewer sees names masked
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    before = _checks(demo_office, LI)
    answer = page.evaluate("""async (token) => {
        const r = await fetch('/quarantine/check', {method: 'POST',
            headers: {'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json'},
            body: new URLSearchParams({csrf_token: token, order_id: '1', resident_id: '3', temperature: '36.5',
                                       method: 'phone'})});
        return [r.status, (await r.json()).code]; }""", token)
    assert answer == [403, "role_required"] and _checks(demo_office, LI) == before
    context.close()
    # staff on a phone: the forms fit too
    context = browser.new_context(viewport=PHONE, has_touch=True, locale="zh-CN")
    page = context.new_page()
    sign_in(page, demo_office)
    page.goto(demo_office.url + "/quarantine")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    shoot(page, "desk-quarantine-phone")
    context.close()
