"""HTTPS: the office's own CA, a TLS server (web.serving on hypercorn), and gates that trust exactly that CA."""

from __future__ import annotations

import json
import stat
import threading

import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.config.gate import SyncSettings
from kiosk.events import EventKind
from kiosk.gate.journal import Journal
from kiosk.gate.sync import SyncClient, SyncError
from kiosk.keys import init_keys
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore, token_hash
from kiosk.office.tls import TLSSetupError, init_tls
from kiosk.registry import Registry
from web.office import create_app
from web.serving import WebServer


@pytest.fixture
def https_office(tmp_path):
    files = init_tls(tmp_path / "tls", ["127.0.0.1", "localhost"])
    store = OfficeStore(tmp_path / "office.db")
    server = WebServer(create_app(store, RegistryMaster(tmp_path / "registry.db")), "127.0.0.1", 0,
                          tls_cert=str(files.server_cert), tls_key=str(files.server_key))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.port}", store, files
    server.close()
    thread.join(timeout=5)


def test_certificates_and_their_modes(tmp_path):
    files = init_tls(tmp_path / "tls", ["192.168.1.10", "office.local"])
    assert stat.S_IMODE(files.ca_key.stat().st_mode) == 0o600 and stat.S_IMODE(files.server_key.stat().st_mode) == 0o600
    with pytest.raises(TLSSetupError, match="refusing to overwrite"):
        init_tls(tmp_path / "tls", ["192.168.1.10"])
    with pytest.raises(TLSSetupError, match="neither an IP address nor a host name"):
        init_tls(tmp_path / "other", ["bad host!"])


def test_a_gate_trusting_the_office_ca_syncs_over_https(tmp_path, https_office):
    url, store, files = https_office
    journal = Journal(tmp_path / "j.db", "north")
    journal.append(EventKind.PASSAGE, {"verdict": "admit"})
    client = SyncClient(journal, Registry(tmp_path / "r.db"), office_url=url, token=store.add_gate("north"),
                        ca_certificate=str(files.ca_cert))
    assert client.push_once() == 1 and store.count_events("north") == 1
    client.close()
    journal.close()


def test_a_gate_without_the_ca_refuses_the_office(tmp_path, https_office):
    url, store, _ = https_office
    journal = Journal(tmp_path / "j.db", "north")
    journal.append(EventKind.PASSAGE, {})
    client = SyncClient(journal, Registry(tmp_path / "r.db"), office_url=url, token=store.add_gate("north"))
    with pytest.raises(SyncError, match="SSL|certificate"):
        client.push_once()
    assert store.count_events() == 0
    client.close()
    journal.close()


def test_tls_init_add_gate_and_provisioned_client(tmp_path, https_office):
    url, store, files = https_office
    init_keys(tmp_path / "keys")
    config = tmp_path / "office.yaml"
    config.write_text(f"office: {{data_dir: {tmp_path / 'data'}, keys_dir: {tmp_path / 'keys'}}}\n", encoding="utf-8")
    made = CliRunner().invoke(main, ["office", "tls-init", "--config", str(config), "--hosts", "127.0.0.1"])
    assert made.exit_code == 0 and "tls_ca:" in made.output
    # the running test office uses its own CA; provision against that one
    config.write_text(f"office: {{data_dir: {tmp_path / 'data'}, keys_dir: {tmp_path / 'keys'}}}\n"
                      f"server: {{tls_cert: {files.server_cert}, tls_key: {files.server_key}, tls_ca: {files.ca_cert},"
                      f" public_url: '{url}'}}\n", encoding="utf-8")
    out = tmp_path / "north.json"
    added = CliRunner().invoke(main, ["office", "add-gate", "north", "--config", str(config), "--out", str(out)])
    assert added.exit_code == 0, added.output
    assert json.loads(out.read_text())["ca_certificate"].startswith("-----BEGIN CERTIFICATE-----")
    plain = CliRunner().invoke(main, ["office", "add-gate", "south", "--config", str(config), "--url", "http://127.0.0.1:1",
                                      "--out", str(tmp_path / "south.json")])
    assert plain.exit_code == 2 and "https://" in plain.output
    # add-gate wrote the token into the CLI's office.db; the running test office has its own store
    token = json.loads(out.read_text())["token"]
    store._db()["gates"].insert({"id": "north", "name": "", "token_hash": token_hash(token), "created_at": "now", "revoked_at": None})
    journal = Journal(tmp_path / "gate.db", "north")
    journal.append(EventKind.PASSAGE, {})
    client = SyncClient.from_provisioning(str(out), journal, Registry(tmp_path / "gr.db"), SyncSettings())
    assert client.push_once() == 1
    client.close()
    journal.close()
