"""The assessment: monthly circular (月通报), quarterly review (季点评), annual assessment (年考核).

``build_report(session, config, kind, period_key, now=...)`` returns a ``Report``. Every figure comes from
SQL aggregates: one GROUP BY query per measure, each grouped by (cadre, month of the window). The window is
the period, the period before it and, for the trend chart, at least the last six months, so one set of
queries gives the report, the change against the previous period and the trend. A quarter or a year is
the *sum of its months' counts* (counts are additive), scored once from those sums — never an average of
rounded monthly scores.

Day boundaries are the configured time zone's: ``DiaryEntry.day``, ``MonthlySummary.month`` and
``submitted_day`` are local already; timestamps are compared with the UTC instants at which local days
start (``Period.utc_range``), so the SQL is the same on SQLite and PostgreSQL. The one thing the two
databases spell differently — seconds between two timestamps — is a small compiled construct below.

``now`` decides what is *due*: diary days owed run to yesterday (local); a card whose deadline is still
ahead and that has no feedback yet is *pending* (neither on time nor overdue); a request still inside its
time limit and unanswered is pending; a monthly summary is due once its month is over (or as soon as it is
sent). The formula and every choice are written down in docs/assessment.md.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Float, Integer, and_, case, column, distinct, func, or_, select, values
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from storage.ledger import ledger_completion
from storage.models import (
    Cadre,
    CadreLeave,
    DiaryEntry,
    Link,
    MonthlySummary,
    Task,
    TaskAssignment,
    Village,
    VillagerRequest,
)
from storage.periods import Period, last_day_of_month, local_day, month_key, parse_period, start_of_day
from storage.workdays import is_workday

KINDS = ("month", "quarter", "year")
COMPONENTS = ("diary", "summary", "tasks", "requests", "satisfaction", "ledger")
TREND_MONTHS = 6
SATISFIED = "满意"


# --------------------------------------------------------------------------------------------------
# Seconds between two timestamps, spelled per database (both stored as naive UTC)
# --------------------------------------------------------------------------------------------------


class seconds_between(FunctionElement[float]):  # noqa: N801 - reads like the SQL function it renders
    """Whole seconds from the first timestamp to the second (rounded, so both databases agree exactly)."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return (f"ROUND((julianday({compiler.process(end, **kw)}) - "
            f"julianday({compiler.process(start, **kw)})) * 86400.0)")


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"ROUND(EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)})))"


# --------------------------------------------------------------------------------------------------
# The report's shape
# --------------------------------------------------------------------------------------------------


@dataclass
class Counts:
    """Additive counts of one cadre (or a group) over one month; periods are sums of months."""

    diary_days: int = 0
    diary_entries: int = 0
    diary_credited: int = 0  # min(diary_days, owed) per month: writing more than owed does not carry over
    workdays: int = 0  # working days counted (up to yesterday, from the cadre's start)
    leave_days: int = 0  # of those, days on leave
    summaries_submitted: int = 0
    summaries_on_time: int = 0
    summary_months: int = 0  # months whose summary is due (over, or sent early)
    summary_months_due_submitted: int = 0
    summary_months_due_on_time: int = 0
    tasks_assigned: int = 0
    tasks_fed_back: int = 0
    tasks_on_time: int = 0
    tasks_overdue: int = 0
    tasks_returned: int = 0
    requests_received: int = 0
    requests_answered: int = 0
    requests_answered_in_sla: int = 0
    requests_late: int = 0
    answer_seconds: float = 0.0
    requests_rated: int = 0
    requests_satisfied: int = 0

    @property
    def owed(self) -> int:
        return self.workdays - self.leave_days

    def add(self, other: Counts) -> None:
        for name in _COUNT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


_COUNT_FIELDS = tuple(f.name for f in fields(Counts))


@dataclass
class ScorePart:
    """One component of a score: its ratio, and the points it earned out of the points it was worth."""

    key: str
    weight: float
    ratio: float | None  # None: nothing to judge (no card due, no request, ...) → excluded
    numerator: float
    denominator: float
    points: float
    max_points: float


@dataclass
class CadreRow:
    cadre_id: int
    name: str
    phone: str
    post: str | None
    village: str
    households: int
    diary_days: int
    diary_entries: int
    working_days_owed: int
    leave_days: int
    diary_coverage: float | None
    summary_submitted: bool
    summary_on_time: bool
    summaries_submitted: int
    summaries_on_time: int
    months_in_period: int
    tasks_assigned: int
    tasks_fed_back: int
    tasks_on_time: int
    tasks_overdue: int
    tasks_pending: int
    tasks_returned: int
    requests_received: int
    requests_answered: int
    requests_answered_in_sla: int
    requests_late: int
    requests_pending: int
    avg_first_answer_hours: float | None
    requests_rated: int
    requests_satisfied: int
    satisfaction: float | None
    ledger_completion: float | None
    score: float | None
    score_breakdown: list[ScorePart]
    rank: int | None
    previous_score: float | None = None
    score_delta: float | None = None
    previous_rank: int | None = None
    rank_delta: int | None = None  # positive: moved up
    below_minimum: list[str] = field(default_factory=list)


@dataclass
class GroupRow:
    """A village's (or the township's) figures: sums of its cadres' counts, and their average score."""

    name: str
    cadres: int
    households: int
    diary_days: int
    diary_entries: int
    working_days_owed: int
    diary_coverage: float | None
    summaries_submitted: int
    summaries_on_time: int
    tasks_assigned: int
    tasks_fed_back: int
    tasks_on_time: int
    tasks_overdue: int
    tasks_returned: int
    task_timeliness: float | None
    requests_received: int
    requests_answered: int
    requests_answered_in_sla: int
    requests_in_sla_share: float | None
    avg_first_answer_hours: float | None
    satisfaction: float | None
    avg_score: float | None
    below_minimum: int
    rank: int | None = None
    previous_avg_score: float | None = None
    score_delta: float | None = None
    previous_rank: int | None = None
    rank_delta: int | None = None


@dataclass
class RedCard:
    """An overdue assignment: no feedback by its deadline (it came later, or never)."""

    task_number: int
    title: str
    name: str
    phone: str
    village: str
    deadline: str  # local 'YYYY-MM-DD HH:MM'
    fed_back_at: str | None
    hours_late: float | None  # None: still no feedback


@dataclass
class TrendPoint:
    month: str
    avg_score: float | None
    diary_coverage: float | None
    task_timeliness: float | None
    requests_in_sla_share: float | None
    satisfaction: float | None


@dataclass
class Report:
    kind: str
    period: str
    first_day: str
    last_day: str
    as_of: str  # diary days owed are counted up to this day
    generated_at: str
    township: str
    previous_period: str
    weights: dict[str, float]
    sla_hours: int
    min_households: int
    min_diary_share: float
    cadres: list[CadreRow]
    villages: list[GroupRow]
    totals: GroupRow
    below_minimum: list[dict[str, Any]]
    red_list: list[RedCard]
    trend: list[TrendPoint]

    def to_dict(self) -> dict[str, Any]:
        """The JSON report: the fields fixed in PRODUCT.md first, then the extra sections."""
        def plain(obj: Any) -> Any:
            if isinstance(obj, list):
                return [plain(x) for x in obj]
            if hasattr(obj, "__dataclass_fields__"):
                return {f.name: plain(getattr(obj, f.name)) for f in fields(obj)}
            return obj

        out: dict[str, Any] = {"kind": self.kind, "period": self.period, "cadres": plain(self.cadres),
                               "villages": plain(self.villages), "totals": plain(self.totals)}
        for f in fields(self):
            if f.name not in out:
                out[f.name] = plain(getattr(self, f.name))
        return out


# --------------------------------------------------------------------------------------------------
# Scoring (pure; the tests check it by hand)
# --------------------------------------------------------------------------------------------------


def _ratio(num: float, den: float) -> float | None:
    return None if den <= 0 else num / den


def weights_from(config: Any) -> dict[str, float]:
    section = config["score"]
    return {k: float(section[k]) for k in COMPONENTS}


def score_counts(c: Counts, ledger_share: float | None, weights: dict[str, float], *,
                 breakdown: bool = True) -> tuple[float | None, list[ScorePart]]:
    """Score out of 100 and its breakdown. A component with nothing to judge is left out and the remaining
    weights are re-normalised, so a cadre is neither rewarded nor punished for, say, receiving no request."""
    summary_num = c.summary_months_due_on_time + 0.5 * (c.summary_months_due_submitted - c.summary_months_due_on_time)
    raw = (
        ("diary", c.diary_credited, c.owed),
        ("summary", summary_num, c.summary_months),
        ("tasks", c.tasks_on_time, c.tasks_on_time + c.tasks_overdue),
        ("requests", c.requests_answered_in_sla, c.requests_answered_in_sla + c.requests_late),
        ("satisfaction", c.requests_satisfied, c.requests_rated),
        ("ledger", ledger_share or 0.0, 0 if ledger_share is None else 1),
    )
    total_weight = 0.0
    for key, _num, den in raw:
        w = weights.get(key, 0.0)
        if w > 0 and den > 0:
            total_weight += w
    parts: list[ScorePart] = []
    score = 0.0
    for key, num, den in raw:
        w = weights.get(key, 0.0)
        r = num / den if den > 0 else None
        if w > 0 and r is not None:
            max_points = 100.0 * w / total_weight
            points = max_points * r
            score += points
        else:
            max_points = points = 0.0
        if breakdown:
            parts.append(ScorePart(key=key, weight=w, ratio=None if r is None else round(r, 4),
                                   numerator=num, denominator=den, points=round(points, 2),
                                   max_points=round(max_points, 2)))
    if total_weight == 0:
        return None, parts
    return round(score, 2), parts


def competition_ranks(scores: Sequence[float | None]) -> list[int | None]:
    """Competition ranking (1, 2, 2, 4) on scores rounded to 2 decimals; higher is better; None unranked."""
    keyed = sorted(((round(s, 2), i) for i, s in enumerate(scores) if s is not None), key=lambda t: -t[0])
    ranks: list[int | None] = [None] * len(scores)
    prev: float | None = None
    rank = 0
    for pos, (value, i) in enumerate(keyed, start=1):
        if value != prev:
            rank, prev = pos, value
        ranks[i] = rank
    return ranks


# --------------------------------------------------------------------------------------------------
# The window of months and the SQL
# --------------------------------------------------------------------------------------------------


def _workdays(first: date, last: date, config: Any) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)
            if is_workday(first + timedelta(days=i), config)]


