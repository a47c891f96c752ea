"""From one inbound message to one reply: de-duplication, the context, routing (handlers.routing), paging, errors.

One message, one effect — how:
- The unit of work is ONE transaction: insert the InboundMessage row (its ``dedup_key`` is unique), build the
  context, run the handler, store the reply on the row, commit. The insert is the first statement, so the
  row's unique-index entry is taken before anything else happens.
- A retry or a concurrent duplicate inserts the same key. On PostgreSQL its insert waits on the unique index
  until the first transaction ends; on SQLite it waits for the single write lock. If the first committed, the
  duplicate's insert (ON CONFLICT DO NOTHING) returns no row and it answers with the stored reply (never a
  second effect). If the first
  rolled back (crash, lost connection), the duplicate's insert succeeds and handles the message — so a crash
  leaves neither half an effect nor a message marked as seen but never handled.
- A handler that raises rolls the transaction back (its half-done changes vanish, the row with them), and a
  second transaction stores the row with status ``failed``, the error and the apology; the log names the
  message id. (No savepoint on the common path: its SAVEPOINT and RELEASE cost two statements and ~10% of a
  message's CPU. Between the two transactions a retry may insert the row first and run the handler again: it
  fails the same way and leaves no effect either, and the first answers with its stored outcome.)
  A retry of a failed message gets the same apology (it is recorded as that message's outcome; the office
  sees failed rows), rather than running a broken handler again inside WeChat's budget.

Logging "before it is handled" therefore means: in the same transaction, before the handler runs; the row
and the effect commit together or not at all.

One signed query, one message: when the endpoint passes a ``QueryClaim`` (storage/wechat_edge.py), its row is the
transaction's very first statement, before the inbound row — a second request under the same query waits for
the first transaction on that unique index, then goes on only if it carries the same message (a retry: the
stored reply) and is refused with ``QueryReused`` otherwise, its transaction rolled back (nothing stored).

The log names a message by its MsgId or, for events (which have none), by a short hash of the dedup key: an
openid is personal data and stays out of the log.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
import traceback
from collections import deque
from datetime import datetime

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from handlers import keywords
from handlers.base import Context, Message, Outbox
from handlers.paging import paginate
from handlers.render import render
from handlers.routing import route
from storage import service_window
from storage.db import insert_or_skip
from storage.models import ConversationState, InboundMessage, WechatIdentity
from storage.runtime import Lianxin
from storage.wechat_edge import QueryClaim, claim

log = logging.getLogger("lianxin.bot.dispatch")


def window_opened_by(msg: Message) -> service_window.Window | None:
    """(quota, length) of WeChat's customer-service window this inbound message opens (storage/service_window.py),
    or None."""
    return service_window.opened_by(msg.kind, msg.event)


# ----------------------------------------------------------------------------------------------- context


_IDENTITY = select(WechatIdentity).where(WechatIdentity.openid == bindparam("b_openid"))  # built once


def _identity(session: Session, openid: str, now: datetime) -> WechatIdentity:
    ident = session.scalar(_IDENTITY, {"b_openid": openid})
    if ident is not None:
        return ident
    try:
        with session.begin_nested():
            ident = WechatIdentity(openid=openid, kind="unknown", first_seen_at=now, window_sent=0)
            session.add(ident)
        return ident
    except IntegrityError:  # the same new user's other message got there first
        ident = session.scalar(_IDENTITY, {"b_openid": openid})
        assert ident is not None
        return ident


_IDENT = WechatIdentity.__table__
# A user's own message always opens a new 5-message / 48-hour window (quotas do not add up, and nothing an
# event opens is longer), so for the common case the identity's SELECT and its window UPDATE are one
# statement: UPDATE … RETURNING the whole row, which becomes the ORM object without a SELECT.
# The same statement makes the person reachable again (storage/reachability.py): one writes only to an account
# one follows, and someone who had switched off its messages and writes again is tried again — their pushes
# kept back as ``refused`` are due again at the next dispatch (reminders/outbox_claims.requeue_refused).
_OPEN_USER_WINDOW = (
    update(_IDENT)
    .where(_IDENT.c.openid == bindparam("b_openid"))
    .values(
        last_inbound_at=bindparam("b_now"),
        window_opened_at=bindparam("b_now"),
        window_until=bindparam("b_until"),
        window_quota=service_window.USER_MESSAGE.quota,
        window_sent=0,
        subscribed=True,
        unsubscribed_at=None,
        unreachable=False,
        unreachable_reason=None,
    )
    .returning(
        *_IDENT.c,
        # whether a conversation state (登记 form, pages for 更多) is open: most have none, and then the routes
        # that would look it up cost no SELECT (handlers/conversation.py)
        exists(select(ConversationState.id).where(ConversationState.identity_id == _IDENT.c.id)).label(
            "has_conversation"
        ),
    )
)


def _identity_opening_user_window(
    session: Session, openid: str, now: datetime
) -> tuple[WechatIdentity, bool] | None:
    """The known identity with its 48-hour window opened, and whether it has a conversation state open (one
    statement), or None for a new user."""
    row = (
        session.connection()
        .execute(
            _OPEN_USER_WINDOW,
            {"b_openid": openid, "b_now": now, "b_until": now + service_window.USER_MESSAGE.length},
        )
        .first()
    )
    if row is None:
        return None
    columns = dict(row._mapping)
    has_conversation = bool(columns.pop("has_conversation"))
    ident = WechatIdentity(**columns)
    make_transient_to_detached(
        ident
    )  # as if loaded: no history, so nothing to flush unless a handler changes it
    session.add(ident)
    return ident, has_conversation


def build_context(lx: Lianxin, session: Session, msg: Message, inbound_id: int | None) -> Context:
    now = lx.now()
    if msg.kind != "event":
        opened = _identity_opening_user_window(session, msg.openid, now)
        if opened is not None:
            return Context(
                session=session,
                config=lx.config,
                identity=opened[0],
                inbound_id=inbound_id,
                now=lx.now,
                render=render,
                outbox=Outbox(session),
                no_conversation=not opened[1],
            )
    ident = _identity(session, msg.openid, now)
    if not (msg.kind == "event" and msg.event == "unsubscribe"):
        ident.last_inbound_at = now
    opens = window_opened_by(msg)
    if opens is not None:
        # In the dispatcher's transaction: the window is stored with the message that opened it, or not at all.
        quota, length = opens
        open_now = ident.window_until is not None and ident.window_until > now
        left = (ident.window_quota or 0) - (ident.window_sent or 0) if open_now else 0
        # Quotas do not add up; an action replaces the window when it gives more (docs/wechat-rules.md §5b).
        if length == service_window.USER_MESSAGE.length or not open_now or left < quota:
            ident.window_opened_at, ident.window_until, ident.window_quota = now, now + length, quota
            ident.window_sent = 0
    return Context(
        session=session,
        config=lx.config,
        identity=ident,
        inbound_id=inbound_id,
        now=lx.now,
        render=render,
        outbox=Outbox(session),
    )


# ---------------------------------------------------------------------------------------------- handling


def _loggable(msg: Message) -> str | None:
    """The text kept in the inbound log; a binding code is a secret until used, so it is not kept."""
    if not msg.text:
        return None
    parsed = keywords.parse(msg.text) if msg.kind == "text" else None
    if parsed is not None and parsed.name == "绑定" and parsed.rest:
        return "绑定 ********"
    return msg.text


def _stored_reply(lx: Lianxin, key: str) -> str | None:
    with lx.session() as s:
        row = s.scalar(select(InboundMessage).where(InboundMessage.dedup_key == key))
        if row is None or row.status == "received":
            return None
        return row.reply


# SQLite has one writer at a time and each message is one write transaction from its first statement; its
# busy handler makes waiting threads sleep and poll (1, 2, 5 … 100 ms), so under load a worker could lose the
# race again and again (p99 near 1 s at 20 connections with 2 gunicorn workers). Messages queue instead: the
# threads of a process on a first-come-first-served lock, the processes on an flock of a file beside the
# database (released by the kernel if a process dies). The descriptor is per process: one inherited across fork
# would not exclude.
class FifoLock:
    """A lock handed to its waiters in arrival order (``threading.Lock`` lets a releasing thread take it again,
    or any waiter win, so under 20 connections one message could wait behind many later ones)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def __enter__(self) -> FifoLock:
        with self._mutex:
            if not self._held:
                self._held = True
                return self
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        turn.acquire()  # released by the holder's __exit__: the lock passes straight to us, still held
        return self

    def __exit__(self, *_exc: object) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False


