"""What every reminder job shares: the result of a run, reminding once per (kind, person, period) — one at a
time or in bulk —, notices to the office, and who can be reminded (bound, reachable, active; not on leave).

Moved out of reminders/jobs.py so that jobs living in their own module (reminders/duty_reminders.py) use the
same helpers without importing the job registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import leave
from storage.models import Cadre, OutboxMessage, ReminderSent, WechatIdentity
from storage.outbox import enqueue
from storage.periods import start_of_day
from storage.words import job_line


@dataclass
class JobResult:
    name: str
    sent: int = 0  # reminders (or pushes) queued / messages delivered
    skipped: int = 0  # already reminded for this period
    detail: dict[str, Any] = field(default_factory=dict)

    def tally(self, queued: bool) -> None:
        """Count one reminder: queued now, or skipped because it was sent for this period before."""
        if queued:
            self.sent += 1
        else:
            self.skipped += 1

    def line(self) -> str:
        extra = " ".join(f"{k}={v}" for k, v in self.detail.items())
        return f"{self.name}: sent={self.sent} skipped={self.skipped} {extra}".strip()

    def words(self) -> str:
        """The same for a person (the command line): in Chinese, storage/words.py ``job_line``."""
        return job_line(self.name, self.sent, self.skipped, self.detail)


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def remind_once(
    session: Session,
    *,
    kind: str,
    person: str,
    period: str,
    openid: str,
    text: str,
    now: datetime,
    outbox_kind: str = "reminder",
    template: dict[str, Any] | None = None,
    expires_at: datetime | None = None,
) -> bool:
    """Queue one reminder unless (kind, person, period) was reminded before; same transaction for both.
    ``expires_at``: when the period is over, the push is no longer delivered (storage.outbox.enqueue)."""
    try:
        with session.begin_nested():
            session.add(ReminderSent(kind=kind, person=person, period=period, sent_at=now))
            session.flush()
    except IntegrityError:
        return False
    enqueue(
        session,
        openid=openid,
        kind=outbox_kind,
        text=text,
        template=template,
        key=f"rem:{kind}:{person}:{period}",
        expires_at=expires_at,
    )
    return True


@dataclass
class Reminder:
    kind: str
    person: str
    period: str
    openid: str
    text: str
    outbox_kind: str = "reminder"
    values: dict[str, str] | None = None  # the push's named values (PRODUCT.md "Pushes")
    expires_at: datetime | None = None  # the period's end: an undelivered reminder is dropped then


def remind_many(session: Session, items: list[Reminder], *, now: datetime) -> tuple[int, int]:
    """``remind_once`` for many at a time: two bulk INSERTs (thousands of cadres in a fraction of a second,
    so SQLite's write lock is held briefly). If someone else reminded one of them meanwhile, the bulk insert
    fails on the unique key and we fall back to one at a time. Returns (sent, skipped)."""
    if not items:
        return 0, 0
    try:
        with session.begin_nested():
            session.execute(
                insert(ReminderSent),
                [{"kind": r.kind, "person": r.person, "period": r.period, "sent_at": now} for r in items],
            )
            session.execute(
                insert(OutboxMessage),
                [
                    {
                        "idempotency_key": f"rem:{r.kind}:{r.person}:{r.period}",
                        "openid": r.openid,
                        "kind": r.outbox_kind,
                        "payload": {"text": r.text, "template": r.values},
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                        "expires_at": r.expires_at,
                    }
                    for r in items
                ],
            )
        return len(items), 0
    except IntegrityError:
        sent = sum(
            remind_once(
                session,
                kind=r.kind,
                person=r.person,
                period=r.period,
                openid=r.openid,
                text=r.text,
                now=now,
                outbox_kind=r.outbox_kind,
                template=r.values,
                expires_at=r.expires_at,
            )
            for r in items
        )
        return sent, len(items) - sent


def notify_office(
    session: Session,
    res: JobResult,
    kind: str,
    period: str,
    text: str,
    openids: list[str],
    *,
    now: datetime,
    expires_at: datetime | None = None,
) -> None:
    """A notice to each office account, once per (kind, account, period); ``expires_at`` for a notice that a
    newer one replaces (the day's overdue list)."""
    for openid in openids:
        res.tally(
            remind_once(
                session,
                kind=kind,
                person=f"office:{openid}",
                period=period,
                openid=openid,
                text=text,
                now=now,
                outbox_kind="notice",
                expires_at=expires_at,
            )
        )


def end_of_day(day: date, tz: Any) -> datetime:
    """The instant local day ``day`` ends: a reminder for that day is stale after it."""
    return start_of_day(day + timedelta(days=1), tz)


def already(session: Session, kind: str, period: str) -> set[str]:
    return set(
        session.scalars(
            select(ReminderSent.person).where(ReminderSent.kind == kind, ReminderSent.period == period)
        )
    )


def on_leave(session: Session, day: date) -> set[int]:
    return leave.on_leave(session, day)


def bound_cadres(session: Session) -> dict[int, str]:
    """cadre id → the openid of their bound, reachable WeChat (the most recently bound one)."""
    out: dict[int, str] = {}
    rows = session.execute(
        select(WechatIdentity.cadre_id, WechatIdentity.openid)
        .join(Cadre, Cadre.id == WechatIdentity.cadre_id)
        .where(
            WechatIdentity.kind == "cadre",
            WechatIdentity.unreachable.is_(False),
            WechatIdentity.subscribed.is_(True),
            Cadre.active.is_(True),
        )
        .order_by(WechatIdentity.bound_at.asc().nullsfirst(), WechatIdentity.id)
    )
    for cid, openid in rows:
        out[cid] = openid
    return out
