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
databases spell differently — seconds between two timestamps — is a small compiled construct (dialect.py).

``now`` decides what is *due*: diary days owed run to yesterday (local); a card whose deadline is still
ahead and that has no feedback yet is *pending* (neither on time nor overdue); a request still inside its
time limit and unanswered is pending; a monthly summary is due once its month is over (or as soon as it is
sent). The formula and every choice are written down in docs/assessment.md.

The parts: dialect (the one SQL construct spelled per database), shape (the report's dataclasses), scoring
(pure), queries (the window and the SQL), cadre_months (the queries' counts per cadre and month, and one
cadre-month's Counts), assembly (build_report: scored, ranked, grouped, the trend).
"""

from storage.assessment.assembly import build_report, last_month_key
from storage.assessment.scoring import competition_ranks, score_counts
from storage.assessment.shape import KINDS, Counts, Report

__all__ = ["KINDS", "Counts", "Report", "build_report", "competition_ranks", "last_month_key", "score_counts"]
