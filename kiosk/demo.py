"""A demo community: an office with its registry, two gates that sync with it, printable cards, scripted passages.

Everything goes through the real chain (cards, office registry, sync, gate
replica, facts, policy, journal, sync back to the office); only the people
and the thermometer readings are made up. ``kiosk.demo_history`` gives the
office a few days of history at both gates the same way, so that every screen
of the office desk has something to show.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
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
from kiosk.office.queries.gates import set_gate_compound
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore
from kiosk.privacy import mask_phone
from kiosk.registry import Registry

if TYPE_CHECKING:
    from web.serving import WebServer

MARKER = ".kiosk-demo"
TIMEZONE = "Asia/Shanghai"
VOLUNTEER_PIN = "2468"
# The office desk's demo sign-in (an admin, so every desk screen is open to it); fixed, since it is only a demo.
DESK_USER = "demo"
DESK_PASSWORD = "demo-2468"
COMPOUND = "和平里小区"
COMMUNITY_NAME = "和平里社区居委会"  # the office, as the desk names it


@dataclass(frozen=True)
class DemoGate:
    """One of the demo's gates: its id and name at the office, its folder, and the volunteer who staffs it."""

    id: str
    name: str
    folder: str
    volunteer_id: int


NORTH = DemoGate("north-gate", "北门", "gate", 1)  # the gate `kiosk demo --serve` runs, touchscreen and all
SOUTH = DemoGate("south-gate", "南门", "gate-south", 2)  # only syncs: its history, then heartbeats
GATES = (NORTH, SOUTH)

_ROOMS = ["1-1-101", "1-1-102", "2-1-201", "1-2-301", "2-1-202", "2-2-401", "3-1-101", "3-1-502", "3-2-302",
          "1-2-601", "2-2-102"]
HOUSEHOLDS = [{"id": i, "building": b, "unit": u, "room": r}
              for i, (b, u, r) in enumerate((room.split("-") for room in _ROOMS), 1)]
# (resident id, household id, name, phone); the first four are the script's, the others come up in the history.
_PEOPLE = [
    (1, 1, "王小山", "13812345678"), (2, 1, "王丽", "13912345678"), (3, 2, "李建国", "13712345678"),
    (4, 3, "张伟", "13612345678"), (5, 4, "刘洋", "15012340005"), (6, 4, "刘芳", "15012340006"),
    (7, 5, "陈静", "15012340007"), (8, 5, "陈志强", "15012340008"), (9, 6, "杨帆", "15012340009"),
    (10, 7, "赵敏", "15012340010"), (11, 7, "黄磊", "15012340011"), (12, 8, "周杰", "15012340012"),
    (13, 8, "吴婷", "15012340013"), (14, 9, "徐明", "15012340014"), (15, 9, "孙丽娟", "15012340015"),
    (16, 10, "马超", "15012340016"), (17, 11, "朱红", "15012340017"), (18, 11, "胡斌", "15012340018"),
    (19, 11, "郭小雨", "15012340019"),
]
RESIDENTS = [{"id": rid, "household_id": hid, "name": name, "phone": phone, "phone_masked": mask_phone(phone)}
             for rid, hid, name, phone in _PEOPLE]
# card ids of the residents' current cards (the script's named cards, then one per history resident)
RESIDENT_CARD_IDS = {1: 1001, 2: 1002, 3: 1003, 4: 1005, **{rid: 1100 + rid for rid, *_ in _PEOPLE[4:]}}
VEHICLES = [{"id": 1, "plate": "京A12345", "household_id": 1, "owner_resident_id": 1},
            {"id": 2, "plate": "京B67890", "household_id": 7, "owner_resident_id": 11}]


@dataclass
class DemoCommunity:
    """Where the demo put things, and the QR text of each demo card by name."""

    directory: Path
    keys_dir: Path
    registry_path: Path  # the north gate's replica (filled by sync)
    journal_path: Path  # the north gate's journal
    cards_dir: Path
    office_dir: Path
    cards: dict[str, str] = field(default_factory=dict)  # the named cards, each also a PNG in cards_dir
    resident_cards: dict[int, str] = field(default_factory=dict)  # resident id → the QR text of their current card
    gate_tokens: dict[str, str] = field(default_factory=dict)  # gate id → its sync token
    staff_token: str = ""  # the desk user's API token

    @property
    def gate_token(self) -> str:
        """The north gate's sync token (the gate the script and ``--serve`` run)."""
        return self.gate_tokens[NORTH.id]

    def gate_dir(self, gate: DemoGate) -> Path:
        """A gate's folder: its registry replica and journal."""
        return self.directory / gate.folder


