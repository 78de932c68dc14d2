"""A release's ``kiosk run`` that comes up, answers its status URL, and dies a second later (for test_upgrade.py).

Usage: ``crash_after_ready.py RELEASE URL run …``: runs ``python -m kiosk.cli run …`` on RELEASE's source, waits
until URL answers, waits one second more, kills the gate and exits 1, as a release that crashes just after READY.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request


def main(release: str, url: str, args: list[str]) -> int:
    child = subprocess.Popen([sys.executable, "-m", "kiosk.cli", *args], env={**os.environ, "PYTHONPATH": release})

    def stop(signum, frame):
        child.terminate()
        sys.exit(143)

    signal.signal(signal.SIGTERM, stop)
    deadline = time.monotonic() + 90
    while child.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                break
        except OSError:
            time.sleep(0.1)
    time.sleep(1.0)
    child.kill()
    child.wait()
    print("闸机崩溃 / the gate crashed just after coming up", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
