"""The office's backup and restore, end to end: a real `kiosk office serve` process ingesting over HTTP while
`kiosk office backup` runs, rotation over many runs, a damaged backup refused, a restore the office then serves."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from kiosk.config import load_office_config
from kiosk.office.backup import backup_dir, list_backups, run_backup, verify
from kiosk.office.store import OfficeStore
from tests.office_fixtures import free_port

REPO = Path(__file__).resolve().parents[3]
KIOSK = [sys.executable, "-m", "kiosk.cli"]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.fixture
def office(tmp_path):
    """An office folder (keys, one gate, one staff account) and its office.yaml on a free port."""
    from kiosk.keys import init_keys
    from kiosk.office.accounts import Accounts

    init_keys(tmp_path / "keys")
    port = free_port()
    config = tmp_path / "office.yaml"
    config.write_text(f"office: {{data_dir: {tmp_path / 'data'}, keys_dir: {tmp_path / 'keys'}}}\n"
                      f"server: {{host: 127.0.0.1, port: {port}}}\n", encoding="utf-8")
    store = OfficeStore(tmp_path / "data" / "office.db")
    token = store.add_gate("north")
    staff = Accounts(store).add_user("zhang", "staff", "a-long-password", actor="test")
    store.close()
    return {"dir": tmp_path, "config": config, "port": port, "url": f"http://127.0.0.1:{port}", "gate": token,
            "staff": staff, "data": tmp_path / "data", "backups": tmp_path / "data-backups"}


def _kiosk(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*KIOSK, *map(str, args)], capture_output=True, text=True, env=_env(), timeout=timeout)


def _serve(office) -> subprocess.Popen:
    process = subprocess.Popen([*KIOSK, "office", "serve", "--config", str(office["config"])],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
    deadline = time.monotonic() + 90  # an office starts in ~1 s here; far slower on a slow or emulated machine
    while time.monotonic() < deadline:
        try:
            if requests.get(office["url"] + "/healthz", timeout=1).status_code == 200:
                return process
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the office did not come up")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _events(first: int, n: int) -> list[dict]:
    now = datetime.now(UTC).isoformat()
    return [{"seq": s, "id": f"north-{s}", "ts": now, "gate_id": "north", "kind": "passage", "data": {"n": s}}
            for s in range(first, first + n)]


def _post(office, first: int, n: int, session: requests.Session | None = None) -> int:
    http = session or requests
    answer = http.post(office["url"] + "/api/v1/sync/events", json={"events": _events(first, n)},
                       headers={"Authorization": f"Bearer {office['gate']}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return first + n


def _state(db: Path) -> tuple[int, int, int]:
    """(events, highest seq, the recorded high-water mark) of gate north in an office.db."""
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        count, top = conn.execute("SELECT count(*), coalesce(max(seq), 0) FROM events WHERE gate_id = 'north'").fetchone()
        high = conn.execute("SELECT high_water FROM gate_state WHERE gate_id = 'north'").fetchone()
    finally:
        conn.close()
    return count, top, high[0] if high else 0


def _staff_events(office) -> list[dict]:
    found, after = [], 0
    while True:
        answer = requests.get(office["url"] + "/api/v1/gates/north/events", params={"after": after, "limit": 1000},
                              headers={"Authorization": f"Bearer {office['staff']}"}, timeout=10)
        assert answer.status_code == 200, answer.text
        page = answer.json()["events"]
        if not page:
            return found
        found += page
        after = page[-1]["seq"]


def test_a_backup_while_the_office_ingests_fails_no_request_and_is_consistent(office):
    server = _serve(office)
    failures: list[str] = []
    sent = {"next": 1}
    stop = threading.Event()

    def gate() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    sent["next"] = _post(office, sent["next"], 50, session)
                except (AssertionError, requests.RequestException) as exc:
                    failures.append(str(exc))
                    return

    try:
        sent["next"] = _post(office, 1, 1000)
        poster = threading.Thread(target=gate, daemon=True)
        poster.start()
        time.sleep(0.5)
        before = sent["next"]
        result = _kiosk("office", "backup", "--config", office["config"])
        during = sent["next"] - before
        time.sleep(0.3)
        stop.set()
        poster.join(15)
    finally:
        _stop(server)
    assert result.returncode == 0, result.stderr
    assert "备份完成" in result.stdout and "backup done" in result.stdout and "0600" in result.stdout
    assert failures == [], failures
    assert during > 0, "the gate's events kept arriving while the backup ran"
    [folder] = list_backups(office["backups"])
    verdict = verify(folder)
    assert verdict.ok, verdict.problems
    count, top, high = _state(folder / "data" / "office.db")
    assert count == top == high >= 1000, "one moment of the store: every batch whole, the high-water mark matches"
    modes = {f["path"]: (folder / f["path"]).stat().st_mode & 0o777 for f in verdict.manifest["files"]}
    assert modes["keys/signing-key.pem"] == 0o600 and set(modes.values()) == {0o600}
    assert {"data/office.db", "data/registry.db", "keys/keyset.json", "config/office.yaml"} <= set(modes)
    schema = next(f for f in verdict.manifest["files"] if f["path"] == "data/office.db")["schema"]
    assert "m001_initial" in schema["migrations"]["kiosk.office.store"]


def test_rotation_keeps_what_it_says_and_a_failed_run_removes_nothing(office):
    config = load_office_config(office["config"]).model_copy(
        update={"backup": load_office_config(office["config"]).backup.model_copy(
            update={"keep_daily": 3, "keep_weekly": 2, "keep_monthly": 2})})
    start = datetime(2026, 9, 1, 18, 30, tzinfo=UTC)
    runs = [start + timedelta(days=3 * i) for i in range(25)]  # every third day for 72 days
    for when in runs:
        run_backup(config, config_path=office["config"], now=when)
    kept = [datetime.strptime(p.name, "%Y-%m-%dT%H%M%SZ").replace(tzinfo=UTC) for p in list_backups(office["backups"])]
    newest = runs[-1]
    assert kept[0] == newest
    # 3 daily (the last three runs), 2 weekly (newest of the last two weeks: already daily ones), 2 monthly
    # (newest of November: the newest run; of October: its last run) — days and months in the office's time
    # zone (Asia/Shanghai by default), where 18:30 UTC is already 02:30 the next day.
    local = ZoneInfo("Asia/Shanghai")
    last_of_october = max(r for r in runs if r.astimezone(local).month == 10)
    assert last_of_october.astimezone(local).day == 29
    assert set(kept) == {*runs[-3:], last_of_october}
    # A run that fails (the office database is damaged) leaves every backup as it was, and no partial folder.
    before = sorted(p.name for p in office["backups"].iterdir())
    db = office["data"] / "office.db"
    for side in ("-wal", "-shm"):
        Path(str(db) + side).unlink(missing_ok=True)
    data = bytearray(db.read_bytes())
    for offset in range(4096, len(data), 4096):
        data[offset: offset + 64] = b"\xa5" * 64
    db.write_bytes(bytes(data))
    from kiosk.backup import BackupError

    with pytest.raises(BackupError):
        run_backup(config, config_path=office["config"], now=newest + timedelta(days=30))
    assert sorted(p.name for p in office["backups"].iterdir()) == before


def test_a_backup_dir_inside_data_dir_and_a_full_disk_are_refused_clearly(office):
    result = _kiosk("office", "backup", "--config", office["config"], "--to", office["data"] / "backups")
    assert result.returncode == 2
    assert "不能在 office.data_dir 里面" in result.stderr and "inside office.data_dir" in result.stderr
    assert not (office["data"] / "backups").exists()
    import kiosk.office.backup as module

    config = load_office_config(office["config"])
    original = module.MARGIN_BYTES
    module.MARGIN_BYTES = 1 << 60  # more than any disk has
    try:
        with pytest.raises(module.BackupError) as caught:
            run_backup(config, config_path=office["config"])
    finally:
        module.MARGIN_BYTES = original
    assert caught.value.code == "space" and "空间不足" in str(caught.value) and "not enough free space" in str(caught.value)
    assert list_backups(backup_dir(config)) == []


def _live_digest(office) -> dict[str, bytes]:
    files = [*office["data"].iterdir(), *(office["dir"] / "keys").iterdir()]
    return {str(p): p.read_bytes() for p in files if p.is_file()}


def test_a_damaged_backup_is_refused_on_restore_and_nothing_changes(office):
    server = _serve(office)
    try:
        _post(office, 1, 200)
    finally:
        _stop(server)
    assert _kiosk("office", "backup", "--config", office["config"]).returncode == 0
    [folder] = list_backups(office["backups"])
    copy = folder / "data" / "office.db"
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: the checksum catches it
    copy.write_bytes(bytes(data))
    before = _live_digest(office)
    listed = _kiosk("office", "backups", "--config", office["config"])
    assert "损坏 DAMAGED" in listed.stdout and "data/office.db" in listed.stdout
    result = _kiosk("office", "restore", folder.name, "--config", office["config"], "--yes")
    assert result.returncode == 1
    assert "备份已损坏" in result.stderr and "damaged, nothing was changed" in result.stderr
    assert "checksum differs" in result.stderr and "data/office.db" in result.stderr
    assert _live_digest(office) == before, "not one live file touched, nothing moved aside"


def test_restore_brings_the_data_back_and_the_office_serves_it(office):
    server = _serve(office)
    try:
        _post(office, 1, 300)
    finally:
        _stop(server)
    backup = _kiosk("office", "backup", "--config", office["config"])
    assert backup.returncode == 0, backup.stderr
    # Disaster: the data folder is lost (a dead disk), and a new office starts empty on it.
    import shutil

    shutil.rmtree(office["data"])
    store = OfficeStore(office["data"] / "office.db")
    assert store.count_events() == 0
    store.close()
    result = _kiosk("office", "restore", "latest", "--config", office["config"], "--yes")
    assert result.returncode == 0, result.stderr
    assert "已恢复" in result.stdout and "restored" in result.stdout and "before-restore-" in result.stdout
    assert list(office["data"].glob("office.db.before-restore-*")), "the empty database it replaced is kept aside"
    server = _serve(office)
    try:
        events = _staff_events(office)  # the staff account came back with office.db: its token still works
        assert [e["seq"] for e in events] == list(range(1, 301))
        _post(office, 301, 10)  # and the gate carries on where it was
        assert len(_staff_events(office)) == 310
    finally:
        _stop(server)


def test_restore_while_the_office_serves_is_refused(office):
    assert _kiosk("office", "backup", "--config", office["config"]).returncode == 0
    server = _serve(office)
    try:
        before = _live_digest(office)
        result = _kiosk("office", "restore", "latest", "--config", office["config"], "--yes")
    finally:
        _stop(server)
    assert result.returncode == 2
    assert "办公室服务正在运行" in result.stderr and "the office is serving" in result.stderr
    assert not list(office["data"].glob("*.before-restore-*")) and not list(office["data"].glob(".*restore-tmp"))
    assert {k for k in before if not k.endswith(("-wal", "-shm"))} <= set(_live_digest(office)), "nothing moved"


def test_restore_of_an_unknown_backup_says_how_to_list_them(office):
    result = _kiosk("office", "restore", "2020-01-01T000000Z", "--config", office["config"], "--yes")
    assert result.returncode == 2
    assert "找不到备份" in result.stderr and "kiosk office backups" in result.stderr
    assert "Traceback" not in result.stderr


def test_backup_and_backups_as_json(office):
    from tests.office_fixtures import run_office

    made = run_office(office["config"], "backup", "--json")
    assert made.exit_code == 0, made.output
    run = json.loads(made.output)
    assert run["ok"] is True and run["files"] >= 4 and run["removed"] == []
    listed = run_office(office["config"], "backups", "--json", "--quick")
    assert listed.exit_code == 0, listed.output
    [entry] = json.loads(listed.output)["backups"]
    assert entry["ok"] is True and entry["path"] == run["path"] and entry["size"] == run["size"]
    assert entry["software"] and entry["problems"] == []


def test_a_long_copy_shows_its_progress(office):
    from kiosk.office.registry_master import RegistryMaster
    from tests.office_fixtures import run_office

    RegistryMaster(office["data"] / "registry.db").close()  # WAL, as the office opens it
    conn = sqlite3.connect(office["data"] / "registry.db")
    conn.execute("CREATE TABLE padding (blob BLOB)")
    conn.executemany("INSERT INTO padding VALUES (?)", ((os.urandom(64 * 1024),) for _ in range(200)))  # 12.5 MiB
    conn.commit()
    conn.close()
    result = run_office(office["config"], "backup")
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines() if line.strip().startswith("data/registry.db:")]
    assert lines[-1] == "data/registry.db: 100 %" and len(lines) >= 5, lines
    assert all(line.endswith("0 %") for line in lines), "a line per tenth"
    assert not any(line.strip().startswith("data/office.db:") for line in result.output.splitlines()), \
        "a small database is copied without progress lines"