def _community(directory: Path) -> DemoCommunity:
    """The demo's folders under ``directory`` (nothing read or made yet)."""
    return DemoCommunity(directory, directory / "keys", directory / NORTH.folder / "registry.db",
                         directory / NORTH.folder / "journal.db", directory / "cards", directory / "office")


def _prepare(directory: Path) -> None:
    # Only ever wipe a folder this demo made itself: re-running starts from scratch, so nothing is seeded twice.
    if directory.exists() and any(directory.iterdir()):
        if not (directory / MARKER).exists():
            raise FileExistsError(f"{directory} exists and is not a demo folder; choose another --dir")
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("made by `kiosk demo`; safe to delete\n", encoding="utf-8")


def seed(directory: Path, now: datetime) -> DemoCommunity:
    """Create keys, the office registry (version 1), the two gates, the desk user and card PNGs in ``directory``.

    ``now`` must be aware; dates are taken in the demo's time zone, and the
    visitor pass covers the hours around ``now``. Cards are valid from a month
    back, so the history's passages of the last days are honest.
    """
    directory = Path(directory)
    now = now.astimezone(ZoneInfo(TIMEZONE))
    today = now.date()
    _prepare(directory)
    demo = _community(directory)
    for gate in GATES:
        demo.gate_dir(gate).mkdir()
    with RegistryMaster(demo.office_dir / "registry.db") as master:
        # As `kiosk keys init --config office.yaml` does: the key folder, and its keyset as a registry version,
        # which is how the gate comes to trust it.
        init_office_keys(demo.keys_dir, master)
    key: SigningKey = load_signing_key(demo.keys_dir)
    demo.cards_dir.mkdir()
    since, year = today - timedelta(days=30), today + timedelta(days=364)
    replaced = today - timedelta(days=5)  # 张伟 lost his first card five days ago

    def card_row(kind: CardKind, subject: int, card_id: int, start: date, end: date) -> tuple[dict, str]:
        card, text = issue_card(key, kind, subject, valid_from=start, valid_until=end, card_id=card_id)
        return {"id": card.card_id, "kind": kind.value, "subject_id": subject, "valid_from": start.isoformat(),
                "valid_until": end.isoformat(), "issued_at": start.isoformat()}, text

    def issue(name: str, kind: CardKind, subject: int, card_id: int, start: date = since, end: date = year) -> dict:
        row, text = card_row(kind, subject, card_id, start, end)
        demo.cards[name] = text
        render_qr(text, demo.cards_dir / f"{name}.png")
        return row

    cards = [
        issue("wang-xiaoshan", CardKind.RESIDENT, 1, 1001),
        issue("wang-li", CardKind.RESIDENT, 2, 1002),
        issue("li-jianguo", CardKind.RESIDENT, 3, 1003),
        issue("zhang-wei-old", CardKind.RESIDENT, 4, 1004),
        issue("zhang-wei", CardKind.RESIDENT, 4, 1005, replaced),
        issue("expired", CardKind.RESIDENT, 1, 1006, today - timedelta(days=60), today - timedelta(days=1)),
        issue("vehicle-jing-a12345", CardKind.VEHICLE, 1, 2001),
        issue("visitor-chen", CardKind.VISITOR, 1, 3001, today - timedelta(days=1), today + timedelta(days=1)),
        issue("volunteer-zhao", CardKind.VOLUNTEER, 1, 4001),
    ]
    named = {1: "wang-xiaoshan", 2: "wang-li", 3: "li-jianguo", 4: "zhang-wei"}
    for resident_id, card_id in RESIDENT_CARD_IDS.items():
        if resident_id in named:
            demo.resident_cards[resident_id] = demo.cards[named[resident_id]]
            continue
        row, demo.resident_cards[resident_id] = card_row(CardKind.RESIDENT, resident_id, card_id, since, year)
        cards.append(row)  # the history's residents: cards in the registry, no PNG (the named ones are enough to try)
    pin_hash = hash_secret(VOLUNTEER_PIN)  # one scrypt for both volunteers: a demo's PIN, not a secret
    # The community is entered at the office, as one registry version; the gates get it by syncing.
    with RegistryMaster(demo.office_dir / "registry.db") as master:
        master.change(_upserts({
                "households": HOUSEHOLDS,
                "residents": RESIDENTS,
                "cards": cards,
                "revocations": [{"card_id": 1004, "revoked_at": replaced.isoformat(), "reason": "lost"}],
                "vehicles": VEHICLES,
                "visitor_passes": [{
                    "id": 1, "name": "陈来访", "phone_masked": mask_phone("13512345678"), "host_household_id": 3,
                    "valid_from": (now - timedelta(hours=1)).isoformat(),
                    "valid_until": (now + timedelta(hours=8)).isoformat(), "reason": "探亲",
                }],
                "quarantine_orders": [{"id": 1, "resident_id": None, "household_id": 2,
                                       "starts_on": (today - timedelta(days=3)).isoformat(),
                                       "ends_on": (today + timedelta(days=10)).isoformat(), "note": "居家隔离 14 天"}],
                "volunteers": [{"id": 1, "name": "赵志愿", "pin_hash": pin_hash, "resident_id": None},
                               {"id": 2, "name": "钱志愿", "pin_hash": pin_hash, "resident_id": None}],
            }))
    store = OfficeStore(demo.office_dir / "office.db")
    try:
        for gate in GATES:
            demo.gate_tokens[gate.id] = store.add_gate(gate.id, gate.name)
            set_gate_compound(store, gate.id, COMPOUND)
        demo.staff_token = store.add_user(DESK_USER, "admin", DESK_PASSWORD)
        with RegistryMaster(demo.office_dir / "registry.db") as master:
            seed_followup(store, master, today, TIMEZONE)
    finally:
        store.close()
    write_office_config(demo)
    return demo


