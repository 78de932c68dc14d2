"""The office desk's sign-in, sessions, roles and CSRF guard (Flask side of kiosk.office.accounts).

Public API for the desk's pages:

- ``@desk_login_required(role="viewer")`` on a view: a browser without a
  session is sent to ``/signin?next=…``, a fetch (``Accept: application/json``
  or a path under ``/desk/api/``) gets JSON 401; a role below ``role`` gets 403.
- ``current_user()``: the signed-in :class:`kiosk.office.accounts.StaffUser`
  (``name``, ``role``) or None.
- ``csrf_token()``: this session's CSRF token, also a Jinja global. Every
  POST/PUT/PATCH/DELETE outside ``/api/v1`` (the bearer-token API) must send it
  as the form field ``csrf_token`` or the header ``X-CSRF-Token``, and an
  ``Origin`` (or ``Referer``) naming this host when the browser sends one;
  otherwise 403 before the view runs.
- Routes: ``GET/POST /signin``, ``POST /signout``, ``GET /desk/api/me``,
  ``GET /desk/api/audit`` and ``GET /desk/api/users``,
  ``POST /desk/api/users/<name>/role``, ``POST /desk/api/users/<name>/unlock``
  (admin).
"""

from __future__ import annotations

import functools
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, g, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import escape
from werkzeug.http import parse_cookie

from kiosk.office import audit
from kiosk.office.accounts import AccountError, Accounts, DeskSession, Role, StaffUser, check_role

desk_auth = Blueprint("desk_auth", __name__, template_folder="templates")

SESSION_COOKIE = "desk_session"
SIGNIN_COOKIE = "desk_signin"  # the sign-in form's own CSRF token (double submit: no session exists yet)
LANGUAGE_COOKIE = "lang"  # as the gate's page: "zh-CN" or "en"
SIGNIN_MAX_BODY = 8 * 1024  # the sign-in form is the one body the office reads from a caller it does not know
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_NEXT = 1000

MESSAGES: dict[str, tuple[str, str]] = {
    "title": ("工作人员登录", "Staff sign-in"),
    "office": ("社区办公室", "Community office"),
    "name": ("用户名", "Name"),
    "password": ("密码", "Password"),
    "submit": ("登录", "Sign in"),
    "missing": ("请输入用户名和密码。", "Enter your name and password."),
    "wrong": ("用户名或密码不正确。", "Wrong name or password."),
    "locked": ("密码错误次数过多，该账户已锁定，请于 {until} 之后再试。",
               "Too many wrong passwords: this account is locked until {until}."),
    "signed_out": ("您已退出登录。", "You have signed out."),
    "other_language": ("English", "中文"),
}
"""The sign-in page's strings: (zh-CN, en)."""

_TOKEN = re.compile(r"[A-Za-z0-9_\-]{20,100}")


# -- the accounts, the user, the token ----------------------------------------------------


@desk_auth.record_once
def _setup(state: Any) -> None:
    # Tests may put their own Accounts (with a clock) into ACCOUNTS after create_app.
    state.app.config.setdefault("ACCOUNTS", Accounts(state.app.config["STORE"]))
    state.app.config.setdefault("DESK_HOME", "/")
    state.app.config.setdefault("TIMEZONE", "Asia/Shanghai")


def accounts() -> Accounts:
    """The app's Accounts."""
    return current_app.config["ACCOUNTS"]


def _session() -> DeskSession | None:
    if "desk_session" not in g:
        g.desk_session = accounts().session(request.cookies.get(SESSION_COOKIE))
    return g.desk_session


def current_user() -> StaffUser | None:
    """The signed-in staff member (``name``, ``role``: a Role, equal to its code), or None."""
    session = _session()
    return session.user if session else None


@desk_auth.app_template_global("csrf_token")
def csrf_token() -> str:
    """The token a form or fetch must send back (``csrf_token`` field or ``X-CSRF-Token`` header); '' signed out."""
    session = _session()
    if session is not None:
        return session.csrf_token
    return g.get("signin_csrf", "")


def language() -> str:
    """The page's language: the ``lang`` cookie's ``en``, else zh-CN."""
    chosen = g.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    return "en" if chosen == "en" else "zh-CN"


def _wants_json() -> bool:
    if request.path.startswith("/desk/api/"):
        return True
    accept = request.accept_mimetypes
    return accept.best_match(["application/json", "text/html"]) == "application/json" and not accept.accept_html


def _refuse(status: int, code: str, zh: str, en: str) -> Response:
    """A refusal: JSON ``{"error", "code"}`` for fetches, a small page for browsers; Chinese first."""
    if _wants_json():
        response = jsonify({"error": f"{zh} ({en})", "code": code})
    else:
        response = Response(f"<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>{status}</title>"
                            f"<p>{escape(zh)}</p><p lang='en'>{escape(en)}</p>"
                            "<p><a href='/signin'>登录 / Sign in</a></p></html>", mimetype="text/html")
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _to_signin() -> ResponseReturnValue:
    if _wants_json():
        return _refuse(401, "sign_in_required", "请先登录", "sign in first")
    target = request.full_path if request.query_string else request.path
    return redirect("/signin?" + urlencode({"next": target}), 303 if request.method in UNSAFE_METHODS else 302)


