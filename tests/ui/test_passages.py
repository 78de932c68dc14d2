"""Issue 9 at the touchscreen: direction, one passage per person, alarms that close — in chromium at 800×480.

Each case of the issue's "Why" that a volunteer sees, against ``kiosk demo --serve``:
the card goes through the replay camera, the decoder, the scanner, the passage
worker, the policy, the journal and the event stream before the page shows it.
"""

from __future__ import annotations

import time

import requests

from kiosk.events import EventKind
from kiosk.gate.journal import JournalReader
from tests.ui.conftest import PANEL
from tests.ui.helpers import (
    GREEN,
    api,
    decisions_sent,
    fill_visitor_form,
    post,
    record_screens,
    screens_shown,
    shown_celsius,
    sign_in,
    simulate,
    type_keys,
)


def passages_today(demo_gate) -> int:
    counts = api(demo_gate, "today")["counts"]
    return counts["in"] + counts["out"] + counts["refused"]


def journal_events(demo_gate, kind: EventKind) -> list:
    with JournalReader(demo_gate.directory / "gate" / "journal.db") as journal:
        return [e for e in journal.events_after(0, 100000) if e.kind is kind]


def fully_on_screen(page, selector: str) -> list[str]:
    """Every visible part of ``selector`` that is not wholly inside the 800×480 panel (empty: all in view)."""
    return page.evaluate("""([selector, w, h]) => [...document.querySelectorAll(selector + ' *')]
        .filter((e) => e.offsetParent !== null)
        .map((e) => [e.id || e.tagName + ':' + e.textContent.trim().slice(0, 12), e.getBoundingClientRect()])
        .filter(([_, r]) => r.width > 0 && (r.top < 0 || r.left < 0 || r.bottom > h || r.right > w))
        .map(([name, r]) => `${name} ${Math.round(r.left)},${Math.round(r.top)}–${Math.round(r.right)},${Math.round(r.bottom)}`)""",
                         [selector, PANEL["width"], PANEL["height"]])


# -- direction --------------------------------------------------------------------------------------------------


def test_a_quarantined_residents_first_scan_asks_and_out_is_refused(page, demo_gate, shoot):
    # 李建国's household is under a home-quarantine order; the gate has no admitted passage of his card, so it
    # cannot know whether he is coming or going: it must ask, and must never show green on a guess.
    record_screens(page)
    before = api(demo_gate, "today")["counts"]
    simulate(page, person="36.5", card="li-jianguo")
    page.wait_for_selector("body[data-screen='ask']")
    assert page.inner_text("#ask-title") == "进还是出？"
    assert "李*国" in page.inner_text("#ask-who")
    assert page.inner_text("#ask-in b") == "进" and page.inner_text("#ask-out b") == "出"
    for button in ("#ask-in", "#ask-out"):  # gloved fingers: huge
        box = page.locator(button).bounding_box()
        assert box["width"] >= 200 and box["height"] >= 100, (button, box)
    assert fully_on_screen(page, "#screen-ask") == []
    shoot(page, "ask")
    page.wait_for_timeout(1500)  # nothing is decided while the gate waits for the volunteer
    assert page.evaluate("document.body.dataset.screen") == "ask"
    assert api(demo_gate, "status")["passage"]["state"] == "asking"

    page.click("#ask-out")
    page.wait_for_selector("body[data-screen='result'] #result.deny")
    assert page.inner_text("#result-title") == "居家隔离：不得外出"
    assert page.inner_text("#result-direction") == "出"
    assert page.inner_text("#result-direction-source") == "志愿者选择"
    shoot(page, "result-quarantine")

    shown = screens_shown(page)
    assert not [s for s in shown if s["screen"] == "result" and ("admit" in s["result"] or s["background"] == GREEN)], shown
    decisions = decisions_sent(page)
    assert [d["verdict"] for d in decisions] == ["ask", "deny"], decisions
    assert decisions[0]["prompt"] == "ask_direction" and decisions[1]["direction_source"] == "volunteer"
    after = api(demo_gate, "today")["counts"]
    assert after["out"] == before["out"] and after["in"] == before["in"]  # nobody went through

    # He scans again once that passage is over. The 出 answered his question only (the next person is not taken
    # to go out), and a refused exit is no history to guess "coming in" from (the old gate took it as 进 and
    # showed green), so the gate asks again.
    page.click("#result-ok")
    page.wait_for_selector("#dir-out[aria-pressed='false']")
    assert api(demo_gate, "status")["direction"]["chosen"] is None
    page.wait_for_timeout(1000 * (api(demo_gate, "rules").get("same_card_window_s", 10) + 1))
    simulate(page, card="li-jianguo")
    page.wait_for_selector("body[data-screen='ask']")
    assert not [s for s in screens_shown(page) if s["screen"] == "result" and s["background"] == GREEN]


