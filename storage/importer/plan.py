"""Planning: every row checked against the file and the database, and what would change worked out — it only
reads."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.accounts import normalize_phone
from storage.importer import shape
from storage.importer.shape import (
    COLUMN_OF,
    COLUMNS,
    MIN_HOUSEHOLDS,
    TOWNSHIP_COLUMN,
    CadreWarning,
    ImportPlan,
    Problem,
    Progress,
    SourceRow,
    Table,
)
from storage.importer.validate import check_row
from storage.models import (
    Cadre,
    Household,
    Link,
    ServiceCard,
    Township,
    Village,
    VillagerGroup,
)


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
        for k, v in part.counts.items():
            plan.counts[k] = plan.counts.get(k, 0) + v
    plan.problems.sort(key=lambda p: p.row or 0)
    return plan


def _plan_township(
    session: Session, table: Table, township: str, minimum: int, progress: Progress | None
) -> ImportPlan:
    """The plan for rows of one township."""
    plan = ImportPlan(filename=table.filename, rows=len(table.rows), problems=list(table.problems))
    if plan.problems:
        return plan
    rows: list[dict[str, Any]] = []
    for i, raw in enumerate(table.rows, start=1):
        checked = check_row(raw, plan.problems)
        if checked is not None:
            rows.append(checked)
        if progress and i % shape.PROGRESS_EVERY == 0:
            progress("check", i, len(table.rows))

    # --- consistency inside the file -------------------------------------------------------------
    first_cadre: dict[str, dict[str, Any]] = {}
    for r in rows:
        c = first_cadre.setdefault(r["cadre_phone"], r)
        if c["cadre_name"] != r["cadre_name"]:
            plan.problems.append(
                Problem(
                    r["row"],
                    "联户干部",
                    f"干部电话 {r['cadre_phone']} 在第 {c['row']} 行是"
                    f"「{c['cadre_name']}」，此处却是「{r['cadre_name']}」",
                )
            )
    by_identity: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    by_card: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_identity[(r["village"], r["group"], r["head_name"], r["head_phone"] or "")].append(r)
        if r["card"]:
            by_card[r["card"]].append(r)
    for (village, group, head, _phone), same in by_identity.items():
        if len(same) < 2:
            continue
        first = same[0]
        for r in same[1:]:
            if r["cadre_phone"] != first["cadre_phone"]:
                plan.problems.append(
                    Problem(
                        r["row"],
                        "干部电话",
                        f"同一户（{village}{group} {head}）在第 {first['row']} 行联系干部 {first['cadre_name']}，"
                        f"此处又联系 {r['cadre_name']}：一户只能由一名干部联系",
                    )
                )
            else:
                plan.problems.append(
                    Problem(r["row"], "户主姓名", f"与第 {first['row']} 行重复（{village}{group} {head}）")
                )
    for card, same in by_card.items():
        for r in same[1:]:
            plan.problems.append(Problem(r["row"], "服务卡号", f"卡号 {card} 与第 {same[0]['row']} 行重复"))

    # --- against the database --------------------------------------------------------------------
    plan.township_name = township
    t = session.scalar(select(Township).where(Township.name == plan.township_name))
    plan.township_id = t.id if t else None
    township_names: dict[int, str] = {
        tid: name for tid, name in session.execute(select(Township.id, Township.name))
    }
    villages: dict[str, int] = {}  # this township's, by name (names repeat across a county)
    village_township: dict[int, int] = {}
    village_label: dict[int, str] = {}
    for vid, vname, tid in session.execute(select(Village.id, Village.name, Village.township_id)):
        village_township[vid] = tid
        village_label[vid] = vname if tid == plan.township_id else f"{township_names.get(tid, '')}{vname}"
        if tid == plan.township_id:
            villages[vname] = vid
    groups = {
        gid: (vid, gname)
        for gid, vid, gname in session.execute(
            select(VillagerGroup.id, VillagerGroup.village_id, VillagerGroup.name)
        )
    }
    plan.group_ids = {(vid, gname): gid for gid, (vid, gname) in groups.items()}
    existing: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    by_id: dict[int, dict[str, Any]] = {}
    for hid, vid, gid, head, phone, pop in session.execute(
        select(
            Household.id,
            Household.village_id,
            Household.group_id,
            Household.head_name,
            Household.head_phone,
            Household.population,
        ).where(Household.purged_at.is_(None))
    ):
        gname = groups[gid][1] if gid else ""
        h = {
            "id": hid,
            "village_id": vid,
            "village": village_label.get(vid, f"#{vid}"),
            "group": gname,
            "group_id": gid,
            "head_name": head,
            "head_phone": phone,
            "population": pop,
            "township_id": village_township.get(vid),
        }
        if h["township_id"] == plan.township_id:
            existing.setdefault((h["village"], gname, head, phone or ""), h)
        by_id[hid] = h
    cards: dict[str, int] = {}
    card_of: dict[int, tuple[int, str]] = {}
    for cid, hid, number in session.execute(
        select(ServiceCard.id, ServiceCard.household_id, ServiceCard.number)
    ):
        cards[number] = hid
        card_of[hid] = (cid, number)
    links = {
        hid: (lid, cid)
        for lid, hid, cid in session.execute(select(Link.id, Link.household_id, Link.cadre_id))
    }
    cadres = {
        phone: {"id": cid, "name": name, "post": post, "unit": unit, "village_id": vid, "township_id": tid}
        for cid, phone, name, post, unit, vid, tid in session.execute(
            select(
                Cadre.id, Cadre.phone, Cadre.name, Cadre.post, Cadre.unit, Cadre.village_id, Cadre.township_id
            )
        )
    }
    for phone, r in first_cadre.items():
        other = cadres.get(phone, {}).get("township_id")
        if other is not None and other != plan.township_id:
            plan.problems.append(
                Problem(
                    r["row"],
                    "干部电话",
                    f"干部电话 {phone} 已是{township_names.get(other, '')}"
                    f"的干部（{cadres[phone]['name']}）：一名干部只属于一个乡镇",
                )
            )
    cadre_by_id = {c["id"]: (phone, c) for phone, c in cadres.items()}

    targets: dict[int, dict[str, Any]] = {}
    for r in rows:
        key = (r["village"], r["group"], r["head_name"], r["head_phone"] or "")
        h_key = existing.get(key)
        h_card = by_id.get(cards[r["card"]]) if r["card"] and r["card"] in cards else None
        if r["card"] and r["card"] in cards and h_card is None:
            plan.problems.append(
                Problem(r["row"], "服务卡号", f"卡号 {r['card']} 已属于另一户（已删除个人信息的户）")
            )
            continue
        if h_card and h_card["township_id"] != plan.township_id:
            plan.problems.append(
                Problem(
                    r["row"],
                    "服务卡号",
                    f"卡号 {r['card']} 已属于另一乡镇的农户（{h_card['village']}），服务卡号全县唯一",
                )
            )
            continue
        if h_card and not h_key:
            # A card number alone finds the household again after its head's phone or name changed (not
            # both), or after it moved to another group of the same village; anything else is another
            # household's card, most likely a typo.
            same_phone = bool(r["head_phone"]) and h_card["head_phone"] == r["head_phone"]
            if h_card["village"] != r["village"] or (
                h_card["head_name"] != r["head_name"] and not same_phone
            ):
                plan.problems.append(
                    Problem(
                        r["row"],
                        "服务卡号",
                        f"卡号 {r['card']} 已属于另一户（{h_card['village']}{h_card['group']} "
                        f"{h_card['head_name']}），不能重复",
                    )
                )
                continue
        if h_key and h_card and h_key["id"] != h_card["id"]:
            plan.problems.append(
                Problem(
                    r["row"],
                    "服务卡号",
                    f"卡号 {r['card']} 已属于另一户（{h_card['village']}{h_card['group']} "
                    f"{h_card['head_name']}），不能重复",
                )
            )
            continue
        target = h_key or h_card
        if target is not None:
            if target["id"] in targets:
                other = targets[target["id"]]
                plan.problems.append(
                    Problem(
                        r["row"],
                        "服务卡号" if r["card"] else "户主姓名",
                        f"与第 {other['row']} 行指向数据库中的同一户（{target['village']}{target['group']} "
                        f"{target['head_name']}）",
                    )
                )
                continue
            targets[target["id"]] = r
        r["target"] = target
    _plan_group_links(plan, rows, first_cadre, cadres)

    if plan.problems:
        plan.problems.sort(
            key=lambda p: (
                p.row or 0,
                [n for n, _ in COLUMNS].index(p.column) if p.column in COLUMN_OF.values() else 99,
            )
        )
        return plan

    # --- what changes ------------------------------------------------------------------------------
    file_villages = list(dict.fromkeys(r["village"] for r in rows))
    plan.new_villages = [v for v in file_villages if v not in villages]
    plan.village_ids = {v: villages[v] for v in file_villages if v in villages}
    _group_link_changes(session, plan)
    new_groups = list(dict.fromkeys((r["village"], r["group"]) for r in rows if r["group"]))
    plan.new_groups = [(v, g) for v, g in new_groups if (plan.village_ids.get(v), g) not in plan.group_ids]

    cadre_villages: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        cadre_villages[r["cadre_phone"]][r["village"]] += 1
    # post and unit: the first non-empty value in the file; empty cells keep what is stored
    posts: dict[str, str] = {}
    units: dict[str, str] = {}
    for r in rows:
        if r["cadre_post"]:
            posts.setdefault(r["cadre_phone"], r["cadre_post"])
        if r["cadre_unit"]:
            units.setdefault(r["cadre_phone"], r["cadre_unit"])
    counts = Counter[str]()
    for phone, r in first_cadre.items():
        post, unit = posts.get(phone), units.get(phone)
        village = cadre_villages[phone].most_common(1)[0][0]
        if phone not in cadres:
            plan.new_cadres.append(
                {"phone": phone, "name": r["cadre_name"], "post": post, "unit": unit, "village": village}
            )
            counts["cadres_new"] += 1
            continue
        c = cadres[phone]
        change: dict[str, Any] = {}
        if c["name"] != r["cadre_name"]:
            change["name"] = r["cadre_name"]
        if post and c["post"] != post:
            change["post"] = post
        if unit and c["unit"] != unit:
            change["unit"] = unit
        if change:
            plan.cadre_updates.append({"id": c["id"], **change})
            counts["cadres_updated"] += 1
        else:
            counts["cadres_unchanged"] += 1
        plan.cadre_ids[phone] = c["id"]

    final_cadre: dict[int, str] = {}  # household id -> cadre phone, for existing households after import
    for hid, (_lid, cid) in links.items():
        if cid in cadre_by_id:
            final_cadre[hid] = cadre_by_id[cid][0]
    for i, r in enumerate(rows, start=1):
        if progress and i % shape.PROGRESS_EVERY == 0:
            progress("plan", i, len(rows))
        h = r.pop("target")
        if h is None:
            plan.new_households.append(r)
            counts["households_new"] += 1
            if not r["card"]:
                counts["cards_assigned"] += 1
            continue
        hid = h["id"]
        changes: dict[str, Any] = {}
        for key in ("head_name", "head_phone", "population"):
            if h[key] != r[key]:
                changes[key] = r[key]
        if h["village"] != r["village"] or h["group"] != r["group"]:
            changes["village"] = r["village"]
            changes["group"] = r["group"]
        changed = False
        if changes:
            changed = True
            plan.household_updates.append({"id": hid, "row": r["row"], **changes})
            for key, new in changes.items():
                if key == "village":
                    continue
                old = h[key]
                if key == "group":
                    old = f"{h['village']}{h['group']}"
                    new = f"{r['village']}{r['group']}"
                plan.history.append(
                    {
                        "household_id": hid,
                        "field": key,
                        "old_value": None if old is None else str(old),
                        "new_value": None if new is None else str(new),
                    }
                )
        card = card_of.get(hid)
        if card is None or (r["card"] and card[1] != r["card"]):
            changed = True
            plan.card_updates.append(
                {
                    "household_id": hid,
                    "card_id": card[0] if card else None,
                    "old": card[1] if card else None,
                    "number": r["card"],
                    "village": r["village"],
                }
            )
            if r["card"] is None:
                counts["cards_assigned"] += 1
        link = links.get(hid)
        old_cid = link[1] if link else None
        new_phone = r["cadre_phone"]
        if old_cid is None or cadre_by_id.get(old_cid, ("",))[0] != new_phone:
            changed = True
            plan.link_updates.append(
                {
                    "household_id": hid,
                    "link_id": link[0] if link else None,
                    "old_cadre_id": old_cid,
                    "cadre_phone": new_phone,
                }
            )
            counts["links_changed"] += 1
        final_cadre[hid] = new_phone
        counts["households_updated" if changed else "households_unchanged"] += 1

    # --- the minimum of 30 households per cadre ---------------------------------------------------
    per_cadre = Counter(final_cadre.values())
    for r in plan.new_households:
        per_cadre[r["cadre_phone"]] += 1
    concerned = set(first_cadre) | {
        cadre_by_id[u["old_cadre_id"]][0] for u in plan.link_updates if u["old_cadre_id"] in cadre_by_id
    }
    for phone in sorted(concerned):
        n = per_cadre.get(phone, 0)
        if n < minimum:
            name = first_cadre[phone]["cadre_name"] if phone in first_cadre else cadres[phone]["name"]
            plan.warnings.append(CadreWarning(name=name, phone=phone, households=n, minimum=minimum))

    file_village_ids = set(plan.village_ids.values())
    touched = {hid for hid in targets}
    counts["not_in_file"] = sum(
        1 for hid, h in by_id.items() if h["village_id"] in file_village_ids and hid not in touched
    )
    counts["villages"] = len(file_villages)
    counts["villages_new"] = len(plan.new_villages)
    counts["groups_new"] = len(plan.new_groups)
    counts["cadres"] = len(first_cadre)
    counts["households"] = len(rows)
    counts["group_links"] = len(plan.group_links)
    counts["group_links_changed"] = len(plan.group_link_changes)
    plan.counts = {
        k: counts.get(k, 0)
        for k in (
            "villages",
            "villages_new",
            "groups_new",
            "cadres",
            "cadres_new",
            "cadres_updated",
            "cadres_unchanged",
            "households",
            "households_new",
            "households_updated",
            "households_unchanged",
            "links_changed",
            "cards_assigned",
            "not_in_file",
            "group_links",
            "group_links_changed",
        )
    }
    return plan


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
    return dict(session.execute(select(Link.cadre_id, func.count()).group_by(Link.cadre_id)).all())
