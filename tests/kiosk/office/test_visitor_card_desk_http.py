"""A visitor pass's card from the desk over real HTTP (web.serving): added at the desk, its QR shown on screen and
printed as one card on A4; the PDF rasterised with pdftoppm, its QR read with the gate's decoder and verified. A
revoked or ended pass has no QR (409, in Chinese); a viewer gets neither; GETs change nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import segno

from kiosk import demo
from kiosk.cards import CardKind, verify_card
from kiosk.office import audit
from sensors.cameras import load_gray
from sensors.decoders import make_decoder
from tests.kiosk.office.test_card_sheets import rasterise, text_in
from tests.kiosk.office.test_cards_desk_http import NOW, CardsDesk

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def desk(tmp_path):
    desk = CardsDesk(tmp_path)
    yield desk
    desk.close()


def _add_pass(desk, browser, csrf, name="林访客"):
    start = NOW.replace(second=0, microsecond=0)
    end = start + timedelta(hours=3)
    answer = browser.post(desk.url + "/people/visitors/new", allow_redirects=False, data={
        "csrf_token": csrf, "name": name, "phone": "139 0000 2222", "host": "1-1-101", "reason": "探亲",
        "valid_from": start.strftime("%Y-%m-%dT%H:%M"), "valid_until": end.strftime("%Y-%m-%dT%H:%M")})
    assert answer.status_code == 303, answer.text[-2000:]
    found = re.search(r"/people/visitors/(\d+)/card\?saved=\d+$", answer.headers["Location"])
    assert found, answer.headers["Location"]
    return int(found.group(1)), answer.headers["Location"], start, end


def _problem(page: str) -> str:
    found = re.search(r'id="visitor-card-problem">([^<]*)<', page)
    return found.group(1) if found else ""


def test_a_new_pass_shows_its_qr_and_prints_one_verified_card(desk, tmp_path):
    browser, csrf = desk.signed_in()
    pass_id, location, start, end = _add_pass(desk, browser, csrf)
    [card] = desk.master.cards_of("visitor", pass_id)
    version, audited = desk.master.version, len(audit.search(desk.store).entries)

    page = browser.get(location if location.startswith("http") else desk.url + location)
    assert page.status_code == 200 and 'id="registry-saved"' in page.text and page.headers["Cache-Control"] == "no-store"
    assert 'id="visitor-qr"' in page.text and f'id="visitor-card-number">{card["id"]}<' in page.text
    listed = browser.get(desk.url + "/people/visitors").text
    assert f'href="/people/visitors/{pass_id}/card"' in listed
    assert (desk.master.version, len(audit.search(desk.store).entries)) == (version, audited)  # GETs change nothing

    pdf = browser.post(desk.url + f"/people/visitors/{pass_id}/card.pdf", data={"csrf_token": csrf})
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf", pdf.text[:1000]
    assert "attachment" in pdf.headers["Content-Disposition"] and pdf.headers["Cache-Control"] == "no-store"
    path = tmp_path / "visitor.pdf"
    path.write_bytes(pdf.content)
    [sheet] = rasterise(path)  # one A4 page
    decoder = make_decoder("zxing")
    [text] = decoder.decode(load_gray(sheet))
    check = desk.master.check_revocation(verify_card(text, desk.master.keyset(), NOW, NOW.tzinfo))
    assert check.valid, check.reason
    assert check.card is not None
    assert (check.card.kind, check.card.card_id, check.card.subject_id) == (CardKind.VISITOR, card["id"], pass_id)
    # the very text the add wrote as PNG (as the CLI's --out), and the very QR the screen shows
    [png] = (desk.community.office_dir / "cards").glob(f"*_card-{card['id']}.png")
    assert decoder.decode(load_gray(png)) == [text]
    shown = segno.make(text, error="q", boost_error=False, micro=False).svg_inline(
        scale=4, border=4, dark="#000", light="#fff", omitsize=True)
    assert shown in page.text
    words = text_in(path, 0, 0, 0, 210, 80).replace(" ", "")
    for expected in ("林访客", "1-1-101", str(card["id"]), f"{start:%H:%M}", f"{end:%H:%M}", "访客通行证"):
        assert expected in words, (expected, words)
    [entry] = audit.search(desk.store, action="registry.visitor_card").entries
    assert entry["actor"] == demo.DESK_USER and entry["detail"]["card"] == card["id"]
    assert entry["target"] == f"visitor:{pass_id}" and desk.master.version == version


def test_a_revoked_or_ended_pass_has_no_qr(desk):
    browser, csrf = desk.signed_in()
    pass_id, *_ = _add_pass(desk, browser, csrf)
    revoked = browser.post(desk.url + f"/people/visitors/{pass_id}/remove", data={"csrf_token": csrf},
                           allow_redirects=False)
    assert revoked.status_code == 303
    page = browser.get(desk.url + f"/people/visitors/{pass_id}/card")
    assert page.status_code == 409 and _problem(page.text) == "这张通行证已停用，没有二维码"
    assert "<svg" not in page.text and 'id="visitor-card-print"' not in page.text
    pdf = browser.post(desk.url + f"/people/visitors/{pass_id}/card.pdf", data={"csrf_token": csrf})
    assert pdf.status_code == 409 and _problem(pdf.text) == "这张通行证已停用，没有二维码"
    assert f'href="/people/visitors/{pass_id}/card"' not in browser.get(desk.url + "/people/visitors").text

    other, *_ = _add_pass(desk, browser, csrf, name="过期访客")
    row = next(p for p in desk.master.snapshot()["visitor_passes"] if p["id"] == other)
    desk.master.upsert("visitor_passes", {**row, "valid_from": (NOW - timedelta(hours=5)).isoformat(),
                                          "valid_until": (NOW - timedelta(hours=1)).isoformat()})
    english, _ = desk.signed_in(lang="en")
    page = english.get(desk.url + f"/people/visitors/{other}/card")
    assert page.status_code == 409 and _problem(page.text) == "This pass has ended: it has no QR code"
    assert browser.get(desk.url + "/people/visitors/99999/card").status_code == 404
    assert audit.search(desk.store, action="registry.visitor_card").entries == []


def test_a_viewer_and_a_forged_post_get_no_card(desk):
    staff, csrf = desk.signed_in()
    pass_id, *_ = _add_pass(desk, staff, csrf)
    viewer, viewer_csrf = desk.signed_in("sub", "viewer password 1")
    assert viewer.get(desk.url + f"/people/visitors/{pass_id}/card").status_code == 403
    pdf = viewer.post(desk.url + f"/people/visitors/{pass_id}/card.pdf", data={"csrf_token": viewer_csrf})
    assert pdf.status_code == 403 and not pdf.content.startswith(b"%PDF")
    listed = viewer.get(desk.url + "/people/visitors")
    assert listed.status_code == 200 and "visitor-qr-link" not in listed.text
    forged = staff.post(desk.url + f"/people/visitors/{pass_id}/card.pdf")  # no CSRF token
    assert forged.status_code == 403
    assert audit.search(desk.store, action="registry.visitor_card").entries == []
