"""The window of months and the SQL: one GROUP BY query per measure, grouped by (cadre, month of the window)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Integer, and_, case, column, distinct, func, or_, select, true, values
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from storage.assessment.dialect import seconds_between
from storage.assessment.shape import RedCard
from storage.config import Config
from storage.leave import APPROVED
from storage.models import (
    Cadre,
    CadreLeave,
    DiaryEntry,
    Household,
    Link,
    LinkChange,
    MonthlySummary,
    Task,
    TaskAssignment,
    Township,
    Village,
    VillagerRequest,
)
from storage.periods import Period, local_day, parse_period, start_of_day
from storage.register import in_programme
from storage.workdays import is_workday

SATISFIED = "满意"


def workdays_between(first: date, last: date, config: Config) -> list[date]:
    return [
        first + timedelta(days=i)
        for i in range((last - first).days + 1)
        if is_workday(first + timedelta(days=i), config)
    ]


def month_periods(last: date, count: int) -> list[Period]:
    """``count`` consecutive month periods ending with the month of ``last``."""
    out: list[Period] = []
    y, m = last.year, last.month
    for _ in range(count):
        out.append(parse_period("month", f"{y:04d}-{m:02d}"))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def _bucket(col: Any, bounds: Sequence[Any]) -> ColumnElement[int]:
    """Index of the month a value falls in: bounds[i] <= col < bounds[i+1] (rows are pre-filtered)."""
    return case(*[(col < b, i) for i, b in enumerate(bounds[1:])], else_=len(bounds) - 2)


def _sum_if(cond: Any) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


@dataclass
class Window:
    months: list[Period]
    tz: Any
    now: datetime
    today: date
    as_of: date
    township_id: int | None = None  # one township's cadres only (None: every cadre of the deployment)
    cadre_ids: list[int] | None = None  # that township's cadres, fetched once

    def mine(self, cadre_id: Any) -> Any:
        """Restrict a query's cadre column to the window's township: its cadres' ids as a list, so that PostgreSQL
        reads them through the (cadre_id, day) indexes instead of scanning the whole county's rows (bench/county.py)."""
        if self.township_id is None:
            return true()
        return cadre_id.in_(self.cadre_ids or [])

    @property
    def first(self) -> date:
        return self.months[0].first

    @property
    def end(self) -> date:  # exclusive
        return self.months[-1].last + timedelta(days=1)

    def day_bounds(self) -> list[date]:
        return [m.first for m in self.months] + [self.end]

    def utc_bounds(self) -> list[datetime]:
        return [start_of_day(d, self.tz) for d in self.day_bounds()]


def _first_diary_day(cadre_id: Any) -> Any:
    """The cadre's first diary day (an index seek on (cadre_id, day) per cadre)."""
    return (
        select(func.min(DiaryEntry.day))
        .where(DiaryEntry.cadre_id == cadre_id, DiaryEntry.deleted_at.is_(None))
        .scalar_subquery()
    )


def start_day(created_at: datetime, first_diary_day: Any, tz: Any) -> date:
    """A cadre owes diary days from the day they were created (imported) — or from their first diary day, if
    that is earlier (entries kept from before the import: the cadre was evidently in the programme)."""
    start = local_day(created_at, tz)
    if first_diary_day is None:
        return start
    if isinstance(first_diary_day, str):  # SQLite's MIN() over a DATE may come back as text
        first_diary_day = date.fromisoformat(first_diary_day[:10])
    return min(start, first_diary_day)


def township_cadres(session: Session, township_id: int) -> list[int]:
    return list(session.scalars(select(Cadre.id).where(Cadre.township_id == township_id)))


def cadres_in_period(
    session: Session, period_bounds: tuple[datetime, datetime], period: Period, township_id: int | None = None
) -> list[Any]:
    """Active cadres, and inactive ones with anything in the period (their work still counts); of one township.
    A cadre retired before the period began (``retired_on`` on or before its first day) is not in it."""
    start, end = period_bounds
    serving = or_(Cadre.retired_on.is_(None), Cadre.retired_on > period.first)
    active_in_period = or_(
        Cadre.active.is_(True),
        Cadre.retired_on > period.first,  # retired during the period (or since): their days in it count
        Cadre.id.in_(
            select(DiaryEntry.cadre_id).where(DiaryEntry.day >= period.first, DiaryEntry.day <= period.last)
        ),
        Cadre.id.in_(
            select(TaskAssignment.cadre_id).where(
                TaskAssignment.deadline >= start, TaskAssignment.deadline < end
            )
        ),
        Cadre.id.in_(
            select(VillagerRequest.cadre_id).where(
                VillagerRequest.created_at >= start, VillagerRequest.created_at < end
            )
        ),
    )
    q = (
        select(
            Cadre.id,
            Cadre.name,
            Cadre.phone,
            Cadre.post,
            Cadre.created_at,
            Village.name.label("village"),
            _first_diary_day(Cadre.id).label("first_diary_day"),
            Township.name.label("township"),
            Cadre.retired_on,
        )
        .outerjoin(Village, Village.id == Cadre.village_id)
        .join(Township, Township.id == Cadre.township_id)
        .where(active_in_period, serving)
    )
    if township_id is not None:
        q = q.where(Cadre.township_id == township_id)
    return list(session.execute(q))


