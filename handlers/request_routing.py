"""Where a villager's request goes: to the household's cadre, or — when the cadre's WeChat cannot be reached
(they unfollowed the account or switched off its messages, storage/reachability.py) — to the office, so that no
request is "forwarded" to no one.

The office is ``[scheduler] office_openids``, the accounts bound as office, and the cadre's township's office
(``township_office_openids``), as every office notice (storage.tasks.office_recipients); the console's requests
page lists these requests too (filter 干部无法接收). One module for every door: the chat (handlers/villager.py
``create_request``) asks ``forward`` before it answers the villager, and delivery (reminders/delivery.py) calls
``reroute`` when a request's push meets a cadre who became unreachable after it was queued (an ``unsubscribe``
meanwhile, 43004 or 48002 from WeChat) — then the villager is told by a push that the office has it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.render import render
from storage.config import Config
from storage.models import Cadre, Household, VillagerRequest, WechatIdentity
from storage.outbox import enqueue, push_time, request_values
from storage.reachability import cadre_accounts, reachable
from storage.tasks import office_recipients

TO_CADRE, TO_OFFICE, NOWHERE = "cadre", "office", "none"


def forward(
    session: Session,
    *,
    request: VillagerRequest,
    household: Household,
    cadre: Cadre,
    cadre_text: str,
    config: Config,
) -> str:
    """Queue the request's push to its cadre (``TO_CADRE``), or to the office when the cadre's WeChat cannot be
    reached (``TO_OFFICE``); ``NOWHERE`` when the cadre has no WeChat bound yet (the console lists it)."""
    ident = cadre_accounts(session, [cadre.id]).get(cadre.id)
    if ident is None:
        return NOWHERE
    if reachable(ident):
        enqueue(
            session,
            openid=ident.openid,
            kind="request",
            text=cadre_text,
            key=f"request:{request.id}:cadre",
            template=request_values(request, config.tz, household),
        )
        return TO_CADRE
    to_office(
        session,
        request=request,
        household=household,
        cadre=cadre,
        reason=ident.unreachable_reason or "取消关注",
        key=f"request:{request.id}:office",
        config=config,
    )
    return TO_OFFICE


def to_office(
    session: Session,
    *,
    request: VillagerRequest,
    household: Household,
    cadre: Cadre,
    reason: str,
    key: str,
    config: Config,
) -> int:
    """The request as a push to each office account (its cadre could not be reached); returns how many."""
    text = render("request_to_office", request=request, household=household, cadre=cadre, reason=reason)
    values = request_values(request, config.tz, household) | {"category": "干部无法接收"}
    sched = config.scheduler
    offices = office_recipients(
        session,
        sched.office_openids,
        township_id=cadre.township_id,
        by_township=sched.township_office_openids,
    )
    for openid in offices:
        enqueue(session, openid=openid, kind="request", text=text, key=f"{key}:{openid}", template=values)
    return len(offices)


def reroute(session: Session, *, number: int, reason: str, key: str, config: Config, now: Any) -> bool:
    """Delivery met an unreachable cadre with request ``number``'s push (queued under ``key``): the office gets
    the request and the villager is told, once, that the office has it. False when there is no such request."""
    req = session.scalar(select(VillagerRequest).where(VillagerRequest.number == number))
    if req is None:
        return False
    household = session.get(Household, req.household_id)
    cadre = session.get(Cadre, req.cadre_id)
    if household is None or cadre is None:
        return False
    to_office(
        session,
        request=req,
        household=household,
        cadre=cadre,
        reason=reason,
        key=f"{key}:to-office",
        config=config,
    )
    villager = session.get(WechatIdentity, req.identity_id) if req.identity_id else None
    if reachable(villager) and villager is not None:
        enqueue(
            session,
            openid=villager.openid,
            kind="reply",
            text=render("request_rerouted_push", request=req, cadre=cadre),
            key=f"request:{req.id}:office-told",
            template={
                "number": str(req.number),
                "cadre": "镇办公室",
                "text": "联户干部微信收不到消息，已转镇办公室处理",
                "time": push_time(now, config.tz),
            },
        )
    return True