def test_a_quarantined_resident_coming_home_is_let_in_in_amber(page, demo_gate, shoot):
    record_screens(page)
    before = api(demo_gate, "today")["counts"]["in"]
    simulate(page, person="36.5", card="li-jianguo")
    page.wait_for_selector("body[data-screen='ask']")
    page.click("#ask-in")
    page.wait_for_selector("body[data-screen='result'] #result.caution")
    assert page.inner_text("#result-title") == "居家隔离人员返家"
    assert "请直接回家隔离" in page.inner_text("#result-todo") and "已通知" in page.inner_text("#result-todo")
    assert page.inner_text("#result-direction") == "进"
    background = page.evaluate("getComputedStyle(document.querySelector('#result')).backgroundColor")
    assert background == "rgb(242, 169, 0)"  # amber, never the plain green welcome
    shoot(page, "result-quarantine-return")
    assert not [s for s in screens_shown(page) if s["background"] == GREEN]
    assert api(demo_gate, "today")["counts"]["in"] == before + 1
    decision = decisions_sent(page)[-1]
    assert decision["verdict"] == "admit" and decision["prompt"] == "quarantine_return"


def test_the_in_out_controls_on_the_waiting_screen(page, demo_gate, shoot):
    hold = api(demo_gate, "rules")["direction_hold_s"]
    state = page.locator("#direction-state")
    assert state.inner_text().startswith("未选方向")
    for button in ("#dir-in", "#dir-out"):
        box = page.locator(button).bounding_box()
        assert box["width"] >= 150 and box["height"] >= 120, (button, box)
        assert page.locator(button).get_attribute("aria-pressed") == "false"
    assert fully_on_screen(page, "#screen-home") == []

    page.click("#dir-out")
    page.wait_for_selector("#dir-out[aria-pressed='true']")
    assert page.locator("#dir-in").get_attribute("aria-pressed") == "false"
    assert "已选“出”" in state.inner_text() and "还剩" in state.inner_text() and "取消" in state.inner_text()
    chosen = api(demo_gate, "status")["direction"]
    assert chosen["chosen"] == "out" and chosen["source"] == "volunteer" and 0 < chosen["expires_in_s"] <= hold
    shoot(page, "home-direction")

    # A passage uses the choice: 王小山 went out last in the demo, so his history alone says "coming in";
    # he goes out now, as the volunteer chose.
    simulate(page, person="36.5", card="wang-xiaoshan")
    page.wait_for_selector("body[data-screen='result'] #result.admit")
    assert page.inner_text("#result-title") == "出行平安"
    assert page.inner_text("#result-direction") == "出" and page.inner_text("#result-direction-source") == "志愿者选择"
    page.click("#result-ok")
    page.wait_for_selector("#dir-out[aria-pressed='true']")  # still chosen, renewed by the passage

    page.click("#dir-out")  # the chosen one again: cleared
    page.wait_for_selector("#dir-out[aria-pressed='false']")
    assert state.inner_text().startswith("未选方向")
    assert api(demo_gate, "status")["direction"]["chosen"] is None

    sign_in(page)  # signed in or not, the controls are there
    page.click("#dir-in")
    page.wait_for_selector("#dir-in[aria-pressed='true']")
    assert api(demo_gate, "status")["direction"]["chosen"] == "in"


