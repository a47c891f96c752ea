"""Who may do what: login, roles, township and village scope, CSRF, session timeout, login rate limiting, audit.

Roles: ``admin`` (a township's office: everything of that township), ``village`` (a village secretary: only their
village's cadres, households and requests), ``viewer`` (a township's leaders: read only, no exports); in a county
deployment also ``county-admin`` (every township) and ``county-viewer`` (read only, every township). ``User.role``
is the base role (a county admin is an ``admin`` whose township is every township); ``User.township_id`` is None
for the county roles. Every POST carries the session's CSRF token (400 without it); a viewer's POST is refused
(403). A record outside a user's township or village is 404, as if it did not exist. What belongs to the whole
deployment rather than a township (the WeChat account's delivery and simulator, the policy handbook, the audit
log) is for ``User.runs_deployment``: the county admin, or the admin of a deployment that holds one township.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.blueprint import bp
from storage import audit
from storage.accounts import verify_password
from storage.models import Cadre, ConsoleUser, Township, Village
from storage.ratelimit import clear_failures, locked_until, record_failure
from storage.runtime import Lianxin

LOCK_MINUTES = 15
IP_FACTOR = 4  # failures allowed per address = login_attempts x this
PUBLIC_ENDPOINTS = {"console.login", "console.static"}
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str  # admin | village | viewer (the county roles: admin / viewer of every township)
    village_id: int | None
    village_name: str | None
    account_role: str = ""  # as stored: county-admin, county-viewer, admin, village, viewer
    township_id: int | None = None  # None: every township (the county roles)
    township_name: str | None = None
    village_ids: frozenset[int] | None = None  # the township's villages; None: every village
    runs_deployment: bool = False

    @property
    def actor(self) -> str:
        return f"console:{self.username}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_county(self) -> bool:
        return self.township_id is None

    @property
    def can_write(self) -> bool:
        return self.role in ("admin", "village")

    def sees_township(self, township_id: int | None) -> bool:
        return self.township_id is None or township_id == self.township_id

    def sees_village(self, village_id: int | None) -> bool:
        if self.role == "village":
            return village_id is not None and village_id == self.village_id
        return self.village_ids is None or village_id in self.village_ids

    def sees_cadre(self, cadre: Any) -> bool:
        if self.role == "village":
            return cadre.village_id is not None and cadre.village_id == self.village_id
        return self.sees_township(cadre.township_id)

    def sees_full(self, village_id: int | None) -> bool:
        """Full phone numbers and personal details: the office, and a village user for their own village."""
        return (self.role == "admin" and self.sees_village(village_id)) or (
            self.role == "village" and village_id == self.village_id
        )


def lx() -> Lianxin:
    lianxin: Lianxin = current_app.config["LIANXIN"]
    return lianxin


def now() -> datetime:
    return lx().now()


@contextmanager
def db() -> Iterator[Session]:
    """One unit of work per request action (commits on success)."""
    with lx().session() as s:
        yield s


def user() -> User:
    return g.user


def record(s: Session, action: str, target: str | None = None, **detail: Any) -> None:
    audit.record(s, actor=user().actor, action=action, target=target, detail=detail or None)


# --------------------------------------------------------------------------------------------------
# Decorators
# --------------------------------------------------------------------------------------------------


def roles(*allowed: str) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        @wraps(fn)
        def wrapper(*a: Any, **kw: Any) -> Any:
            if user().role not in allowed:
                abort(403)
            return fn(*a, **kw)

        return wrapper  # type: ignore[return-value]

    return deco


admin_only = roles("admin")
writers = roles("admin", "village")


def in_scope(village_id: int | None) -> None:
    """404 for a record outside the user's township or village (the URL id was edited)."""
    if not user().sees_village(village_id):
        abort(404)


def cadre_in_scope(cadre: Any) -> None:
    """404 for a cadre outside the user's township or village."""
    if cadre is None or not user().sees_cadre(cadre):
        abort(404)


def get_in_scope(s: Any, model: Any, record_id: int) -> Any:
    """The record with this id, or 404 when there is none or it lies outside the user's township or village."""
    record = s.get(model, record_id)
    if record is None:
        abort(404)
    if model is Cadre:
        cadre_in_scope(record)
    else:
        in_scope(record.village_id)
    return record


def deployment_only(fn: F) -> F:
    """What belongs to the whole deployment (see the module): 403 for a township's office in a county."""

    @wraps(fn)
    def wrapper(*a: Any, **kw: Any) -> Any:
        if not user().runs_deployment:
            abort(403)
        return fn(*a, **kw)

    return wrapper  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------------
# Request hooks: session timeout, login required, CSRF, read-only viewers
# --------------------------------------------------------------------------------------------------


def csrf_token() -> str:
    tok = session.get("csrf")
    if not tok:
        tok = session["csrf"] = secrets.token_urlsafe(32)
    return tok


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    u = g.get("user")
    name = u.township_name if u is not None and u.township_name else lx().config["general"]["township"]
    return {"csrf_token": csrf_token, "current_user": u, "township": name}


