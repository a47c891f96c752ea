"""动员会: a village's meeting register (date, title, the cadres who came, how many villagers came, a note) and
who its notice goes to. One set of rules for the CLI (``lianxin meeting add``) and the console's register page;
handlers/meeting_notices.py words and queues the notice. Storage never commits; the callers audit.

Who is told: every villager account (``wechat_identity`` kind villager, reachable) bound to a household of the
village that is linked to a cadre (联户); a linked household without such an account is told by its cadre, who
gets one notice naming them. The notice is queued once per meeting and account (the outbox key), so a second
``--notify`` queues nothing new; ``notified_at`` keeps the first time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Cadre, Household, Link, Village, VillageMeeting, WechatIdentity

MAX_TITLE = 200
MAX_NOTE = 2000
MAX_VILLAGERS = 100_000


class MeetingError(ValueError):
    """The meeting cannot be recorded; the message says why."""


def add(
    session: Session,
    *,
    village: Village,
    day: date,
    title: str,
    villagers: int,
    cadres: Iterable[Cadre],
    note: str | None,
    by: str,
    now: datetime,
) -> tuple[VillageMeeting, bool]:
    """Record a 动员会 (the same village, day and title twice is the same meeting: False, nothing changes)."""
    title = (title or "").strip()
    if not title:
        raise MeetingError("会议名称不能为空")
    if len(title) > MAX_TITLE:
        raise MeetingError(f"会议名称不能超过 {MAX_TITLE} 字")
    if not 0 <= villagers <= MAX_VILLAGERS:
        raise MeetingError("到会群众人数应为 0 或正整数")
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise MeetingError(f"说明不能超过 {MAX_NOTE} 字")
    found = session.scalar(
        select(VillageMeeting).where(
            VillageMeeting.village_id == village.id, VillageMeeting.day == day, VillageMeeting.title == title
        )
    )
    if found is not None:
        return found, False
    came = list(cadres)
    if any(c.township_id != village.township_id for c in came):
        raise MeetingError("到会干部应是本乡镇的干部")
    meeting = VillageMeeting(
        village_id=village.id,
        day=day,
        title=title,
        villagers=villagers,
        note=note,
        recorded_by=by,
        created_at=now,
        cadres=came,
    )
    session.add(meeting)
    session.flush()
    return meeting, True


def of_village(session: Session, village_id: int) -> list[VillageMeeting]:
    return list(
        session.scalars(
            select(VillageMeeting)
            .where(VillageMeeting.village_id == village_id)
            .order_by(VillageMeeting.day.desc(), VillageMeeting.id.desc())
        )
    )


@dataclass
class Audience:
    """Who a meeting's notice reaches: the villager accounts, and per cadre their linked households without one."""

    openids: list[str]
    untold: dict[int, list[Household]]  # cadre id -> their households in the village with no account to tell


def audience(session: Session, village_id: int) -> Audience:
    linked = list(
        session.execute(
            select(Household, Link.cadre_id)
            .join(Link, Link.household_id == Household.id)
            .where(Household.village_id == village_id, Household.purged_at.is_(None))
            .order_by(Household.id)
        ).tuples()
    )
    accounts: dict[int, list[str]] = defaultdict(list)
    for hid, openid in session.execute(
        select(WechatIdentity.household_id, WechatIdentity.openid)
        .join(Household, Household.id == WechatIdentity.household_id)
        .where(
            Household.village_id == village_id,
            WechatIdentity.kind == "villager",
            WechatIdentity.unreachable.is_(False),
            WechatIdentity.subscribed.is_(True),
        )
        .order_by(WechatIdentity.id)
    ):
        if hid is not None:
            accounts[hid].append(openid)
    openids: list[str] = []
    untold: dict[int, list[Household]] = defaultdict(list)
    for household, cadre_id in linked:
        if accounts.get(household.id):
            openids.extend(accounts[household.id])
        else:
            untold[cadre_id].append(household)
    return Audience(openids, dict(untold))


def mark_notified(meeting: VillageMeeting, now: datetime) -> bool:
    """Set ``notified_at`` the first time; False when it was notified before."""
    if meeting.notified_at is not None:
        return False
    meeting.notified_at = now
    return True
