"""``kiosk office cards print``: residents' cards on A4 sheets as a PDF (a thin layer over kiosk.office.card_sheets)."""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.cli.common import clean_errors, fail, print_json
from kiosk.cli.officecmd import _CONFIG, _JSON, _cards_dir, _open, _signing_key


@click.command("print")
@click.option("--resident", help="One resident: id or household:name, e.g. 5-1-101:王小山.")
@click.option("--household", help="Everyone in a household: 5-1-101 (also 5/1/101, 5号楼1单元101室).")
@click.option("--building", help="Everyone in a building, e.g. 5.")
@click.option("--missing", is_flag=True, help="Everyone without a usable card (none, revoked, expired or expiring).")
@click.option("--expiring-days", type=click.IntRange(0, 366), default=0, show_default=True,
              help="With --missing: a card ending within this many days counts as missing (renewed).")
@click.option("--reissue", is_flag=True,
              help="With --resident: the card was lost (补办): revoke the old card(s) as lost and print a new one.")
@click.option("--compound", help="Everyone in a compound (小区), e.g. 和平里小区 (households without one: the office's).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="The PDF to write.")
@click.option("--compound-name", help="The compound printed on cards of households without one "
                                      "(default: the one the office's gates name, else the office's name).")
@click.option("--dry-run", is_flag=True, help="Only say how many cards would be printed, issued and revoked.")
@click.option("--rule", "rule_text", help="The rule printed on each card (default: 凭卡出入，请配合测温).")
@click.option("--images", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for new cards' PNGs (default: <data_dir>/cards).")
@_CONFIG
@_JSON
def cards_print(resident, household, building, missing, expiring_days, reissue, compound, out, compound_name,
                dry_run, rule_text, images, config_path, as_json) -> None:
    """Print residents' entry cards as a PDF: A4, 10 cards a page, cut marks.

    Choose one of --resident, --household, --building, --compound, --missing. A resident
    whose card is valid gets it reprinted as it is (same number, same QR);
    one without a usable card gets a new card (each a registry version,
    gates get it at their next sync).
    """
    from kiosk.office.admin import find_household, find_resident
    from kiosk.office.card_sheets import (
        DEFAULT_RULE,
        check_font,
        plan_cards,
        prepare_cards,
        render_pdf,
        select_residents,
    )
    from kiosk.office.compounds import office_compound
    from kiosk.office.paths import OfficePaths

    if sum(x is not None for x in (resident, household, building, compound)) + missing != 1:
        fail("请选择一种 / choose exactly one of --resident, --household, --building, --compound, --missing")
    if expiring_days and not missing:
        fail("--expiring-days 仅与 --missing 同用 / --expiring-days goes with --missing")
    if reissue and resident is None:
        fail("--reissue 仅用于 --resident（挂失补办）/ --reissue goes with --resident (one lost card)")
    if out is None and not dry_run:
        fail("请用 --out 指定 PDF 文件 / give the PDF to write with --out FILE.pdf (or --dry-run)")
    if out is not None and out.suffix.lower() != ".pdf":
        fail(f"{out}: 输出文件须为 .pdf / the output must be a .pdf file")
    if out is not None and not out.parent.is_dir():
        fail(f"{out.parent}: 文件夹不存在 / no such folder")
    with clean_errors():
        check_font()  # before any card is issued: a missing font must not leave new cards unprinted
        office_ = _open(config_path)
        master = office_.master
        today = office_.today()
        default_compound = office_compound(OfficePaths.of(office_.config).store, office_.config.office.name)
        choice: dict = {}
        if resident is not None:
            choice = {"resident_id": find_resident(master, resident)["id"]}
        elif household is not None:
            choice = {"household_id": find_household(master, household)["id"]}
        elif building is not None:
            choice = {"building": building}
        elif compound is not None:
            choice = {"compound": compound}
        else:
            choice = {"missing": True, "expiring_days": expiring_days}
        residents = select_residents(master, today=today, default_compound=default_compound, **choice)
        if missing and not residents:
            click.echo("人人有可用的卡，无需打印 / everyone has a usable card: nothing to print")
            return
        if dry_run:
            plan = plan_cards(master, residents, today=today, renew_within_days=expiring_days, reissue=reissue)
            if as_json:
                print_json({"dry_run": True, **plan.to_dict()})
            else:
                click.echo(f"将打印 {plan.cards} 张卡，共 {plan.pages} 页（新发 {len(plan.issue)} 张，重印 "
                           f"{len(plan.reprint)} 张，挂失 {len(plan.revoke_lost)} 张）/ would print {plan.cards} "
                           f"card(s) on {plan.pages} page(s): {len(plan.issue)} new, {len(plan.reprint)} reprinted, "
                           f"{len(plan.revoke_lost)} revoked as lost; nothing changed")
            return
        job = prepare_cards(master, _signing_key(office_), residents, tz=office_.tz,
                            out_dir=_cards_dir(office_, images),
                            validity_days=office_.config.registry.card_validity_days,
                            renew_within_days=expiring_days, reissue=reissue,
                            default_compound=compound_name or default_compound)
        pdf = render_pdf(job.faces, community_name=office_.config.office.name, rule_text=rule_text or DEFAULT_RULE)
    assert out is not None  # checked above: only --dry-run goes without it
    try:
        out.write_bytes(pdf)
    except OSError as exc:
        fail(f"{out}: 无法写入 / cannot write: {exc.strerror or exc}")
    if as_json:
        print_json({"out": str(out), "cards": len(job.faces), "pages": job.pages,
                    "issued": [i.card.card_id for i in job.issued], "reprinted": job.reprinted,
                    "revoked_lost": job.revoked_lost})
        return
    click.echo(f"已打印 {len(job.faces)} 张卡，共 {job.pages} 页 / {len(job.faces)} card(s) on {job.pages} page(s): {out}")
    if job.issued:
        click.echo(f"新发卡 {len(job.issued)} 张 / issued {len(job.issued)} new card(s): "
                   f"{', '.join(str(i.card.card_id) for i in job.issued)} (registry version {job.issued[-1].version})")
    if job.revoked_lost:
        click.echo(f"已挂失 / revoked as lost: card {', '.join(str(c) for c in job.revoked_lost)}")
