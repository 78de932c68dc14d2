"""Printed entry cards (出入证): A4 sheets of residents' cards with cut marks, as a PDF.

Which cards go on the sheets (``select_residents``, ``prepare_cards``) and how
they are drawn (``render_pdf``) are separate steps, so the desk and the CLI
share both. A resident's current card is reprinted as it is: its QR text is
the registry's card row signed again with the office key (Ed25519 signatures
are deterministic, so with the same key it is the very same text the holder
already has). A resident without a usable card gets a new one through
``kiosk.office.admin.issue_registry_card``: one registry version each, as at
the desk. A lost card is reissued (``reissue=True``): the new card first, then
the old ones revoked as ``lost``, so that a failure between the two never
leaves the holder without a valid card. A visitor pass's card is printed the
same way, one card on a sheet (``visitor_face``: its times, its host household).

The PDF is drawn with fpdf2 (pure Python); the Chinese font is Debian's
fonts-wqy-microhei, embedded as a subset (only the glyphs the cards use), so
the file prints the same on any machine. The QR code is vector (one filled
path), exactly ``QR_MM`` millimetres across, at error-correction level Q like
``kiosk.cards.render_qr``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.cards import Card, CardKind, encode_card
from kiosk.exc import KioskError
from kiosk.keys import SigningKey
from kiosk.office.admin import IssuedCard, issue_registry_card, revoke_card
from kiosk.office.compounds import compound_of
from kiosk.office.registry_master import RegistryMaster
from kiosk.registry import RevocationReason

FONT_PACKAGE = "fonts-wqy-microhei"
FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
DEFAULT_RULE = "凭卡出入，请配合测温"

# Geometry in millimetres. A card is ISO/IEC 7810 ID-1 (a bank card), 2 across and 5 down on A4: 10 a page.
PAGE_W, PAGE_H = 210.0, 297.0
CARD_W, CARD_H = 85.6, 54.0
COLUMNS, ROWS = 2, 5
PER_PAGE = COLUMNS * ROWS
MARGIN_X = (PAGE_W - COLUMNS * CARD_W) / 2
MARGIN_Y = (PAGE_H - ROWS * CARD_H) / 2
QR_MM = 32.0  # the symbol itself, without its quiet zone; the issue asks for at least 30 mm
PAD = 3.5  # inside a card, from the cut line
CUT_GAP, CUT_LEN = 2.0, 6.0  # cut marks start this far outside the grid and run this long (both within the margin)

# Bounds on what one PDF holds: a building is a few hundred residents; a whole community's 5,000 fits too.
MAX_CARDS = 5000
MAX_TEXT = 40  # characters of a name, label or rule text drawn on a card


class CardSheetError(KioskError, ValueError):
    """Cards could not be chosen or printed (nobody selected, the font missing, too many cards …)."""


@dataclass(frozen=True)
class CardFace:
    """What one printed card shows: its holder, household, number, dates and the QR text to draw."""

    card_id: int
    resident_id: int
    name: str
    household: str
    valid_from: date
    valid_until: date
    text: str
    compound: str = ""  # the holder's compound (小区); "" prints the sheet's compound_name
    kind: str = CardKind.RESIDENT.value  # a visitor's face names the host household and prints times (visitor_face)


@dataclass
class PrintJob:
    """The cards to print and what preparing them did to the registry."""

    faces: list[CardFace] = field(default_factory=list)
    issued: list[IssuedCard] = field(default_factory=list)  # new cards (each one registry version)
    reprinted: list[int] = field(default_factory=list)  # card ids printed again as they are
    revoked_lost: list[int] = field(default_factory=list)  # old cards revoked as lost by a reissue

    @property
    def pages(self) -> int:
        """How many A4 sheets the cards fill."""
        return -(-len(self.faces) // PER_PAGE)


@dataclass(frozen=True)
class CardPlacement:
    """Where a card and its QR symbol are on the sheets (mm from the page's top left), for tests and previews."""

    page: int  # from 0
    x: float
    y: float
    qr_x: float
    qr_y: float
    qr_size: float


def placement(index: int) -> CardPlacement:
    """Where the ``index``-th card (from 0) goes: across, then down, then the next page."""
    page, slot = divmod(index, PER_PAGE)
    row, column = divmod(slot, COLUMNS)
    x, y = MARGIN_X + column * CARD_W, MARGIN_Y + row * CARD_H
    return CardPlacement(page, x, y, x + CARD_W - PAD - QR_MM, y + 14.5, QR_MM)


# -- choosing whose cards --------------------------------------------------------


def select_residents(master: RegistryMaster, *, resident_id: int | None = None, household_id: int | None = None,
                     building: str | None = None, compound: str | None = None, missing: bool = False,
                     expiring_days: int = 0, today: date, default_compound: str = "") -> list[dict]:
    """The residents whose cards to print, in household order: exactly one of the choices.

    ``compound`` picks every household of a compound (小区); a household
    without one is in ``default_compound`` (the office's one compound, see
    ``kiosk.office.compounds.office_compound``). ``missing`` picks everyone without a card usable past
    ``today + expiring_days`` (none, all revoked, expired or expiring by then).
    """
    chosen = [c for c in (resident_id is not None, household_id is not None, building is not None,
                          compound is not None, missing) if c]
    if len(chosen) != 1:
        raise CardSheetError("选择一种 / choose exactly one of: a resident, a household, a building, a compound, "
                             "or missing cards")
    if not 0 <= expiring_days <= 366:
        raise CardSheetError(f"临期天数须为 0–366 / expiring days must be 0 to 366, got {expiring_days}")
    snapshot = master.snapshot()
    households = {h["id"]: h for h in snapshot["households"]}

    def order(row: dict) -> tuple:
        house = households.get(row["household_id"]) or {}
        return (_natural(house.get("building")), _natural(house.get("unit")), _natural(house.get("room")), row["id"])

    residents = sorted(snapshot["residents"], key=order)
    if resident_id is not None:
        rows = [r for r in residents if r["id"] == resident_id]
        if not rows:
            raise CardSheetError(f"登记册中没有住户 {resident_id} / no resident with id {resident_id} in the registry")
        return rows
    if household_id is not None:
        rows = [r for r in residents if r["household_id"] == household_id]
        if not rows:
            raise CardSheetError(f"该户没有登记住户 / household {household_id} has no residents in the registry")
        return rows
    if building is not None:
        from kiosk.office.addresses import address_of, normalise_building

        wanted = normalise_building(building)
        ids = {h["id"] for h in households.values() if wanted and address_of(h).building == wanted}
        if not ids:
            raise CardSheetError(f"登记册中没有 {_clip(building)} 号楼 / no building {_clip(building)!r} in the registry")
        return [r for r in residents if r["household_id"] in ids]
    if compound is not None:
        wanted = " ".join(compound.split())
        ids = {h["id"] for h in households.values() if wanted and compound_of(h, default_compound) == wanted}
        if not ids:
            raise CardSheetError(f"登记册中没有小区“{_clip(compound)}” / no compound {_clip(compound)!r} in the registry")
        return [r for r in residents if r["household_id"] in ids]
    horizon = today + timedelta(days=expiring_days)
    return [r for r in residents if _current_card(master, r["id"], horizon) is None]


def _natural(text: str | None) -> tuple:
    # Building 10 after building 9; non-numeric parts (e.g. "A") after the numbers, in text order.
    value = (text or "").strip()
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


def _current_card(master: RegistryMaster, resident_id: int, day: date) -> dict | None:
    """The resident's newest unrevoked card still valid on ``day`` (or later), or None."""
    rows = [row for row in master.cards_of(CardKind.RESIDENT.value, resident_id, unrevoked=True)
            if row["valid_until"] >= day.isoformat()]
    return max(rows, key=lambda row: row["id"]) if rows else None


@dataclass(frozen=True)
class PrintPlan:
    """What printing the chosen residents' cards would do, before anything changes (the desk's "N cards" line)."""

    cards: int  # cards on the sheets, one per resident
    reprint: list[int]  # card ids printed again as they are
    issue: list[int]  # resident ids who get a new card (each one registry version)
    revoke_lost: list[int]  # card ids a reissue revokes as lost
    reprint_of: dict[int, int] = field(default_factory=dict)  # resident id → the card id printed again

    @property
    def pages(self) -> int:
        """How many A4 sheets the cards fill."""
        return -(-self.cards // PER_PAGE)

    def to_dict(self) -> dict:
        """The plan as JSON-ready values (the CLI's --dry-run --json)."""
        return {"cards": self.cards, "pages": self.pages, "reprint": self.reprint, "issue": self.issue,
                "revoke_lost": self.revoke_lost}


def plan_cards(master: RegistryMaster, residents: Sequence[dict], *, today: date, renew_within_days: int = 0,
               reissue: bool = False) -> PrintPlan:
    """What ``prepare_cards`` would do for ``residents`` today: the same rules, nothing issued or revoked."""
    if len(residents) > MAX_CARDS:
        raise CardSheetError(f"一次最多打印 {MAX_CARDS} 张 / at most {MAX_CARDS} cards in one PDF, "
                             f"{len(residents)} chosen: print a building at a time")
    reprint: dict[int, int] = {}
    issue: list[int] = []
    revoke: list[int] = []
    for resident in residents:
        current = None if reissue else _current_card(master, resident["id"], today + timedelta(days=renew_within_days))
        if current is not None:
            reprint[resident["id"]] = current["id"]
            continue
        issue.append(resident["id"])
        if reissue:
            revoke.extend(row["id"] for row in master.cards_of(CardKind.RESIDENT.value, resident["id"], unrevoked=True))
    return PrintPlan(len(residents), list(reprint.values()), issue, revoke, reprint)


def prepare_cards(master: RegistryMaster, key: SigningKey, residents: Sequence[dict], *, tz: ZoneInfo,
                  out_dir: str | Path, validity_days: int = 365, renew_within_days: int = 0, reissue: bool = False,
                  now: datetime | None = None, default_compound: str = "") -> PrintJob:
    """Each resident's card to print: their current card, or a new one issued where they have none usable.

    A card is usable when it is unrevoked and still valid ``renew_within_days``
    from today; a holder whose card is merely expiring keeps it until it ends
    (the new one is issued alongside). ``reissue`` (a lost card, 补办) issues a
    new card for every resident and revokes their earlier cards as ``lost``.
    New cards' PNGs go to ``out_dir`` as ``kiosk office cards issue`` writes them.
    Each face names its holder's compound (``compound_of``).
    """
    if len(residents) > MAX_CARDS:
        raise CardSheetError(f"一次最多打印 {MAX_CARDS} 张 / at most {MAX_CARDS} cards in one PDF, "
                             f"{len(residents)} chosen: print a building at a time")
    if not residents:
        raise CardSheetError("没有需要打印的卡 / no cards to print: nobody matched")
    now = now or datetime.now(tz)
    today = now.astimezone(tz).date()
    job = PrintJob()
    for resident in residents:
        house = master.household(resident["household_id"]) or {}
        household = master.household_label_of(resident["household_id"])
        current = None if reissue else _current_card(master, resident["id"], today + timedelta(days=renew_within_days))
        if current is not None:
            card = Card(CardKind.RESIDENT, current["id"], resident["id"], date.fromisoformat(current["valid_from"]),
                        date.fromisoformat(current["valid_until"]), key.kid)
            text = encode_card(card, key)
            job.reprinted.append(card.card_id)
        else:
            old = [row["id"] for row in master.cards_of(CardKind.RESIDENT.value, resident["id"], unrevoked=True)]
            # keep_old: a renewal leaves the expiring card valid to its end; a reissue revokes it just below.
            issued = issue_registry_card(master, key, CardKind.RESIDENT, resident["id"], out_dir=out_dir, tz=tz,
                                         validity_days=validity_days, now=now, keep_old=True)
            job.issued.append(issued)
            if reissue:
                for card_id in old:
                    revoke_card(master, card_id, reason=RevocationReason.LOST, now=now)
                    job.revoked_lost.append(card_id)
            card, text = issued.card, issued.text
        job.faces.append(CardFace(card.card_id, resident["id"], resident["name"] or "", household,
                                  card.valid_from, card.valid_until, text, compound_of(house, default_compound)))
    return job


class VisitorCardUnavailable(CardSheetError):
    """A visitor pass that has no QR to show or print; ``code`` says why: ``no_pass``, ``revoked`` or ``ended``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def visitor_face(master: RegistryMaster, key: SigningKey, pass_id: int, *, tz: ZoneInfo,
                 now: datetime | None = None) -> CardFace:
    """The face of a live visitor pass's card: its newest unrevoked card signed again with the office key.

    As a resident's reprint, the QR text is the registry's card row signed with
    ``key`` (deterministic Ed25519: the very text ``kiosk office visitors add``
    wrote as PNG). The face's dates are the pass's times in ``tz``, since a
    pass lasts hours. A revoked or ended pass has no face: VisitorCardUnavailable.
    """
    visitor = master.visitor_pass(pass_id)
    if visitor is None:
        raise VisitorCardUnavailable("no_pass", f"没有编号为 {pass_id} 的访客通行证 / no visitor pass {pass_id}")
    now = now or datetime.now(tz)
    live = master.cards_of(CardKind.VISITOR.value, pass_id, unrevoked=True)
    if not live:
        raise VisitorCardUnavailable("revoked", f"访客通行证 {pass_id} 已撤销 / visitor pass {pass_id} is revoked")
    if visitor.valid_until <= now:
        raise VisitorCardUnavailable("ended", f"访客通行证 {pass_id} 已过期 / visitor pass {pass_id} has ended")
    row = max(live, key=lambda r: r["id"])
    card = Card(CardKind.VISITOR, row["id"], pass_id, date.fromisoformat(row["valid_from"]),
                date.fromisoformat(row["valid_until"]), key.kid)
    return CardFace(card.card_id, pass_id, visitor.name, master.household_label_of(visitor.host_household_id),
                    visitor.valid_from.astimezone(tz), visitor.valid_until.astimezone(tz), encode_card(card, key),
                    kind=CardKind.VISITOR.value)


def _window(face: CardFace) -> str:
    """The validity line: dates for a resident's card, times for a visitor's (one day: 2026-12-01 09:30–23:59)."""
    start, end = face.valid_from, face.valid_until
    if face.kind != CardKind.VISITOR.value or not isinstance(start, datetime) or not isinstance(end, datetime):
        return f"{start:%Y-%m-%d} 至 {end:%Y-%m-%d}"
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"
    return f"{start:%Y-%m-%d %H:%M} 至 {end:%m-%d %H:%M}" if start.year == end.year else \
        f"{start:%Y-%m-%d %H:%M} 至 {end:%Y-%m-%d %H:%M}"


def household_of(master: RegistryMaster, label: str) -> dict:
    """A household by label in any of the roster's spellings (5-1-101, 5/1/101, 5号楼1单元101室).

    Kept for callers: the reading of addresses lives in kiosk.office.addresses, and
    ``kiosk.office.admin.find_household`` looks any spelling up with it.
    """
    from kiosk.office.admin import find_household

    return find_household(master, label)


# -- drawing ------------------------------------------------------------------------


def check_font(path: Path = FONT_PATH) -> Path:
    """The Chinese font file, or CardSheetError naming the Debian package to install (checked before issuing)."""
    if not path.is_file():
        raise CardSheetError(f"中文字体 {path} 不存在 / the Chinese font {path} is missing: "
                             f"install Debian's {FONT_PACKAGE} (apt-get install {FONT_PACKAGE})")
    return path


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def render_pdf(faces: Iterable[CardFace], *, community_name: str, compound_name: str = "",
               rule_text: str = DEFAULT_RULE, font_path: Path = FONT_PATH) -> bytes:
    """The cards on A4 sheets, 10 a page (2 × 5 of 85.6 × 54 mm), with cut marks; the PDF's bytes."""
    import segno
    from fpdf import FPDF

    faces = list(faces)
    if not faces:
        raise CardSheetError("没有需要打印的卡 / no cards to print")
    if len(faces) > MAX_CARDS:
        raise CardSheetError(f"一次最多打印 {MAX_CARDS} 张 / at most {MAX_CARDS} cards in one PDF")
    font = check_font(font_path)
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.set_creator("checkpoint-kiosk")
    pdf.set_title(_clip(f"{community_name} 出入证"))
    try:
        # fpdf2 embeds a TrueType font as a subset of the glyphs used; the TTC's first face is WenQuanYi Micro Hei.
        pdf.add_font("wqy", "", str(font), collection_font_number=0)
    except Exception as exc:  # fontTools' own errors for a damaged file: say which file and package
        raise CardSheetError(f"中文字体 {font} 无法读取 / cannot read the Chinese font {font} ({exc}): "
                             f"reinstall {FONT_PACKAGE}") from None
    header = _clip(community_name) or "居民出入证"
    rule = _clip(rule_text)
    for index, face in enumerate(faces):
        where = placement(index)
        if where.page == pdf.pages_count:
            pdf.add_page()
            _cut_marks(pdf)
        compound = face.compound or compound_name
        compound = "" if compound == community_name else compound  # an office of one compound: its name once
        title = "访客通行证 Visitor pass" if face.kind == CardKind.VISITOR.value else "出入证 Entry card"
        subheader = _clip(" ".join(p for p in (compound, title) if p))
        _draw_card(pdf, face, where, header, subheader, rule, segno.make(face.text, error="q", boost_error=False,
                                                                         micro=False))
    return bytes(pdf.output())


def _cut_marks(pdf) -> None:
    """Short hairlines in the margins along every cut line (the cards touch, so each line is cut once)."""
    pdf.set_draw_color(0)
    pdf.set_line_width(0.15)
    left, top = MARGIN_X, MARGIN_Y
    right, bottom = MARGIN_X + COLUMNS * CARD_W, MARGIN_Y + ROWS * CARD_H
    for column in range(COLUMNS + 1):
        x = left + column * CARD_W
        pdf.line(x, top - CUT_GAP - CUT_LEN, x, top - CUT_GAP)
        pdf.line(x, bottom + CUT_GAP, x, bottom + CUT_GAP + CUT_LEN)
    for row in range(ROWS + 1):
        y = top + row * CARD_H
        pdf.line(left - CUT_GAP - CUT_LEN, y, left - CUT_GAP, y)
        pdf.line(right + CUT_GAP, y, right + CUT_GAP + CUT_LEN, y)


def _fit(pdf, text: str, size: float, width: float, minimum: float = 5.0) -> float:
    """The largest font size ≤ ``size`` at which ``text`` fits ``width`` mm (a long name shrinks, never overflows)."""
    pdf.set_font_size(size)
    while size > minimum and pdf.get_string_width(text) > width:
        size -= 0.5
        pdf.set_font_size(size)
    return size


def _text(pdf, x: float, y: float, text: str, size: float, width: float, grey: int = 0) -> None:
    # y is the top of the line; fpdf2's text() takes the baseline, about 0.8 of the font size (pt → mm: 0.3528).
    size = _fit(pdf, text, size, width)
    pdf.set_text_color(grey)
    pdf.text(x, y + size * 0.3528 * 0.85, text)


def _draw_card(pdf, face: CardFace, where: CardPlacement, header: str, subheader: str, rule: str, qr) -> None:
    x, y = where.x, where.y
    inner = CARD_W - 2 * PAD
    pdf.set_font("wqy", size=9)
    # A faint outline: where to cut if the marks are trimmed away, light enough not to show on a clean cut.
    pdf.set_draw_color(200)
    pdf.set_line_width(0.1)
    pdf.rect(x, y, CARD_W, CARD_H)
    _text(pdf, x + PAD, y + 2.8, header, 10, inner)
    _text(pdf, x + PAD, y + 7.6, subheader, 7, inner, grey=60)
    pdf.set_draw_color(0)
    pdf.set_line_width(0.3)
    pdf.line(x + PAD, y + 11.0, x + CARD_W - PAD, y + 11.0)
    column = where.qr_x - x - PAD - 3.0  # the text column stops short of the QR's quiet zone
    visitor = face.kind == CardKind.VISITOR.value
    lines = [("访客 Visitor" if visitor else "姓名 Name", face.name, 14),
             ("被访户 Host" if visitor else "住户 Household", face.household, 11),
             ("卡号 Card No.", str(face.card_id), 9), ("有效期 Valid", _window(face), 7.5)]
    top = y + 13.0
    for label, value, size in lines:
        _text(pdf, x + PAD, top, label, 5.5, column, grey=90)
        _text(pdf, x + PAD, top + 2.4, _clip(value), size, column)
        top += 2.4 + size * 0.3528 + 2.0
    _text(pdf, x + PAD, y + CARD_H - PAD - 2.6, rule, 7.5, column)
    _draw_qr(pdf, qr, where.qr_x, where.qr_y, where.qr_size)


def _draw_qr(pdf, qr, x: float, y: float, size: float) -> None:
    """The QR symbol as one filled path of dark-module runs: sharp at any print resolution, no seams."""
    from fpdf.enums import PathPaintRule

    matrix = qr.matrix  # without the quiet zone: the card's white space around the symbol is it
    module = size / len(matrix)
    with pdf.new_path() as path:
        path.style.fill_color = "#000000"
        path.style.stroke_color = None
        path.style.paint_rule = PathPaintRule.FILL_NONZERO
        for row_index, row in enumerate(matrix):
            start = None
            for column, dark in enumerate([*row, 0]):
                if dark and start is None:
                    start = column
                elif not dark and start is not None:
                    path.rectangle(x + start * module, y + row_index * module, (column - start) * module, module)
                    start = None
