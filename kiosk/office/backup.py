"""The office's backup set, one folder per run with a manifest, its rotation, verification and restore.

A run copies, into ``<backup.dir>/YYYY-MM-DDTHHMMSSZ/`` (written as ``.partial-…`` and renamed when complete):

- ``data/office.db`` and ``data/registry.db``: consistent online copies (kiosk.backup.snapshot), checked;
- ``data/<file>``: the other files at the top of data_dir (``id-hash.key``, ``id-openings.log`` …) and the
  ``tls/`` folder when it is there;
- ``keys/…``: every file of keys_dir (the signing key, the keyset, retired keys);
- ``config/office.yaml``: the config file, for reference (restore never overwrites it);
- ``manifest.json``: each file's size, SHA-256 and mode, the databases' applied migrations, the software version.

Every file in a backup is mode 0600 and its folders 0700: the set holds the card-signing private key. Card
images (``data_dir/cards``) are not included: they can be printed again from the registry.

Restore (:func:`restore`) refuses while the office answers on its port, verifies the whole backup first, stages
every file next to its target, moves the current files aside as ``<name>.before-restore-<stamp>`` (databases with
their -wal and -shm, which would otherwise be replayed onto the restored file) and renames the staged ones in.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import re
import shutil
import socket
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.backup import BackupError, KeepRule, check_database, choose_kept, fsync_dir, sha256_file, snapshot
from kiosk.config.office import OfficeConfig
from kiosk.office.paths import OfficePaths

MANIFEST = "manifest.json"
FORMAT = 1
STAMP_FORMAT = "%Y-%m-%dT%H%M%SZ"
STAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{6}Z")
DATABASES = ("office.db", "registry.db")
_SQLITE_SIDE = ("-wal", "-shm", "-journal")
MARGIN_BYTES = 32 * 1024**2
"""Free space kept beyond the estimated size of a run (the manifest, filesystem overhead, a growing WAL)."""
MAX_EXTRA_FILE_BYTES = 512 * 1024**2
"""A non-database file bigger than this in data_dir is not the office's: refused rather than copied blindly."""

ProgressFn = Callable[[str, int, int], None]
"""(file name, done, total) during a database copy (pages)."""


def backup_dir(config: OfficeConfig) -> Path:
    """backup.dir, or ``<data_dir>-backups`` beside data_dir when it is null."""
    if config.backup.dir:
        return Path(config.backup.dir)
    data = Path(config.office.data_dir)
    return data.with_name(data.name + "-backups")


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def check_backup_dir(dest: Path, paths: OfficePaths) -> None:
    """Refuse a backup folder inside data_dir or keys_dir (a lost disk would take the backups with it)."""
    for folder, key in ((paths.data_dir, "office.data_dir"), (paths.keys_dir, "office.keys_dir")):
        if _inside(dest, folder):
            raise BackupError("dest-inside",
                              f"备份目录不能在 {key} 里面 the backup folder {dest} is inside {key} ({folder}): "
                              "choose another disk or folder (backup.dir in office.yaml, or --to)")


@dataclass(frozen=True)
class _Item:
    """One file of the set: where it lives now and its name inside a backup folder."""

    source: Path
    name: str  # e.g. data/office.db, keys/signing-key.pem
    kind: str  # database | key | file | config


def _walk(folder: Path, prefix: str, kind: str, skip: Path | None = None) -> Iterator[_Item]:
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if skip is None or (here / d).resolve() != skip.resolve())
        for name in sorted(files):
            relative = (here / name).relative_to(folder).as_posix()
            if ".before-restore-" in name or ".restore-tmp" in name:
                continue
            yield _Item(here / name, f"{prefix}/{relative}", kind)


