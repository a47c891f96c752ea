"""The duties of the 五个一 ledger and the SQL building blocks its queries share: which fields make the
information form complete, the month's visits, the cards that concerned a household, the scope asked for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Text, and_, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from storage.accounts import normalize_phone
from storage.household_tags import has_tag
from storage.models import (
    Cadre,
    DiaryEntry,
    DiaryMention,
    Household,
    Link,
    ServiceCard,
    Task,
    TaskHousehold,
    Village,
)
from storage.periods import last_day_of_month
from storage.register import in_programme

# The information form's required fields, in the order the guided 登记 asks for them.
INFO_FIELDS: tuple[str, ...] = ("members", "annual_income", "industries", "difficulties")
INFO_FIELD_LABELS: dict[str, str] = {
    "members": "家庭成员",
    "annual_income": "年收入",
    "industries": "产业项目",
    "difficulties": "困难诉求",
}
# Duties shown in the ledger (keys of the JSON and of the "missing" lists), with their Chinese names.
DUTIES: dict[str, str] = {
    "info": "民情信息登记表",
    "card": "便民服务卡",
    "card_reissue": "换卡待发",  # moved to another cadre: the card naming the old one is to be replaced
    "policy": "惠农政策宣传",
    "commitment": "工作承诺书",
    "visit": "本月走访（民情日记）",
    "link": "联户干部",
    "listing": "村内公示",
}
ROLE_NAMES: tuple[str, ...] = ("调查", "宣传", "调解", "服务", "指导")


class LedgerError(Exception):
    """A ledger question that cannot be answered (unknown village or cadre); the message says which."""


# --------------------------------------------------------------------------------------------------
# SQL building blocks
# --------------------------------------------------------------------------------------------------


def _filled_text(col: Any) -> ColumnElement[bool]:
    return func.length(func.trim(func.coalesce(col, ""))) > 0


def info_field_clauses() -> dict[str, ColumnElement[bool]]:
    """Per required field of the information form: is it filled (same SQL on both databases).

    ``members`` is JSON: SQL NULL, JSON ``null`` and ``[]`` all mean "not filled"; casting to text gives the
    same spelling on SQLite (JSON stored as text) and PostgreSQL (jsonb::text).
    """
    members_text = func.coalesce(cast(Household.members, Text), "null")
    return {
        "members": members_text.not_in(["null", "[]", ""]),
        "annual_income": Household.annual_income.is_not(None),
        "industries": _filled_text(Household.industries),
        "difficulties": _filled_text(Household.difficulties),
    }


def info_complete_clause() -> ColumnElement[bool]:
    """True when the four required fields of the information form are filled."""
    return and_(*info_field_clauses().values())


def _count_if(cond: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def month_bounds(month: str) -> tuple[date, date]:
    y, m = (int(x) for x in month.split("-"))
    return date(y, m, 1), last_day_of_month(y, m)


def visits_subquery(month: str, cadre_ids: list[int] | None = None) -> Any:
    """household_id → number of (not withdrawn) diary entries of the month naming it, and the last such day.

    ``cadre_ids``: only these cadres' entries (a township's, see ``diary_cadres``): a diary names only its writer's
    own households, so a township's households are visited only in its cadres' diaries — and in a county the month's
    visits are then counted over one township rather than all of them."""
    first, last = month_bounds(month)
    stmt = (
        select(
            DiaryMention.household_id.label("household_id"),
            func.count(func.distinct(DiaryEntry.id)).label("visits"),
            func.max(DiaryEntry.day).label("last_visit"),
        )
        .join(DiaryEntry, DiaryEntry.id == DiaryMention.diary_id)
        .where(DiaryEntry.day >= first, DiaryEntry.day <= last, DiaryEntry.deleted_at.is_(None))
        .group_by(DiaryMention.household_id)
    )
    if cadre_ids is not None:
        stmt = stmt.where(DiaryEntry.cadre_id.in_(cadre_ids))
    return stmt.subquery("visits")


def tasks_subquery() -> Any:
    return (
        select(TaskHousehold.household_id.label("household_id"), func.count(Task.id).label("tasks"))
        .join(Task, Task.id == TaskHousehold.task_id)
        .where(Task.cancelled_at.is_(None))
        .group_by(TaskHousehold.household_id)
        .subquery("tasks")
    )


@dataclass(frozen=True)
class Scope:
    """Which part of the deployment a ledger covers: everything, one township, one village, or one cadre."""

    village_id: int | None = None
    village_name: str | None = None
    cadre_id: int | None = None
    cadre_phone: str | None = None
    township_id: int | None = None
    # the day the ledger is of: households closed on or before it are left out (storage/register.py); None: now
    on: date | None = None
    # 重点人群: only the households with this tag (storage/household_tags.py; the office's filter)
    tag: str | None = None


def resolve_scope(
    session: Session,
    *,
    village: str | None = None,
    cadre_phone: str | None = None,
    township_id: int | None = None,
) -> Scope:
    village_id = cadre_id = None
    phone = None
    if village:
        vq = select(Village).where(Village.name == village.strip())
        if township_id is not None:
            vq = vq.where(Village.township_id == township_id)
        found = list(session.scalars(vq.limit(2)))
        if not found:
            raise LedgerError(f"没有名为「{village}」的村（居） / no village named {village!r}")
        if len(found) > 1:
            raise LedgerError(f"村「{village}」在多个乡镇都有，请用 --township 指明 / name the township")
        village_id = found[0].id
    if cadre_phone:
        phone = normalize_phone(cadre_phone)
        cq = select(Cadre).where(Cadre.phone == phone)
        if township_id is not None:
            cq = cq.where(Cadre.township_id == township_id)
        c = session.scalar(cq)
        if c is None:
            raise LedgerError(f"没有电话为 {phone} 的干部 / no cadre with phone {phone}")
        cadre_id = c.id
    return Scope(
        village_id=village_id,
        village_name=village,
        cadre_id=cadre_id,
        cadre_phone=phone,
        township_id=township_id,
    )


def scoped(stmt: Any, scope: Scope) -> Any:
    stmt = stmt.where(Household.purged_at.is_(None), in_programme(scope.on))
    if scope.township_id is not None:
        stmt = stmt.where(
            Household.village_id.in_(select(Village.id).where(Village.township_id == scope.township_id))
        )
    if scope.village_id is not None:
        stmt = stmt.where(Household.village_id == scope.village_id)
    if scope.cadre_id is not None:
        stmt = stmt.where(Link.cadre_id == scope.cadre_id)
    if scope.tag:
        stmt = stmt.where(has_tag(scope.tag))
    return stmt


def diary_cadres(session: Session, scope: Scope) -> list[int] | None:
    """The cadres whose diaries a ledger of ``scope`` reads: a township's (their ids as a list, which the
    (cadre_id, day) index serves, rather than a subquery); None: every cadre's."""
    if scope.township_id is None:
        return None
    return list(session.scalars(select(Cadre.id).where(Cadre.township_id == scope.township_id)))


def duty_columns(visits: Any) -> list[Any]:
    return [
        func.count(Household.id).label("households"),
        _count_if(info_complete_clause()).label("info_complete"),
        _count_if(ServiceCard.issued_on.is_not(None)).label("card_issued"),
        _count_if(Household.policy_done_on.is_not(None)).label("policy_done"),
        _count_if(Link.commitment_signed_on.is_not(None)).label("commitment_signed"),
        _count_if(visits.c.visits > 0).label("visited_this_month"),
        _count_if(Household.listed_on.is_not(None)).label("listed"),
    ]


COUNT_KEYS: tuple[str, ...] = (
    "info_complete",
    "card_issued",
    "policy_done",
    "commitment_signed",
    "visited_this_month",
    "listed",
)


def with_percentages(row: dict[str, Any]) -> dict[str, Any]:
    n = row["households"]
    row["percent"] = {k: (round(100.0 * row[k] / n, 1) if n else None) for k in COUNT_KEYS}
    return row
