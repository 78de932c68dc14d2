"""The desk's sign-in over real HTTP(S) on web.serving: cookies, lockout, roles, CSRF, open redirects, bodies, audit."""

from __future__ import annotations

import re
import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
import requests
from flask import jsonify

from kiosk.office import audit
from kiosk.office.accounts import Accounts
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore
from kiosk.office.tls import init_tls
from web.office import create_app
from web.office.desk_auth import current_user, desk_login_required
from web.serving import WebServer

pytestmark = pytest.mark.timeout(120)

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai

    def __call__(self) -> datetime:
        return self.now


class Desk:
    """The office app on web.serving in a thread (HTTPS with ``tls``), with li (staff), wang (admin), sub (viewer)."""

    def __init__(self, tmp_path, *, tls: bool = False, clock: Clock | None = None):
        self.files = init_tls(tmp_path / "tls", ["127.0.0.1"]) if tls else None
        self.store = OfficeStore(tmp_path / "office.db")
        for name, role in (("li", "staff"), ("wang", "admin"), ("sub", "viewer")):
            if not any(u["name"] == name for u in Accounts(self.store).users()):
                self.store.add_user(name, role, PASSWORD)
        self.app = create_app(self.store, RegistryMaster(tmp_path / "registry.db"))
        if clock is not None:
            self.app.config["ACCOUNTS"] = Accounts(self.store, clock=clock)

        @self.app.post("/desk/api/test-note")
        @desk_login_required("staff")
        def note():  # a staff-only change: an audit row, so "nothing changed" can be checked
            audit.record(self.store, current_user().name, "test.note", "x")
            return jsonify({"ok": True})

        self.app.add_url_rule("/desk/test-page", "test_page", desk_login_required("viewer")(lambda: "page"))
        self.server = WebServer(self.app, "127.0.0.1", 0, tls_cert=str(self.files.server_cert) if tls else None,
                                tls_key=str(self.files.server_key) if tls else None)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.server.port}"

    def browser(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the office's own CA
        if self.files:
            session.verify = str(self.files.ca_cert)
        return session

    def signin_form(self, browser: requests.Session, next_path: str = "") -> str:
        page = browser.get(self.url + "/signin" + (f"?next={next_path}" if next_path else ""))
        assert page.status_code == 200 and ("工作人员登录" in page.text or "Staff sign-in" in page.text)
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def sign_in(self, name: str, password: str = PASSWORD, browser: requests.Session | None = None,
                next_path: str = "") -> tuple[requests.Session, requests.Response]:
        browser = browser or self.browser()
        token = self.signin_form(browser, next_path)
        answer = browser.post(self.url + "/signin", allow_redirects=False,
                              data={"name": name, "password": password, "csrf_token": token, "next": next_path})
        return browser, answer

    def signed_in(self, name: str) -> tuple[requests.Session, str]:
        """A browser signed in as ``name`` and its CSRF token."""
        browser, answer = self.sign_in(name)
        assert answer.status_code == 303, answer.text
        me = browser.get(self.url + "/desk/api/me")
        assert me.status_code == 200 and me.json()["name"] == name
        return browser, me.json()["csrf_token"]

    def audit_actions(self, **filters) -> list[str]:
        return [e["action"] for e in audit.search(self.store, limit=500, **filters).entries]

    def role_of(self, name: str) -> str:
        return next(u["role"] for u in Accounts(self.store).users() if u["name"] == name)

    def close(self) -> None:
        self.server.close()
        self.thread.join(timeout=10)


@pytest.fixture
def desk(tmp_path):
    desk = Desk(tmp_path)
    yield desk
    desk.close()


def set_cookies(answer: requests.Response) -> dict[str, str]:
    """Each Set-Cookie header by cookie name (requests would join them)."""
    return {line.split("=", 1)[0]: line for line in answer.raw.headers.getlist("Set-Cookie")}


def test_sign_in_and_out_with_cookie_flags(desk):
    browser, answer = desk.sign_in("li", next_path="/gates")
    assert answer.status_code == 303 and answer.headers["Location"] == "/gates"
    cookie = set_cookies(answer)["desk_session"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP: a Secure cookie would never come back
    me = browser.get(desk.url + "/desk/api/me").json()
    assert me["role"] == "staff" and len(me["csrf_token"]) > 30
    assert desk.store.database()["desk_sessions"].count == 1
    out = browser.post(desk.url + "/signout", data={"csrf_token": me["csrf_token"]}, allow_redirects=False)
    assert out.status_code == 303 and out.headers["Location"].startswith("/signin")
    assert desk.store.database()["desk_sessions"].count == 0  # the row is gone, not just the cookie
    assert browser.get(desk.url + "/desk/api/me").status_code == 401
    assert desk.audit_actions(actor="li") == ["auth.sign_out", "auth.sign_in"]


def test_signed_out_browser_goes_to_signin_and_fetch_gets_401(desk):
    page = desk.browser().get(desk.url + "/desk/api/me", headers={"Accept": "text/html"}, allow_redirects=False)
    assert page.status_code == 401 and page.json()["code"] == "sign_in_required"  # /desk/api/ is always JSON
    old = desk.browser().get(desk.url + "/desk/api/me", cookies={"desk_session": "forged" * 8})
    assert old.status_code == 401 and "请先登录" in old.json()["error"]


def test_https_session_cookie_is_secure(tmp_path):
    desk = Desk(tmp_path, tls=True)
    try:
        browser, answer = desk.sign_in("wang")
        assert answer.status_code == 303
        assert "Secure" in set_cookies(answer)["desk_session"]
        assert browser.get(desk.url + "/desk/api/me").json()["role"] == "admin"
    finally:
        desk.close()


def test_wrong_password_five_times_locks_and_survives_a_restart(tmp_path):
    clock = Clock()
    desk = Desk(tmp_path, clock=clock)
    try:
        for _ in range(4):
            _, answer = desk.sign_in("li", "wrong password")
            assert answer.status_code == 401 and "用户名或密码不正确" in answer.text
        _, answer = desk.sign_in("li", "wrong password")
        assert answer.status_code == 423 and "已锁定" in answer.text and "2026-12-01 10:15" in answer.text
        _, answer = desk.sign_in("li")  # the right password, still refused
        assert answer.status_code == 423 and "desk_session" not in set_cookies(answer)
    finally:
        desk.close()
    desk = Desk(tmp_path, clock=clock)  # the office restarted on the same office.db
    try:
        browser = desk.browser()
        browser.cookies.set("lang", "en")
        _, answer = desk.sign_in("li", browser=browser)
        assert answer.status_code == 423 and "locked until 2026-12-01 10:15" in answer.text
        clock.now += timedelta(minutes=15, seconds=1)  # the lock has ended
        _, answer = desk.sign_in("li")
        assert answer.status_code == 303
        assert desk.audit_actions(action="auth.*")[:3] == ["auth.sign_in", "auth.sign_in_refused_locked",
                                                          "auth.sign_in_refused_locked"]
    finally:
        desk.close()


def test_viewer_gets_403_and_nothing_changes(desk):
    browser, token = desk.signed_in("sub")
    before = desk.store.database()["audit_log"].count
    refused = browser.post(desk.url + "/desk/api/test-note", headers={"X-CSRF-Token": token})
    assert refused.status_code == 403 and refused.json()["code"] == "role_required"
    refused = browser.post(desk.url + "/desk/api/users/li/role", json={"role": "viewer"},
                           headers={"X-CSRF-Token": token})
    assert refused.status_code == 403 and desk.role_of("li") == "staff"
    assert browser.get(desk.url + "/desk/api/audit").status_code == 403
    assert desk.store.database()["audit_log"].count == before  # nothing written
    staff, staff_token = desk.signed_in("li")
    assert staff.post(desk.url + "/desk/api/test-note", headers={"X-CSRF-Token": staff_token}).json() == {"ok": True}
    assert staff.post(desk.url + "/desk/api/users/sub/role", json={"role": "admin"},
                      headers={"X-CSRF-Token": staff_token}).status_code == 403
    assert desk.role_of("sub") == "viewer"


def test_forged_cross_site_posts_are_refused(desk):
    browser, token = desk.signed_in("wang")
    target = desk.url + "/desk/api/users/li/role"
    assert browser.post(target, json={"role": "viewer"}).status_code == 403  # no token
    assert browser.post(target, json={"role": "viewer"}, headers={"X-CSRF-Token": "x" * 43}).status_code == 403
    form = browser.post(target, data={"role": "viewer", "csrf_token": "wrong"})
    assert form.status_code == 403 and form.json()["code"] == "csrf"
    for origin in ("http://evil.example", "null", desk.url.replace("127.0.0.1", "localhost")):
        foreign = browser.post(target, json={"role": "viewer"}, headers={"X-CSRF-Token": token, "Origin": origin})
        assert foreign.status_code == 403 and foreign.json()["code"] == "cross_site", origin
    referer = browser.post(target, json={"role": "viewer"},
                           headers={"X-CSRF-Token": token, "Referer": "http://evil.example/page"})
    assert referer.status_code == 403
    assert desk.role_of("li") == "staff"  # nothing changed
    ok = browser.post(target, json={"role": "viewer"}, headers={"X-CSRF-Token": token, "Origin": desk.url})
    assert ok.status_code == 200 and desk.role_of("li") == "viewer"
    # the form way: field csrf_token, Referer from this host
    ok = browser.post(target, data={"role": "staff", "csrf_token": token}, headers={"Referer": desk.url + "/x"})
    assert ok.status_code == 200 and desk.role_of("li") == "staff"
    # a sign-out forged from elsewhere does not sign anyone out
    assert browser.post(desk.url + "/signout", headers={"Origin": "http://evil.example"}).status_code == 403
    assert browser.get(desk.url + "/desk/api/me").status_code == 200


def test_sign_in_form_needs_its_own_token(desk):
    browser = desk.browser()
    no_token = browser.post(desk.url + "/signin", data={"name": "li", "password": PASSWORD}, allow_redirects=False)
    assert no_token.status_code == 403 and "desk_session" not in set_cookies(no_token)
    desk.signin_form(browser)  # the cookie half, but another page's token
    forged = browser.post(desk.url + "/signin", data={"name": "li", "password": PASSWORD, "csrf_token": "a" * 43},
                          allow_redirects=False)
    assert forged.status_code == 403
    token = desk.signin_form(browser)
    cross = browser.post(desk.url + "/signin", data={"name": "li", "password": PASSWORD, "csrf_token": token},
                         headers={"Origin": "http://evil.example"}, allow_redirects=False)
    assert cross.status_code == 403 and desk.audit_actions(action="auth.sign_in") == []


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "/%0d%0aX: y",
                                    "javascript:alert(1)", "/ /evil", "evil.example", "/" + "a" * 2000])