def _month_periods(last: date, count: int) -> list[Period]:
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
class _Window:
    months: list[Period]
    tz: Any
    now: datetime
    today: date
    as_of: date

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
    return (select(func.min(DiaryEntry.day)).where(DiaryEntry.cadre_id == cadre_id, DiaryEntry.deleted_at.is_(None))
            .scalar_subquery())


def _start_day(created_at: datetime, first_diary_day: Any, tz: Any) -> date:
    """A cadre owes diary days from the day they were created (imported) — or from their first diary day, if
    that is earlier (entries kept from before the import: the cadre was evidently in the programme)."""
    start = local_day(created_at, tz)
    if first_diary_day is None:
        return start
    if isinstance(first_diary_day, str):  # SQLite's MIN() over a DATE may come back as text
        first_diary_day = date.fromisoformat(first_diary_day[:10])
    return min(start, first_diary_day)


def _cadres(session: Session, period_bounds: tuple[datetime, datetime], period: Period) -> list[Any]:
    """Active cadres, and inactive ones with anything in the period (their work still counts)."""
    start, end = period_bounds
    active_in_period = or_(
        Cadre.active.is_(True),
        Cadre.id.in_(select(DiaryEntry.cadre_id).where(DiaryEntry.day >= period.first, DiaryEntry.day <= period.last)),
        Cadre.id.in_(select(TaskAssignment.cadre_id).where(TaskAssignment.deadline >= start, TaskAssignment.deadline < end)),
        Cadre.id.in_(select(VillagerRequest.cadre_id).where(VillagerRequest.created_at >= start, VillagerRequest.created_at < end)),
    )
    q = (select(Cadre.id, Cadre.name, Cadre.phone, Cadre.post, Cadre.created_at, Village.name.label("village"),
                _first_diary_day(Cadre.id).label("first_diary_day"))
         .outerjoin(Village, Village.id == Cadre.village_id).where(active_in_period))
    return list(session.execute(q))


