"""The running product's parts (config, engine, sessions, clock), built by ``bot.app.build``.

It lives in storage, the lowest layer, so that every layer above (handlers, reminders, the console, the CLI)
can name its type without importing the app factory that builds it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.config import Config
from storage.db import make_sessionmaker, session_scope
from storage.wording import Wording


@dataclass
class Lianxin:
    """The running product's parts, shared by the web app, the scheduler, the CLI and the tests."""

    config: Config
    engine: Engine
    # The one clock (storage/timestamps.py): the wall clock in production, a FakeClock in tests. Sessions carry it.
    clock: Callable[[], datetime]
    # Writers (BEGIN IMMEDIATE on SQLite: storage/db.py READ_ONLY) and readers (deferred, refusing to write).
    sessions: sessionmaker[Session] = field(init=False)
    read_sessions: sessionmaker[Session] = field(init=False)
    extras: dict[str, Any] = field(default_factory=dict)
    # Wired by bot.app.build, so the layers below bot can call the transport without importing it:
    # makes an outbound WeChat API client (reminders.wechat_port.WechatApi, implemented in bot/wechat/api.py).
    wechat_api: Callable[[], Any] | None = None
    # render(report, fmt) -> bytes for the stored monthly report (console.documents.report.render).
    render_report: Callable[[Any, str], bytes] | None = None
    # The wording of the pushes storage's services queue (handlers/wording.py), for the doors above handlers.
    words: Wording | None = None

    def __post_init__(self) -> None:
        # ``self.now`` rather than ``self.clock``: a test that swaps the clock is followed by every session.
        self.sessions = make_sessionmaker(self.engine, clock=self.now)
        self.read_sessions = make_sessionmaker(self.engine, clock=self.now, read_only=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on error. On SQLite it holds the write lock from its
        first statement (storage/db.py), so a unit of work that reads before it writes is never overtaken."""
        with session_scope(self.sessions) as s:
            yield s

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session that only reads: it never waits for a writer and refuses to write (storage/db.py)."""
        s = self.read_sessions()
        try:
            yield s
            if s.new or s.deleted or s.dirty:  # a write that never flushed must not vanish without a word
                s.flush()  # raises ReadOnlySession
        finally:
            s.close()

    def now(self) -> datetime:
        return self.clock()

    def wording(self) -> Wording:
        """The push wording for storage's services (storage.wording.Wording), wired by bot.app.build."""
        if self.words is None:
            raise RuntimeError("Lianxin.words is wired by bot.app.build")
        return self.words

    def close(self) -> None:
        self.engine.dispose()