def diary_counts(session: Session, w: Window) -> dict[tuple[int, int], tuple[int, int]]:
    b = w.day_bounds()
    sub = (
        select(
            DiaryEntry.cadre_id.label("cadre_id"),
            _bucket(DiaryEntry.day, b).label("m"),
            DiaryEntry.day.label("day"),
        )
        .where(
            DiaryEntry.day >= b[0],
            DiaryEntry.day < b[-1],
            DiaryEntry.deleted_at.is_(None),
            w.mine(DiaryEntry.cadre_id),
        )
        .subquery()
    )
    q = select(sub.c.cadre_id, sub.c.m, func.count(distinct(sub.c.day)), func.count()).group_by(
        sub.c.cadre_id, sub.c.m
    )
    return {(cid, m): (days, entries) for cid, m, days, entries in session.execute(q)}


def leave_days(session: Session, w: Window, owed_days: list[tuple[date, int]]) -> dict[tuple[int, int], int]:
    """Working days on leave per (cadre, month), counting only days the cadre already had to write."""
    if not owed_days:
        return {}
    wd = (
        values(
            column("d", Date), column("m", Integer), column("ends", Cadre.created_at.type), name="owed_days"
        )
        .data([(d, m, start_of_day(d + timedelta(days=1), w.tz)) for d, m in owed_days])
        .cte()
    )
    q = (
        select(CadreLeave.cadre_id, wd.c.m, func.count(distinct(wd.c.d)))
        .join(wd, and_(wd.c.d >= CadreLeave.start_date, wd.c.d <= CadreLeave.end_date))
        .join(Cadre, Cadre.id == CadreLeave.cadre_id)
        .where(
            APPROVED,
            or_(Cadre.created_at < wd.c.ends, wd.c.d >= _first_diary_day(CadreLeave.cadre_id)),
            w.mine(CadreLeave.cadre_id),
        )
        .group_by(CadreLeave.cadre_id, wd.c.m)
    )
    return {(cid, m): n for cid, m, n in session.execute(q)}


def summary_counts(session: Session, w: Window) -> dict[tuple[int, int], tuple[int, int]]:
    keys = [m.key for m in w.months]
    m_index = case(*[(MonthlySummary.month == k, i) for i, k in enumerate(keys)], else_=-1)
    sub = (
        select(
            MonthlySummary.cadre_id.label("cadre_id"),
            m_index.label("m"),
            case((MonthlySummary.on_time.is_(True), 1), else_=0).label("on_time"),
        )
        .where(MonthlySummary.month.in_(keys), w.mine(MonthlySummary.cadre_id))
        .subquery()
    )
    q = select(sub.c.cadre_id, sub.c.m, func.count(), func.sum(sub.c.on_time)).group_by(
        sub.c.cadre_id, sub.c.m
    )
    return {(cid, m): (n, int(on_time or 0)) for cid, m, n, on_time in session.execute(q)}


def task_counts(session: Session, w: Window) -> dict[tuple[int, int], tuple[int, ...]]:
    b = w.utc_bounds()
    a = TaskAssignment
    on_time = and_(a.first_feedback_at.is_not(None), a.first_feedback_at <= a.deadline)
    overdue = and_(or_(a.first_feedback_at.is_(None), a.first_feedback_at > a.deadline), a.deadline <= w.now)
    sub = (
        select(
            a.cadre_id.label("cadre_id"),
            _bucket(a.deadline, b).label("m"),
            case((a.first_feedback_at.is_not(None), 1), else_=0).label("fed"),
            case((on_time, 1), else_=0).label("on_time"),
            case((overdue, 1), else_=0).label("overdue"),
            case((a.returned_count > 0, 1), else_=0).label("returned"),
        )
        .join(Task, Task.id == a.task_id)
        .where(
            a.deadline >= b[0],
            a.deadline < b[-1],
            Task.cancelled_at.is_(None),
            Task.published_at.is_not(None),
            w.mine(a.cadre_id),
        )
        .subquery()
    )
    q = select(
        sub.c.cadre_id,
        sub.c.m,
        func.count(),
        func.sum(sub.c.fed),
        func.sum(sub.c.on_time),
        func.sum(sub.c.overdue),
        func.sum(sub.c.returned),
    ).group_by(sub.c.cadre_id, sub.c.m)
    return {(row[0], row[1]): tuple(int(x or 0) for x in row[2:]) for row in session.execute(q)}