def _diary(session: Session, w: _Window) -> dict[tuple[int, int], tuple[int, int]]:
    b = w.day_bounds()
    sub = (select(DiaryEntry.cadre_id.label("cadre_id"), _bucket(DiaryEntry.day, b).label("m"), DiaryEntry.day.label("day"))
           .where(DiaryEntry.day >= b[0], DiaryEntry.day < b[-1], DiaryEntry.deleted_at.is_(None))
           .subquery())
    q = (select(sub.c.cadre_id, sub.c.m, func.count(distinct(sub.c.day)), func.count())
         .group_by(sub.c.cadre_id, sub.c.m))
    return {(cid, m): (days, entries) for cid, m, days, entries in session.execute(q)}


def _leave(session: Session, w: _Window, owed_days: list[tuple[date, int]]) -> dict[tuple[int, int], int]:
    """Working days on leave per (cadre, month), counting only days the cadre already had to write."""
    if not owed_days:
        return {}
    wd = values(column("d", Date), column("m", Integer), column("ends", Cadre.created_at.type),
                name="owed_days").data([(d, m, start_of_day(d + timedelta(days=1), w.tz)) for d, m in owed_days]).cte()
    q = (select(CadreLeave.cadre_id, wd.c.m, func.count(distinct(wd.c.d)))
         .join(wd, and_(wd.c.d >= CadreLeave.start_date, wd.c.d <= CadreLeave.end_date))
         .join(Cadre, Cadre.id == CadreLeave.cadre_id)
         .where(or_(Cadre.created_at < wd.c.ends, wd.c.d >= _first_diary_day(CadreLeave.cadre_id)))
         .group_by(CadreLeave.cadre_id, wd.c.m))
    return {(cid, m): n for cid, m, n in session.execute(q)}


