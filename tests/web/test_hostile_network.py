"""Attacks from the community Wi-Fi, scripted on loopback, while a gate syncs with a real office (web.serving).

Each attack is bounded in count and time: ≥ 500 idle TCP and TLS connections,
bodies trickled a byte a second, 200 open event streams, oversized bodies
(Content-Length 1 GiB and chunked). The gate's sync must complete under each;
its latency figures are bench/office_hostile_bench.py's.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time

import pytest

from kiosk.events import EventKind
from kiosk.gate.journal import Journal
from kiosk.gate.sync import SyncClient
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore
from kiosk.office.tls import init_tls
from kiosk.registry import Registry
from tests.gate_fixtures import card, make_rig
from web.office import create_app
from web.serving import Limits, WebServer

pytestmark = pytest.mark.timeout(120)


class Office:
    """The office app on web.serving in a thread on 127.0.0.1 (HTTPS with ``tls``), and one gate syncing with it."""

    def __init__(self, tmp_path, *, tls: bool = False, limits: Limits | None = None):
        self.tls = tls
        self.files = init_tls(tmp_path / "tls", ["127.0.0.1"]) if tls else None
        self.store = OfficeStore(tmp_path / "office.db")
        cert = str(self.files.server_cert) if self.files else None
        key = str(self.files.server_key) if self.files else None
        self.server = WebServer(create_app(self.store, RegistryMaster(tmp_path / "registry.db")), "127.0.0.1", 0,
                                tls_cert=cert, tls_key=key, limits=limits)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.port = self.server.port
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.gate_token = self.store.add_gate("north")
        (tmp_path / "gate").mkdir()
        self.journal = Journal(tmp_path / "gate" / "journal.db", "north")
        self.client = SyncClient(self.journal, Registry(tmp_path / "gate" / "registry.db"), office_url=self.url,
                                 token=self.gate_token, timeout_s=10,
                                 ca_certificate=str(self.files.ca_cert) if self.files else None)

    def sync(self, rounds: int = 3, each_s: float = 5.0) -> list[float]:
        """Sync rounds (an event out, the registry in); each must complete within ``each_s``."""
        took = []
        for _ in range(rounds):
            self.journal.append(EventKind.PASSAGE, {"verdict": "admit"})
            start = time.monotonic()
            self.client.round()
            took.append(time.monotonic() - start)
            assert self.journal.backlog() == 0
        assert max(took) < each_s, took
        return took

    def connect(self, *, handshake: bool = True) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        if self.tls and handshake:
            context = ssl.create_default_context(cafile=str(self.files.ca_cert))
            sock = context.wrap_socket(sock, server_hostname="127.0.0.1")
        return sock

    def close(self) -> None:
        self.client.close()
        self.journal.close()
        self.server.close()
        self.thread.join(timeout=10)


@pytest.fixture
def office(tmp_path):
    office = Office(tmp_path)
    yield office
    office.close()


@pytest.fixture
def https_office(tmp_path):
    office = Office(tmp_path, tls=True)
    yield office
    office.close()


def read_head(sock: socket.socket) -> tuple[int, bytes]:
    """The status code and the bytes read so far (the head and whatever followed it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1]), data


def closed_by_server(sock: socket.socket, within_s: float) -> bool:
    sock.settimeout(within_s)
    try:
        while sock.recv(65536):
            pass  # drain whatever the server answers until it closes
        return True
    except (ConnectionError, ssl.SSLError):
        return True
    except TimeoutError:
        return False


def close_all(socks) -> None:
    for sock in socks:
        try:
            sock.close()
        except OSError:
            pass  # the server already closed it


def test_500_idle_tcp_connections_do_not_stop_sync(office):
    office.sync(1)
    idle = [office.connect() for _ in range(500)]
    try:
        office.sync(3, each_s=2.0)
    finally:
        close_all(idle)


def test_500_idle_tls_connections_without_a_handshake_do_not_stop_sync(https_office):
    https_office.sync(1)
    idle = [https_office.connect(handshake=False) for _ in range(500)]
    try:
        https_office.sync(3, each_s=2.0)
    finally:
        close_all(idle)


def test_idle_and_unfinished_connections_are_closed(tmp_path):
    office = Office(tmp_path, tls=True, limits=Limits(idle_timeout_s=1.0))
    try:
        no_handshake = office.connect(handshake=False)
        no_request = office.connect()
        half_head = office.connect()
        half_head.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the rest (slow headers)
        for sock in (no_handshake, no_request, half_head):
            assert closed_by_server(sock, 5.0)
    finally:
        office.close()


