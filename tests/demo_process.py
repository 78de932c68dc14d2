"""``kiosk demo --serve`` as its own process, for the browser tests of the gate's page and of the office desk."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class DemoProcess:
    """Starts ``kiosk demo --dir DIRECTORY --serve *args`` and waits for the first output line matching ``ready``
    (kept as ``self.ready``); ``output`` holds every line; ``stop()`` sends SIGTERM, as systemd does."""

    def __init__(self, directory: Path, args: list[str], ready: str, *, timeout_s: float = 90):
        self.directory = directory
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "demo", "--dir", str(directory), "--serve", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO)
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
