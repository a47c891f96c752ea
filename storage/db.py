"""Engines and sessions. SQLite gets WAL, foreign keys, a busy timeout and the writer lock taken by the session
layer (``READ_ONLY`` below); PostgreSQL goes through psycopg 3."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CursorResult,
    Engine,
    Result,
    Table,
    TextualSelect,
    bindparam,
    create_engine,
    event,
    exc,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.timestamps import with_clock


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(url_or_engine: str | Engine) -> bool:
    url = url_or_engine.url if isinstance(url_or_engine, Engine) else make_url(normalize_url(url_or_engine))
    return url.get_backend_name() == "sqlite"


SQLITE_NEEDED = (3, 35)  # INSERT … ON CONFLICT … RETURNING


# The writer lock, taken by the session layer (not by convention in each caller). SQLite has one writer at a time.
# In WAL mode a transaction that begins deferred, reads, and then writes cannot wait for the lock: when another
# connection has committed a write since its read, its first write fails at once with "database is locked"
# (SQLITE_BUSY_SNAPSHOT), mid-transaction, whatever the busy timeout. So every transaction begins with
# BEGIN IMMEDIATE — it takes the write lock first, waiting its turn on the busy timeout like any writer — unless
# its connection is marked read-only (``read_only(engine)``, ``Lianxin.read_session``): those begin deferred,
# read a snapshot and never queue behind writers (WAL lets readers and one writer run together). Sessions of
# ``make_sessionmaker(read_only=True)`` refuse to write, so a reader cannot grow into the writer it did not lock
# for. PostgreSQL has row locks and needs neither; its read-only sessions refuse writes all the same.
READ_ONLY = "lianxin_read_only"


class ReadOnlySession(RuntimeError):
    """A write through a read-only session: open it with ``Lianxin.session()`` instead."""


def read_only(engine: Engine) -> Engine:
    """``engine`` (sharing its pool) whose transactions begin deferred on SQLite: for work that only reads."""
    return engine.execution_options(**{READ_ONLY: True})


# A pooled connection used a moment ago is alive; one that sat idle may have been closed meanwhile (PostgreSQL
# restarted, a failover, a firewall's idle timeout). SQLAlchemy's pool_pre_ping pinged at every checkout: one more
# round trip per message, a sixth of a PostgreSQL worker's time under load (py-spy, bench/RESULTS.md "issue 27").
# Only connections idle longer than this are pinged; one that dies while in use raises a disconnect error,
# SQLAlchemy then invalidates the whole pool, and the message's 5xx makes WeChat send it again
# (tests/test_faults_postgres.py: every message handled once after a restart).
PING_AFTER_IDLE_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_from"] = time.monotonic()  # real time: how long a connection sat in the pool

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_from = record.info.get("idle_from")
        if idle_from is None or time.monotonic() - idle_from < PING_AFTER_IDLE_SECONDS:  # real time
            return
        if not engine.dialect._do_ping_w_event(dbapi_conn):  # what pool_pre_ping runs, for idle ones only
            raise exc.DisconnectionError("the pooled connection was closed while idle")  # the pool reconnects


def make_engine(url: str, *, echo: bool = False, pool_size: int = 5) -> Engine:
    url = normalize_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if is_sqlite(url):
        if sqlite3.sqlite_version_info < SQLITE_NEEDED:
            # Every inbound message and push is one INSERT … ON CONFLICT DO NOTHING RETURNING (3.35+); on an older
            # library each would fail and WeChat's retries would pile up, so refuse to start and say why.
            raise RuntimeError(
                f"SQLite {sqlite3.sqlite_version} 太旧，需要 3.35 或更新（或改用 PostgreSQL）/ "
                f"SQLite {sqlite3.sqlite_version} is too old: 3.35 or newer is needed (or PostgreSQL)"
            )
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # The stdlib driver opens transactions lazily and never for SELECT; we take control and emit BEGIN
            # ourselves (_sqlite_begin), as SQLAlchemy's SQLite documentation describes ("Enabling Non-Legacy SQLite
            # Transactional Modes": isolation_level None here, BEGIN on the connection's "begin" event).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            if make_url(url).database not in (None, "", ":memory:"):
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql(
                "BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE"
            )

        return engine
    kwargs["pool_size"] = pool_size
    # psycopg 3 prepares a statement server-side once it has run prepare_threshold times on a connection (its
    # default: 5, keeping 100). Here from its second run, keeping 256: the inbound path's ~20 distinct statements
    # are parsed and planned once per connection, and the console's statements do not evict them.
    kwargs["connect_args"] = {"connect_timeout": 5, "prepare_threshold": 1}
    engine = create_engine(url, **kwargs)

    _ping_when_idle(engine)

    @event.listens_for(engine, "connect")
    def _pg_session(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.prepared_max = 256
        # PostgreSQL's JIT compiles any query its planner costs high, and an OR of IN (subquery) over a year's
        # diary is costed in the millions though never run: the county's year report spent 0.5 s of a 0.55 s
        # query compiling (EXPLAIN ANALYZE, bench/RESULTS.md "issue 27"). Our queries are short; JIT only costs.
        # A SET on the new connection (committed: it would be undone with its transaction), not the startup
        # "options" parameter, which connection poolers such as PgBouncer refuse.
        with dbapi_conn.cursor() as cur:
            cur.execute("SET jit = off")
        dbapi_conn.commit()

    return engine


def make_sessionmaker(
    engine: Engine, *, clock: Callable[[], datetime], read_only: bool = False
) -> sessionmaker[Session]:
    """Sessions on ``engine`` whose connections carry ``clock`` (storage/timestamps.py: their rows are stamped by
    it, ``now_of(session)`` reads it). Writers by default (``BEGIN IMMEDIATE`` on SQLite, see ``READ_ONLY``);
    ``read_only``: deferred, and a flush or an ORM insert, update or delete raises ``ReadOnlySession``."""
    bind = with_clock(engine, clock)
    if not read_only:
        return sessionmaker(bind=bind, expire_on_commit=False, future=True)
    readers = sessionmaker(
        bind=bind.execution_options(**{READ_ONLY: True}), expire_on_commit=False, future=True
    )
    event.listen(readers, "before_flush", _refuse_flush)
    event.listen(readers, "do_orm_execute", _refuse_dml)
    return readers


def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
        raise ReadOnlySession("a read-only session was asked to write; use Lianxin.session()")


def _refuse_dml(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise ReadOnlySession("a read-only session was asked to write; use Lianxin.session()")


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def insert_or_skip(table: Table, key: str) -> TextualSelect:
    """``INSERT INTO table (…) VALUES (…) ON CONFLICT (key) DO NOTHING RETURNING id`` for every column but ``id``,
    as a text statement with the columns' types: the same SQL on PostgreSQL and SQLite ≥ 3.35, and one that
    SQLAlchemy's compiled cache keeps. The dialects' own ``insert().on_conflict_do_nothing()`` is never cached
    (``inherit_cache = False``), so it was compiled again for every inbound message (a third of the statement's
    CPU in the profile, bench/RESULTS.md "Inbound hot path"). Execute it with a value for every column.
    """
    cols = [c for c in table.c if c.name != "id"]
    sql = (
        f'INSERT INTO "{table.name}" ({", ".join(f"{chr(34)}{c.name}{chr(34)}" for c in cols)}) '
        f'VALUES ({", ".join(f":{c.name}" for c in cols)}) ON CONFLICT ("{key}") DO NOTHING RETURNING id'
    )
    return text(sql).bindparams(*[bindparam(c.name, type_=c.type) for c in cols]).columns(table.c.id)


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE run through ``Session.execute`` matched. The session types every result
    as ``Result``; a DML statement's is a ``CursorResult``, which alone holds the count."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"not the result of an UPDATE or DELETE: {type(result).__name__}")
    return result.rowcount
