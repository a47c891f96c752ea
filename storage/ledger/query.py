"""The ledger's queries: per-cadre and per-village counts (one GROUP BY each), the per-household list, the
whole ledger, and the completion share the assessment may weight."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from storage.group_links import group_leaders
from storage.ledger.duties import (
    COUNT_KEYS,
    DUTIES,
    INFO_FIELDS,
    ROLE_NAMES,
    Scope,
    diary_cadres,
    duty_columns,
    info_complete_clause,
    info_field_clauses,
    month_bounds,
    resolve_scope,
    scoped,
    tasks_subquery,
    visits_subquery,
    with_percentages,
)
from storage.models import (
    Cadre,
    DiaryEntry,
    Household,
    Link,
    LinkChange,
    ServiceCard,
    Village,
)
from storage.periods import month_key
from storage.register import in_programme

# Aggregates
# --------------------------------------------------------------------------------------------------


def cadre_totals(session: Session, *, month: str, scope: Scope = Scope()) -> list[dict[str, Any]]:
    """One row per cadre (active, or with linked households in scope): counts and percentages per duty."""
    visits = visits_subquery(month, diary_cadres(session, scope))
    stmt = (
        select(Link.cadre_id, *duty_columns(visits))
        .select_from(Household)
        .join(Link, Link.household_id == Household.id)
        .outerjoin(ServiceCard, ServiceCard.household_id == Household.id)
        .outerjoin(visits, visits.c.household_id == Household.id)
        .group_by(Link.cadre_id)
    )
    counts = {r.cadre_id: r._asdict() for r in session.execute(scoped(stmt, scope))}

    cadres_stmt = (
        select(Cadre, Village.name).outerjoin(Village, Village.id == Cadre.village_id).order_by(Cadre.id)
    )
    if scope.cadre_id is not None:
        cadres_stmt = cadres_stmt.where(Cadre.id == scope.cadre_id)
    elif scope.village_id is not None:
        cadres_stmt = cadres_stmt.where(or_(Cadre.village_id == scope.village_id, Cadre.id.in_(list(counts))))
    elif scope.township_id is not None:
        cadres_stmt = cadres_stmt.where(Cadre.township_id == scope.township_id)
    roles = role_counts(
        session,
        month=month,
        cadre_ids=diary_cadres(session, scope) if scope.cadre_id is None else [scope.cadre_id],
    )
    out = []
    for cadre, village_name in session.execute(cadres_stmt):
        if cadre.id not in counts and not cadre.active:
            continue
        row = counts.get(cadre.id) or {"households": 0, **{k: 0 for k in COUNT_KEYS}}
        row = {k: int(v) for k, v in row.items() if k != "cadre_id"}
        out.append(
            with_percentages(
                {
                    "cadre_id": cadre.id,
                    "name": cadre.name,
                    "phone": cadre.phone,
                    "post": cadre.post,
                    "village": village_name,
                    **row,
                    "roles": roles.get(cadre.id, {r: 0 for r in ROLE_NAMES}),
                }
            )
        )
    return out


def village_totals(session: Session, *, month: str, scope: Scope = Scope()) -> list[dict[str, Any]]:
    """One row per village: counts and percentages per duty over its households (linked or not)."""
    visits = visits_subquery(month, diary_cadres(session, scope))
    stmt = (
        select(Household.village_id, Village.name, *duty_columns(visits))
        .select_from(Household)
        .join(Village, Village.id == Household.village_id)
        .outerjoin(Link, Link.household_id == Household.id)
        .outerjoin(ServiceCard, ServiceCard.household_id == Household.id)
        .outerjoin(visits, visits.c.household_id == Household.id)
        .group_by(Household.village_id, Village.name)
        .order_by(Village.name)
    )
    out = []
    for r in session.execute(scoped(stmt, scope)):
        d = r._asdict()
        row = {"village_id": d.pop("village_id"), "village": d.pop("name")}
        row.update({k: int(v) for k, v in d.items()})
        row["unlinked"] = 0
        out.append(with_percentages(row))
    # Households in a village with nobody linked to them: the office has to assign a cadre first.
    unlinked = scoped(
        select(Household.village_id, func.count(Household.id))
        .outerjoin(Link, Link.household_id == Household.id)
        .where(Link.id.is_(None))
        .group_by(Household.village_id),
        scope,
    )
    by_village = dict(session.execute(unlinked).tuples().all())
    for row in out:
        row["unlinked"] = int(by_village.get(row["village_id"], 0))
    return out


def totals_of(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    tot: dict[str, Any] = {"households": sum(r["households"] for r in rows)}
    for k in COUNT_KEYS:
        tot[k] = sum(r[k] for r in rows)
    return with_percentages(tot)


def role_counts(
    session: Session, *, month: str, cadre_ids: Iterable[int] | None = None
) -> dict[int, dict[str, int]]:
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


def household_duties(
    session: Session, *, month: str, scope: Scope = Scope(), household_ids: Iterable[int] | None = None
) -> list[HouseholdDuties]:
    """The ledger line of every household in scope (plain columns, no ORM objects: 100,000 rows stay cheap)."""
    stmt = _household_duties_select(session, month, scope)
    if household_ids is not None:
        stmt = stmt.where(Household.id.in_(list(household_ids)))
    return [_ledger_line(r) for r in session.execute(scoped(stmt, scope))]


def _household_duties_select(session: Session, month: str, scope: Scope) -> Select[Any]:
    """One row per household: its card, cadre, the information form's fields as the SQL rule judges them, who
    recorded each duty and when, the month's visits, the supervision cards about it, and whether it ever moved from another cadre."""
    visits = visits_subquery(month, diary_cadres(session, scope))
    tasks = tasks_subquery()
    # moved from another cadre at some point: a card not issued since is a card to reissue (换卡待发)
    moved = (
        select(LinkChange.id)
        .where(LinkChange.household_id == Household.id, LinkChange.old_cadre_id.is_not(None))
        .correlate(Household)
        .exists()
    )
    return (
        select(
            Household.id,
            Household.head_name,
            Village.name.label("village"),
            ServiceCard.number,
            Cadre.id.label("cadre_id"),
            Cadre.name.label("cadre_name"),
            Cadre.phone,
            # the SQL rule decides what "filled" means, so the list and the counts cannot disagree
            *(case((cond, 1), else_=0).label(f"{name}_ok") for name, cond in info_field_clauses().items()),
            Household.info_updated_at,
            Household.info_updated_by,
            ServiceCard.issued_on,
            ServiceCard.issued_by,
            Household.policy_done_on,
            Household.policy_done_by,
            Link.commitment_signed_on,
            Link.commitment_recorded_by,
            Household.listed_on,
            visits.c.visits,
            visits.c.last_visit,
            tasks.c.tasks,
            moved.label("moved"),
        )
        .select_from(Household)
        .join(Village, Village.id == Household.village_id)
        .outerjoin(Link, Link.household_id == Household.id)
        .outerjoin(Cadre, Cadre.id == Link.cadre_id)
        .outerjoin(ServiceCard, ServiceCard.household_id == Household.id)
        .outerjoin(visits, visits.c.household_id == Household.id)
        .outerjoin(tasks, tasks.c.household_id == Household.id)
        .order_by(Village.name, Cadre.id, Household.id)
    )