_sqlite_writer = FifoLock()
_lock_fds: dict[tuple[int, str], int] = {}


def _sqlite_lock_fd(path: str) -> int:
    key = (os.getpid(), path)
    fd = _lock_fds.get(key)
    if fd is None:
        fd = _lock_fds[key] = os.open(f"{path}.dispatch-lock", os.O_RDWR | os.O_CREAT, 0o600)
    return fd


def handle(
    lx: Lianxin, msg: Message, *, transport: str | None = None, query: QueryClaim | None = None
) -> str | None:
    """Handle one message exactly once; returns the reply text (None = no reply, answer "success").

    ``transport`` (plain | aes | compat) is kept on the inbound row; ``query`` binds the signed query to this
    message (``storage.wechat_edge.QueryReused`` when it already carried another)."""
    if lx.engine.dialect.name != "sqlite":
        return _handle(lx, msg, transport, query)
    path = lx.engine.url.database
    with _sqlite_writer:
        if not path or path == ":memory:" or path.startswith("file:"):
            return _handle(lx, msg, transport, query)
        fd = _sqlite_lock_fd(path)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            return _handle(lx, msg, transport, query)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def log_name(msg: Message) -> str:
    """How the log names a message: its MsgId, or a short hash of an event's key (which holds the openid)."""
    if msg.msg_id:
        return f"msg:{msg.msg_id}"
    return "evt:" + hashlib.sha256(msg.dedup_key.encode("utf-8", "surrogateescape")).hexdigest()[:12]


