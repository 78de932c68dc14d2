"""Printed cards from the desk, in a real browser against ``kiosk demo --serve``: count, print a household's cards
(the PDF downloads, is rasterised with pdftoppm and every QR read with the project's decoder and verified), reissue
a lost card (the old card is refused, the new one verifies), audit entries, errors naming the field, both layouts."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk import demo
from kiosk.cards import Rejection, verify_card
from kiosk.office import audit
from kiosk.office import card_sheets as cs
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore
from sensors.cameras import load_gray
from sensors.decoders import make_decoder
from tests.kiosk.office.test_card_sheets import PX_PER_MM, rasterise, text_in
from tests.ui_office.conftest import DESK, PHONE, sign_in

TZ = ZoneInfo(demo.TIMEZONE)


def _count(page) -> tuple[int, int, int]:
    """(cards, new, reprinted) as the shown plan says them."""
    plan = page.locator("#cards-plan")
    return tuple(int(plan.get_attribute(name) or "-1") for name in ("data-cards", "data-issue", "data-reprint"))


def _download(page, tmp_path: Path, name: str) -> Path:
    with page.expect_download() as download:
        page.click("#cards-print")
    path = tmp_path / name
    download.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF-")
    return path


def _cards_in(pdf: Path, count: int) -> list[str]:
    """The QR texts of the first ``count`` cards, each read from its own cut-out at 200 dpi, in sheet order."""
    pages = [load_gray(p) for p in rasterise(pdf)]
    decoder = make_decoder("zxing")
    texts = []
    for index in range(count):
        where = cs.placement(index)
        gray = pages[where.page]
        card = gray[round(where.y * PX_PER_MM):round((where.y + cs.CARD_H) * PX_PER_MM),
                    round(where.x * PX_PER_MM):round((where.x + cs.CARD_W) * PX_PER_MM)]
        found = decoder.decode(card)
        assert len(found) == 1, (index, found)
        texts.append(found[0])
    assert set(decoder.decode(pages[0])) == set(texts[: cs.PER_PAGE])  # the whole sheet holds exactly these
    return texts


def test_print_a_household_and_reissue_a_lost_card(desk, demo_office, tmp_path, shoot):
    registry = RegistryMaster(demo_office.office_dir / "registry.db")
    now = datetime.now(TZ)
    desk.goto(demo_office.url + "/cards")
    assert desk.locator("nav a[aria-current=page]").inner_text() == "打印出入证"
    # A household as the roster writes it: 1/1/101 is 1-1-101 (王小山, 王丽), both cards valid: reprints.
    desk.fill("#by-household input[name=household]", "1/1/101")
    desk.click("#by-household button")
    desk.wait_for_selector("#cards-plan")
    assert _count(desk) == (2, 0, 2)
    assert "将打印 2 张卡，共 1 页 A4" in desk.locator("#cards-count").inner_text()
    assert desk.locator("#cards-residents tbody tr").count() == 2
    # 王小山's expired card 1006 is not his card: 1001 is printed again (the same QR he carries).
    assert [desk.locator(f"#cards-residents tr[data-resident='{r}'] .tag").inner_text() for r in (1, 2)] == \
        ["重印卡 1001", "重印卡 1002"]
    version = registry.version
    pdf = _download(desk, tmp_path, "household.pdf")
    texts = _cards_in(pdf, 2)
    keyset = registry.keyset()
    holders = []
    for text in texts:
        check = registry.check_revocation(verify_card(text, keyset, now, TZ))
        assert check.valid, check.reason
        holders.append((check.card.card_id, check.card.subject_id))
    assert holders == [(1001, 1), (1002, 2)]
    words = text_in(pdf, 0, 0, 0, 210, 60).replace(" ", "")
    assert "王小山" in words and "1-1-101" in words and demo.COMPOUND in words and demo.COMMUNITY_NAME in words
    assert registry.version == version  # reprints change nothing

    # 张伟 lost his card: the desk shows which card goes, then revokes it and prints the new one.
    desk.fill("#by-household input[name=household]", "2-1-201")
    desk.click("#by-household button")
    desk.wait_for_selector("#cards-plan")
    [old_text] = _cards_in(_download(desk, tmp_path, "zhang-before.pdf"), 1)
    assert registry.check_revocation(verify_card(old_text, keyset, now, TZ)).valid
    desk.fill("#by-reissue input[name=resident]", "2-1-201:张伟")
    desk.click("#by-reissue button")
    desk.wait_for_selector("#cards-revoke")
    assert "1005" in desk.locator("#cards-revoke").inner_text() and _count(desk) == (1, 1, 0)
    shoot(desk, "desk-cards")
    [new_text] = _cards_in(_download(desk, tmp_path, "zhang-new.pdf"), 1)
    old = registry.check_revocation(verify_card(old_text, registry.keyset(), now, TZ))
    assert not old.valid and old.reason is Rejection.REVOKED
    assert registry.revocation(1005)["reason"] == "lost"
    new = registry.check_revocation(verify_card(new_text, registry.keyset(), now, TZ))
    assert new.valid and new.card.subject_id == 4 and new.card.card_id not in (1004, 1005)
    assert registry.version == version + 2  # the new card, then the old one revoked: two versions

    store = OfficeStore(demo_office.office_dir / "office.db")
    try:
        entries = audit.search(store, actor=demo.DESK_USER, action="cards.reissue").entries
        assert [e["target"] for e in entries] == ["reissue:2-1-201:张伟"]
        assert '"revoked_lost":[1005]' in str(entries[0]["detail"]).replace(" ", "").replace("'", '"')
        printed = audit.search(store, actor=demo.DESK_USER, action="cards.print").entries
        assert sorted(e["target"] for e in printed) == ["household:1/1/101", "household:2-1-201"]
    finally:
        store.close()
        registry.close()


def test_missing_cards_a_bad_field_and_the_count_checked_again(desk, demo_office, tmp_path):
    desk.goto(demo_office.url + "/cards")
    desk.click("#by-missing button")
    assert "无需打印" in desk.locator("#cards-nothing").inner_text()  # everyone in the demo has a card
    desk.fill("#by-building input[name=building]", "9")
    desk.click("#by-building button")
    assert desk.locator("#cards-message").inner_text() == "楼栋：登记册中没有 9 号楼"
    desk.fill("#by-resident input[name=resident]", "1-1-101:没有此人")
    desk.click("#by-resident button")
    assert desk.locator("#cards-message").inner_text().startswith("居民：登记册中没有")
    # A new resident appears between the count and the print: the print is refused with the new count.
    desk.fill("#by-household input[name=household]", "1号楼1单元101室")
    desk.click("#by-household button")
    desk.wait_for_selector("#cards-plan")
    assert _count(desk) == (2, 0, 2)
    with RegistryMaster(demo_office.office_dir / "registry.db") as registry:
        registry.upsert("residents", {"id": 90, "household_id": 1, "name": "王小雨", "phone_masked": ""})
    desk.click("#cards-print")
    desk.wait_for_selector("#cards-message")
    assert re.search(r"现在需打印 3 张卡，而不是先前显示的 2 张", desk.locator("#cards-message").inner_text())
    assert _count(desk) == (3, 1, 2)
    texts = _cards_in(_download(desk, tmp_path, "with-newcomer.pdf"), 3)
    with RegistryMaster(demo_office.office_dir / "registry.db") as registry:
        checks = [verify_card(t, registry.keyset(), datetime.now(TZ), TZ) for t in texts]
        assert all(c.valid for c in checks) and sorted(c.card.subject_id for c in checks) == [1, 2, 90]
        assert registry.cards_of("resident", 90)[0]["id"] in {c.card.card_id for c in checks}


def test_the_cards_page_fits_an_office_pc_and_a_phone(browser, demo_office):
    for viewport in (DESK, PHONE):
        context = browser.new_context(viewport=viewport, has_touch=viewport is PHONE, locale="zh-CN")
        page = context.new_page()
        sign_in(page, demo_office)
        for path in ("/cards", "/cards?by=compound&compound=" + demo.COMPOUND, "/cards?by=reissue&resident=1"):
            page.goto(demo_office.url + path)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, (viewport, path, overflow)
        assert page.locator("#cards-plan").is_visible()
        context.close()
