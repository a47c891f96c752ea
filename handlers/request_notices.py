"""A villager's request received offline (phone, visit, letter) and registered by the office: stored by
storage.offline like one sent by chat, and pushed to the household's cadre with the chat request's wording
(request_push.txt.j2, naming the channel). At the handlers level for the same reason as task_notices: the
console and the CLI sit higher and share it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handlers.base import Outbox
from handlers.common import cadre_openid
from handlers.render import render
from handlers.roles import ROLES
from storage import offline
from storage.models import Household, VillagerRequest, WechatIdentity
from storage.outbox import request_values


def record_request(
    session: Any,
    *,
    household: Household,
    text: str,
    channel: str,
    at: datetime,
    actor: str,
    now: datetime,
    tz: Any,
    answer_to: WechatIdentity | None = None,
) -> VillagerRequest:
    """storage.offline.add_offline_request, and the push that forwards it to the cadre (once, keyed on it)."""
    req = offline.add_offline_request(
        session,
        household=household,
        text=text,
        channel=channel,
        at=at,
        actor=actor,
        now=now,
        answer_to=answer_to,
    )
    openid = cadre_openid(session, req.cadre_id)
    if openid is not None:
        text_ = render(
            "request_push",
            request=req,
            household=household,
            role=ROLES.get(req.role or "", ""),
            channel=offline.CHANNELS.get(req.channel),
            answer_to=answer_to,
        )
        # Named values of a ``request`` push (PRODUCT.md "Pushes"): number, household, category, text, time.
        Outbox(session).enqueue(
            openid,
            "request",
            text_,
            key=f"request:{req.id}:cadre",
            template=request_values(req, tz, household),
        )
    return req
