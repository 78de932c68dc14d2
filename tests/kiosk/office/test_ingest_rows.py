"""Office ingest's rows (kiosk.office.ingest): the same rows as the plain per-event way, exactly once, all or nothing."""

from __future__ import annotations

import math
import sqlite3

import pydantic_core
import pytest

from kiosk.office.event_schemas import data_problem
from kiosk.office.ingest import derive_into, event_row
from kiosk.office.personal_data import ensure_sealing_key, office_event_data
from kiosk.office.queries.schema import DERIVED_COLUMNS, derived_values
from kiosk.office.roster import load_id_hash_key
from kiosk.office.store import EventConflictError, OfficeStore
from kiosk.privacy import id_number_hash, seal_for_office

ID_NUMBER = "11010519491231002X"
TS = "2026-12-01T08:00:00Z"


def _event(seq: int, kind: str, data, **extra) -> dict:
    return {"gate_id": "north", "seq": seq, "id": f"north-{seq}", "ts": TS, "volunteer_id": "7", "kind": kind,
            "subject": f"resident:{seq}", "household_id": seq % 3 or None, "data": data, **extra}


def _card(card_id) -> dict:
    return {"version": 1, "kind": "resident", "card_id": card_id, "subject_id": 4, "valid_from": "2026-01-01",
            "valid_until": "2026-12-31", "kid": "3FA2"}


def fixed_batch(public_key) -> list[dict]:
    """Every kind the derived columns read, good and bad data, a sealed ID number, an alarm and its acknowledgement."""
    visitor = {"name": "孙来访", "phone": "13800138000", "verdict": "admit", "direction": "in", "reason": "探亲",
               **seal_for_office(ID_NUMBER, public_key)}
    return [
        _event(1, "passage", {"verdict": "admit", "direction": "in", "temperature_c": 36, "reasons": ["card_valid"],
                              "card": _card(81), "supersedes_seq": 0}),
        _event(2, "vehicle", {"verdict": "admit", "plate": "冀A12345", "passengers": 2, "card": _card(82)}),
        _event(3, "visitor_registration", visitor),
        _event(4, "visitor_registration", {"name": "钱", "phone": "1", "verdict": "admit", "kind": "extra_code",
                                          "part": "extra"}),  # extras are text: they reach alarm_kind / fault_part
        _event(5, "alarm_raised", {"kind": "fever", "reason": "fever", "subject": "resident:5", "detail": {"c": 38.5}}),
        _event(6, "alarm_acknowledged", {"alarm_event_id": "north-5", "outcome": "sent_home", "note": "回家"}),
        _event(7, "alarm_acknowledged", {"alarm_event_id": "south-1", "note": "x"}),  # not this gate's: flagged
        _event(8, "sensor_fault", {"part": "thermometer", "fault": "no_reading", "detail": None}),
        _event(9, "passage", {"verdict": "admit", "temperature_c": "hot"}),  # bad data: kept, flagged
        _event(10, "passage", {"verdict": "admit", "plate": "x" * 17}),  # too long a plate: flagged, not derived
        _event(11, "measurement", {"source": "sensor", "object_c": 36.6, "raw": [36.5, 36.7]}),
        _event(12, "shift_sign_in", {}, boot="boot-1", mono_ms=5000, clock="behind_journal"),  # the clock stamp
        _event(13, "gate_leaf", {"state": "open", "since": TS}),
        _event(14, "passage", {"verdict": "admit", "temperature_c": True}),  # bool is never a number
        _event(15, "disinfection", {"area": "gate", "agent": "84"}),
        _event(16, "passage", {"verdict": "admit", "card": {"card_id": 2**40}}),  # bad card: flagged
    ]


def plain_rows(events: list[dict], data_dir) -> dict[int, dict]:
    """The rows as the office built them before kiosk.office.ingest: a dict per event, derived_values per event."""
    out = {}
    for e in events:
        data = office_event_data(e["kind"], e.get("data", {}), data_dir)
        flag = data_problem(e["kind"], e.get("data", {}))
        out[e["seq"]] = {"gate_id": e["gate_id"], "seq": e["seq"], "id": e["id"], "ts": e["ts"],
                         "volunteer_id": e.get("volunteer_id"), "kind": e["kind"], "subject": e.get("subject"),
                         "household_id": e.get("household_id"), "data": pydantic_core.to_json(data).decode("utf-8"),
                         "flag": flag, **derived_values(data, flagged=flag is not None),
                         "boot": e.get("boot"), "mono_ms": e.get("mono_ms"), "clock": e.get("clock")}
    return out


