"""The 五个一 ledger: every cadre's duties to every linked household, done and missing.

Per household: (1) 民情信息登记表 complete (members, annual income, industries, difficulties) and its last
update, (2) 便民服务卡 issued, (3) 惠农政策宣传 done, (4) 民情日记 mentions this month, (5) 工作督办卡 that
concerned it; plus the 工作承诺书 date and the village's 公示. The per-cadre and per-village counts are one
``GROUP BY`` query each, the same SQL on SQLite and PostgreSQL; the household list is built from one joined query.

Functions take ``session`` as a keyword-free first argument and never commit (the caller owns the transaction).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, and_, case, cast, delete, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from storage.accounts import normalize_phone
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
from storage.periods import last_day_of_month, month_key

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


def _visits_subquery(month: str) -> Any:
    """household_id → number of (not withdrawn) diary entries of the month naming it, and the last such day."""
    first, last = month_bounds(month)
    return (
        select(
            DiaryMention.household_id.label("household_id"),
            func.count(func.distinct(DiaryEntry.id)).label("visits"),
            func.max(DiaryEntry.day).label("last_visit"),
        )
        .join(DiaryEntry, DiaryEntry.id == DiaryMention.diary_id)
        .where(DiaryEntry.day >= first, DiaryEntry.day <= last, DiaryEntry.deleted_at.is_(None))
        .group_by(DiaryMention.household_id)
        .subquery("visits")
    )


def _tasks_subquery() -> Any:
    return (
        select(TaskHousehold.household_id.label("household_id"), func.count(Task.id).label("tasks"))
        .join(Task, Task.id == TaskHousehold.task_id)
        .where(Task.cancelled_at.is_(None))
        .group_by(TaskHousehold.household_id)
        .subquery("tasks")
    )


@dataclass(frozen=True)
class Scope:
    """Which part of the township a ledger covers: everything, one village, or one cadre."""

    village_id: int | None = None
    village_name: str | None = None
    cadre_id: int | None = None
    cadre_phone: str | None = None


def resolve_scope(session: Session, *, village: str | None = None, cadre_phone: str | None = None) -> Scope:
    village_id = cadre_id = None
    phone = None
    if village:
        v = session.scalar(select(Village).where(Village.name == village.strip()))
        if v is None:
            raise LedgerError(f"没有名为「{village}」的村（居） / no village named {village!r}")
        village_id = v.id
    if cadre_phone:
        phone = normalize_phone(cadre_phone)
        c = session.scalar(select(Cadre).where(Cadre.phone == phone))
        if c is None:
            raise LedgerError(f"没有电话为 {phone} 的干部 / no cadre with phone {phone}")
        cadre_id = c.id
    return Scope(village_id=village_id, village_name=village, cadre_id=cadre_id, cadre_phone=phone)


def _scoped(stmt: Any, scope: Scope) -> Any:
    stmt = stmt.where(Household.purged_at.is_(None))
    if scope.village_id is not None:
        stmt = stmt.where(Household.village_id == scope.village_id)
    if scope.cadre_id is not None:
        stmt = stmt.where(Link.cadre_id == scope.cadre_id)
    return stmt


def _duty_columns(visits: Any) -> list[Any]:
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
    "info_complete", "card_issued", "policy_done", "commitment_signed", "visited_this_month", "listed",
)


def _with_percentages(row: dict[str, Any]) -> dict[str, Any]:
    n = row["households"]
    row["percent"] = {k: (round(100.0 * row[k] / n, 1) if n else None) for k in COUNT_KEYS}
    return row


# --------------------------------------------------------------------------------------------------
# Aggregates
# --------------------------------------------------------------------------------------------------


def cadre_totals(session: Session, *, month: str, scope: Scope = Scope()) -> list[dict[str, Any]]:
    """One row per cadre (active, or with linked households in scope): counts and percentages per duty."""
    visits = _visits_subquery(month)
    stmt = (
        select(Link.cadre_id, *_duty_columns(visits))
        .select_from(Household)
        .join(Link, Link.household_id == Household.id)
        .outerjoin(ServiceCard, ServiceCard.household_id == Household.id)
        .outerjoin(visits, visits.c.household_id == Household.id)
        .group_by(Link.cadre_id)
    )
    counts = {r.cadre_id: r._asdict() for r in session.execute(_scoped(stmt, scope))}

    cadres_stmt = select(Cadre, Village.name).outerjoin(Village, Village.id == Cadre.village_id).order_by(Cadre.id)
    if scope.cadre_id is not None:
        cadres_stmt = cadres_stmt.where(Cadre.id == scope.cadre_id)
    elif scope.village_id is not None:
        cadres_stmt = cadres_stmt.where(or_(Cadre.village_id == scope.village_id, Cadre.id.in_(list(counts))))
    roles = role_counts(session, month=month, cadre_ids=None if scope.cadre_id is None else [scope.cadre_id])
    out = []
    for cadre, village_name in session.execute(cadres_stmt):
        if cadre.id not in counts and not cadre.active:
            continue
        row = counts.get(cadre.id) or {"households": 0, **{k: 0 for k in COUNT_KEYS}}
        row = {k: int(v) for k, v in row.items() if k != "cadre_id"}
        out.append(_with_percentages({
            "cadre_id": cadre.id, "name": cadre.name, "phone": cadre.phone, "post": cadre.post,
            "village": village_name, **row,
            "roles": roles.get(cadre.id, {r: 0 for r in ROLE_NAMES}),
        }))
    return out


def village_totals(session: Session, *, month: str, scope: Scope = Scope()) -> list[dict[str, Any]]:
    """One row per village: counts and percentages per duty over its households (linked or not)."""
    visits = _visits_subquery(month)
    stmt = (
        select(Household.village_id, Village.name, *_duty_columns(visits))
        .select_from(Household)
        .join(Village, Village.id == Household.village_id)
        .outerjoin(Link, Link.household_id == Household.id)
        .outerjoin(ServiceCard, ServiceCard.household_id == Household.id)
        .outerjoin(visits, visits.c.household_id == Household.id)
        .group_by(Household.village_id, Village.name)
        .order_by(Village.name)
    )
    out = []
    for r in session.execute(_scoped(stmt, scope)):
        d = r._asdict()
        row = {"village_id": d.pop("village_id"), "village": d.pop("name")}
        row.update({k: int(v) for k, v in d.items()})
        row["unlinked"] = 0
        out.append(_with_percentages(row))
    # Households in a village with nobody linked to them: the office has to assign a cadre first.
    unlinked = _scoped(
        select(Household.village_id, func.count(Household.id))
        .outerjoin(Link, Link.household_id == Household.id)
        .where(Link.id.is_(None))
        .group_by(Household.village_id), scope)
    by_village = dict(session.execute(unlinked).tuples().all())
    for row in out:
        row["unlinked"] = int(by_village.get(row["village_id"], 0))
    return out


def totals_of(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    tot: dict[str, Any] = {"households": sum(r["households"] for r in rows)}
    for k in COUNT_KEYS:
        tot[k] = sum(r[k] for r in rows)
    return _with_percentages(tot)


def role_counts(session: Session, *, month: str, cadre_ids: Iterable[int] | None = None) -> dict[int, dict[str, int]]:
    """Diary entries of the month per cadre and 五个员 role (entries without a role count as 调查)."""
    first, last = month_bounds(month)
    role = func.coalesce(DiaryEntry.role, "调查")
    stmt = (
        select(DiaryEntry.cadre_id, role.label("role"), func.count(DiaryEntry.id))
        .where(DiaryEntry.day >= first, DiaryEntry.day <= last, DiaryEntry.deleted_at.is_(None))
        .group_by(DiaryEntry.cadre_id, role)
    )
    if cadre_ids is not None:
        stmt = stmt.where(DiaryEntry.cadre_id.in_(list(cadre_ids)))
    out: dict[int, dict[str, int]] = {}
    for cadre_id, r, n in session.execute(stmt):
        counts = out.setdefault(cadre_id, {x: 0 for x in ROLE_NAMES})
        counts[r] = counts.get(r, 0) + int(n)
    return out


# --------------------------------------------------------------------------------------------------
# Per household
# --------------------------------------------------------------------------------------------------


@dataclass
class HouseholdDuties:
    """The ledger line of one household."""

    household_id: int
    head_name: str
    village: str
    card_number: str | None
    cadre_id: int | None
    cadre_name: str | None
    cadre_phone: str | None
    info_complete: bool
    info_missing: list[str]
    info_updated_at: datetime | None
    info_updated_by: str | None
    card_issued_on: date | None
    card_issued_by: str | None
    policy_done_on: date | None
    policy_done_by: str | None
    commitment_signed_on: date | None
    commitment_recorded_by: str | None
    listed_on: date | None
    visits_this_month: int
    last_visit: date | None
    tasks: int
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            out[k] = v.isoformat() if isinstance(v, date | datetime) else v
        return out


def info_missing_fields(h: Household) -> list[str]:
    """The required fields of the information form that are still empty (same rule as the SQL clause)."""
    return _missing(h.members, h.annual_income, h.industries, h.difficulties)


def _missing(members: Any, income: Any, industries: str | None, difficulties: str | None) -> list[str]:
    missing = []
    if not members:
        missing.append("members")
    if income is None:
        missing.append("annual_income")
    if not (industries or "").strip():
        missing.append("industries")
    if not (difficulties or "").strip():
        missing.append("difficulties")
    return missing


def household_duties(session: Session, *, month: str, scope: Scope = Scope(),
                     household_ids: Iterable[int] | None = None) -> list[HouseholdDuties]:
    """The ledger line of every household in scope (plain columns, no ORM objects: 100,000 rows stay cheap)."""
    visits = _visits_subquery(month)
    tasks = _tasks_subquery()
    stmt = (
        select(Household.id, Household.head_name, Village.name.label("village"), ServiceCard.number,
               Cadre.id.label("cadre_id"), Cadre.name.label("cadre_name"), Cadre.phone,
               # the SQL rule decides what "filled" means, so the list and the counts cannot disagree
               *(case((cond, 1), else_=0).label(f"{name}_ok") for name, cond in info_field_clauses().items()),
               Household.info_updated_at, Household.info_updated_by, ServiceCard.issued_on, ServiceCard.issued_by,
               Household.policy_done_on, Household.policy_done_by, Link.commitment_signed_on,
               Link.commitment_recorded_by, Household.listed_on, visits.c.visits, visits.c.last_visit,
               tasks.c.tasks)
        .select_from(Household)
        .join(Village, Village.id == Household.village_id)
        .outerjoin(Link, Link.household_id == Household.id)
        .outerjoin(Cadre, Cadre.id == Link.cadre_id)
        .outerjoin(ServiceCard, ServiceCard.household_id == Household.id)
        .outerjoin(visits, visits.c.household_id == Household.id)
        .outerjoin(tasks, tasks.c.household_id == Household.id)
        .order_by(Village.name, Cadre.id, Household.id)
    )
    if household_ids is not None:
        stmt = stmt.where(Household.id.in_(list(household_ids)))
    out = []
    for r in session.execute(_scoped(stmt, scope)):
        info_missing = [f for f, ok in zip(INFO_FIELDS, (r.members_ok, r.annual_income_ok, r.industries_ok,
                                                          r.difficulties_ok), strict=True) if not ok]
        row = HouseholdDuties(
            household_id=r.id, head_name=r.head_name, village=r.village, card_number=r.number,
            cadre_id=r.cadre_id, cadre_name=r.cadre_name, cadre_phone=r.phone,
            info_complete=not info_missing, info_missing=info_missing,
            info_updated_at=r.info_updated_at, info_updated_by=r.info_updated_by,
            card_issued_on=r.issued_on, card_issued_by=r.issued_by,
            policy_done_on=r.policy_done_on, policy_done_by=r.policy_done_by,
            commitment_signed_on=r.commitment_signed_on, commitment_recorded_by=r.commitment_recorded_by,
            listed_on=r.listed_on, visits_this_month=int(r.visits or 0),
            last_visit=_as_date(r.last_visit), tasks=int(r.tasks or 0),
        )
        row.missing = [k for k, done in (
            ("info", row.info_complete), ("card", row.card_issued_on is not None),
            ("policy", row.policy_done_on is not None), ("commitment", row.commitment_signed_on is not None),
            ("visit", row.visits_this_month > 0), ("link", r.cadre_id is not None),
            ("listing", row.listed_on is not None),
        ) if not done]
        out.append(row)
    return out


def _as_date(v: Any) -> date | None:
    if v is None or isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])  # SQLite's MAX() over a DATE column returns text


# --------------------------------------------------------------------------------------------------
# The whole ledger, and the share the assessment may weight
# --------------------------------------------------------------------------------------------------


def build_ledger(session: Session, *, today: date, village: str | None = None, cadre_phone: str | None = None,
                 month: str | None = None) -> dict[str, Any]:
    """Everything ``lianxin ledger`` shows: per cadre, per village, totals, and households with something missing."""
    scope = resolve_scope(session, village=village, cadre_phone=cadre_phone)
    month = month or month_key(today)
    cadres = cadre_totals(session, month=month, scope=scope)
    villages = village_totals(session, month=month, scope=scope)
    rows = household_duties(session, month=month, scope=scope)
    return {
        "kind": "ledger",
        "date": today.isoformat(),
        "month": month,
        "filters": {"village": village, "cadre": scope.cadre_phone},
        "cadres": cadres,
        "villages": villages,
        "totals": totals_of(villages),
        "missing": [r.as_dict() for r in rows if r.missing],
        "duties": DUTIES,
    }


def ledger_completion(session: Session, cadre_ids: Iterable[int], *, month: str | None = None) -> dict[int, float]:
    """Share (0.0–1.0) of the 五个一 duties done over each cadre's linked households, for the assessment.

    Counted per household: information form complete, service card issued, policy publicity done, commitment
    letter signed — and, when ``month`` ('YYYY-MM') is given, at least one diary visit in that month.
    A cadre with no linked household gets 0.0 (every linking cadre must have households).
    """
    ids = list(cadre_ids)
    if not ids:
        return {}
    visits = _visits_subquery(month) if month else None
    done = (
        case((info_complete_clause(), 1), else_=0)
        + case((ServiceCard.issued_on.is_not(None), 1), else_=0)
        + case((Household.policy_done_on.is_not(None), 1), else_=0)
        + case((Link.commitment_signed_on.is_not(None), 1), else_=0)
    )
    duties = 4
    stmt = (
        select(Link.cadre_id, func.count(Household.id), func.sum(done if visits is None else
                                                                  done + case((visits.c.visits > 0, 1), else_=0)))
        .select_from(Household)
        .join(Link, Link.household_id == Household.id)
        .outerjoin(ServiceCard, ServiceCard.household_id == Household.id)
        .where(Link.cadre_id.in_(ids), Household.purged_at.is_(None))
        .group_by(Link.cadre_id)
    )
    if visits is not None:
        stmt = stmt.outerjoin(visits, visits.c.household_id == Household.id)
        duties = 5
    out = {i: 0.0 for i in ids}
    for cadre_id, n, s in session.execute(stmt):
        out[cadre_id] = float(s or 0) / (duties * n) if n else 0.0
    return out


# --------------------------------------------------------------------------------------------------
# Diary mentions
# --------------------------------------------------------------------------------------------------


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


def find_mentions(session: Session, *, cadre_id: int, text: str) -> list[Household]:
    """The cadre's own households a diary text names, by head name (2+ characters) or card number.

    One-character names are ignored (they would match everywhere); when a longer name covers a shorter one
    at the same place ("张三丰" and "张三"), only the longer one counts. Card numbers must stand alone as a
    number (not part of a longer digit run).
    """
    text = _normalize(text)
    if not text.strip():
        return []
    # Every chat diary entry runs this: read plain columns (not ~30 Household objects) and search each name
    # with str.find (re.finditer(re.escape(name)) compiled a pattern per name, past re's cache).
    rows = session.execute(
        select(Household.id, Household.head_name, ServiceCard.number)
        .join(Link, Link.household_id == Household.id)
        .outerjoin(ServiceCard, ServiceCard.household_id == Household.id)
        .where(Link.cadre_id == cadre_id, Household.purged_at.is_(None))
    ).all()
    found: set[int] = set()
    numbers = set(re.findall(r"\d+", text))
    for hid, _, number in rows:
        if number and number in numbers:
            found.add(hid)
    # Names: longest first, each occurrence claims its span so shorter names inside it do not match.
    claimed: list[tuple[int, int]] = []
    by_name: dict[str, list[int]] = {}
    for hid, head_name, _ in rows:
        name = _normalize(head_name).strip()
        if len(name) >= 2:
            by_name.setdefault(name, []).append(hid)
    for name in sorted(by_name, key=len, reverse=True):
        start = text.find(name)
        while start >= 0:  # non-overlapping occurrences, left to right
            span = (start, start + len(name))
            start = text.find(name, span[1])
            if any(s <= span[0] and span[1] <= e for s, e in claimed):
                continue
            claimed.append(span)
            found.update(by_name[name])
    if not found:
        return []
    return list(session.scalars(select(Household).where(Household.id.in_(found)).order_by(Household.id)))


def link_mentions(session: Session, entry: DiaryEntry) -> list[Household]:
    """Write the DiaryMention rows of a diary entry (replacing earlier ones) and return the households named."""
    session.flush()  # the entry needs its id
    households = find_mentions(session, cadre_id=entry.cadre_id, text=entry.text or "")
    session.execute(delete(DiaryMention).where(DiaryMention.diary_id == entry.id))
    for h in households:
        session.add(DiaryMention(diary_id=entry.id, household_id=h.id))
    session.flush()
    return households


# --------------------------------------------------------------------------------------------------
# Values of the information form as text (history rows, confirmations)
# --------------------------------------------------------------------------------------------------


def format_members(members: list[Any] | None) -> str:
    if not members:
        return ""
    parts = []
    for m in members:
        bits = [str(m.get("name") or "")]
        if m.get("relation"):
            bits.append(str(m["relation"]))
        if m.get("age") is not None:
            bits.append(f"{m['age']}岁")
        parts.append(" ".join(b for b in bits if b))
    return "；".join(parts)


def format_income(value: Decimal | float | int | None) -> str:
    if value is None:
        return ""
    d = Decimal(str(value))
    text = f"{d:,.2f}".rstrip("0").rstrip(".")
    return f"{text} 元"


def format_field(name: str, value: Any) -> str:
    if name == "members":
        return format_members(value)
    if name == "annual_income":
        return format_income(value)
    return "" if value is None else str(value)
