"""What a volunteer does at the touchscreen, in a real browser against a real simulated gate (800×480).

Cards are shown to the replay camera from the page's simulation panel, so each
scan goes through the decoder, the scanner, the policy, the journal and the
event stream before it reaches the page.
"""

from __future__ import annotations

import requests

from tests.ui.conftest import PANEL
from tests.ui.helpers import VALID_ID, api, hanzi_pairs, simulate, type_hanzi, type_keys


def test_card_scan_admits_with_the_name_masked(page, demo_gate, shoot):
    shoot(page, "home")
    before = api(demo_gate, "today")["counts"]["in"]
    simulate(page, person="36.5", card="wang-xiaoshan")  # 王小山's last passage was out: he is coming in
    page.wait_for_selector("body[data-screen='result'] #result.admit")
    assert page.inner_text("#result-title") == "欢迎回家"
    assert page.inner_text("#result-name") == "王*山" and page.inner_text("#result-household") == "1-1-101"
    assert "36." in page.inner_text("#result-temperature")
    assert "王小山" not in page.content()  # the full name never reaches the screen
    shoot(page, "result-admit")
    assert api(demo_gate, "today")["counts"]["in"] == before + 1


def test_fever_is_remeasured_alarmed_and_acknowledged(page, demo_gate, shoot):
    simulate(page, person="38.6", card="wang-xiaoshan")
    page.wait_for_selector("#measure-title:has-text('体温偏高：正在复测')")  # the first high reading: measure again
    shoot(page, "measuring")
    page.wait_for_selector("body[data-screen='fever']")
    # the simulated sensor is 38.6 °C with a little read noise (as a real MLX90614): the shown reading is within 0.1
    shown = float(page.inner_text("#fever-temperature").replace("°C", "").strip())
    assert abs(shown - 38.6) <= 0.1 and "王*山" in page.inner_text("#fever-who")
    shoot(page, "fever")
    fever = [a for a in api(demo_gate, "alarms") if a["kind"] == "fever" and a["detail"]["temperature_c"] > 38]
    assert len(fever) == 1  # (the demo script left 王丽's 37.6 °C alarm open too)

    page.click("#fever-ack")  # straight to this alarm's acknowledgement
    page.wait_for_selector("body[data-screen='alarms'] #ack-dialog:not([hidden])")
    assert "发热" in page.inner_text("#ack-title") and "王*山" in page.inner_text("#ack-title")
    page.click("#ack-outcomes button:has-text('已送留观区')")
    page.click("#ack-save")
    page.wait_for_selector("#ack-error:has-text('请先签到：报警由值班志愿者处理')")  # nobody on duty yet

    page.click("#ack-sign-in")  # signing in from the dialog comes back to the same alarm
    page.click("#volunteer-names button:has-text('赵志愿')")
    type_keys(page, "#sign-in", "2468✓")
    page.wait_for_selector("#volunteer-chip.on")
    assert "赵志愿" in page.inner_text("#volunteer-label")
    page.wait_for_selector("body[data-screen='alarms'] #ack-dialog:not([hidden])")
    assert "王*山" in page.inner_text("#ack-title")
    page.click("#ack-outcomes button:has-text('已联系社区医生')")
    page.click("#ack-save")
    page.wait_for_selector("#toast:not([hidden])")
    assert "已联系社区医生" in page.inner_text("#toast")
    page.wait_for_selector(f"#alarm-list li[data-seq='{fever[0]['seq']}']", state="detached")
    assert fever[0]["seq"] not in [a["seq"] for a in api(demo_gate, "alarms")]


def test_a_handheld_reading_settles_a_fever(page, demo_gate):
    simulate(page, person="38.6", card="wang-xiaoshan")
    page.wait_for_selector("body[data-screen='fever']")
    page.click("#fever-handheld")
    page.wait_for_selector("body[data-screen='temperature']")
    assert page.locator("#screen-temperature .toggle button.on").inner_text() == "体温计（接触式）"
    type_keys(page, "#screen-temperature", "36.8")
    page.click("#temp-save")
    page.wait_for_selector("body[data-screen='result'] #result.admit")
    assert "36.8" in page.inner_text("#result-temperature")


def test_thermometer_down_shows_and_a_typed_reading_decides(page, demo_gate):
    simulate(page, unplug=True)
    page.wait_for_selector("#fault-banner:not([hidden])")
    assert "测温仪故障" in page.inner_text("#fault-banner")
    assert "测温仪故障" in page.inner_text("#chips")
    simulate(page, card="wang-xiaoshan")
    page.wait_for_selector("body[data-screen='result'] #result.refer")  # three faulty readings: measure by hand
    assert page.inner_text("#result-title") == "志愿者：请用体温计测量"
    page.click("#result-handheld")
    type_keys(page, "#screen-temperature", "36.6")
    page.click("#temp-save")
    page.wait_for_selector("body[data-screen='result'] #result.admit")
    faults = requests.get(demo_gate.url + "api/v1/status", timeout=10).json()["faults"]
    assert "thermometer" in faults


