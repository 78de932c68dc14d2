"""``kiosk office quarantine check|due|extend|lift`` (and add, list) through click's runner on a real office folder."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from kiosk.cli.officecmd import office
from kiosk.office import audit
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def env(tmp_path):
    config = tmp_path / "office.yaml"
    config.write_text(f"office:\n  data_dir: {tmp_path / 'data'}\n  keys_dir: {tmp_path / 'keys'}\n"
                      "followup:\n  quarantine_check_deadlines: ['00:01', '23:59']\n", encoding="utf-8")
    (tmp_path / "data").mkdir()
    with RegistryMaster(tmp_path / "data" / "registry.db") as master:
        master.change([
            {"op": "upsert", "table": "households", "row": {"id": 1, "building": "3", "unit": "2", "room": "501"}},
            {"op": "upsert", "table": "residents", "row": {"id": 1, "household_id": 1, "name": "王小山",
                                                           "phone_masked": "138****5678", "phone": "13812345678"}},
            {"op": "upsert", "table": "residents", "row": {"id": 2, "household_id": 1, "name": "李红"}},
        ])
    return tmp_path, config


def run(config, *args):
    return CliRunner().invoke(office, ["quarantine", *[str(a) for a in args], "--config", str(config)])


def today():
    return datetime.now(TZ).date()


def test_add_check_due_extend_lift(env):
    tmp_path, config = env
    start = today() - timedelta(days=13)
    added = run(config, "add", "--household", "3-2-501", "--from", start.isoformat(), "--days", 14, "--json")
    assert added.exit_code == 0, added.output
    order = json.loads(added.output)["order"]["id"]
    listed = run(config, "list")
    assert listed.exit_code == 0 and "3-2-501 (whole household)" in listed.output

    due = run(config, "due", "--json")
    assert due.exit_code == 0, due.output
    rows = json.loads(due.output)["due"]
    assert {r["name"] for r in rows} == {"王小山", "李红"}
    assert {r["phone"] for r in rows if r["name"] == "王小山"} == {"13812345678"}

    # a household order: whose check must be said
    unnamed = run(config, "check", order, "--temp", "36.6", "--method", "phone", "--by", "钱社工")
    assert unnamed.exit_code == 2 and "覆盖 2 人" in unnamed.output
    done = run(config, "check", order, "--temp", "36.6", "--method", "phone", "--by", "钱社工", "--person", "王小山",
               "--note", "无症状")
    assert done.exit_code == 0, done.output
    assert "36.6 °C" in done.output and "FEVER" not in done.output
    fever = run(config, "check", order, "--temp", "38.1", "--method", "door", "--by", "孙医生", "--person", "2",
                "--json")
    assert fever.exit_code == 0, fever.output
    alarm = json.loads(fever.output)["check"]["alarm_event_id"]
    assert alarm and alarm.startswith("office:fever:")
    store = OfficeStore(tmp_path / "data" / "office.db")
    try:
        assert store.database().execute("SELECT gate_id, kind, subject FROM alarms").fetchall() == [
            ("居家隔离 3-2-501", "fever", "resident:2")]
        assert [e["action"] for e in audit.search(store, action="quarantine.").entries] == [
            "quarantine.check", "quarantine.check", "quarantine.add"]
    finally:
        store.close()

    bad = run(config, "check", order, "--temp", "3.66", "--method", "phone", "--by", "钱社工", "--person", "1")
    assert bad.exit_code == 2 and "体温须在" in bad.output and "Traceback" not in bad.output
    late = run(config, "check", order, "--temp", "36.5", "--method", "phone", "--by", "x", "--person", "1",
               "--at", "not-a-time")
    assert late.exit_code == 2 and "--at" in late.output

    early = run(config, "lift", order, "--note", "x", "--on", (today() - timedelta(days=1)).isoformat())
    assert early.exit_code == 2 and "不能早于结束日期" in early.output
    longer = run(config, "extend", order, "--until", (today() + timedelta(days=3)).isoformat(), "--note", "复查")
    assert longer.exit_code == 0, longer.output
    assert f"now ends on {today() + timedelta(days=3)}" in longer.output
    lifted = run(config, "lift", order, "--note", "社区卫生服务中心解除隔离通知")
    assert lifted.exit_code == 2 and "不能早于结束日期" in lifted.output  # extended: its end is now later
    with RegistryMaster(tmp_path / "data" / "registry.db") as master:
        assert master.quarantine_orders(resident_id=1, household_id=1, on=today() + timedelta(days=3))


def test_lift_on_the_end_date_and_json(env):
    tmp_path, config = env
    added = run(config, "add", "--resident", "3-2-501:王小山", "--from", (today() - timedelta(days=2)).isoformat(),
                "--days", 3, "--json")
    order = json.loads(added.output)["order"]["id"]
    check = run(config, "check", order, "--temp", "36,4", "--method", "door", "--by", "钱社工", "--at", "00:00")
    assert check.exit_code == 0, check.output
    lifted = run(config, "lift", order, "--note", "期满，社区医生解除", "--json")
    assert lifted.exit_code == 0, lifted.output
    body = json.loads(lifted.output)
    assert body["lifted_on"] == today().isoformat() and body["version"] is not None
    assert body["order"]["ends_on"] == (today() - timedelta(days=1)).isoformat()
    with RegistryMaster(tmp_path / "data" / "registry.db") as master:
        assert not master.quarantine_orders(resident_id=1, household_id=1, on=today())
    again = run(config, "lift", order, "--note", "again")
    assert again.exit_code == 2 and "已解除" in again.output
    nothing = run(config, "due")
    assert nothing.exit_code == 0 and "nothing due" in nothing.output
    unknown = run(config, "extend", 99, "--until", "2030-01-01")
    assert unknown.exit_code == 2 and "没有隔离单 99" in unknown.output
