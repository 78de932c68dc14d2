"""``kiosk demo``: seeds a community with two gates and a few days of history, and runs every scripted passage."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from click.testing import CliRunner

from kiosk import demo, demo_history
from kiosk.cli import main
from kiosk.gate.journal import JournalReader, parse_ts
from kiosk.gate.policy import Verdict
from kiosk.office.store import OfficeStore

ZONE = ZoneInfo(demo.TIMEZONE)
DESK_LINE = re.compile(r"^office desk: (http://127\.0\.0\.1:\d+/)  user: (\S+)  password: (\S+)$")


def _community(tmp_path: Path, now: datetime, *, history: bool = True):
    """Seed, serve the office, seed the history, run the script; returns (community, outcomes, history, seconds)."""
    started = time.perf_counter()
    community = demo.seed(tmp_path / "demo", now)
    office, url = demo.start_office(community)
    try:
        sent = demo_history.seed_history(community, now, url) if history else {}
        outcomes = dict(demo.run(community, demo.checkpoint_config(community, demo.NORTH), now, url))
    finally:
        office.close()
    return community, outcomes, sent, time.perf_counter() - started


def test_demo_runs_every_case(tmp_path):
    now = datetime(2026, 11, 28, 10, 0, tzinfo=ZONE)
    community, outcomes, _, _ = _community(tmp_path, now, history=False)
    assert sorted(p.stem for p in community.cards_dir.glob("*.png")) == sorted(community.cards)
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
    store = OfficeStore(community.office_dir / "office.db")
    assert store.count_events(demo.NORTH.id) == last_seq
    assert {a["kind"] for a in store.open_alarms()} == {"fever", "quarantine_breach", "invalid_card", "unknown_visitor"}


def _by_gate_day_kind(store: OfficeStore) -> Counter:
    rows = store.database().execute("SELECT gate_id, ts, kind FROM events").fetchall()
    return Counter((gate_id, parse_ts(ts).astimezone(ZONE).date(), kind) for gate_id, ts, kind in rows)


def test_history_gives_every_desk_screen_something(tmp_path):
    now = datetime(2026, 11, 28, 15, 30, tzinfo=ZONE)
    community, outcomes, sent, seconds = _community(tmp_path, now)
    assert seconds < 10  # ~1.5 s here; the bound only catches a slow step sneaking in (a scrypt per passage)
    store = OfficeStore(community.office_dir / "office.db")
    assert store.flagged_events() == []  # every event fits the office's strict schemas
    for gate in demo.GATES:  # all of it synced, exactly once
        with JournalReader(community.gate_dir(gate) / "journal.db") as journal:
            assert journal.acked_seq == journal.last_seq == store.count_events(gate.id)
            assert journal.integrity_check() == "ok"
    assert sent[demo.SOUTH.id] == store.count_events(demo.SOUTH.id)
    counts = _by_gate_day_kind(store)
    for gate in demo.GATES:
        days = {day for (gate_id, day, kind) in counts if gate_id == gate.id and kind == "passage"}
        assert len(days) >= 3 and now.date() in days, (gate.id, days)
        assert sum(n for (gate_id, _, kind), n in counts.items() if gate_id == gate.id and kind == "shift_sign_in") >= 4
        assert any(gate_id == gate.id and kind == "vehicle" for gate_id, _, kind in counts)
    assert sum(n for (_, _, kind), n in counts.items() if kind == "visitor_registration") >= 1

    # Honest times: nothing of the history after now, passages in and out, busiest at the rush hours.
    rows = store.database().execute("SELECT gate_id, ts, kind, data FROM events WHERE gate_id = ?",
                                    [demo.SOUTH.id]).fetchall()
    assert all(parse_ts(ts) <= now for _, ts, _, _ in rows)
    passages = [e for e in store.events(demo.SOUTH.id, limit=1000) if e["kind"] == "passage"]
    assert {e["data"]["direction"] for e in passages} == {"in", "out"}
    hours = Counter(parse_ts(e["ts"]).astimezone(ZONE).hour for e in passages)
    rush = sum(hours[h] for h in (7, 8, 17, 18))
    assert rush > sum(hours.values()) / 2

    # Alarms: the gates' volunteers dealt with some (a fever among them), others wait for the office.
    alarms = store.database().execute("SELECT gate_id, kind, acknowledged_at, note FROM alarms").fetchall()
    handled = {(gate_id, kind) for gate_id, kind, acked, _ in alarms if acked}
    assert (demo.SOUTH.id, "fever") in handled and (demo.NORTH.id, "invalid_card") in handled
    assert {a["kind"] for a in store.open_alarms()} >= {"fever", "quarantine_breach", "invalid_card"}
    fever_ack = next(e for e in store.events(demo.SOUTH.id, limit=1000) if e["kind"] == "alarm_acknowledged"
                     and e["data"]["kind"] == "fever")
    assert fever_ack["data"]["outcome"] == "escorted_home" and fever_ack["volunteer_id"] == "2"
    visitor = next(e for e in store.events(demo.SOUTH.id, limit=1000) if e["kind"] == "visitor_registration")
    assert visitor["data"]["reason"] == "visiting_family" and visitor["data"]["id_hash"]  # a code; the ID only hashed
    assert "11010519491231002X" not in str(visitor["data"])
    assert store.check_password(demo.DESK_USER, demo.DESK_PASSWORD).role == "admin"
    # the script still runs as before on top of the history
    assert outcomes["王丽 reads 37.8 then 37.6 °C"].decision.verdict is Verdict.DENY

    # Seeding again changes nothing.
    office, url = demo.start_office(community)
    try:
        assert demo_history.seed_history(community, now, url) == {}
    finally:
        office.close()
    assert _by_gate_day_kind(store) == counts


def test_demo_command_and_rerun(tmp_path):
    runner = CliRunner()
    first = runner.invoke(main, ["demo", "--dir", str(tmp_path / "d")])
    assert first.exit_code == 0, first.output
    assert "ALARM: fever" in first.output and "ALARM: quarantine_breach" in first.output
    assert re.search(r"北门 \d+ events, 南门 \d+ events", first.output)
    store = OfficeStore(tmp_path / "d" / "office" / "office.db")
    today = datetime.now(ZONE).date()
    before = {k: n for k, n in _by_gate_day_kind(store).items() if k[1] < today}
    store.close()
    again = runner.invoke(main, ["demo", "--dir", str(tmp_path / "d")])
    assert again.exit_code == 0
    store = OfficeStore(tmp_path / "d" / "office" / "office.db")
    # the folder is made afresh: the past days hold the same events, not twice as many
    assert {k: n for k, n in _by_gate_day_kind(store).items() if k[1] < today} == before
    assert store.flagged_events() == []


def test_demo_serve_prints_the_desk_sign_in_that_works(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "kiosk.cli", "demo", "--serve", "--dir", str(tmp_path / "d"), "--gate-port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith("office desk:"):
                break
        match = DESK_LINE.match(lines[-1]) if lines else None
        assert match, "\n".join(lines)
        url, user, password = match.groups()
        assert (user, password) == (demo.DESK_USER, demo.DESK_PASSWORD)
        # the printed sign-in opens the desk
        with requests.Session() as browser:
            form = browser.get(url + "signin", timeout=10)
            assert form.status_code == 200
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
            signed_in = browser.post(url + "signin", data={"name": user, "password": password, "csrf_token": csrf,
                                                           "next": "/"},
                                     headers={"Origin": url.rstrip("/")}, allow_redirects=False, timeout=10)
            assert signed_in.status_code == 303, signed_in.text
            me = browser.get(url + "desk/api/me", headers={"Accept": "application/json"}, timeout=10)
            assert me.json()["name"] == user and me.json()["role"] == "admin"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_demo_never_wipes_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path)])
    assert result.exit_code == 2 and "not a demo folder" in result.output
    assert (tmp_path / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize("hour", [0, 4, 23])
def test_visitor_pass_covers_the_demo_at_any_hour(tmp_path, hour):
    # with the history too: at any hour it plans only what already happened, and every passage comes out as planned
    now = datetime(2026, 11, 28, hour, 30, tzinfo=ZONE)
    community, outcomes, sent, _ = _community(tmp_path, now)
    assert outcomes["visitor 陈来访 with a pre-registered pass"].decision.verdict is Verdict.ADMIT
    assert sent[demo.NORTH.id] > 0 and sent[demo.SOUTH.id] > 0


# -- starting from a prepared folder (`kiosk demo --copy-from`, what the browser tests' demos do) -----------------

def _aged(source: Path, folder: Path, hours: float) -> Path:
    """A copy of a finished demo folder that says it was seeded ``hours`` earlier."""
    import json
    import shutil

    shutil.copytree(source, folder)
    record_path = folder / demo.COMMUNITY_FILE
    record = json.loads(record_path.read_text(encoding="utf-8"))
    record["seeded_at"] = (datetime.fromisoformat(record["seeded_at"]) - timedelta(hours=hours)).isoformat()
    record_path.write_text(json.dumps(record), encoding="utf-8")
    return folder


def test_a_copy_of_a_prepared_folder_is_its_own_and_its_gates_are_heard_afresh(tmp_path):
    from kiosk.office.watch import OfflineWatch
    from tests.demo_process import prepared_folder

    prepared = prepared_folder()
    now = datetime.now(ZONE)
    copy, seeded_at = demo.copy_prepared(prepared, tmp_path / "copy", now)
    original, _ = demo.load_community(prepared)
    assert seeded_at <= now and (copy.cards, copy.gate_tokens, copy.staff_token) == (
        original.cards, original.gate_tokens, original.staff_token)
    assert copy.resident_cards == original.resident_cards and set(copy.resident_cards) == set(demo.RESIDENT_CARD_IDS)
    # its office.yaml names the copy's folders, so `kiosk office … --config` works on the copy
    config = demo.office_config_path(copy).read_text(encoding="utf-8")
    assert str(copy.office_dir.resolve()) in config and str(prepared) not in config
    assert oct((copy.directory / demo.COMMUNITY_FILE).stat().st_mode & 0o777) == "0o600"
    # the same history as the folder it came from; a change to the copy stays in the copy
    assert _by_gate_day_kind(OfficeStore(copy.office_dir / "office.db")) == \
        _by_gate_day_kind(OfficeStore(prepared / "office" / "office.db"))
    OfficeStore(copy.office_dir / "office.db").add_user("only-in-the-copy", "viewer", "a-long-password")
    assert OfficeStore(prepared / "office" / "office.db").check_password("only-in-the-copy", "a-long-password") is None

    # Started with heartbeats, both gates are heard now, not when the folder was made: the office's watch (its
    # first look comes as it starts) finds neither silent. A copy started without them was last heard earlier.
    before = datetime.now(UTC)
    office, _ = demo.start_office(copy, heartbeats=True)
    try:
        assert _last_heard(copy) == {gate.id: True for gate in demo.GATES}
        assert OfflineWatch(OfficeStore(copy.office_dir / "office.db"), 10).check(now=before + timedelta(seconds=5)) == []
    finally:
        office.close()
    silent, _ = demo.copy_prepared(prepared, tmp_path / "silent", now)
    office, _ = demo.start_office(silent)
    try:
        assert _last_heard(silent, before) == {gate.id: False for gate in demo.GATES}
    finally:
        office.close()


def _last_heard(community, since: datetime | None = None) -> dict[str, bool]:
    """Gate id → whether the office heard it since ``since`` (default: the last 30 s)."""
    from kiosk.office.watch import silences

    since = since or datetime.now(UTC) - timedelta(seconds=30)
    store = OfficeStore(community.office_dir / "office.db")
    return {row.gate_id: row.last_heard is not None and row.last_heard >= since for row in silences(store.database())}


def test_copy_from_refuses_what_it_cannot_start_from(tmp_path):
    from tests.demo_process import prepared_folder

    prepared = prepared_folder()
    runner = CliRunner()
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("mine")
    cases = [
        (tmp_path / "plain", tmp_path / "a", "not a finished demo folder"),  # no community.json
        (_aged(prepared, tmp_path / "old", 2), tmp_path / "b", "its history is out of date"),
        (prepared, prepared, "another folder than --dir"),
        (prepared, tmp_path / "plain", "not a demo folder"),  # --dir holds someone's files: never wiped
    ]
    for source, target, says in cases:
        result = runner.invoke(main, ["demo", "--dir", str(target), "--copy-from", str(source)])
        assert result.exit_code == 2 and says in result.output, (source, target, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert (tmp_path / "plain" / "notes.txt").read_text() == "mine"
    broken = _aged(prepared, tmp_path / "broken", 0)
    (broken / demo.COMMUNITY_FILE).write_text("{not json", encoding="utf-8")
    result = runner.invoke(main, ["demo", "--dir", str(tmp_path / "c"), "--copy-from", str(broken)])
    assert result.exit_code == 2 and "cannot be read" in result.output


def test_demo_serve_from_a_prepared_folder_opens_the_desk_and_the_gate(tmp_path):
    from tests.demo_process import DemoProcess
    from tests.office_fixtures import free_port

    gate_port = free_port()
    process = DemoProcess(tmp_path / "d", ["--gate-port", str(gate_port)], DESK_LINE.pattern[1:-1])
    try:
        url = process.ready.group(1)
        assert any("Copied from" in line for line in process.output)
        with requests.Session() as browser:
            form = browser.get(url + "signin", timeout=10)
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
            signed_in = browser.post(url + "signin", data={"name": demo.DESK_USER, "password": demo.DESK_PASSWORD,
                                                           "csrf_token": csrf, "next": "/"},
                                     headers={"Origin": url.rstrip("/")}, allow_redirects=False, timeout=10)
            assert signed_in.status_code == 303, signed_in.text
        # the gate serves the copied replica (the demo community's registry version) from the copy's folder
        status = requests.get(f"http://127.0.0.1:{gate_port}/api/v1/status", timeout=10).json()
        assert status["registry_version"] >= 1
        with JournalReader(tmp_path / "d" / "gate" / "journal.db") as journal:
            assert journal.last_seq > 0 and journal.integrity_check() == "ok"
    finally:
        assert process.stop()
    assert "gate stopped; journal closed" in "".join(process.output)