def test_visitor_registration(page, demo_gate, shoot):
    page.click("#go-visitor")
    assert page.locator("#v-alarm").is_hidden()  # no walk-up just now: no alarm to close
    type_hanzi(page, "#v-name", hanzi_pairs("孙来访"))  # readonly: typed on the on-screen hanzi keyboard
    page.click("#v-phone")
    type_keys(page, "#pad-overlay", "13800138000")
    page.click("#pad-ok")
    page.click("#v-id")
    type_keys(page, "#pad-overlay", VALID_ID)
    assert page.inner_text("#pad-display") == "110***********002X"  # masked while typed
    page.click("#pad-ok")
    type_hanzi(page, "#v-from", hanzi_pairs("朝阳区"))
    page.click("#v-host")
    page.click("#host-options button[data-value='2']")
    page.click("#host-options button[data-value='1']")
    page.click("#host-options button[data-value='201']")
    assert page.inner_text("#v-host-label") == "2-1-201"
    page.click("#v-reason button:has-text('探亲')")
    page.click("[data-pad-for='v-temp']")
    type_keys(page, "#pad-overlay", "36")
    page.click("#pad-overlay .keypad button[data-key='X']")  # the decimal point on the temperature pad
    type_keys(page, "#pad-overlay", "4")
    page.click("#pad-ok")
    shoot(page, "visitor")
    with page.expect_request("**/api/v1/visitors") as sent:
        page.click("#v-save")
    assert sent.value.post_data_json["reason"] == "visiting_family"  # the code, never the button's words (探亲)
    page.wait_for_selector("body[data-screen='result'] #result.admit")
    assert page.inner_text("#result-name") == "孙*访" and page.inner_text("#result-household") == "2-1-201"
    assert "访客" in page.inner_text("#result-verdict")
    today = api(demo_gate, "today")
    assert today["counts"]["visitors"] == 1
    assert "visiting_family" in api(demo_gate, "rules")["visitor_reasons"]
    assert VALID_ID not in requests.get(demo_gate.url + "api/v1/today", timeout=10).text


def test_vehicle_with_the_plate_keyboard(page, demo_gate, shoot):
    page.click("[data-go='vehicle']")
    assert page.locator("#plate-alnum").is_hidden()  # provinces first
    page.click("#plate-provinces button[data-key='京']")
    assert page.locator("#plate-provinces").is_hidden()
    for key in "A12345":
        page.click(f"#plate-alnum button[data-key='{key}']")
    assert page.inner_text("#plate") == "京A·12345"
    simulate(page, person="36.5", card="wang-xiaoshan")  # the driver shows his card: the form stays
    page.wait_for_selector("#vehicle-driver:has-text('王*山 1-1-101')")
    assert page.evaluate("document.body.dataset.screen") == "vehicle"
    page.click("#pass-plus")
    page.click("#disinfected")
    shoot(page, "vehicle")
    page.click("#vehicle-save")
    page.wait_for_selector("body[data-screen='result'] #result.admit")
    assert page.inner_text("#result-name") == "京A12345"
    assert "车辆" in page.inner_text("#result-verdict")
    vehicle = [p for p in api(demo_gate, "today")["recent"] if p["kind"] == "vehicle"][0]
    assert vehicle["plate"] == "京A12345"
    from kiosk.events import EventKind
    from kiosk.gate.journal import JournalReader

    with JournalReader(demo_gate.directory / "gate" / "journal.db") as journal:
        event = journal.latest((EventKind.VEHICLE,))
    assert event.data["driver"] == "resident:1" and event.data["passengers"] == 1 and event.data["disinfected"]


def test_pin_lockout_after_five_wrong_tries(page, demo_gate, shoot):
    page.click("#volunteer-chip")
    page.click("#volunteer-names button:has-text('赵志愿')")
    for left in (4, 3, 2, 1):
        type_keys(page, "#sign-in", "1111✓")
        page.wait_for_selector(f"#pin-error:has-text('还可尝试 {left} 次')")
    type_keys(page, "#sign-in", "1111✓")
    page.wait_for_selector("#pin-error:has-text('锁定至')")
    type_keys(page, "#sign-in", "2468✓")  # even the right PIN is refused while locked out
    page.wait_for_selector("#pin-error:has-text('锁定至')")
    assert not page.locator("#volunteer-chip.on").count()
    shoot(page, "volunteer-locked")


def test_language_switch_and_back(page, demo_gate, shoot):
    assert page.inner_text("#screen-home h1") == "请出示出入证"
    page.click("#lang-switch")
    page.wait_for_selector("body[data-live='1']")
    assert page.inner_text("#screen-home h1") == "Show your entry card"
    assert page.locator("html").get_attribute("lang") == "en"
    shoot(page, "home-en")
    page.click("#lang-switch")
    page.wait_for_selector("body[data-live='1']")
    assert page.inner_text("#screen-home h1") == "请出示出入证"


