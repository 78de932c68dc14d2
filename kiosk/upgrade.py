"""Upgrades of an installed gate or office: migrate, switch ``current``, restart, and go back if it does not come up.

The install layout (docs/upgrade.md): ``ROOT/releases/<version>-<UTCstamp>/`` holds one release (a source copy
and its own ``.venv``); ``ROOT/current`` and ``ROOT/previous`` are symlinks to the running release and the one
before; the units start ``ROOT/current/.venv/bin/kiosk``.

``activate`` runs, in this order, each step logged (stderr and ``ROOT/upgrade.log``):

1. the new release's ``kiosk --version`` answers (else nothing has changed);
2. the role's units stop, so nothing writes the databases while they are copied (an event journaled after the
   snapshot would be lost if the snapshot had to be put back);
3. each database is snapshotted (``kiosk.backup.snapshot``) into ``DATA_DIR/pre-upgrade/<stamp>/``;
4. the new release's ``kiosk migrate`` runs its migrations;
5. ``current`` (and ``previous``) are switched, each by a new symlink renamed over the old one, and the units are
   enabled (with ``--no-start`` that is the last step);
6. ``systemctl restart``; a ``Type=notify`` unit returns only after READY=1 or fails; then the status URL must
   answer and the unit must still be active a moment later, all within the timeout.

A failure at any step undoes what was done, newest first: the units stop, the databases a migration changed
are put back from the snapshot (the changed files are kept in the snapshot's ``failed/`` folder) — except a
ledger that gained events meanwhile, which is kept (:func:`ledger_growth`) — the links point where they did, and
the previous release is restarted. ``rollback`` goes back to ``previous`` by the same
steps. The service manager is a seam (:class:`Systemctl`, ``systemctl`` found on ``PATH``) and the root a
parameter, so the tests run all of it with a fake ``systemctl`` and real processes.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.exc import KioskError

ROLES = ("gate", "office")
# The system units each role restarts (systemd/). The gate's browser is a user unit that waits for the gate.
UNITS = {"gate": ("kiosk-gate.service",), "office": ("kiosk-office.service",)}
DEFAULT_ROOT = Path("/opt/kiosk")
DEFAULT_CONFIG = {"gate": "/etc/kiosk/config.yaml", "office": "/etc/kiosk/office.yaml"}
SNAPSHOT_DIR = "pre-upgrade"  # under the role's data directory: same file system, and it survives an overlay root
KEEP_SNAPSHOTS = 3
DEFAULT_TIMEOUT_S = 120.0
SETTLE_S = 2.0  # a release that says READY and dies a moment later has not come up
# A migration on a Pi's SD card (a VACUUM of a large file) may take minutes; with the other steps' bounds the
# worst case stays under the 900 s the installer (kiosk/install.py) gives the whole activation.
MIGRATE_TIMEOUT_S = 300.0
LOG_NAME = "upgrade.log"


class UpgradeError(KioskError):
    """An upgrade or rollback did not complete; the message says in Chinese and English what happened."""


# ---------------------------------------------------------------------------------------------------- databases


@dataclass(frozen=True)
class RoleSetup:
    """What an upgrade needs to know of a role: its databases, its units and its status URL."""

    role: str
    config_path: Path
    data_dir: Path
    databases: tuple[Path, ...]
    units: tuple[str, ...]
    host: str
    port: int
    path: str
    tls: bool

    @property
    def status_url(self) -> str:
        """The URL that answers once the role serves (for messages)."""
        target = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"{'https' if self.tls else 'http'}://{target}:{self.port}{self.path}"


def check_role(role: str) -> str:
    """``role`` when it is gate or office, else an UpgradeError."""
    if role not in ROLES:
        raise UpgradeError(f"角色只能是 gate 或 office / role must be gate or office, got {role!r}")
    return role


def role_setup(role: str, config_path: str | Path) -> RoleSetup:
    """Read the role's config: where its databases are and where it answers once serving."""
    check_role(role)
    path = Path(config_path)
    if role == "gate":
        from kiosk.config import load_gate_config

        gate = load_gate_config(path)
        data = Path(gate.gate.data_dir)
        return RoleSetup(role, path, data, (data / "journal.db", data / "registry.db"), UNITS[role],
                         gate.web.host, gate.web.port, "/api/v1/status", False)
    from kiosk.config import load_office_config
    from kiosk.office.paths import OfficePaths

    office = load_office_config(path)
    paths = OfficePaths.of(office)
    return RoleSetup(role, path, paths.data_dir, (paths.store, paths.registry), UNITS[role],
                     office.server.host, office.server.port, "/healthz", office.server.tls_cert is not None)


