"""``kiosk office serve|add-gate|revoke-gate|add-user|gates``: run the office and manage who may talk to it.

The commands join the ``office`` group of kiosk.cli.officecmd (loaded lazily from there).
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import click

from kiosk.cli.common import clean_errors, fail, print_json

_CONFIG = click.option("--config", "config_path", default="office.yaml", show_default=True,
                       type=click.Path(dir_okay=False), help="The office's config file.")


def _open(config_path: str):
    from kiosk.config import load_office_config
    from kiosk.office.paths import OfficePaths
    from kiosk.office.store import OfficeStore

    config = load_office_config(config_path)
    paths = OfficePaths.of(config)
    return config, paths, OfficeStore(paths.store)


@click.command("serve")
@_CONFIG
@click.option("--threads", default=8, show_default=True, type=click.IntRange(2, 64),
              help="Threads for the app's requests (connections and live streams hold none).")
def serve(config_path: str, threads: int) -> None:
    """Serve the sync API on server.host:server.port until stopped (HTTPS when server.tls_cert is set)."""
    from kiosk.office.registry_master import RegistryMaster
    from kiosk.office.watch import start_offline_watch
    from web.office import create_app
    from web.office.batch_check import BatchChecker
    from web.serving import Limits, WebServer

    with clean_errors():
        config, paths, store = _open(config_path)
        registry = RegistryMaster(paths.registry)
        server = config.server
        limits = Limits(idle_timeout_s=server.idle_timeout_s, body_timeout_s=server.body_timeout_s,
                        max_streams=server.max_streams, max_streams_per_client=server.max_streams_per_token)
        processes = server.check_processes
        if processes is None:
            processes = 1 if (os.cpu_count() or 1) >= 2 else 0
        checker = BatchChecker(store.path.parent, processes)
        app = create_app(store, registry, config=config, checker=checker)
        try:
            running = WebServer(app, server.host, server.port, threads=threads,
                                tls_cert=server.tls_cert, tls_key=server.tls_key, limits=limits)
        except OSError as exc:
            fail(f"cannot serve on {server.host}:{server.port}: {exc.strerror or exc}")
    # A silent gate raises the gate-offline alarm (alarms.offline_after_s), published to the live pages like a gate's.
    watch = start_offline_watch(store, config.alarms, app.config["BROADCASTER"].publish)
    import signal
    import sys

    # The event loop (connections, streams) and the app's threads share the GIL: a busy loop hands it over after
    # 1 ms instead of Python's 5, so a gate's request waits less behind hundreds of stream writes.
    sys.setswitchinterval(0.001)
    # What start-up made (modules, schemas, the app) lives as long as the process: out of the collector's way, so
    # the full collections a stream of batches sets off do not walk it each time (docs/benchmarks.md, Office ingest)
    gc.freeze()
    scheme = "https" if running.tls else "http"
    click.echo(f"office serving on {scheme}://{server.host}:{running.port}  (Ctrl-C stops)")
    from kiosk.service_notify import ServiceNotice, http_answers, office_health

    def stop(signum, frame):
        # systemd stops with SIGTERM, a terminal with Ctrl-C: the server closes in order (no traceback per open
        # connection), then STOPPING=1 is sent and the watch closes.
        running.stop_on_signal()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Under systemd (Type=notify): READY=1 once /healthz answers; keep-alives while it does and the store answers.
    host, port, tls = server.host, running.port, running.tls
    notice = ServiceNotice(http_answers(host, port, "/healthz", tls=tls, timeout_s=2.0),
                           lambda interval: office_health(store, host, port, tls=tls, interval_s=interval),
                           "办公室服务运行中 / office serving").start()
    try:
        running.run()
    except KeyboardInterrupt:
        pass
    finally:
        notice.close()
        watch.stop()
        running.close()
        checker.close()


@click.command("add-gate")
@click.argument("gate_id")
@_CONFIG
@click.option("--name", default="", help="Name shown to staff, e.g. 北门.")
@click.option("--url", "office_url", help="How the gate reaches the office (default: server.public_url).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Provisioning file (default: GATE_ID.provision.json).")
def add_gate(gate_id: str, config_path: str, name: str, office_url: str | None, out: Path | None) -> None:
    """Register a gate: print its token once and write its provisioning file (URL, token, keyset)."""
    import re

    from kiosk.keys import KEYSET_FILE, load_keyset
    from kiosk.provisioning import write_provisioning

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,31}", gate_id):
        fail(f"GATE_ID: expected lowercase letters, digits and dashes (≤ 32), got {gate_id!r}")
    with clean_errors():
        config, paths, store = _open(config_path)
        url = office_url or config.server.public_url
        if not url:
            fail("no office URL: pass --url http://OFFICE:PORT or set server.public_url in office.yaml")
        keyset = load_keyset(paths.keys_dir / KEYSET_FILE)
        ca = None
        if config.server.tls_ca:
            try:
                ca = Path(config.server.tls_ca).read_text(encoding="ascii")
            except OSError as exc:
                fail(f"server.tls_ca: cannot read {config.server.tls_ca}: {exc.strerror or exc}")
        if config.server.tls_cert and url.startswith("http://"):
            fail(f"the office serves HTTPS: the gate's URL must start with https://, got {url}")
        out = out or Path(f"{gate_id}.provision.json")
        if out.exists():
            fail(f"{out} already exists; remove it or choose another --out")
        token = store.add_gate(gate_id, name)
        from kiosk.office.personal_data import sealing_public_text

        # The sealing key's public half only: the ID-hash key and the sealing private key never leave the office.
        write_provisioning(out, gate_id=gate_id, office_url=url, token=token, keyset=keyset, ca_certificate=ca,
                           id_sealing_key=sealing_public_text(paths.data_dir))
    click.echo(f"gate {gate_id} added; token (shown once, stored only as a hash): {token}")
    click.echo(f"provisioning file: {out}  (copy it to the gate; mode 0600)")


@click.command("revoke-gate")
@click.argument("gate_id")
@_CONFIG
def revoke_gate(gate_id: str, config_path: str) -> None:
    """Refuse a gate's token from now on (a lost or stolen gate)."""
    with clean_errors():
        _, _, store = _open(config_path)
        store.revoke_gate(gate_id)
    click.echo(f"gate {gate_id}: token revoked")