def _summaries(session: Session, w: _Window) -> dict[tuple[int, int], tuple[int, int]]:
    keys = [m.key for m in w.months]
    m_index = case(*[(MonthlySummary.month == k, i) for i, k in enumerate(keys)], else_=-1)
    sub = (select(MonthlySummary.cadre_id.label("cadre_id"), m_index.label("m"),
                  case((MonthlySummary.on_time.is_(True), 1), else_=0).label("on_time"))
           .where(MonthlySummary.month.in_(keys)).subquery())
    q = select(sub.c.cadre_id, sub.c.m, func.count(), func.sum(sub.c.on_time)).group_by(sub.c.cadre_id, sub.c.m)
    return {(cid, m): (n, int(on_time or 0)) for cid, m, n, on_time in session.execute(q)}


def _tasks(session: Session, w: _Window) -> dict[tuple[int, int], tuple[int, ...]]:
    b = w.utc_bounds()
    a = TaskAssignment
    on_time = and_(a.first_feedback_at.is_not(None), a.first_feedback_at <= a.deadline)
    overdue = and_(or_(a.first_feedback_at.is_(None), a.first_feedback_at > a.deadline), a.deadline <= w.now)
    sub = (select(a.cadre_id.label("cadre_id"), _bucket(a.deadline, b).label("m"),
                  case((a.first_feedback_at.is_not(None), 1), else_=0).label("fed"),
                  case((on_time, 1), else_=0).label("on_time"),
                  case((overdue, 1), else_=0).label("overdue"),
                  case((a.returned_count > 0, 1), else_=0).label("returned"))
           .join(Task, Task.id == a.task_id)
           .where(a.deadline >= b[0], a.deadline < b[-1], Task.cancelled_at.is_(None), Task.published_at.is_not(None))
           .subquery())
    q = (select(sub.c.cadre_id, sub.c.m, func.count(), func.sum(sub.c.fed), func.sum(sub.c.on_time),
                func.sum(sub.c.overdue), func.sum(sub.c.returned))
         .group_by(sub.c.cadre_id, sub.c.m))
    return {(row[0], row[1]): tuple(int(x or 0) for x in row[2:]) for row in session.execute(q)}


