"""Calendar arithmetic in the configured time zone: local days, months, quarters, years as UTC ranges."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(tz).date()


def month_key(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def start_of_day(d: date, tz: ZoneInfo) -> datetime:
    """The UTC instant local day ``d`` starts."""
    return datetime.combine(d, time.min, tzinfo=tz).astimezone(UTC)


def last_day_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def previous_month(d: date) -> date:
    """The first day of the month before ``d``'s month."""
    first = d.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


@dataclass(frozen=True)
class Period:
    """A report period: kind month|quarter|year, its key ('2026-11', '2026Q4', '2026'), first and last local day."""

    kind: str
    key: str
    first: date
    last: date

    def utc_range(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) as UTC instants."""
        return start_of_day(self.first, tz), start_of_day(self.last + timedelta(days=1), tz)

    def months(self) -> list[str]:
        out, d = [], self.first
        while d <= self.last:
            out.append(month_key(d))
            d = last_day_of_month(d.year, d.month) + timedelta(days=1)
        return out

    def previous(self) -> Period:
        return parse_period(self.kind, _previous_key(self))

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def ended(self, today: date) -> bool:
        """Over by ``today`` (a local day): only an ended period is published (console/documents/publishing.py)."""
        return self.last < today


def _previous_key(p: Period) -> str:
    before = p.first - timedelta(days=1)
    if p.kind == "month":
        return month_key(before)
    if p.kind == "quarter":
        return f"{before.year}Q{(before.month - 1) // 3 + 1}"
    return str(before.year)


def parse_period(kind: str, key: str) -> Period:
    """Parse '2026-11' (month), '2026Q4' (quarter), '2026' (year); ValueError with a clear message."""
    key = key.strip()
    if kind == "month":
        m = re.fullmatch(r"(\d{4})-(\d{1,2})", key)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"月份应写作 YYYY-MM，例如 2026-11（收到 {key!r}）")
        y, mo = int(m.group(1)), int(m.group(2))
        return Period("month", f"{y:04d}-{mo:02d}", date(y, mo, 1), last_day_of_month(y, mo))
    if kind == "quarter":
        m = re.fullmatch(r"(\d{4})\s*[Qq]([1-4])", key)
        if not m:
            raise ValueError(f"季度应写作 YYYYQn，例如 2026Q4（收到 {key!r}）")
        y, q = int(m.group(1)), int(m.group(2))
        return Period("quarter", f"{y}Q{q}", date(y, 3 * q - 2, 1), last_day_of_month(y, 3 * q))
    if kind == "year":
        if not re.fullmatch(r"\d{4}", key):
            raise ValueError(f"年份应写作 YYYY，例如 2026（收到 {key!r}）")
        y = int(key)
        return Period("year", str(y), date(y, 1, 1), date(y, 12, 31))
    raise ValueError(f"unknown period kind {kind!r}: month, quarter or year")


def local_text(moment: datetime, tz: Any) -> str:
    """'11月30日 18:00' in the configured zone: how a deadline reads in a push, a reply or an error."""
    m = moment.astimezone(tz)
    return f"{m.month}月{m.day}日 {m:%H:%M}"
