"""API fuzzing: schemathesis drives every operation in the office's OpenAPI document; no 5xx, no answer off the schema."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore
from web.office import create_app
from web.office.openapi import document

_DATA = Path(tempfile.mkdtemp(prefix="kiosk-fuzz-"))
STORE = OfficeStore(_DATA / "office.db")
REGISTRY = RegistryMaster(_DATA / "registry.db")
REGISTRY.upsert("households", {"id": 1, "building": "1", "unit": "1", "room": "101"})
APP = create_app(STORE, REGISTRY)
TOKENS = {"gate": STORE.add_gate("fuzz-gate"), "staff": STORE.add_user("fuzzer", "staff")}

# The event stream never ends by design: it has its own test (test_office_api.py), not a fuzzer's.
schema = schemathesis.openapi.from_dict(document(APP)).exclude(path="/api/v1/stream")
schema.app = APP


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_office_api_never_fails_and_answers_by_its_schema(case):
    who = "gate" if case.path.startswith("/api/v1/sync/") else "staff"
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKENS[who]}"})