@click.command("add-user")
@click.argument("name")
@_CONFIG
@click.option("--role", type=click.Choice(["admin", "staff"]), default="staff", show_default=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The staff member's password (asked when not given).")
def add_user(name: str, config_path: str, role: str, password: str) -> None:
    """Add a staff account; prints its API token once. Password and token are stored only as hashes."""
    with clean_errors():
        _, _, store = _open(config_path)
        token = store.add_user(name, role, password)
    click.echo(f"{role} {name} added; API token (shown once): {token}")


@click.command("gates")
@_CONFIG
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def gates(config_path: str, as_json: bool) -> None:
    """List gates with their last heartbeat, high-water seq and clock offset."""
    with clean_errors():
        _, _, store = _open(config_path)
        rows = store.gates()
    if as_json:
        print_json({"gates": rows})
        return
    for row in rows:
        flag = "  CLOCK OFF" if row["clock_off"] else ""
        state = "revoked" if row["revoked"] else f"seq {row['last_seq']}, heartbeat {row['last_heartbeat'] or '—'}"
        click.echo(f"{row['id']:<16} {row['name']:<8} {state}{flag}")


@click.command("tls-init")
@_CONFIG
@click.option("--hosts", required=True, help="Comma-separated names and addresses gates use, e.g. 192.168.1.10,office.local.")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the certificates (default: DATA_DIR/tls).")
def tls_init(config_path: str, hosts: str, directory: Path | None) -> None:
    """Make the office's own CA and an HTTPS certificate for it; prints the office.yaml lines to add."""
    from kiosk.office.tls import init_tls

    with clean_errors():
        config, paths, _ = _open(config_path)
        files = init_tls(directory or paths.data_dir / "tls", hosts.split(","), community=config.office.name or "kiosk office")
    click.echo("certificates written; add to office.yaml under server:")
    click.echo(f"  tls_cert: {files.server_cert}\n  tls_key: {files.server_key}\n  tls_ca: {files.ca_cert}")
    click.echo(f"  public_url: https://{hosts.split(',')[0].strip()}:{config.server.port}")
    click.echo(f"keep {files.ca_key} offline: it can make certificates gates will trust")
