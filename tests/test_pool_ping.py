"""PostgreSQL's pooled connections (storage/db.py ``_ping_when_idle``): a connection used a moment ago goes
straight back to work (no round trip of its own per message), and one that sat idle is pinged first, so a
connection the server closed meanwhile is replaced before a message meets it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from storage import db
from tests.support.pgtools import scratch_database

SERVER = os.environ.get("LIANXIN_TEST_PG_URL", "postgresql://lianxin:lianxin@127.0.0.1:5432/postgres")


@pytest.fixture
def engine() -> Iterator[Engine]:
    with scratch_database(SERVER, prefix="lianxin_ping", skip_reason="no PostgreSQL server") as url:
        e = db.make_engine(url, pool_size=1)
        try:
            yield e
        finally:
            e.dispose()


def _pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    seen: list[int] = []
    real = engine.dialect._do_ping_w_event

    def counted(dbapi_conn: object) -> bool:
        seen.append(1)
        return real(dbapi_conn)

    monkeypatch.setattr(engine.dialect, "_do_ping_w_event", counted)
    return seen


def _backend(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _idle_for(engine: Engine, seconds: float) -> None:
    """Make the pooled connection look as if checked in ``seconds`` ago."""
    for record in list(engine.pool._pool.queue):  # type: ignore[attr-defined]
        record.info["idle_from"] -= seconds


def test_a_connection_used_a_moment_ago_is_not_pinged(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = _pings(engine, monkeypatch)
    first = _backend(engine)
    for _ in range(20):
        assert _backend(engine) == first
    assert pings == []


def test_an_idle_connection_the_server_closed_is_replaced_before_use(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = _pings(engine, monkeypatch)
    old = _backend(engine)
    admin = db.make_engine(SERVER)
    try:
        with admin.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": old})
            c.commit()
    finally:
        admin.dispose()
    _idle_for(engine, db.PING_AFTER_IDLE_SECONDS + 1)
    new = _backend(engine)  # no error: the ping found it closed and the pool connected again
    assert new != old and len(pings) == 1
