"""The outbox: every message the bot starts itself is a row, written in the transaction that caused it.

``enqueue`` is idempotent on ``key``: the same logical push (task 12 to cadre 7) is queued once however
often the code that causes it runs. Delivery lives in reminders.delivery.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from storage.cards import mask_card_numbers
from storage.db import insert_or_skip
from storage.models import OutboxMessage
from storage.service_window import USER_MESSAGE
from storage.timestamps import now_of

KINDS = ("task", "reminder", "request", "reply", "notice")


def push_time(moment: datetime, tz: Any) -> str:
    """A moment as a template's ``time`` key shows it: '2026年11月30日 18:00' in the configured zone."""
    m = moment.astimezone(tz)
    return f"{m.year}年{m.month}月{m.day}日 {m:%H:%M}"


def enqueue(
    session: Session,
    *,
    openid: str,
    kind: str,
    text: str,
    key: str,
    template: dict[str, Any] | None = None,
    expires_at: datetime | None = None,
    assignment_id: int | None = None,
) -> bool:
    """Queue a push; returns False when a push with this key was already queued (nothing added).

    ``template`` holds the push's named values (PRODUCT.md "Pushes": task number/title/deadline/office, …);
    delivery maps them onto the configured template's keys (reminders.template_values).
    ``expires_at``: the end of the period a reminder is about (its day, its month, the deadline it warns of);
    a push still undelivered then is dropped as ``expired`` rather than delivered late. None: never (cards,
    villagers' requests and replies, notices keep their place however long delivery is held).
    ``assignment_id``: a card's push, the assignment it tells its cadre of (delivery marks it delivered).

    One statement: ``INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`` (PostgreSQL, SQLite ≥
    3.35). A concurrent insert of the same key waits for the other transaction and then inserts nothing, so
    it loses quietly without spoiling the caller's transaction (no savepoint needed)."""
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    # No push carries a card number, not even one a villager typed into their request (issue 21 item 2).
    text = mask_card_numbers(session, text)
    if template:
        template = {
            k: mask_card_numbers(session, v) if isinstance(v, str) else v for k, v in template.items()
        }
    now = now_of(session)
    values = {
        "idempotency_key": key,
        "openid": openid,
        "kind": kind,
        "payload": {"text": text, "template": template},
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "claimed_by": None,
        "claimed_until": None,
        "channel": None,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
        "merged_into": None,
        "expires_at": expires_at,
        "wechat_msgid": None,
        "assignment_id": assignment_id,
    }
    conn = session.connection()  # Core: the ORM's bulk-insert machinery costs more than the statement
    return conn.execute(_INSERT, values).first() is not None


def request_values(request: Any, tz: Any, household: Any = None) -> dict[str, str]:
    """The named values of a ``request`` push: the villager's request as a cadre's template shows it."""
    household = household or getattr(request, "household", None)
    return {
        "number": str(request.number),
        "household": household.head_name if household else "",
        "category": request.category or "",
        "text": request.text or "",
        "time": push_time(request.created_at, tz),
    }


def reply_values(request: Any, cadre: str, text: str, at: datetime, tz: Any) -> dict[str, str]:
    """The named values of a ``reply`` push: the answer as the villager's template shows it."""
    return {"number": str(request.number), "cadre": cadre, "text": text, "time": push_time(at, tz)}


def open_user_window(ident: Any, at: datetime | None) -> None:
    """Record that ``ident`` wrote to us at ``at`` (5 customer-service messages / 48 h); None closes the window.
    For seeds, imports and tests; live traffic goes through bot.dispatch, which applies every rule."""
    ident.last_inbound_at = at
    ident.window_opened_at = at
    ident.window_until = at + USER_MESSAGE.length if at else None
    ident.window_quota = USER_MESSAGE.quota if at else 0
    ident.window_sent = 0


def user_window_columns(at: datetime | None) -> dict[str, Any]:
    """The same for bulk INSERTs: the column values of a window opened by a user's message at ``at``."""
    return {
        "last_inbound_at": at,
        "window_opened_at": at,
        "window_until": at + USER_MESSAGE.length if at else None,
        "window_quota": USER_MESSAGE.quota if at else 0,
        "window_sent": 0,
    }


_TABLE = OutboxMessage.__table__
_INSERT = insert_or_skip(_TABLE, "idempotency_key")
