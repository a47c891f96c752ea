"""Planning: every row checked against the file and the database, and what would change worked out — it only
reads. ``plan_import`` splits a county's list by its 乡镇 column; ``_plan_township`` runs the steps for one
township: validate.py (the rows alone and together), stored.py (what the database holds), matching.py (the rows
against it), the group links (包组联户, here), changes.py (what an accepted list changes) and register_edits.py
(what it would undo of the register's own changes, for the office to confirm)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.accounts import normalize_phone
from storage.importer import changes, register_edits
from storage.importer.matching import cadres_of_other_townships, match_households
from storage.importer.shape import (
    COLUMNS,
    MIN_HOUSEHOLDS,
    TOWNSHIP_COLUMN,
    ImportPlan,
    Problem,
    Progress,
    SourceRow,
    Table,
)
from storage.importer.stored import read_stored
from storage.importer.validate import check_rows, check_rows_together
from storage.models import Cadre, Link, Village, VillagerGroup


def plan_import(
    session: Session,
    table: Table,
    *,
    township: str | None = None,
    minimum: int = MIN_HOUSEHOLDS,
    progress: Progress | None = None,
) -> ImportPlan:
    """Validate ``table`` against itself and the database; work out the changes. Reads only.

    ``township``: the township the rows belong to ([general] township, or ``--township``); a list with a 乡镇
    column names each row's own, and is planned per township (``plan.parts``), all or nothing.
    ``minimum``: cadres linked to fewer households after the import get a warning (config
    ``[score] min_households``, the programme's 30).
    """
    default = township or "示范镇"
    if not table.has_township or table.problems:
        return _plan_township(session, table, default, minimum, progress)
    plan = ImportPlan(filename=table.filename, rows=len(table.rows))
    by_township: dict[str, list[SourceRow]] = defaultdict(list)
    first_row: dict[str, tuple[int, str]] = {}  # cadre phone / card -> (row, township) across the whole file
    for r in table.rows:
        name = r.values.get("township", "").strip()
        if not name:
            plan.problems.append(Problem(r.number, TOWNSHIP_COLUMN, "乡镇为空"))
            continue
        if len(name) > 100:
            plan.problems.append(Problem(r.number, TOWNSHIP_COLUMN, f"过长（{len(name)} 字，最多 100 字）"))
            continue
        for key, what in (("cadre_phone", "干部电话"), ("card", "服务卡号")):
            value = normalize_phone(r.values[key]) if key == "cadre_phone" else r.values[key]
            if not value:
                continue
            seen = first_row.setdefault(f"{key}:{value}", (r.number, name))
            if seen[1] != name:
                plan.problems.append(
                    Problem(
                        r.number,
                        what,
                        f"{what} {value} 在第 {seen[0]} 行属于{seen[1]}，"
                        f"此处却属于{name}：{what}在全县只能属于一个乡镇",
                    )
                )
        by_township[name].append(r)
    if plan.problems:
        return plan
    for name, rows in by_township.items():
        part = _plan_township(session, replace(table, rows=rows), name, minimum, progress)
        plan.parts.append(part)
        plan.problems.extend(part.problems)
        plan.warnings.extend(part.warnings)
        plan.register_edits.extend(part.register_edits)
        for k, v in part.counts.items():
            plan.counts[k] = plan.counts.get(k, 0) + v
    plan.problems.sort(key=lambda p: p.row or 0)
    return plan


def _plan_township(
    session: Session, table: Table, township: str, minimum: int, progress: Progress | None
) -> ImportPlan:
    """The plan for rows of one township: the rows checked on their own and together (validate.py), against
    the database (stored.py, matching.py, the group links here), and — when nothing is wrong — what changes
    (changes.py). A refused plan lists every problem, sorted by row and column."""
    plan = ImportPlan(
        filename=table.filename, rows=len(table.rows), problems=list(table.problems), has_tags=table.has_tags
    )
    if plan.problems:
        return plan
    rows = check_rows(table.rows, plan.problems, progress)
    first_cadre = check_rows_together(rows, plan.problems)

    plan.township_name = township
    stored = read_stored(session, township)
    plan.township_id = stored.township_id
    plan.group_ids = stored.group_ids
    cadres_of_other_townships(first_cadre, stored, plan.problems)
    matched = match_households(rows, stored, plan.problems)
    _plan_group_links(plan, rows, first_cadre, stored.cadres)
    if plan.problems:
        plan.problems.sort(key=_row_and_column)
        return plan

    changes.plan_places(plan, rows, stored)
    _group_link_changes(session, plan)
    counts = changes.plan_cadres(plan, rows, first_cadre, stored)
    household_counts, final_cadre = changes.plan_households(plan, matched, stored, progress)
    register_edits.find(plan, matched, stored)
    changes.minimum_warnings(plan, first_cadre, stored, final_cadre, minimum)
    plan.counts = changes.summary_counts(plan, counts + household_counts, rows, matched, first_cadre, stored)
    return plan


def _row_and_column(p: Problem) -> tuple[int, int]:
    """Problems in the order of the spreadsheet: by row, then by the template's column order."""
    names = [n for n, _ in COLUMNS]
    return p.row or 0, names.index(p.column) if p.column is not None and p.column in names else 99


def _plan_group_links(
    plan: ImportPlan,
    rows: list[dict[str, Any]],
    file_cadres: dict[str, dict[str, Any]],
    cadres: dict[str, dict[str, Any]],
) -> None:
    """包组联户: the cadre each 村民小组 of the file is given (columns 包组干部 / 包组干部电话). The phone must be a
    cadre of this file or of the database, with the same name when one is written; every row of a group names
    the same cadre or leaves the cells empty (empty cells change nothing)."""
    for r in rows:
        phone = r["group_cadre_phone"]
        if not phone:
            continue
        key = (r["village"], r["group"])
        known = file_cadres.get(phone)
        name = known["cadre_name"] if known else cadres[phone]["name"] if phone in cadres else None
        if name is None:
            plan.problems.append(
                Problem(
                    r["row"],
                    "包组干部电话",
                    f"{phone} 不是本名单或系统中的联户干部（包组干部须先作为联户干部导入）",
                )
            )
            continue
        other = cadres[phone]["township_id"] if known is None else None
        if other is not None and other != plan.township_id:
            # a township's list names its own cadres only (a cadre belongs to one township)
            plan.problems.append(
                Problem(
                    r["row"],
                    "包组干部电话",
                    f"{phone} 是另一个乡镇的干部（{name}），包组干部须是本乡镇的联户干部",
                )
            )
            continue
        if r["group_cadre_name"] and r["group_cadre_name"] != name:
            plan.problems.append(
                Problem(
                    r["row"],
                    "包组干部",
                    f"电话 {phone} 的干部是「{name}」，此处却是「{r['group_cadre_name']}」",
                )
            )
            continue
        first = plan.group_links.setdefault(
            key,
            {
                "phone": phone,
                "name": name,
                "row": r["row"],
                "db_id": cadres[phone]["id"] if phone in cadres else None,
            },
        )
        if first["phone"] != phone:
            plan.problems.append(
                Problem(
                    r["row"],
                    "包组干部电话",
                    f"{r['village']}{r['group']} 在第 {first['row']} 行"
                    f"的包组干部是 {first['name']}（{first['phone']}），此处却是 {name}（{phone}）",
                )
            )


def _group_link_changes(session: Session, plan: ImportPlan) -> None:
    """The groups whose cadre the import sets or changes (the others already have that cadre)."""
    if not plan.group_links:
        return
    current = {
        (vname, gname): phone
        for vname, gname, phone in session.execute(
            select(Village.name, VillagerGroup.name, Cadre.phone)
            .join(VillagerGroup, VillagerGroup.village_id == Village.id)
            .join(Cadre, Cadre.id == VillagerGroup.cadre_id)
            .where(Village.id.in_(list(plan.village_ids.values()) or [-1]))
        )
    }
    plan.group_link_changes = [
        {
            "village": v,
            "group": g,
            "phone": link["phone"],
            "name": link["name"],
            "db_id": link["db_id"],
            "old_phone": current.get((v, g)),
        }
        for (v, g), link in plan.group_links.items()
        if current.get((v, g)) != link["phone"]
    ]


def household_count_by_cadre(session: Session) -> dict[int, int]:
    """Linked households per cadre id (for reports of the 30-household minimum)."""
    return dict(session.execute(select(Link.cadre_id, func.count()).group_by(Link.cadre_id)).tuples().all())
