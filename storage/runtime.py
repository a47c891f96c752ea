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


@dataclass
class Lianxin:
    """The running product's parts, shared by the web app, the scheduler, the CLI and the tests."""

    config: Config
    engine: Engine
    # The one clock (storage/timestamps.py): the wall clock in production, a FakeClock in tests. Sessions carry it.
    clock: Callable[[], datetime]
    sessions: sessionmaker[Session] = field(init=False)
    extras: dict[str, Any] = field(default_factory=dict)
    # Wired by bot.app.build, so the layers below bot can call the transport without importing it:
    # makes an outbound WeChat API client (reminders.wechat_port.WechatApi, implemented in bot/wechat/api.py).
    wechat_api: Callable[[], Any] | None = None
    # render(report, fmt) -> bytes for the stored monthly report (console.documents.report.render).
    render_report: Callable[[Any, str], bytes] | None = None

    def __post_init__(self) -> None:
        # ``self.now`` rather than ``self.clock``: a test that swaps the clock is followed by every session.
        self.sessions = make_sessionmaker(self.engine, clock=self.now)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on error."""
        with session_scope(self.sessions) as s:
            yield s

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        self.engine.dispose()