def test_slow_bodies_do_not_stop_sync_and_time_out(tmp_path):
    office = Office(tmp_path, limits=Limits(body_timeout_s=3.0))
    try:
        office.sync(1)
        head = (f"POST /api/v1/sync/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {office.gate_token}\r\n"
                "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n").encode()
        slow = [office.connect() for _ in range(50)]
        for sock in slow:
            sock.sendall(head)
        stop = threading.Event()

        def drip():  # a byte a second on every connection
            while not stop.wait(1.0):
                for sock in slow:
                    try:
                        sock.sendall(b" ")
                    except OSError:
                        pass  # the server cut this slow body off, as it should

        dripping = threading.Thread(target=drip, daemon=True)
        dripping.start()
        try:
            office.sync(3, each_s=2.0)
            started = time.monotonic()
            for sock in slow:
                sock.settimeout(10)
                status, _ = read_head(sock)
                assert status == 408
            assert time.monotonic() - started < 8
        finally:
            stop.set()
            dripping.join(timeout=5)
            close_all(slow)
        # without a token the body is refused before a byte of it is read
        stranger = office.connect()
        stranger.sendall(b"POST /api/v1/sync/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        stranger.settimeout(5)
        assert read_head(stranger)[0] == 401 and closed_by_server(stranger, 5.0)
        stranger.close()
    finally:
        office.close()


def open_stream(office: Office, token: str) -> socket.socket:
    sock = office.connect()
    sock.sendall(f"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    return sock


def test_200_open_streams_do_not_stop_sync_and_are_capped(office):
    tokens = [office.store.add_user(f"staff{i}", "staff", "a long enough password") for i in range(20)]
    streams = [open_stream(office, tokens[i % 20]) for i in range(200)]
    try:
        for sock in streams:
            status, data = read_head(sock)
            assert status == 200
            while b": connected" not in data:
                data += sock.recv(4096)
        assert office.server.front.open_streams == 200
        office.sync(3, each_s=2.0)
        # what the gate sent reaches every open page
        for sock in streams[:20]:
            seen = b""
            while b"event: passage" not in seen:
                seen += sock.recv(65536)
        # caps: 16 per token (10 open already), then 503; a gate token is refused by the app as before
        more = [open_stream(office, tokens[0]) for _ in range(6)]
        assert all(read_head(sock)[0] == 200 for sock in more)
        extra = open_stream(office, tokens[0])
        assert read_head(extra)[0] == 503
        gate_tries = open_stream(office, office.gate_token)
        assert read_head(gate_tries)[0] == 403
        close_all([extra, gate_tries, *more])
    finally:
        close_all(streams)
    deadline = time.monotonic() + 5
    while office.server.front.open_streams and time.monotonic() < deadline:
        time.sleep(0.05)
    assert office.server.front.open_streams == 0  # a closed page frees its stream at once, not half a minute later


def test_streams_beyond_the_total_cap_are_answered_503(tmp_path):
    office = Office(tmp_path, limits=Limits(max_streams=5))
    try:
        token = office.store.add_user("li", "staff", "a long enough password")
        streams = [open_stream(office, token) for _ in range(5)]
        assert all(read_head(sock)[0] == 200 for sock in streams)
        extra = open_stream(office, token)
        assert read_head(extra)[0] == 503
        office.sync(1)
        close_all([extra, *streams])
    finally:
        office.close()


def test_oversized_bodies_get_413_unread_while_the_gate_syncs(office):
    gate_auth = f"Authorization: Bearer {office.gate_token}\r\n"
    results: list[tuple[str, int, int]] = []

    def declared(auth: str) -> None:  # Content-Length 1 GiB: the answer comes before any of the body is sent
        sock = office.connect()
        sock.sendall(f"POST /api/v1/sync/events HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: {1 << 30}\r\n\r\n".encode())
        status, _ = read_head(sock)
        results.append(("declared", status, 0))
        assert closed_by_server(sock, 5.0)
        sock.close()

    def chunked() -> None:  # no length given: counted as it comes and cut off at the limit
        sock = office.connect()
        sock.sendall(f"POST /api/v1/sync/events HTTP/1.1\r\nHost: x\r\n{gate_auth}"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
        sent = 0
        try:
            while sent < 256 << 20:
                sock.sendall(chunk)
                sent += 0x10000
        except OSError:
            pass  # the office cut the body off at its limit (413), which is what this test wants to see
        sock.settimeout(5)
        try:
            status, _ = read_head(sock)
        except (OSError, IndexError):
            status = 0  # reset before the answer could be read: still refused
        results.append(("chunked", status, sent))
        sock.close()

    attacks = [threading.Thread(target=declared, args=(gate_auth,)) for _ in range(10)]
    attacks += [threading.Thread(target=declared, args=("",)) for _ in range(10)]
    attacks += [threading.Thread(target=chunked) for _ in range(5)]
    for attack in attacks:
        attack.start()
    office.sync(3, each_s=3.0)
    for attack in attacks:
        attack.join(timeout=30)
    assert sorted(r[1] for r in results if r[0] == "declared") == [413] * 20
    chunks = [r for r in results if r[0] == "chunked"]
    assert len(chunks) == 5 and all(status in (413, 0) for _, status, _ in chunks)
    assert any(status == 413 for _, status, _ in chunks)
    # the server stopped taking bytes near its 4 MiB limit (what it took beyond is the sockets' buffers)
    assert all(sent < 64 << 20 for _, _, sent in chunks)


def test_the_gates_page_streams_do_not_stall_scans(tmp_path):
    from web.gate import create_gate_app

    rig = make_rig(tmp_path, quarantine=False)
    server = WebServer(create_gate_app(rig.gate, heartbeat_s=1), "127.0.0.1", 0, threads=6,
                       limits=Limits(max_streams=32, max_streams_per_client=32))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    streams = []
    try:
        for _ in range(20):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_head(sock)[0] == 200
            streams.append(sock)
        import requests

        started = time.monotonic()
        answer = requests.post(f"http://127.0.0.1:{server.port}/api/v1/scans",
                               json={"text": card(), "manual_c": 36.4, "direction": "in"}, timeout=10)
        assert answer.status_code == 200 and answer.json()["verdict"] == "admit"
        assert time.monotonic() - started < 5
        seen = b""
        while b"event: decision" not in seen:
            seen += streams[-1].recv(65536)
    finally:
        close_all(streams)
        server.close()
        thread.join(timeout=10)
        rig.close()