def desk_login_required(role: str | Role | Callable = "viewer") -> Callable:
    """Allow a view only to a signed-in user of at least ``role`` (viewer < staff < admin).

    Signed out: a redirect to /signin?next=… (browsers) or JSON 401 (fetches);
    a lower role: 403. Usable bare (``@desk_login_required``) for viewer.
    """
    if callable(role) and not isinstance(role, str):
        return desk_login_required("viewer")(role)
    needed = Role(role)

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return _to_signin()
            if not user.role.at_least(needed):
                return _refuse(403, "role_required", f"此操作需要{_ROLE_ZH[needed]}权限",
                               f"this needs the {needed.value} role; you are {user.role.value}")
            return view(*args, **kwargs)

        inner.desk_role = needed.value  # type: ignore[attr-defined]  # for route listings
        return inner

    return wrap


_ROLE_ZH = {Role.VIEWER: "查看", Role.STAFF: "工作人员", Role.ADMIN: "管理员"}


# -- the CSRF guard ------------------------------------------------------------------------------


def _same_origin() -> bool:
    """False when the browser names another origin (Origin, else Referer); True when it names this one or none."""
    here = f"{request.scheme}://{request.host}".lower()
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin.strip().lower() == here  # "null" (a sandboxed frame, a file) is not this host either
    referer = request.headers.get("Referer")
    if referer:
        parts = urlsplit(referer.strip())
        return f"{parts.scheme}://{parts.netloc}".lower() == here
    return True


def _sent_token() -> str:
    return request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")


@desk_auth.before_app_request
def _guard() -> ResponseReturnValue | None:
    """Every state-changing request outside the bearer API: the right CSRF token and no foreign origin, or 403."""
    if request.method not in UNSAFE_METHODS or request.path == "/api/v1" or request.path.startswith("/api/v1/"):
        return None
    if not _same_origin():
        return _refuse(403, "cross_site", "拒绝跨站请求", "cross-site request refused")
    if request.path == "/signin":
        expected = request.cookies.get(SIGNIN_COOKIE, "")
    else:
        session = _session()
        if session is None:
            return _to_signin()
        expected = session.csrf_token
    sent = _sent_token()
    if not expected or not sent or not hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode()):
        return _refuse(403, "csrf", "表单已过期或来源不明，请刷新页面后重试",
                       "the form's security token is missing or wrong: reload the page and try again")
    return None


def desk_body_allowed(accounts_: Accounts, path: str, cookie: str) -> bool | int:
    """For web.serving's BODY_ALLOWED without a bearer token: a desk session's body, or a small sign-in form."""
    if path == "/signin":
        return SIGNIN_MAX_BODY
    session_id = parse_cookie(cookie[:8192]).get(SESSION_COOKIE) if cookie else None
    return accounts_.session(session_id) is not None


# -- pages -----------------------------------------------------------------------------------------


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else the desk's home: no open redirect (//evil, /\\evil, https:…)."""
    home = current_app.config["DESK_HOME"]
    if not target or len(target) > MAX_NEXT or not target.startswith("/") or target.startswith(("//", "/\\")):
        return home
    if any(ord(c) < 0x21 or c == "\\" for c in target):  # control characters, spaces and backslashes: browsers differ
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return home
    return target


def _signin_page(status: int = 200, message: str | None = None, name: str = "", **values: str) -> Response:
    lang = language()
    index = 1 if lang == "en" else 0
    texts = {key: pair[index] for key, pair in MESSAGES.items()}
    token = request.cookies.get(SIGNIN_COOKIE, "")
    if not _TOKEN.fullmatch(token):
        token = secrets.token_urlsafe(32)
    g.signin_csrf = token
    next_path = safe_next(request.values.get("next"))
    switch = "/signin?" + urlencode({"lang": "zh-CN" if lang == "en" else "en", "next": next_path})
    body = render_template("signin.html", t=texts, lang=lang, language=lang, next=next_path, switch_url=switch,
                           name=name[:64], message=texts[message].format(**values) if message else None,
                           status_info=message == "signed_out")
    response = Response(body, status=status, mimetype="text/html")
    response.set_cookie(SIGNIN_COOKIE, token, max_age=3600, path="/signin", httponly=True, samesite="Strict",
                        secure=request.scheme == "https")
    response.headers.update({"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                             "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline';"
                                                        " frame-ancestors 'none'"})
    return response