OFFICE_CONFIG = "office.yaml"


def office_settings(demo: DemoCommunity) -> dict[str, Any]:
    """The demo office's office.yaml as a mapping: its name, time zone and folders (absolute paths)."""
    return {"office": {"name": COMMUNITY_NAME, "timezone": TIMEZONE, "data_dir": str(demo.office_dir.resolve()),
                       "keys_dir": str(demo.keys_dir.resolve())}}


def office_config_path(demo: DemoCommunity) -> Path:
    """DIR/office/office.yaml: ``kiosk office … --config`` it to work on the demo office."""
    return demo.office_dir / OFFICE_CONFIG


def write_office_config(demo: DemoCommunity) -> Path:
    """Write the demo office's office.yaml into its office folder, so every ``kiosk office`` command works on it."""
    import io

    from ruamel.yaml import YAML

    path = office_config_path(demo)
    text = io.StringIO()
    YAML().dump(office_settings(demo), text)  # round-trip mode: block style, keys in order
    path.write_text(f"# The demo office, written by `kiosk demo`: kiosk office <command> --config {path}\n"
                    + text.getvalue(), encoding="utf-8")
    return path


# What a finished demo folder keeps beside its databases: what the demo otherwise holds only in memory (the cards'
# QR texts, the gates' sync tokens, the desk user's API token) and when it was seeded, so a copy of it can serve.
COMMUNITY_FILE = "community.json"
# A copy serves the history as of its folder's seeding: an hour at most (the visitor pass covers 8 h from then; the
# history's "today" ends 10 min before it), as if the demo had been running that long.
MAX_PREPARED_AGE = timedelta(hours=1)


def save_community(demo: DemoCommunity, seeded_at: datetime) -> Path:
    """Write DIR/community.json once the folder is complete (seeded, history and script run): ``copy_prepared`` needs it.

    The tokens are the demo's own (the desk's is printed by ``kiosk demo`` anyway); the file is the owner's only.
    """
    path = demo.directory / COMMUNITY_FILE
    record = {"seeded_at": seeded_at.isoformat(), "cards": demo.cards,
              "resident_cards": {str(k): v for k, v in demo.resident_cards.items()},
              "gate_tokens": demo.gate_tokens, "staff_token": demo.staff_token}
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(record, out, ensure_ascii=False, indent=1)
    return path


class PreparedFolderError(ValueError):
    """``--copy-from`` names a folder a copy cannot start from (not a finished demo folder, or too old)."""