def office_set(paths: OfficePaths, config_path: Path | None) -> list[_Item]:
    """Every file a backup of this office holds, databases first."""
    items = [_Item(paths.data_dir / name, f"data/{name}", "database") for name in DATABASES
             if (paths.data_dir / name).is_file()]
    if paths.data_dir.is_dir():
        for entry in sorted(paths.data_dir.iterdir()):
            if not entry.is_file() or entry.name in DATABASES or entry.name.endswith(_SQLITE_SIDE):
                continue
            if ".before-restore-" in entry.name or ".restore-tmp" in entry.name or entry.name.startswith("."):
                continue
            if entry.suffix == ".db":
                items.append(_Item(entry, f"data/{entry.name}", "database"))
                continue
            if entry.stat().st_size > MAX_EXTRA_FILE_BYTES:
                raise BackupError("unexpected", f"数据目录中有过大的文件 {entry} is larger than "
                                                f"{MAX_EXTRA_FILE_BYTES // 1024**2} MiB: move it out of data_dir")
            items.append(_Item(entry, f"data/{entry.name}", "key" if entry.suffix in (".key", ".pem") else "file"))
        tls = paths.data_dir / "tls"
        if tls.is_dir() and not _inside(tls, paths.keys_dir):
            items.extend(_Item(i.source, i.name, "key" if i.source.suffix in (".key", ".pem") else "file")
                         for i in _walk(tls, "data/tls", "file"))
    if paths.keys_dir.is_dir():
        items.extend(_Item(i.source, i.name, "key") for i in _walk(paths.keys_dir, "keys", "key"))
    if config_path is not None and config_path.is_file():
        items.append(_Item(config_path, "config/office.yaml", "config"))
    return items


def _schema(db: Path) -> dict:
    """The migrations applied to a copied database (sqlite-utils' _sqlite_migrations) and the registry version."""
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        found: dict = {}
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "_sqlite_migrations" in tables:
            for set_name, name in conn.execute(
                    "SELECT migration_set, name FROM _sqlite_migrations ORDER BY migration_set, applied_at, name"):
                found.setdefault("migrations", {}).setdefault(set_name, []).append(name)
        if "meta" in tables:
            row = conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            if row is not None:
                found["registry_version"] = int(row[0])
        found["user_version"] = conn.execute("PRAGMA user_version").fetchone()[0]
        return found
    except sqlite3.Error:
        return {}
    finally:
        conn.close()


def known_migrations() -> dict[str, set[str]]:
    """Migration names this software knows, per migration set (a backup made by a newer one has others).

    Sets not listed here (a module's own, not imported) are not judged: only a known set with unknown names is.
    """
    from kiosk import registry
    from kiosk.office import registry_master, store
    from kiosk.office.schema import extra_migrations

    sets = [store.migrations, registry_master.migrations, registry.migrations, *extra_migrations()]
    return {s.name: {m.name for m in s._migrations} for s in sets}


@dataclass(frozen=True)
class BackupRun:
    """A finished backup: its folder, manifest and what rotation removed."""

    folder: Path
    manifest: dict
    removed: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def size(self) -> int:
        return sum(f["size"] for f in self.manifest["files"])


def _estimate(items: list[_Item]) -> int:
    total = 0
    for item in items:
        total += item.source.stat().st_size
        if item.kind == "database":
            wal = item.source.with_name(item.source.name + "-wal")
            total += wal.stat().st_size if wal.exists() else 0
    return total


def _need_space(dest: Path, need: int) -> None:
    free = shutil.disk_usage(dest).free
    if free < need:
        raise BackupError("space", f"备份磁盘空间不足 not enough free space for the backup in {dest}: "
                                   f"needs about {need / 1024**2:.0f} MiB, {free / 1024**2:.0f} MiB free; "
                                   "free some space or choose another disk (backup.dir, --to)")


@contextmanager
def _locked(dest: Path) -> Iterator[None]:
    """One backup run at a time in a folder (the timer and a person at the console)."""
    handle = open(dest / ".lock", "a")  # noqa: SIM115 — closed below, after the lock is released
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BackupError("busy", f"另一个备份正在进行 another backup is running in {dest}") from None
        yield
    finally:
        handle.close()


def _chmod(change: Callable[[], None]) -> None:
    # A FAT-formatted USB stick has no file modes and may refuse chmod: the copy still counts (docs/backup.md
    # says what that means for the signing key on it).
    with contextlib.suppress(PermissionError):
        change()


