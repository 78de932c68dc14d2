"""``kiosk journal stats`` and ``kiosk journal tail``: read-only views of a journal file."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from kiosk.cli.journalcmd import journal as journal_group
from kiosk.events import EventKind
from kiosk.gate.journal import EventDraft, Journal, JournalReader

T0 = datetime(2026, 11, 28, 1, 30, tzinfo=UTC)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "journal.db"
    with Journal(path, "north-gate", clock=lambda: T0) as j:
        j.append(EventKind.PASSAGE, {"name": "张三", "verdict": "admit"}, subject="resident:12", volunteer_id="v1")
        j.append_many([EventDraft(EventKind.MEASUREMENT, {"t": 36.4 + i / 10}) for i in range(4)])
        j.acknowledge(2)
    return path


def run(*args: str):
    return CliRunner().invoke(journal_group, [str(a) for a in args])


def test_stats_table(db):
    result = run("stats", "--db", db)
    assert result.exit_code == 0, result.output
    for line in ("gate         north-gate", "last seq     5", "acked seq    2", "backlog      3",
                 "events held  5", "oldest       2026-11-28T01:30:00.000Z", "integrity    ok"):
        assert line in result.output.splitlines()


def test_stats_json(db):
    result = run("stats", "--db", db, "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats == {
        "path": str(db), "gate_id": "north-gate", "last_seq": 5, "acked_seq": 2, "backlog": 3, "count": 5,
        "oldest_ts": "2026-11-28T01:30:00.000Z", "newest_ts": "2026-11-28T01:30:00.000Z", "integrity": "ok",
    }


def test_stats_of_a_journal_that_a_gate_has_open(db):
    with Journal(db, "north-gate") as j:
        j.append(EventKind.PASSAGE, {})
        result = run("stats", "--db", db, "--json")
    assert json.loads(result.output)["last_seq"] == 6


def test_stats_exits_1_when_the_integrity_check_fails(db, monkeypatch):
    monkeypatch.setattr(JournalReader, "integrity_check", lambda self: "row 3 missing from index idx_events_id")
    result = run("stats", "--db", db, "--json")
    assert result.exit_code == 1
    assert json.loads(result.output)["integrity"].startswith("row 3 missing")


def test_tail_lines(db):
    result = run("tail", "--db", db, "-n", "2")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[:3] == ["4", "2026-11-28T01:30:00.000Z", "measurement"]
    assert lines[1].split()[0] == "5"


def test_tail_shows_chinese_readably(db):
    result = run("tail", "--db", db, "-n", "5")
    first = result.output.splitlines()[0]
    assert "张三" in first and "resident:12" in first and "v1" in first


def test_tail_json_lines(db):
    result = run("tail", "--db", db, "--json")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines()]
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    assert events[0]["data"] == {"name": "张三", "verdict": "admit"}
    assert events[0]["kind"] == "passage" and events[0]["gate_id"] == "north-gate"


def test_tail_of_an_empty_journal(tmp_path):
    path = tmp_path / "empty.db"
    Journal(path, "north-gate").close()
    result = run("tail", "--db", path)
    assert result.exit_code == 0 and result.output == ""


@pytest.mark.parametrize("command", ["stats", "tail"])
def test_a_missing_file_is_a_usage_error_and_is_not_created(tmp_path, command):
    path = tmp_path / "missing.db"
    result = run(command, "--db", path)
    assert result.exit_code == 2
    assert "does not exist" in result.output and str(path) in result.output
    assert not path.exists()


@pytest.mark.parametrize("command", ["stats", "tail"])
def test_a_file_that_is_not_a_journal_is_a_usage_error(tmp_path, command):
    text = tmp_path / "notes.txt"
    text.write_text("not a database " * 100)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (a)").connection.close()
    for path in (text, other):
        result = run(command, "--db", path)
        assert result.exit_code == 2, result.output
        assert result.output.startswith("Error:")


def test_db_is_required():
    result = run("stats")
    assert result.exit_code == 2 and "--db" in result.output


def test_every_command_has_help():
    for command in ("stats", "tail"):
        result = run(command, "--help")
        assert result.exit_code == 0 and "--db" in result.output
