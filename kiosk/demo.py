"""A demo community: an office with its registry, a gate that syncs with it, printable cards, scripted passages.

Everything goes through the real chain (cards, office registry, sync, gate
replica, facts, policy, journal, sync back to the office); only the people
and the thermometer readings are made up.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from kiosk.cards import CardKind, issue_card, render_qr
from kiosk.config import GateConfig
from kiosk.credentials import hash_secret
from kiosk.gate.checkpoint import Checkpoint, Outcome
from kiosk.gate.journal import Journal
from kiosk.gate.sync import SyncClient
from kiosk.keys import Keyset, SigningKey, load_keyset, load_signing_key
from kiosk.measurements import Measurement, MeasurementSource
from kiosk.office.keyring import init_office_keys
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore
from kiosk.privacy import mask_phone
from kiosk.registry import Registry

if TYPE_CHECKING:
    from web.serving import WebServer

MARKER = ".kiosk-demo"
TIMEZONE = "Asia/Shanghai"
VOLUNTEER_PIN = "2468"

HOUSEHOLDS = [
    {"id": 1, "building": "1", "unit": "1", "room": "101"},
    {"id": 2, "building": "1", "unit": "1", "room": "102"},
    {"id": 3, "building": "2", "unit": "1", "room": "201"},
]
RESIDENTS = [
    {"id": 1, "household_id": 1, "name": "王小山", "phone_masked": mask_phone("13812345678")},
    {"id": 2, "household_id": 1, "name": "王丽", "phone_masked": mask_phone("13912345678")},
    {"id": 3, "household_id": 2, "name": "李建国", "phone_masked": mask_phone("13712345678")},
    {"id": 4, "household_id": 3, "name": "张伟", "phone_masked": mask_phone("13612345678")},
]


@dataclass
class DemoCommunity:
    """Where the demo put things, and the QR text of each demo card by name."""

    directory: Path
    keys_dir: Path
    registry_path: Path  # the gate's replica (filled by sync)
    journal_path: Path
    cards_dir: Path
    office_dir: Path
    cards: dict[str, str] = field(default_factory=dict)
    gate_token: str = ""
    staff_token: str = ""


def _prepare(directory: Path) -> None:
    # Only ever wipe a folder this demo made itself.
    if directory.exists() and any(directory.iterdir()):
        if not (directory / MARKER).exists():
            raise FileExistsError(f"{directory} exists and is not a demo folder; choose another --dir")
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("made by `kiosk demo`; safe to delete\n", encoding="utf-8")


def seed(directory: Path, now: datetime) -> DemoCommunity:
    """Create keys, a registry replica (version 1) and card PNGs for the demo community in ``directory``.

    ``now`` must be aware; dates are taken in the demo's time zone, and the
    visitor pass covers the hours around ``now``.
    """
    directory = Path(directory)
    now = now.astimezone(ZoneInfo(TIMEZONE))
    today = now.date()
    _prepare(directory)
    demo = DemoCommunity(directory, directory / "keys", directory / "gate" / "registry.db",
                         directory / "gate" / "journal.db", directory / "cards", directory / "office")
    demo.registry_path.parent.mkdir()
    with RegistryMaster(demo.office_dir / "registry.db") as master:
        # As `kiosk keys init --config office.yaml` does: the key folder, and its keyset as a registry version,
        # which is how the gate comes to trust it.
        init_office_keys(demo.keys_dir, master)
    key: SigningKey = load_signing_key(demo.keys_dir)
    demo.cards_dir.mkdir()
    year = today + timedelta(days=364)

    def issue(name: str, kind: CardKind, subject: int, card_id: int, start: date = today, end: date = year) -> dict:
        card, text = issue_card(key, kind, subject, valid_from=start, valid_until=end, card_id=card_id)
        demo.cards[name] = text
        render_qr(text, demo.cards_dir / f"{name}.png")
        return {"id": card.card_id, "kind": kind.value, "subject_id": subject,
                "valid_from": start.isoformat(), "valid_until": end.isoformat(), "issued_at": today.isoformat()}

    cards = [
        issue("wang-xiaoshan", CardKind.RESIDENT, 1, 1001),
        issue("wang-li", CardKind.RESIDENT, 2, 1002),
        issue("li-jianguo", CardKind.RESIDENT, 3, 1003),
        issue("zhang-wei-old", CardKind.RESIDENT, 4, 1004),
        issue("zhang-wei", CardKind.RESIDENT, 4, 1005),
        issue("expired", CardKind.RESIDENT, 1, 1006, today - timedelta(days=60), today - timedelta(days=1)),
        issue("vehicle-jing-a12345", CardKind.VEHICLE, 1, 2001),
        issue("visitor-chen", CardKind.VISITOR, 1, 3001, today, today + timedelta(days=1)),
        issue("volunteer-zhao", CardKind.VOLUNTEER, 1, 4001),
    ]
    # The community is entered at the office, as one registry version; the gate gets it by syncing.
    with RegistryMaster(demo.office_dir / "registry.db") as master:
        master.change(_upserts({
                "households": HOUSEHOLDS,
                "residents": RESIDENTS,
                "cards": cards,
                "revocations": [{"card_id": 1004, "revoked_at": today.isoformat(), "reason": "lost"}],
                "vehicles": [{"id": 1, "plate": "京A12345", "household_id": 1, "owner_resident_id": 1}],
                "visitor_passes": [{
                    "id": 1, "name": "陈来访", "phone_masked": mask_phone("13512345678"), "host_household_id": 3,
                    "valid_from": (now - timedelta(hours=1)).isoformat(),
                    "valid_until": (now + timedelta(hours=8)).isoformat(), "reason": "探亲",
                }],
                "quarantine_orders": [{"id": 1, "resident_id": None, "household_id": 2,
                                       "starts_on": (today - timedelta(days=3)).isoformat(),
                                       "ends_on": (today + timedelta(days=10)).isoformat(), "note": "居家隔离 14 天"}],
                "volunteers": [{"id": 1, "name": "赵志愿", "pin_hash": hash_secret(VOLUNTEER_PIN), "resident_id": None}],
            }))
    store = OfficeStore(demo.office_dir / "office.db")
    demo.gate_token = store.add_gate("demo-gate", "演示北门")
    demo.staff_token = store.add_user("demo-staff", "staff", "demo")
    store.close()
    return demo


def _upserts(tables: dict[str, list[dict]]) -> list[dict]:
    return [{"op": "upsert", "table": table, "row": row} for table, rows in tables.items() for row in rows]


def start_office(demo: DemoCommunity, port: int = 0) -> tuple[WebServer, str]:
    """Serve the demo office on 127.0.0.1 in a background thread; returns the server and its URL."""
    from web.office import create_app
    from web.serving import WebServer as Server

    app = create_app(OfficeStore(demo.office_dir / "office.db"), RegistryMaster(demo.office_dir / "registry.db"))
    server = Server(app, "127.0.0.1", port, threads=8)
    threading.Thread(target=server.run, name="demo-office", daemon=True).start()
    return server, f"http://127.0.0.1:{server.port}"


def gate_config(demo: DemoCommunity, office_url: str, port: int = 8080) -> GateConfig:
    """The simulated gate that keeps running after the script: its replica and journal, synced with the demo office."""
    from kiosk.office.personal_data import sealing_public_text
    from kiosk.provisioning import write_provisioning

    provisioning = demo.registry_path.parent / "provisioning.json"
    provisioning.unlink(missing_ok=True)
    write_provisioning(provisioning, gate_id="demo-gate", office_url=office_url, token=demo.gate_token,
                       keyset=load_keyset(demo.keys_dir / "keyset.json"),
                       id_sealing_key=sealing_public_text(demo.office_dir))
    return GateConfig.model_validate({
        "gate": {"id": "demo-gate", "name": "演示北门", "timezone": TIMEZONE, "data_dir": str(demo.registry_path.parent)},
        "camera": {"source": "replay"},
        "sync": {"provisioning_file": str(provisioning), "interval_s": 5, "heartbeat_s": 10},
        "web": {"port": port},
    })


def _ir(celsius: float, ambient: float = 8.0) -> Measurement:
    return Measurement(celsius, ambient, MeasurementSource.SENSOR)


def _tamper(text: str) -> str:
    """Change one character of the signature area: what a forger editing a photo would get."""
    i = len(text) - 10
    return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1:]


def script(demo: DemoCommunity) -> list[tuple[str, dict]]:
    """The demo's passages, in order: (what happens, arguments for Checkpoint)."""
    c = demo.cards
    return [
        ("王小山 comes home, 36.5 °C", {"text": c["wang-xiaoshan"], "readings": [_ir(36.5)], "direction": "in"}),
        ("王小山 goes out again", {"text": c["wang-xiaoshan"], "direction": "out"}),
        ("王丽 reads 37.8 then 37.6 °C", {"text": c["wang-li"], "readings": [_ir(37.8), _ir(37.6)], "direction": "in"}),
        ("李建国 (home quarantine) scanned, nobody said in or out: the gate asks", {"text": c["li-jianguo"]}),
        ("李建国 (household in home quarantine) tries to go out", {"text": c["li-jianguo"], "direction": "out"}),
        ("张伟 shows his old, replaced card", {"text": c["zhang-wei-old"], "readings": [_ir(36.4)], "direction": "in"}),
        ("someone shows a photo-edited card", {"text": _tamper(c["zhang-wei"]), "readings": [_ir(36.4)], "direction": "in"}),
        ("an expired card", {"text": c["expired"], "readings": [_ir(36.4)], "direction": "in"}),
        ("张伟 with his new card, cold forehead 34.1 °C, then 36.3 °C",
         {"text": c["zhang-wei"], "readings": [_ir(34.1, -2.0), _ir(36.3, 6.0)], "direction": "in"}),
        ("visitor 陈来访 with a pre-registered pass", {"text": c["visitor-chen"], "readings": [_ir(36.7)], "direction": "in"}),
        ("a stranger shows a WeChat QR code", {"text": "https://u.wechat.com/EXAMPLE"}),
        ("vehicle 京A12345, disinfected", {"vehicle": True, "plate": "京A·12345", "disinfected": True, "direction": "in"}),
        ("unknown vehicle 津B99999", {"vehicle": True, "plate": "津B99999", "disinfected": True, "direction": "in"}),
    ]