def _copy_file(src: Path, dest: Path, mode: int = 0o600) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        _chmod(lambda: os.fchmod(fd, mode))
        with open(src, "rb") as reader:
            while block := reader.read(1 << 20):
                os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)


def run_backup(config: OfficeConfig, *, config_path: Path | None = None, dest: Path | None = None,
               now: datetime | None = None, progress: ProgressFn | None = None) -> BackupRun:
    """Back the office up into a new folder under ``dest`` (backup.dir), then rotate; raises BackupError.

    A failed run leaves only its ``.partial-…`` folder, removed at once or by the next run; no old backup is
    removed unless this run succeeded.
    """
    import kiosk

    started = time.monotonic()
    paths = OfficePaths.of(config)
    dest = Path(dest) if dest is not None else backup_dir(config)
    check_backup_dir(dest, paths)
    if not (paths.data_dir / "office.db").is_file():
        raise BackupError("missing", f"没有可备份的办公室数据库 no office database to back up: "
                                     f"{paths.data_dir / 'office.db'} does not exist (office.data_dir in office.yaml?)")
    try:
        dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise BackupError("dest", f"无法创建备份目录 cannot create the backup folder {dest}: "
                                  f"{exc.strerror or exc}") from None
    items = office_set(paths, config_path)
    _need_space(dest, _estimate(items) + MARGIN_BYTES)
    when = (now or datetime.now(UTC)).astimezone(UTC)
    stamp = when.strftime(STAMP_FORMAT)
    with _locked(dest):
        final = dest / stamp
        if final.exists():
            raise BackupError("exists", f"备份已存在 a backup named {stamp} already exists in {dest}")
        for old in dest.glob(".partial-*"):  # a run that died (power cut): never complete, never counted
            shutil.rmtree(old, ignore_errors=True)
        partial = dest / f".partial-{stamp}"
        partial.mkdir(mode=0o700)
        try:
            files = []
            for item in items:
                target = partial / item.name
                if item.kind == "database":
                    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                    each = (lambda done, total, _n=item.name: progress(_n, done, total)) if progress else None
                    shot = snapshot(item.source, target, progress=each)
                    _chmod(functools.partial(os.chmod, target, 0o600))
                    entry = {"size": shot.size, "sha256": shot.sha256, "schema": _schema(target)}
                else:
                    _copy_file(item.source, target)
                    entry = {"size": target.stat().st_size, "sha256": sha256_file(target)}
                mode = stat.S_IMODE(item.source.stat().st_mode)
                files.append({"path": item.name, "kind": item.kind, "mode": f"{mode:04o}", **entry})
            manifest = {
                "format": FORMAT, "created_at": when.isoformat(), "software": kiosk.__version__,
                "host": socket.gethostname(), "office": config.office.name, "data_dir": str(paths.data_dir),
                "keys_dir": str(paths.keys_dir), "config": str(config_path) if config_path else None,
                "files": files,
                "note": "private keys and every file here are mode 0600 (私钥 0600): keep this folder private",
            }
            _write_manifest(partial / MANIFEST, manifest)
            os.rename(partial, final)
            fsync_dir(dest)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        removed = rotate(dest, KeepRule(config.backup.keep_daily, config.backup.keep_weekly,
                                        config.backup.keep_monthly), tz=ZoneInfo(config.office.timezone))
    return BackupRun(final, manifest, removed, time.monotonic() - started)