def applied_migrations(db: Path) -> list[str]:
    """``set/name`` of every migration recorded in ``db`` (read-only; [] for a missing or new file)."""
    if not db.is_file():
        return []
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT migration_set, name FROM _sqlite_migrations ORDER BY rowid").fetchall()
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise UpgradeError(f"无法读取数据库 {db} / cannot read database {db}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise UpgradeError(f"无法读取数据库 {db} / cannot read database {db}: {exc}") from exc
    return [f"{row[0]}/{row[1]}" for row in rows]


@dataclass(frozen=True)
class MigrationReport:
    """One database before and after ``kiosk migrate``."""

    path: str
    existed: bool
    before: list[str]
    after: list[str]

    @property
    def applied(self) -> list[str]:
        """The migrations this run applied."""
        return [name for name in self.after if name not in self.before]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"path": self.path, "existed": self.existed, "before": self.before, "after": self.after,
                "applied": self.applied}


def _owner_of(path: Path) -> tuple[int, int] | None:
    with contextlib.suppress(OSError):
        st = path.stat()
        return st.st_uid, st.st_gid
    return None


def _give_back(db: Path, owner: tuple[int, int] | None) -> None:
    """Files made beside ``db`` by a root process belong to the service's user again (else it cannot write)."""
    if owner is None or os.geteuid() != 0:
        return
    for candidate in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        with contextlib.suppress(FileNotFoundError):
            os.chown(candidate, *owner)


def migrate(setup: RoleSetup) -> list[MigrationReport]:
    """Open the role's databases with this version's code so their migrations run; idempotent.

    Only files that exist are migrated: a missing one is made by the service at its first start, as its own
    user (made here, by root, the service could not write it).
    """
    reports = []
    for db in setup.databases:
        before = applied_migrations(db)
        existed = db.is_file()
        if existed:
            owner = _owner_of(db)
            try:
                _open_and_close(setup, db)
            except KioskError as exc:
                raise UpgradeError(f"迁移 {db} 失败 / migrating {db} failed: {exc}") from exc
            except Exception as exc:  # a migration's own error: said in one line, never a traceback
                raise UpgradeError(f"迁移 {db} 失败 / migrating {db} failed: {type(exc).__name__}: {exc}") from exc
            finally:
                _give_back(db, owner)
        reports.append(MigrationReport(str(db), existed, before, applied_migrations(db)))
    return reports


def _open_and_close(setup: RoleSetup, db: Path) -> None:
    if setup.role == "gate":
        if db.name == "journal.db":
            from kiosk.config import load_gate_config
            from kiosk.gate.journal import Journal

            Journal(db, load_gate_config(setup.config_path).gate.id).close()
        else:
            from kiosk.registry import Registry

            Registry(db).close()
    elif db.name == "office.db":
        from kiosk.office.store import OfficeStore

        OfficeStore(db).close()
    else:
        from kiosk.office.registry_master import RegistryMaster

        RegistryMaster(db).close()


# The ledgers: how many events a file holds, by the count that only ever grows.
_LEDGER_COUNT = {"journal.db": "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'last_seq'",
                 "office.db": "SELECT count(*) FROM events"}


def ledger_growth(db: Path, copy: Path) -> int:
    """How many more events ``db`` holds than its snapshot ``copy`` (0 for a file that is not a ledger, or unreadable)."""
    query = _LEDGER_COUNT.get(db.name)
    if query is None:
        return 0
    counts = []
    for path in (db, copy):
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                row = conn.execute(query).fetchone()
            finally:
                conn.close()
        except sqlite3.Error:
            return 0
        counts.append(int(row[0]) if row and row[0] is not None else 0)
    return max(0, counts[0] - counts[1])


