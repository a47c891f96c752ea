"""Handing households to another cadre (issue 24 item 1): ``lianxin cadre handover``, ``lianxin household move``
and the cadre's console page all call ``hand_over``.

From now, for each household that moves:

- its link points at the successor (a LinkChange row keeps the move), and the duties tied to the cadre start
  afresh (storage/links.py ``restart_duties``: the 服务卡 is to be reissued naming the successor, the 承诺书 signed
  again); the public listing and the printed card read the current link, so they name the successor next time;
- its unanswered requests go to the successor (``cadre_id`` changed, ``handed_over_at`` set) and are pushed to
  them; the pages the old cadre was sent about the household's requests stop opening;
- the open supervision cards that concern it go with it (storage/tasks/handover.py);
- its linked WeChat accounts are told the successor's name and phone (storage/links.py ``tell_villagers``); the
  chat routes a villager's next message by the current link (storage/requests.py ``cadre_for``).

What stays with whoever did the work: diaries, answers, feedback, scores, circulars, answered requests.
Storage renders no chat text: the words of the pushes come from the caller (``HandoverWords``).
Functions take ``session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage import links, push_links, requests
from storage.audit import record
from storage.cards import household_by_number, normalize_number
from storage.config import Config
from storage.models import (
    Cadre,
    Household,
    Link,
    LinkChange,
    OutboxMessage,
    ServiceCard,
    VillagerRequest,
    WechatIdentity,
)
from storage.register import in_programme
from storage.tasks.handover import carry_cards
from storage.tasks.publishing import PushWords


class HandoverError(ValueError):
    """A handover that cannot be done (said in Chinese); nothing changed."""


@dataclass(frozen=True)
class HandoverWords:
    """The words of a handover's pushes, written by the caller (the CLI and the console: ``Lianxin.words`` and
    handlers/link_notices.py)."""

    requests: requests.RequestWords  # an unanswered request pushed to the successor
    card: PushWords  # an open supervision card pushed to the successor
    villager: links.CadreChangedWords  # 'your cadre is now …' to each linked account


@dataclass
class Handed:
    """What a handover did."""

    households: list[int] = field(default_factory=list)  # the ids of the households that moved
    requests: list[int] = field(default_factory=list)  # the numbers of the requests that went with them
    cards: list[int] = field(default_factory=list)  # the numbers of the supervision cards carried
    villagers_told: int = 0
    links_revoked: int = 0


def hand_over(
    session: Session,
    *,
    household_ids: Iterable[int],
    successor: Cadre,
    actor: str,
    now: datetime,
    words: HandoverWords,
    config: Config,
) -> Handed:
    """Move ``household_ids`` to ``successor`` from ``now``, with what goes with them (the module says what).
    Households already the successor's are left alone. Refused (HandoverError) for a retired successor or a
    household of another township."""
    if not successor.active:
        raise HandoverError(f"干部 {successor.name} 已退出，不能接收农户")
    rows = list(
        session.execute(
            select(Link, Household)
            .join(Household, Household.id == Link.household_id)
            .where(Link.household_id.in_(list(household_ids)), Link.cadre_id != successor.id)
            .order_by(Household.id)
        ).tuples()
    )
    done = Handed()
    moved: dict[int, int] = {}
    for link, household in rows:
        if household.village.township_id != successor.township_id:
            raise HandoverError(f"农户 {household.head_name} 与干部 {successor.name} 不在同一乡镇，不能交接")
        moved[household.id] = link.cadre_id
        session.add(
            LinkChange(
                household_id=household.id,
                old_cadre_id=link.cadre_id,
                new_cadre_id=successor.id,
                changed_at=now,
                changed_by=actor,
            )
        )
        link.cadre_id, link.linked_at = successor.id, now
    if not moved:
        return done
    session.flush()
    done.households = sorted(moved)
    links.restart_duties(session, done.households, changed_by=actor, now=now)
    done.requests, done.links_revoked = _carry_requests(session, moved, successor, now, words, config)
    done.cards = sorted(
        carry_cards(session, moved=moved, successor=successor, now=now, words=words.card).numbers()
    )
    done.villagers_told = links.tell_villagers(session, done.households, words=words.villager, tz=config.tz)
    for old in sorted(set(moved.values())):
        record(
            session,
            actor=actor,
            action="cadre.handover",
            target=f"cadre:{old}",
            detail={
                "to_cadre": successor.id,
                "households": sorted(h for h, o in moved.items() if o == old),
                "requests": done.requests,
                "cards": done.cards,
            },
        )
    return done


def _carry_requests(
    session: Session,
    moved: dict[int, int],
    successor: Cadre,
    now: datetime,
    words: HandoverWords,
    config: Config,
) -> tuple[list[int], int]:
    """The moved households' unanswered requests go to the successor and are pushed to them; the old cadres'
    pages about the households' requests die. Returns (request numbers, pages revoked)."""
    ids = list(moved)
    carried: list[int] = []
    for req in session.scalars(
        select(VillagerRequest)
        .where(
            VillagerRequest.household_id.in_(ids),
            VillagerRequest.status == "open",
            VillagerRequest.first_answer_at.is_(None),
        )
        .order_by(VillagerRequest.id)
    ):
        if req.cadre_id == successor.id:
            continue
        req.cadre_id, req.handed_over_at = successor.id, now
        household = session.get(Household, req.household_id)
        assert household is not None
        answer_to = session.get(WechatIdentity, req.answer_to_id) if req.answer_to_id else None
        requests.forward(
            session,
            request=req,
            household=household,
            cadre=successor,
            text=words.requests.to_cadre(req, household, answer_to),
            words=words.requests,
            config=config,
            key=f"request:{req.id}:handover:{now.isoformat()}",
        )
        carried.append(req.number)
    return carried, _revoke_old_pages(session, moved, carried, now)


