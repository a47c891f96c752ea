"""A cadre's leave (请假): recorded by the office, or asked for by chat and decided by the office.

Only approved leave counts: on its days no diary is owed and no reminder is sent (``APPROVED`` is the
condition every reader uses: reminders.jobs, storage.assessment, the console). Functions take ``session``
and never commit; every change by the office is audited here, in the caller's transaction.

Approved leave lowers the days a cadre owes, so leave on a day of a published circular's period (the cadre's
township's or the county's: storage.circulars) changes what that period's figures would be. Such leave is the
office's to record or approve (``may_change_published``: the console's admins, the CLI); a village account is
refused. Either way the published copy never moves: it is the files stored when it was published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from storage import audit
from storage.db import rows_changed
from storage.models import Cadre, CadreLeave, PublishedReport, Village
from storage.periods import last_day_of_month

APPROVED = CadreLeave.status == "approved"
STATUSES = ("requested", "approved", "refused")
MAX_DAYS = 366  # a longer absence is not leave: the cadre should be taken off the link list
REASON_MAX = 200


class LeaveError(ValueError):
    """Bad input: the message says what is wrong; nothing was changed."""


@dataclass(frozen=True)
class LeaveRow:
    leave: CadreLeave
    cadre: Cadre
    village: str | None


def on_leave(session: Session, day: date) -> set[int]:
    """Ids of the cadres on approved leave on ``day``."""
    return set(
        session.scalars(
            select(CadreLeave.cadre_id).where(
                APPROVED, CadreLeave.start_date <= day, CadreLeave.end_date >= day
            )
        )
    )


def cadre_by_phone(session: Session, phone: str) -> Cadre:
    cadre = session.scalar(select(Cadre).where(Cadre.phone == phone.strip()))
    if cadre is None:
        raise LeaveError(f"没有电话为 {phone} 的干部 / no cadre with that phone")
    return cadre


def _check(start: date, end: date, reason: str | None) -> str | None:
    if end < start:
        raise LeaveError("结束日期早于开始日期 / the leave ends before it starts")
    if (end - start).days + 1 > MAX_DAYS:
        raise LeaveError(f"请假不能超过 {MAX_DAYS} 天 / leave longer than {MAX_DAYS} days")
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > REASON_MAX:
        raise LeaveError(f"事由不超过 {REASON_MAX} 字 / reason longer than {REASON_MAX} characters")
    return reason


class LeaveNeedsOffice(LeaveError):
    """Leave on a day of a published period, asked of someone who may not change published figures."""


def published_periods(session: Session, cadre: Cadre, start: date, end: date) -> list[str]:
    """The published circulars (month, quarter or year; the cadre's township's or the county's) whose period
    holds a day of [start, end], as '2026-11', '2026Q4', '2026'."""
    months, quarters, years = set(), set(), set()
    d = start.replace(day=1)
    while d <= end:
        months.add(f"{d.year:04d}-{d.month:02d}")
        quarters.add(f"{d.year}Q{(d.month - 1) // 3 + 1}")
        years.add(str(d.year))
        d = last_day_of_month(d.year, d.month) + timedelta(days=1)
    rows = session.execute(
        select(PublishedReport.kind, PublishedReport.period)
        .where(
            or_(
                and_(PublishedReport.kind == "month", PublishedReport.period.in_(months)),
                and_(PublishedReport.kind == "quarter", PublishedReport.period.in_(quarters)),
                and_(PublishedReport.kind == "year", PublishedReport.period.in_(years)),
            ),
            or_(PublishedReport.township_id == cadre.township_id, PublishedReport.township_id.is_(None)),
        )
        .distinct()
    ).all()
    return sorted({period for _, period in rows})


def _check_published(session: Session, cadre: Cadre, start: date, end: date, allowed: bool) -> list[str]:
    periods = published_periods(session, cadre, start, end)
    if periods and not allowed:
        raise LeaveNeedsOffice(
            f"{'、'.join(periods)} 的通报已经发布，涉及这些时段的请假须由镇办公室登记或批准"
            " / leave in a published period needs the office"
        )
    return periods


def _overlapping(session: Session, cadre_id: int, start: date, end: date) -> CadreLeave | None:
    return session.scalar(
        select(CadreLeave)
        .where(
            CadreLeave.cadre_id == cadre_id,
            CadreLeave.status != "refused",
            CadreLeave.start_date <= end,
            CadreLeave.end_date >= start,
        )
        .limit(1)
    )


def add_leave(
    session: Session,
    *,
    cadre: Cadre,
    start: date,
    end: date,
    reason: str | None,
    actor: str,
    now: datetime,
    may_change_published: bool = True,
) -> CadreLeave:
    """The office records a cadre's leave: approved at once, audited. Overlapping leave is refused, and leave in a
    published period unless ``may_change_published`` (see the module)."""
    reason = _check(start, end, reason)
    published = _check_published(session, cadre, start, end, may_change_published)
    clash = _overlapping(session, cadre.id, start, end)
    if clash is not None:
        raise LeaveError(
            f"{cadre.name} 在 {clash.start_date}–{clash.end_date} 已有请假记录（{_STATUS_TEXT[clash.status]}）"
            " / overlaps an existing leave"
        )
    leave = CadreLeave(
        cadre_id=cadre.id,
        start_date=start,
        end_date=end,
        reason=reason,
        status="approved",
        requested_by=actor,
        requested_at=now,
        decided_by=actor,
        decided_at=now,
    )
    session.add(leave)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="leave.add",
        target=f"leave:{leave.id}",
        detail={
            "cadre": cadre.phone,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "reason": reason,
            **({"published": published} if published else {}),
        },
    )
    return leave


def request_leave(
    session: Session, *, cadre: Cadre, start: date, end: date, reason: str | None, now: datetime
) -> tuple[CadreLeave, bool]:
    """A cadre asks for leave by chat: ``requested`` until the office decides. Asking again for days
    already asked for returns the earlier request and False (a repeated message changes nothing)."""
    reason = _check(start, end, reason)
    clash = _overlapping(session, cadre.id, start, end)
    if clash is not None:
        return clash, False
    leave = CadreLeave(
        cadre_id=cadre.id,
        start_date=start,
        end_date=end,
        reason=reason,
        status="requested",
        requested_by=f"cadre:{cadre.phone}",
        requested_at=now,
    )
    session.add(leave)
    session.flush()
    return leave, True


def decide_leave(
    session: Session,
    leave: CadreLeave,
    *,
    approve: bool,
    actor: str,
    now: datetime,
    may_change_published: bool = True,
) -> bool:
    """The office approves or refuses a requested leave; False (nothing changed) when it was decided already.
    Approving leave in a published period needs ``may_change_published`` (refusing changes no figure).

    One conditional UPDATE: of two offices deciding at once, exactly one changes the row (and is audited)."""
    published = (
        _check_published(session, leave.cadre, leave.start_date, leave.end_date, may_change_published)
        if approve and leave.status == "requested"
        else []
    )
    decided = session.execute(
        update(CadreLeave)
        .where(CadreLeave.id == leave.id, CadreLeave.status == "requested")
        .values(status="approved" if approve else "refused", decided_by=actor, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(leave)
    if rows_changed(decided) != 1:
        return False
    audit.record(
        session,
        actor=actor,
        action="leave.approve" if approve else "leave.refuse",
        target=f"leave:{leave.id}",
        detail={
            "cadre": leave.cadre.phone,
            "from": leave.start_date.isoformat(),
            "to": leave.end_date.isoformat(),
            **({"published": published} if published else {}),
        },
    )
    return True


def month_leave(
    session: Session, year: int, month: int, *, village_id: int | None = None, township_id: int | None = None
) -> list[LeaveRow]:
    """Every leave (any status) touching the month, by village then cadre; ``village_id`` or ``township_id``
    narrows it."""
    first, last = date(year, month, 1), last_day_of_month(year, month)
    stmt = (
        select(CadreLeave, Cadre, Village.name)
        .join(Cadre, Cadre.id == CadreLeave.cadre_id)
        .outerjoin(Village, Village.id == Cadre.village_id)
        .where(and_(CadreLeave.start_date <= last, CadreLeave.end_date >= first))
        .order_by(Village.name, Cadre.name, CadreLeave.start_date, CadreLeave.id)
    )
    if village_id is not None:
        stmt = stmt.where(Cadre.village_id == village_id)
    if township_id is not None:
        stmt = stmt.where(Cadre.township_id == township_id)
    return [LeaveRow(lv, c, v) for lv, c, v in session.execute(stmt)]


def days_in(leave: CadreLeave, first: date, last: date) -> list[date]:
    """The calendar days of ``leave`` inside [first, last]."""
    start, end = max(leave.start_date, first), min(leave.end_date, last)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)] if end >= start else []


_STATUS_TEXT = {"requested": "待批准", "approved": "已批准", "refused": "未批准"}


def status_text(status: str) -> str:
    return _STATUS_TEXT.get(status, status)
