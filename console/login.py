"""Logging in and out of the console (issue 21 items 6, 7, 8 and 15).

- **Sessions live on the server** (storage/console_sessions.py): login makes one, logout ends it; the cookie holds
  only its random id, so a copy of an old cookie opens nothing.
- **Wrong passwords lock the account tried**, never an address: ``[console] login_attempts`` wrong passwords for
  one account within an hour lock it for 15 minutes (the office is told, once a day per account). An address that
  keeps failing (``ADDRESS_FACTOR`` times that, across any accounts) is **slowed**: each of its further attempts
  waits a moment before it is checked, one at a time per process. An office behind one address, or every user
  behind a proxy that was not declared, is slowed down by an attacker there, never locked out.
- **The address** is the connecting one, unless that is one of ``[console] trusted_proxies``: then the nearest
  address in ``X-Forwarded-For`` that is not a trusted proxy (headers from anyone else are ignored: a client
  cannot choose the address it is counted under).
- **After login** the product goes only to a path of its own site (``safe_next``).
- **The answer takes as long** whether or not the username exists: a missing or disabled account has a dummy
  argon2 hash verified in its place.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from ipaddress import ip_address
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.access import csrf_token, db, lx, now
from console.blueprint import bp
from reminders.reminding import JobResult, notify_office, office_recipients
from storage import audit, console_sessions
from storage.accounts import hash_password, verify_password
from storage.config import trusted_networks
from storage.models import ConsoleUser, Village
from storage.ratelimit import clear_failures, count_failure, locked_until, record_failure

LOCK_MINUTES = 15
ADDRESS_FACTOR = 4  # an address is slowed after login_attempts x this failures within an hour
ADDRESS_DELAY_STEP = 0.5  # seconds added per further failure of a slowed address …
ADDRESS_DELAY_MAX = 5.0  # … up to this
_slowed_now: set[str] = set()  # addresses with a slowed attempt running in this process
_slowed_lock = threading.Lock()


# --------------------------------------------------------------------------------------------------
# Where a request comes from, and where it may go after login
# --------------------------------------------------------------------------------------------------


@cache
def dummy_hash() -> str:
    """Verified in place of a missing or disabled account's hash, made with the same parameters as real ones
    (they travel inside an argon2 hash), so the answer takes as long either way. Made at the first login."""
    return hash_password("lianxin: no such account")


def _in(addr: str, networks: Any) -> bool:
    try:
        ip = ip_address(addr)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def client_address(remote: str | None, forwarded: str | None, networks: Any) -> str:
    """The client's address: ``remote`` unless it is a trusted proxy; then the nearest hop of
    ``X-Forwarded-For`` (read from the right, as each proxy appends) that is not a trusted proxy."""
    addr = remote or "?"
    if not forwarded or not _in(addr, networks):
        return addr
    for hop in reversed([h.strip() for h in forwarded.split(",")]):
        try:
            ip_address(hop)
        except ValueError:
            return addr  # garbage where an address should be: stop at the last proxy we trust
        if not _in(hop, networks):
            return hop
        addr = hop
    return addr


def request_address() -> str:
    return client_address(
        request.remote_addr, request.headers.get("X-Forwarded-For"), trusted_networks(lx().config)
    )


def _unsafe_text(s: str) -> bool:
    return any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in s) or "\\" in s


def safe_next(nxt: str | None) -> str | None:
    """``nxt`` when it is a path of this site, else None. Refused: another host (``//host``, ``/\\host``),
    a scheme (``javascript:``), control characters or spaces (browsers drop a tab: ``/\\t/evil`` is
    ``//evil``), backslashes, and the same things percent-encoded (decoded until nothing changes)."""
    if not nxt or len(nxt) > 2000:
        return None
    seen = nxt
    for _ in range(4):  # /%252F/evil: every layer of encoding is looked at
        if not seen.startswith("/") or seen.startswith("//") or _unsafe_text(seen):
            return None
        parts = urlsplit(seen)
        if parts.scheme or parts.netloc:
            return None
        decoded = unquote(seen)
        if decoded == seen:
            return nxt
        seen = decoded
    return None


# --------------------------------------------------------------------------------------------------
# Login and logout
# --------------------------------------------------------------------------------------------------


def _limit_key(username: str) -> str:
    return f"console-login:{username.strip().lower()}"


def _address_key(address: str) -> str:
    return f"console-login-ip:{address}"


def _sleep() -> Callable[[float], None]:
    """Waiting is real time (the point is to cost an attacker seconds); tests replace it (``LOGIN_SLEEP``)."""
    return current_app.config.get("LOGIN_SLEEP") or time.sleep


def _address_delay(s: Session, address: str, t: datetime, limit: int) -> float:
    failures = count_failure(s, _address_key(address), t, window=timedelta(hours=1), add=False)
    over = failures - limit * ADDRESS_FACTOR
    return 0.0 if over < 0 else min(ADDRESS_DELAY_MAX, ADDRESS_DELAY_STEP * (over + 1))


def _tell_office_of_lock(s: Session, u: ConsoleUser, until: datetime) -> None:
    """A notice to the office of the account's township (the deployment's for a county account), once per
    account and day: someone who keeps guessing relocks it every 15 minutes, and one notice says enough."""
    tz = lx().config.tz
    township_id = u.township_id
    if u.village_id is not None:
        township_id = s.scalar(select(Village.township_id).where(Village.id == u.village_id))
    text = render_template(
        "push/login_locked.txt",
        username=u.username,
        minutes=LOCK_MINUTES,
        until=until.astimezone(tz),
        address=request_address(),
    ).strip()
    notify_office(
        s,
        JobResult("console_login_locked"),
        "login_locked",
        f"{u.username}:{until.astimezone(tz).date().isoformat()}",
        text,
        office_recipients(s, lx().config, township_id),
        now=now(),
    )


def _check(username: str, password: str, t: datetime, address: str) -> tuple[int | None, str | None]:
    """(the user's id, None) when the password is right; (None, what to say) otherwise. Counts failures."""
    key = _limit_key(username)
    limit = lx().config.console.login_attempts
    with db() as s:
        until = locked_until(s, key, t)
        if until is not None:
            audit.record(s, actor=f"console:{username}", action="login.locked", target=f"user:{username}")
            local = until.astimezone(lx().config.tz)
            return None, f"登录失败次数过多，账号已锁定至 {local:%H:%M}，请稍后再试。"
        u = s.scalar(select(ConsoleUser).where(ConsoleUser.username == username)) if username else None
        real = u is not None and u.active
        ok = verify_password(u.password_hash if real and u is not None else dummy_hash(), password) and real
        if ok and u is not None:
            clear_failures(s, key)
            u.last_login_at = t
            audit.record(s, actor=f"console:{u.username}", action="login", target=f"user:{u.username}")
            return u.id, None
        _, locked = record_failure(
            s,
            key,
            t,
            limit=limit,
            lock_for=timedelta(minutes=LOCK_MINUTES),
            window=timedelta(hours=1),
            fresh_after_lock=True,
        )
        count_failure(s, _address_key(address), t, window=timedelta(hours=1))
        audit.record(
            s,
            actor=f"console:{username or '?'}",
            action="login.failed",
            target=f"user:{username}",
            detail={"address": address},
        )
        if locked is not None and u is not None:
            _tell_office_of_lock(s, u, locked)
        if locked is not None:
            return None, f"登录失败次数过多，账号已锁定 {LOCK_MINUTES} 分钟。"
        return None, "账号或密码不正确。"


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error, status = None, 200
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        address = request_address()
        t = now()
        with db() as s:
            delay = _address_delay(s, address, t, lx().config.console.login_attempts)
        slowed = False
        if delay:
            with _slowed_lock:
                if address in _slowed_now:  # one slowed attempt at a time: parallel guesses do not add up
                    return render_template("login.html", error="登录尝试过于频繁，请稍候再试。"), 429
                _slowed_now.add(address)
                slowed = True
        try:
            if delay:
                _sleep()(delay)
            uid, error = _check(username, password, t, address)
        finally:
            if slowed:
                with _slowed_lock:
                    _slowed_now.discard(address)
        if uid is not None:
            session.clear()
            session.permanent = True
            with db() as s:
                session["sid"] = console_sessions.start(s, user_id=uid, now=t, address=address)
            csrf_token()
            return redirect(safe_next(request.args.get("next")) or url_for("console.dashboard"))
        status = 401
    return render_template("login.html", error=error), status


@bp.post("/logout")
def logout() -> Any:
    with db() as s:
        console_sessions.end(s, g.get("sid") or "", now=now(), reason="logout")
        audit.record(s, actor=f"console:{g.user.username}", action="logout", target=f"user:{g.user.username}")
    session.clear()
    flash("已退出登录。", "ok")
    return redirect(url_for("console.login"))
