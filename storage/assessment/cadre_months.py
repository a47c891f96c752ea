"""Per cadre and month of the window: the measures' counts read once (one query each, queries.py), and one
cadre-month's ``Counts`` made from them. Periods are sums of months (``sum_months``), never averages."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from storage.assessment import queries
from storage.assessment.shape import Counts
from storage.config import Config

# (cadre id, month index in the window) -> the query's tuple for that cadre-month
PerCadreMonth = dict[tuple[int, int], Any]


@dataclass
class CadreMonths:
    """What the queries return for the window, kept together so each cadre-month is put together the same way."""

    window: queries.Window
    workdays: list[list[date]]  # per month: its working days up to yesterday (the calendar, not SQL)
    leave: PerCadreMonth  # days on leave among those working days
    diary: PerCadreMonth  # (days with an entry, entries)
    summaries: PerCadreMonth  # (submitted, on time)
    tasks: PerCadreMonth  # (assigned, fed back, on time, overdue, returned)
    requests: PerCadreMonth  # (received, answered, in time, late, seconds to answer, rated, satisfied)

    def counts(self, cadre_id: int, start_day: date, i: int, end_day: date | None = None) -> Counts:
        """Cadre ``cadre_id``'s counts in month ``i``: working days owed from their ``start_day`` (the day they
        joined or first wrote) until ``end_day`` (the day they retired, not owed; None: serving), diary days
        credited up to what was owed, and the month's summary due once the month is over — or as soon as it is
        sent; a cadre who retired before the month's end owes none for it."""
        c = Counts()
        days = self.workdays[i]
        last = len(days) if end_day is None else bisect.bisect_left(days, end_day)
        c.workdays = max(0, last - bisect.bisect_left(days, start_day))
        c.leave_days = self.leave.get((cadre_id, i), 0)
        c.diary_days, c.diary_entries = self.diary.get((cadre_id, i), (0, 0))
        c.diary_credited = min(c.diary_days, c.owed)
        c.summaries_submitted, c.summaries_on_time = self.summaries.get((cadre_id, i), (0, 0))
        month = self.window.months[i]
        serving = end_day is None or month.last < end_day
        due = (
            serving and month.last < self.window.today and month.last >= start_day
        ) or c.summaries_submitted > 0
        if due:
            c.summary_months = 1
            c.summary_months_due_submitted = c.summaries_submitted
            c.summary_months_due_on_time = c.summaries_on_time
        t = self.tasks.get((cadre_id, i))
        if t:
            c.tasks_assigned, c.tasks_fed_back, c.tasks_on_time, c.tasks_overdue, c.tasks_returned = t
        r = self.requests.get((cadre_id, i))
        if r:
            (
                c.requests_received,
                c.requests_answered,
                c.requests_answered_in_sla,
                c.requests_late,
                c.answer_seconds,
                c.requests_rated,
                c.requests_satisfied,
            ) = r
        return c


def read_cadre_months(session: Session, w: queries.Window, config: Config, sla_hours: int) -> CadreMonths:
    """The window's per cadre-month counts. Working days come from Python's calendar (chinesecalendar and the
    configured overrides); the cadres' leave against them is SQL."""
    workdays: list[list[date]] = []
    for m in w.months:
        last = min(m.last, w.as_of)
        workdays.append(queries.workdays_between(m.first, last, config) if last >= m.first else [])
    owed_days = [(d, i) for i, days in enumerate(workdays) for d in days]
    return CadreMonths(
        window=w,
        workdays=workdays,
        diary=queries.diary_counts(session, w),
        leave=queries.leave_days(session, w, owed_days),
        summaries=queries.summary_counts(session, w),
        tasks=queries.task_counts(session, w),
        requests=queries.request_counts(session, w, sla_hours),
    )


def sum_months(per_month: list[Counts], idx: list[int]) -> Counts:
    """The counts of the months ``idx`` (a period) added up; one month is returned as it is (never mutated)."""
    if len(idx) == 1:
        return per_month[idx[0]]  # never mutated afterwards
    total = Counts()
    for i in idx:
        total.add(per_month[i])
    return total
