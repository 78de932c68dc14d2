"""systemd's service notifications: READY=1 once serving, STATUS= lines, STOPPING=1, and watchdog keep-alives
sent only while the process proves it works.

``kiosk run`` and ``kiosk office serve`` run as ``Type=notify`` units (systemd/). The protocol is one datagram
of ``KEY=value`` lines to the unix socket named in ``$NOTIFY_SOCKET`` (a path, or ``@name`` in the abstract
namespace); systemd documents it as stable and as meant to be implemented without libsystemd
(sd_notify(3), "Notes"). It is written here in a few lines rather than taken from ``sdnotify`` (PyPI, last
release 2017: it connects once when built, swallows every error with a bare ``except``, and has no
``sd_watchdog_enabled`` rule) or ``systemd-python`` (a C build against libsystemd on every Pi).

Without ``$NOTIFY_SOCKET`` (a terminal, the demo, the tests) every call is a no-op.

The keep-alive (:class:`Keepalive`) runs on a thread of its own, an :class:`kiosk.workers.Every`, never on a
thread it judges: each round it asks the health rule (:func:`gate_health`, :func:`office_health`) and sends
``WATCHDOG=1`` only when nothing is wrong. A stuck passage loop or a journal writer hung in a write therefore
stops the keep-alives, and systemd (``WatchdogSec=``) kills and restarts the gate.
"""

from __future__ import annotations

import http.client
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from kiosk.workers import Every

log = logging.getLogger(__name__)

MAX_STATUS = 200  # characters of a STATUS= line (systemctl status shows one line)
PASSAGE_STALL_MAX_S = 10.0  # the passage loop turns at least every 0.5 s; 10 s without a turn is a hang
WRITER_WAIT_MAX_S = 5.0  # the journal writer's lock held longer than this (SQLite's own busy timeout) is a hang

# A check: returns None when that part works, else a short problem (a code a person can read in the journal).
Check = Callable[[], str | None]


