"""The outbox: every message the bot starts itself is a row, written in the transaction that caused it.

``enqueue`` is idempotent on ``key``: the same logical push (task 12 to cadre 7) is queued once however
often the code that causes it runs. Delivery lives in reminders.delivery.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import OutboxMessage
from storage.timestamps import utcnow

KINDS = ("task", "reminder", "request", "reply", "notice")


def enqueue(
    session: Session,
    *,
    openid: str,
    kind: str,
    text: str,
    key: str,
    template: dict[str, Any] | None = None,
) -> bool:
    """Queue a push; returns False when a push with this key was already queued (nothing added).

    One statement: ``INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`` (PostgreSQL, SQLite ≥
    3.35). A concurrent insert of the same key waits for the other transaction and then inserts nothing, so
    it loses quietly without spoiling the caller's transaction (no savepoint needed)."""
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    values = {
        "idempotency_key": key,
        "openid": openid,
        "kind": kind,
        "payload": {"text": text, "template": template},
        "status": "pending",
        "next_attempt_at": utcnow(),
    }
    conn = session.connection()  # Core: the ORM's bulk-insert machinery costs more than the statement
    return conn.execute(_INSERT[conn.dialect.name], values).first() is not None


_TABLE = OutboxMessage.__table__
_INSERT = {
    "postgresql": pg_insert(_TABLE).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(_TABLE.c.id),
    "sqlite": sqlite_insert(_TABLE).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(_TABLE.c.id),
}
