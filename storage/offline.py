"""What reaches the office on paper or by phone: a cadre's paper diary entry (补录) and a villager's request
received by phone, visit or letter. Each is stored exactly like its chat twin, so every count (reports, the
ledger, 本月) includes it, and is marked: the diary entry's ``source`` is ``paper`` with ``entered_by``; the
request's ``channel`` and ``recorded_by``. Functions take ``session``, never commit, audit what they change,
and refuse bad input with an ``OfflineError`` before changing anything.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from storage import audit, cards, requests
from storage.cards import number_links
from storage.config import Config
from storage.ledger import link_mentions
from storage.models import Cadre, DiaryEntry, Household, VillagerRequest, WechatIdentity
from storage.requests import RequestWords
from storage.roles import guess_category, guess_role

CHANNELS = {"phone": "电话", "visit": "来访", "letter": "来信"}
TEXT_MAX = 5000


class OfflineError(ValueError):
    """Bad input: the message says what is wrong; nothing was changed."""


def _text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise OfflineError("内容不能为空 / the text is empty")
    if len(text) > TEXT_MAX:
        raise OfflineError(f"内容不超过 {TEXT_MAX} 字 / text longer than {TEXT_MAX} characters")
    return text


def add_paper_diary(
    session: Session, *, cadre: Cadre, day: date, text: str, actor: str, now: datetime, today: date
) -> DiaryEntry:
    """A paper 民情日记 entry for ``day``, entered by the office: counted like a chat entry, marked 补录."""
    text = _text(text)
    if day > today:
        raise OfflineError(f"{day} 还没到，不能补录 / the day is in the future")
    entry = DiaryEntry(
        cadre_id=cadre.id,
        day=day,
        text=text,
        source="paper",
        role=guess_role(text),
        created_at=now,
        entered_by=actor,
    )
    session.add(entry)
    session.flush()
    link_mentions(session, entry)
    audit.record(
        session,
        actor=actor,
        action="diary.paper",
        target=f"diary:{entry.id}",
        detail={"cadre": cadre.phone, "day": day.isoformat()},
    )
    return entry


def household_by_card(session: Session, card: str) -> Household:
    """The household holding card ``card`` (storage.cards.by_number), or OfflineError."""
    h = cards.household_by_number(session, card)
    if h is None:
        raise OfflineError(f"没有卡号为 {card} 的农户 / no household with card {card}")
    return h


def add_offline_request(
    session: Session,
    *,
    household: Household,
    text: str,
    channel: str,
    at: datetime,
    actor: str,
    now: datetime,
    words: RequestWords,
    config: Config,
    answer_to: WechatIdentity | None = None,
) -> VillagerRequest:
    """A request received by phone, visit or letter: made as a chat request is (storage/requests.py: numbered,
    given to the household's cadre — or the office when the cadre's WeChat cannot be reached — and pushed with
    ``words``). ``at`` is when it was received (it counts in that period and its time limit runs from then).
    ``answer_to``: one of the household's linked WeChat accounts the office chose to tell of the answer; None
    (the default) tells the cadre, who passes it on — the person who phoned may have no account, and the
    household's latest link may be a stranger."""
    text = _text(text)
    if channel not in CHANNELS:
        raise OfflineError(
            f"渠道应为 {'、'.join(CHANNELS)} 之一 / --via must be one of {', '.join(CHANNELS)}"
        )
    if at > now:
        raise OfflineError("收到时间在将来 / --at is in the future")
    if answer_to is not None and not _linked_to(answer_to, household):
        raise OfflineError(
            "所选微信账号没有关联这户（可能已解除），请重新选择 / that account is not linked to the household"
        )
    if household.closed_on is not None:  # storage/register.py: no new request for a household that left
        raise OfflineError(
            f"{household.head_name} 户已于 {household.closed_on.isoformat()} 销户（{household.closed_reason}），"
            "不再登记新的诉求 / the household has left the programme"
        )
    cadre = requests.cadre_for(session, household.id)
    if cadre is None:
        raise OfflineError(f"{household.head_name} 户还没有联户干部 / the household has no linked cadre")
    request = requests.create(
        session,
        household=household,
        cadre=cadre,
        text=text,
        category=guess_category(text),
        created_at=at,
        channel=channel,
        recorded_by=actor,
        answer_to=answer_to,
        words=words,
        config=config,
    ).request
    audit.record(
        session,
        actor=actor,
        action="request.offline",
        target=f"request:{request.number}",
        detail={
            "household": household.id,
            "channel": channel,
            "at": at.isoformat(),
            "answer_to": "cadre" if answer_to is None else f"link:{answer_to.link_no}",
        },
    )
    return request


def _linked_to(identity: WechatIdentity, household: Household) -> bool:
    return identity.kind == "villager" and identity.household_id == household.id


def linked_account_by_number(session: Session, household: Household, link_no: int) -> WechatIdentity:
    """The household's linked account with this link number (关联号), or OfflineError."""
    for ident in number_links(session, household.id):
        if ident.link_no == link_no:
            return ident
    raise OfflineError(
        f"{household.head_name} 户没有第{link_no}个关联的微信账号 / no linked account number {link_no}"
    )


def villager_account(session: Session, request: VillagerRequest) -> WechatIdentity | None:
    """Where an answer to ``request`` is relayed: the account that sent it; for a request registered offline,
    the linked account the office chose when it was entered, while it is still linked to the household — never
    the household's latest link by default (None: the answer goes to nobody's WeChat; the cadre passes it on)."""
    if request.identity_id is not None:
        return session.get(WechatIdentity, request.identity_id)
    if request.answer_to_id is not None:
        ident = session.get(WechatIdentity, request.answer_to_id)
        if ident is not None and ident.kind == "villager" and ident.household_id == request.household_id:
            return ident
    return None
