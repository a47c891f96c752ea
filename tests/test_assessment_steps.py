"""The report's steps on their own, without a database: one cadre-month's counts from the queries' results
(storage/assessment/cadre_months.py), a period as the sum of its months, and who is below the minimum
(assembly.py). The whole report, figure by figure, is tests/test_assessment.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from storage.assessment import Counts
from storage.assessment.assembly import below_minimum_reasons
from storage.assessment.cadre_months import CadreMonths, sum_months
from storage.assessment.queries import Window, month_periods

TZ = ZoneInfo("Asia/Shanghai")


def _months(today: date, **results: dict) -> CadreMonths:
    """October and November 2026, as seen on ``today``; November's working days are the weekdays."""
    months = month_periods(date(2026, 11, 30), 2)
    november = [
        date(2026, 11, 1) + timedelta(days=i)
        for i in range(30)
        if (date(2026, 11, 1) + timedelta(days=i)).weekday() < 5
    ]
    w = Window(
        months=months,
        tz=TZ,
        now=datetime.combine(today, datetime.min.time(), tzinfo=UTC),
        today=today,
        as_of=today - timedelta(days=1),
    )
    empty: dict = {}
    return CadreMonths(
        window=w,
        workdays=[[], november],
        leave=results.get("leave", empty),
        diary=results.get("diary", empty),
        summaries=results.get("summaries", empty),
        tasks=results.get("tasks", empty),
        requests=results.get("requests", empty),
    )


def test_working_days_are_owed_from_the_cadres_first_day_less_leave():
    months = _months(date(2026, 12, 2), leave={(7, 1): 3})
    assert months.counts(7, date(2026, 11, 1), 1).workdays == 21
    c = months.counts(7, date(2026, 11, 16), 1)  # joined on Monday 16 Nov
    assert (c.workdays, c.leave_days, c.owed) == (11, 3, 8)
    assert months.counts(8, date(2026, 11, 16), 1).owed == 11  # another cadre's leave is not theirs


def test_diary_days_beyond_what_is_owed_earn_nothing_more():
    months = _months(date(2026, 12, 2), diary={(7, 1): (25, 30)}, leave={(7, 1): 1})
    c = months.counts(7, date(2026, 11, 1), 1)
    assert (c.diary_days, c.diary_entries, c.owed, c.diary_credited) == (25, 30, 20, 20)


def test_a_months_summary_is_due_once_the_month_is_over_or_once_it_is_sent():
    during = _months(date(2026, 11, 20))
    assert during.counts(7, date(2026, 11, 1), 1).summary_months == 0
    sent_early = _months(date(2026, 11, 20), summaries={(7, 1): (1, 1)})
    c = sent_early.counts(7, date(2026, 11, 1), 1)
    assert (c.summary_months, c.summary_months_due_submitted, c.summary_months_due_on_time) == (1, 1, 1)
    after = _months(date(2026, 12, 2))
    assert after.counts(7, date(2026, 11, 1), 1).summary_months == 1
    # a cadre who joined after the month ended owes nothing for it
    assert after.counts(7, date(2026, 12, 1), 1).summary_months == 0


def test_cards_and_requests_are_taken_as_the_queries_count_them():
    months = _months(
        date(2026, 12, 2), tasks={(7, 1): (5, 4, 3, 1, 1)}, requests={(7, 1): (4, 3, 2, 1, 7200.0, 2, 1)}
    )
    c = months.counts(7, date(2026, 11, 1), 1)
    assert (c.tasks_assigned, c.tasks_fed_back, c.tasks_on_time, c.tasks_overdue, c.tasks_returned) == (
        5,
        4,
        3,
        1,
        1,
    )
    assert (c.requests_received, c.requests_answered_in_sla, c.requests_late, c.answer_seconds) == (
        4,
        2,
        1,
        7200.0,
    )
    assert (c.requests_rated, c.requests_satisfied) == (2, 1)
    assert months.counts(8, date(2026, 11, 1), 1).tasks_assigned == 0


def test_a_period_is_the_sum_of_its_months_and_one_month_is_itself():
    october, november = Counts(diary_days=3, workdays=18), Counts(diary_days=20, workdays=21)
    total = sum_months([october, november], [0, 1])
    assert (total.diary_days, total.workdays) == (23, 39)
    assert (october.diary_days, november.diary_days) == (3, 20)  # the months are left as they were
    assert sum_months([october, november], [1]) is november


def test_below_the_minimum_for_too_few_households_or_too_little_diary():
    assert below_minimum_reasons(30, 0.6, 30, 0.6) == []
    assert below_minimum_reasons(29, 0.59, 30, 0.6) == ["households", "diary"]
    assert below_minimum_reasons(0, None, 30, 0.6) == [
        "households"
    ]  # nothing owed yet: not judged on the diary