def _ledger_line(r: Any) -> HouseholdDuties:
    """One row of ``_household_duties_select`` as the household's ledger line."""
    info_missing = [
        f
        for f, ok in zip(
            INFO_FIELDS,
            (r.members_ok, r.annual_income_ok, r.industries_ok, r.difficulties_ok),
            strict=True,
        )
        if not ok
    ]
    row = HouseholdDuties(
        household_id=r.id,
        head_name=r.head_name,
        village=r.village,
        card_number=r.number,
        cadre_id=r.cadre_id,
        cadre_name=r.cadre_name,
        cadre_phone=r.phone,
        info_complete=not info_missing,
        info_missing=info_missing,
        info_updated_at=r.info_updated_at,
        info_updated_by=r.info_updated_by,
        card_issued_on=r.issued_on,
        card_issued_by=r.issued_by,
        policy_done_on=r.policy_done_on,
        policy_done_by=r.policy_done_by,
        commitment_signed_on=r.commitment_signed_on,
        commitment_recorded_by=r.commitment_recorded_by,
        listed_on=r.listed_on,
        visits_this_month=int(r.visits or 0),
        last_visit=_as_date(r.last_visit),
        tasks=int(r.tasks or 0),
    )
    row.missing = missing_duties(row, moved=bool(r.moved))
    return row


