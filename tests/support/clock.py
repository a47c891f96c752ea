"""A settable clock for tests: handed to the app as its ``now()``, so month-end and deadlines are testable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


class FakeClock:
    """A settable clock (aware UTC). ``clock.set("2026-11-24 20:00")`` reads the time as local (Asia/Shanghai)."""

    def __init__(self, start: datetime | None = None, tz: str = "Asia/Shanghai") -> None:
        from zoneinfo import ZoneInfo

        self.tz = ZoneInfo(tz)
        self.value = start or datetime(2026, 11, 24, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.value

    def set(self, when: str | datetime) -> datetime:
        if isinstance(when, str):
            when = datetime.fromisoformat(when)
        if when.tzinfo is None:
            when = when.replace(tzinfo=self.tz)
        self.value = when.astimezone(UTC)
        return self.value

    def advance(self, **kw: Any) -> datetime:
        self.value = self.value + timedelta(**kw)
        return self.value
