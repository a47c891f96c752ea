"""WeChat's customer-service window (客服消息下发规则): after a person writes to the account, or acts on it, the
account may send them customer-service messages for a while, a few at most; outside it only template messages.

Source: https://developers.weixin.qq.com/doc/offiaccount/Customer_Service/Customer_Service_Messages.html (and
docs/wechat-rules.md §5b): a user's message opens 5 messages within 48 hours; a follow, a scan of a parametric
QR code, a menu click (CLICK, scancode_push, scancode_waitmsg) 3 within 1 minute; every other event (location
reports, template receipts, VIEW, unsubscribe) opens nothing. Quotas do not add up.

One home for these numbers: the dispatcher stores the window with the message that opened it (bot/dispatch.py),
seeds and tests open one the same way (storage.outbox.open_user_window), and delivery reads what was stored
(reminders/channels.py). The fake WeChat (tests/fake_wechat.py) keeps its own copy on purpose: it checks us.
"""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple


class Window(NamedTuple):
    quota: int  # customer-service messages the window allows
    length: timedelta  # how long it stays open


USER_MESSAGE = Window(5, timedelta(hours=48))
ACTION = Window(3, timedelta(minutes=1))
ACTION_EVENTS = frozenset({"subscribe", "SCAN", "CLICK", "scancode_push", "scancode_waitmsg"})


def opened_by(kind: str, event: str | None) -> Window | None:
    """The window an inbound message of ``kind`` (``event`` for events) opens, or None."""
    if kind != "event":
        return USER_MESSAGE
    if event in ACTION_EVENTS:
        return ACTION
    return None
