"""Helpers for tests that need a real office over HTTP on loopback, and a proxy that cuts connections."""

from __future__ import annotations

import random
import socket
import threading
from pathlib import Path

import waitress

from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore
from web.office import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OfficeServer:
    """The office app served by waitress in a thread on 127.0.0.1; stop() and start() again on the same port."""

    def __init__(self, data: Path, port: int | None = None):
        self.data = Path(data)
        self.port = port or free_port()
        self.store = OfficeStore(self.data / "office.db")
        self.registry = RegistryMaster(self.data / "registry.db")
        self._server = None
        self._thread = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OfficeServer:
        app = create_app(self.store, self.registry)
        self._server = waitress.create_server(app, host="127.0.0.1", port=self.port, threads=8)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._thread.join(timeout=5)
            self._server = None


class CuttingProxy:
    """A TCP proxy to ``target`` that, with probability ``cut``, drops a connection part-way through the request."""

    def __init__(self, target_port: int, cut: float = 0.3, seed: int = 7):
        self.target_port = target_port
        self.cut = cut
        self.rng = random.Random(seed)
        self.port = free_port()
        self.cuts = 0
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        except OSError:
            client.close()
            return
        limit = self.rng.randint(100, 4000) if self.rng.random() < self.cut else None

        def pipe(src, dst, budget):
            sent = 0
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    if budget is not None and sent + len(data) > budget:
                        dst.sendall(data[: budget - sent])
                        self.cuts += 1
                        break
                    dst.sendall(data)
                    sent += len(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=pipe, args=(upstream, client, None), daemon=True).start()
        pipe(client, upstream, limit)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


def valid_id(seventeen: str) -> str:
    """A Chinese resident ID number: the 17 digits given plus their check character (GB 11643)."""
    from kiosk.privacy import _ID_CHECK, _ID_WEIGHTS

    return seventeen + _ID_CHECK[sum(int(d) * w for d, w in zip(seventeen, _ID_WEIGHTS, strict=True)) % 11]


def office_folder(tmp_path: Path) -> tuple[Path, Path]:
    """An office with signing keys and an office.yaml pointing into ``tmp_path``: (tmp_path, the config's path)."""
    from kiosk.keys import init_keys

    init_keys(tmp_path / "keys")
    config = tmp_path / "office.yaml"
    config.write_text(f"office:\n  data_dir: {tmp_path / 'data'}\n  keys_dir: {tmp_path / 'keys'}\n", encoding="utf-8")
    return tmp_path, config


def served_office_config(tmp_path: Path, port: int, **server: object) -> Path:
    """Signing keys and an office.yaml for ``kiosk office serve`` on 127.0.0.1:``port`` (more ``server`` settings
    as given), its data in ``tmp_path / "office"``: the config's path."""
    from kiosk.keys import init_keys

    init_keys(tmp_path / "keys")
    config = tmp_path / "office.yaml"
    settings = "".join(f", {key}: {value}" for key, value in server.items())
    config.write_text(f"office: {{data_dir: {tmp_path / 'office'}, keys_dir: {tmp_path / 'keys'}}}\n"
                      f"server: {{host: 127.0.0.1, port: {port}{settings}}}\n", encoding="utf-8")
    return config


def child_pids(pid: int) -> list[int]:
    """The processes ``pid`` started and that still run (or wait to be reaped), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rpartition(")")[2].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError):  # ended meanwhile
                continue
    return found


def run_office(config: Path, *args: object, input: str | None = None):
    """``kiosk office ARGS --config CONFIG`` through click's runner."""
    from click.testing import CliRunner

    from kiosk.cli.officecmd import office

    return CliRunner().invoke(office, [str(a) for a in args] + ["--config", str(config)], input=input)