def load_community(directory: Path) -> tuple[DemoCommunity, datetime]:
    """A finished demo folder's community (paths, cards, tokens) and when it was seeded; PreparedFolderError if not one."""
    directory = Path(directory)
    path = directory / COMMUNITY_FILE
    if not (directory / MARKER).is_file() or not path.is_file():
        raise PreparedFolderError(f"{directory} is not a finished demo folder (made by `kiosk demo --dir {directory}`)")
    try:
        if path.stat().st_size > 1_000_000:
            raise ValueError("too large")
        record = json.loads(path.read_text(encoding="utf-8"))
        demo = _community(directory)
        demo.cards = {str(k): str(v) for k, v in record["cards"].items()}
        demo.resident_cards = {int(k): str(v) for k, v in record["resident_cards"].items()}
        demo.gate_tokens = {str(k): str(v) for k, v in record["gate_tokens"].items()}
        demo.staff_token = str(record["staff_token"])
        seeded_at = datetime.fromisoformat(record["seeded_at"])
        if seeded_at.tzinfo is None or set(demo.gate_tokens) != {gate.id for gate in GATES}:
            raise ValueError("incomplete")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PreparedFolderError(f"{path} cannot be read ({exc}); make the folder again with kiosk demo") from None
    return demo, seeded_at


def copy_prepared(source: Path, directory: Path, now: datetime,
                  max_age: timedelta = MAX_PREPARED_AGE) -> tuple[DemoCommunity, datetime]:
    """Make ``directory`` a copy of the finished demo folder ``source`` instead of seeding it; returns it and its seeding.

    Seconds instead of seeding the keys, cards and history anew (the browser tests start a demo per test). The copy
    is the source as it was: its history ends where the source's did, so ``source`` must be at most ``max_age``
    old and not be running (its databases are copied as files). ``directory`` is wiped first, as ``seed`` does.
    """
    source, directory = Path(source), Path(directory)
    if source.resolve() == directory.resolve():
        raise PreparedFolderError("--copy-from must be another folder than --dir")
    _, seeded_at = load_community(source)
    age = now - seeded_at
    if age > max_age or age < -timedelta(minutes=1):
        raise PreparedFolderError(f"{source} was seeded at {seeded_at:%Y-%m-%d %H:%M}, more than "
                                  f"{max_age.total_seconds() / 60:g} min ago: its history is out of date; "
                                  f"make it again with kiosk demo --dir {source}")
    _prepare(directory)
    shutil.copytree(source, directory, dirs_exist_ok=True, ignore=shutil.ignore_patterns("replay", "provisioning.json"))
    demo, _ = load_community(directory)
    write_office_config(demo)  # its paths are the copy's
    return demo, seeded_at


def heartbeat_gates(demo: DemoCommunity, office_url: str) -> None:
    """Each gate tells the office it is alive, as after the history's sync (a copied folder's last were earlier)."""
    for gate in GATES:
        gate_dir = demo.gate_dir(gate)
        with Registry(gate_dir / "registry.db") as registry, Journal(gate_dir / "journal.db", gate.id) as journal:
            client = SyncClient(journal, registry, office_url=office_url, token=demo.gate_tokens[gate.id])
            try:
                client.heartbeat_once()
            finally:
                client.close()


def seed_followup(store: OfficeStore, master: RegistryMaster, today: date, tz: str) -> None:
    """The follow-up modules' demo data: home-quarantine checks, a screening round, disinfection rounds."""
    from kiosk.office import disinfection, quarantine, screening

    for module in (quarantine, screening, disinfection):
        module.demo_seed(store, master, today, tz)


def desk_line(url: str) -> str:
    """The one line that tells a person where the office desk is and how to sign in."""
    return f"office desk: {url.rstrip('/')}/  user: {DESK_USER}  password: {DESK_PASSWORD}"


def _upserts(tables: dict[str, list[dict]]) -> list[dict]:
    return [{"op": "upsert", "table": table, "row": row} for table, rows in tables.items() for row in rows]


class DemoOffice:
    """The demo office's server and, with --serve, its watch for silent gates; ``close()`` stops both."""

    def __init__(self, server: WebServer, watch: Any = None):
        self.server, self.watch = server, watch

    @property
    def port(self) -> int:
        """Where the office listens."""
        return self.server.port

    def close(self) -> None:
        """Stop the watch and the server. Idempotent."""
        if self.watch is not None:
            self.watch.stop()
        self.server.close()


