"""``kiosk demo`` writes DIR/office/office.yaml: every ``kiosk office`` command then works on the demo office."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk import demo
from kiosk.cards import verify_card
from kiosk.cli import main
from kiosk.config import load_office_config
from kiosk.office.registry_master import RegistryMaster
from tests.kiosk.office.test_card_sheets import rasterise

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    """A demo folder made by the real ``kiosk demo`` (office, gates, history, the script), once for this module."""
    directory = tmp_path_factory.mktemp("demo") / "demo"
    result = CliRunner().invoke(main, ["demo", "--dir", str(directory)])
    assert result.exit_code == 0, result.output
    return directory


def office(demo_dir: Path, *args: str):
    return CliRunner().invoke(main, ["office", *args, "--config", str(demo_dir / "office" / "office.yaml")])


def test_the_demo_writes_its_office_yaml(demo_dir):
    path = demo_dir / "office" / "office.yaml"
    config = load_office_config(path)
    assert config.office.name == demo.COMMUNITY_NAME and config.office.timezone == demo.TIMEZONE
    assert Path(config.office.data_dir) == (demo_dir / "office").resolve()
    assert Path(config.office.keys_dir) == (demo_dir / "keys").resolve()
    assert path.read_text(encoding="utf-8").startswith("# The demo office")
    checked = CliRunner().invoke(main, ["config", "check", "--office", str(path)])
    assert checked.exit_code == 0 and "ok" in checked.output


def test_users_and_quarantine_list_read_the_demo_office(demo_dir):
    users = office(demo_dir, "users", "--json")
    assert users.exit_code == 0, users.output
    assert demo.DESK_USER in users.output and "admin" in users.output
    orders = office(demo_dir, "quarantine", "list")
    assert orders.exit_code == 0, orders.output
    assert "1-1-102" in orders.output  # the demo's household in home quarantine (李建国's)


def test_cards_print_missing_and_a_household_against_the_demo(demo_dir, tmp_path):
    nobody = office(demo_dir, "cards", "print", "--missing", "--out", str(tmp_path / "none.pdf"))
    assert nobody.exit_code == 0 and "nothing to print" in nobody.output, nobody.output
    # A card ending within 400 days is out of range (0–366) and said so; within 366 days every card counts.
    assert office(demo_dir, "cards", "print", "--missing", "--expiring-days", "400", "--dry-run").exit_code == 2
    plan = office(demo_dir, "cards", "print", "--missing", "--expiring-days", "366", "--dry-run", "--json")
    assert plan.exit_code == 0, plan.output
    counted = json.loads(plan.output)
    assert counted["dry_run"] and counted["cards"] == len(demo.RESIDENTS) and counted["pages"] == 2
    assert sorted(counted["issue"]) == sorted(r["id"] for r in demo.RESIDENTS) and counted["reprint"] == []
    with RegistryMaster(demo_dir / "office" / "registry.db") as master:
        version = master.version
    out = tmp_path / "compound.pdf"
    printed = office(demo_dir, "cards", "print", "--compound", demo.COMPOUND, "--out", str(out), "--json")
    assert printed.exit_code == 0, printed.output
    job = json.loads(printed.output)
    assert job["cards"] == len(demo.RESIDENTS) and job["issued"] == [] and len(rasterise(out)) == 2
    with RegistryMaster(demo_dir / "office" / "registry.db") as master:
        assert master.version == version  # a dry run and reprints change nothing


def test_cards_reissue_from_the_cli_against_the_demo(demo_dir, tmp_path):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sensors.cameras import load_gray
    from sensors.decoders import make_decoder

    out = tmp_path / "lost.pdf"
    result = office(demo_dir, "cards", "print", "--resident", "1-1-101:王丽", "--reissue", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    job = json.loads(result.output)
    assert job["revoked_lost"] == [1002] and len(job["issued"]) == 1
    [text] = make_decoder("zxing").decode(load_gray(rasterise(out)[0]))
    tz = ZoneInfo(demo.TIMEZONE)
    with RegistryMaster(demo_dir / "office" / "registry.db") as master:
        check = master.check_revocation(verify_card(text, master.keyset(), datetime.now(tz), tz))
        assert check.valid and check.card.card_id == job["issued"][0] and check.card.subject_id == 2
        assert master.revocation(1002)["reason"] == "lost"


def test_visitors_inside_from_the_cli_against_the_demo(demo_dir):
    """``kiosk office visitors inside``: the demo's visitor still inside, masked, the long stay marked; --gate filters."""
    import json

    listed = office(demo_dir, "visitors", "inside", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert rows and all("*" in (row["name"] or "*") for row in rows)
    assert rows == sorted(rows, key=lambda r: -r["inside_s"])
    text = office(demo_dir, "visitors", "inside")
    assert text.exit_code == 0 and rows[0]["gate"]["id"] in text.output
    nobody = office(demo_dir, "visitors", "inside", "--gate", "no-such-gate")
    assert nobody.exit_code == 0 and "nobody inside" in nobody.output
