"""Shared fixtures. The database comes from $LIANXIN_TEST_DATABASE_URL (default: a temporary SQLite file).

With a PostgreSQL URL, the suite creates a database of its own on that server, upgrades it with Alembic,
and drops it at the end; where no server answers, every database test is skipped with a clear message.
Each test starts from empty tables (rows are wiped after each test, so tests may commit freely and use
several connections, as the product does).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from bot.app import build
from storage.config import load_config
from storage.db import is_sqlite, normalize_url
from storage.runtime import Lianxin
from tests.support.clock import FakeClock
from tests.support.pgtools import scratch_database
from tests.support.renders import RenderRecorder
from tests.support.wechat_client import TEST_TOKEN


def _server_url() -> str:
    return normalize_url(os.environ.get("LIANXIN_TEST_DATABASE_URL", ""))


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = _server_url()
    if not url or is_sqlite(url):
        path = tmp_path_factory.mktemp("db") / "test.db"
        yield f"sqlite:///{path}"
        return
    shown = make_url(url).render_as_string(hide_password=True)
    with scratch_database(
        url, prefix="lianxin_t", skip_reason=f"PostgreSQL tests skipped: no server reachable at {shown}"
    ) as scratch_url:
        yield scratch_url


@pytest.fixture(scope="session")
def migrated_db(db_url: str) -> str:
    """The test database, upgraded to head through Alembic (so every run also checks the migrations)."""
    from storage.migrate import upgrade

    upgrade(db_url)
    return db_url


def wipe(engine: Any) -> None:
    names = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            if names:
                conn.execute(
                    text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE")
                )
        else:
            # Children before parents (PRAGMA foreign_keys cannot change inside a transaction).
            from storage.models import Base

            ordered = [t.name for t in reversed(Base.metadata.sorted_tables)]
            for n in [n for n in names if n not in ordered] + [n for n in ordered if n in names]:
                conn.execute(text(f'DELETE FROM "{n}"'))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def renders() -> Iterator[RenderRecorder]:
    """Every reply, push and console page rendered during the test: which template, with which values
    (tests/support/renders.py says when to assert those and when the words)."""
    yield from RenderRecorder().listen()


@pytest.fixture
def make_lx(migrated_db: str, clock: FakeClock, tmp_path: Path) -> Iterator[Any]:
    """``make_lx(**overrides)`` → a Lianxin on the test database with the fake clock; tables wiped afterwards."""
    made: list[Lianxin] = []

    def factory(**overrides: Any) -> Lianxin:
        base = {
            "database.url": migrated_db,
            "wechat.token": TEST_TOKEN,
            "wechat.app_id": "wxtestappid",
            "wechat.app_secret": "testsecret",
            "general.media_dir": str(tmp_path / "media"),
        }
        base.update(overrides)
        lx = build(load_config(overrides=base, env={}), clock=clock)
        made.append(lx)
        return lx

    yield factory
    if made:
        wipe(made[0].engine)
    for lx in made:
        lx.close()


@pytest.fixture
def lx(make_lx: Any) -> Lianxin:
    return make_lx()


@pytest.fixture
def session(lx: Lianxin) -> Iterator[Any]:
    """A session on the test database; the test commits as it likes (tables are wiped afterwards)."""
    s = lx.sessions()
    try:
        yield s
    finally:
        s.rollback()
        s.close()
