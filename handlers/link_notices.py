"""Telling a household's linked WeChat accounts that their cadre changed (a move in the console or an import).

One push per account and move (keyed on the LinkChange), naming the new cadre, post and phone, so the villager
knows whom their messages now reach. Used by the console and the import (CLI and console), which sit higher.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from handlers.base import Outbox
from handlers.render import render
from storage.config import DEFAULT_TZ
from storage.links import last_change_ids
from storage.models import Cadre, Household, Link, WechatIdentity
from storage.outbox import push_time
from storage.timestamps import now_of


def tell_villagers(session: Any, household_ids: Iterable[int], *, tz: Any = None) -> int:
    """Queue the 'your cadre is now …' push to every subscribed account of each household; returns how many."""
    ids = list(household_ids)
    if not ids:
        return 0
    changes = last_change_ids(session, ids)
    rows = session.execute(
        select(WechatIdentity.openid, Household, Cadre)
        .join(Household, Household.id == WechatIdentity.household_id)
        .join(Link, Link.household_id == Household.id)
        .join(Cadre, Cadre.id == Link.cadre_id)
        .where(
            WechatIdentity.household_id.in_(ids),
            WechatIdentity.kind == "villager",
            WechatIdentity.subscribed.is_(True),
            WechatIdentity.unreachable.is_(False),
        )
    ).all()
    outbox = Outbox(session)
    queued = 0
    for openid, household, cadre in rows:
        text = render("cadre_changed_push", household=household, cadre=cadre)
        # The named values of a notice (title, text, time); delivery maps them onto [wechat.templates.notice].
        queued += outbox.enqueue(
            openid,
            "notice",
            text,
            key=f"link-move:{changes.get(household.id, 0)}:{openid}",
            template={
                "title": "联户干部变更",
                "text": f"{cadre.name} {cadre.phone}",
                "time": push_time(now_of(session), tz or DEFAULT_TZ),
            },
        )
    return queued
