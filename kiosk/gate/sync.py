"""The gate's sync client: deliver the journal to the office at least once, bring the registry back.

Events go in seq order, in batches, from just after the office's high-water
mark; the office stores each (gate, seq) once and answers with its new
high-water mark, which the journal records as acknowledged. The loop is a
:class:`kiosk.workers.Worker`: a failure backs off exponentially with full
jitter (:class:`kiosk.workers.Backoff`); ``poke()`` (a new alarm) sends at once.
Registry changes are applied all-or-nothing; a replica too far behind gets a
snapshot. HTTP is refused except to localhost unless explicitly allowed.

The transport is :mod:`http.client` on one keep-alive connection
(:class:`OfficeLink`), not requests: the gate then never loads requests,
urllib3 and charset-normalizer (about 4 MB of its RSS, issue 14), and every
answer is read up to a bound.
"""

from __future__ import annotations

import http.client
import json as jsonlib  # _call's parameter is named json, as requests' was
import logging
import select
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from kiosk import __version__
from kiosk.exc import KioskError
from kiosk.workers import Backoff, Worker

log = logging.getLogger(__name__)

BATCH = 1000
# The largest answer read from the office: a registry snapshot of a big community is a few MB (≈ 200 bytes a row).
MAX_RESPONSE_BYTES = 64 * 2**20
READ_PIECE = 64 * 1024
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class SyncError(KioskError, ConnectionError):
    """The office could not be reached, or refused what the gate sent; the message says which."""