def _revoke_old_pages(session: Session, moved: dict[int, int], carried: list[int], now: datetime) -> int:
    """The pages of pushes the old cadres' accounts were sent about the moved households' requests stop opening,
    and the pushes of the carried requests still waiting for them are withdrawn (the successor has them)."""
    openids = list(
        session.scalars(
            select(WechatIdentity.openid).where(
                WechatIdentity.kind == "cadre", WechatIdentity.cadre_id.in_(set(moved.values()))
            )
        )
    )
    request_ids = list(
        session.scalars(select(VillagerRequest.id).where(VillagerRequest.household_id.in_(list(moved))))
    )
    if openids and carried:
        _withdraw_waiting(session, openids, carried)
    return push_links.revoke_links_about(session, openids=openids, request_ids=request_ids, now=now)


def _withdraw_waiting(session: Session, openids: list[str], numbers: list[int]) -> None:
    """Delete the request pushes to ``openids`` about requests ``numbers`` still waiting in the outbox (a row
    carrying other merged messages is left alone: those must still go out)."""
    ids = list(session.scalars(select(VillagerRequest.id).where(VillagerRequest.number.in_(numbers))))
    waiting = [
        mid
        for mid, key, payload in session.execute(
            select(OutboxMessage.id, OutboxMessage.idempotency_key, OutboxMessage.payload).where(
                OutboxMessage.openid.in_(openids),
                OutboxMessage.kind == "request",
                OutboxMessage.status.in_(("pending", "refused")),
            )
        )
        if any(key.startswith(f"request:{rid}:") for rid in ids) and not (payload or {}).get("merged")
    ]
    if waiting:
        session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.id.in_(waiting), OutboxMessage.status.in_(("pending", "refused")))
            .execution_options(synchronize_session=False)
        )


def households_of(session: Session, cadre_id: int, cards: Iterable[str] = ()) -> list[int]:
    """The ids of the cadre's households: all, or those with the given card numbers (HandoverError naming a card
    that is not one of theirs)."""
    wanted = [normalize_number(c) for c in cards]
    rows = session.execute(
        select(Household.id, ServiceCard.number)
        .join(Link, Link.household_id == Household.id)
        .outerjoin(ServiceCard, ServiceCard.household_id == Household.id)
        .where(Link.cadre_id == cadre_id, in_programme())  # a closed household stays with its history
    ).all()
    if not wanted:
        return sorted(hid for hid, _ in rows)
    by_card = {number: hid for hid, number in rows if number}
    missing = [c for c in wanted if c not in by_card]
    if missing:
        raise HandoverError(f"卡号 {'、'.join(missing)} 不是该干部联系的农户")
    return sorted({by_card[c] for c in wanted})


def household_of_card(session: Session, card: str) -> Household:
    """The household holding card number ``card``, however typed (storage.cards.household_by_number); HandoverError
    when none."""
    household = household_by_number(session, card)
    if household is None:
        raise HandoverError(f"没有卡号为 {card} 的农户")
    return household