def stored_rows(path) -> tuple[dict[int, dict], set[str]]:
    """office.db's events (by seq) without their receive time, and the receive times seen."""
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM events ORDER BY gate_id, seq")]
    received = {r.pop("received_at") for r in rows}
    return {r["seq"]: r for r in rows}, received


@pytest.fixture
def office(tmp_path):
    key = ensure_sealing_key(tmp_path)
    store = OfficeStore(tmp_path / "office.db")
    yield tmp_path, store, key
    store.close()


def test_the_stored_rows_are_the_plain_ways_rows(office):
    data_dir, store, key = office
    batch = fixed_batch(key.public_key())
    new, high = store.ingest("north", batch)
    rows, received = stored_rows(data_dir / "office.db")
    assert high == 16 and len(received) == 1  # one receive time for the batch
    expected = plain_rows(batch, data_dir)
    expected[7]["flag"] = "authorization: acknowledges alarm 'south-1', which this gate never raised; nothing changed"
    assert rows == expected
    # what the derived columns hold, spelled out for a few
    assert (rows[1]["direction"], rows[1]["temperature_c"], rows[1]["card_id"], rows[1]["supersedes_seq"]) == ("in", 36.0, 81, 0)
    assert rows[2]["plate"] == "冀A12345" and rows[8]["fault_part"] == "thermometer" and rows[5]["alarm_kind"] == "fever"
    assert rows[3]["id_hash"] == id_number_hash(ID_NUMBER, load_id_hash_key(data_dir)) and rows[3]["visitor_name"] == "孙来访"
    assert (rows[4]["alarm_kind"], rows[4]["fault_part"]) == ("extra_code", "extra")
    assert [s for s, r in rows.items() if r["flag"]] == [7, 9, 10, 14, 16]
    assert all(rows[s][c] is None for s in (9, 10, 14, 16) for c in DERIVED_COLUMNS)  # flagged: nothing derived
    assert ID_NUMBER not in rows[3]["data"]
    # the answer: every new event, flagged ones with their flag
    assert [e["seq"] for e in new] == list(range(1, 17)) and [e["seq"] for e in new if e.get("flag")] == [7, 9, 10, 14, 16]
    assert store.open_alarms() == []  # raised at 5, acknowledged at 6


def test_a_resent_batch_stores_nothing_twice(office):
    data_dir, store, key = office
    batch = fixed_batch(key.public_key())
    store.ingest("north", batch[:10])
    before, _ = stored_rows(data_dir / "office.db")
    new, high = store.ingest("north", batch[:10])  # the same batch again (the gate missed the answer)
    assert new == [] and high == 10
    assert stored_rows(data_dir / "office.db")[0] == before
    new, high = store.ingest("north", list(reversed(batch)))  # overlapping, in another order: only 11..16 are new
    assert sorted(e["seq"] for e in new) == list(range(11, 17)) and high == 16
    assert store.count_events("north") == 16
    assert store.ingest("north", batch + batch)[0] == [] and store.count_events("north") == 16


def test_a_conflict_anywhere_in_the_batch_stores_nothing_of_it(office):
    data_dir, store, key = office
    store.ingest("north", [_event(1, "passage", {"verdict": "admit"})])
    batch = [_event(2, "alarm_raised", {"kind": "fever", "reason": "fever"}), _event(3, "passage", {"verdict": "admit"}),
             {**_event(1, "passage", {"verdict": "admit"}), "id": "another"}]
    with pytest.raises(EventConflictError, match="seq 1"):
        store.ingest("north", batch)
    assert store.count_events("north") == 1 and store.high_water("north") == 1
    assert store.open_alarms() == []  # the batch's alarm was rolled back with it
    assert store.ingest("north", batch[:2]) == (batch[:2], 3)  # the good part goes in afterwards


