"""A villager's request (诉求): made one way for every door — the chat (handlers/villager.py), the office's
offline entry by phone, visit or letter (storage/offline.py, from the console and the CLI) — and sent where it
can be read.

Why one function: the chat and the office's entry used to make requests each in their own way (two MAX + 1
loops with different failure behaviour; the office's push went to the cadre even when the cadre's WeChat could
not be reached). ``create`` now numbers the request (storage/numbering.py), stores it and queues its push, in
the caller's transaction, for every caller alike.

Where it goes: to the household's cadre, or — when the cadre's WeChat cannot be reached (they unfollowed the
account or switched off its messages, storage/reachability.py) — to the office (storage/offices.py), so that no
request is "forwarded" to no one; nowhere yet when the cadre has no WeChat bound (the console lists it).
Delivery (reminders/undeliverable.py) and the chat's template receipts (handlers/events.py) call ``reroute``
when a request's push meets a cadre who became unreachable after it was queued: the office gets the request and
the villager is told, once, that the office has it.

Storage renders no chat text: the pushes' words come from the caller as a ``RequestWords``
(handlers/request_notices.py writes them from the .txt.j2 templates; the console and the CLI get them from
``Lianxin.words``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session, make_transient_to_detached

from storage import numbering, offices
from storage.config import Config
from storage.models import Cadre, Household, Link, VillagerRequest, WechatIdentity
from storage.outbox import enqueue, push_time, request_values
from storage.reachability import cadre_accounts, reachable
from storage.roles import CATEGORY_ROLE

TO_CADRE, TO_OFFICE, NOWHERE = "cadre", "office", "none"


class RequestWords(Protocol):
    """The words of a request's pushes, written by the caller (storage decides who is told, never the wording)."""

    def to_cadre(
        self, request: VillagerRequest, household: Household, answer_to: WechatIdentity | None
    ) -> str:
        """The push that gives the request to its cadre."""
        ...

    def to_office(self, request: VillagerRequest, household: Household, cadre: Cadre, reason: str) -> str:
        """The push that gives it to an office account, its cadre's WeChat unreachable for ``reason``."""
        ...

    def rerouted(self, request: VillagerRequest, cadre: Cadre) -> str:
        """The villager's push: the cadre could not get the request, the office has it."""
        ...


@dataclass(frozen=True)
class Created:
    """A request just made, and where its push went (``TO_CADRE``, ``TO_OFFICE`` or ``NOWHERE``)."""

    request: VillagerRequest
    went: str


# Built once per process: every villager request runs them (SQLAlchemy memoises a built statement's key).
_CADRE_FOR = (  # one statement, not the Link and then its Cadre
    select(Cadre)
    .join(Link, Link.cadre_id == Cadre.id)
    .where(Link.household_id == bindparam("b_household"))
    .limit(1)
)
_TABLE = VillagerRequest.__table__
_INSERT = insert(_TABLE).returning(_TABLE.c.id)


def cadre_for(session: Session, household_id: int) -> Cadre | None:
    """The household's linked cadre, who gets its requests (None: no cadre yet, no request can be made)."""
    return session.scalar(_CADRE_FOR, {"b_household": household_id})


def create(
    session: Session,
    *,
    household: Household,
    cadre: Cadre,
    text: str,
    category: str,
    created_at: datetime,
    words: RequestWords,
    config: Config,
    msg_type: str = "text",
    identity_id: int | None = None,
    inbound_id: int | None = None,
    channel: str = "wechat",
    recorded_by: str | None = None,
    answer_to: WechatIdentity | None = None,
) -> Created:
    """Number and store a request of ``household`` for ``cadre`` (``cadre_for``), and queue its push.

    ``identity_id``: the WeChat account that sent it (None: received offline, ``channel`` phone/visit/letter,
    registered by ``recorded_by``; ``answer_to``: the linked account the office chose to tell of the answer).
    ``created_at``: when it was received (it counts in that period and its time limit runs from then)."""
    values = {
        "number": numbering.draw(session, "villager_request"),
        "household_id": household.id,
        "identity_id": identity_id,
        "cadre_id": cadre.id,
        "channel": channel,
        "recorded_by": recorded_by,
        "answer_to_id": answer_to.id if answer_to is not None else None,
        "category": category,
        "role": CATEGORY_ROLE.get(category),
        "text": text,
        "msg_type": msg_type,
        "created_at": created_at,
        "first_answer_at": None,
        "status": "open",
        "satisfaction": None,
        "satisfaction_at": None,
        "reopened_count": 0,
        "closed_at": None,
        "closed_by": None,
        "inbound_id": inbound_id,
    }
    # Core INSERT … RETURNING id (the ORM's unit of work cost more than the statement on the chat's hot path);
    # the row becomes the ORM object without a SELECT, in the session as if loaded.
    request = VillagerRequest(id=session.connection().execute(_INSERT, values).scalar_one(), **values)
    make_transient_to_detached(request)
    session.add(request)
    went = forward(
        session,
        request=request,
        household=household,
        cadre=cadre,
        text=words.to_cadre(request, household, answer_to),
        words=words,
        config=config,
    )
    return Created(request, went)


def forward(
    session: Session,
    *,
    request: VillagerRequest,
    household: Household,
    cadre: Cadre,
    text: str,
    words: RequestWords,
    config: Config,
    key: str | None = None,
) -> str:
    """Queue the request's push (``text``) to its cadre (``TO_CADRE``), or to the office when the cadre's WeChat
    cannot be reached (``TO_OFFICE``); ``NOWHERE`` when the cadre has no WeChat bound yet (the console lists it).
    ``key``: the push's idempotency key when it is not the request's first push (a handover: storage/handover.py)."""
    key = key or f"request:{request.id}"
    ident = cadre_accounts(session, [cadre.id]).get(cadre.id)
    if ident is None:
        return NOWHERE
    if reachable(ident):
        enqueue(
            session,
            openid=ident.openid,
            kind="request",
            text=text,
            key=f"{key}:cadre",
            template=request_values(request, config.tz, household),
        )
        return TO_CADRE
    to_office(
        session,
        request=request,
        household=household,
        cadre=cadre,
        reason=ident.unreachable_reason or "取消关注",
        key=f"{key}:office",
        words=words,
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
    words: RequestWords,
    config: Config,
) -> int:
    """The request as a push to each office account (its cadre could not be reached); returns how many."""
    text = words.to_office(request, household, cadre, reason)
    values = request_values(request, config.tz, household) | {"category": "干部无法接收"}
    told = offices.recipients(session, config, cadre.township_id)
    for openid in told:
        enqueue(session, openid=openid, kind="request", text=text, key=f"{key}:{openid}", template=values)
    return len(told)


def reroute(
    session: Session,
    *,
    number: int,
    reason: str,
    key: str,
    words: RequestWords,
    config: Config,
    now: datetime,
) -> bool:
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
        words=words,
        config=config,
    )
    villager = session.get(WechatIdentity, req.identity_id) if req.identity_id else None
    if reachable(villager) and villager is not None:
        enqueue(
            session,
            openid=villager.openid,
            kind="reply",
            text=words.rerouted(req, cadre),
            key=f"request:{req.id}:office-told",
            template={
                "number": str(req.number),
                "cadre": "镇办公室",
                "text": "联户干部微信收不到消息，已转镇办公室处理",
                "time": push_time(now, config.tz),
            },
        )
    return True