def snapshot_database(src: Path, dest: Path) -> None:
    """A consistent, checked, synced copy of one database (kiosk.backup: the same copy the office's backup makes)."""
    from kiosk.backup import snapshot

    snapshot(src, dest)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def restore_file(snapshot: Path, db: Path, keep_in: Path) -> None:
    """Put ``snapshot`` back as ``db`` (its service stopped): the current file and its -wal/-shm are moved to
    ``keep_in`` first, the copy is written beside ``db``, synced and renamed over it, with ``db``'s owner and mode."""
    keep_in.mkdir(parents=True, exist_ok=True, mode=0o700)  # the changed file holds the same personal data
    st = db.stat() if db.exists() else snapshot.stat()
    for part in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        if part.exists():
            shutil.move(str(part), keep_in / part.name)  # a rename on the same file system
    temp = db.with_name(f".{db.name}.restoring")
    shutil.copyfile(snapshot, temp)
    os.chmod(temp, st.st_mode & 0o777)
    if os.geteuid() == 0:
        os.chown(temp, st.st_uid, st.st_gid)
    _fsync(temp)
    os.replace(temp, db)
    _fsync(db.parent)


# ---------------------------------------------------------------------------------------------------- the seams


class StepLog:
    """Every step of an upgrade, one timestamped line to stderr (systemd's journal) and to ``ROOT/upgrade.log``."""

    def __init__(self, file: Path | None, echo: Callable[[str], None] | None = None):
        self.file = file
        self.echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
        self.lines: list[str] = []

    def __call__(self, message: str) -> None:
        line = f"{datetime.now(UTC).isoformat(timespec='seconds').replace('+00:00', 'Z')} {message}"
        self.lines.append(line)
        self.echo(line)
        if self.file is not None:
            with contextlib.suppress(OSError):  # a read-only root must not stop an upgrade from saying what it did
                with self.file.open("a", encoding="utf-8") as out:
                    out.write(line + "\n")


