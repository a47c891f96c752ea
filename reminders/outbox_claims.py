"""Claiming due outbox rows, and recording each answer in a one-row UPDATE conditional on our claim.

See reminders/delivery.py for the whole run and why a message can go out twice only if the process dies
between WeChat's answer and that UPDATE.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from storage.db import rows_changed
from storage.models import OutboxMessage, WechatIdentity
from storage.runtime import Lianxin
from storage.tasks import mark_delivered

CLAIM_SECONDS = 120


def backoff(attempts: int, base_seconds: int) -> timedelta:
    return timedelta(seconds=min(3600, base_seconds * 2 ** max(0, attempts - 1)))


# --------------------------------------------------------------------------------------------------
# Claiming
# --------------------------------------------------------------------------------------------------


def expire_stale(lx: Lianxin, now: datetime) -> int:
    """Drop every undelivered push whose period is over (``expires_at`` ≤ ``now``): status ``expired``, kept
    for the record (the delivery page, ``lianxin outbox``). Held, paused, waiting for back-off or for a person
    who refuses messages: a reminder of yesterday's diary is not delivered today. Returns how many."""
    with lx.session() as s:
        res = s.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status.in_(("pending", "refused")),
                OutboxMessage.expires_at.is_not(None),
                OutboxMessage.expires_at <= now,
            )
            .values(status="expired", claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        return int(rows_changed(res) or 0)


def requeue_refused(lx: Lianxin, now: datetime) -> int:
    """Pushes kept back because their person refused messages (status ``refused``) are due again once that
    person is reachable again: they wrote to us (bot.dispatch clears the mark) or followed anew. Returns how
    many."""
    with lx.session() as s:
        back = select(WechatIdentity.openid).where(
            WechatIdentity.unreachable.is_(False), WechatIdentity.subscribed.is_(True)
        )
        res = s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "refused", OutboxMessage.openid.in_(back))
            .values(status="pending", attempts=0, next_attempt_at=now, claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        return int(rows_changed(res) or 0)


def _due(now: datetime, clock_now: datetime) -> Any:
    """Due at ``now`` (the run's time, which ``jobs run dispatch_outbox --now`` may set), with claims measured on
    the process's clock (``clock_now``): a claim is a lease between dispatchers, never moved by ``--now``."""
    return and_(
        or_(
            # A message never tried is always due: ``--now`` only moves the clock for back-off, it never skips a
            # message (PRODUCT.md). A retried one waits for its back-off, measured on the run's time.
            and_(
                OutboxMessage.status == "pending",
                or_(OutboxMessage.attempts == 0, OutboxMessage.next_attempt_at <= now),
            ),
            and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until <= clock_now),
        ),
        # never a push whose period is over (expire_stale drops it)
        or_(OutboxMessage.expires_at.is_(None), OutboxMessage.expires_at > now),
    )


def claim(
    lx: Lianxin,
    *,
    claim_id: str,
    now: datetime,
    limit: int,
    exclude_kinds: set[str] | None = None,
    template_held: set[str] | None = None,
    skip_ids: set[int] | None = None,
) -> list[OutboxMessage]:
    """Mark up to ``limit`` due rows as ours (``sending`` until a lease runs out) and return them; kinds whose
    delivery is held (reminders.holds) are left alone, kinds whose template only is held are taken for people
    whose window is open (a customer-service message can still carry them), ``skip_ids`` not at all (rows this
    run already gave back)."""
    clock_now = lx.now()
    until = clock_now + timedelta(seconds=CLAIM_SECONDS)
    with lx.session() as s:
        q = select(OutboxMessage.id).where(_due(now, clock_now)).order_by(OutboxMessage.id).limit(limit)
        if exclude_kinds:
            q = q.where(OutboxMessage.kind.not_in(sorted(exclude_kinds)))
        if template_held:
            window_open = select(WechatIdentity.openid).where(
                WechatIdentity.window_until > now, WechatIdentity.window_quota > WechatIdentity.window_sent
            )
            q = q.where(
                or_(OutboxMessage.kind.not_in(sorted(template_held)), OutboxMessage.openid.in_(window_open))
            )
        if skip_ids:
            q = q.where(OutboxMessage.id.not_in(sorted(skip_ids)))
        if s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        ids = list(s.scalars(q))
        if not ids:
            return []
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), _due(now, clock_now))
            .values(status="sending", claimed_by=claim_id, claimed_until=until)
            .execution_options(synchronize_session=False)
        )
    with lx.session() as s:
        return list(
            s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.claimed_by == claim_id, OutboxMessage.status == "sending")
                .order_by(OutboxMessage.id)
            )
        )