def run(demo: DemoCommunity, config: GateConfig, start: datetime, office_url: str) -> list[tuple[str, Outcome]]:
    """Sync the gate from the office, run the demo script through the real chain one minute apart, sync back."""
    outcomes = []
    with Registry(demo.registry_path) as registry, Journal(demo.journal_path, config.gate.id) as journal:
        client = SyncClient(journal, registry, office_url=office_url, token=demo.gate_token)
        client.pull_registry_once()  # the registry replica arrives from the office
        checkpoint = Checkpoint(config, registry, journal, Keyset.from_json(registry.keyset_json()))
        for minute, (label, args) in enumerate(script(demo)):
            now = start + timedelta(minutes=minute)
            if args.get("vehicle"):
                outcome = checkpoint.vehicle(now, plate=args["plate"], disinfected=args["disinfected"],
                                             direction=args["direction"], direction_source="volunteer", volunteer_id="1")
            else:
                # The volunteer taps 进 / 出 as a person comes up; without a tap the gate asks instead of guessing.
                direction = args.get("direction")
                outcome = checkpoint.passage(args["text"], now, args.get("readings", ()), direction=direction,
                                             direction_source="volunteer" if direction else None, volunteer_id="1")
            outcomes.append((label, outcome))
        client.push_once()  # the ledger goes to the office
        client.heartbeat_once()
        client.close()
    return outcomes