def check_office_url(url: str, allow_plain_http: bool = False) -> str:
    """The office URL, refused when it would send the gate's token in clear over the network."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SyncError(f"office URL {url!r}: expected http(s)://HOST[:PORT]")
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS and not allow_plain_http:
        raise SyncError(f"office URL {url!r}: plain HTTP would send the gate's token in clear; use https:// "
                        "or set sync.allow_plain_http: true on a trusted network")
    return url.rstrip("/")


class OfficeLink:
    """One keep-alive HTTP(S) connection to the office at ``url``, its answers read up to ``max_bytes``.

    HTTPS trusts exactly ``ca_certificate`` when given (the provisioning file's
    CA), else the system's certificate authorities; the host name is checked
    either way. ``timeout_s`` bounds connecting and each read or write, as
    requests' timeout did. Proxies from the environment are not used: the
    office is on the community's own network. Calls from several threads take
    turns (one connection). Setting ``url`` (a test's proxy) takes effect at the next request.
    """

    def __init__(self, url: str, token: str, ca_certificate: str | None = None,
                 max_bytes: int = MAX_RESPONSE_BYTES):
        self.url = url
        self.ca_certificate = ca_certificate
        self.max_bytes = max_bytes
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
                        "User-Agent": f"checkpoint-kiosk-gate/{__version__}"}
        self._context: ssl.SSLContext | None = None
        self._connection: http.client.HTTPConnection | None = None
        self._connected_to = ""  # the url self._connection was opened for
        self._lock = threading.Lock()

    def request(self, method: str, path: str, timeout_s: float, *, json_body: Any = None,
                params: dict | None = None) -> tuple[int, str, bytes]:
        """Send one request; returns (status, reason, body). Raises OSError or http.client.HTTPException,
        or :class:`SyncError` for an answer over the size bound."""
        target = urlsplit(self.url).path.rstrip("/") + path + (f"?{urlencode(params)}" if params else "")
        headers = dict(self.headers)
        body = None
        if json_body is not None:
            body = jsonlib.dumps(json_body, separators=(",", ":"), allow_nan=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        with self._lock:
            # A kept connection the office closed meanwhile (its idle timeout) fails on first use: then once more on
            # a new one. Resending is safe: the office stores each (gate, seq) once; a heartbeat twice is harmless.
            for attempt in (1, 2):
                reused = self._connection is not None
                connection = self._open(timeout_s)
                try:
                    connection.request(method, target, body=body, headers=headers)
                    response = connection.getresponse()
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                    self._drop()
                    if reused and attempt == 1:
                        continue
                    raise
                except BaseException:
                    self._drop()
                    raise
                try:
                    data = self._read(response, path)
                except BaseException:
                    self._drop()
                    raise
                if response.will_close:
                    self._drop()
                return response.status, response.reason, data
        raise AssertionError("the loop above returns or raises")

    def _open(self, timeout_s: float) -> http.client.HTTPConnection:
        if self._connected_to != self.url:
            self._drop()
        connection = self._connection
        if connection is not None and connection.sock is not None:
            # Readable while idle means the office closed it (or sent what nobody asked for): not reusable.
            if select.select([connection.sock], [], [], 0)[0]:
                self._drop()
            else:
                connection.sock.settimeout(timeout_s)
                return connection
        parts = urlsplit(self.url)
        if parts.scheme == "https":
            if self._context is None:
                # Only the CA file when there is one: HTTPS then trusts exactly the office's own authority.
                self._context = ssl.create_default_context(cafile=self.ca_certificate)
            connection = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout_s,
                                                     context=self._context)
        else:
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout_s)
        self._connection, self._connected_to = connection, self.url
        return connection

    def _read(self, response: http.client.HTTPResponse, path: str) -> bytes:
        declared = response.getheader("Content-Length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_bytes:
            raise SyncError(f"office answered {int(declared):,} bytes to {path}: "
                            f"more than the {self.max_bytes:,} a gate reads")
        # In pieces (read(n) allocates n bytes at once), counted as they come: a chunked answer declares no length.
        chunks, size = [], 0
        while chunk := response.read(READ_PIECE):
            size += len(chunk)
            if size > self.max_bytes:
                raise SyncError(f"office answered more than the {self.max_bytes:,} bytes a gate reads to {path}")
            chunks.append(chunk)
        return b"".join(chunks)

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def close(self) -> None:
        """Close the connection (the next request opens a new one). Does not wait for a request in flight."""
        self._drop()


@dataclass
class SyncStatus:
    """What the screen and the heartbeat say about the office link."""

    online: bool = False
    last_success: str | None = None
    last_error: str | None = None
    failures: int = 0
    registry_version: int = 0
    backlog: int = 0


class SyncClient(Worker):
    """Talks to the office for one gate: push events, pull the registry, send heartbeats.

    ``push_once``, ``pull_registry_once``, ``heartbeat_once`` and ``round`` work
    on their own; ``start()`` runs rounds in a worker thread every
    ``interval_s`` (a heartbeat at most every ``heartbeat_s``) until ``close()``.
    After a failure the wait is a full-jitter backoff from 1 s up to
    ``max_backoff_s``, so gates that lost the office together don't return in
    step; ``poke()`` cuts any wait short.
    """

    def __init__(
        self,
        journal: Any,
        registry: Any,
        *,
        office_url: str,
        token: str,
        ca_certificate: str | None = None,
        allow_plain_http: bool = False,
        interval_s: float = 10.0,
        heartbeat_s: float = 30.0,
        timeout_s: float = 10.0,
        batch: int = BATCH,
        sensors: Callable[[], dict] | None = None,
        on_registry: Callable[[int], None] | None = None,
        max_backoff_s: float = 60.0,
    ):
        # Full jitter: many gates lose the office at once (its Wi-Fi, its restart) and must not return in step.
        super().__init__("sync", on_fault=_report_failure,
                         backoff=Backoff(min(1.0, max_backoff_s), max_backoff_s, jitter=True))
        self.journal = journal
        self.registry = registry
        self.link = OfficeLink(check_office_url(office_url, allow_plain_http), token, ca_certificate)
        self.interval_s = interval_s
        self.heartbeat_s = heartbeat_s
        self.timeout_s = timeout_s
        self.batch = batch
        self.max_backoff_s = max_backoff_s
        self.sensors = sensors or (lambda: {})
        self.on_registry = on_registry or (lambda version: None)
        self.status = SyncStatus(registry_version=registry.version)
        self._next_beat = 0.0

    @property
    def url(self) -> str:
        """The office's base URL (``https://HOST[:PORT]``)."""
        return self.link.url

    @url.setter
    def url(self, value: str) -> None:
        self.link.url = value

    @classmethod
    def from_provisioning(cls, path: str, journal: Any, registry: Any, settings: Any, **kwargs: Any) -> SyncClient:
        """A client for the office named in a provisioning file (``kiosk office add-gate``), with ``SyncSettings``.

        The file's CA certificate, when there is one, is written beside it so
        HTTPS trusts exactly that certificate authority.
        """
        from pathlib import Path

        from kiosk.provisioning import read_provisioning

        document = read_provisioning(path)
        if document["gate_id"] != journal.gate_id:
            raise SyncError(f"{path} is for gate {document['gate_id']!r}, this gate is {journal.gate_id!r}")
        ca_path = None
        if document.get("ca_certificate"):
            ca_path = Path(path).with_suffix(".ca.pem")
            ca_path.write_text(document["ca_certificate"], encoding="ascii")
        return cls(journal, registry, office_url=settings.office_url or document["office_url"], token=document["token"],
                   ca_certificate=str(ca_path) if ca_path else None, allow_plain_http=settings.allow_plain_http,
                   interval_s=settings.interval_s, heartbeat_s=settings.heartbeat_s, **kwargs)

    # -- one round of each, usable on their own -------------------------------

    def _call(self, method: str, path: str, *, json: Any = None, params: dict | None = None) -> dict:
        try:
            status, reason, data = self.link.request(method, path, self.timeout_s, json_body=json, params=params)
        except (OSError, http.client.HTTPException) as exc:  # refused, timed out, TLS, cut off, not HTTP
            raise SyncError(f"office unreachable: {type(exc).__name__}: {exc}") from exc
        try:
            body = jsonlib.loads(data)
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if status != 200:
            raise SyncError(f"office answered {status} to {path}: {body.get('error', reason)}")
        return body

    def push_once(self) -> int:
        """Send every unacknowledged event, batch by batch; returns how many the office acknowledged."""
        acknowledged = 0
        while True:
            events = self.journal.unacknowledged(self.batch)
            if not events:
                break
            body = self._call("POST", "/api/v1/sync/events", json={"events": [e.to_dict() for e in events]})
            before = self.journal.acked_seq
            high = int(body["high_water"])
            if high > self.journal.last_seq:
                raise SyncError(f"the office holds seq {high} but this gate's journal ends at {self.journal.last_seq}: "
                                "was the journal replaced? ask the office")
            self.journal.acknowledge(high)
            acknowledged += max(0, self.journal.acked_seq - before)
            if self.journal.acked_seq < events[-1].seq:
                break  # the office is missing an earlier event: the next round resends from its high-water mark
        self.status.backlog = self.journal.backlog()
        return acknowledged

    def pull_registry_once(self) -> int:
        """Apply the office's registry changes (or snapshot); returns the replica's version."""
        since = self.registry.version
        body = self._call("GET", "/api/v1/sync/registry", params={"since": since})
        version = int(body["version"])
        if body["mode"] == "changes":
            if version != since:
                self.registry.apply_changes(body["changes"], from_version=since, to_version=version)
        else:
            self.registry.apply_snapshot(body["tables"], version=version)
        self.status.registry_version = version
        if version != since:
            self.on_registry(version)
        return version

    def heartbeat_once(self) -> dict:
        """Report version, clock, backlog and sensor states; returns the office's answer (with the clock offset)."""
        import shutil

        from kiosk.gate.clock import heartbeat_clock

        clock, observe = heartbeat_clock(self.journal)  # gate_clock, boot, mono_ms, trust: the office dates with them
        beat = {
            "software_version": __version__,
            **clock,
            "backlog": self.journal.backlog(),
            "sensors": self.sensors(),
            "disk_free_bytes": shutil.disk_usage(self.journal.path.parent).free,
            "cpu_temp_c": _cpu_temperature(),
        }
        answer = self._call("POST", "/api/v1/sync/heartbeat", json=beat)
        observe(answer)  # the office's offset judges the clock until the next heartbeat
        return answer

    # -- the background loop -----------------------------------------------------

    def poke(self) -> None:
        """Send now (a new alarm must reach the office within seconds), even while backing off."""
        self.wake()

    def round(self) -> None:
        """One push + pull; records success or failure in ``status`` (and re-raises the failure)."""
        try:
            self.push_once()
            self.pull_registry_once()
        except Exception as exc:
            self.status.online = False
            self.status.failures += 1
            # SyncError says itself what happened; anything else (a malformed answer) needs its type.
            self.status.last_error = str(exc) if isinstance(exc, KioskError) else f"{type(exc).__name__}: {exc}"
            raise
        self.status.online = True
        self.status.failures = 0
        self.status.last_error = None
        self.status.last_success = datetime.now(UTC).isoformat()

    def step(self) -> float:
        """One turn of the background loop: a round, and a heartbeat when one is due; returns ``interval_s``.

        A failure raises; the worker then waits its backoff (an alarm's poke
        cuts that wait short too, whether the link is up or backing off).
        """
        self.round()
        if time.monotonic() >= self._next_beat:
            self.heartbeat_once()
            self._next_beat = time.monotonic() + self.heartbeat_s
        return self.interval_s

    def close(self) -> bool:
        """Stop the loop and close the office connection. Idempotent."""
        # A round blocked on the office ends at the request timeout: wait that long, and a little more.
        stopped = self.stop(timeout=self.timeout_s + 5)
        self.link.close()
        return stopped


def _report_failure(worker: Worker, exc: BaseException) -> None:
    """The loop's fault report: the first failure of a streak is a warning, the retries only debug lines.

    ``status`` already holds the failure for the screen and the heartbeat; the
    log need not repeat it every backoff while the office is down for hours.
    """
    retry = worker.retry_in_s or 0.0
    if not isinstance(exc, KioskError):
        log.error("sync: unexpected failure; retrying in %.1f s", retry, exc_info=exc)
    elif worker.backoff.failures <= 1:
        log.warning("sync: %s; retrying in %.1f s", exc, retry)
    else:
        log.debug("sync: still failing (%s); retrying in %.1f s", exc, retry)


def _cpu_temperature() -> float | None:
    try:
        with open("/sys/class/thermal/thermal_zone0/temp", encoding="ascii") as handle:
            return round(int(handle.read().strip()) / 1000, 1)
    except (OSError, ValueError):
        return None
