"""Working days: China's official calendar (chinesecalendar, with 调休 make-up days) plus office overrides.

Shared by the reminders (no diary reminder on a day off) and the assessment (diary days owed).
Office overrides come from ``[holidays] extra_workdays`` / ``extra_holidays`` and win over the calendar.
For years the package does not cover yet, Monday to Friday are working days (the State Council publishes
each year's arrangement in November; upgrading chinesecalendar picks it up).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import chinese_calendar


def _dates(values: Any) -> frozenset[date]:
    return frozenset(date.fromisoformat(str(v)) for v in values or ())


@lru_cache(maxsize=4096)
def _official_workday(d: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:  # a year the package has no data for yet
        return d.weekday() < 5


def is_workday(d: date, config: Any = None) -> bool:
    """True when ``d`` is a working day: office overrides first, then the official calendar."""
    if config is not None:
        section = config["holidays"]
        if d in _dates(section.get("extra_holidays")):
            return False
        if d in _dates(section.get("extra_workdays")):
            return True
    return _official_workday(d)


def workdays(first: date, last: date, config: Any = None) -> list[date]:
    """The working days from ``first`` to ``last`` inclusive."""
    out: list[date] = []
    d = first
    while d <= last:
        if is_workday(d, config):
            out.append(d)
        d += timedelta(days=1)
    return out
