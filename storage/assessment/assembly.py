"""Putting the report together: per cadre-month counts from the queries (cadre_months.py), summed over the
period, scored, ranked, grouped by village and the township, and the trend."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from storage import disputes, remarks
from storage.assessment import queries
from storage.assessment.cadre_months import CadreMonths, read_cadre_months, sum_months
from storage.assessment.departments import department_rows
from storage.assessment.scoring import competition_ranks, ratio, score_counts, tied, weights_from
from storage.assessment.shape import KINDS, CadreRow, Counts, GroupRow, Report, TrendPoint
from storage.config import Config
from storage.ledger import ledger_completion
from storage.periods import Period, last_day_of_month, local_day, month_key, parse_period

TREND_MONTHS = 6


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
        name=name,
        cadres=cadres,
        households=households,
        diary_days=total.diary_days,
        diary_entries=total.diary_entries,
        working_days_owed=total.owed,
        diary_coverage=_r4(ratio(total.diary_credited, total.owed)),
        summaries_submitted=total.summaries_submitted,
        summaries_on_time=total.summaries_on_time,
        tasks_assigned=total.tasks_assigned,
        tasks_fed_back=total.tasks_fed_back,
        tasks_on_time=total.tasks_on_time,
        tasks_overdue=total.tasks_overdue,
        tasks_returned=total.tasks_returned,
        task_timeliness=_r4(ratio(total.tasks_on_time, total.tasks_on_time + total.tasks_overdue)),
        requests_received=total.requests_received,
        requests_answered=total.requests_answered,
        requests_answered_in_sla=total.requests_answered_in_sla,
        requests_in_sla_share=_r4(
            ratio(total.requests_answered_in_sla, total.requests_answered_in_sla + total.requests_late)
        ),
        avg_first_answer_hours=_hours(total),
        satisfaction=_r4(ratio(total.requests_satisfied, total.requests_rated)),
        avg_score=avg,
        below_minimum=below,
    )


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


def _window_for(
    period: Period, tz: Any, now: datetime
) -> tuple[queries.Window, list[int], list[int], list[int]]:
    k = len(period.months())
    n = max(TREND_MONTHS, 2 * k)
    months = queries.month_periods(period.last, n)
    today = local_day(now, tz)
    w = queries.Window(months=months, tz=tz, now=now, today=today, as_of=today - timedelta(days=1))
    current = list(range(n - k, n))
    previous = list(range(n - 2 * k, n - k))
    trend = list(range(n - max(TREND_MONTHS, k), n))
    return w, current, previous, trend


def build_report(
    session: Session,
    config: Config,
    kind: str,
    period_key: str,
    *,
    now: datetime,
    township: tuple[int, str] | None = None,
) -> Report:
    """The report of one period ('2026-11', '2026Q4', '2026') as of ``now`` (aware).

    ``township``: (id, name) of the one township reported on; None: every cadre of the deployment (a county's
    report then groups villages per township and fills ``townships``)."""
    if kind not in KINDS:
        raise ValueError(f"报表类型应为 month、quarter 或 year（收到 {kind!r}）")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    period = parse_period(kind, period_key)
    tz = config.tz
    rules = _Rules.of(config)
    w, current, previous, trend_idx = _window_for(period, tz, now)
    w.township_id = township[0] if township else None
    if township:
        w.cadre_ids = queries.township_cadres(session, township[0])

    cadre_rows = queries.cadres_in_period(session, period.utc_range(tz), period, w.township_id)
    months = read_cadre_months(session, w, config, rules.sla_hours)
    households = queries.household_counts(session, w, period.utc_range(tz), period.first)
    # the 五个一 ledger's own definition (information form complete, card handed out, policy explained,
    # commitment signed), as it stands now
    ledger = ledger_completion(session, [row[0] for row in cadre_rows])
    red_list = queries.red_list(session, period, tz, now, w.township_id)

    scored = _Scored(trend_scores=[[] for _ in trend_idx], trend_counts=[[] for _ in trend_idx])
    for cadre in cadre_rows:
        _score_cadre(scored, cadre, months, households, ledger, rules, (current, previous, trend_idx))
    _rank_cadres(scored)
    _count_disputes(session, scored.rows, period)
    villages, townships = _villages_and_townships(scored, rules.weights, cadre_rows, county=township is None)
    title = township[1] if township else str(config.general.township)
    totals = _totals(title, scored, rules.weights)
    rows = sorted(scored.rows, key=lambda r: (r.rank is None, r.rank or 0, r.village, r.name, r.phone))
    progress = _progress(period, w.as_of, [months.workdays[i] for i in current])
    report = Report(
        kind=kind,
        period=period.key,
        first_day=period.first.isoformat(),
        last_day=period.last.isoformat(),
        as_of=progress.as_of.isoformat(),
        generated_at=now.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        township=title,
        previous_period=period.previous().key,
        weights=rules.weights,
        sla_hours=rules.sla_hours,
        min_households=rules.min_households,
        min_diary_share=rules.min_share,
        cadres=rows,
        villages=villages,
        totals=totals,
        below_minimum=_below_minimum(rows),
        red_list=red_list,
        trend=_trend(w, trend_idx, scored),
        townships=townships,
        departments=department_rows(session, period.utc_range(tz), w.township_id),
        provisional=progress.workdays < rules.provisional_workdays,
        workdays_elapsed=progress.workdays,
        provisional_workdays=rules.provisional_workdays,
        days_counted=progress.days,
    )
    remarks.attach(session, report)  # the office's 点评 (quarter) and 表彰 (year), printed with the report
    return report


def _count_disputes(session: Session, rows: list[CadreRow], period: Period) -> None:
    """Each cadre's 矛盾调解员 work in the period (storage/disputes.py), on their row; not part of the score."""
    counts = disputes.mediated_counts(
        session, first=period.first, last=period.last, cadre_ids=[r.cadre_id for r in rows]
    )
    for row in rows:
        found = counts.get(row.cadre_id)
        if found is not None:
            row.disputes_mediated, row.disputes_resolved = found.mediated, found.resolved