# -- one passage per person ------------------------------------------------------------------------------------


def test_a_card_held_in_front_of_the_camera_for_30_s_is_one_passage(page, demo_gate):
    simulate(page, person="36.5")
    record_screens(page)
    before = passages_today(demo_gate)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # 王小山 keeps his card up: a few frames every quarter second
        requests.post(demo_gate.url + "api/v1/simulation", json={"card": "wang-xiaoshan"}, timeout=10)
        time.sleep(0.25)
    page.wait_for_timeout(1000)
    # The gate may say the decision again while the card stays in view, but it is one passage: one journal entry.
    decisions = [d for d in decisions_sent(page) if d["verdict"] not in ("remeasure", "ask")]
    assert {tuple(d["seq"]) for d in decisions} == {tuple(decisions[0]["seq"])}, decisions
    assert {(d["verdict"], d["direction"]) for d in decisions} == {("admit", "in")}  # he went out last: coming in
    assert passages_today(demo_gate) == before + 1
    titles = {s["title"] for s in screens_shown(page) if s["screen"] == "result"}
    assert "出行平安" not in titles  # never the ghost "out" a moment later


def test_a_late_step_up_is_still_measured(page, demo_gate):
    simulate(page, person="")  # nobody at the thermometer yet
    simulate(page, card="wang-xiaoshan")
    page.wait_for_selector("body[data-screen='measuring']")
    assert page.inner_text("#measure-title") == "请到测温仪前"
    page.wait_for_timeout(13000)  # longer than thermometer.step_up_wait_s (10 s)
    assert page.evaluate("document.body.dataset.screen") == "measuring"  # the screen still says what the gate does
    assert page.inner_text("#measure-title") == "请到测温仪前"
    assert api(demo_gate, "status")["passage"]["state"] == "measuring"
    simulate(page, person="36.5")  # he steps up now
    page.wait_for_selector("body[data-screen='result'] #result.admit", timeout=15000)
    assert abs(shown_celsius(page) - 36.5) <= 0.2, page.inner_text("#result-temperature")
    assert page.inner_text("#result-title") == "欢迎回家"


# -- refusals that name the real reason -------------------------------------------------------------------------


def test_refused_cards_say_why_in_plain_words(page, demo_gate, shoot):
    simulate(page, person="36.5", card="expired")  # the demo's card that ran out yesterday
    page.wait_for_selector("body[data-screen='result'] #result.deny")
    assert page.inner_text("#result-title") == "出入证已过期"
    todo = page.inner_text("#result-todo")
    assert todo.startswith("有效期至") and "年" in todo and "月" in todo and "日" in todo, todo
    assert "{" not in todo and "—" not in todo, todo  # the date was filled in
    shoot(page, "result-card-expired")
    page.click("#result-ok")
    simulate(page, card="zhang-wei-old")  # reported lost (挂失) by 张伟
    page.wait_for_selector("#result-title:has-text('出入证已挂失')")
    assert "收回" in page.inner_text("#result-todo")


# -- alarms that mean something -------------------------------------------------------------------------------


