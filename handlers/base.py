"""The values handlers work with: the inbound message, the context, a route (predicate + handler) and a
router (a feature's ordered routes for one audience)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from storage.config import Config
from storage.models import WechatIdentity
from storage.outbox import enqueue
from storage.periods import local_day


@dataclass(frozen=True)
class Message:
    """One inbound WeChat message or event, free of the transport.

    ``kind``: text | voice | image | location | link | video | shortvideo | event | unknown.
    For voice, ``text`` is WeChat's speech Recognition (may be empty). For events, ``event`` is
    subscribe | unsubscribe | SCAN | CLICK | VIEW | LOCATION | … and ``event_key`` its key or scene.
    """

    openid: str
    kind: str
    create_time: datetime  # aware, from WeChat's CreateTime
    text: str = ""
    msg_id: str | None = None
    event: str | None = None
    event_key: str | None = None
    media_id: str | None = None
    pic_url: str | None = None
    location: tuple[float, float, str] | None = None  # (lat, lon, label)
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def dedup_key(self) -> str:
        """WeChat retries carry the same MsgId; events have none, so sender + CreateTime + event."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        key = f"evt:{self.openid}:{int(self.create_time.timestamp())}:{self.event or self.kind}"
        # Two template messages to one person end in the same second: their TEMPLATESENDJOBFINISH events differ
        # only by MsgID (the template message's msgid), so it is part of the key.
        receipt = (
            self.raw.get("MsgID") or self.raw.get("MsgId") if self.event == "TEMPLATESENDJOBFINISH" else None
        )
        return f"{key}:{str(receipt).strip()[:24]}" if receipt else key


class Outbox:
    """What handlers use to start a push; rows are written in the caller's transaction (see storage.outbox)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(
        self, openid: str, kind: str, text: str, *, key: str, template: dict[str, Any] | None = None
    ) -> bool:
        return enqueue(self.session, openid=openid, kind=kind, text=text, key=key, template=template)


@dataclass
class Context:
    """Everything a handler may use, injected by the dispatcher (never imported by handlers)."""

    session: Session
    config: Config
    identity: WechatIdentity
    inbound_id: (
        int | None
    )  # the inbound_message row this message was logged as (what diary rows and requests cite)
    now: Callable[[], datetime]
    render: Callable[..., str]
    outbox: Outbox
    # True when the dispatcher read with the identity's row that it has no conversation state (no guided 登记,
    # no pages kept for 更多): handlers/conversation.py then answers "none" without a SELECT
    no_conversation: bool = False

    @property
    def tz(self) -> Any:
        return self.config.tz

    def local_date(self, moment: datetime) -> date:
        """The configured zone's calendar day of ``moment`` (storage.periods.local_day)."""
        return local_day(moment, self.config.tz)

    def message_day(self, msg: Message) -> date:
        """The local day a message belongs to: the day of its WeChat CreateTime, not of when we handle it (a
        diary entry sent at 23:59 and retried after midnight is still that day's). The one way every handler
        asks it (diary, 小结, ledger marks, 请假, 本月, 延期)."""
        return self.local_date(msg.create_time)


Predicate = Callable[[Context, Message], "dict[str, Any] | None"]
Handler = Callable[..., "str | None"]


@dataclass(frozen=True)
class Route:
    """A pure predicate that returns the parsed arguments (a dict) when it matches, and the handler."""

    name: str
    match: Predicate
    handle: Handler


Guard = Callable[[Context], bool]


def anyone(ctx: Context) -> bool:
    """The audience of routes open to every account (follow events, 帮助, 绑定, …)."""
    return True


@dataclass(frozen=True)
class Router:
    """One feature's routes, in their order, for one audience: ``guard`` is checked once for all of them
    (handlers.routing), so a route's own predicate says only what the message must look like."""

    name: str
    guard: Guard
    routes: tuple[Route, ...]