@dataclass(frozen=True)
class _Progress:
    """How far a period has got: the last day counted (never before its first day), its days and working days
    counted (both 0 on its first day: nothing of it has passed yet)."""

    as_of: date
    days: int
    workdays: int


def _progress(period: Period, yesterday: date, workdays: list[list[date]]) -> _Progress:
    last = min(period.last, yesterday)
    return _Progress(
        as_of=max(period.first, last),
        days=max(0, (last - period.first).days + 1),
        workdays=sum(len(days) for days in workdays),
    )


@dataclass(frozen=True)
class _Rules:
    """The configured rules a report applies (config [score] and [sla]), read once."""

    weights: dict[str, float]
    sla_hours: int
    min_households: int
    min_share: float
    provisional_workdays: int

    @classmethod
    def of(cls, config: Config) -> _Rules:
        """The rules as configured (the minimum of households defaults to the programme's 30)."""
        return cls(
            weights=weights_from(config),
            sla_hours=int(config.sla.first_answer_hours),
            min_households=int(config.score.min_households),
            min_share=float(config.score.min_diary_share),
            provisional_workdays=int(config.score.provisional_workdays),
        )


@dataclass
class _Scored:
    """Every cadre's report row, in the order of the query, with what the ranks, the groups, the totals and the
    trend are made from (one entry per row in each list)."""

    rows: list[CadreRow] = field(default_factory=list)
    counts: list[Counts] = field(default_factory=list)  # over the period
    previous_scores: list[float | None] = field(default_factory=list)  # the period before
    trend_scores: list[list[float | None]] = field(default_factory=list)  # per trend month, per row
    trend_counts: list[list[Counts]] = field(default_factory=list)  # per trend month, per row