def test_next_never_leaves_the_site(desk, target):
    _, answer = desk.sign_in("li", next_path=target)
    assert answer.status_code == 303 and answer.headers["Location"] == "/"


def test_next_keeps_a_local_path_and_the_redirect_carries_it(desk):
    _, answer = desk.sign_in("li", next_path="/ledger?day=2026-12-01&gate=north")
    assert answer.headers["Location"] == "/ledger?day=2026-12-01&gate=north"
    page = desk.browser().get(desk.url + "/desk/test-page?x=1", headers={"Accept": "text/html"},
                              allow_redirects=False)
    assert page.status_code == 302 and page.headers["Location"] == "/signin?next=%2Fdesk%2Ftest-page%3Fx%3D1"


def raw_request(desk: Desk, head: str) -> tuple[int, bytes]:
    """Send only a request head (no body) and read the answer: a body refused unread is answered at once."""
    with socket.create_connection(("127.0.0.1", desk.server.port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1"))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1]), data


def test_web_serving_reads_sign_in_bodies_without_a_token_but_refuses_big_or_unknown_ones_unread(desk):
    # the sign-in POST itself reaches the app without a bearer token (the test above signs in through it)
    _, answer = desk.sign_in("li")
    assert answer.status_code == 303
    # a big sign-in body is refused before a byte is read
    status, data = raw_request(desk, "POST /signin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                     "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n")
    assert status == 413
    status, _ = raw_request(desk, "POST /signin HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "3000\r\n" + "a" * 0x3000 + "\r\n0\r\n\r\n")
    assert status == 413  # chunked: counted as it comes, cut off at 8 KiB
    # a body for any other desk route, with no token and no session: 401 unread
    for cookie in ("", "Cookie: desk_session=forged-session-id-that-is-long-enough\r\n"):
        status, data = raw_request(desk, "POST /desk/api/users/li/role HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                         f"{cookie}Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
        assert status == 401, data
    # with a live desk session the body is read and the app answers (here: no CSRF token, 403)
    browser, token = desk.signed_in("wang")
    session_id = browser.cookies["desk_session"]
    big = browser.post(desk.url + "/desk/api/users/li/role", data=b"x" * 1_000_000,
                       headers={"Content-Type": "application/octet-stream"})
    assert big.status_code == 403 and big.json()["code"] == "csrf"
    assert session_id and desk.role_of("li") == "staff"


def test_admin_reads_and_filters_the_audit_log(desk):
    desk.sign_in("li", "wrong password")
    desk.sign_in("ghost", "guess")
    admin, token = desk.signed_in("wang")
    entries = admin.get(desk.url + "/desk/api/audit", params={"action": "auth.*"}).json()["entries"]
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("auth.sign_in", "wang"), ("auth.sign_in_failed", "ghost"), ("auth.sign_in_failed", "li")]
    assert entries[0]["address"] == "127.0.0.1" and entries[1]["detail"]["known"] is False
    li = admin.get(desk.url + "/desk/api/audit", params={"actor": "li"}).json()["entries"]
    assert [e["action"] for e in li] == ["auth.sign_in_failed"]
    page = admin.get(desk.url + "/desk/api/audit", params={"limit": 2}).json()
    older = admin.get(desk.url + "/desk/api/audit", params={"limit": 2, "before_id": page["next_before_id"]}).json()
    assert len(page["entries"]) == 2 and older["entries"][0]["id"] < page["entries"][-1]["id"]
    since = admin.get(desk.url + "/desk/api/audit",
                      params={"since": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}).json()
    assert since["entries"] == []
    bad = admin.get(desk.url + "/desk/api/audit", params={"since": "yesterday"})
    assert bad.status_code == 400 and "since" in bad.json()["error"]
    assert admin.get(desk.url + "/desk/api/audit", params={"limit": "9999"}).status_code == 400
    users = admin.get(desk.url + "/desk/api/users").json()["users"]
    assert {u["name"]: u["role"] for u in users} == {"li": "staff", "sub": "viewer", "wang": "admin"}
    changed = admin.post(desk.url + "/desk/api/users/li/role", json={"role": "viewer"}, headers={"X-CSRF-Token": token})
    assert changed.status_code == 200
    entry = admin.get(desk.url + "/desk/api/audit", params={"action": "user.role_changed"}).json()["entries"][0]
    assert entry["actor"] == "wang" and entry["target"] == "li" and entry["detail"]["to"] == "viewer"
    own = admin.post(desk.url + "/desk/api/users/wang/role", json={"role": "staff"}, headers={"X-CSRF-Token": token})
    assert own.status_code == 409 and desk.role_of("wang") == "admin"


def test_a_role_change_ends_the_users_open_sessions(desk):
    li, _ = desk.signed_in("li")
    admin, token = desk.signed_in("wang")
    admin.post(desk.url + "/desk/api/users/li/role", json={"role": "viewer"}, headers={"X-CSRF-Token": token})
    assert li.get(desk.url + "/desk/api/me").status_code == 401


def test_sign_in_page_speaks_english_when_asked(desk):
    browser = desk.browser()
    page = browser.get(desk.url + "/signin?lang=en&next=/gates")
    assert page.status_code == 200 and "Staff sign-in" in page.text and browser.cookies["lang"] == "en"
    assert 'value="/gates"' in page.text and page.headers["X-Frame-Options"] == "DENY"
    again = browser.get(desk.url + "/signin")
    assert "Staff sign-in" in again.text and "中文" in again.text
    back = browser.get(desk.url + "/signin?lang=zh-CN")
    assert "工作人员登录" in back.text and browser.cookies["lang"] == "zh-CN"