def missing_duties(row: HouseholdDuties, *, moved: bool) -> list[str]:
    """What is still to do for a household, in the ledger's order: the form, the card (to reissue when the
    household moved from another cadre: the card names the cadre), the publicity, the commitment, a visit this
    month, a cadre at all, and the public listing."""
    return [
        k
        for k, done in (
            ("info", row.info_complete),
            ("card_reissue" if moved else "card", row.card_issued_on is not None),
            ("policy", row.policy_done_on is not None),
            ("commitment", row.commitment_signed_on is not None),
            ("visit", row.visits_this_month > 0),
            ("link", row.cadre_id is not None),
            ("listing", row.listed_on is not None),
        )
        if not done
    ]


def _as_date(v: Any) -> date | None:
    if v is None or isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])  # SQLite's MAX() over a DATE column returns text


# --------------------------------------------------------------------------------------------------
# The whole ledger, and the share the assessment may weight
# --------------------------------------------------------------------------------------------------


def build_ledger(
    session: Session,
    *,
    today: date,
    village: str | None = None,
    cadre_phone: str | None = None,
    month: str | None = None,
    township_id: int | None = None,
    tag: str | None = None,
) -> dict[str, Any]:
    """Everything ``lianxin ledger`` shows: per cadre, per village, totals, and households with something missing
    (of one township when ``township_id`` is given; of the households tagged ``tag`` when it is given)."""
    month = month or month_key(today)
    scope = replace(
        resolve_scope(session, village=village, cadre_phone=cadre_phone, township_id=township_id),
        on=min(today, month_bounds(month)[1]),  # a past month's ledger keeps the households closed after it
        tag=(tag or "").strip() or None,
    )
    cadres = cadre_totals(session, month=month, scope=scope)
    villages = village_totals(session, month=month, scope=scope)
    rows = household_duties(session, month=month, scope=scope)
    return {
        "kind": "ledger",
        "date": today.isoformat(),
        "month": month,
        "filters": {"village": village, "cadre": scope.cadre_phone, "tag": scope.tag},
        "cadres": cadres,
        "villages": villages,
        "totals": totals_of(villages),
        "missing": [r.as_dict() for r in rows if r.missing],
        "duties": DUTIES,
        # 包组联户: the groups in scope that have a cadre (for one cadre: the groups they answer for)
        "groups": [
            g.as_dict()
            for g in group_leaders(
                session, village_id=scope.village_id, cadre_id=scope.cadre_id, township_id=scope.township_id
            )
        ],
    }


def ledger_completion(
    session: Session, cadre_ids: Iterable[int], *, month: str | None = None
) -> dict[int, float]:
    """Share (0.0–1.0) of the 五个一 duties done over each cadre's linked households, for the assessment.

    Counted per household: information form complete, service card issued, policy publicity done, commitment
    letter signed — and, when ``month`` ('YYYY-MM') is given, at least one diary visit in that month.
    A cadre with no linked household gets 0.0 (every linking cadre must have households).
    """
    ids = list(cadre_ids)
    if not ids:
        return {}
    visits = visits_subquery(month) if month else None
    done = (
        case((info_complete_clause(), 1), else_=0)
        + case((ServiceCard.issued_on.is_not(None), 1), else_=0)
        + case((Household.policy_done_on.is_not(None), 1), else_=0)
        + case((Link.commitment_signed_on.is_not(None), 1), else_=0)
    )
    duties = 4
    stmt = (
        select(
            Link.cadre_id,
            func.count(Household.id),
            func.sum(done if visits is None else done + case((visits.c.visits > 0, 1), else_=0)),
        )
        .select_from(Household)
        .join(Link, Link.household_id == Household.id)
        .outerjoin(ServiceCard, ServiceCard.household_id == Household.id)
        .where(Link.cadre_id.in_(ids), Household.purged_at.is_(None), in_programme())
        .group_by(Link.cadre_id)
    )
    if visits is not None:
        stmt = stmt.outerjoin(visits, visits.c.household_id == Household.id)
        duties = 5
    out = {i: 0.0 for i in ids}
    for cadre_id, n, s in session.execute(stmt):
        out[cadre_id] = float(s or 0) / (duties * n) if n else 0.0
    return out