@desk_auth.get("/signin")
def signin_form() -> ResponseReturnValue:
    """The sign-in page (zh-CN; ``?lang=en`` switches and remembers English in the ``lang`` cookie)."""
    chosen = request.args.get("lang")
    if chosen in ("zh-CN", "en"):
        g.lang = chosen  # this answer already speaks the new language
    if current_user() is not None and chosen is None:
        return redirect(safe_next(request.args.get("next")))
    response = _signin_page(message="signed_out" if request.args.get("signed_out") else None)
    if chosen in ("zh-CN", "en"):
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 86400, samesite="Lax",
                            secure=request.scheme == "https")
    return response


def _local_time(moment: datetime) -> str:
    try:
        zone = ZoneInfo(current_app.config["TIMEZONE"])
    except (KeyError, ValueError):
        zone = ZoneInfo("Asia/Shanghai")
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


@desk_auth.post("/signin")
def signin() -> ResponseReturnValue:
    """Check the name and password; a session cookie and a redirect to ``next`` on success."""
    name = request.form.get("name", "").strip()[:64]
    password = request.form.get("password", "")
    if not name or not password:
        return _signin_page(400, "missing", name)
    result = accounts().sign_in(name, password, address=request.remote_addr)
    if result.outcome == "locked" and result.locked_until is not None:
        return _signin_page(423, "locked", name, until=_local_time(result.locked_until))
    if not result.ok or result.session_id is None:
        return _signin_page(401, "wrong", name)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        accounts().sign_out(old, address=request.remote_addr)  # a new sign-in never keeps an old id (fixation)
    response = redirect(safe_next(request.form.get("next")), 303)
    response.set_cookie(SESSION_COOKIE, result.session_id, path="/", httponly=True, samesite="Lax",
                        secure=request.scheme == "https")
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


@desk_auth.post("/signout")
def signout() -> ResponseReturnValue:
    """End this session (its row is deleted) and forget the cookie."""
    accounts().sign_out(request.cookies.get(SESSION_COOKIE), address=request.remote_addr)
    response = Response(status=204) if _wants_json() else redirect("/signin?signed_out=1", 303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax", secure=request.scheme == "https")
    return response


# -- the desk's account API --------------------------------------------------------------------------


@desk_auth.get("/desk/api/me")
@desk_login_required
def me() -> ResponseReturnValue:
    """Who is signed in, their role, and the CSRF token for the page's fetches."""
    user = current_user()
    assert user is not None
    return jsonify({"name": user.name, "role": user.role.value, "csrf_token": csrf_token()})


def _int_arg(name: str, default: int | None, maximum: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > maximum:
        raise audit.AuditError(f"{name}: expected a whole number from 0 to {maximum}, got {raw[:40]!r}")
    return int(raw)


@desk_auth.get("/desk/api/audit")
@desk_login_required("admin")
def audit_log() -> ResponseReturnValue:
    """The audit log, newest first: ``actor``, ``action`` (``auth.*`` a prefix), ``since``/``until`` (ISO),
    ``limit`` (≤ 500), ``before_id`` (from the last page's ``next_before_id``)."""
    try:
        page = audit.search(current_app.config["STORE"], actor=request.args.get("actor") or None,
                            action=request.args.get("action") or None, since=request.args.get("since") or None,
                            until=request.args.get("until") or None, limit=_int_arg("limit", 50, audit.MAX_PAGE) or 50,
                            before_id=_int_arg("before_id", None, 2**62))
    except audit.AuditError as exc:
        return _refuse(400, "bad_query", "查询条件有误", str(exc))
    return jsonify({"entries": page.entries, "next_before_id": page.next_before_id})


@desk_auth.get("/desk/api/users")
@desk_login_required("admin")
def users() -> ResponseReturnValue:
    """Every staff account with its role, lock and open sessions."""
    return jsonify({"users": accounts().users()})


def _value(name: str) -> str:
    if request.is_json:
        body = request.get_json(silent=True)
        return str(body.get(name, "")) if isinstance(body, dict) else ""
    return request.form.get(name, "")


@desk_auth.post("/desk/api/users/<name>/role")
@desk_login_required("admin")
def set_role(name: str) -> ResponseReturnValue:
    """Change an account's role (``role``: viewer, staff or admin); its sessions end."""
    user = current_user()
    assert user is not None
    try:
        role = check_role(_value("role"))
        if name == user.name and role != Role.ADMIN:
            return _refuse(409, "own_role", "不能降低自己的权限", "you cannot lower your own role")
        accounts().set_role(name, role, actor=user.name, address=request.remote_addr)
    except AccountError as exc:
        return _refuse(404 if "no staff account" in str(exc) else 400, "bad_account", "账户请求有误", str(exc))
    return jsonify({"name": name, "role": role.value})


@desk_auth.post("/desk/api/users/<name>/unlock")
@desk_login_required("admin")
def unlock(name: str) -> ResponseReturnValue:
    """Lift an account's sign-in lock early."""
    user = current_user()
    assert user is not None
    return jsonify({"name": name, "unlocked": accounts().unlock(name, actor=user.name, address=request.remote_addr)})
