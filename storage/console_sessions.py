"""Console sessions kept on the server, and the account changes that end them (issue 21 item 6).

A signed cookie alone cannot be taken back: a copy made before logout stayed good until the idle timeout, and the
idle timeout slid forward with every request for ever. So a login makes a row here; the cookie carries only a
random session id (32 bytes; the table keeps its SHA-256, so the table alone opens nothing). A request is let
in only while its row lives:

- not ended — logout ends it, disabling the account or changing its password ends all of the account's;
- seen within ``[console] session_minutes`` (idle), and
- made within ``[console] session_hours`` (absolute: activity never stretches a session past it).

``last_seen_at`` is written at most once a minute per session (a console page is not a write each time), so
the idle limit holds to within that minute.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.accounts import AccountError, check_password, hash_password
from storage.audit import record
from storage.console_users import refuse_losing_admin
from storage.db import rows_changed
from storage.models import ConsoleSession, ConsoleUser

TOUCH_EVERY = timedelta(minutes=1)
KEEP_ENDED = timedelta(days=30)  # ended and expired rows are pruned after this (the audit log keeps logins)


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


def start(session: Session, *, user_id: int, now: datetime, address: str | None = None) -> str:
    """A new session for the user; returns its id (for the cookie only: the table keeps its hash)."""
    session.execute(
        delete(ConsoleSession).where(ConsoleSession.last_seen_at < now - KEEP_ENDED)
    )  # old rows of anyone: ended or long expired
    sid = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            user_id=user_id,
            sid_hash=_hash(sid),
            created_at=now,
            last_seen_at=now,
            address=(address or "")[:64] or None,
        )
    )
    session.flush()
    return sid


def find(
    session: Session, sid: str, *, now: datetime, idle: timedelta, lifetime: timedelta
) -> ConsoleSession | None:
    """The live session with this id, or None (unknown, ended, idle too long, or older than its lifetime).
    Reads only (every console request asks, in a read-only session); ``touch`` marks it as seen."""
    if not sid or len(sid) > 100:
        return None
    row = session.scalar(select(ConsoleSession).where(ConsoleSession.sid_hash == _hash(sid)))
    if row is None or row.ended_at is not None:
        return None
    if row.last_seen_at + idle <= now or row.created_at + lifetime <= now:
        return None
    return row


def due_for_touch(last_seen_at: datetime, now: datetime) -> bool:
    """Whether a live session last seen at ``last_seen_at`` is to be marked as seen (at most once a minute)."""
    return now - last_seen_at >= TOUCH_EVERY


def touch(session: Session, sid: str, *, now: datetime) -> None:
    """Mark the live session as seen now (one conditional UPDATE: two requests at once write it once)."""
    session.execute(
        update(ConsoleSession)
        .where(
            ConsoleSession.sid_hash == _hash(sid),
            ConsoleSession.ended_at.is_(None),
            ConsoleSession.last_seen_at <= now - TOUCH_EVERY,
        )
        .values(last_seen_at=now)
    )


def end(session: Session, sid: str, *, now: datetime, reason: str = "logout") -> None:
    """Logout: this session ends (a copy of its cookie opens nothing any more)."""
    session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.sid_hash == _hash(sid or ""), ConsoleSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )


def end_all(
    session: Session, user_id: int, *, now: datetime, reason: str, keep_sid: str | None = None
) -> int:
    """Every live session of the user ends (but ``keep_sid``, the one that asked); how many ended."""
    q = update(ConsoleSession).where(ConsoleSession.user_id == user_id, ConsoleSession.ended_at.is_(None))
    if keep_sid:
        q = q.where(ConsoleSession.sid_hash != _hash(keep_sid))
    return rows_changed(session.execute(q.values(ended_at=now, end_reason=reason))) or 0


def _user(session: Session, username: str) -> ConsoleUser:
    u = session.scalar(select(ConsoleUser).where(ConsoleUser.username == username.strip()))
    if u is None:
        raise AccountError(f"没有账号 {username}")
    return u


def disable_user(
    session: Session, *, username: str, actor: str, now: datetime, by: str | None = None
) -> ConsoleUser:
    """The account can no longer log in, and its sessions end at once (PRODUCT.md ``user disable``). Refused for
    oneself (``by``: the console user asking) and for a township's last active admin
    (storage/console_users.py)."""
    u = _user(session, username)
    refuse_losing_admin(session, u, by=by)
    u.active = False
    ended = end_all(session, u.id, now=now, reason="disabled")
    record(
        session, actor=actor, action="user.disable", target=f"user:{u.username}", detail={"sessions": ended}
    )
    return u


def enable_user(session: Session, *, username: str, actor: str) -> ConsoleUser:
    u = _user(session, username)
    u.active = True
    record(session, actor=actor, action="user.enable", target=f"user:{u.username}")
    return u


def change_password(
    session: Session,
    *,
    username: str,
    password: str,
    actor: str,
    now: datetime,
    keep_sid: str | None = None,
) -> ConsoleUser:
    """A new password; the account's other sessions end (``keep_sid``: the session that changed it, if any)."""
    check_password(password)
    u = _user(session, username)
    u.password_hash = hash_password(password)
    ended = end_all(session, u.id, now=now, reason="password", keep_sid=keep_sid)
    record(
        session, actor=actor, action="user.passwd", target=f"user:{u.username}", detail={"sessions": ended}
    )
    return u