def _insert_inbound(lx: Lianxin, session: Session, msg: Message, transport: str | None = None) -> int | None:
    """Log the message as the transaction's first statement: the new row's id, or None when its ``dedup_key``
    is already stored.

    One ``INSERT … ON CONFLICT (dedup_key) DO NOTHING RETURNING id`` (PostgreSQL and SQLite ≥ 3.35): a
    duplicate costs no exception, no rollback and no second transaction. The conflict check waits exactly as
    the plain insert did (PostgreSQL: on the unique index entry of the transaction in flight; SQLite: for the
    write lock), so a retry of a message whose first transaction rolls back still inserts and handles it. No ORM
    object is made for the row: the handlers need only its id (diary rows and requests cite it).
    """
    values = {
        "dedup_key": msg.dedup_key[:150],
        "openid": msg.openid,
        "msg_type": msg.kind[:20],
        "event": (msg.event or None) and msg.event[:40],
        "content": _loggable(msg),
        "media_id": msg.media_id,
        "create_time": msg.create_time,
        "received_at": lx.now(),
        "status": "received",
        "reply": None,
        "error": None,
        "transport": transport,
    }
    row_id: int | None = session.connection().execute(_INSERT, values).scalar()  # Core: no ORM machinery
    return row_id


_TABLE = InboundMessage.__table__
_INSERT = insert_or_skip(_TABLE, "dedup_key")
_REPLY = select(InboundMessage.status, InboundMessage.reply).where(
    InboundMessage.dedup_key == bindparam("key")
)
# The outcome goes onto the row in Core: the InboundMessage object is never in the session (no unit of work
# for one UPDATE of three columns).
_OUTCOME = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), reply=bindparam("b_reply"), error=bindparam("b_error"))
)


def _record_failure(
    lx: Lianxin,
    session: Session,
    msg: Message,
    transport: str | None,
    query: QueryClaim | None,
    e: Exception,
) -> str | None:
    """After a handler raised and its transaction rolled back: the message stored as ``failed`` with the error
    and the apology, in a transaction of its own (so a retry gets the apology, never the broken handler again).
    If a retry stored the message meanwhile, its outcome is the answer."""
    if query is not None:
        claim(session, query, now=lx.now())
    inbound_id = _insert_inbound(lx, session, msg, transport)
    if inbound_id is None:
        stored = session.execute(_REPLY, {"key": msg.dedup_key[:150]}).first()
        session.rollback()
        return stored.reply if stored is not None and stored.status != "received" else None
    reply = render("error")
    error = "".join(traceback.format_exception_only(type(e), e)).strip()[:2000]
    session.connection().execute(
        _OUTCOME, {"b_id": inbound_id, "b_status": "failed", "b_reply": reply, "b_error": error}
    )
    session.commit()
    return reply


def _handle(lx: Lianxin, msg: Message, transport: str | None, query: QueryClaim | None) -> str | None:
    session = lx.sessions()
    try:
        if query is not None:
            claim(session, query, now=lx.now())  # QueryReused: rolled back below, nothing stored
        inbound_id = _insert_inbound(lx, session, msg, transport)
        if inbound_id is None:
            log.info("duplicate %s: answering with the stored reply", log_name(msg))
            stored = session.execute(_REPLY, {"key": msg.dedup_key[:150]}).first()
            session.rollback()
            return stored.reply if stored is not None and stored.status != "received" else None

        ctx = build_context(lx, session, msg, inbound_id)
        name = "none"
        try:
            name, reply = route(ctx, msg)
            if reply:
                reply = paginate(ctx, reply)
        except Exception as e:  # noqa: BLE001 - every failure becomes an apology, never an empty answer
            log.exception("handling %s (%s, route %s) failed", log_name(msg), msg.kind, name)
            session.rollback()  # the handler's half-done changes go, and with them the row: written again below
            return _record_failure(lx, session, msg, transport, query, e)
        session.connection().execute(
            _OUTCOME, {"b_id": inbound_id, "b_status": "handled", "b_reply": reply, "b_error": None}
        )
        session.commit()
        log.debug("handled %s by %s", log_name(msg), name)
        return reply
    except IntegrityError:
        # A unique clash at commit time (SQLite defers nothing, PostgreSQL may report it here): a duplicate.
        session.rollback()
        return _stored_reply(lx, msg.dedup_key)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