@bp.before_request
def _guard() -> Any:
    g.user = None
    # NUL cannot be stored in PostgreSQL text (psycopg DataError → a 500 on every search box and form); no one
    # types it, so a request carrying one is refused before anything reads it.
    if any("\x00" in v for _, vs in request.args.lists() for v in vs) or (
        request.method == "POST" and any("\x00" in v for _, vs in request.form.lists() for v in vs)
    ):
        abort(400, description="输入中含有不允许的字符。")
    if request.method == "POST":
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
        expected = session.get("csrf") or ""
        if not expected or not hmac.compare_digest(sent, expected):
            abort(400, description="表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。")
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    uid = session.get("uid")
    last = session.get("last")
    t = now()
    minutes = lx().config["console"]["session_minutes"]
    if uid is None or last is None or t.timestamp() - float(last) > minutes * 60:
        if uid is not None:
            session.pop("uid", None)
            flash("登录已超时，请重新登录。", "warn")
        return redirect(url_for("console.login", next=request.full_path if request.method == "GET" else None))
    with db() as s:
        u = s.get(ConsoleUser, uid)
        if u is None or not u.active:
            session.clear()
            return redirect(url_for("console.login"))
        g.user = _user(s, u)
    session["last"] = t.timestamp()
    if request.method == "POST" and not g.user.can_write and request.endpoint != "console.logout":
        abort(403, description="只读账号不能修改数据。")
    return None


def _user(s: Session, u: ConsoleUser) -> User:
    county = u.role.startswith("county-")
    base = u.role.removeprefix("county-")
    # a village account's township is its village's; an admin or viewer without one predates any township
    # (lianxin user add always gives one) and, like the county's, sees the whole deployment
    tid = None if county else (u.village.township_id if u.village is not None else u.township_id)
    village_ids = (
        frozenset(s.scalars(select(Village.id).where(Village.township_id == tid)))
        if tid is not None
        else None
    )
    runs = base == "admin" and (
        tid is None or (s.scalar(select(func.count()).select_from(Township)) or 0) <= 1
    )
    return User(
        u.id,
        u.username,
        base,
        u.village_id,
        u.village.name if u.village else None,
        account_role=u.role,
        township_id=tid,
        township_name=s.scalar(select(Township.name).where(Township.id == tid)) if tid else None,
        village_ids=village_ids,
        runs_deployment=runs,
    )


@bp.app_errorhandler(400)
@bp.app_errorhandler(403)
@bp.app_errorhandler(404)
def _error(e: Any) -> Any:
    if request.path.startswith("/wechat"):
        return e
    titles = {400: "请求无效", 403: "没有权限", 404: "找不到该记录"}
    return render_template(
        "error.html",
        code=e.code,
        title=titles.get(e.code, "错误"),
        message=e.description if e.code != 404 else "该记录不存在，或不在您的权限范围内。",
    ), e.code


# --------------------------------------------------------------------------------------------------
# Login with rate limiting
# --------------------------------------------------------------------------------------------------


def _limit_key(username: str) -> str:
    return f"console-login:{username.strip().lower()}"


def _fail(s: Session, key: str, t: datetime, limit: int) -> bool:
    """Count a failure; True when the account (or address) is now locked."""
    _, until = record_failure(
        s,
        key,
        t,
        limit=limit,
        lock_for=timedelta(minutes=LOCK_MINUTES),
        window=timedelta(hours=1),
        fresh_after_lock=True,
    )
    return until is not None


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        t = now()
        key = _limit_key(username)
        # Per address too, with more room (an office shares one address): guessing across many usernames
        # from one place is slowed down as well.
        ip_key = f"console-login-ip:{request.remote_addr or '?'}"
        limit = lx().config["console"]["login_attempts"]
        with db() as s:
            until = locked_until(s, key, t) or locked_until(s, ip_key, t)
            if until is not None:
                error = (
                    f"登录失败次数过多，账号已锁定至 {until.astimezone(lx().config.tz):%H:%M}，请稍后再试。"
                )
                audit.record(s, actor=f"console:{username}", action="login.locked", target=f"user:{username}")
            else:
                u = (
                    s.scalar(select(ConsoleUser).where(ConsoleUser.username == username))
                    if username
                    else None
                )
                if u is not None and u.active and verify_password(u.password_hash, password):
                    clear_failures(s, key)
                    u.last_login_at = t
                    audit.record(
                        s, actor=f"console:{u.username}", action="login", target=f"user:{u.username}"
                    )
                    session.clear()
                    session.permanent = True
                    session["uid"] = u.id
                    session["last"] = t.timestamp()
                    csrf_token()
                    nxt = request.args.get("next") or ""
                    return redirect(
                        nxt
                        if nxt.startswith("/") and not nxt.startswith("//")
                        else url_for("console.dashboard")
                    )
                locked = _fail(s, key, t, limit)
                _fail(s, ip_key, t, limit * IP_FACTOR)
                audit.record(
                    s, actor=f"console:{username or '?'}", action="login.failed", target=f"user:{username}"
                )
                error = (
                    f"登录失败次数过多，账号已锁定 {LOCK_MINUTES} 分钟。" if locked else "账号或密码不正确。"
                )
    return render_template("login.html", error=error), (401 if error else 200)


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    flash("已退出登录。", "ok")
    return redirect(url_for("console.login"))


def done(message: str, endpoint: str, **values: Any) -> Any:
    flash(message, "ok")
    return redirect(url_for(endpoint, **values))
