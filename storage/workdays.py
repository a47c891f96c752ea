"""Working days: China's official calendar (holidays and 调休 make-up days) with office overrides.

The ``chinesecalendar`` package is updated each year once the State Council publishes the calendar; for
a year it does not know yet we fall back to Monday–Friday rather than stop reminding.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any

import chinese_calendar

from storage.config import Config

log = logging.getLogger("lianxin.holidays")
_warned: set[int] = set()


def _dates(values: list[Any]) -> set[date]:
    out = set()
    for v in values:
        out.add(v if isinstance(v, date) else date.fromisoformat(str(v)))
    return out


def is_workday(d: date, config: Config) -> bool:
    holidays = config.holidays
    if d in _dates(holidays.extra_holidays):
        return False
    if d in _dates(holidays.extra_workdays):
        return True
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        if d.year not in _warned:
            _warned.add(d.year)
            log.warning("chinesecalendar does not know %s; using Monday-Friday (update the package)", d.year)
        return d.weekday() < 5


def _hm(value: str) -> time:
    h, _, m = value.partition(":")
    return time(int(h), int(m or 0))


def working_hours_between(start: datetime, end: datetime, config: Config) -> float:
    """Working hours (working days, between [sla] work_day_start and work_day_end) from start to end."""
    if end <= start:
        return 0.0
    tz = config.tz
    s_local, e_local = start.astimezone(tz), end.astimezone(tz)
    day_start, day_end = _hm(config.sla.work_day_start), _hm(config.sla.work_day_end)
    total = 0.0
    d = s_local.date()
    while d <= e_local.date():
        if is_workday(d, config):
            ws = datetime.combine(d, day_start, tzinfo=tz)
            we = datetime.combine(d, day_end, tzinfo=tz)
            lo, hi = max(ws, s_local), min(we, e_local)
            if hi > lo:
                total += (hi - lo).total_seconds() / 3600
        d += timedelta(days=1)
    return total


def working_days_after(day: date, count: int, config: Config) -> date:
    """The ``count``-th working day after ``day`` (``day`` itself not counted; 0: ``day``)."""
    d = day
    left = count
    while left > 0:
        d += timedelta(days=1)
        if is_workday(d, config):
            left -= 1
    return d


def end_of_work(day: date, config: Config) -> datetime:
    """The moment ``day``'s working hours end ([sla] work_day_end, in the configured zone): a time limit on a day."""
    return datetime.combine(day, _hm(config.sla.work_day_end), tzinfo=config.tz)
