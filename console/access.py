"""Who may do what: the session check on every request, roles, township and village scope, CSRF, audit.
(Logging in and out, and the login limits, are console/login.py; sessions themselves storage/console_sessions.py.)

Roles: ``admin`` (a township's office: everything of that township), ``village`` (a village secretary: only their
village's cadres, households and requests), ``viewer`` (a township's leaders: read only, no exports); in a county
deployment also ``county-admin`` (every township) and ``county-viewer`` (read only, every township). ``User.role``
is the base role (a county admin is an ``admin`` whose township is every township); ``User.township_id`` is None
for the county roles. Every POST carries the session's CSRF token (400 without it); a viewer's POST is refused
(403). A record outside a user's township or village is 404, as if it did not exist. What belongs to the whole
deployment rather than a township (the WeChat account's delivery and simulator, the policy handbook, the audit
log) is for ``User.runs_deployment``: the county admin, or the admin of a deployment that holds one township.

One mechanism for every page: ``guard`` runs before every request to any of the console's areas (console/areas.py
registers them all inside the one ``console`` blueprint it hangs on); the per-view rules are the decorators and
scope checks below.
"""

from __future__ import annotations

import hmac
import io
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, flash, g, redirect, request, send_file, session, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import audit, console_sessions
from storage.models import Cadre, ConsoleUser, Township, Village
from storage.runtime import Lianxin

PUBLIC_ENDPOINTS = {"console.login.login", "console.static"}
# What a read-only account may still POST: its own logout and its own password (console/views/accounts.py)
OWN_ACCOUNT_POSTS = {"console.login.logout", "console.accounts.own_password_save"}
# what every account may open about itself, a department's too (its own password page)
OWN_ACCOUNT_PAGES = OWN_ACCOUNT_POSTS | {"console.accounts.own_password"}
# The chat simulator speaks as any demo account through the real /wechat: it exists only where
# [console] simulator is on (`lianxin demo`), else its pages are 404 for everyone (issue 21 item 9).
SIMULATOR_BLUEPRINT = "console.simulator"
# A department's account (站办所, role ``department``) sees its own transferred requests and nothing else of the
# township: only these areas (console/views/station_desk.py) and logging out.
DEPARTMENT_BLUEPRINTS = frozenset({"console.station_desk"})
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str  # admin | village | viewer | department (the county roles: admin / viewer of every township)
    village_id: int | None
    village_name: str | None
    account_role: str = ""  # as stored: county-admin, county-viewer, admin, village, viewer
    township_id: int | None = None  # None: every township (the county roles)
    township_name: str | None = None
    village_ids: frozenset[int] | None = None  # the township's villages; None: every village
    runs_deployment: bool = False
    department_id: int | None = None  # role department: the one department (站办所) it answers for

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
        return self.role in ("admin", "village", "department")  # department: its own desk only (guard)

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
def db(*, write: bool | None = None) -> Iterator[Session]:
    """One unit of work per request action. A POST's writes (commits on success; on SQLite it holds the write
    lock from its first statement, storage/db.py); a GET's only reads, in a read-only session that never waits
    for a writer. ``write=True`` for a GET that records something (an export's audit row)."""
    if write is None:
        write = request.method not in ("GET", "HEAD")
    with lx().session() if write else lx().read_session() as s:
        yield s


def user() -> User:
    return g.user


def record(s: Session, action: str, target: str | None = None, **detail: Any) -> None:
    audit.record(s, actor=user().actor, action=action, target=target, detail=detail or None)


def record_export(action: str, target: str | None = None, **detail: Any) -> None:
    """Audit what a GET has just made (a download, a print) in a short unit of work of its own: the GET reads
    without queueing behind writers, and the row is written once the file exists (none when making it failed)."""
    with db(write=True) as s:
        record(s, action, target, **detail)


def download(data: bytes, mimetype: str, name: str) -> Any:
    """A file the console hands out, under a Chinese name (``五个一台账-2026-11.xlsx``: werkzeug sends it as
    Content-Disposition's filename* in UTF-8, RFC 6266, with an ASCII fallback); an HTML document opens in the
    browser, any other is saved."""
    return send_file(
        io.BytesIO(data), mimetype=mimetype, as_attachment=not name.endswith(".html"), download_name=name
    )


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
# Who sees a menu entry (console/areas.py MENU names one of these per entry; the page itself still checks)
# --------------------------------------------------------------------------------------------------


def anyone(u: User) -> bool:
    """Every signed-in account of the township, the read-only leader too (a department's account has only its
    desk: the guard sends it there)."""
    return u.role != "department"


def writer(u: User) -> bool:
    """The office and the village secretaries: who enter and print things."""
    return u.can_write and u.role != "department"


