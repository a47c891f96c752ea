"""矛盾调解: a villager request marked a dispute, its parties, its mediation steps and its outcome — one set of
rules for every door: the cadre's chat (``调解 M …``, handlers/disputes.py) and the office's console (the request's
page, console/views/disputes.py).

Marking a request a dispute makes its category 纠纷 (its 五个员 role 调解) and its household the first party; the
category it had is kept and given back if the office takes the mark off (only while nothing was recorded on it).
The mediator is the request's cadre when it was marked: the month report counts a cadre's 矛盾调解员 work
(``mediated_counts``: disputes with a mediation step or an outcome in the period, and those that ended 调解成功).

Parties are households of the request's township; the doors choose them (the chat by the head's name, among the
cadre's households first; the console by search within what its user sees). Storage never commits and renders no
words; the office's changes are audited by the console.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from storage.models import (
    Dispute,
    DisputeParty,
    DisputeStep,
    Household,
    Link,
    Village,
    VillagerRequest,
)
from storage.roles import CATEGORY_ROLE

DISPUTE_CATEGORY = "纠纷"
# outcome code -> as the office and the cadres say it
OUTCOMES: dict[str, str] = {"resolved": "调解成功", "transferred": "转办", "unresolved": "未调解"}
# what a cadre may type for each outcome (folded: Simplified, half-width)
OUTCOME_WORDS: dict[str, str] = {
    "调解成功": "resolved",
    "成功": "resolved",
    "已调解": "resolved",
    "化解": "resolved",
    "已化解": "resolved",
    "和解": "resolved",
    "转办": "transferred",
    "已转办": "transferred",
    "转": "transferred",
    "未调解": "unresolved",
    "未成功": "unresolved",
    "调解不成": "unresolved",
    "调解失败": "unresolved",
    "失败": "unresolved",
    "不成功": "unresolved",
}
MAX_TEXT = 1000
MAX_PARTIES = 20


class DisputeError(ValueError):
    """The change cannot be made; the message says why (shown to the office or the cadre as it is)."""


def parse_outcome(word: str) -> str | None:
    """'调解成功', '成功', '未调解', '转办' … → the outcome's code; None when it is none of them."""
    return OUTCOME_WORDS.get(word.strip())


def of_request(session: Session, request_id: int) -> Dispute | None:
    return session.scalar(select(Dispute).where(Dispute.request_id == request_id))


def mark(session: Session, *, request: VillagerRequest, by: str, now: datetime) -> tuple[Dispute, bool]:
    """Mark ``request`` a dispute (its category becomes 纠纷, its household the first party). Returns the dispute
    and whether it was marked just now (False: it was one already, nothing changes)."""
    found = of_request(session, request.id)
    if found is not None:
        return found, False
    dispute = Dispute(
        request_id=request.id,
        cadre_id=request.cadre_id,
        category_before=request.category,
        marked_at=now,
        marked_by=by,
    )
    session.add(dispute)
    request.category = DISPUTE_CATEGORY
    request.role = CATEGORY_ROLE[DISPUTE_CATEGORY]
    session.flush()
    session.add(
        DisputeParty(dispute_id=dispute.id, household_id=request.household_id, added_by=by, added_at=now)
    )
    session.flush()
    return dispute, True


def unmark(session: Session, *, dispute: Dispute) -> None:
    """Take the mark off (a mistake): only while no step or outcome was recorded; the request's category is
    given back."""
    if dispute.outcome is not None or session.scalar(
        select(func.count()).select_from(DisputeStep).where(DisputeStep.dispute_id == dispute.id)
    ):
        raise DisputeError("已有调解记录或结果，不能取消")
    request = session.get(VillagerRequest, dispute.request_id)
    if request is not None:
        request.category = dispute.category_before
        request.role = CATEGORY_ROLE.get(dispute.category_before)
    for party in session.scalars(select(DisputeParty).where(DisputeParty.dispute_id == dispute.id)):
        session.delete(party)
    session.flush()
    session.delete(dispute)
    session.flush()


def _township_of_household(session: Session, household_id: int) -> int | None:
    return session.scalar(
        select(Village.township_id)
        .join(Household, Household.village_id == Village.id)
        .where(Household.id == household_id)
    )


def add_party(session: Session, *, dispute: Dispute, household: Household, by: str, now: datetime) -> bool:
    """Add ``household`` to the parties (a household of the request's township). False when it is one already."""
    request = session.get(VillagerRequest, dispute.request_id)
    assert request is not None
    if household.purged_at is not None or _township_of_household(
        session, household.id
    ) != _township_of_household(session, request.household_id):
        raise DisputeError("只能选择本乡镇的农户作为当事人")
    if session.get(DisputeParty, (dispute.id, household.id)) is not None:
        return False
    count = session.scalar(
        select(func.count()).select_from(DisputeParty).where(DisputeParty.dispute_id == dispute.id)
    )
    if (count or 0) >= MAX_PARTIES:
        raise DisputeError(f"当事人最多 {MAX_PARTIES} 户")
    session.add(DisputeParty(dispute_id=dispute.id, household_id=household.id, added_by=by, added_at=now))
    session.flush()
    return True


