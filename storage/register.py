"""The household register without re-importing (issue 24 item 4; PRODUCT.md "People change over a year"):
``lianxin household add`` / ``household close`` and the same on the console's households pages.

- **Add**: a household of an existing village (its 村民小组 made when new), linked to an active cadre of the same
  township, with a service card whose number is drawn as every card's (storage/cards.py ``draw_number``).
  ``added_by`` marks it as the register's: a link list that later leaves it out is shown to the office before it
  is applied (storage/importer/register_edits.py).
- **Close**: the household leaves the programme on ``closed_on`` (today or a day before, never later) for one of
  ``REASONS``. At once its card links no more (handlers/villager.py answers whom to ask: its cadre, or the
  office), its linked WeChat accounts are unlinked and their pages under public_url die with them
  (storage/push_links.py) — the caller tells them (handlers/household_notices.py). From ``closed_on`` it leaves
  its cadre's household count, the ledger and the reports (``in_programme``); the days before still count.
  Nothing is deleted: the household page shows it as 已销户 with the reason and the day; its history, duties
  and requests stay.
- **Its open requests** stay with its cadre, who may still answer and close them (回复 M, the console): the
  answer is recorded, but not pushed to the accounts unlinked at the closing — as for any account unlinked
  (handlers/replies.py relays to a linked villager only); they were told whom to ask, and the cadre's reply
  says the answer did not reach anyone. No new request is made for it: its accounts are unlinked, and the
  office's offline entry refuses a closed household (storage/offline.py).
- **Reopen**: only a link list that names a closed household again, after the office confirmed the preview that
  said so (storage/importer/register_edits.py).

Functions take ``session`` and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from storage import cards, household_tags
from storage.accounts import normalize_phone, valid_phone
from storage.audit import record
from storage.models import (
    Cadre,
    Household,
    HouseholdInfoHistory,
    Link,
    LinkChange,
    ServiceCard,
    Village,
    VillagerGroup,
    WechatIdentity,
)
from storage.push_links import revoke_links_for

REASONS = ("迁出", "去世", "合户", "其他")
CLOSED_FIELD = "closed"  # HouseholdInfoHistory.field of a closing (and of a reopening: new_value None)
MAX_POPULATION = 99


class RegisterError(ValueError):
    """The change is refused; the message says why (in Chinese, for the office)."""


def in_programme(on: date | None = None) -> ColumnElement[bool]:
    """SQL: the household is in the programme — now (``on`` None: not closed), or on day ``on`` (closed after
    it). The one rule for every count, list and reminder that must leave a closed household out."""
    if on is None:
        return Household.closed_on.is_(None)
    return or_(Household.closed_on.is_(None), Household.closed_on > on)


def household_by_card(session: Session, card: str) -> Household:
    """The household holding card ``card`` (storage.cards.by_number), closed or not; RegisterError when none."""
    h = cards.household_by_number(session, card)
    if h is None:
        raise RegisterError(f"没有卡号为 {card} 的农户 / no household with card {card}")
    return h


# ------------------------------------------------------------------------------------------------ add


@dataclass(frozen=True)
class NewHousehold:
    """A household as the office gives it (``household add``, the console's 新增农户 form)."""

    village: str
    group: str
    head: str
    phone: str
    size: int
    cadre_phone: str
    tags: tuple[str, ...] = field(default=())


def _checked(new: NewHousehold) -> tuple[str, str, str]:
    """(head, phone, group) as stored, or RegisterError."""
    head, group = new.head.strip(), new.group.strip()
    phone = normalize_phone(new.phone or "")
    if not head:
        raise RegisterError("户主姓名不能为空")
    if len(head) > 50:
        raise RegisterError(f"户主姓名过长（{len(head)} 字，最多 50 字）")
    if len(group) > 100:
        raise RegisterError(f"村民小组名称过长（{len(group)} 字，最多 100 字）")
    if phone and not valid_phone(phone):
        raise RegisterError(f"户主电话「{new.phone}」不是有效的手机号或带区号的座机号")
    if not 0 <= new.size <= MAX_POPULATION:
        raise RegisterError(f"家庭人口应为 0–{MAX_POPULATION} 的整数")
    try:
        household_tags.parse(new.tags)
    except household_tags.TagError as e:
        raise RegisterError(str(e)) from None
    return head, phone, group


def _village(session: Session, township_id: int, name: str) -> Village:
    v = session.scalar(
        select(Village).where(Village.township_id == township_id, Village.name == name.strip())
    )
    if v is None:
        known = "、".join(
            session.scalars(
                select(Village.name).where(Village.township_id == township_id).order_by(Village.name)
            )
        )
        raise RegisterError(f"没有名为「{name}」的村(居)；现有：{known or '（无）'}")
    return v


def _cadre(session: Session, township_id: int, phone: str) -> Cadre:
    c = session.scalar(select(Cadre).where(Cadre.phone == normalize_phone(phone)))
    if c is None:
        raise RegisterError(f"没有电话为 {phone} 的干部")
    if c.township_id != township_id:
        raise RegisterError(f"干部 {c.name}（{c.phone}）不是本乡镇的干部")
    if not c.active:
        raise RegisterError(f"干部 {c.name}（{c.phone}）已不在岗，请选择在岗的干部")
    return c


def _group(session: Session, village: Village, name: str) -> VillagerGroup | None:
    """The village's group of that name, made when it is new; None for no group."""
    if not name:
        return None
    g = session.scalar(
        select(VillagerGroup).where(VillagerGroup.village_id == village.id, VillagerGroup.name == name)
    )
    if g is None:
        g = VillagerGroup(village_id=village.id, name=name)
        session.add(g)
        session.flush()
    return g


def add_household(
    session: Session, new: NewHousehold, *, township_id: int, actor: str, now: datetime
) -> Household:
    """A new household of ``new.cadre_phone``'s, with a card (its number: ``household.card.number``); audited.
    Refused when the village is not the township's, the cadre is not its active cadre, or the same household
    (village, group, head and phone) is already in the programme."""
    head, phone, group_name = _checked(new)
    village = _village(session, township_id, new.village)
    cadre = _cadre(session, township_id, new.cadre_phone)
    group = _group(session, village, group_name)
    twin = session.scalar(
        select(ServiceCard.number)
        .join(Household, Household.id == ServiceCard.household_id)
        .where(
            Household.village_id == village.id,
            Household.group_id == (group.id if group else None),
            Household.head_name == head,
            Household.head_phone == (phone or None),
            Household.purged_at.is_(None),
            in_programme(),
        )
        .limit(1)
    )
    if twin is not None:
        raise RegisterError(f"{village.name}{group_name} 已有户主 {head} 的农户（卡号 {twin}），未重复添加")
    h = Household(
        village_id=village.id,
        group_id=group.id if group else None,
        head_name=head,
        head_phone=phone or None,
        population=new.size,
        added_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(h)
    session.flush()
    session.add(Link(household_id=h.id, cadre_id=cadre.id, linked_at=now))
    session.add(
        LinkChange(
            household_id=h.id, old_cadre_id=None, new_cadre_id=cadre.id, changed_at=now, changed_by=actor
        )
    )
    session.add(ServiceCard(household_id=h.id, number=cards.draw_number(session)))
    session.flush()
    if new.tags:
        household_tags.replace(session, {h.id: household_tags.parse(new.tags)}, actor=actor, now=now)
    session.refresh(h)
    record(
        session,
        actor=actor,
        action="household.add",
        target=f"household:{h.id}",
        detail={"village": village.name, "group": group_name, "cadre": cadre.phone},
    )
    return h


# ---------------------------------------------------------------------------------------------- close


@dataclass
class Closed:
    """A household just closed: its cadre (whom its card's number now names) and the accounts unlinked from it."""

    household: Household
    cadre: Cadre | None
    unlinked: list[WechatIdentity]


def close_household(
    session: Session,
    household: Household,
    *,
    reason: str,
    on: date,
    actor: str,
    now: datetime,
    tz: Any,
) -> Closed:
    """Close ``household`` on day ``on`` (see the module): its accounts unlinked (the caller tells them), the
    pages of their pushes revoked, history and audit kept. Refused for a household already closed or purged,
    an unknown reason, or a day after today (in ``tz``)."""
    h = household
    if h.purged_at is not None:
        raise RegisterError("该户的个人信息已清除，不能销户")
    if h.closed_on is not None:
        raise RegisterError(f"{h.head_name} 户已于 {h.closed_on.isoformat()} 销户（{h.closed_reason}）")
    reason = (reason or "").strip()
    if reason not in REASONS:
        raise RegisterError(f"销户原因应为 {'、'.join(REASONS)} 之一")
    if on > now.astimezone(tz).date():
        raise RegisterError("销户日期不能晚于今天")
    h.closed_on, h.closed_reason, h.closed_at, h.closed_by = on, reason, now, actor
    session.add(
        HouseholdInfoHistory(
            household_id=h.id,
            field=CLOSED_FIELD,
            old_value=None,
            new_value=f"{on.isoformat()} {reason}",
            changed_at=now,
            changed_by=actor,
        )
    )
    unlinked = cards.linked_identities(session, h.id)
    for ident in unlinked:
        cards.unlink(session, ident)
        revoke_links_for(ident.openid, session=session, now=now)
    cadre = session.scalar(
        select(Cadre).join(Link, Link.cadre_id == Cadre.id).where(Link.household_id == h.id)
    )
    record(
        session,
        actor=actor,
        action="household.close",
        target=f"household:{h.id}",
        detail={"reason": reason, "date": on.isoformat(), "accounts": len(unlinked)},
    )
    session.flush()
    return Closed(household=h, cadre=cadre, unlinked=unlinked)


def reopen_household(session: Session, household_id: int, *, actor: str, now: datetime) -> None:
    """A closed household back in the programme (a link list named it again and the office confirmed it)."""
    h = session.get(Household, household_id)
    if h is None or h.closed_on is None:
        return
    session.add(
        HouseholdInfoHistory(
            household_id=h.id,
            field=CLOSED_FIELD,
            old_value=f"{h.closed_on.isoformat()} {h.closed_reason}",
            new_value=None,
            changed_at=now,
            changed_by=actor,
        )
    )
    h.closed_on = h.closed_reason = h.closed_at = h.closed_by = None