def _requests(session: Session, w: _Window, sla_hours: int) -> dict[tuple[int, int], tuple[Any, ...]]:
    b = w.utc_bounds()
    r = VillagerRequest
    limit = sla_hours * 3600
    secs = seconds_between(r.created_at, r.first_answer_at)
    answered = r.first_answer_at.is_not(None)
    in_sla = and_(answered, secs <= limit)
    late = or_(and_(answered, secs > limit), and_(r.first_answer_at.is_(None), r.created_at <= w.now - timedelta(hours=sla_hours)))
    sub = (select(r.cadre_id.label("cadre_id"), _bucket(r.created_at, b).label("m"),
                  case((answered, 1), else_=0).label("answered"),
                  case((in_sla, 1), else_=0).label("in_sla"),
                  case((late, 1), else_=0).label("late"),
                  case((answered, secs), else_=0).label("secs"),
                  case((r.satisfaction.is_not(None), 1), else_=0).label("rated"),
                  case((r.satisfaction == SATISFIED, 1), else_=0).label("satisfied"))
           .where(r.created_at >= b[0], r.created_at < b[-1])
           .subquery())
    q = (select(sub.c.cadre_id, sub.c.m, func.count(), func.sum(sub.c.answered), func.sum(sub.c.in_sla),
                func.sum(sub.c.late), func.sum(sub.c.secs), func.sum(sub.c.rated), func.sum(sub.c.satisfied))
         .group_by(sub.c.cadre_id, sub.c.m))
    out: dict[tuple[int, int], tuple[Any, ...]] = {}
    for cid, m, received, ans, sla, lt, s, rated, sat in session.execute(q):
        out[(cid, m)] = (received, int(ans or 0), int(sla or 0), int(lt or 0), float(s or 0), int(rated or 0), int(sat or 0))
    return out


def _households(session: Session) -> dict[int, int]:
    """Current links per cadre."""
    return {cid: n for cid, n in session.execute(select(Link.cadre_id, func.count()).group_by(Link.cadre_id))}


def _red_list(session: Session, period: Period, tz: Any, now: datetime) -> list[RedCard]:
    start, end = period.utc_range(tz)
    a = TaskAssignment
    q = (select(Task.number, Task.title, Cadre.name, Cadre.phone, Village.name, a.deadline, a.first_feedback_at)
         .join(Task, Task.id == a.task_id).join(Cadre, Cadre.id == a.cadre_id)
         .outerjoin(Village, Village.id == Cadre.village_id)
         .where(a.deadline >= start, a.deadline < end, a.deadline <= now,
                Task.cancelled_at.is_(None), Task.published_at.is_not(None),
                or_(a.first_feedback_at.is_(None), a.first_feedback_at > a.deadline)))
    rows = sorted(session.execute(q), key=lambda r: (r[5], r[0], r[3]))
    out = []
    for number, title, name, phone, village, deadline, fed in rows:
        out.append(RedCard(
            task_number=number, title=title, name=name, phone=phone, village=village or "",
            deadline=deadline.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            fed_back_at=fed.astimezone(tz).strftime("%Y-%m-%d %H:%M") if fed else None,
            hours_late=round((fed - deadline).total_seconds() / 3600, 1) if fed else None))
    return out


# --------------------------------------------------------------------------------------------------
# Putting it together
# --------------------------------------------------------------------------------------------------


