"""Applying a plan with bulk statements (never per-row queries: 100,000 households import in well under a
minute), audited; the caller owns the transaction. And ``import_file``: read, plan and apply in one go."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from storage.audit import record
from storage.cards import random_number
from storage.importer import shape
from storage.importer.plan import plan_import
from storage.importer.read import read_rows
from storage.importer.shape import MIN_HOUSEHOLDS, ImportPlan, ImportRefused, Progress
from storage.links import restart_duties
from storage.models import (
    Cadre,
    Household,
    HouseholdInfoHistory,
    Link,
    LinkChange,
    ServiceCard,
    Township,
    Village,
    VillagerGroup,
)
from storage.timestamps import utcnow


class _CardNumbers:
    """Numbers for households without one: random 8-digit numbers with a check digit (storage.cards), never
    one that exists anywhere, including numbers the office assigned by hand or printed before."""

    def __init__(self, session: Session) -> None:
        self.used: set[str] = set(session.scalars(select(ServiceCard.number)))

    def reserve(self, number: str) -> None:
        self.used.add(number)

    def take(self, village_id: int) -> str:
        return random_number(self.used)


def apply_import(
    session: Session,
    plan: ImportPlan,
    *,
    actor: str,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ImportPlan:
    """Write ``plan`` (from ``plan_import`` in the same session) with bulk statements; audit it. No commit."""
    if plan.problems:
        raise ImportRefused(f"{len(plan.problems)} problems; nothing imported")
    if plan.applied:
        raise ImportRefused("this plan has already been applied")
    if plan.parts:  # a county's list: each township's part, in the one transaction
        for part in plan.parts:
            apply_import(session, part, actor=actor, now=now, progress=progress)
        plan.applied = True
        return plan
    now = now or utcnow()
    changed_by = "import"

    if plan.township_id is None:
        t = session.scalar(select(Township).where(Township.name == plan.township_name))
        if t is None:
            t = Township(name=plan.township_name)
            session.add(t)
            session.flush()
        plan.township_id = t.id
    for name in plan.new_villages:
        v = Village(township_id=plan.township_id, name=name)
        session.add(v)
        session.flush()
        plan.village_ids[name] = v.id
    for vname, gname in plan.new_groups:
        g = VillagerGroup(village_id=plan.village_ids[vname], name=gname)
        session.add(g)
        session.flush()
        plan.group_ids[(g.village_id, gname)] = g.id

    def group_id(vname: str, gname: str) -> int | None:
        return plan.group_ids[(plan.village_ids[vname], gname)] if gname else None

    if plan.new_cadres:
        session.execute(
            insert(Cadre),
            [
                {
                    "name": c["name"],
                    "phone": c["phone"],
                    "post": c["post"],
                    "unit": c["unit"],
                    "village_id": plan.village_ids[c["village"]],
                    "township_id": plan.township_id,
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for c in plan.new_cadres
            ],
        )
        phones = [c["phone"] for c in plan.new_cadres]
        for i in range(0, len(phones), 500):
            for cid, phone in session.execute(
                select(Cadre.id, Cadre.phone).where(Cadre.phone.in_(phones[i : i + 500]))
            ):
                plan.cadre_ids[phone] = cid
    if plan.cadre_updates:
        session.execute(update(Cadre), [{**u, "updated_at": now} for u in plan.cadre_updates])

    numbers = _CardNumbers(session)
    for r in plan.new_households:
        if r["card"]:
            numbers.reserve(r["card"])
    for u in plan.card_updates:
        if u["number"]:
            numbers.reserve(u["number"])

    if plan.new_households:
        new_ids: list[int] = []
        chunk = 5000
        for i in range(0, len(plan.new_households), chunk):
            part = plan.new_households[i : i + chunk]
            result = session.execute(
                insert(Household).returning(Household.id, sort_by_parameter_order=True),
                [
                    {
                        "village_id": plan.village_ids[r["village"]],
                        "group_id": group_id(r["village"], r["group"]),
                        "head_name": r["head_name"],
                        "head_phone": r["head_phone"],
                        "population": r["population"],
                        "created_at": now,
                        "updated_at": now,
                    }
                    for r in part
                ],
            )
            new_ids.extend(result.scalars().all())
            if progress and len(plan.new_households) >= shape.PROGRESS_EVERY:
                progress("write", min(i + chunk, len(plan.new_households)), len(plan.new_households))
        session.execute(
            insert(Link),
            [
                {"household_id": hid, "cadre_id": plan.cadre_ids[r["cadre_phone"]], "linked_at": now}
                for hid, r in zip(new_ids, plan.new_households, strict=True)
            ],
        )
        session.execute(
            insert(ServiceCard),
            [
                {"household_id": hid, "number": r["card"] or numbers.take(plan.village_ids[r["village"]])}
                for hid, r in zip(new_ids, plan.new_households, strict=True)
            ],
        )

    if plan.household_updates:
        rows = []
        for u in plan.household_updates:
            row = {"id": u["id"], "updated_at": now}
            for key in ("head_name", "head_phone", "population"):
                if key in u:
                    row[key] = u[key]
            if "village" in u:
                row["village_id"] = plan.village_ids[u["village"]]
                row["group_id"] = group_id(u["village"], u["group"])
            rows.append(row)
        session.execute(update(Household), rows)
    if plan.history:
        session.execute(
            insert(HouseholdInfoHistory),
            [{**h, "changed_at": now, "changed_by": changed_by} for h in plan.history],
        )
    card_inserts = [u for u in plan.card_updates if u["card_id"] is None]
    card_changes = [u for u in plan.card_updates if u["card_id"] is not None]
    if card_changes:
        session.execute(
            update(ServiceCard), [{"id": u["card_id"], "number": u["number"]} for u in card_changes]
        )
        session.execute(
            insert(HouseholdInfoHistory),
            [
                {
                    "household_id": u["household_id"],
                    "field": "card_number",
                    "old_value": u["old"],
                    "new_value": u["number"],
                    "changed_at": now,
                    "changed_by": changed_by,
                }
                for u in card_changes
            ],
        )
    if card_inserts:
        session.execute(
            insert(ServiceCard),
            [
                {
                    "household_id": u["household_id"],
                    "number": u["number"] or numbers.take(plan.village_ids[u["village"]]),
                }
                for u in card_inserts
            ],
        )
    moves = [u for u in plan.link_updates if u["link_id"] is not None]
    fresh = [u for u in plan.link_updates if u["link_id"] is None]
    if moves:
        # the card names the cadre: a card issued under the old one is to be reissued, and the new cadre signs a
        # new commitment letter (what was there goes to the household's history)
        restart_duties(session, [u["household_id"] for u in moves], changed_by=changed_by, now=now)
    if moves:
        # a new cadre signs a new commitment letter with the household
        session.execute(
            update(Link),
            [
                {
                    "id": u["link_id"],
                    "cadre_id": plan.cadre_ids[u["cadre_phone"]],
                    "linked_at": now,
                    "commitment_signed_on": None,
                    "commitment_recorded_by": None,
                }
                for u in moves
            ],
        )
    if fresh:
        session.execute(
            insert(Link),
            [
                {
                    "household_id": u["household_id"],
                    "cadre_id": plan.cadre_ids[u["cadre_phone"]],
                    "linked_at": now,
                }
                for u in fresh
            ],
        )
    if plan.link_updates:
        session.execute(
            insert(LinkChange),
            [
                {
                    "household_id": u["household_id"],
                    "old_cadre_id": u["old_cadre_id"],
                    "new_cadre_id": plan.cadre_ids[u["cadre_phone"]],
                    "changed_at": now,
                    "changed_by": changed_by,
                }
                for u in plan.link_updates
            ],
        )
    _apply_group_links(session, plan, actor=actor, now=now)
    record(
        session,
        actor=actor,
        action="import",
        target=plan.filename,
        detail={
            "township": plan.township_name,
            "rows": plan.rows,
            **plan.counts,
            "warnings": len(plan.warnings),
        },
    )
    session.flush()
    plan.applied = True
    return plan


def _apply_group_links(session: Session, plan: ImportPlan, *, actor: str, now: datetime) -> None:
    """包组联户: set each changed group's cadre; every change audited with the old and the new cadre."""
    for u in plan.group_link_changes:
        gid = plan.group_ids[(plan.village_ids[u["village"]], u["group"])]
        session.execute(
            update(VillagerGroup)
            .where(VillagerGroup.id == gid)
            .values(cadre_id=plan.cadre_ids.get(u["phone"], u["db_id"]), cadre_linked_at=now)
        )
        record(
            session,
            actor=actor,
            action="group_link.set",
            target=f"{u['village']}{u['group']}",
            detail={
                "cadre": u["phone"],
                "name": u["name"],
                "old_cadre": u["old_phone"],
                "via": plan.filename,
            },
        )


def import_file(
    session: Session,
    source: str | Path | bytes,
    *,
    filename: str | None = None,
    actor: str,
    township: str | None = None,
    minimum: int = MIN_HOUSEHOLDS,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ImportPlan:
    """Read, plan and (when there is no problem) apply in one go; the returned plan says which happened."""
    table = read_rows(source, filename, progress=progress)
    plan = plan_import(session, table, township=township, minimum=minimum, progress=progress)
    if plan.ok:
        apply_import(session, plan, actor=actor, now=now, progress=progress)
    return plan
