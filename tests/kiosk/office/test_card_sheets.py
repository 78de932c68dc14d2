"""Printed cards: the PDF is rasterised with pdftoppm and every QR read back with the gate's own decoder."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from kiosk import demo
from kiosk.cards import Rejection, verify_card
from kiosk.cli.officecmd import office
from kiosk.keys import load_signing_key
from kiosk.office import card_sheets as cs
from kiosk.office.compounds import office_compound
from kiosk.office.registry_master import RegistryMaster
from sensors.cameras import load_gray
from sensors.decoders import make_decoder

TZ = ZoneInfo(demo.TIMEZONE)
DPI = 200
PX_PER_MM = DPI / 25.4
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=TZ)


@pytest.fixture
def community(tmp_path):
    return demo.seed(tmp_path / "demo", NOW)


def rasterise(pdf: Path) -> list[Path]:
    prefix = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-png", str(pdf), str(prefix)], check=True)
    return sorted(pdf.parent.glob(prefix.name + "-*.png"))


def page_size_mm(pdf: Path) -> tuple[float, float]:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    line = next(x for x in info.splitlines() if x.startswith("Page size:"))
    width, _, height = line.split(":", 1)[1].split()[:3]
    return float(width) * 25.4 / 72, float(height) * 25.4 / 72


def text_in(pdf: Path, page: int, x: float, y: float, w: float, h: float) -> str:
    """The text pdftotext finds in a rectangle (mm) of a page: what the font embedding lets a reader extract."""
    px = 72 / 25.4
    out = subprocess.run(["pdftotext", "-f", str(page + 1), "-l", str(page + 1), "-r", "72",
                          "-x", str(int(x * px)), "-y", str(int(y * px)), "-W", str(int(w * px)),
                          "-H", str(int(h * px)), str(pdf), "-"], check=True, capture_output=True, text=True)
    return out.stdout


def check_sheets(pdf: Path, faces: list[cs.CardFace], keyset) -> None:
    """Every card's QR read with the project's decoder from the 200 dpi raster, verified, its holder matching."""
    assert page_size_mm(pdf) == pytest.approx((210.0, 297.0), abs=0.1)
    pages = rasterise(pdf)
    assert len(pages) == -(-len(faces) // cs.PER_PAGE)
    decoder = make_decoder("zxing")
    grays = [load_gray(p) for p in pages]
    for number, gray in enumerate(grays):  # the whole sheet, as a scanner would see it
        on_page = {f.text for i, f in enumerate(faces) if cs.placement(i).page == number}
        assert set(decoder.decode(gray)) == on_page
    quiet = 4 * cs.QR_MM / 45  # a version-7 symbol's 4-module quiet zone
    for index, face in enumerate(faces):
        where = cs.placement(index)
        gray = grays[where.page]
        # The card alone, cut out along its cut lines: exactly one code, this card's.
        card = gray[round(where.y * PX_PER_MM):round((where.y + cs.CARD_H) * PX_PER_MM),
                    round(where.x * PX_PER_MM):round((where.x + cs.CARD_W) * PX_PER_MM)]
        texts = decoder.decode(card)
        assert texts == [face.text]
        check = verify_card(texts[0], keyset, NOW, TZ)
        assert check.valid, check.reason
        assert check.card is not None
        assert (check.card.card_id, check.card.subject_id) == (face.card_id, face.resident_id)
        # The printed symbol's size, measured on the raster: the dark pixels inside the QR's quiet zone.
        box = gray[round((where.qr_y - quiet / 2) * PX_PER_MM):round((where.qr_y + where.qr_size + quiet / 2) * PX_PER_MM),
                   round((where.qr_x - quiet / 2) * PX_PER_MM):round((where.qr_x + where.qr_size + quiet / 2) * PX_PER_MM)]
        rows, cols = (box < 128).any(axis=1).nonzero()[0], (box < 128).any(axis=0).nonzero()[0]
        width_mm = (cols[-1] - cols[0] + 1) / PX_PER_MM
        height_mm = (rows[-1] - rows[0] + 1) / PX_PER_MM
        assert width_mm >= 30 and height_mm >= 30
        assert width_mm == pytest.approx(cs.QR_MM, abs=0.3) and height_mm == pytest.approx(cs.QR_MM, abs=0.3)
        # The holder, household, number and dates are printed on this card (real text in the embedded font).
        words = text_in(pdf, where.page, where.x, where.y, cs.CARD_W, cs.CARD_H)
        for expected in (face.name, face.household, str(face.card_id), f"{face.valid_until:%Y-%m-%d}",
                         cs.DEFAULT_RULE, demo.COMMUNITY_NAME):
            assert expected in words.replace(" ", ""), (expected, words)


def test_demo_residents_print_decode_and_verify(community, tmp_path):
    key = load_signing_key(community.keys_dir)
    with RegistryMaster(community.office_dir / "registry.db") as master:
        # One newcomer without a card: prepare_cards issues one, as a registry version.
        master.upsert("residents", {"id": 50, "household_id": 1, "name": "欧阳娜娜", "phone_masked": ""})
        before = master.version
        residents = cs.select_residents(master, building="1", today=NOW.date())
        assert [r["household_id"] for r in residents] == [1, 1, 1, 2, 4, 4, 10]
        job = cs.prepare_cards(master, key, residents, tz=TZ, out_dir=tmp_path / "png", now=NOW)
        assert [i.card.subject_id for i in job.issued] == [50] and master.version == before + 1
        assert master.cards_of("resident", 50)[0]["id"] == job.issued[0].card.card_id
        # A reprint is the very card the holder has: same number, same QR text.
        for face in job.faces:
            if face.resident_id in community.resident_cards:
                assert face.text == community.resident_cards[face.resident_id]
        faces = job.faces * 2  # 14 cards: a full sheet and a second one
        pdf = tmp_path / "cards.pdf"
        pdf.write_bytes(cs.render_pdf(faces, community_name=demo.COMMUNITY_NAME, compound_name=demo.COMPOUND))
        keyset = master.keyset()
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert "WenQuanYiMicroHei" in fonts and "yes yes yes" in " ".join(fonts.split())  # embedded, subset, unicode
    assert pdf.stat().st_size < 200_000  # a subset, not the 5 MB font
    check_sheets(pdf, faces, keyset)


def test_reissue_revokes_the_lost_card(community, tmp_path):
    key = load_signing_key(community.keys_dir)
    with RegistryMaster(community.office_dir / "registry.db") as master:
        residents = cs.select_residents(master, resident_id=4, today=NOW.date())
        job = cs.prepare_cards(master, key, residents, tz=TZ, out_dir=tmp_path, reissue=True, now=NOW)
        assert job.revoked_lost == [1005]
        assert master.revocation(1005)["reason"] == "lost"
        new = job.faces[0]
        assert new.card_id not in (1004, 1005) and not master.is_revoked(new.card_id)
        old = master.check_revocation(verify_card(community.resident_cards[4], master.keyset(), NOW, TZ))
        assert old.reason is Rejection.REVOKED
        pdf = tmp_path / "reissue.pdf"
        pdf.write_bytes(cs.render_pdf(job.faces, community_name=demo.COMMUNITY_NAME))
        check_sheets(pdf, job.faces, master.keyset())


def test_missing_and_expiring_cards_are_renewed(community, tmp_path):
    key = load_signing_key(community.keys_dir)
    with RegistryMaster(community.office_dir / "registry.db") as master:
        master.upsert("residents", {"id": 60, "household_id": 3, "name": "新住户", "phone_masked": ""})
        ending = (NOW.date() + timedelta(days=10)).isoformat()
        master.upsert("cards", {**master.card(1116), "valid_until": ending})  # 马超's card ends in 10 days
        assert [r["id"] for r in cs.select_residents(master, missing=True, today=NOW.date())] == [60]
        chosen = cs.select_residents(master, missing=True, expiring_days=30, today=NOW.date())
        assert sorted(r["id"] for r in chosen) == [16, 60]
        job = cs.prepare_cards(master, key, chosen, tz=TZ, out_dir=tmp_path, renew_within_days=30, now=NOW)
        assert len(job.issued) == 2 and not job.reprinted
        assert not master.is_revoked(1116)  # the expiring card stays valid to its end
        assert cs.select_residents(master, missing=True, expiring_days=30, today=NOW.date()) == []


def test_choices_and_bounds(community, tmp_path):
    key = load_signing_key(community.keys_dir)
    with RegistryMaster(community.office_dir / "registry.db") as master:
        with pytest.raises(cs.CardSheetError, match="exactly one"):
            cs.select_residents(master, building="1", missing=True, today=NOW.date())
        with pytest.raises(cs.CardSheetError, match="no building"):
            cs.select_residents(master, building="9", today=NOW.date())
        assert len(cs.select_residents(master, building="3号楼", today=NOW.date())) == 6
        for label in ("3-1-101", "3/1/101", "3号楼1单元101室", "3栋1单元101"):
            assert cs.household_of(master, label)["id"] == 7
        with pytest.raises(cs.CardSheetError, match="no cards"):
            cs.prepare_cards(master, key, [], tz=TZ, out_dir=tmp_path)


def test_missing_font_names_the_package(tmp_path):
    face = cs.CardFace(1, 1, "王小山", "1-1-101", NOW.date(), NOW.date(), "GK1:X")
    with pytest.raises(cs.CardSheetError, match="fonts-wqy-microhei"):
        cs.render_pdf([face], community_name="x", font_path=tmp_path / "no-such.ttc")


def test_cli_prints_a_household_end_to_end(community, tmp_path):
    config = tmp_path / "office.yaml"
    config.write_text(f"office:\n  name: {demo.COMMUNITY_NAME}\n  data_dir: {community.office_dir}\n"
                      f"  keys_dir: {community.keys_dir}\n", encoding="utf-8")
    out = tmp_path / "household.pdf"
    result = CliRunner().invoke(office, ["cards", "print", "--household", "1/1/101", "--out", str(out),
                                         "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"已打印 2 张卡，共 1 页 / 2 card(s) on 1 page(s): {out}"
    with RegistryMaster(community.office_dir / "registry.db") as master:
        keyset = master.keyset()
    faces = [cs.CardFace(card_id, rid, name, "1-1-101", NOW.date() - timedelta(days=30),
                         NOW.date() + timedelta(days=364), community.resident_cards[rid])
             for card_id, rid, name in ((1001, 1, "王小山"), (1002, 2, "王丽"))]
    check_sheets(out, faces, keyset)
    assert demo.COMPOUND in text_in(out, 0, 0, 0, 210, 60)  # the gates' one compound, from office.db

    def run(*args):
        return CliRunner().invoke(office, ["cards", "print", *args, "--config", str(config)])

    nobody = run("--missing", "--out", str(tmp_path / "none.pdf"))
    assert nobody.exit_code == 0 and "nothing to print" in nobody.output and not (tmp_path / "none.pdf").exists()
    lost = run("--resident", "2-1-201:张伟", "--reissue", "--out", str(tmp_path / "lost.pdf"), "--json")
    assert lost.exit_code == 0 and '"revoked_lost": [1005]' in lost.output
    for args, message in ((["--building", "1", "--missing"], "exactly one"),
                          (["--compound", "东区"], "no compound '东区'"),
                          (["--out", str(tmp_path / "x.pdf")], "exactly one"),
                          (["--building", "9"], "no building '9'"),
                          (["--household", "9-9-9"], "no household"),
                          (["--building", "1", "--expiring-days", "3"], "goes with --missing"),
                          (["--building", "1", "--reissue"], "goes with --resident")):
        bad = run(*args, "--out", str(tmp_path / "bad.pdf"))
        assert bad.exit_code == 2 and message in bad.output and len(bad.output.strip().splitlines()) == 1, bad.output
    assert run("--building", "1", "--out", str(tmp_path / "x.png")).exit_code == 2
    assert run("--building", "1", "--out", str(tmp_path / "no" / "x.pdf")).exit_code == 2


def test_buildings_and_compounds_in_any_spelling(community, tmp_path):
    from kiosk.office.addresses import normalise_building

    assert [normalise_building(b) for b in ("5", "5号楼", "五栋", "05", "５", "A座", "", "5-1")] == \
        ["5", "5", "5", "5", "5", "A", "", ""]
    key = load_signing_key(community.keys_dir)
    with RegistryMaster(community.office_dir / "registry.db") as master:
        ones = [r["id"] for r in cs.select_residents(master, building="1", today=NOW.date())]
        for spelling in ("一号楼", "01", "1栋", "１"):
            assert [r["id"] for r in cs.select_residents(master, building=spelling, today=NOW.date())] == ones
        # Building 3's households move to a compound of their own; the others stay in the office's one.
        for house in (h for h in master.snapshot()["households"] if h["building"] == "3"):
            master.upsert("households", {**house, "compound": "东区"})
        east = cs.select_residents(master, compound="东区", today=NOW.date(), default_compound=demo.COMPOUND)
        rest = cs.select_residents(master, compound=demo.COMPOUND, today=NOW.date(), default_compound=demo.COMPOUND)
        assert len(east) == 6 and len(rest) == len(demo.RESIDENTS) - 6
        with pytest.raises(cs.CardSheetError, match="no compound"):
            cs.select_residents(master, compound="西区", today=NOW.date(), default_compound=demo.COMPOUND)
        before = master.version
        master.upsert("revocations", {"card_id": 1110, "revoked_at": NOW.isoformat(), "reason": "lost"})  # 赵敏's
        plan = cs.plan_cards(master, east, today=NOW.date())
        assert (plan.cards, plan.issue, plan.pages) == (6, [10], 1) and len(plan.reprint) == 5
        assert master.version == before + 1 and master.cards_of("resident", 10, unrevoked=True) == []  # read only
        job = cs.prepare_cards(master, key, east[:1] + rest[:1], tz=TZ, out_dir=tmp_path, now=NOW,
                               default_compound=demo.COMPOUND)
        assert [f.compound for f in job.faces] == ["东区", demo.COMPOUND]
        pdf = tmp_path / "east.pdf"
        pdf.write_bytes(cs.render_pdf(job.faces, community_name=demo.COMMUNITY_NAME))
        first, second = (cs.placement(i) for i in range(2))
        assert "东区" in text_in(pdf, 0, first.x, first.y, cs.CARD_W, 12)
        assert demo.COMPOUND in text_in(pdf, 0, second.x, second.y, cs.CARD_W, 12)
    assert office_compound(community.office_dir / "office.db", "x") == demo.COMPOUND  # the gates' compound
    assert office_compound(tmp_path / "no-office.db", "和平里社区") == "和平里社区"  # no gates: the office's name