def start_office(demo: DemoCommunity, port: int = 0, *, offline_after_s: float | None = None,
                 heartbeats: bool = False) -> tuple[DemoOffice, str]:
    """Serve the demo office on 127.0.0.1 in a background thread; returns the office and its URL.

    ``offline_after_s``: also watch for silent gates, as ``kiosk office serve`` does (the gate-offline alarm).
    ``heartbeats``: the gates heartbeat once before the watch's first look (a copied folder's gates were last
    heard when it was made; without them the watch would find them silent for that long).
    """
    from kiosk.config.office import OfficeConfig
    from kiosk.office.watch import start_offline_watch
    from web.office import create_app
    from web.serving import WebServer as Server

    alarms = {"offline_after_s": offline_after_s, "check_every_s": min(10.0, max(0.5, offline_after_s / 4))} \
        if offline_after_s else {}
    # The same settings as the office.yaml seed() wrote (the CLI's), with the demo's quicker offline alarm.
    config = OfficeConfig.model_validate({**office_settings(demo), "alarms": alarms})
    store = OfficeStore(demo.office_dir / "office.db")
    app = create_app(store, RegistryMaster(demo.office_dir / "registry.db"), config=config)
    server = Server(app, "127.0.0.1", port, threads=8)
    threading.Thread(target=server.run, name="demo-office", daemon=True).start()
    if heartbeats:
        try:
            heartbeat_gates(demo, f"http://127.0.0.1:{server.port}")
        except BaseException:
            server.close()
            raise
    watch = None
    if offline_after_s:  # the desk's gates screen and the watch use the same threshold
        watch = start_offline_watch(store, config.alarms, app.config["BROADCASTER"].publish)
    return DemoOffice(server, watch), f"http://127.0.0.1:{server.port}"


def gate_config(demo: DemoCommunity, office_url: str, port: int = 8080, *, unstaffed_after_s: float = 600.0,
                overrides: dict[str, Any] | None = None) -> GateConfig:
    """The simulated gate that keeps running after the script: its replica and journal, synced with the demo office.

    ``overrides`` sets dotted keys (``{"gate_leaf.night_from": "00:00"}``), as ``kiosk demo --gate-set`` does.
    """
    from kiosk.office.personal_data import sealing_public_text
    from kiosk.provisioning import write_provisioning

    provisioning = demo.registry_path.parent / "provisioning.json"
    provisioning.unlink(missing_ok=True)
    write_provisioning(provisioning, gate_id=NORTH.id, office_url=office_url, token=demo.gate_token,
                       keyset=load_keyset(demo.keys_dir / "keyset.json"),
                       id_sealing_key=sealing_public_text(demo.office_dir))
    settings: dict[str, Any] = {
        "gate": {"id": NORTH.id, "name": NORTH.name, "timezone": TIMEZONE, "data_dir": str(demo.registry_path.parent)},
        "camera": {"source": "replay"},
        "sync": {"provisioning_file": str(provisioning), "interval_s": 5, "heartbeat_s": 10},
        "web": {"port": port},
        "alarms": {"unstaffed_after_s": unstaffed_after_s},
        "gate_leaf": {"pin": DEMO_LEAF_PIN},  # a (simulated) reed switch on the gate leaf: the panel swings it
    }
    for key, value in (overrides or {}).items():
        *path, last = key.split(".")
        section = settings
        for part in path:
            section = section.setdefault(part, {})
            if not isinstance(section, dict):
                raise ValueError(f"{key}: {part} is not a section")
        section[last] = value
    return GateConfig.model_validate(settings)


# The demo gate's reed switch pin (a mock pin; clear of the signals' defaults 17, 27, 22).
DEMO_LEAF_PIN = 5


def checkpoint_config(demo: DemoCommunity, gate: DemoGate) -> GateConfig:
    """The settings a gate's decision chain runs with in the script and the history (the defaults' policy)."""
    return GateConfig.model_validate({"gate": {"id": gate.id, "name": gate.name, "timezone": TIMEZONE,
                                               "data_dir": str(demo.gate_dir(gate))}})


class SyncingGate:
    """A gate with no touchscreen that keeps syncing with the office (heartbeats, its backlog) until closed.

    With ``--serve`` the south gate runs like this, so the desk shows it online beside the north gate.
    """

    def __init__(self, demo: DemoCommunity, gate: DemoGate, office_url: str):
        gate_dir = demo.gate_dir(gate)
        self.registry = Registry(gate_dir / "registry.db")
        self.journal = Journal(gate_dir / "journal.db", gate.id)
        self.client = SyncClient(self.journal, self.registry, office_url=office_url, token=demo.gate_tokens[gate.id],
                                 interval_s=5, heartbeat_s=10, timeout_s=3)  # a local office: Ctrl-C never waits long
        self.client.start()

    def close(self) -> None:
        """Stop syncing and close the replica and journal."""
        self.client.close()
        self.journal.close()
        self.registry.close()


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
