"""Telling the WeChat accounts of a household that closed (storage/register.py ``close_household``) that they are
no longer linked, and whom to ask: one push per account and closing, naming the household, the day and the
reason, and its cadre (or the office when it has none in post). Used by the console and the CLI, which sit
higher; the card's own answer to a closed household's number is handlers/villager.py's."""

from __future__ import annotations

from typing import Any

from handlers.base import Outbox
from handlers.render import render
from storage.config import DEFAULT_TZ
from storage.outbox import push_time
from storage.register import Closed
from storage.timestamps import now_of


def tell_closed(session: Any, closed: Closed, *, tz: Any = None) -> int:
    """Queue the 'your household left the programme' push to each unlinked account that can still be reached;
    returns how many were queued."""
    h = closed.household
    cadre = closed.cadre if closed.cadre is not None and closed.cadre.active else None
    outbox = Outbox(session)
    queued = 0
    for ident in closed.unlinked:
        if not ident.subscribed or ident.unreachable:
            continue
        text = render("household_closed_push", household=h, cadre=cadre)
        queued += outbox.enqueue(
            ident.openid,
            "notice",
            text,
            key=f"household-close:{h.id}:{ident.openid}",
            template={
                "title": "联户服务已结束",
                "text": f"{h.head_name}户已销户",
                "time": push_time(now_of(session), tz or DEFAULT_TZ),
            },
        )
    return queued