def test_a_gap_holds_the_high_water_until_it_is_filled(office):
    _, store, _ = office
    assert store.ingest("north", [_event(s, "shift_sign_in", {}) for s in (1, 2, 4, 5)])[1] == 2
    assert store.ingest("north", [_event(7, "shift_sign_in", {})])[1] == 2
    assert store.ingest("north", [_event(3, "shift_sign_in", {})])[1] == 5
    assert store.ingest("north", [_event(6, "shift_sign_in", {})])[1] == 7


def test_another_gates_event_is_refused_before_anything_is_stored(office):
    _, store, _ = office
    with pytest.raises(ValueError, match="belongs to gate 'south'"):
        store.ingest("north", [_event(1, "shift_sign_in", {}), {**_event(2, "shift_sign_in", {}), "gate_id": "south"}])
    assert store.count_events() == 0


def test_ingest_works_from_any_thread_and_after_close(office):
    import threading

    _, store, _ = office
    threads = [threading.Thread(target=store.ingest, args=("north", [_event(s, "shift_sign_in", {})])) for s in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()  # closes ingest's connection too; the next batch opens it again
    assert store.ingest("north", [_event(9, "shift_sign_in", {})])[1] == 9 and store.count_events("north") == 9


WEIRD_VALUES: list[object] = [None, True, False, 0, -1, 2**63, -(2**63), 2**63 - 1, 1e6, -1e6, 999_999.5, math.nan, math.inf, 36,
                36.6, "", "x" * 200, "x" * 201, "in", [], {}, {"card_id": 5}, {"card_id": True}, {"card_id": "5"}]


GOOD = {"passage": {"verdict": "admit"}, "vehicle": {"verdict": "admit"},
        "visitor_registration": {"name": "钱", "phone": "1", "verdict": "admit"}, "alarm_raised": {"kind": "fever"},
        "alarm_acknowledged": {"alarm_event_id": "north-1"}, "sensor_fault": {"part": "camera"}}


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_derived_columns_are_derived_values_for_any_data_that_fits(kind):
    """derive_into reads only the keys a kind's schema allows; on every data that fits, it agrees with derived_values."""
    keys = {k.partition(".")[0] for _, k in DERIVED_COLUMNS.values()}
    compared = filled = 0
    for value in WEIRD_VALUES:
        for key in keys:
            data = {**GOOD[kind], key: value}
            if data_problem(kind, data) is not None:
                continue  # flagged: nothing is derived at all (test_the_stored_rows_are_the_plain_ways_rows)
            row: list = [None] * (11 + len(DERIVED_COLUMNS))
            derive_into(row, kind, data)
            want = list(derived_values(data).values())
            assert row[11:] == want, (kind, key, value)
            compared += 1
            filled += any(v is not None for v in want)
    assert compared and filled  # the check is not empty for any kind


def test_derived_columns_of_a_kind_without_a_schema_read_every_key():
    data = {k.partition(".")[0]: "x" for _, k in DERIVED_COLUMNS.values()} | {"card": {"card_id": 3}}
    row: list = [None] * (11 + len(DERIVED_COLUMNS))
    derive_into(row, "no_such_kind", data)
    assert row[11:] == list(derived_values(data).values()) and row.count("x") == len(DERIVED_COLUMNS) - 3
    derive_into(row, "passage", "not a mapping")  # nothing happens to a row for data that is no mapping
    for kind in ("shift_sign_in", "measurement"):  # their schemas allow none of the keys: nothing is read
        empty: list = [None] * (11 + len(DERIVED_COLUMNS))
        derive_into(empty, kind, data)
        assert empty[11:] == [None] * len(DERIVED_COLUMNS)


def test_event_row_flags_data_that_fits_no_schema(tmp_path):
    row = event_row("north", _event(1, "passage", {"verdict": 1}), "now", tmp_path)
    assert row[10].startswith("data.verdict") and row[11:] == [None] * (len(DERIVED_COLUMNS) + 3)  # + the clock stamp
    row = event_row("north", _event(1, "no_such_kind", {}), "now", tmp_path)
    assert row[10].startswith("kind: no schema")