def request_counts(session: Session, w: Window, sla_hours: int) -> dict[tuple[int, int], tuple[Any, ...]]:
    b = w.utc_bounds()
    r = VillagerRequest
    limit = sla_hours * 3600
    # the time limit runs from when the request reached its present cadre: its receipt, or its handover with its
    # household (storage/handover.py); it counts in the month it was received
    reached = func.coalesce(r.handed_over_at, r.created_at)
    secs = seconds_between(reached, r.first_answer_at)
    answered = r.first_answer_at.is_not(None)
    in_sla = and_(answered, secs <= limit)
    late = or_(
        and_(answered, secs > limit),
        and_(r.first_answer_at.is_(None), reached <= w.now - timedelta(hours=sla_hours)),
    )
    sub = (
        select(
            r.cadre_id.label("cadre_id"),
            _bucket(r.created_at, b).label("m"),
            case((answered, 1), else_=0).label("answered"),
            case((in_sla, 1), else_=0).label("in_sla"),
            case((late, 1), else_=0).label("late"),
            case((answered, secs), else_=0).label("secs"),
            case((r.satisfaction.is_not(None), 1), else_=0).label("rated"),
            case((r.satisfaction == SATISFIED, 1), else_=0).label("satisfied"),
        )
        .where(r.created_at >= b[0], r.created_at < b[-1], w.mine(r.cadre_id))
        .subquery()
    )
    q = select(
        sub.c.cadre_id,
        sub.c.m,
        func.count(),
        func.sum(sub.c.answered),
        func.sum(sub.c.in_sla),
        func.sum(sub.c.late),
        func.sum(sub.c.secs),
        func.sum(sub.c.rated),
        func.sum(sub.c.satisfied),
    ).group_by(sub.c.cadre_id, sub.c.m)
    out: dict[tuple[int, int], tuple[Any, ...]] = {}
    for cid, m, received, ans, sla, lt, s, rated, sat in session.execute(q):
        out[(cid, m)] = (
            received,
            int(ans or 0),
            int(sla or 0),
            int(lt or 0),
            float(s or 0),
            int(rated or 0),
            int(sat or 0),
        )
    return out


def household_counts(
    session: Session, w: Window, period_bounds: tuple[datetime, datetime], since: date | None = None
) -> dict[int, int]:
    """Households per cadre for the period: those linked to them now, and those that left them (a handover, a
    move: LinkChange) during the period or after it — each cadre of a handover month counts the households they
    looked after in it (docs/assessment.md "Handover and retirement"); of the households in the programme on
    ``since`` (the period's first day): one closed during the period counts for it, one closed before it does
    not (storage/register.py)."""
    start, _end = period_bounds
    linked = select(Link.cadre_id.label("cadre_id"), Link.household_id.label("household_id")).where(
        w.mine(Link.cadre_id)
    )
    left = select(
        LinkChange.old_cadre_id.label("cadre_id"), LinkChange.household_id.label("household_id")
    ).where(
        LinkChange.old_cadre_id.is_not(None), LinkChange.changed_at >= start, w.mine(LinkChange.old_cadre_id)
    )
    both = linked.union(left).subquery()
    return {
        cid: n
        for cid, n in session.execute(
            select(both.c.cadre_id, func.count(distinct(both.c.household_id)))
            .join(Household, Household.id == both.c.household_id)
            .where(in_programme(since))
            .group_by(both.c.cadre_id)
        )
    }


def red_list(
    session: Session, period: Period, tz: Any, now: datetime, township_id: int | None = None
) -> list[RedCard]:
    start, end = period.utc_range(tz)
    a = TaskAssignment
    q = (
        select(
            Task.number, Task.title, Cadre.name, Cadre.phone, Village.name, a.deadline, a.first_feedback_at
        )
        .join(Task, Task.id == a.task_id)
        .join(Cadre, Cadre.id == a.cadre_id)
        .outerjoin(Village, Village.id == Cadre.village_id)
        .where(
            a.deadline >= start,
            a.deadline < end,
            a.deadline <= now,
            Task.cancelled_at.is_(None),
            Task.published_at.is_not(None),
            or_(a.first_feedback_at.is_(None), a.first_feedback_at > a.deadline),
        )
    )
    if township_id is not None:
        q = q.where(Cadre.township_id == township_id)
    rows = sorted(session.execute(q), key=lambda r: (r[5], r[0], r[3]))
    out = []
    for number, title, name, phone, village, deadline, fed in rows:
        out.append(
            RedCard(
                task_number=number,
                title=title,
                name=name,
                phone=phone,
                village=village or "",
                deadline=deadline.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                fed_back_at=fed.astimezone(tz).strftime("%Y-%m-%d %H:%M") if fed else None,
                hours_late=round((fed - deadline).total_seconds() / 3600, 1) if fed else None,
            )
        )
    return out
