"""``kiosk demo``: seeds a community and runs every scripted passage through the real chain."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from kiosk import demo
from kiosk.cli import main
from kiosk.gate.journal import JournalReader
from kiosk.gate.policy import Verdict


def test_demo_runs_every_case(tmp_path):
    now = datetime(2026, 11, 28, 10, 0, tzinfo=ZoneInfo(demo.TIMEZONE))
    community = demo.seed(tmp_path / "demo", now)
    assert sorted(p.stem for p in community.cards_dir.glob("*.png")) == sorted(community.cards)
    from kiosk.config import GateConfig

    config = GateConfig.model_validate({"gate": {"id": "demo-gate"}})
    office, url = demo.start_office(community)
    try:
        outcomes = dict(demo.run(community, config, now, url))
    finally:
        office.close()
    verdicts = {label: outcome.decision.verdict for label, outcome in outcomes.items()}
    assert list(verdicts.values()) == [
        Verdict.ADMIT, Verdict.ADMIT, Verdict.DENY, Verdict.ASK, Verdict.DENY, Verdict.DENY, Verdict.DENY,
        Verdict.DENY, Verdict.ADMIT, Verdict.ADMIT, Verdict.REFER, Verdict.ADMIT, Verdict.REFER,
    ]
    with JournalReader(community.journal_path) as journal:
        assert journal.last_seq == sum(len(o.events) for o in outcomes.values())
        assert journal.integrity_check() == "ok"
        assert journal.acked_seq == journal.last_seq  # the whole ledger reached the office
        last_seq = journal.last_seq
    from kiosk.office.store import OfficeStore

    store = OfficeStore(community.office_dir / "office.db")
    assert store.count_events("demo-gate") == last_seq
    assert {a["kind"] for a in store.open_alarms()} == {"fever", "quarantine_breach", "invalid_card", "unknown_visitor"}


def test_demo_command_and_rerun(tmp_path):
    runner = CliRunner()
    first = runner.invoke(main, ["demo", "--dir", str(tmp_path / "d")])
    assert first.exit_code == 0, first.output
    assert "ALARM: fever" in first.output and "ALARM: quarantine_breach" in first.output
    again = runner.invoke(main, ["demo", "--dir", str(tmp_path / "d")])
    assert again.exit_code == 0


def test_demo_never_wipes_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path)])
    assert result.exit_code == 2 and "not a demo folder" in result.output
    assert (tmp_path / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize("hour", [0, 4, 23])
def test_visitor_pass_covers_the_demo_at_any_hour(tmp_path, hour):
    now = datetime(2026, 11, 28, hour, 30, tzinfo=ZoneInfo(demo.TIMEZONE))
    community = demo.seed(tmp_path / "demo", now)
    from kiosk.config import GateConfig

    office, url = demo.start_office(community)
    try:
        outcomes = dict(demo.run(community, GateConfig.model_validate({"gate": {"id": "demo-gate"}}), now, url))
    finally:
        office.close()
    assert outcomes["visitor 陈来访 with a pre-registered pass"].decision.verdict is Verdict.ADMIT
