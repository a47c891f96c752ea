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
from storage.db import session_scope
from storage.timestamps import utcnow
from storage.wording import Wording


@dataclass
class Lianxin:
    """The running product's parts, shared by the web app, the scheduler, the CLI and the tests."""

    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime] = utcnow
    extras: dict[str, Any] = field(default_factory=dict)
    # Wired by bot.app.build, so the layers below bot can call the transport without importing it:
    # makes an outbound WeChat API client (reminders.wechat_port.WechatApi, implemented in bot/wechat/api.py).
    wechat_api: Callable[[], Any] | None = None
    # render(report, fmt) -> bytes for the stored monthly report (console.documents.report.render).
    render_report: Callable[[Any, str], bytes] | None = None
    # The wording of the pushes storage's services queue (handlers/wording.py), for the doors above handlers.
    words: Wording | None = None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on error."""
        with session_scope(self.sessions) as s:
            yield s

    def now(self) -> datetime:
        return self.clock()

    def wording(self) -> Wording:
        """The push wording for storage's services (storage.wording.Wording), wired by bot.app.build."""
        if self.words is None:
            raise RuntimeError("Lianxin.words is wired by bot.app.build")
        return self.words

    def close(self) -> None:
        self.engine.dispose()