class Notifier:
    """Sends sd_notify datagrams to ``$NOTIFY_SOCKET``; without it every method does nothing and returns False.

    Thread-safe (one datagram per call). A failed send is logged once and reported as False: a notification
    never stops the gate.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = _socket_address(env.get("NOTIFY_SOCKET", ""))
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._warned = False

    @property
    def enabled(self) -> bool:
        """True when systemd (or a test) is listening."""
        return self.address is not None

    def send(self, *fields: str) -> bool:
        """Send ``KEY=value`` fields in one datagram; True when it was sent."""
        if self.address is None or not fields:
            return False
        data = "\n".join(fields).encode("utf-8")
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.sendto(data, self.address)
            except OSError as exc:
                if not self._warned:
                    log.warning("sd_notify to %r failed: %s", self.address, exc)
                    self._warned = True
                return False
        return True

    def ready(self, status: str) -> bool:
        """READY=1 with a status line: the service serves from now on."""
        return self.send("READY=1", _status(status))

    def status(self, text: str) -> bool:
        """A STATUS= line (shown by ``systemctl status``)."""
        return self.send(_status(text))

    def stopping(self, status: str = "正在停止 / stopping") -> bool:
        """STOPPING=1: the service is shutting down on purpose (not a watchdog failure)."""
        return self.send("STOPPING=1", _status(status))

    def watchdog(self) -> bool:
        """One keep-alive (WATCHDOG=1)."""
        return self.send("WATCHDOG=1")

    def close(self) -> None:
        """Close the socket (a later send opens it again). Idempotent."""
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


def _socket_address(value: str) -> str | None:
    """``$NOTIFY_SOCKET`` as an AF_UNIX address: a path, or ``@name`` → ``\\0name`` (abstract namespace)."""
    if len(value) < 2 or value[0] not in "/@" or len(value) > 107:
        return None  # unset, or not a socket systemd would give (vsock addresses are not used here)
    return "\0" + value[1:] if value[0] == "@" else value


def _status(text: str) -> str:
    """A STATUS= field on one bounded line."""
    return "STATUS=" + " ".join(text.split())[:MAX_STATUS]


def watchdog_interval_s(environ: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """The watchdog timeout systemd set for this process in seconds, or None (``sd_watchdog_enabled`` rules).

    ``$WATCHDOG_USEC`` is a positive integer; when ``$WATCHDOG_PID`` is set it must be this process's pid (a
    child that inherited the environment must not feed its parent's watchdog).
    """
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) <= 0 or len(usec) > 18:
        return None
    owner = env.get("WATCHDOG_PID", "")
    if owner and (not owner.isdigit() or int(owner) != (os.getpid() if pid is None else pid)):
        return None
    return int(usec) / 1_000_000


def worker_turning(worker: Any, max_stall_s: float, clock: Callable[[], float] = time.monotonic) -> Check:
    """A check that ``worker`` (a :class:`kiosk.workers.Worker`) runs and began a turn within ``max_stall_s``."""

    def check() -> str | None:
        if not worker.running:
            return f"{worker.name}: stopped"
        turned = worker.turned_at
        if turned is None or clock() - turned > max_stall_s:
            return f"{worker.name}: no turn for more than {max_stall_s:g} s"
        return None

    return check


def journal_answers(journal: Any, max_wait_s: float) -> Check:
    """A check that the gate's journal writer is open and not held in one write longer than ``max_wait_s``,
    and that the journal answers a read.

    The writer is a connection under a lock (kiosk.gate.journal.Journal._write); taking that lock for an instant
    shows no write has hung on it (a dead card, a stuck fsync) without writing anything.
    """

    def check() -> str | None:
        lock = journal._lock  # the writer's own lock: no public way to ask "are you stuck in a write?"
        if not lock.acquire(timeout=max_wait_s):
            return f"journal: a write has held the writer for more than {max_wait_s:g} s"
        try:
            if journal._writer is None:
                return "journal: closed"
        finally:
            lock.release()
        try:
            if journal.last_seq < 0:  # a property: one indexed read on this thread's connection
                return "journal: last_seq below 0"
        except Exception as exc:  # any failure to read is the problem reported
            return f"journal: {type(exc).__name__}: {exc}"
        return None

    return check


def gate_health(process: Any, interval_s: float) -> list[Check]:
    """What a gate's keep-alive asks: the passage worker turns, and the journal writer answers.

    Bounds shrink with a short watchdog (a test's) so a hang is seen within about one timeout, but never below
    a second or two: a busy Pi's scheduler must not pass for a hang.
    """
    return [worker_turning(process.gate.worker, _bound(interval_s / 2, 2.0, PASSAGE_STALL_MAX_S)),
            journal_answers(process.journal, _bound(interval_s / 4, 1.0, WRITER_WAIT_MAX_S))]


def _bound(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def http_answers(host: str, port: int, path: str, *, tls: bool, timeout_s: float) -> Check:
    """A check that the server at ``host:port`` answers ``GET path`` with a 2xx within ``timeout_s``.

    Asked over loopback when the server listens on every address. With TLS the certificate is not verified:
    this is the process asking its own socket, and nothing secret is sent.
    """
    target = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)

    def check() -> str | None:
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(target, port, timeout=timeout_s,
                                                                           context=context)
        else:
            conn = http.client.HTTPConnection(target, port, timeout=timeout_s)
        try:
            conn.request("GET", path, headers={"Accept": "application/json"})
            response = conn.getresponse()
            response.read(65536)
        except (OSError, http.client.HTTPException) as exc:
            return f"http {path}: {type(exc).__name__}: {exc}"
        finally:
            conn.close()
        if not 200 <= response.status < 300:
            return f"http {path}: status {response.status}"
        return None

    return check


def store_answers(store: Any, max_wait_s: float) -> Check:
    """A check that the office store answers a trivial query and its write lock is not held past ``max_wait_s``."""

    def check() -> str | None:
        lock = store._write_lock  # ingest's lock: a batch hung in a write would hold it
        if not lock.acquire(timeout=max_wait_s):
            return f"store: a write has held the database for more than {max_wait_s:g} s"
        lock.release()
        try:
            store.database().execute("SELECT 1").fetchone()
        except Exception as exc:  # any failure to query is the problem reported
            return f"store: {type(exc).__name__}: {exc}"
        return None

    return check


def office_health(store: Any, host: str, port: int, *, tls: bool, interval_s: float) -> list[Check]:
    """What the office's keep-alive asks: its serving loop answers /healthz, and the store answers a query."""
    bound = _bound(interval_s / 4, 1.0, WRITER_WAIT_MAX_S)
    return [http_answers(host, port, "/healthz", tls=tls, timeout_s=bound), store_answers(store, bound)]


def problems(checks: list[Check]) -> list[str]:
    """Every check's problem, in order (an exception from a check is a problem too)."""
    found = []
    for check in checks:
        try:
            problem = check()
        except Exception as exc:  # a broken check must not feed the watchdog
            problem = f"health check failed: {type(exc).__name__}: {exc}"
        if problem is not None:
            found.append(problem)
    return found


class Keepalive(Every):
    """Every ``interval_s / 2``: WATCHDOG=1 when every check passes; otherwise no keep-alive and a STATUS= line.

    Runs on its own thread (never on a thread a check judges). ``serving`` is the STATUS= text while healthy;
    a recovery sends it again.
    """

    def __init__(self, notifier: Notifier, interval_s: float, checks: list[Check], serving: str) -> None:
        super().__init__("watchdog-keepalive", self.round, interval_s / 2)
        self.notifier, self.checks, self.serving = notifier, checks, serving
        self.sent = 0
        self.last_problems: list[str] = []

    def round(self) -> bool:
        """One round: check, then feed the watchdog or say what is wrong; True when a keep-alive went out."""
        found = problems(self.checks)
        if found:
            if found != self.last_problems:
                log.error("watchdog keep-alive withheld: %s", "; ".join(found))
                self.notifier.status("故障，等待重启 / unhealthy, withholding watchdog: " + "; ".join(found))
            self.last_problems = found
            return False
        if self.last_problems:
            log.warning("healthy again: watchdog keep-alives resumed")
            self.notifier.status(self.serving)
            self.last_problems = []
        self.sent += 1
        return self.notifier.watchdog()


def readiness(notifier: Notifier, probe: Check, *, status: str, timeout_s: float = 90.0,
              poll_s: float = 0.05, on_ready: Callable[[], object] | None = None,
              stopping: threading.Event | None = None) -> threading.Thread:
    """A thread that asks ``probe`` until it passes, then sends READY=1 (and calls ``on_ready``).

    Gives up after ``timeout_s`` (systemd's TimeoutStartSec then fails the start). Started just before the
    server's blocking loop, so READY means requests are really answered, not only that the port is bound.
    """
    stop = stopping or threading.Event()

    def wait_until_serving() -> None:
        deadline = time.monotonic() + timeout_s
        problem: str | None = "not asked yet"
        while not stop.is_set() and time.monotonic() < deadline:
            found = problems([probe])
            problem = found[0] if found else None
            if problem is None:
                notifier.ready(status)
                if on_ready is not None:
                    on_ready()
                return
            stop.wait(poll_s)
        if not stop.is_set():
            log.error("not serving after %s s: %s", timeout_s, problem)

    thread = threading.Thread(target=wait_until_serving, name="readiness", daemon=True)
    thread.start()
    return thread


class ServiceNotice:
    """A service's whole conversation with systemd: READY=1 once ``probe`` passes, then keep-alives judged by
    ``health(interval_s)`` when systemd set a watchdog, STOPPING=1 at :meth:`close`.

    ``start()`` just before the server's blocking loop; ``close()`` on the way out (before the parts the checks
    judge are closed). Without ``$NOTIFY_SOCKET`` both do nothing. ``on_ready`` runs once READY=1 is sent.
    """

    def __init__(self, probe: Check, health: Callable[[float], list[Check]], serving: str, *,
                 environ: Mapping[str, str] | None = None, on_ready: Callable[[], object] | None = None,
                 timeout_s: float = 90.0) -> None:
        self.notifier = Notifier(environ)
        self.interval_s = watchdog_interval_s(environ)
        self.probe, self.health, self.serving, self.on_ready, self.timeout_s = probe, health, serving, on_ready, timeout_s
        self.keepalive: Keepalive | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> ServiceNotice:
        """Say "starting" and ask the probe from a thread of its own; returns self."""
        if self.notifier.enabled and self._thread is None:
            self.notifier.status("正在启动 / starting")
            self._thread = readiness(self.notifier, self.probe, status=self.serving, timeout_s=self.timeout_s,
                                     on_ready=self._serving, stopping=self._done)
        return self

    def _serving(self) -> None:
        with self._lock:
            if self._done.is_set():
                return
            if self.interval_s is not None:
                self.keepalive = Keepalive(self.notifier, self.interval_s, self.health(self.interval_s),
                                           self.serving).start()
        if self.on_ready is not None:
            self.on_ready()

    def close(self) -> None:
        """STOPPING=1, and no more keep-alives. Idempotent."""
        with self._lock:
            if self._done.is_set():
                return
            self._done.set()
            keepalive, self.keepalive = self.keepalive, None
        self.notifier.stopping()
        if keepalive is not None:
            keepalive.stop()
        if self._thread is not None:
            self._thread.join(timeout=3.0)
        self.notifier.close()
