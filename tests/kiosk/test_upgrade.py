"""``kiosk upgrade`` and ``kiosk migrate`` on real processes: releases in tmp_path, a fake ``systemctl`` first on PATH.

Each release is a copy of this repository's source with a ``.venv/bin/kiosk`` launcher that runs this
interpreter on that copy (a real venv per release would take minutes). The fake systemctl
(upgrade_fixtures/fake_systemctl.py) starts ``ROOT/current/.venv/bin/kiosk run --simulate`` (or ``office serve``)
as a background process and, like a Type=notify unit, answers ``restart`` only once its status URL answers.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.events import EventKind
from kiosk.gate.journal import Journal, JournalReader
from kiosk.upgrade import (
    Layout,
    StepLog,
    Systemctl,
    Upgrade,
    UpgradeError,
    applied_migrations,
    ledger_growth,
    restore_file,
    role_setup,
    snapshot_database,
)
from tests.office_fixtures import free_port

REPO = Path(__file__).resolve().parents[2]
FAKE = Path(__file__).resolve().parent / "upgrade_fixtures" / "fake_systemctl.py"
CRASH = Path(__file__).resolve().parent / "upgrade_fixtures" / "crash_after_ready.py"
UNIT = "kiosk-gate.service"
MARKER_MIGRATION = "kiosk.gate.journal/m900_upgrade_test"

# A migration the new release adds to its journal (appended to its copy of kiosk/gate/journal.py).
GOOD_MIGRATION = '''

@migrations()
def m900_upgrade_test(db: sqlite_utils.Database) -> None:
    """Added by tests/kiosk/test_upgrade.py: a new table, as a later version's migration would make."""
    db["upgrade_marker"].create({"id": int, "note": str}, pk="id")
'''
RAISING_MIGRATION = '''

@migrations()
def m900_upgrade_test(db: sqlite_utils.Database) -> None:
    """Added by tests/kiosk/test_upgrade.py: a migration that fails halfway."""
    db["upgrade_marker"].create({"id": int, "note": str}, pk="id")
    raise RuntimeError("deliberately broken migration")