def test_today_screen_counts_and_touch_targets(page, demo_gate, shoot):
    page.click("[data-go='today']")
    page.wait_for_selector("#recent li")
    counts = api(demo_gate, "today")["counts"]
    assert page.inner_text("#count-in") == str(counts["in"]) and page.inner_text("#count-refused") == str(counts["refused"])
    shoot(page, "today")
    # Gloved fingers: every visible button on every screen is at least 48 px in both directions.
    page.evaluate("showAsk({name: '李*国', household: '1-1-102'})")  # 进还是出？ (its buttons are checked here too)
    for screen in ("ask", "home", "today", "visitor", "vehicle", "volunteer", "alarms", "temperature"):
        if screen != "ask":
            page.evaluate(f"show('{screen}')")
        small = page.evaluate("""() => [...document.querySelectorAll('button, a.chip')]
            .filter((b) => b.offsetParent !== null && !b.closest('.sim'))
            .map((b) => [b.textContent.trim(), b.getBoundingClientRect()])
            .filter(([_, r]) => r.width < 48 || r.height < 48).map(([t, r]) => `${t} ${r.width}x${r.height}`)""")
        assert small == [], f"{screen}: {small}"
        overflow = page.evaluate("() => document.documentElement.scrollWidth")
        assert overflow <= PANEL["width"], f"{screen} is wider than the panel"
        action = page.locator(f"#screen-{screen} > .primary.wide")
        if action.count():  # the screen's main action stays on the panel (sticky at its foot)
            box = action.bounding_box()
            assert box is not None and box["y"] + box["height"] <= PANEL["height"], screen


def test_the_1024x600_panel_fits_every_screen(browser, demo_gate):
    context = browser.new_context(viewport={"width": 1024, "height": 600}, has_touch=True)
    page = context.new_page()
    page.goto(demo_gate.url)
    page.wait_for_selector("body[data-live='1']")
    for screen in ("ask", "home", "today", "visitor", "vehicle", "volunteer", "alarms", "temperature"):
        page.evaluate("showAsk({})" if screen == "ask" else f"show('{screen}')")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 1024, screen
        # the screen's main action is on the panel without scrolling
        action = page.locator(f"#screen-{screen} > .primary.wide")
        if action.count():
            box = action.bounding_box()
            assert box is not None and box["y"] + box["height"] <= 600, screen
    context.close()


def test_the_unstaffed_banner_follows_the_status(page, demo_gate, shoot):
    """status.unstaffed_since (set once nobody has been signed in for alarms.unstaffed_after_s) shows a banner
    with how long, beside the fault banner, on the 800×480 panel; null or absent hides it. Fed the gate's own
    status with the field set, as a status event would bring it."""
    status = api(demo_gate, "status")
    assert page.locator("#unstaffed-banner").is_hidden()
    twelve_minutes_ago = "new Date(Date.now() - 12 * 60000 - 5000).toISOString()"
    page.evaluate(f"(s) => renderStatus({{...s, unstaffed_since: {twelve_minutes_ago}}})", status)
    page.wait_for_selector("#unstaffed-banner:not([hidden])")
    text = page.inner_text("#unstaffed-banner")
    assert "无人值守：请志愿者签到" in text and "12分" in text, text
    simulate(page, unplug=True)  # a fault as well: both banners, and every screen still fits the panel
    page.wait_for_selector("#fault-banner:not([hidden])")
    page.evaluate(f"(s) => renderStatus({{...s, unstaffed_since: {twelve_minutes_ago}}})", api(demo_gate, "status"))
    shoot(page, "unstaffed-banner")
    for screen in ("home", "visitor", "vehicle", "temperature"):
        page.evaluate(f"show('{screen}')")
        # Set and looked at in one turn of the page's script: the gate's own status event (every second, without
        # the field) cannot come in between and hide the banner again.
        seen = page.evaluate("""([s, screen]) => {
            renderStatus({...s, unstaffed_since: new Date(Date.now() - 12 * 60000 - 5000).toISOString()});
            const shown = (id) => { const e = document.getElementById(id); return !e.hidden && e.getClientRects().length > 0; };
            const action = document.querySelector(`#screen-${screen} > .primary.wide`);
            const box = action ? action.getBoundingClientRect() : null;
            return {fault: shown("fault-banner"), unstaffed: shown("unstaffed-banner"),
                    width: document.documentElement.scrollWidth, bottom: box ? box.bottom : null}; }""",
                             [api(demo_gate, "status"), screen])
        assert seen["fault"] and seen["unstaffed"], (screen, seen)
        assert seen["width"] <= PANEL["width"], screen
        assert seen["bottom"] is None or seen["bottom"] <= PANEL["height"], screen
    page.evaluate("(s) => renderStatus({...s, unstaffed_since: null})", status)
    assert page.locator("#unstaffed-banner").is_hidden()
    page.evaluate(f"(s) => renderStatus({{...s, unstaffed_since: {twelve_minutes_ago}}})", status)
    page.evaluate("(s) => { const t = {...s}; delete t.unstaffed_since; renderStatus(t); }", status)
    assert page.locator("#unstaffed-banner").is_hidden()  # a gate that does not send the field: no banner