def _group(name: str, rows: Iterable[tuple[CadreRow, Counts]], weights: dict[str, float]) -> GroupRow:
    total = Counts()
    households = cadres = below = 0
    scores: list[float] = []
    for row, counts in rows:
        cadres += 1
        households += row.households
        total.add(counts)
        below += bool(row.below_minimum)
        if row.score is not None:
            scores.append(row.score)
    avg = round(math.fsum(scores) / len(scores), 2) if scores else None
    return GroupRow(
        name=name, cadres=cadres, households=households, diary_days=total.diary_days,
        diary_entries=total.diary_entries, working_days_owed=total.owed,
        diary_coverage=_r4(_ratio(total.diary_credited, total.owed)),
        summaries_submitted=total.summaries_submitted, summaries_on_time=total.summaries_on_time,
        tasks_assigned=total.tasks_assigned, tasks_fed_back=total.tasks_fed_back,
        tasks_on_time=total.tasks_on_time, tasks_overdue=total.tasks_overdue, tasks_returned=total.tasks_returned,
        task_timeliness=_r4(_ratio(total.tasks_on_time, total.tasks_on_time + total.tasks_overdue)),
        requests_received=total.requests_received, requests_answered=total.requests_answered,
        requests_answered_in_sla=total.requests_answered_in_sla,
        requests_in_sla_share=_r4(_ratio(total.requests_answered_in_sla,
                                         total.requests_answered_in_sla + total.requests_late)),
        avg_first_answer_hours=_hours(total), satisfaction=_r4(_ratio(total.requests_satisfied, total.requests_rated)),
        avg_score=avg, below_minimum=below)


def _township_month(months: list[Counts]) -> Counts:
    """The few sums the trend needs (summing only these keeps a county's trend cheap)."""
    tc = Counts()
    tc.diary_credited = sum(c.diary_credited for c in months)
    tc.workdays = sum(c.workdays for c in months)
    tc.leave_days = sum(c.leave_days for c in months)
    tc.tasks_on_time = sum(c.tasks_on_time for c in months)
    tc.tasks_overdue = sum(c.tasks_overdue for c in months)
    tc.requests_answered_in_sla = sum(c.requests_answered_in_sla for c in months)
    tc.requests_late = sum(c.requests_late for c in months)
    tc.requests_satisfied = sum(c.requests_satisfied for c in months)
    tc.requests_rated = sum(c.requests_rated for c in months)
    return tc


