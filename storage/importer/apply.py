"""Applying a plan with bulk statements (never per-row queries: 100,000 households import in well under a
minute), audited; the caller owns the transaction. And ``import_file``: read, plan and apply in one go."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from storage import household_tags
from storage.audit import record
from storage.cards import random_number
from storage.importer import shape
from storage.importer.plan import plan_import
from storage.importer.read import read_rows
from storage.importer.shape import MIN_HOUSEHOLDS, ImportPlan, ImportRefused, Progress
from storage.importer.stored import IMPORT_ACTOR
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
from storage.register import reopen_household
from storage.timestamps import now_of


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
    yes: bool = False,
) -> ImportPlan:
    """Write ``plan`` (from ``plan_import`` in the same session) with bulk statements; audit it. No commit.
    A plan that would undo the register's own changes (``plan.needs_yes``) is written only with ``yes``: the
    office saw ``plan.register_edits`` and said so.

    The order matters: places before the cadres and households that refer to them, cadres before links, the
    numbers a list gives reserved before any is drawn."""
    if plan.problems:
        raise ImportRefused(f"{len(plan.problems)} problems; nothing imported")
    if plan.applied:
        raise ImportRefused("this plan has already been applied")
    if plan.needs_yes and not yes:
        raise ImportRefused(f"名单与 {len(plan.register_edits)} 处登记变更不一致，需确认后才能导入")
    if plan.parts:  # a county's list: each township's part, in the one transaction
        for part in plan.parts:
            apply_import(session, part, actor=actor, now=now, progress=progress, yes=yes)
        plan.applied = True
        return plan
    now = now or now_of(session)
    _add_places(session, plan)
    _write_cadres(session, plan, now)
    numbers = _CardNumbers(session)
    for r in plan.new_households:
        if r["card"]:
            numbers.reserve(r["card"])
    for u in plan.card_updates:
        if u["number"]:
            numbers.reserve(u["number"])
    _insert_households(session, plan, numbers, now, progress)
    _update_households(session, plan, now)
    _write_cards(session, plan, numbers, now)
    _write_links(session, plan, now)
    for hid in plan.reopen:  # closed in the register, named again: the office said yes to the preview
        reopen_household(session, hid, actor=CHANGED_BY, now=now)
    _apply_group_links(session, plan, actor=actor, now=now)
    if plan.has_tags:  # 重点人群: the list's column sets the tags of the households it names
        household_tags.replace(session, plan.tags, actor=CHANGED_BY, now=now)
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
            "register_edits": len(plan.register_edits),
        },
    )
    session.flush()
    plan.applied = True
    return plan


# What the import writes in the households' history and link changes as the one who changed them.
CHANGED_BY = IMPORT_ACTOR


def _add_places(session: Session, plan: ImportPlan) -> None:
    """The township (when the list is its first), new villages and new groups, one row at a time: they are few,
    and the households inserted next need their ids (kept in the plan)."""
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


def _group_id(plan: ImportPlan, vname: str, gname: str) -> int | None:
    """A row's group (None for a row without one), once _add_places has made the new ones."""
    return plan.group_ids[(plan.village_ids[vname], gname)] if gname else None


def _write_cadres(session: Session, plan: ImportPlan, now: datetime) -> None:
    """New cadres inserted in bulk, their ids read back by phone (in chunks of 500, within any database's limit of
    bound parameters) for the links; changed names, posts and units updated."""
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


def _insert_households(
    session: Session, plan: ImportPlan, numbers: _CardNumbers, now: datetime, progress: Progress | None
) -> None:
    """New households in chunks of 5,000 (their ids returned in the order given), each with its link and its
    card (the list's number, or one drawn)."""
    if not plan.new_households:
        return
    new_ids: list[int] = []
    chunk = 5000
    for i in range(0, len(plan.new_households), chunk):
        part = plan.new_households[i : i + chunk]
        result = session.execute(
            insert(Household).returning(Household.id, sort_by_parameter_order=True),
            [
                {
                    "village_id": plan.village_ids[r["village"]],
                    "group_id": _group_id(plan, r["village"], r["group"]),
                    "head_name": r["head_name"],
                    "head_phone": r["head_phone"],
                    "population": r["population"],
                    "created_at": now,
                    "updated_at": now,
                }
                for r in part
            ],
        )
        ids = result.scalars().all()
        new_ids.extend(ids)
        if plan.has_tags:
            plan.tags.update((hid, r["tags"]) for hid, r in zip(ids, part, strict=True))
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


def _update_households(session: Session, plan: ImportPlan, now: datetime) -> None:
    """Stored households' changed head, phone, population and place, and the history of each change."""
    if plan.household_updates:
        rows = []
        for u in plan.household_updates:
            row = {"id": u["id"], "updated_at": now}
            for key in ("head_name", "head_phone", "population"):
                if key in u:
                    row[key] = u[key]
            if "village" in u:
                row["village_id"] = plan.village_ids[u["village"]]
                row["group_id"] = _group_id(plan, u["village"], u["group"])
            rows.append(row)
        session.execute(update(Household), rows)
    if plan.history:
        session.execute(
            insert(HouseholdInfoHistory),
            [{**h, "changed_at": now, "changed_by": CHANGED_BY} for h in plan.history],
        )


def _write_cards(session: Session, plan: ImportPlan, numbers: _CardNumbers, now: datetime) -> None:
    """Stored households' cards: a renumbered card keeps its row (the old number goes to the household's
    history); a household without a card gets one, with the list's number or a drawn one."""
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
                    "changed_by": CHANGED_BY,
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


def _write_links(session: Session, plan: ImportPlan, now: datetime) -> None:
    """Stored households' cadres: a household moved to another cadre starts its duties afresh; one without a
    cadre is linked; every change is kept in the link changes (the old cadre and the new)."""
    moves = [u for u in plan.link_updates if u["link_id"] is not None]
    fresh = [u for u in plan.link_updates if u["link_id"] is None]
    if moves:
        # the card names the cadre: a card issued under the old one is to be reissued, and the new cadre signs a
        # new commitment letter (what was there goes to the household's history)
        restart_duties(session, [u["household_id"] for u in moves], changed_by=CHANGED_BY, now=now)
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
                    "changed_by": CHANGED_BY,
                }
                for u in plan.link_updates
            ],
        )


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
    yes: bool = False,
) -> ImportPlan:
    """Read, plan and (when there is no problem, and ``yes`` to any register edits it would undo) apply in one
    go; the returned plan says which happened (``plan.applied``)."""
    table = read_rows(source, filename, progress=progress)
    plan = plan_import(session, table, township=township, minimum=minimum, progress=progress)
    if plan.ok and (yes or not plan.needs_yes):
        apply_import(session, plan, actor=actor, now=now, progress=progress, yes=yes)
    return plan
