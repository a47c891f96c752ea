"""Moving a household to another cadre (a handover, the console, an import): the new cadre's duties start afresh,
and the household's linked WeChat accounts are told who their cadre is now.

The service card names the cadre, so a card issued under the old cadre must be reissued: its 'issued' mark
(and 'printed') is cleared; the commitment letter was signed by the old cadre, so it is cleared too. What was
there is kept in the household's history (HouseholdInfoHistory) and the move itself in LinkChange; the ledger
then shows the card as 换卡待发 (storage/ledger/query.py: a card not issued since a move). So the ledger knows by
whom a duty was done without a column for it: the 服务卡 and 承诺书 marks on the card and the link are always the
current cadre's (a move clears them), the 登记表 and 宣传 belong to the household whoever did them, and each
mark's DutyRecord keeps the cadre who recorded it.
Functions take ``session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import (
    Cadre,
    Household,
    HouseholdInfoHistory,
    Link,
    LinkChange,
    ServiceCard,
    WechatIdentity,
)
from storage.outbox import enqueue, push_time
from storage.timestamps import now_of

CadreChangedWords = Callable[[Household, Cadre], str]
"""The villager's push 'your cadre is now …' for a household and its new cadre, written by the caller."""


def restart_duties(session: Session, household_ids: Iterable[int], *, changed_by: str, now: datetime) -> None:
    """Clear the card's issued/printed marks and the commitment of households just moved, keeping history."""
    ids = list(household_ids)
    if not ids:
        return
    for card in session.scalars(select(ServiceCard).where(ServiceCard.household_id.in_(ids))):
        if card.issued_on is not None:
            session.add(
                HouseholdInfoHistory(
                    household_id=card.household_id,
                    changed_at=now,
                    changed_by=changed_by,
                    field="card_issued_on",
                    old_value=f"{card.issued_on} {card.issued_by or ''}".strip(),
                    new_value="换卡待发",
                )
            )
        card.issued_on, card.issued_by, card.printed_at = None, None, None
    for link in session.scalars(select(Link).where(Link.household_id.in_(ids))):
        if link.commitment_signed_on is not None:
            session.add(
                HouseholdInfoHistory(
                    household_id=link.household_id,
                    changed_at=now,
                    changed_by=changed_by,
                    field="commitment_signed_on",
                    old_value=f"{link.commitment_signed_on} {link.commitment_recorded_by or ''}".strip(),
                    new_value=None,
                )
            )
        link.commitment_signed_on, link.commitment_recorded_by = None, None
    session.flush()


def last_change_ids(session: Session, household_ids: Iterable[int]) -> dict[int, int]:
    """household id → the id of its latest LinkChange (a move's identity, for idempotent pushes)."""
    out: dict[int, int] = {}
    for hid, cid in session.execute(
        select(LinkChange.household_id, LinkChange.id)
        .where(LinkChange.household_id.in_(list(household_ids)))
        .order_by(LinkChange.household_id, LinkChange.id)
    ):
        out[hid] = cid
    return out


def tell_villagers(
    session: Session, household_ids: Iterable[int], *, words: CadreChangedWords, tz: Any
) -> int:
    """Queue the 'your cadre is now …' push to every subscribed, reachable account of each household (one per
    account and move: keyed on the move's LinkChange), naming the new cadre and their phone; returns how many."""
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
    queued = 0
    for openid, household, cadre in rows:
        # The named values of a notice (title, text, time); delivery maps them onto [wechat.templates.notice].
        queued += enqueue(
            session,
            openid=openid,
            kind="notice",
            text=words(household, cadre),
            key=f"link-move:{changes.get(household.id, 0)}:{openid}",
            template={
                "title": "联户干部变更",
                "text": f"{cadre.name} {cadre.phone}",
                "time": push_time(now_of(session), tz),
            },
        )
    return queued