def _r4(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _hours(c: Counts) -> float | None:
    return None if not c.requests_answered else round(c.answer_seconds / c.requests_answered / 3600, 2)


def _window_for(period: Period, tz: Any, now: datetime) -> tuple[_Window, list[int], list[int], list[int]]:
    k = len(period.months())
    n = max(TREND_MONTHS, 2 * k)
    months = _month_periods(period.last, n)
    today = local_day(now, tz)
    w = _Window(months=months, tz=tz, now=now, today=today, as_of=today - timedelta(days=1))
    current = list(range(n - k, n))
    previous = list(range(n - 2 * k, n - k))
    trend = list(range(n - max(TREND_MONTHS, k), n))
    return w, current, previous, trend


def build_report(session: Session, config: Any, kind: str, period_key: str, *, now: datetime) -> Report:
    """The report of one period ('2026-11', '2026Q4', '2026') as of ``now`` (aware)."""
    if kind not in KINDS:
        raise ValueError(f"报表类型应为 month、quarter 或 year（收到 {kind!r}）")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    period = parse_period(kind, period_key)
    tz = config.tz
    weights = weights_from(config)
    sla_hours = int(config["sla"]["first_answer_hours"])
    min_households = int(config["score"].get("min_households", 30))
    min_share = float(config["score"]["min_diary_share"])
    w, current, previous, trend_idx = _window_for(period, tz, now)

    # Working days per month, up to yesterday: the calendar is Python's (chinesecalendar + overrides);
    # the cadres' leave against it is SQL.
    month_workdays: list[list[date]] = []
    for m in w.months:
        last = min(m.last, w.as_of)
        month_workdays.append(_workdays(m.first, last, config) if last >= m.first else [])
    owed_days = [(d, i) for i, days in enumerate(month_workdays) for d in days]

    cadre_rows = _cadres(session, period.utc_range(tz), period)
    diary = _diary(session, w)
    leave = _leave(session, w, owed_days)
    summaries = _summaries(session, w)
    tasks = _tasks(session, w)
    requests = _requests(session, w, sla_hours)
    households = _households(session)
    # the 五个一 ledger's own definition (information form complete, card handed out, policy explained,
    # commitment signed), as it stands now
    ledger = ledger_completion(session, [row[0] for row in cadre_rows])
    red_list = _red_list(session, period, tz, now)

    def month_counts(cid: int, start_day: date, i: int) -> Counts:
        c = Counts()
        days = month_workdays[i]
        c.workdays = len(days) - bisect.bisect_left(days, start_day)
        c.leave_days = leave.get((cid, i), 0)
        c.diary_days, c.diary_entries = diary.get((cid, i), (0, 0))
        c.diary_credited = min(c.diary_days, c.owed)
        c.summaries_submitted, c.summaries_on_time = summaries.get((cid, i), (0, 0))
        month = w.months[i]
        due = (month.last < w.today and month.last >= start_day) or c.summaries_submitted > 0
        if due:
            c.summary_months = 1
            c.summary_months_due_submitted = c.summaries_submitted
            c.summary_months_due_on_time = c.summaries_on_time
        t = tasks.get((cid, i))
        if t:
            c.tasks_assigned, c.tasks_fed_back, c.tasks_on_time, c.tasks_overdue, c.tasks_returned = t
        r = requests.get((cid, i))
        if r:
            (c.requests_received, c.requests_answered, c.requests_answered_in_sla, c.requests_late,
             c.answer_seconds, c.requests_rated, c.requests_satisfied) = r
        return c

    def over(per_month: list[Counts], idx: list[int]) -> Counts:
        if len(idx) == 1:
            return per_month[idx[0]]  # never mutated afterwards
        total = Counts()
        for i in idx:
            total.add(per_month[i])
        return total

    rows: list[CadreRow] = []
    counts_now: list[Counts] = []
    prev_scores: list[float | None] = []
    trend_scores: list[list[float | None]] = [[] for _ in trend_idx]
    trend_counts: list[list[Counts]] = [[] for _ in trend_idx]
    months_in_period = len(current)
    for cid, name, phone, post, created_at, village, first_diary_day in cadre_rows:
        start_day = _start_day(created_at, first_diary_day, tz)
        per_month = [month_counts(cid, start_day, i) for i in range(len(w.months))]
        hh = households.get(cid, 0)
        ledger_share = ledger.get(cid) if hh else None
        c = over(per_month, current)
        score, parts = score_counts(c, ledger_share, weights)
        p_score, _ = score_counts(over(per_month, previous), ledger_share, weights, breakdown=False)
        prev_scores.append(p_score)
        for j, i in enumerate(trend_idx):
            trend_scores[j].append(score_counts(per_month[i], ledger_share, weights, breakdown=False)[0])
            trend_counts[j].append(per_month[i])
        coverage = _r4(_ratio(c.diary_credited, c.owed))
        below = []
        if hh < min_households:
            below.append("households")
        if coverage is not None and coverage < min_share:
            below.append("diary")
        rows.append(CadreRow(
            cadre_id=cid, name=name, phone=phone, post=post, village=village or "",
            households=hh, diary_days=c.diary_days, diary_entries=c.diary_entries,
            working_days_owed=c.owed, leave_days=c.leave_days, diary_coverage=coverage,
            summary_submitted=c.summaries_submitted >= months_in_period,
            summary_on_time=c.summaries_on_time >= months_in_period,
            summaries_submitted=c.summaries_submitted, summaries_on_time=c.summaries_on_time,
            months_in_period=months_in_period,
            tasks_assigned=c.tasks_assigned, tasks_fed_back=c.tasks_fed_back, tasks_on_time=c.tasks_on_time,
            tasks_overdue=c.tasks_overdue, tasks_pending=c.tasks_assigned - c.tasks_on_time - c.tasks_overdue,
            tasks_returned=c.tasks_returned,
            requests_received=c.requests_received, requests_answered=c.requests_answered,
            requests_answered_in_sla=c.requests_answered_in_sla, requests_late=c.requests_late,
            requests_pending=c.requests_received - c.requests_answered_in_sla - c.requests_late,
            avg_first_answer_hours=_hours(c), requests_rated=c.requests_rated,
            requests_satisfied=c.requests_satisfied,
            satisfaction=_r4(_ratio(c.requests_satisfied, c.requests_rated)),
            ledger_completion=_r4(ledger_share),
            score=score, score_breakdown=parts, rank=None, below_minimum=below))
        counts_now.append(c)

    ranks = competition_ranks([r.score for r in rows])
    prev_ranks = competition_ranks(prev_scores)
    for row, rank, p_score, p_rank in zip(rows, ranks, prev_scores, prev_ranks, strict=True):
        row.rank = rank
        row.previous_score, row.previous_rank = p_score, p_rank
        if row.score is not None and p_score is not None:
            row.score_delta = round(row.score - p_score, 2)
        if rank is not None and p_rank is not None:
            row.rank_delta = p_rank - rank

    # Villages: sums of their cadres' counts; ranked by the average score of their cadres.
    by_village: dict[str, list[tuple[CadreRow, Counts]]] = {}
    prev_by_village: dict[str, list[float]] = {}
    for row, c, p_score in zip(rows, counts_now, prev_scores, strict=True):
        by_village.setdefault(row.village, []).append((row, c))
        if p_score is not None:
            prev_by_village.setdefault(row.village, []).append(p_score)
    villages = [_group(name, members, weights) for name, members in sorted(by_village.items())]
    v_ranks = competition_ranks([v.avg_score for v in villages])
    prev_avgs = [round(math.fsum(prev_by_village[v.name]) / len(prev_by_village[v.name]), 2)
                 if prev_by_village.get(v.name) else None for v in villages]
    pv_ranks = competition_ranks(prev_avgs)
    for v, rank, p_avg, p_rank in zip(villages, v_ranks, prev_avgs, pv_ranks, strict=True):
        v.rank, v.previous_avg_score, v.previous_rank = rank, p_avg, p_rank
        if v.avg_score is not None and p_avg is not None:
            v.score_delta = round(v.avg_score - p_avg, 2)
        if rank is not None and p_rank is not None:
            v.rank_delta = p_rank - rank
    villages.sort(key=lambda v: (v.rank is None, v.rank or 0, v.name))

    township = str(config["general"]["township"])
    totals = _group(township, zip(rows, counts_now, strict=True), weights)
    p_all = [s for s in prev_scores if s is not None]
    totals.previous_avg_score = round(math.fsum(p_all) / len(p_all), 2) if p_all else None
    if totals.avg_score is not None and totals.previous_avg_score is not None:
        totals.score_delta = round(totals.avg_score - totals.previous_avg_score, 2)

    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.village, r.name, r.phone))
    below_minimum = [
        {"name": r.name, "phone": r.phone, "village": r.village, "households": r.households,
         "diary_coverage": r.diary_coverage, "reasons": r.below_minimum}
        for r in sorted(rows, key=lambda r: (r.village, r.name, r.phone)) if r.below_minimum
    ]

    trend = []
    for j, i in enumerate(trend_idx):
        scored = [s for s in trend_scores[j] if s is not None]
        tc = _township_month(trend_counts[j])
        trend.append(TrendPoint(
            month=w.months[i].key,
            avg_score=round(math.fsum(scored) / len(scored), 2) if scored else None,
            diary_coverage=_r4(_ratio(tc.diary_credited, tc.owed)),
            task_timeliness=_r4(_ratio(tc.tasks_on_time, tc.tasks_on_time + tc.tasks_overdue)),
            requests_in_sla_share=_r4(_ratio(tc.requests_answered_in_sla, tc.requests_answered_in_sla + tc.requests_late)),
            satisfaction=_r4(_ratio(tc.requests_satisfied, tc.requests_rated))))

    return Report(
        kind=kind, period=period.key, first_day=period.first.isoformat(), last_day=period.last.isoformat(),
        as_of=min(period.last, w.as_of).isoformat(),
        generated_at=now.astimezone(tz).strftime("%Y-%m-%d %H:%M"), township=township,
        previous_period=period.previous().key, weights=weights, sla_hours=sla_hours,
        min_households=min_households, min_diary_share=min_share,
        cadres=rows, villages=villages, totals=totals, below_minimum=below_minimum, red_list=red_list,
        trend=trend)


def last_month_key(today: date) -> str:
    """The month before ``today``'s, as the monthly_circular job reports it."""
    first = today.replace(day=1) - timedelta(days=1)
    return month_key(last_day_of_month(first.year, first.month))