def _score_cadre(
    scored: _Scored,
    cadre: Any,
    months: CadreMonths,
    households: dict[int, int],
    ledger: dict[int, float],
    rules: _Rules,
    spans: tuple[list[int], list[int], list[int]],
) -> None:
    """One cadre's row: their months summed over the period and scored, the period before scored the same way for
    the change, and each trend month scored on its own. ``spans``: the month indexes of the period, the period
    before, and the trend."""
    cid, name, phone, post, created_at, village, first_diary_day, township_name, retired_on = cadre
    current, previous, trend_idx = spans
    start_day = queries.start_day(created_at, first_diary_day, months.window.tz)
    per_month = [months.counts(cid, start_day, i, retired_on) for i in range(len(months.window.months))]
    hh = households.get(cid, 0)
    ledger_share = ledger.get(cid) if hh else None
    c = sum_months(per_month, current)
    score, parts = score_counts(c, ledger_share, rules.weights)
    p_score, _ = score_counts(sum_months(per_month, previous), ledger_share, rules.weights, breakdown=False)
    scored.previous_scores.append(p_score)
    for j, i in enumerate(trend_idx):
        scored.trend_scores[j].append(
            score_counts(per_month[i], ledger_share, rules.weights, breakdown=False)[0]
        )
        scored.trend_counts[j].append(per_month[i])
    coverage = _r4(ratio(c.diary_credited, c.owed))
    months_in_period = len(current)
    scored.rows.append(
        CadreRow(
            cadre_id=cid,
            name=name,
            phone=phone,
            post=post,
            village=village or "",
            households=hh,
            diary_days=c.diary_days,
            diary_entries=c.diary_entries,
            working_days_owed=c.owed,
            leave_days=c.leave_days,
            diary_coverage=coverage,
            summary_submitted=c.summaries_submitted >= months_in_period,
            summary_on_time=c.summaries_on_time >= months_in_period,
            summaries_submitted=c.summaries_submitted,
            summaries_on_time=c.summaries_on_time,
            months_in_period=months_in_period,
            tasks_assigned=c.tasks_assigned,
            tasks_fed_back=c.tasks_fed_back,
            tasks_on_time=c.tasks_on_time,
            tasks_overdue=c.tasks_overdue,
            tasks_pending=c.tasks_assigned - c.tasks_on_time - c.tasks_overdue,
            tasks_returned=c.tasks_returned,
            requests_received=c.requests_received,
            requests_answered=c.requests_answered,
            requests_answered_in_sla=c.requests_answered_in_sla,
            requests_late=c.requests_late,
            requests_pending=c.requests_received - c.requests_answered_in_sla - c.requests_late,
            avg_first_answer_hours=_hours(c),
            requests_rated=c.requests_rated,
            requests_satisfied=c.requests_satisfied,
            satisfaction=_r4(ratio(c.requests_satisfied, c.requests_rated)),
            ledger_completion=_r4(ledger_share),
            score=score,
            score_breakdown=parts,
            rank=None,
            below_minimum=below_minimum_reasons(hh, coverage, rules.min_households, rules.min_share),
            township=township_name,
            diary_days_credited=c.diary_credited,
            summaries_owed=c.summary_months,
            unranked_reason=unranked_reason(score, c, start_day, months.window.months[current[-1]].last),
        )
    )
    scored.counts.append(c)


def unranked_reason(score: float | None, c: Counts, start_day: date, period_last: date) -> str | None:
    """Why a cadre has no score (and so no rank) in a period: they started after it, were on leave every working
    day counted, or nothing of theirs was due yet (no diary day owed, no card or request due). None: scored."""
    if score is not None:
        return None
    if start_day > period_last:
        return "joined_later"
    if c.workdays > 0 and c.owed <= 0:
        return "on_leave"
    return "nothing_due"


def below_minimum_reasons(
    households: int, coverage: float | None, min_households: int, min_share: float
) -> list[str]:
    """Why a cadre is below the programme's minimum: fewer households than the minimum, or a diary coverage
    under the minimum share (no coverage, nothing owed yet, is not below)."""
    below = []
    if households < min_households:
        below.append("households")
    if coverage is not None and coverage < min_share:
        below.append("diary")
    return below


def _rank_cadres(scored: _Scored) -> None:
    """Competition ranks (1, 2, 2, 4) by score, now and in the period before, and the change between them."""
    ranks = competition_ranks([r.score for r in scored.rows])
    prev_ranks = competition_ranks(scored.previous_scores)
    for row, rank, shared, p_score, p_rank in zip(
        scored.rows, ranks, tied(ranks), scored.previous_scores, prev_ranks, strict=True
    ):
        row.rank, row.tied = rank, shared
        row.previous_score, row.previous_rank = p_score, p_rank
        if row.score is not None and p_score is not None:
            row.score_delta = round(row.score - p_score, 2)
        if rank is not None and p_rank is not None:
            row.rank_delta = p_rank - rank


