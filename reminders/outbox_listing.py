"""The outbox as the office reads it (``lianxin outbox``, the console's delivery page) and sends a failed push
again. Re-exported by reminders.delivery, where its callers have always found it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.audit import record
from storage.models import OutboxMessage


def list_outbox(
    session: Session, *, failed_only: bool = False, status: str | None = None, limit: int = 100
) -> list[OutboxMessage]:
    q = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if failed_only or status:
        q = q.where(OutboxMessage.status == (status or "failed"))
    return list(session.scalars(q))


def outbox_counts(session: Session) -> dict[str, int]:
    return dict(
        session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        .tuples()
        .all()
    )


def retry(session: Session, message_id: int, *, now: datetime, actor: str = "cli") -> OutboxMessage:
    """Put a failed message back in the queue (after the cause was fixed)."""
    m = session.get(OutboxMessage, message_id)
    if m is None:
        raise ValueError(f"没有编号为 {message_id} 的消息")
    if m.status != "failed":
        raise ValueError(f"消息 {message_id} 的状态是 {m.status}，只有失败的消息可以重发")
    m.status, m.attempts, m.next_attempt_at, m.claimed_by, m.claimed_until = "pending", 0, now, None, None
    record(session, actor=actor, action="outbox.retry", target=f"outbox:{message_id}")
    return m