'''


@pytest.fixture(scope="module")
def hanzi_cache(tmp_path_factory) -> Path:
    """One scan of pypinyin shared by every gate this module starts (the warm-up is a second of CPU each)."""
    return tmp_path_factory.mktemp("hanzi")


@dataclass
class Install:
    """An install root, a gate config and the fake systemctl's folder."""

    root: Path
    config: Path
    data: Path
    port: int
    fake: Path
    env: dict[str, str]
    role: str = "gate"

    @property
    def unit(self) -> str:
        return f"kiosk-{self.role}.service"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}" + ("/api/v1/status" if self.role == "gate" else "/healthz")

    def release(self, name: str, *, version: str = "0.1.0", migration: str = "", run_exits: bool = False,
                crash_after_ready: bool = False) -> Path:
        """A release folder: a source copy (with an extra journal migration if asked) and its kiosk launcher."""
        release = self.root / "releases" / name
        for package in ("kiosk", "web", "sensors"):
            shutil.copytree(REPO / package, release / package, ignore=shutil.ignore_patterns("__pycache__"))
        init = release / "kiosk" / "__init__.py"
        init.write_text(init.read_text(encoding="utf-8").replace('__version__ = "0.1.0"', f'__version__ = "{version}"'),
                        encoding="utf-8")
        if migration:
            with (release / "kiosk" / "gate" / "journal.py").open("a", encoding="utf-8") as out:
                out.write(migration)
        broken = ('if [ "$1" = run ]; then echo "启动失败 / deliberately broken at start" >&2; exit 1; fi\n'
                  if run_exits else "")
        if crash_after_ready:  # comes up, answers, and dies a moment later
            broken = f'if [ "$1" = run ]; then exec \'{sys.executable}\' \'{CRASH}\' \'{release}\' \'{self.url}\' "$@"; fi\n'
        launcher = release / ".venv" / "bin" / "kiosk"
        launcher.parent.mkdir(parents=True)
        launcher.write_text(f"#!/bin/sh\n{broken}PYTHONPATH='{release}' exec '{sys.executable}' -m kiosk.cli \"$@\"\n",
                            encoding="utf-8")
        launcher.chmod(0o755)
        return release

    def kiosk(self, release: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        """Run a release's own kiosk command (as the installer does, from the NEW release's venv)."""
        return subprocess.run([str(release / ".venv" / "bin" / "kiosk"), *args], capture_output=True, text=True,
                              timeout=timeout, env=self.env, cwd=self.root)

    def activate(self, release: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.kiosk(release, "upgrade", "activate", str(release), "--role", self.role, "--config", str(self.config),
                          "--root", str(self.root), "--timeout", "90", *extra)

    def state(self) -> dict:
        path = self.fake / "state" / f"{self.unit}.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def serves(self) -> bool:
        return requests.get(self.url, timeout=5).status_code == 200

    def stop_all(self) -> None:
        """End every service the fake systemctl started (by its recorded pid only)."""
        for path in (self.fake / "state").glob("*.json"):
            pid = json.loads(path.read_text()).get("pid")
            if not pid:
                continue
            with _gone():
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 20
                while Path(f"/proc/{pid}").exists() and _state_of(pid) not in ("Z", "X", None):
                    if time.monotonic() > deadline:
                        os.kill(pid, signal.SIGKILL)
                        break
                    time.sleep(0.1)


class _gone:
    """Ignore ProcessLookupError (the process ended by itself)."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        return kind is ProcessLookupError


def _state_of(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def _install(tmp_path: Path, hanzi_cache: Path, role: str) -> Install:
    root = tmp_path / "opt-kiosk"
    (root / "releases").mkdir(parents=True)
    data = tmp_path / f"var-lib-kiosk-{role}"
    data.mkdir()
    port = free_port()
    config = tmp_path / "etc" / ("config.yaml" if role == "gate" else "office.yaml")
    config.parent.mkdir()
    if role == "gate":
        config.write_text(f"gate: {{id: north, name: 北门, data_dir: {data}}}\nweb: {{port: {port}}}\n",
                          encoding="utf-8")
        command = ["run", "--simulate", "--config", str(config)]
    else:
        config.write_text(f"office: {{data_dir: {data}, keys_dir: {data / 'keys'}}}\n"
                          f"server: {{host: 127.0.0.1, port: {port}}}\n", encoding="utf-8")
        command = ["office", "serve", "--threads", "2", "--config", str(config)]
    fake = tmp_path / "fake-systemd"
    (fake / "units").mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    systemctl = bin_dir / "systemctl"
    systemctl.write_text(f"#!/bin/sh\nexec '{sys.executable}' '{FAKE}' \"$@\"\n", encoding="utf-8")
    systemctl.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_SYSTEMCTL_DIR": str(fake),
           "KIOSK_HANZI_CACHE_DIR": str(hanzi_cache), "PYTHONUNBUFFERED": "1"}
    env.pop("NOTIFY_SOCKET", None)
    env.pop("PYTHONPATH", None)
    setup = Install(root, config, data, port, fake, env, role)
    (fake / "units" / f"{setup.unit}.json").write_text(json.dumps({
        "exec": [str(root / "current" / ".venv" / "bin" / "kiosk"), *command],
        "cwd": str(root / "current"), "url": setup.url, "timeout": 90}))
    return setup


@pytest.fixture
def install(tmp_path, hanzi_cache):
    """A gate install root with a fake systemd; every service it started is ended afterwards."""
    setup = _install(tmp_path, hanzi_cache, "gate")
    try:
        yield setup
    finally:
        setup.stop_all()


@pytest.fixture
def office_install(tmp_path, hanzi_cache):
    """The same for an office."""
    setup = _install(tmp_path, hanzi_cache, "office")
    try:
        yield setup
    finally:
        setup.stop_all()


def _seed_journal(data: Path, events: int = 3) -> None:
    with Journal(data / "journal.db", "north") as journal:
        for _ in range(events):
            journal.append(EventKind.PASSAGE, {"verdict": "admit", "direction": "in"})


def _dump(db: Path) -> list[str]:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def _snapshot_of(install: Install, release: Path) -> Path:
    found = [p for p in (install.data / "pre-upgrade").iterdir() if p.name.endswith(release.name)]
    assert len(found) == 1, found
    return found[0]


def test_first_install_good_upgrade_status_and_rollback(install):
    _seed_journal(install.data)
    old = install.release("0.1.0-20261201T000000Z")
    first = install.activate(old)
    assert first.returncode == 0, first.stderr
    layout = Layout(install.root)
    assert layout.target(layout.current) == old and layout.target(layout.previous) is None
    assert install.state()["started_from"] == str(old) and install.serves()
    assert install.state()["enabled"] is True  # a first install's unit starts at boot too

    new = install.release("0.2.0-20261202T000000Z", version="0.2.0", migration=GOOD_MIGRATION)
    result = install.activate(new)
    assert result.returncode == 0, result.stderr
    assert "done: 0.2.0-20261202T000000Z is running" in result.stderr
    assert layout.target(layout.current) == new and layout.target(layout.previous) == old  # the old one kept
    assert (install.root / "releases" / old.name / ".venv" / "bin" / "kiosk").exists()
    assert install.state()["started_from"] == str(new) and install.serves()
    journal = install.data / "journal.db"
    assert MARKER_MIGRATION in applied_migrations(journal)  # the new release's migration ran
    snapshot = _snapshot_of(install, new) / "journal.db"
    assert MARKER_MIGRATION not in applied_migrations(snapshot)  # taken before it
    with JournalReader(journal) as reader:
        assert reader.last_seq == 3 and reader.integrity_check() == "ok"
    log = (install.root / "upgrade.log").read_text(encoding="utf-8")
    for step in ("snapshot", "migrating", "switching current", "systemctl restart", "is ready"):
        assert step in log

    shown = install.kiosk(new, "upgrade", "status", "--role", "gate", "--root", str(install.root), "--json")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["current"]["release"] == new.name and status["current"]["version"] == "0.2.0"
    assert status["previous"]["version"] == "0.1.0"
    assert status["units"][UNIT]["ActiveState"] == "active" and status["releases"] == [old.name, new.name]
    text = install.kiosk(new, "upgrade", "status", "--role", "gate", "--root", str(install.root))
    assert "current: 0.2.0-20261202T000000Z  version 0.2.0" in text.stdout and f"{UNIT}: active (running)" in text.stdout

    back = install.kiosk(new, "upgrade", "rollback", "--role", "gate", "--config", str(install.config),
                         "--root", str(install.root), "--timeout", "90")
    assert back.returncode == 0, back.stderr
    assert layout.target(layout.current) == old and layout.target(layout.previous) == new
    assert install.state()["started_from"] == str(old) and install.serves()
    with JournalReader(journal) as reader:
        assert reader.last_seq == 3  # a rollback by hand keeps the data (and the newer schema, which the old reads)


def test_broken_new_version_rolls_back_to_the_old_one(install):
    _seed_journal(install.data)
    old = install.release("0.1.0-20261201T000000Z")
    assert install.activate(old).returncode == 0
    before = _dump(install.data / "journal.db")
    broken = install.release("0.2.0-20261202T000000Z", version="0.2.0", migration=GOOD_MIGRATION, run_exits=True)
    result = install.activate(broken)
    assert result.returncode == 1, result.stderr
    assert "0.2.0-20261202T000000Z 没有启动 / 0.2.0-20261202T000000Z did not start" in result.stderr
    assert "0.1.0-20261201T000000Z, is running again" in result.stderr and "Traceback" not in result.stderr
    layout = Layout(install.root)
    assert layout.target(layout.current) == old and layout.target(layout.previous) is None  # as it was
    assert install.state()["started_from"] == str(old) and install.serves()  # the old process serves
    journal = install.data / "journal.db"
    snapshot = _snapshot_of(install, broken)
    # The migration had run; its database was put back (the changed copy is kept), so the old code reads its own.
    assert MARKER_MIGRATION not in applied_migrations(journal)
    assert MARKER_MIGRATION in applied_migrations(snapshot / "failed" / "journal.db")
    assert _dump(journal) == _dump(snapshot / "journal.db") == before


def test_migration_that_raises_rolls_back(install):
    _seed_journal(install.data)
    old = install.release("0.1.0-20261201T000000Z")
    assert install.activate(old).returncode == 0
    first_pid = install.state()["pid"]
    broken = install.release("0.2.0-20261202T000000Z", migration=RAISING_MIGRATION)
    result = install.activate(broken)
    assert result.returncode == 1
    assert "数据库迁移失败 / the migration failed" in result.stderr
    assert "deliberately broken migration" in result.stderr and "Traceback" not in result.stderr
    layout = Layout(install.root)
    assert layout.target(layout.current) == old
    state = install.state()
    assert state["started_from"] == str(old) and state["pid"] != first_pid and install.serves()  # restarted
    journal = install.data / "journal.db"
    assert "upgrade_marker" not in _dump(journal).__str__()
    assert _dump(journal) == _dump(_snapshot_of(install, broken) / "journal.db")


def test_no_start_and_a_failed_migration_leave_the_files_byte_identical(install):
    _seed_journal(install.data)
    old = install.release("0.1.0-20261201T000000Z")
    first = install.activate(old, "--no-start")
    assert first.returncode == 0, first.stderr
    assert install.state() == {"enabled": True}  # enabled, never started
    broken = install.release("0.2.0-20261202T000000Z", migration=RAISING_MIGRATION)
    result = install.activate(broken, "--no-start")
    assert result.returncode == 1 and "the migration failed" in result.stderr
    layout = Layout(install.root)
    assert layout.target(layout.current) == old
    snapshot = _snapshot_of(install, broken) / "journal.db"
    assert (install.data / "journal.db").read_bytes() == snapshot.read_bytes()
    assert "pid" not in install.state()
    # The installer run again with the release already current: nothing to switch, but the stopped service starts.
    again = install.activate(old)
    assert again.returncode == 0, again.stderr
    assert "nothing to switch" in again.stderr and "starting it" in again.stderr
    assert install.state()["started_from"] == str(old) and install.serves()


def test_first_install_that_fails_has_nothing_to_roll_back_to(install):
    broken = install.release("0.1.0-20261201T000000Z", run_exits=True)
    result = install.activate(broken)
    assert result.returncode == 1
    assert "this was a first install: there is no previous release to go back to" in result.stderr
    layout = Layout(install.root)
    assert layout.target(layout.current) is None and not layout.current.exists()
    nothing = install.kiosk(broken, "upgrade", "rollback", "--role", "gate", "--config", str(install.config),
                            "--root", str(install.root))
    assert nothing.returncode == 1 and "there is no previous release to go back to" in nothing.stderr
    assert not (install.data / "pre-upgrade").exists()  # nothing to snapshot: no folder made
    # One that comes up (making its databases) and dies: they are moved aside, so the next install starts clean.
    flaky = install.release("0.1.0-20261201T010000Z", crash_after_ready=True)
    result = install.activate(flaky)
    assert result.returncode == 1 and "this was a first install" in result.stderr, result.stderr
    assert not (install.data / "journal.db").exists() and not layout.current.exists()
    [kept] = (install.data / "pre-upgrade").glob("*/failed/journal.db")
    with JournalReader(kept) as reader:
        assert reader.gate_id == "north"
    assert kept.parent.stat().st_mode & 0o777 == 0o700


def test_not_a_release_changes_nothing(install, tmp_path):
    good = install.release("0.1.0-20261201T000000Z")
    empty = tmp_path / "not-a-release"
    empty.mkdir()
    result = install.kiosk(good, "upgrade", "activate", str(empty), "--role", "gate", "--config", str(install.config),
                           "--root", str(install.root))
    assert result.returncode == 1 and "not a release" in result.stderr and "nothing was changed" in result.stderr
    assert not (install.root / "current").exists() and install.state() == {}
    with (install.root / ".upgrade.lock").open("a") as lock:  # another upgrade holds the root
        fcntl.flock(lock, fcntl.LOCK_EX)
        busy = install.activate(good)
    assert busy.returncode == 1 and "another upgrade or rollback is running" in busy.stderr
    assert not (install.root / "current").exists() and install.state() == {}


def test_a_new_version_that_dies_right_after_coming_up_is_rolled_back(install):
    old = install.release("0.1.0-20261201T000000Z")
    assert install.activate(old).returncode == 0
    flaky = install.release("0.2.0-20261202T000000Z", crash_after_ready=True)
    result = install.activate(flaky)
    assert result.returncode == 1, result.stderr
    assert ("stopped right after coming up" in result.stderr or "exited after starting" in result.stderr
            or "did not start" in result.stderr), result.stderr
    layout = Layout(install.root)
    assert layout.target(layout.current) == old and install.state()["started_from"] == str(old)
    assert install.serves() and "is running again" in result.stderr


def test_office_upgrade(office_install):
    office = office_install
    old = office.release("0.1.0-20261201T000000Z")
    first = office.activate(old)
    assert first.returncode == 0, first.stderr
    assert (office.data / "office.db").is_file() and office.serves()  # made by the service at its first start
    from kiosk.office.store import OfficeStore

    new = office.release("0.2.0-20261202T000000Z", version="0.2.0")
    result = office.activate(new, "--json")
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["current"] == str(new) and outcome["previous"] == str(old) and outcome["migrations"] == []
    assert office.state()["started_from"] == str(new) and office.serves()
    snapshot = Path(outcome["snapshot"])
    assert sorted(p.name for p in snapshot.iterdir()) == ["office.db", "registry.db"]
    store = OfficeStore(office.data / "office.db")
    try:
        assert store.database()["gates"].exists()
    finally:
        store.close()


# A migration that also journals an event, as a new release that ran for a moment would have.
LEDGER_MIGRATION = """

@migrations()
def m900_upgrade_test(db: sqlite_utils.Database) -> None:
    db["upgrade_marker"].create({"id": int}, pk="id")
    db.execute("INSERT INTO events (seq, id, ts, gate_id, kind, data) VALUES "
               "(4, 'upgrade-test-4', '2026-12-01T00:00:00.000Z', 'north', 'passage', '{}')")
    db.execute("UPDATE meta SET value = 4 WHERE key = 'last_seq'")
"""


class RefusingSystemctl(Systemctl):
    """A service manager that refuses to enable: the step after the switch fails."""

    def enable(self, units):
        return "Failed to enable unit: test refuses"


def test_a_ledger_that_gained_events_is_kept_not_restored(install):
    _seed_journal(install.data)
    old = install.release("0.1.0-20261201T000000Z")
    layout = Layout(install.root)
    layout.point(layout.current, old)
    new = install.release("0.2.0-20261202T000000Z", migration=LEDGER_MIGRATION)
    lines: list[str] = []
    upgrade = Upgrade(layout, role_setup("gate", install.config), systemctl=RefusingSystemctl(),
                      log=StepLog(None, echo=lines.append), start=False)
    with pytest.raises(UpgradeError) as failed:
        upgrade.activate(new)
    message = str(failed.value)
    assert "enabling kiosk-gate.service failed: Failed to enable unit: test refuses" in message
    assert "kept as it is: 1 events were recorded while the new release ran" in message
    assert "nothing was started (--no-start)" in message and layout.target(layout.current) == old
    journal = install.data / "journal.db"
    with JournalReader(journal) as reader:
        assert reader.last_seq == 4  # the event stays, and seq 4 is never handed out twice
    snapshot = _snapshot_of(install, new) / "journal.db"
    assert ledger_growth(journal, snapshot) == 1 and ledger_growth(snapshot, journal) == 0
    assert any("switching current" in line for line in lines)


def test_restore_file_puts_back_the_snapshot_bytes_and_keeps_the_changed_file(tmp_path):
    db = tmp_path / "journal.db"
    _seed_journal(tmp_path)
    copy = tmp_path / "snap" / "journal.db"
    snapshot_database(db, copy)
    _seed_journal(tmp_path, events=2)  # the file changes after the snapshot
    restore_file(copy, db, tmp_path / "snap" / "failed")
    assert db.read_bytes() == copy.read_bytes()
    with JournalReader(tmp_path / "snap" / "failed" / "journal.db") as kept:
        assert kept.last_seq == 5


def _cli(*args: str):
    return CliRunner().invoke(main, list(args))


def test_migrate_command_reports_before_and_after_and_is_idempotent(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(f"gate: {{id: north, data_dir: {data}}}\n", encoding="utf-8")
    missing = _cli("migrate", "--role", "gate", "--config", str(config))
    assert missing.exit_code == 0 and missing.output.count("not there yet") == 2
    assert not (data / "journal.db").exists()  # left to the service, which makes it as its own user
    _seed_journal(data)
    # An older journal: as if written before m002 existed.
    conn = sqlite3.connect(data / "journal.db")
    conn.execute("DROP INDEX IF EXISTS idx_events_kind_ts")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm002_kind_ts_index'")
    conn.commit()
    conn.close()
    first = _cli("migrate", "--role", "gate", "--config", str(config), "--json")
    assert first.exit_code == 0, first.output
    journal = json.loads(first.output)["databases"][0]
    assert journal["applied"] == ["kiosk.gate.journal/m002_kind_ts_index"]
    assert journal["after"] == journal["before"] + journal["applied"]
    count = len(journal["after"])
    again = _cli("migrate", "--role", "gate", "--config", str(config))
    assert again.exit_code == 0 and f"journal.db: 已是最新（{count} 个迁移）/ up to date ({count} migrations)" in again.output


def test_migrate_command_clear_errors(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    Journal(data / "journal.db", "south").close()  # a journal file of this version's schema
    config = tmp_path / "config.yaml"
    config.write_text(f"gate: {{id: north, data_dir: {data}}}\n", encoding="utf-8")
    other = _cli("migrate", "--role", "gate", "--config", str(config))
    assert other.exit_code == 1 and "belongs to gate 'south'" in other.output and "迁移" in other.output
    bad = _cli("migrate", "--role", "kiosk", "--config", str(config))
    assert bad.exit_code == 2 and "'kiosk' is not one of 'gate', 'office'" in bad.output
    no_config = _cli("migrate", "--role", "office", "--config", str(tmp_path / "nope.yaml"))
    assert no_config.exit_code == 2 and "Traceback" not in no_config.output


def test_migrate_office_databases(tmp_path):
    config = tmp_path / "office.yaml"
    data = tmp_path / "office-data"
    config.write_text(f"office: {{data_dir: {data}, keys_dir: {data / 'keys'}}}\n", encoding="utf-8")
    data.mkdir()
    from kiosk.office.registry_master import RegistryMaster
    from kiosk.office.store import OfficeStore

    OfficeStore(data / "office.db").close()
    RegistryMaster(data / "registry.db").close()
    result = _cli("migrate", "--role", "office", "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    reports = json.loads(result.output)["databases"]
    assert [Path(r["path"]).name for r in reports] == ["office.db", "registry.db"]
    assert all(r["existed"] and r["applied"] == [] and r["after"] for r in reports)
