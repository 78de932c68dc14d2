"""A gate to test with: a small community in a registry replica, a journal, and a Gate on simulated hardware.

The fixtures (``rig``, ``rig_factory``) are registered in tests/conftest.py for every test folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from kiosk.cards import CardKind, issue_card
from kiosk.config import GateConfig
from kiosk.credentials import hash_secret
from kiosk.gate.checkpoint import Checkpoint
from kiosk.gate.journal import Journal
from kiosk.gate.passages import Gate
from kiosk.keys import Keyset, SigningKey
from kiosk.registry import Registry
from sensors.simulated import SimulatedHardware, simulated_hardware

KEY = SigningKey.generate()
OFFICE_SEAL = X25519PrivateKey.generate()  # the office's sealing key: visitors' ID numbers are sealed to it
PIN = "2468"

# Resident 1 (household 1) is free to come and go; resident 2 (household 2) is under a home-quarantine order.
COMMUNITY = {
    "households": [{"id": 1, "building": "1", "unit": "1", "room": "101"},
                   {"id": 2, "building": "2", "unit": "1", "room": "201"}],
    "residents": [{"id": 1, "household_id": 1, "name": "王小山"}, {"id": 2, "household_id": 2, "name": "李建国"}],
    "cards": [{"id": 11, "kind": "resident", "subject_id": 1}, {"id": 12, "kind": "resident", "subject_id": 2}],
    "volunteers": [{"id": 7, "name": "赵志愿", "pin_hash": hash_secret(PIN), "resident_id": None}],
    "vehicles": [{"id": 1, "plate": "京A12345", "household_id": 1, "owner_resident_id": 1}],
}


def card(card_id: int = 11, subject: int = 1) -> str:
    """A valid resident card's QR text, signed by the community key."""
    today = date.today()
    return issue_card(KEY, CardKind.RESIDENT, subject, valid_from=date(today.year - 1, 1, 1),
                      valid_until=date(today.year + 1, 12, 31), card_id=card_id)[1]


@dataclass
class Rig:
    """A gate with its simulated hardware, for driving passages as the scanner and the page would."""

    gate: Gate
    hardware: SimulatedHardware
    registry: Registry
    journal: Journal

    def close(self) -> None:
        """Stop the gate's workers, then close the hardware, the journal and the registry (in that order)."""
        self.gate.close()
        self.hardware.close()
        self.journal.close()
        self.registry.close()

    def stand(self, celsius: float | None) -> None:
        """Someone steps in front of the thermometer (None: they step away)."""
        self.hardware.stand(celsius)

    def passages(self) -> list:
        """Every passage event journaled so far."""
        from kiosk.events import EventKind

        return [e for e in self.journal.events_after(0) if e.kind is EventKind.PASSAGE]

    def alarms(self, kind: str | None = None) -> list:
        """Every alarm raised so far (of one kind)."""
        from kiosk.events import EventKind

        return [e for e in self.journal.events_after(0)
                if e.kind is EventKind.ALARM_RAISED and (kind is None or e.data.get("kind") == kind)]


def make_rig(tmp_path, *, policy: dict | None = None, gate: dict | None = None, start: bool = True,
             quarantine: bool = True, **gate_kwargs) -> Rig:
    """Build a rig; ``policy`` and ``gate`` override config sections, the rest goes to ``Gate``."""
    keyset = Keyset()
    keyset.add(KEY.public_key)
    registry = Registry(tmp_path / "registry.db")
    today = date.today()
    orders = [{"id": 3, "resident_id": None, "household_id": 2, "starts_on": date(today.year - 1, 1, 1).isoformat(),
               "ends_on": date(today.year + 1, 1, 1).isoformat()}] if quarantine else []
    registry.apply_snapshot({**COMMUNITY, "quarantine_orders": orders, "keyset": keyset.to_json()["keys"]}, version=1)
    journal = Journal(tmp_path / "journal.db", "north")
    config = GateConfig.model_validate({"gate": {"id": "north", "name": "北门", **(gate or {})},
                                        "policy": policy or {}, "signals": {"relay": 23, "relay_open_s": 0.1}})
    hardware = simulated_hardware(config, tmp_path / "replay")
    the_gate = Gate(Checkpoint(config, registry, journal, keyset), thermometer=hardware.thermometer,
                    signals=hardware.signals, id_seal_key=OFFICE_SEAL.public_key(), **gate_kwargs)
    if start:
        the_gate.start()
    return Rig(the_gate, hardware, registry, journal)


@pytest.fixture
def rig(tmp_path):
    """A started gate (passage worker running) over the small community, closed afterwards."""
    made = make_rig(tmp_path)
    yield made
    made.close()


@pytest.fixture
def rig_factory(tmp_path):
    """Build rigs with other settings; each is closed afterwards."""
    made: list[Rig] = []

    def build(**kwargs) -> Rig:
        sub = tmp_path / f"rig{len(made)}"
        sub.mkdir()
        made.append(make_rig(sub, **kwargs))
        return made[-1]

    yield build
    for r in made:
        r.close()
