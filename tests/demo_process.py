"""``kiosk demo --serve`` as its own process, for the browser tests of the gate's page and of the office desk.

Seeding a demo (keys, cards, three days of history at two gates, the script) is most of a demo's start, and
every test would seed the same community: so each test's demo starts from a copy of one finished demo folder
(``kiosk demo --copy-from``), made once by ``kiosk demo --dir`` and again when it is ``PreparedDemo.MAX_AGE_S``
old or from another day. Each test still has its own folder (a copy) and its own processes.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
DEMO_TZ = ZoneInfo("Asia/Shanghai")  # kiosk.demo.TIMEZONE (not imported: this module stays light)


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    if _prepared is not None:
        # Each gate's hanzi warm-up reads the session's one scan of pypinyin instead of a second of CPU of its own.
        env["KIOSK_HANZI_CACHE_DIR"] = str(_prepared.root / "hanzi")
    return env


class PreparedDemo:
    """The finished demo folder the tests' demos are copied from, made by ``kiosk demo --dir`` when first asked for.

    Made again when older than ``MAX_AGE_S`` or seeded on another day (in the demo's time zone): a copy's history
    ends where the folder's did, so a test sees a demo that has been running for at most that long.
    """

    MAX_AGE_S = 300.0

    def __init__(self, root: Path):
        self.root = Path(root)
        self.made_at: datetime | None = None

    def folder(self) -> Path:
        """The folder, made (again) if needed."""
        path = self.root / "prepared-demo"
        now = datetime.now(DEMO_TZ)
        made = self.made_at
        if made is None or (now - made).total_seconds() > self.MAX_AGE_S or now.date() != made.date():
            self.made_at = None
            self.root.mkdir(parents=True, exist_ok=True)
            started = datetime.now(DEMO_TZ)  # `kiosk demo` takes its now after this: the folder is no older
            result = subprocess.run([sys.executable, "-m", "kiosk.cli", "demo", "--dir", str(path)], env=_env(),
                                    cwd=REPO, capture_output=True, text=True, timeout=120)
            if result.returncode != 0:
                raise RuntimeError(f"kiosk demo --dir {path} failed ({result.returncode}):\n"
                                   + result.stdout + result.stderr)
            self.made_at = started
        return path


_prepared: PreparedDemo | None = None


def use_prepared(root: Path) -> PreparedDemo:
    """Keep the prepared demo folder under ``root`` (tests/conftest.py gives a session folder)."""
    global _prepared
    _prepared = PreparedDemo(root)
    return _prepared


def prepared_folder() -> Path:
    """The finished demo folder to copy (under a temporary folder when no session set one)."""
    global _prepared
    if _prepared is None:
        _prepared = PreparedDemo(Path(tempfile.mkdtemp(prefix="kiosk-prepared-demo-")))
    return _prepared.folder()


class DemoProcess:
    """Starts ``kiosk demo --dir DIRECTORY --serve *args`` and waits for the first output line matching ``ready``
    (kept as ``self.ready``); ``output`` holds every line; ``stop()`` sends SIGTERM, as systemd does.

    ``prepared``: start from a copy of the session's prepared demo folder (``--copy-from``) instead of seeding.
    """

    def __init__(self, directory: Path, args: list[str], ready: str, *, timeout_s: float = 90, prepared: bool = True):
        self.directory = directory
        copy = ["--copy-from", str(prepared_folder())] if prepared else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "demo", "--dir", str(directory), "--serve", *copy, *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(), cwd=REPO)
        self.output: list[str] = []
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, args=(lines,), daemon=True).start()
        while True:
            try:
                line = lines.get(timeout=timeout_s)
            except queue.Empty:
                self.stop()
                raise RuntimeError(f"the demo did not start within {timeout_s:g} s:\n" + "".join(self.output)) from None
            if line is None:
                raise RuntimeError("the demo exited:\n" + "".join(self.output))
            found = re.search(ready, line)
            if found:
                self.ready = found
                return

    def _pump(self, lines: queue.Queue) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            lines.put(line)
        lines.put(None)

    def stop(self) -> bool:
        """SIGTERM; True when the process exited by itself within 20 s (else it is killed)."""
        if self.process.poll() is not None:
            return True
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
            return True
        except subprocess.TimeoutExpired:
            # Still running: ask for every thread's stack (kiosk.cli.run registers SIGUSR1) before the kill, so the
            # failure says where it hung (see ``output``).
            self.process.send_signal(signal.SIGUSR1)
            time.sleep(2)
            self.process.kill()
            self.process.wait()
            return False
