"""The outbox: every message the bot starts itself is a row, written in the transaction that caused it.

``enqueue`` is idempotent on ``key``: the same logical push (task 12 to cadre 7) is queued once however
often the code that causes it runs. Delivery lives in reminders.delivery.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
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
    """Queue a push; returns False when a push with this key was already queued (nothing added)."""
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)) is not None:
        return False
    # A savepoint so that a concurrent insert of the same key loses quietly instead of
    # spoiling the caller's transaction.
    from sqlalchemy.exc import IntegrityError

    try:
        with session.begin_nested():
            session.add(
                OutboxMessage(
                    idempotency_key=key,
                    openid=openid,
                    kind=kind,
                    payload={"text": text, "template": template},
                    status="pending",
                    next_attempt_at=utcnow(),
                )
            )
    except IntegrityError:
        return False
    return True