def _write_manifest(path: Path, manifest: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, ensure_ascii=False, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


# -- listing, verifying, rotating ---------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What a check of one backup folder found."""

    folder: Path
    stamp: datetime | None
    manifest: dict | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        files = (self.manifest or {}).get("files", [])
        return {"name": self.folder.name, "path": str(self.folder), "ok": self.ok, "problems": self.problems,
                "created_at": self.stamp.isoformat() if self.stamp else None,
                "size": sum(f.get("size", 0) for f in files), "files": len(files),
                "software": (self.manifest or {}).get("software")}


def _stamp(name: str) -> datetime | None:
    if not STAMP_RE.fullmatch(name):
        return None
    return datetime.strptime(name, STAMP_FORMAT).replace(tzinfo=UTC)


def read_manifest(folder: Path) -> dict:
    """The folder's manifest; BackupError when it is missing or unreadable."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError("incomplete", f"备份不完整（没有 manifest.json）incomplete backup, no manifest: {folder}") from None
    except (OSError, ValueError) as exc:
        raise BackupError("manifest", f"备份清单无法读取 unreadable manifest in {folder}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), list):
        raise BackupError("manifest", f"备份清单格式不对 not a backup manifest this software reads: {folder / MANIFEST}")
    return manifest


def verify(folder: Path, *, quick: bool = False) -> Verdict:
    """Check a backup folder: manifest, every file's size and SHA-256, the databases' integrity_check."""
    folder = Path(folder)
    stamp = _stamp(folder.name)
    try:
        manifest = read_manifest(folder)
    except BackupError as exc:
        return Verdict(folder, stamp, None, [str(exc)])
    problems: list[str] = []
    for entry in manifest["files"]:
        name = str(entry.get("path", ""))
        path = folder / name
        if not name or name.startswith("/") or ".." in Path(name).parts:
            problems.append(f"清单中的路径不安全 unsafe path in the manifest: {name!r}")
            continue
        if not path.is_file():
            problems.append(f"缺少文件 missing file: {name}")
            continue
        if path.stat().st_size != entry.get("size"):
            problems.append(f"文件大小不符 size differs: {name} ({path.stat().st_size} ≠ {entry.get('size')} bytes)")
            continue
        if sha256_file(path) != entry.get("sha256"):
            problems.append(f"校验和不符（文件已损坏）checksum differs, the file is damaged: {name}")
            continue
        if entry.get("kind") == "database":
            found = check_database(path, quick=quick)
            if found:
                problems.append(f"数据库损坏 database fails its integrity check: {name}: {'; '.join(found[:3])}")
    if not any(f.get("path") == "data/office.db" for f in manifest["files"]):
        problems.append("备份中没有 office.db the backup holds no office.db")
    return Verdict(folder, stamp, manifest, problems)


def list_backups(dest: Path) -> list[Path]:
    """Backup folders in ``dest`` (named by their UTC time), newest first; incomplete runs are not listed."""
    if not dest.is_dir():
        return []
    found = [p for p in dest.iterdir() if p.is_dir() and _stamp(p.name) is not None]
    return sorted(found, key=lambda p: p.name, reverse=True)


def rotate(dest: Path, rule: KeepRule, *, tz=None) -> list[Path]:
    """Remove complete backups the rule does not keep; returns what was removed.

    Only folders with a readable manifest count as backups (and may be removed); a folder without one is
    left for a person to look at. The newest complete backup is always kept.
    """
    complete = {}
    for folder in list_backups(dest):
        try:
            read_manifest(folder)
        except BackupError:
            continue
        stamp = _stamp(folder.name)
        assert stamp is not None  # list_backups lists only stamp-named folders
        complete[stamp] = folder
    kept = choose_kept(complete, rule, tz=tz)
    removed = []
    for stamp, folder in sorted(complete.items()):
        if stamp not in kept:
            shutil.rmtree(folder)
            removed.append(folder)
    return removed


# -- restore --------------------------------------------------------------------------------


def office_answers(config: OfficeConfig, timeout_s: float = 1.0) -> bool:
    """True when something accepts connections on the office's server.host:server.port."""
    host = config.server.host
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1" if host != "::" else "::1"
    try:
        with socket.create_connection((host, config.server.port), timeout=timeout_s):
            return True
    except OSError:
        return False


def find_backup(config: OfficeConfig, name: str, dest: Path | None = None) -> Path:
    """A backup folder given as a path, or as its name in backup.dir; ``latest`` is the newest one."""
    candidate = Path(name)
    if candidate.is_dir():
        return candidate
    folder = Path(dest) if dest is not None else backup_dir(config)
    if name == "latest":
        found = list_backups(folder)
        if not found:
            raise BackupError("not-found", f"没有备份 no backups in {folder}")
        return found[0]
    if (folder / name).is_dir():
        return folder / name
    raise BackupError("not-found", f"找不到备份 no backup {name!r} (neither a folder nor a name in {folder}); "
                                   "list them with: kiosk office backups")


@dataclass(frozen=True)
class Restored:
    """What a restore put in place and where the files it replaced now are."""

    backup: Path
    placed: list[Path]
    aside: list[Path]
    stamp: str


def _target(entry_path: str, paths: OfficePaths) -> Path | None:
    top, _, rest = entry_path.partition("/")
    if top == "data":
        return paths.data_dir / rest
    if top == "keys":
        return paths.keys_dir / rest
    return None  # config/: kept in the backup for reference, never written over the live one


def restore(config: OfficeConfig, folder: Path, *, now: datetime | None = None, check_port: bool = True) -> Restored:
    """Put backup ``folder`` in place of the office's files; raises BackupError before changing anything when the
    office is serving, the backup is damaged, or it comes from a newer schema."""
    if check_port and office_answers(config):
        raise BackupError("serving", f"办公室服务正在运行，请先停止 the office is serving on port {config.server.port}: "
                                     "stop it first (sudo systemctl stop kiosk-office), then restore")
    verdict = verify(folder)
    if not verdict.ok:
        raise BackupError("damaged", f"备份已损坏，未做任何更改 the backup {folder} is damaged, nothing was changed:\n  "
                                     + "\n  ".join(verdict.problems))
    manifest = verdict.manifest
    assert manifest is not None  # verdict.ok
    known = known_migrations()
    for entry in manifest["files"]:
        for set_name, names in entry.get("schema", {}).get("migrations", {}).items():
            if set_name not in known:
                continue
            unknown = sorted(set(names) - known[set_name])
            if unknown:
                raise BackupError("newer", f"备份来自更新的软件版本 the backup's {entry['path']} has migrations this "
                                           f"software does not know ({set_name}: {', '.join(unknown)}); it was made "
                                           f"by kiosk {manifest.get('software')}: upgrade first, then restore")
    paths = OfficePaths.of(config)
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime(STAMP_FORMAT)
    owner = _owner(paths.data_dir)
    plan: list[tuple[Path, Path, int, bool]] = []  # staged, target, mode, is_database
    try:
        for entry in manifest["files"]:
            target = _target(entry["path"], paths)
            if target is None:
                continue
            mode = int(entry.get("mode", "0600"), 8) & 0o777
            staged = target.with_name(f".{target.name}.restore-tmp")
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            _copy_file(folder / entry["path"], staged, mode)
            if sha256_file(staged) != entry["sha256"]:
                raise BackupError("damaged", f"复制时文件损坏 the copy of {entry['path']} differs from the backup")
            if owner is not None:
                os.chown(staged, *owner)
            plan.append((staged, target, mode, entry.get("kind") == "database"))
    except BaseException:
        for staged, *_ in plan:
            staged.unlink(missing_ok=True)
        raise
    aside: list[tuple[Path, Path]] = []
    placed: list[Path] = []
    try:
        for staged, target, _mode, database in plan:
            for current in [target, *((target.with_name(target.name + s) for s in _SQLITE_SIDE) if database else ())]:
                if current.exists():
                    moved = current.with_name(f"{current.name}.before-restore-{stamp}")
                    os.rename(current, moved)
                    aside.append((current, moved))
            os.rename(staged, target)
            placed.append(target)
        for directory in {t.parent for _, t, _, _ in plan}:
            fsync_dir(directory)
    except BaseException:
        # Undo in reverse: the office is left exactly as it was.
        for target in placed:
            target.unlink(missing_ok=True)
        for current, moved in reversed(aside):
            os.rename(moved, current)
        for staged, *_ in plan:
            staged.unlink(missing_ok=True)
        raise
    return Restored(folder, placed, [moved for _, moved in aside], stamp)


def _owner(data_dir: Path) -> tuple[int, int] | None:
    """Run as root (sudo), restored files get data_dir's owner, so the service user can still open them."""
    if os.geteuid() != 0 or not data_dir.exists():
        return None
    info = data_dir.stat()
    return info.st_uid, info.st_gid
