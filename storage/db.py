"""Engines and sessions. SQLite gets WAL, foreign keys and a busy timeout; PostgreSQL goes through psycopg 3."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, TextClause, bindparam, create_engine, event, text
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
            # The stdlib driver opens transactions lazily and never for SELECT; we take control so that
            # BEGIN IMMEDIATE can be used where a writer must not be overtaken (leases, claims).
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
            conn.exec_driver_sql("BEGIN")

        return engine
    kwargs["pool_size"] = pool_size
    kwargs["pool_pre_ping"] = True
    # psycopg 3 prepares a statement server-side once it has run prepare_threshold times on a connection (its
    # default: 5, keeping 100). Here from its second run, keeping 256: the inbound path's ~20 distinct statements
    # are parsed and planned once per connection, and the console's statements do not evict them.
    kwargs["connect_args"] = {"connect_timeout": 5, "prepare_threshold": 1}
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _pg_prepared(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.prepared_max = 256

    return engine


def make_sessionmaker(engine: Engine, *, clock: Callable[[], datetime]) -> sessionmaker[Session]:
    """Sessions on ``engine`` whose connections carry ``clock`` (storage/timestamps.py: their rows are stamped by
    it, ``now_of(session)`` reads it)."""
    return sessionmaker(bind=with_clock(engine, clock), expire_on_commit=False, future=True)


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


def insert_or_skip(table: Table, key: str) -> TextClause:
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


# pg_advisory_xact_lock keys (bigint): one per counter drawn as MAX(...) + 1 in a transaction.
NUMBERING_LOCKS = {"villager_request.number": 0x6C78_0001}


def serialize_numbering(session: Session, counter: str) -> None:
    """Make the transactions that draw ``counter`` as MAX + 1 take turns, until each commits.

    On PostgreSQL concurrent transactions read the same MAX and all but one collide on the unique index (with
    8 threads at 20 connections, five retries were not enough: ~25% of villager requests failed in
    bench/inbound.py --kinds request). A transaction-level advisory lock, released at commit or rollback,
    makes the next one read the committed MAX. SQLite needs nothing: one writer at a time already.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(_ADVISORY_LOCK, {"key": NUMBERING_LOCKS[counter]})


_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