def _villages_and_townships(
    scored: _Scored, weights: dict[str, float], cadre_rows: Any, *, county: bool
) -> tuple[list[GroupRow], list[GroupRow]]:
    """Villages: sums of their cadres' counts, ranked by the average score of their cadres (village names repeat
    across a county: there a village is named with its township). Townships the same way, in a county's report
    of several."""
    several = len({row.township for row in cadre_rows}) > 1
    villages = _ranked_groups(
        scored.rows,
        scored.counts,
        scored.previous_scores,
        weights,
        lambda r: f"{r.township}·{r.village}" if several else r.village,
    )
    townships = (
        _ranked_groups(scored.rows, scored.counts, scored.previous_scores, weights, lambda r: r.township)
        if county and several
        else []
    )
    return villages, townships


def _totals(title: str, scored: _Scored, weights: dict[str, float]) -> GroupRow:
    """The whole township (or county): every cadre's counts summed, the average score now and before."""
    totals = _group(title, zip(scored.rows, scored.counts, strict=True), weights)
    p_all = [s for s in scored.previous_scores if s is not None]
    totals.previous_avg_score = round(math.fsum(p_all) / len(p_all), 2) if p_all else None
    if totals.avg_score is not None and totals.previous_avg_score is not None:
        totals.score_delta = round(totals.avg_score - totals.previous_avg_score, 2)
    return totals


def _below_minimum(rows: list[CadreRow]) -> list[dict[str, Any]]:
    """The report's list of cadres below the minimum, by village and name."""
    return [
        {
            "name": r.name,
            "phone": r.phone,
            "village": r.village,
            "households": r.households,
            "diary_coverage": r.diary_coverage,
            "reasons": r.below_minimum,
        }
        for r in sorted(rows, key=lambda r: (r.village, r.name, r.phone))
        if r.below_minimum
    ]


def _trend(w: queries.Window, trend_idx: list[int], scored: _Scored) -> list[TrendPoint]:
    """Each trend month on its own: the average of the cadres' scores of that month, and the shares of the
    month's summed counts."""
    trend = []
    for j, i in enumerate(trend_idx):
        scored_month = [s for s in scored.trend_scores[j] if s is not None]
        tc = _township_month(scored.trend_counts[j])
        trend.append(
            TrendPoint(
                month=w.months[i].key,
                avg_score=round(math.fsum(scored_month) / len(scored_month), 2) if scored_month else None,
                diary_coverage=_r4(ratio(tc.diary_credited, tc.owed)),
                task_timeliness=_r4(ratio(tc.tasks_on_time, tc.tasks_on_time + tc.tasks_overdue)),
                requests_in_sla_share=_r4(
                    ratio(tc.requests_answered_in_sla, tc.requests_answered_in_sla + tc.requests_late)
                ),
                satisfaction=_r4(ratio(tc.requests_satisfied, tc.requests_rated)),
            )
        )
    return trend


def _ranked_groups(
    rows: list[CadreRow],
    counts: list[Counts],
    prev_scores: list[float | None],
    weights: dict[str, float],
    key: Callable[[CadreRow], str],
) -> list[GroupRow]:
    """Villages (or townships): sums of their cadres' counts, ranked by the average score of their cadres."""
    members: dict[str, list[tuple[CadreRow, Counts]]] = {}
    prev: dict[str, list[float]] = {}
    for row, c, p_score in zip(rows, counts, prev_scores, strict=True):
        members.setdefault(key(row), []).append((row, c))
        if p_score is not None:
            prev.setdefault(key(row), []).append(p_score)
    groups = [_group(name, m, weights) for name, m in sorted(members.items())]
    g_ranks = competition_ranks([g.avg_score for g in groups])
    prev_avgs = [
        round(math.fsum(prev[g.name]) / len(prev[g.name]), 2) if prev.get(g.name) else None for g in groups
    ]
    pg_ranks = competition_ranks(prev_avgs)
    for g, rank, p_avg, p_rank in zip(groups, g_ranks, prev_avgs, pg_ranks, strict=True):
        g.rank, g.previous_avg_score, g.previous_rank = rank, p_avg, p_rank
        if g.avg_score is not None and p_avg is not None:
            g.score_delta = round(g.avg_score - p_avg, 2)
        if rank is not None and p_rank is not None:
            g.rank_delta = p_rank - rank
    groups.sort(key=lambda g: (g.rank is None, g.rank or 0, g.name))
    return groups


def last_month_key(today: date) -> str:
    """The month before ``today``'s, as the monthly_circular job reports it."""
    first = today.replace(day=1) - timedelta(days=1)
    return month_key(last_day_of_month(first.year, first.month))
