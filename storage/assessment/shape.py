"""The report's shape: the additive counts of one cadre-month, and the rows, groups and trend a report holds."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from storage.assessment.departments import DepartmentRow

KINDS = ("month", "quarter", "year")


@dataclass(slots=True)
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
        """Every field added, spelled out: a county's year report adds 80,000 cadre-months, and a loop over the
        fields with getattr/setattr was a third of its Python time (tests/test_assessment.py checks that no
        field is left out)."""
        self.diary_days += other.diary_days
        self.diary_entries += other.diary_entries
        self.diary_credited += other.diary_credited
        self.workdays += other.workdays
        self.leave_days += other.leave_days
        self.summaries_submitted += other.summaries_submitted
        self.summaries_on_time += other.summaries_on_time
        self.summary_months += other.summary_months
        self.summary_months_due_submitted += other.summary_months_due_submitted
        self.summary_months_due_on_time += other.summary_months_due_on_time
        self.tasks_assigned += other.tasks_assigned
        self.tasks_fed_back += other.tasks_fed_back
        self.tasks_on_time += other.tasks_on_time
        self.tasks_overdue += other.tasks_overdue
        self.tasks_returned += other.tasks_returned
        self.requests_received += other.requests_received
        self.requests_answered += other.requests_answered
        self.requests_answered_in_sla += other.requests_answered_in_sla
        self.requests_late += other.requests_late
        self.answer_seconds += other.answer_seconds
        self.requests_rated += other.requests_rated
        self.requests_satisfied += other.requests_satisfied


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
    comment: str | None = None  # quarter: the office's 点评 (storage/remarks.py)
    commended: bool = False  # year: commended (表彰) by the office
    commendation: str | None = None  # year: the reason
    township: str = ""
    # 矛盾调解员 (storage/disputes.py): disputes mediated in the period (a step or an outcome dated in it), and of
    # them those that ended 调解成功 in it; not scored
    disputes_mediated: int = 0
    disputes_resolved: int = 0
    tied: bool = False  # another cadre has the same rank (并列)
    diary_days_credited: int = 0  # diary days that count: never more than the days owed
    summaries_owed: int = 0  # monthly summaries due in the period from the cadre's start
    # why a cadre has no score and rank: "joined_later" (started after the days counted), "on_leave" (on leave
    # every working day), "nothing_due" (no diary day owed, no card or request due yet); None when ranked
    unranked_reason: str | None = None


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
    comment: str | None = None  # quarter: the office's 点评 (storage/remarks.py)


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
    # a report over several townships (the county's): each township's figures, ranked by average score
    townships: list[GroupRow] = field(default_factory=list)
    # 民情分析 of a month (storage/insights.py Insights), attached by the console's and the CLI's callers (the words
    # need handlers/policy.py's jieba): the xlsx gains its sheet 民情热点; not part of the JSON report
    insights: Any = None
    # the township's departments (转办, storage/assessment/departments.py): what was passed to each and its fate
    departments: list[DepartmentRow] = field(default_factory=list)
    # early in a period the ranking means little: provisional while fewer than ``provisional_workdays`` of its
    # working days have passed (config [score] provisional_workdays)
    provisional: bool = False
    workdays_elapsed: int = 0  # the period's working days up to ``as_of``
    provisional_workdays: int = 0
    days_counted: int = (
        0  # the period's days up to ``as_of`` (0: none has passed yet, ``as_of`` is the first day)
    )

    def to_dict(self) -> dict[str, Any]:
        """The JSON report: the fields fixed in PRODUCT.md first, then the extra sections."""

        def plain(obj: Any) -> Any:
            if isinstance(obj, list):
                return [plain(x) for x in obj]
            if hasattr(obj, "__dataclass_fields__"):
                return {f.name: plain(getattr(obj, f.name)) for f in fields(obj)}
            return obj

        out: dict[str, Any] = {
            "kind": self.kind,
            "period": self.period,
            "cadres": plain(self.cadres),
            "villages": plain(self.villages),
            "totals": plain(self.totals),
        }
        for f in fields(self):
            if f.name not in out and f.name != "insights":
                out[f.name] = plain(getattr(self, f.name))
        # The office's remarks belong to one kind of report each: 点评 to the quarter, 表彰 to the year.
        drop = {
            "month": REMARK_FIELDS,
            "quarter": REMARK_FIELDS - {"comment"},
            "year": REMARK_FIELDS - {"commended", "commendation"},
        }[self.kind]
        for row in [*out["cadres"], *out["villages"], out["totals"]]:
            for key in drop:
                row.pop(key, None)
        if self.kind == "quarter":
            out["totals"].pop("comment", None)
        return out


REMARK_FIELDS = frozenset({"comment", "commended", "commendation"})