def remove_party(session: Session, *, dispute: Dispute, household_id: int) -> bool:
    """Take a household off the parties; the request's own household stays. False when it was none."""
    request = session.get(VillagerRequest, dispute.request_id)
    if request is not None and request.household_id == household_id:
        raise DisputeError("提出诉求的农户是当事人，不能移除")
    party = session.get(DisputeParty, (dispute.id, household_id))
    if party is None:
        return False
    session.delete(party)
    session.flush()
    return True


def _text(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise DisputeError(f"{what}不能为空")
    if len(text) > MAX_TEXT:
        raise DisputeError(f"{what}不能超过 {MAX_TEXT} 字")
    return text


def add_step(
    session: Session, *, dispute: Dispute, day: date, text: str, author: str, now: datetime
) -> DisputeStep:
    """A mediation step done on ``day`` (the local day), with its note."""
    step = DisputeStep(
        dispute_id=dispute.id, day=day, text=_text(text, "调解记录"), author=author, created_at=now
    )
    session.add(step)
    session.flush()
    return step


def set_outcome(
    session: Session, *, dispute: Dispute, outcome: str, day: date, note: str | None, by: str
) -> None:
    """The dispute's outcome (``OUTCOMES``), recorded on ``day``; a later outcome replaces it."""
    if outcome not in OUTCOMES:
        raise DisputeError("调解结果应为：调解成功、转办或未调解")
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_TEXT:
        raise DisputeError(f"说明不能超过 {MAX_TEXT} 字")
    dispute.outcome, dispute.outcome_on, dispute.outcome_note, dispute.outcome_by = outcome, day, note, by
    session.flush()


def steps_count(session: Session, dispute_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(DisputeStep).where(DisputeStep.dispute_id == dispute_id)
        )
        or 0
    )


@dataclass(frozen=True)
class Found:
    """Households found for a typed name: exactly one is chosen; several leave the choice to the console."""

    name: str
    households: list[Household]


def find_by_name(session: Session, *, name: str, cadre_id: int, township_id: int) -> Found:
    """The households whose head is called ``name``: the cadre's own first; else the township's."""
    base = select(Household).where(Household.head_name == name.strip(), Household.purged_at.is_(None))
    own = list(
        session.scalars(
            base.join(Link, Link.household_id == Household.id).where(Link.cadre_id == cadre_id).limit(5)
        )
    )
    if own:
        return Found(name, own)
    return Found(
        name,
        list(
            session.scalars(
                base.join(Village, Village.id == Household.village_id)
                .where(Village.township_id == township_id)
                .limit(5)
            )
        ),
    )


def search_households(
    session: Session, *, query: str, township_id: int, village_ids: Iterable[int] | None, limit: int = 10
) -> list[Household]:
    """Households of the township (of ``village_ids`` only, when given) whose head's name contains ``query``: the
    console's choice of parties (by name only: the office's search is no oracle for card numbers)."""
    q = query.strip()
    if not q:
        return []
    stmt = (
        select(Household)
        .join(Village, Village.id == Household.village_id)
        .where(
            Village.township_id == township_id,
            Household.purged_at.is_(None),
            Household.head_name.contains(q, autoescape=True),
        )
        .order_by(Household.head_name, Household.id)
        .limit(limit)
    )
    if village_ids is not None:
        stmt = stmt.where(Household.village_id.in_(list(village_ids)))
    return list(session.scalars(stmt))


def open_of_cadre(session: Session, cadre_id: int) -> list[tuple[Dispute, VillagerRequest]]:
    """The cadre's disputes still without an outcome, oldest first."""
    return [
        (d, r)
        for d, r in session.execute(
            select(Dispute, VillagerRequest)
            .join(VillagerRequest, VillagerRequest.id == Dispute.request_id)
            .where(Dispute.cadre_id == cadre_id, Dispute.outcome.is_(None))
            .order_by(Dispute.marked_at, Dispute.id)
        ).tuples()
    ]


@dataclass(frozen=True)
class Mediated:
    """A cadre's 矛盾调解员 work in a period: disputes worked on (a step or an outcome dated in it) and those of
    them that ended 调解成功 in it."""

    mediated: int = 0
    resolved: int = 0


def mediated_counts(
    session: Session, *, first: date, last: date, cadre_ids: Iterable[int] | None = None
) -> dict[int, Mediated]:
    """Per mediating cadre: disputes with a mediation step or an outcome dated ``first``..``last`` (local days,
    inclusive), and those resolved (调解成功) in it. One query each, the same on SQLite and PostgreSQL."""
    stepped = select(DisputeStep.dispute_id).where(DisputeStep.day >= first, DisputeStep.day <= last)
    ended = Dispute.outcome_on.between(first, last)
    stmt = (
        select(
            Dispute.cadre_id,
            func.count(Dispute.id),
            func.coalesce(func.sum(_one_if(ended, Dispute.outcome == "resolved")), 0),
        )
        .where(or_(Dispute.id.in_(stepped), ended))
        .group_by(Dispute.cadre_id)
    )
    if cadre_ids is not None:
        stmt = stmt.where(Dispute.cadre_id.in_(list(cadre_ids)))
    return {cid: Mediated(int(n), int(ok)) for cid, n, ok in session.execute(stmt)}


def _one_if(*conds: ColumnElement[bool]) -> ColumnElement[int]:
    return case((and_(*conds), 1), else_=0)