class Systemctl:
    """The service manager: ``systemctl`` as a subprocess (the first on ``PATH`` unless given)."""

    def __init__(self, command: tuple[str, ...] = ("systemctl",), log: Callable[[str], None] | None = None):
        self.command = command
        self.log = log or (lambda message: None)

    def _run(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run([*self.command, *args], capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except FileNotFoundError as exc:
            raise UpgradeError(f"找不到 systemctl / systemctl not found ({self.command[0]}): "
                               "用 --no-start 在没有 systemd 的环境里安装 / use --no-start where systemd does not run"
                               ) from exc
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess([*self.command, *args], 124, "", f"timed out after {timeout:g} s")

    def _act(self, verb: str, units: tuple[str, ...], timeout: float) -> str | None:
        self.log(f"systemctl {verb} {' '.join(units)}")
        result = self._run(verb, *units, timeout=timeout)
        if result.returncode != 0:
            return (result.stderr or result.stdout).strip()[-400:] or f"exit status {result.returncode}"
        return None

    def restart(self, units: tuple[str, ...], timeout: float) -> str | None:
        """Restart (or start) the units; a problem, or None once every one is up (READY=1 for Type=notify)."""
        return self._act("restart", units, timeout)

    def stop(self, units: tuple[str, ...], timeout: float = 60.0) -> str | None:
        """Stop the units; a problem or None."""
        return self._act("stop", units, timeout)

    def enable(self, units: tuple[str, ...]) -> str | None:
        """Enable the units at boot (no start); a problem or None."""
        return self._act("enable", units, 60.0)

    def is_active(self, unit: str) -> str:
        """``active``, ``inactive``, ``failed``, … as ``systemctl is-active`` prints it."""
        return self._run("is-active", unit, timeout=30).stdout.strip() or "unknown"

    def show(self, unit: str) -> dict[str, str]:
        """ActiveState, SubState and StatusText of a unit ({} when systemctl cannot say)."""
        result = self._run("show", "-p", "ActiveState,SubState,StatusText", unit, timeout=30)
        if result.returncode != 0:
            return {}
        pairs = (line.partition("=") for line in result.stdout.splitlines() if "=" in line)
        return {key: value for key, _, value in pairs}


def status_answers(setup: RoleSetup, timeout_s: float = 2.0) -> str | None:
    """None when the role's status URL answers 2xx, else the problem."""
    from kiosk.service_notify import http_answers

    return http_answers(setup.host, setup.port, setup.path, tls=setup.tls, timeout_s=timeout_s)()


# ---------------------------------------------------------------------------------------------------- layout


class Layout:
    """``ROOT/releases``, ``ROOT/current``, ``ROOT/previous``; links switched by rename, never removed first."""

    def __init__(self, root: str | Path = DEFAULT_ROOT):
        self.root = Path(root)
        self.releases = self.root / "releases"
        self.current = self.root / "current"
        self.previous = self.root / "previous"

    def target(self, link: Path) -> Path | None:
        """The release a link points at (absolute), or None without the link."""
        if not link.is_symlink():
            return None
        return (link.parent / os.readlink(link)).resolve()

    def point(self, link: Path, release: Path | None) -> None:
        """Make ``link`` point at ``release`` atomically (a new link renamed over it); None removes it."""
        if release is None:
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
            return
        release = release.resolve()
        try:
            value = os.path.relpath(release, link.parent.resolve())  # relative: the root may be mounted elsewhere
        except ValueError:
            value = str(release)
        temp = link.with_name(f".{link.name}.new")
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        os.symlink(value, temp)
        os.replace(temp, link)
        _fsync(link.parent)


def release_version(release: Path | None) -> str | None:
    """The version in a release's source copy (``kiosk/__init__.py``), without running it."""
    if release is None:
        return None
    with contextlib.suppress(OSError):
        found = re.search(r'^__version__\s*=\s*["\']([^"\']{1,40})["\']',
                          (release / "kiosk" / "__init__.py").read_text(encoding="utf-8"), re.M)
        if found:
            return found.group(1)
    return None


def kiosk_of(release: Path) -> Path:
    """A release's own ``kiosk`` command."""
    return release / ".venv" / "bin" / "kiosk"


# ---------------------------------------------------------------------------------------------------- the run


@dataclass
class Outcome:
    """What an activate or rollback did."""

    role: str
    current: str | None
    previous: str | None
    migrations: list[str] = field(default_factory=list)
    snapshot: str | None = None
    started: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return dict(self.__dict__)


class Upgrade:
    """One activate or rollback of a role under ``layout``; see the module's docstring for the order of steps."""

    def __init__(self, layout: Layout, setup: RoleSetup, *, systemctl: Systemctl | None = None,
                 log: StepLog | None = None, timeout_s: float = DEFAULT_TIMEOUT_S, start: bool = True,
                 probe: Callable[[RoleSetup], str | None] = status_answers):
        self.layout = layout
        self.setup = setup
        self.log = log or StepLog(layout.root / LOG_NAME)
        self.systemctl = systemctl or Systemctl(log=self.log)
        self.timeout_s = timeout_s
        self.start = start
        self.probe = probe

    # -- the two entry points

    def activate(self, release: Path) -> Outcome:
        """Make ``release`` the running one (a first install when there is no ``current`` yet)."""
        release = Path(release).resolve()
        with self._locked():
            current = self.layout.target(self.layout.current)
            if current == release:
                self.log(f"已是当前版本 / {release.name} is already the current release: nothing to switch")
                started = False
                if self.start and (state := self._inactive()) is not None:  # e.g. the installer run again
                    self.log(f"服务没有运行，启动它 / the service is not running ({state}): starting it")
                    try:
                        self._start_and_wait(release.name)
                    except _StepFailed as exc:
                        raise UpgradeError(str(exc)) from None
                    started = True
                return Outcome(self.setup.role, str(release), _str(self.layout.target(self.layout.previous)),
                               started=started)
            return self._switch(release, new_previous=current, verb="升级 / upgrade")

    def rollback(self) -> Outcome:
        """Go back to ``previous`` (which becomes ``current``; the current one becomes ``previous``)."""
        with self._locked():
            previous = self.layout.target(self.layout.previous)
            if previous is None:
                raise UpgradeError("没有上一个版本可以回退 / there is no previous release to go back to "
                                   f"({self.layout.previous} does not exist)")
            return self._switch(previous, new_previous=self.layout.target(self.layout.current),
                                verb="回退 / rollback")

    # -- the steps

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One upgrade or rollback at a time per root (the installer run twice, a person beside it)."""
        import fcntl

        try:
            self.layout.root.mkdir(parents=True, exist_ok=True)
            handle = (self.layout.root / ".upgrade.lock").open("a")
        except OSError as exc:
            raise UpgradeError(f"无法使用安装目录 / cannot use the install root {self.layout.root}: {exc}") from exc
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UpgradeError("另一个升级或回退正在进行 / another upgrade or rollback is running "
                                   f"(lock {self.layout.root / '.upgrade.lock'}); 什么都没有改动 / nothing was changed"
                                   ) from None
            yield

    def _switch(self, release: Path, *, new_previous: Path | None, verb: str) -> Outcome:
        setup = self.setup
        old_current = self.layout.target(self.layout.current)
        old_previous = self.layout.target(self.layout.previous)
        self.log(f"{verb}: {setup.role} {_name(old_current)} → {release.name} (root {self.layout.root})")
        self._check_release(release)
        undo = _Undo(self, old_current, old_previous)
        try:
            if self.start and old_current is not None:
                problem = self.systemctl.stop(setup.units)
                if problem:
                    raise _StepFailed(f"停止服务失败 / stopping {', '.join(setup.units)} failed: {problem}")
                undo.stopped = True
            undo.snapshot = self._snapshot(release)
            undo.migrating = True
            migrated = self._migrate(release)
            undo.migrating = False
            self.log(f"切换 current → {release.name} / switching current to {release.name}")
            undo.switched = True
            self.layout.point(self.layout.current, release)
            self.layout.point(self.layout.previous, new_previous)
            # Enabled every time (idempotent): a first install's unit must also start at boot.
            problem = self.systemctl.enable(setup.units)
            if problem:
                raise _StepFailed(f"启用服务失败 / enabling {', '.join(setup.units)} failed: {problem}")
            if not self.start:
                self.log("已切换并启用，未启动（--no-start）/ switched and enabled, not started (--no-start)")
            else:
                self._start_and_wait(f"{release.name}")
        except _StepFailed as failed:
            raise UpgradeError(undo.run(str(failed), verb)) from None
        except BaseException as exc:  # an unexpected error (disk full, killed): undo all the same, then say it
            message = undo.run(f"意外错误 / unexpected error: {type(exc).__name__}: {exc}", verb)
            raise UpgradeError(message) from exc
        self._prune_snapshots()
        self.log(f"完成：{release.name} 正在运行 / done: {release.name} is running" if self.start
                 else f"完成：{release.name} 已就绪 / done: {release.name} is in place")
        snapshot = undo.snapshot if undo.snapshot is not None and undo.snapshot.is_dir() else None
        return Outcome(setup.role, str(release), _str(new_previous), migrated, _str(snapshot), started=self.start)

    def _check_release(self, release: Path) -> None:
        command = kiosk_of(release)
        if not release.is_dir() or not os.access(command, os.X_OK):
            raise UpgradeError(f"不是一个版本目录（缺 {command}）/ not a release: {command} is missing; "
                               "什么都没有改动 / nothing was changed")
        result = _run([str(command), "--version"], 120.0)
        if result.returncode != 0:
            raise UpgradeError(f"新版本无法运行 / {command} --version failed ({result.returncode}): "
                               f"{_tail(result)}; 什么都没有改动 / nothing was changed")
        self.log(f"新版本可以运行 / {result.stdout.strip()[:80]} ({release.name})")

    def _snapshot(self, release: Path) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        folder = self.setup.data_dir / SNAPSHOT_DIR / f"{stamp}-{release.name}"
        for again in range(2, 10):  # two runs within one second (a rollback straight after an upgrade)
            if not folder.exists():
                break
            folder = folder.with_name(f"{stamp}-{again}-{release.name}")
        if not any(db.is_file() for db in self.setup.databases):
            # A first install: nothing to copy, and no folder made (root would own a data directory the service's
            # StateDirectory= has not made yet). An undo makes one only to move aside what the new release made.
            self.log("没有数据库需要快照（首次安装）/ no database to snapshot yet (a first install)")
            return folder
        folder.mkdir(parents=True, mode=0o700)  # personal data: root's eyes only
        os.chmod(folder.parent, 0o700)
        for db in self.setup.databases:
            if db.is_file():
                try:
                    snapshot_database(db, folder / db.name)
                except (KioskError, OSError, sqlite3.Error) as exc:
                    raise _StepFailed(f"快照失败 / the snapshot of {db} failed: {exc}") from exc
                self.log(f"快照 / snapshot {db} → {folder / db.name}")
            else:
                self.log(f"无需快照（还没有这个文件）/ no snapshot of {db}: it does not exist yet")
        return folder

    def _migrate(self, release: Path) -> list[str]:
        before = {db: applied_migrations(db) for db in self.setup.databases}
        command = [str(kiosk_of(release)), "migrate", "--role", self.setup.role, "--config", str(self.setup.config_path)]
        self.log(f"迁移数据库 / migrating: {' '.join(command)}")
        result = _run(command, MIGRATE_TIMEOUT_S, cwd=release)
        for line in (result.stdout + result.stderr).strip().splitlines()[-20:]:
            self.log(f"  migrate: {line}")
        if result.returncode != 0:
            raise _StepFailed(f"数据库迁移失败 / the migration failed ({result.returncode}): {_tail(result)}")
        applied = [f"{db.name}:{name}" for db in self.setup.databases
                   for name in applied_migrations(db) if name not in before[db]]
        self.log(f"迁移完成 / migrated: {', '.join(applied) or '没有新的迁移 / nothing new'}")
        return applied

    def _start_and_wait(self, name: str) -> None:
        setup = self.setup
        deadline = time.monotonic() + self.timeout_s
        problem = self.systemctl.restart(setup.units, self.timeout_s)
        if problem:
            raise _StepFailed(f"{name} 没有启动 / {name} did not start: {problem}")
        if setup.port == 0:
            self.log(f"端口为 0，不能检查 {setup.path} / port 0: {setup.path} cannot be checked, systemd's word only")
        else:
            self.log(f"等待 {setup.status_url} 应答 / waiting for {setup.status_url}")
            while (answer := self.probe(setup)) is not None:
                if time.monotonic() > deadline:
                    raise _StepFailed(f"{name} 在 {self.timeout_s:g} 秒内没有就绪 / {name} was not ready within "
                                      f"{self.timeout_s:g} s: {answer}")
                if (state := self._inactive()) is not None:
                    raise _StepFailed(f"{name} 启动后退出 / {name} exited after starting: {state}")
                time.sleep(0.2)
        time.sleep(min(SETTLE_S, max(0.0, deadline - time.monotonic())))
        if (state := self._inactive()) is not None:
            raise _StepFailed(f"{name} 就绪后退出 / {name} stopped right after coming up: {state}")
        self.log(f"{name} 已就绪 / {name} is ready ({setup.status_url})")

    def _inactive(self) -> str | None:
        for unit in self.setup.units:
            state = self.systemctl.is_active(unit)
            if state != "active":
                return f"{unit} {state}"
        return None

    def _prune_snapshots(self) -> None:
        folder = self.setup.data_dir / SNAPSHOT_DIR
        kept = sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        for old in kept[:-KEEP_SNAPSHOTS]:
            shutil.rmtree(old, ignore_errors=True)
            self.log(f"删除旧快照 / removed old snapshot {old}")


class _StepFailed(Exception):
    """A step did not succeed; its message (zh + en) goes into the report."""


class _Undo:
    """What a failed run undoes, newest first: stop the new one, put the databases back, the links, restart the old."""

    def __init__(self, upgrade: Upgrade, old_current: Path | None, old_previous: Path | None):
        self.upgrade = upgrade
        self.old_current = old_current
        self.old_previous = old_previous
        self.stopped = False
        self.snapshot: Path | None = None
        self.migrating = False
        self.switched = False

    def run(self, reason: str, verb: str) -> str:
        """Undo, each step logged as it is done; returns the whole message (what failed, what was undone, what runs)."""
        up, setup = self.upgrade, self.upgrade.setup
        up.log(f"失败 / failed: {reason}")
        zh, _, en = verb.partition(" / ")
        summary = [f"{zh}失败 / {en} failed: {reason}"]

        def say(line: str) -> None:
            up.log(line)
            summary.append(line)

        if up.start and self.switched:
            with self._step("停止新版本 / stopping the new release", say):
                if problem := up.systemctl.stop(setup.units):
                    say(f"停止新版本失败 / stopping the new release failed: {problem}")
        if self.snapshot is not None and (self.switched or self.migrating):
            self._restore_databases(say)
        if self.switched:
            with self._step("恢复 current / putting current back", say):
                up.layout.point(up.layout.current, self.old_current)
                up.layout.point(up.layout.previous, self.old_previous)
                say(f"current 指回 {_name(self.old_current)} / current points at {_name(self.old_current)} again"
                    if self.old_current else "已移除 current / current removed")
        if self.old_current is None:
            say("这是首次安装，没有可以回退的版本 / this was a first install: there is no previous release to go "
                "back to; 修好后重新运行 / fix the problem and run it again")
        elif not up.start:
            say(f"未启动任何服务（--no-start）/ nothing was started (--no-start); current is {self.old_current.name}")
        elif self.stopped or self.switched:
            try:
                up._start_and_wait(self.old_current.name)
                say(f"原来运行的版本 {self.old_current.name} 已恢复运行 / the release that ran before, "
                    f"{self.old_current.name}, is running again")
            except (_StepFailed, UpgradeError, OSError) as exc:
                say(str(exc))
                say(f"原来运行的版本 {self.old_current.name} 也没有起来 / the release that ran before did not come up "
                    "either: 用 systemctl status 看原因 / see systemctl status")
        else:
            say(f"原来运行的版本 {self.old_current.name} 一直在运行 / the release that ran before kept running")
        return "\n".join(summary)

    @contextlib.contextmanager
    def _step(self, what: str, say: Callable[[str], None]) -> Iterator[None]:
        """One undo step: its failure is said and the next steps still run."""
        try:
            yield
        except (OSError, UpgradeError, sqlite3.Error) as exc:
            say(f"{what} 失败 / failed: {exc}")

    def _restore_databases(self, say: Callable[[str], None]) -> None:
        """Put back each database the migration changed (or may have: it failed midway); the changed one is kept."""
        assert self.snapshot is not None
        failed_dir = self.snapshot / "failed"
        for db in self.upgrade.setup.databases:
            copy = self.snapshot / db.name
            with self._step(f"还原 {db} / restoring {db} (快照在 / the snapshot is {copy})", say):
                if copy.is_file() and (grew := ledger_growth(db, copy)) > 0:
                    # The ledger never loses an event, and a gate never reuses a seq the office may hold: a ledger
                    # the new release wrote to stays (migrations only add, so the older release reads it).
                    say(f"{db} 保留不还原：新版本运行时记下了 {grew} 条事件 / {db} kept as it is: {grew} events were "
                        f"recorded while the new release ran (the snapshot stays in {copy})")
                elif copy.is_file():
                    if self.migrating or applied_migrations(db) != applied_migrations(copy):
                        restore_file(copy, db, failed_dir)
                        say(f"数据库已从快照还原 / restored {db} from the snapshot (the changed file is kept in "
                            f"{failed_dir})")
                elif db.exists():  # made by the new release (a first install): moved aside, never deleted
                    for folder in (failed_dir.parent.parent, failed_dir.parent, failed_dir):  # pre-upgrade/<stamp>/failed
                        folder.mkdir(exist_ok=True, mode=0o700)
                    for part in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                        if part.exists():
                            shutil.move(str(part), failed_dir / part.name)
                    say(f"新版本创建的数据库已移开 / moved {db}, made by the new release, aside to {failed_dir}")


def _run(command: list[str], timeout: float, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(command, 124, "", f"timed out after {timeout:g} s")
    except OSError as exc:
        return subprocess.CompletedProcess(command, 126, "", str(exc))


def _tail(result: subprocess.CompletedProcess[str]) -> str:
    text = (result.stderr or result.stdout).strip()
    return text[-600:] if text else f"exit status {result.returncode}"


def _name(release: Path | None) -> str:
    return release.name if release is not None else "（无 / none）"


def _str(path: Path | None) -> str | None:
    return str(path) if path is not None else None


# ---------------------------------------------------------------------------------------------------- status


def status(layout: Layout, role: str, systemctl: Systemctl | None = None) -> dict[str, Any]:
    """Where ``current`` and ``previous`` point, their versions, and the role's units as systemd sees them."""
    check_role(role)
    systemctl = systemctl or Systemctl()
    units = {}
    for unit in UNITS[role]:
        try:
            units[unit] = systemctl.show(unit)
        except UpgradeError:
            units[unit] = {}
    links = {}
    for name, link in (("current", layout.current), ("previous", layout.previous)):
        target = layout.target(link)
        links[name] = None if target is None else {"release": target.name, "path": str(target),
                                                  "version": release_version(target), "exists": target.is_dir()}
    releases = sorted(p.name for p in layout.releases.iterdir() if p.is_dir()) if layout.releases.is_dir() else []
    return {"root": str(layout.root), "role": role, **links, "releases": releases, "units": units}


@contextlib.contextmanager
def upgrade_errors() -> Iterator[None]:
    """Turn OSError from the layout (permissions, a missing root) into an UpgradeError with the path."""
    try:
        yield
    except PermissionError as exc:
        raise UpgradeError(f"没有权限 / permission denied: {exc.filename} (以 root 运行 / run as root)") from exc
