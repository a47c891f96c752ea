"""The clock and time stamps: the aware-UTC column type every model uses (naive times are refused), the wall clock
(``utcnow``: the only place that reads it), and the clock a session carries (``stamp``, ``now_of``).

One clock: ``Lianxin.clock`` (the wall clock in production, a ``FakeClock`` in tests). ``Lianxin`` binds its
sessions to the engine with that clock as an execution option (``CLOCK``), so every timestamp column's default
(``stamp``) and every storage function that needs the time without being given it (``now_of(session)``) reads
the same clock as ``ctx.now()`` and ``lx.now()``. docs/architecture.md "The clock" says why it travels this way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Engine
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores an aware datetime as naive UTC (the same on SQLite and PostgreSQL); loads it back aware UTC.

    Naive datetimes are refused on the way in: a naive value would be ambiguous about its time zone, and
    day boundaries in the configured zone are exactly what the reports must get right.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


# JSON everywhere, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """The wall clock. ``bot.app.build`` makes it the product's clock; anything else that means real time (a
    token's expiry at WeChat, a lease between processes) says so in a comment where it calls this."""
    return datetime.now(UTC)


# The execution option that carries the clock on a session's connections (set by ``with_clock``).
CLOCK = "lianxin_clock"


def with_clock(engine: Engine, clock: Callable[[], datetime]) -> Engine:
    """``engine`` (sharing its pool) whose connections carry ``clock``: what ``Lianxin``'s sessions are bound to."""
    return engine.execution_options(**{CLOCK: clock})


class NoClock(RuntimeError):
    """A timestamp was needed on a connection that carries no clock (not opened through ``Lianxin``)."""


def stamp(context: Any) -> datetime:
    """Column default (and ``onupdate``) of every time stamp a row gets when written: the time on the clock of
    the connection that writes it — the ORM's flush, an ORM bulk insert and a Core insert alike."""
    clock = context.execution_options.get(CLOCK)
    if clock is None:
        raise NoClock(
            "a time-stamped row was written on a connection without the clock; use Lianxin.session()"
        )
    return clock()


def now_of(session: Any) -> datetime:
    """The time on the clock ``session`` carries: for storage functions that need the time and are not given it."""
    clock = session.get_bind().get_execution_options().get(CLOCK)
    if clock is None:
        raise NoClock("this session carries no clock; use Lianxin.session()")
    return clock()
