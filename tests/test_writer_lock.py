"""The SQLite writer lock is taken by the session layer, whoever opens the session (storage/db.py).

In WAL mode a transaction that begins deferred, reads, and only then writes cannot wait for the write lock: if
another connection committed a write since its read, its first write fails at once with "database is locked"
(SQLITE_BUSY_SNAPSHOT), mid-transaction, after the busy timeout could have helped. So every writing session
begins with ``BEGIN IMMEDIATE`` and waits its turn before its first statement; read-only sessions
(``Lianxin.read_session``) stay deferred and never queue behind a writer.

Each test below makes the overlap real rather than hoping for it: at the first write of a transaction that has
already read, another thread's writer is started, and this one goes on only once that writer is done or, if it
is waiting for our lock, after a pause (the pause is no timed assertion: every assertion is on rows and status).
With the plain ``BEGIN`` of before, the other writer commits first and the transaction fails at its write.
They run on PostgreSQL too, where row locks already make both writers succeed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.exc import OperationalError

from bot.dispatch import handle
from handlers.base import Message
from storage import audit
from storage.db import ReadOnlySession, read_only
from storage.models import AuditLog, Cadre, InboundMessage, Task
from tests.support.console_world import World, build_world

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
READ = re.compile(r"^\s*SELECT\b", re.IGNORECASE)
PAUSE = 1.0  # how long we let a writer that waits for our lock wait, before we go on and commit


@contextmanager
def overtaken_at_first_write(lx: Any, other: Callable[[], None]) -> Iterator[list[BaseException]]:
    """In this thread, at the first write of a transaction that has already read, run ``other`` in another
    thread and give it the chance to commit first. Yields the errors ``other`` raised."""
    me, fired, done = threading.get_ident(), threading.Event(), threading.Event()
    errors: list[BaseException] = []
    has_read: set[int] = set()

    def run_other() -> None:
        try:
            other()
        except BaseException as e:  # noqa: BLE001 - reported to the test
            errors.append(e)
        finally:
            done.set()

    def before(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.get_ident() != me or fired.is_set():
            return
        key = id(conn.connection.dbapi_connection)
        if statement.lstrip().upper().startswith("BEGIN"):
            has_read.discard(key)
        elif READ.match(statement):
            has_read.add(key)
        elif WRITE.match(statement) and key in has_read:
            fired.set()
            threading.Thread(target=run_other, daemon=True).start()
            done.wait(PAUSE)

    event.listen(lx.engine, "before_cursor_execute", before)
    try:
        yield errors
    finally:
        event.remove(lx.engine, "before_cursor_execute", before)
    assert fired.is_set(), "the transaction never wrote after reading: nothing was overtaken"
    assert done.wait(60), "the other writer never finished"


def _other_audit(lx: Any) -> Callable[[], None]:
    def write() -> None:
        with lx.session() as s:
            audit.record(s, actor="test:other", action="other.write")

    return write


def test_a_writer_that_read_first_is_not_overtaken_by_another_writer(lx: Any) -> None:
    with overtaken_at_first_write(lx, _other_audit(lx)) as errors:
        with lx.session() as s:
            assert s.scalar(select(func.count()).select_from(AuditLog)) == 0  # a read first …
            audit.record(s, actor="test:me", action="me.write")  # … then the write
    assert not errors
    with lx.read_session() as s:
        assert sorted(s.scalars(select(AuditLog.action))) == ["me.write", "other.write"]


@pytest.fixture
def world(lx: Any, clock: Any) -> World:
    return build_world(lx, clock)


CARD = {"title": "冬季防火", "body": "入户宣传", "deadline": "2026-11-30T18:00", "scope": "all"}


def test_console_card_creation_beside_another_writer(world: World) -> None:
    c = world.login("admin")
    c.get("/tasks")
    with overtaken_at_first_write(world.lx, _other_audit(world.lx)) as errors:
        r = c.post("/tasks", CARD)
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    assert not errors
    assert world.count(Task, Task.title == "冬季防火") == 1
    assert [a.actor for a in world.audits("other.write")] == ["test:other"]


def test_console_card_creation_beside_a_chat_message(world: World) -> None:
    """The other writer is the dispatcher (bot/dispatch.py: its FIFO and flock queue, then its transaction)."""
    lx = world.lx
    msg = Message(openid="o-lock-test", kind="text", create_time=world.clock(), text="你好", msg_id="lock-1")
    c = world.login("admin")
    with overtaken_at_first_write(lx, lambda: handle(lx, msg)) as errors:
        r = c.post("/tasks", CARD)
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    assert not errors
    assert world.count(Task, Task.title == "冬季防火") == 1
    assert world.count(InboundMessage, InboundMessage.dedup_key == "msg:lock-1") == 1


def test_a_read_session_never_waits_for_a_writer(lx: Any) -> None:
    with lx.session() as w:
        audit.record(w, actor="test", action="held")
        w.flush()  # the writer holds the lock (SQLite) and its row is not committed
        with lx.read_session() as r:
            assert r.scalar(select(func.count()).select_from(AuditLog)) == 0


def test_a_read_session_refuses_to_write(lx: Any) -> None:
    with pytest.raises(ReadOnlySession):  # an ORM write, when it would flush …
        with lx.read_session() as s:
            audit.record(s, actor="test", action="sneaked")
            s.flush()
    with pytest.raises(ReadOnlySession):  # … or when the session ends: a write never vanishes without a word
        with lx.read_session() as s:
            audit.record(s, actor="test", action="forgotten")
    with pytest.raises(ReadOnlySession), lx.read_session() as s:  # an ORM-enabled UPDATE
        s.execute(update(AuditLog).values(actor="x"))
    with lx.read_session() as s:
        assert s.scalar(select(func.count()).select_from(AuditLog)) == 0


def test_sqlite_writers_begin_immediate_and_readers_deferred(lx: Any) -> None:
    if lx.engine.dialect.name != "sqlite":
        pytest.skip("BEGIN IMMEDIATE is SQLite's")
    begun: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.upper().startswith("BEGIN"):
            begun.append(statement.upper())

    event.listen(lx.engine, "before_cursor_execute", before)
    try:
        with lx.session() as s:
            s.scalar(select(func.count()).select_from(Cadre))
        with lx.sessions() as s:
            s.scalar(select(func.count()).select_from(Cadre))
        with lx.engine.begin() as conn:
            conn.execute(select(1))
        with lx.read_session() as s:
            s.scalar(select(func.count()).select_from(Cadre))
    finally:
        event.remove(lx.engine, "before_cursor_execute", before)
    assert begun == ["BEGIN IMMEDIATE", "BEGIN IMMEDIATE", "BEGIN IMMEDIATE", "BEGIN"]


def test_a_deferred_transaction_that_writes_after_reading_is_overtaken(lx: Any) -> None:
    """Why writers begin IMMEDIATE: the same read-then-write in a deferred transaction (what every session was)
    fails at its write, mid-transaction, once another writer committed after its read."""
    if lx.engine.dialect.name != "sqlite":
        pytest.skip("SQLITE_BUSY_SNAPSHOT is SQLite's")
    with pytest.raises(OperationalError, match="database is locked"):
        with overtaken_at_first_write(lx, _other_audit(lx)), read_only(lx.engine).begin() as conn:
            conn.execute(select(func.count()).select_from(AuditLog))
            conn.execute(insert(AuditLog).values(at=lx.now(), actor="test:me", action="late"))
    with lx.read_session() as s:
        assert list(s.scalars(select(AuditLog.action))) == ["other.write"]


def test_console_pages_are_read_while_a_writer_holds_the_lock(world: World) -> None:
    """A GET reads in read-only sessions (the session check included): it is served while another transaction
    holds SQLite's write lock, instead of queueing behind it (a writer's page would wait out the busy timeout)."""
    c = world.login("admin")
    with world.lx.session() as w:
        audit.record(w, actor="test", action="held")
        w.flush()  # this transaction now holds the write lock, uncommitted
        for page in ("/", "/cadres", f"/cadres/{world.ids['cadre_a']}", "/tasks", "/requests"):
            r = c.get(page)
            assert r.status_code == 200, (page, r.status_code)
