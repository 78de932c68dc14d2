"""A stand-in for ``systemctl`` at its command-line interface, for the upgrade tests (placed first on PATH).

It knows the units described in ``$FAKE_SYSTEMCTL_DIR/units/<unit>.json``::

    {"exec": ["/root/current/.venv/bin/kiosk", "run", "--simulate", "--config", "…"],
     "cwd": "/root/current", "url": "http://127.0.0.1:PORT/api/v1/status", "timeout": 60}

and keeps each unit's state in ``$FAKE_SYSTEMCTL_DIR/state/<unit>.json`` (pid, state, the release it started
from, enabled). Like a ``Type=notify`` unit, ``restart`` returns only once the service is ready (here: its status
URL answers) and fails (exit 1) when the process exits first or the timeout passes. Verbs: restart, start, stop,
is-active, show -p ActiveState,SubState,StatusText, enable, daemon-reload. The services run in sessions of their
own and outlive this process, as under systemd; ``stop`` (and the tests' teardown) end them by pid.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

DIR = Path(os.environ["FAKE_SYSTEMCTL_DIR"])


def _state_file(unit: str) -> Path:
    return DIR / "state" / f"{unit}.json"


def state(unit: str) -> dict:
    """The unit's recorded state ({} when never started)."""
    path = _state_file(unit)
    return json.loads(path.read_text()) if path.exists() else {}


def _save(unit: str, **changes) -> None:
    path = _state_file(unit)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**state(unit), **changes}))


def alive(pid: int | None) -> bool:
    """True while ``pid`` runs (a zombie nobody reaped yet counts as exited)."""
    if not pid:
        return False
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] not in ("Z", "X")


def _log(unit: str, line: str) -> None:
    with (DIR / "calls.log").open("a") as out:
        out.write(f"{unit} {line}\n")


def stop(unit: str) -> int:
    pid = state(unit).get("pid")
    if pid and alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    _save(unit, state="inactive", pid=None)
    return 0


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except OSError:
        return False


def start(unit: str) -> int:
    spec = json.loads((DIR / "units" / f"{unit}.json").read_text())
    started_from = os.path.realpath(spec["cwd"])
    log = (DIR / f"{unit}.log").open("ab")
    log.write(f"--- start from {started_from}\n".encode())
    log.flush()
    try:
        process = subprocess.Popen(spec["exec"], cwd=spec["cwd"], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    except OSError as exc:
        _save(unit, state="failed", pid=None, started_from=started_from)
        print(f"Failed to start {unit}: {exc}", file=sys.stderr)
        return 1
    _save(unit, state="activating", pid=process.pid, started_from=started_from)
    deadline = time.monotonic() + float(spec.get("timeout", 60))
    while process.poll() is None and time.monotonic() < deadline:
        if _answers(spec["url"]):
            _save(unit, state="active")
            _log(unit, f"ready pid {process.pid} from {started_from}")
            return 0
        time.sleep(0.1)
    if process.poll() is None:
        process.kill()
        process.wait()
        reason = "a timeout was exceeded"
    else:
        reason = "the control process exited with error code"
    _save(unit, state="failed", pid=None)
    _log(unit, f"failed: {reason}")
    print(f'Job for {unit} failed because {reason}.\nSee "systemctl status {unit}" and "journalctl -xeu {unit}" '
          "for details.", file=sys.stderr)
    return 1


def active_state(unit: str) -> str:
    recorded = state(unit)
    current = recorded.get("state", "inactive")
    if current in ("active", "activating") and not alive(recorded.get("pid")):
        return "failed"  # died since: systemd would have noticed the main process exit
    return current


def main(argv: list[str]) -> int:
    props = "ActiveState,SubState,StatusText"
    words = []
    i = 0
    while i < len(argv):
        if argv[i] in ("-p", "--property"):
            props = argv[i + 1]
            i += 2
            continue
        if not argv[i].startswith("-"):
            words.append(argv[i])
        i += 1
    if not words:
        print("fake systemctl: no verb", file=sys.stderr)
        return 2
    verb, units = words[0], words[1:]
    for unit in units:
        _log(unit, verb)
    if verb == "daemon-reload":
        return 0
    if verb in ("restart", "start"):
        for unit in units:
            if verb == "restart":
                stop(unit)
            elif active_state(unit) == "active":
                continue
            if start(unit) != 0:
                return 1
        return 0
    if verb == "stop":
        for unit in units:
            stop(unit)
        return 0
    if verb == "enable":
        for unit in units:
            _save(unit, enabled=True)
            print(f"Created symlink /etc/systemd/system/multi-user.target.wants/{unit} → /etc/systemd/system/{unit}.",
                  file=sys.stderr)
        return 0
    if verb == "is-active":
        states = [active_state(unit) for unit in units]
        print("\n".join(states))
        return 0 if all(s == "active" for s in states) else 3
    if verb == "show":
        for unit in units:
            current = active_state(unit)
            values = {"ActiveState": current,
                      "SubState": {"active": "running", "failed": "failed", "activating": "start"}.get(current, "dead"),
                      "StatusText": "闸机运行中 / gate serving" if current == "active" else ""}
            for name in props.split(","):
                print(f"{name}={values.get(name, '')}")
        return 0
    print(f"fake systemctl: unknown verb {verb}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
