"""The push wording of every domain service, as one object (``storage.wording.Wording``) that ``bot.app.build``
puts on ``Lianxin.words``: the console and the CLI pass it to storage's services instead of importing chat
handlers. The words themselves are the feature modules': handlers/task_notices.py (cards),
handlers/request_notices.py (villagers' requests) and handlers/station_notices.py (转办).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from handlers import request_notices, station_notices, task_notices
from storage.requests import RequestWords
from storage.station import StationWords
from storage.tasks import NoticeWords, PushWords


class ChatWording:
    """``storage.wording.Wording`` from handlers' .txt.j2 templates."""

    @property
    def requests(self) -> RequestWords:
        return request_notices.WORDS

    def station(self, tz: ZoneInfo) -> StationWords:
        return station_notices.StationNotices(tz)

    def task_published(self, tz: ZoneInfo, office: str = "") -> PushWords:
        return task_notices.published_words(tz, office)

    def task_returned(self, reason: str) -> NoticeWords:
        return task_notices.returned_words(reason)

    def extension_answered(self, tz: ZoneInfo, reason: str = "") -> NoticeWords:
        return task_notices.extension_answered_words(tz, reason)


WORDING = ChatWording()