def test_acknowledging_an_alarm_takes_three_taps_with_the_form_in_view(page, demo_gate, shoot):
    sign_in(page)
    page.click("#go-alarms")
    page.wait_for_selector("#alarm-list li[data-seq]")
    # The demo's fever alarm (王丽): the outcomes offered are the ones the server lists for a fever.
    seq = str(next(a["seq"] for a in api(demo_gate, "alarms") if a["kind"] == "fever"))
    outcomes = api(demo_gate, "rules")["ack_outcomes_by_kind"]["fever"]
    assert "sent_to_observation" in outcomes and "turned_back" not in outcomes

    page.click(f"#alarm-list li[data-seq='{seq}'] button")  # tap 1: this alarm
    page.wait_for_selector("#ack-dialog:not([hidden])")
    assert fully_on_screen(page, "#ack-dialog") == []  # the whole form in view, nothing to scroll
    assert page.evaluate("document.querySelector('#ack-dialog .dialog').scrollHeight <= "
                         "document.querySelector('#ack-dialog .dialog').clientHeight")
    assert [b.inner_text() for b in page.locator("#ack-outcomes button").all()] == [
        {"remeasured_normal": "已复测正常", "sent_to_observation": "已送留观区", "called_doctor": "已联系社区医生",
         "sent_to_clinic": "已送发热门诊"}[code] for code in outcomes]
    assert page.locator("#ack-save").is_disabled()  # an outcome or a note first
    page.click("#ack-outcomes button[data-outcome='sent_to_observation']")  # tap 2: what was done
    shoot(page, "alarms")
    page.click("#ack-save")  # tap 3: confirm
    page.wait_for_selector("#toast:not([hidden])")
    assert "已处理" in page.inner_text("#toast") and "已送留观区" in page.inner_text("#toast")
    page.wait_for_selector(f"#alarm-list li[data-seq='{seq}']", state="detached")
    shoot(page, "alarm-acknowledged")
    assert int(seq) not in [a["seq"] for a in api(demo_gate, "alarms")]
    acknowledged = journal_events(demo_gate, EventKind.ALARM_ACKNOWLEDGED)[-1]
    assert acknowledged.data["alarm_seq"] == int(seq)
    assert "sent_to_observation" in str(acknowledged.data)


def test_a_handheld_confirmation_settles_the_fever_alarm(page, demo_gate):
    def fever_alarms():
        return [e for e in journal_events(demo_gate, EventKind.ALARM_RAISED)
                if e.data.get("kind") == "fever" and e.subject == "resident:1"]

    simulate(page, person="38.6", card="wang-xiaoshan")
    page.wait_for_selector("body[data-screen='fever']")
    assert len(fever_alarms()) == 1
    page.click("#fever-handheld")
    page.wait_for_selector("body[data-screen='temperature']")
    type_keys(page, "#screen-temperature", "38.4")  # the contact thermometer confirms the fever
    page.click("#temp-save")
    page.wait_for_function("document.querySelector('#fever-temperature').textContent.includes('38.4')")
    assert page.evaluate("document.body.dataset.screen") == "fever"
    assert len(fever_alarms()) == 1  # the same alarm, settled by the confirmation: not a second one
    open_fevers = [a for a in api(demo_gate, "alarms") if a["kind"] == "fever" and a["name"] == "王*山"]
    assert len(open_fevers) == 1


def test_registering_the_visitor_closes_the_walk_up_alarm(page, demo_gate, shoot):
    status, decision = post(demo_gate, "scans", {"text": None})  # someone without a card at the gate
    assert status == 200 and decision["prompt"] == "register_visitor"
    page.wait_for_selector("body[data-screen='result'] #result-register:not([hidden])")
    alarm_seq = decision["alarm_seqs"][decision["alarms"].index("unknown_visitor")]
    assert alarm_seq in [a["seq"] for a in api(demo_gate, "alarms")]
    page.click("#result-register")
    page.wait_for_selector("body[data-screen='visitor'] #v-alarm:not([hidden])")
    assert "关闭" in page.inner_text("#v-alarm")
    fill_visitor_form(page)
    page.click("#v-save")
    page.wait_for_selector("body[data-screen='result'] #result.admit")
    assert alarm_seq not in [a["seq"] for a in api(demo_gate, "alarms")]
    assert api(demo_gate, "today")["counts"]["visitors"] == 1