def office_or_leader(u: User) -> bool:
    """The township's office and its read-only leader: the board of requests passed to departments."""
    return u.role in ("admin", "viewer")


def department(u: User) -> bool:
    """A department's account (站办所): its own desk."""
    return u.role == "department"


def office(u: User) -> bool:
    """The township's office (admin)."""
    return u.is_admin


def county_office(u: User) -> bool:
    """The county's accounts (they see every township)."""
    return u.is_county


def deployment(u: User) -> bool:
    """Who runs the deployment (see the module): the WeChat account's delivery, the audit log."""
    return u.runs_deployment


def simulator(u: User) -> bool:
    """Who runs the deployment, where the chat simulator is on."""
    return u.runs_deployment and lx().config.console.simulator


# --------------------------------------------------------------------------------------------------
# The guard before every console request (console/areas.py hangs it on the blueprint that holds every
# area): session timeout, login required, CSRF, read-only viewers; and the templates' globals
# --------------------------------------------------------------------------------------------------


def csrf_token() -> str:
    tok = session.get("csrf")
    if not tok:
        tok = session["csrf"] = secrets.token_urlsafe(32)
    return tok


def template_globals() -> dict[str, Any]:
    u = g.get("user")
    name = u.township_name if u is not None and u.township_name else lx().config.general.township
    return {
        "csrf_token": csrf_token,
        "current_user": u,
        "township": name,
        "simulator_on": lx().config.console.simulator,
    }


def session_limits() -> tuple[timedelta, timedelta]:
    """(idle, absolute) lifetime of a console session."""
    cfg = lx().config.console
    return timedelta(minutes=cfg.session_minutes), timedelta(hours=cfg.session_hours)


def guard() -> Any:
    """Before every request to the console's areas (console/areas.py hangs it on the console blueprint that holds
    them all): refused input, the simulator's switch, CSRF, login, read-only accounts."""
    g.user = None
    # NUL cannot be stored in PostgreSQL text (psycopg DataError → a 500 on every search box and form); no one
    # types it, so a request carrying one is refused before anything reads it.
    if any("\x00" in v for _, vs in request.args.lists() for v in vs) or (
        request.method == "POST" and any("\x00" in v for _, vs in request.form.lists() for v in vs)
    ):
        abort(400, description="输入中含有不允许的字符。")
    if request.blueprint == SIMULATOR_BLUEPRINT and not lx().config.console.simulator:
        abort(404)
    if request.method == "POST":
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
        expected = session.get("csrf") or ""
        if not expected or not hmac.compare_digest(sent, expected):
            abort(400, description="表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。")
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    sid = session.get("sid") or ""
    g.user, seen = _session_user(sid)
    if g.user is not None:
        g.sid = sid
    if seen is not None and console_sessions.due_for_touch(seen, now()):
        with lx().session() as s:
            console_sessions.touch(s, sid, now=now())
    if g.user is None:
        if (
            sid
        ):  # a session that ended (logout, timeout, lifetime, a disabled account): its cookie is forgotten
            session.clear()
            flash("登录已超时或已退出，请重新登录。", "warn")
        return redirect(
            url_for("console.login.login", next=request.full_path if request.method == "GET" else None)
        )
    if (
        g.user.role == "department"
        and request.blueprint not in DEPARTMENT_BLUEPRINTS
        and request.endpoint not in OWN_ACCOUNT_PAGES
    ):
        if request.method == "GET":
            return redirect(url_for("console.station_desk.desk"))
        abort(403)
    if request.method == "POST" and not g.user.can_write and request.endpoint not in OWN_ACCOUNT_POSTS:
        abort(403, description="只读账号不能修改数据。")
    return None


def _session_user(sid: str) -> tuple[User | None, datetime | None]:
    """The signed-in account of session ``sid`` and when it was last seen (None, None: nobody signed in)."""
    if not sid:
        return None, None
    idle, lifetime = session_limits()
    with lx().read_session() as s:  # every request passes here: it must not queue behind writers
        row = console_sessions.find(s, sid, now=now(), idle=idle, lifetime=lifetime)
        u = s.get(ConsoleUser, row.user_id) if row is not None else None
        if row is not None and u is not None and u.active:
            return _user(s, u), row.last_seen_at
    return None, None


def signed_in_user() -> User | None:
    """Who is signed in, for a page the guard did not see (an error page for an address no route answers):
    looked up only, nothing touched or refused."""
    return _session_user(session.get("sid") or "")[0]


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
        department_id=u.department_id,
    )


def done(message: str, endpoint: str, **values: Any) -> Any:
    flash(message, "ok")
    return redirect(url_for(endpoint, **values))
