"""The clock banner on the 800×480 panel: shown, Chinese first, while the gate's status says its clock is not trusted
(kiosk.gate.clock), hidden when trusted or when an older gate sends no clock at all."""

from __future__ import annotations

from tests.ui.conftest import PANEL
from tests.ui.helpers import api


def test_the_clock_banner_follows_the_status(page, demo_gate, shoot):
    status = api(demo_gate, "status")
    assert status["clock"] == {"trust": "trusted", "trusted": True}  # a simulated gate: the PC keeps its time
    assert page.locator("#clock-banner").is_hidden()
    for code, words in (("behind_journal", "比台账最后一条记录还早"), ("off_office", "与社区办公室时间相差太大"),
                        ("unsynchronised", "未对时")):
        # set and read in one turn of the page's script: the gate's own status event cannot come in between
        seen = page.evaluate("""([s, code]) => {
            renderStatus({...s, clock: {trust: code, trusted: false}});
            const banner = document.getElementById('clock-banner');
            return {hidden: banner.hidden, text: banner.innerText, trust: banner.dataset.trust}; }""", [status, code])
        assert not seen["hidden"] and seen["trust"] == code, seen
        assert "时钟不可信" in seen["text"] and words in seen["text"] and "请联系社区办公室" in seen["text"], seen
    seen = page.evaluate("""(s) => {
        renderStatus({...s, clock: {trust: 'behind_journal', trusted: false}});
        const box = document.getElementById('clock-banner').getBoundingClientRect();
        return {width: document.documentElement.scrollWidth, right: box.right}; }""", status)
    assert seen["width"] <= PANEL["width"] and seen["right"] <= PANEL["width"], seen
    shoot(page, "clock-banner")
    page.evaluate("(s) => renderStatus({...s, clock: {trust: 'trusted', trusted: true}})", status)
    assert page.locator("#clock-banner").is_hidden()
    page.evaluate("(s) => { const t = {...s}; delete t.clock; renderStatus(t); }", status)
    assert page.locator("#clock-banner").is_hidden()