# --------------------------------------------------------------------------------------------------
# Recording (each a one-row update, conditional on our claim)
# --------------------------------------------------------------------------------------------------


def finish(s: Session, msg: OutboxMessage, claim_id: str, **values: Any) -> bool:
    res = s.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == msg.id,
            OutboxMessage.claimed_by == claim_id,
            OutboxMessage.status == "sending",
        )
        .values(claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(rows_changed(res))


def record_sent(
    lx: Lianxin,
    msg: OutboxMessage,
    claim_id: str,
    channel: str,
    now: datetime,
    msgid: str | None = None,
    *,
    window_messages: int = 1,
) -> None:
    """``msgid``: what template/send answered, by which a later TEMPLATESENDJOBFINISH names this push;
    ``window_messages``: how many of the window's messages a customer-service push took (its parts)."""
    with lx.session() as s:
        if finish(
            s,
            msg,
            claim_id,
            status="sent",
            channel=channel,
            sent_at=now,
            attempts=OutboxMessage.attempts + 1,
            last_error=None,
            wechat_msgid=msgid,
        ):
            # A card's push (or a digest carrying some) marks those assignments delivered, same transaction.
            mark_delivered(s, msg, now=now)
            if channel == "custom":  # every message of the window: a text's parts count one each
                s.execute(
                    update(WechatIdentity)
                    .where(WechatIdentity.openid == msg.openid)
                    .values(window_sent=WechatIdentity.window_sent + max(1, window_messages))
                    .execution_options(synchronize_session=False)
                )


def record_parts_sent(lx: Lianxin, msg: OutboxMessage, claim_id: str, n: int) -> None:
    """The first ``n`` parts of a long customer-service text went out (payload ``parts_sent``)."""
    payload = dict(msg.payload or {})
    payload["parts_sent"] = n
    with lx.session() as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == msg.id, OutboxMessage.claimed_by == claim_id)
            .values(payload=payload)
            .execution_options(synchronize_session=False)
        )
    msg.payload = payload


def record_retry(lx: Lianxin, msg: OutboxMessage, claim_id: str, error: str, now: datetime) -> str:
    cfg = lx.config.wechat
    attempts = msg.attempts + 1
    with lx.session() as s:
        if attempts >= cfg.max_attempts:
            finish(s, msg, claim_id, status="failed", attempts=attempts, last_error=error)
            return "failed"
        finish(
            s,
            msg,
            claim_id,
            status="pending",
            attempts=attempts,
            last_error=error,
            next_attempt_at=now + backoff(attempts, cfg.retry_base_seconds),
        )
        return "retried"


def record_failed(lx: Lianxin, msg: OutboxMessage, claim_id: str, error: str) -> None:
    with lx.session() as s:
        finish(s, msg, claim_id, status="failed", attempts=msg.attempts + 1, last_error=error)


def release(lx: Lianxin, msgs: list[OutboxMessage], claim_id: str, note: str | None = None) -> None:
    """Give unsent rows back untouched (delivery paused): they stay due, nothing counts as an attempt."""
    if not msgs:
        return
    with lx.session() as s:
        s.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_([m.id for m in msgs]),
                OutboxMessage.claimed_by == claim_id,
                OutboxMessage.status == "sending",
            )
            .values(status="pending", claimed_until=None, **({"last_error": note} if note else {}))
            .execution_options(synchronize_session=False)
        )
