"""What the domain services need worded, as a type: the words of the pushes they queue.

Storage decides who is told and under which key, never the wording (docs/architecture.md: storage renders no
chat text). The words are written from the .txt.j2 templates in handlers (handlers/wording.py), and
``bot.app.build`` puts them on ``Lianxin.words``, so the console and the CLI hand them to storage's services
without importing a chat handler, and storage stays below both.
"""

from __future__ import annotations

from typing import Protocol
from zoneinfo import ZoneInfo

from storage.requests import RequestWords
from storage.station import StationWords
from storage.tasks import NoticeWords, PushWords


class Wording(Protocol):
    """The push wording the office's doors (console, CLI) pass to storage's services."""

    @property
    def requests(self) -> RequestWords:
        """A villager request's pushes (storage.requests.create, storage.offline.add_offline_request)."""
        ...

    def station(self, tz: ZoneInfo) -> StationWords:
        """转办's pushes (storage.station): to a department's staff, the villager, the cadre and the office; times
        shown in ``tz``."""
        ...

    def task_published(self, tz: ZoneInfo, office: str = "") -> PushWords:
        """A newly published card's push (storage.tasks.create_task, publish); ``office``: the issuing office."""
        ...

    def task_returned(self, reason: str) -> NoticeWords:
        """The cadre's notice of feedback sent back for ``reason`` (storage.tasks.return_feedback)."""
        ...

    def extension_answered(self, tz: ZoneInfo, reason: str = "") -> NoticeWords:
        """The cadre's notice of the office's answer to a 延期 request (storage.tasks.answer_extension)."""
        ...
