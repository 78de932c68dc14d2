"""Staff accounts on a real office.db: roles, sign-in lockout (kept across a restart), sessions, the audit log, the CLI."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.office import audit
from kiosk.office.accounts import (
    LOCK_AFTER_FAILURES,
    LOCK_DURATION,
    SESSION_IDLE,
    AccountError,
    Accounts,
    Role,
    can,
    session_hash,
)
from kiosk.office.store import OfficeStore

PASSWORD = "correct horse battery"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(tmp_path):
    store = OfficeStore(tmp_path / "office.db")
    yield store
    store.close()


@pytest.fixture
def accounts(store, clock):
    accounts = Accounts(store, clock=clock)
    accounts.add_user("li", "staff", PASSWORD, actor="cli")
    return accounts


def test_roles_rank_and_actions():
    assert Role.VIEWER.rank < Role.STAFF.rank < Role.ADMIN.rank
    assert Role.ADMIN.at_least("staff") and Role.STAFF.at_least(Role.VIEWER) and not Role.VIEWER.at_least("staff")
    assert can("viewer", "read") and not can("viewer", "handle_alarm") and not can("viewer", "edit_registry")
    assert can("staff", "handle_alarm") and can("staff", "edit_registry") and not can("staff", "manage_users")
    assert can("admin", "manage_users") and can("admin", "read_audit") and can(Role.ADMIN, "manage_keys")
    assert not can("root", "read") and not can("admin", "no_such_action") and not can(None, "read")


def test_add_user_takes_viewer_and_refuses_bad_names_and_roles(store, accounts):
    token = store.add_user("sub-district", "viewer", PASSWORD)  # the store's own call still works, now with viewer
    assert store.authenticate(token).role == "viewer"
    assert store.check_password("sub-district", PASSWORD).role == "viewer"
    with pytest.raises(AccountError, match="viewer, staff or admin"):
        accounts.add_user("zhao", "root", PASSWORD)
    with pytest.raises(AccountError, match="no spaces"):
        accounts.add_user("zhao qian", "staff", PASSWORD)
    with pytest.raises(AccountError, match="no spaces"):
        accounts.add_user("x" * 65, "staff", PASSWORD)
    assert {u["name"]: u["role"] for u in accounts.users()} == {"li": "staff", "sub-district": "viewer"}


def test_sign_in_opens_a_session_stored_only_as_a_hash(store, accounts):
    result = accounts.sign_in("li", PASSWORD, address="192.168.1.20")
    assert result.ok and result.session_id and result.session.user.name == "li" and result.session.user.role == "staff"
    rows = list(store.database()["desk_sessions"].rows)
    assert len(rows) == 1 and rows[0]["id_hash"] == session_hash(result.session_id)
    assert result.session_id not in json.dumps(rows)  # the id itself is never stored
    again = accounts.session(result.session_id)
    assert again.user.name == "li" and again.csrf_token == result.session.csrf_token
    assert accounts.session("not-a-session") is None and accounts.session("") is None and accounts.session(None) is None
    assert accounts.sign_out(result.session_id, address="192.168.1.20")
    assert accounts.session(result.session_id) is None and store.database()["desk_sessions"].count == 0
    assert not accounts.sign_out(result.session_id)


def test_five_wrong_passwords_lock_the_account_across_a_restart(tmp_path, store, accounts, clock):
    for attempt in range(1, LOCK_AFTER_FAILURES):
        assert accounts.sign_in("li", f"wrong {attempt}").outcome == "wrong"
    locked = accounts.sign_in("li", "wrong 5")
    assert locked.outcome == "locked" and locked.locked_until == clock.now + LOCK_DURATION
    assert accounts.sign_in("li", PASSWORD).outcome == "locked"  # the right password is refused while locked
    # a new OfficeStore on the same file (the office restarted): still locked, with the same end
    restarted = Accounts(OfficeStore(tmp_path / "office.db"), clock=clock)
    clock.advance(minutes=14)
    refused = restarted.sign_in("li", PASSWORD)
    assert refused.outcome == "locked" and refused.locked_until == locked.locked_until and refused.session_id is None
    assert restarted.users()[0]["locked_until"] == locked.locked_until.isoformat(timespec="milliseconds")
    clock.advance(minutes=1, seconds=1)  # the lock has ended
    assert restarted.sign_in("li", PASSWORD).ok
    assert restarted.users()[0]["locked_until"] is None
    # after a success the count starts again: four more wrong ones do not lock
    for _ in range(LOCK_AFTER_FAILURES - 1):
        assert restarted.sign_in("li", "wrong").outcome == "wrong"
    assert restarted.sign_in("li", PASSWORD).ok


def test_a_lock_that_ended_starts_the_count_again(accounts, clock):
    for _ in range(LOCK_AFTER_FAILURES):
        accounts.sign_in("li", "wrong")
    clock.advance(minutes=16)
    assert accounts.sign_in("li", "wrong").outcome == "wrong"  # one failure after the lock, not a new lock
    assert accounts.sign_in("li", PASSWORD).ok


def test_admin_unlocks_early(accounts):
    for _ in range(LOCK_AFTER_FAILURES):
        accounts.sign_in("li", "wrong")
    assert accounts.unlock("li", actor="wang")
    assert accounts.sign_in("li", PASSWORD).ok
    assert not accounts.unlock("li", actor="wang")
    assert audit.search(accounts.store, action=audit.USER_UNLOCKED).entries[0]["actor"] == "wang"


def test_an_unknown_name_is_refused_locked_and_timed_like_a_known_one(accounts):
    for _ in range(LOCK_AFTER_FAILURES - 1):
        assert accounts.sign_in("nobody", "guess").outcome == "wrong"
    assert accounts.sign_in("nobody", "guess").outcome == "locked"  # the same answers as for a real name

    timed = Accounts(accounts.store, lock_after=100)  # the wrong-password path each time, not the locked one
    took: dict[str, list[float]] = {"li": [], "ghost": []}
    for _ in range(7):  # interleaved, and the fastest of each: load from elsewhere only ever adds time
        for name in took:
            start = time.perf_counter()
            assert timed.sign_in(name, "wrong password").outcome == "wrong"
            took[name].append(time.perf_counter() - start)
    known, unknown = min(took["li"]), min(took["ghost"])
    # both pay one scrypt (the unknown name against a dummy hash); without it the unknown one would take ~0 ms
    assert 0.5 * known < unknown < 2 * known, (known, unknown)


def test_sessions_end_after_12_hours_idle_but_live_on_while_used(accounts, clock):
    session_id = accounts.sign_in("li", PASSWORD).session_id
    for _ in range(3):
        clock.advance(hours=11)
        assert accounts.session(session_id) is not None  # each use refreshes last seen
    clock.advance(hours=SESSION_IDLE.total_seconds() / 3600, seconds=1)
    assert accounts.session(session_id) is None
    assert accounts.store.database()["desk_sessions"].count == 0  # the idle row is deleted


def test_password_reset_and_role_change_end_that_users_sessions(store, accounts):
    accounts.add_user("wang", "admin", PASSWORD)
    li_1, li_2 = accounts.sign_in("li", PASSWORD).session_id, accounts.sign_in("li", PASSWORD).session_id
    wang = accounts.sign_in("wang", PASSWORD).session_id
    accounts.set_role("li", "viewer", actor="wang")
    assert accounts.session(li_1) is None and accounts.session(li_2) is None and accounts.session(wang) is not None
    li_3 = accounts.sign_in("li", PASSWORD).session_id
    assert accounts.session(li_3).user.role == Role.VIEWER
    accounts.add_user("li", "viewer", "a new password", actor="wang")  # a reset
    assert accounts.session(li_3) is None
    assert accounts.sign_in("li", PASSWORD).outcome == "wrong" and accounts.sign_in("li", "a new password").ok
    with pytest.raises(AccountError, match="no staff account"):
        accounts.set_role("ghost", "staff", actor="wang")


def test_audit_records_sign_ins_lockouts_and_account_changes(store, accounts, clock):
    accounts.add_user("wang", "admin", PASSWORD, actor="cli")
    accounts.sign_in("li", PASSWORD, address="10.0.0.5")
    for _ in range(LOCK_AFTER_FAILURES):
        accounts.sign_in("wang", "wrong", address="10.0.0.9")
    accounts.sign_in("wang", PASSWORD, address="10.0.0.9")
    accounts.set_role("li", "admin", actor="cli")
    actions = [e["action"] for e in audit.search(store, limit=500).entries]
    assert actions == ["user.role_changed", "auth.sign_in_refused_locked", "auth.locked", *["auth.sign_in_failed"] * 4,
                       "auth.sign_in", "user.added", "user.added"]
    locked = audit.search(store, action="auth.locked").entries[0]
    assert locked["actor"] == "wang" and locked["address"] == "10.0.0.9" and locked["detail"]["failures"] == 5
    assert locked["detail"]["known"] is True and locked["at"].startswith("2026-12-01T02:00")
    assert {e["action"] for e in audit.search(store, actor="li").entries} == {"auth.sign_in"}
    assert len(audit.search(store, action="auth.*").entries) == 7
    assert len(audit.search(store, action="auth.").entries) == 7
    assert len(audit.search(store, action="user.*", actor="cli").entries) == 3


def test_audit_record_search_by_time_and_pages(store):
    start = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    with store.writing() as db:  # another module's change and its audit rows in one transaction
        for minute in range(7):
            audit.record(db, "li", "alarm.handled", f"alarm-{minute}", {"outcome": "retest_normal"},
                         at=start + timedelta(minutes=minute))
    audit.record(store, "zhao", "registry.resident_changed", "resident:3", {"field": "phone"}, address="10.0.0.7",
                 at=start + timedelta(minutes=30))
    first = audit.search(store, action="alarm.handled", limit=3)
    assert [e["target"] for e in first.entries] == ["alarm-6", "alarm-5", "alarm-4"]
    second = audit.search(store, action="alarm.handled", limit=3, before_id=first.next_before_id)
    third = audit.search(store, action="alarm.handled", limit=3, before_id=second.next_before_id)
    assert [e["target"] for e in second.entries + third.entries] == ["alarm-3", "alarm-2", "alarm-1", "alarm-0"]
    assert third.next_before_id is None
    window = audit.search(store, since="2026-12-01T08:02+08:00", until=start + timedelta(minutes=4))
    assert [e["target"] for e in window.entries] == ["alarm-3", "alarm-2"]
    assert audit.search(store, since="2026-12-01T00:10Z").entries[0]["detail"] == {"field": "phone"}
    with pytest.raises(audit.AuditError, match="must be a code"):
        audit.record(store, "li", "告警已处理", "x")  # codes, never translated text
    with pytest.raises(audit.AuditError, match="time zone"):
        audit.search(store, since=datetime(2026, 12, 1))
    with pytest.raises(audit.AuditError, match="ISO"):
        audit.search(store, since="yesterday")
    with pytest.raises(audit.AuditError, match="limit"):
        audit.search(store, limit=0)
    big = audit.record(store, "li", "registry.imported", "roster", {"rows": "x" * 20_000})
    assert audit.search(store, before_id=big + 1, limit=1).entries[0]["detail"]["truncated"] is True


def test_the_audit_queries_use_their_indexes(store):
    db = store.database()

    def plan(sql: str, args: list) -> str:
        return " ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + sql, args))

    assert "audit_log_actor" in plan("SELECT * FROM audit_log WHERE actor = ? ORDER BY id DESC LIMIT 50", ["li"])
    assert "audit_log_action" in plan("SELECT * FROM audit_log WHERE action >= ? AND action < ? ORDER BY id DESC",
                                      ["auth.", "auth/"])


# -- the CLI ---------------------------------------------------------------------------


@pytest.fixture
def office_yaml(tmp_path):
    path = tmp_path / "office.yaml"
    path.write_text(f"office: {{data_dir: {tmp_path / 'data'}, keys_dir: {tmp_path / 'keys'}}}\n", encoding="utf-8")
    return path


def run(*args, **kw):
    return CliRunner().invoke(main, [str(a) for a in args], **kw)


def test_cli_add_user_users_and_audit(office_yaml, tmp_path):
    made = run("office", "add-user", "wang", "--config", office_yaml, "--role", "admin",
               input=f"{PASSWORD}\n{PASSWORD}\n")
    assert made.exit_code == 0 and "admin wang added" in made.output and "staff_" in made.output
    assert run("office", "add-user", "sub", "--config", office_yaml, "--role", "viewer",
               "--password", PASSWORD).exit_code == 0
    short = run("office", "add-user", "zhao", "--config", office_yaml, "--password", "short")
    assert short.exit_code == 2 and "8 to 1024" in short.output
    assert run("office", "add-user", "zhao", "--config", office_yaml, "--role", "root",
               "--password", PASSWORD).exit_code == 2
    accounts = Accounts(OfficeStore(tmp_path / "data" / "office.db"))
    assert accounts.sign_in("sub", PASSWORD).session.user.role == Role.VIEWER
    for _ in range(LOCK_AFTER_FAILURES):
        accounts.sign_in("wang", "wrong")
    listed = run("office", "users", "--config", office_yaml)
    assert listed.exit_code == 0 and "LOCKED until" in listed.output and "sub" in listed.output
    users = json.loads(run("office", "users", "--config", office_yaml, "--json").output)["users"]
    assert {u["name"]: u["role"] for u in users} == {"sub": "viewer", "wang": "admin"}
    entries = json.loads(run("office", "audit", "--config", office_yaml, "--action", "auth.*", "--json").output)
    assert [e["action"] for e in entries["entries"]][:2] == ["auth.locked", "auth.sign_in_failed"]
    by_actor = run("office", "audit", "--config", office_yaml, "--actor", "cli", "--since", "2020-01-01")
    assert by_actor.exit_code == 0 and by_actor.output.count("user.added") == 2
    paged = run("office", "audit", "--config", office_yaml, "--limit", "2")
    assert "--before-id" in paged.output
    bad = run("office", "audit", "--config", office_yaml, "--since", "yesterday")
    assert bad.exit_code == 2 and "--since" in bad.output and "Traceback" not in bad.output
