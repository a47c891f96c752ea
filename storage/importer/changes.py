"""What an accepted list changes, worked out against what is stored: new villages and groups, cadres new or
updated, households new or updated (with their history), cards and links, the 30-household warnings and the
counts of the summary. Called only for a list without problems; it fills the plan and writes nothing."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from storage.importer import shape
from storage.importer.matching import Matched
from storage.importer.shape import CadreWarning, ImportPlan, Progress
from storage.importer.stored import Stored

# The summary's counts, in the order ImportPlan.summary_lines and the audit record show them.
COUNT_KEYS = (
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
    "households_reopened",
    "links_changed",
    "cards_assigned",
    "not_in_file",
    "group_links",
    "group_links_changed",
)


def plan_places(plan: ImportPlan, rows: list[dict[str, Any]], stored: Stored) -> None:
    """The villages of the list that the township does not have yet, and the groups (of old or new villages)."""
    file_villages = list(dict.fromkeys(r["village"] for r in rows))
    plan.new_villages = [v for v in file_villages if v not in stored.villages]
    plan.village_ids = {v: stored.villages[v] for v in file_villages if v in stored.villages}
    new_groups = list(dict.fromkeys((r["village"], r["group"]) for r in rows if r["group"]))
    plan.new_groups = [(v, g) for v, g in new_groups if (plan.village_ids.get(v), g) not in plan.group_ids]


def plan_cadres(
    plan: ImportPlan, rows: list[dict[str, Any]], first_cadre: dict[str, dict[str, Any]], stored: Stored
) -> Counter[str]:
    """Cadres new or updated. A new cadre's village is where most of their households are; post and unit are
    the first non-empty value in the list, and empty cells keep what is stored."""
    cadre_villages: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        cadre_villages[r["cadre_phone"]][r["village"]] += 1
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
        if phone not in stored.cadres:
            plan.new_cadres.append(
                {"phone": phone, "name": r["cadre_name"], "post": post, "unit": unit, "village": village}
            )
            counts["cadres_new"] += 1
            continue
        c = stored.cadres[phone]
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
    return counts


def plan_households(
    plan: ImportPlan, matched: Matched, stored: Stored, progress: Progress | None
) -> tuple[Counter[str], dict[int, str]]:
    """Households new or updated: their details, card and cadre. Returns the counts and each stored household's
    cadre (by phone) after the import, for the 30-household warnings."""
    counts = Counter[str]()
    final_cadre: dict[int, str] = {}  # household id -> cadre phone, for existing households after import
    for hid, (_lid, cid) in stored.links.items():
        h = stored.households.get(hid)
        if (
            cid in stored.cadre_by_id and h is not None and h["closed_on"] is None
        ):  # closed: nobody's any more
            final_cadre[hid] = stored.cadre_by_id[cid][0]
    for i, (r, h) in enumerate(matched, start=1):
        if progress and i % shape.PROGRESS_EVERY == 0:
            progress("plan", i, len(matched))
        if h is None:
            plan.new_households.append(r)
            counts["households_new"] += 1
            if not r["card"]:
                counts["cards_assigned"] += 1
            continue
        if plan.has_tags:
            plan.tags[h["id"]] = r["tags"]
        details = plan_details(plan, r, h)
        card = plan_card(plan, r, h["id"], stored.card_of.get(h["id"]))
        link = plan_link(plan, r, h["id"], stored)
        reopen = h["closed_on"] is not None  # closed in the register, named again (register_edits.py asks)
        if reopen:
            plan.reopen.append(h["id"])
            counts["households_reopened"] += 1
        if card and r["card"] is None:
            counts["cards_assigned"] += 1
        if link:
            counts["links_changed"] += 1
        final_cadre[h["id"]] = r["cadre_phone"]
        counts["households_updated" if details or card or link or reopen else "households_unchanged"] += 1
    return counts, final_cadre


def plan_details(plan: ImportPlan, r: dict[str, Any], h: dict[str, Any]) -> bool:
    """A stored household's head, phone, population and place (village and group) as the row gives them, each
    change kept in its history (a move between groups as the old and the new 村+组). True when any changed."""
    changes: dict[str, Any] = {}
    for key in ("head_name", "head_phone", "population"):
        if h[key] != r[key]:
            changes[key] = r[key]
    if h["village"] != r["village"] or h["group"] != r["group"]:
        changes["village"] = r["village"]
        changes["group"] = r["group"]
    if not changes:
        return False
    plan.household_updates.append({"id": h["id"], "row": r["row"], **changes})
    for key, new in changes.items():
        if key == "village":
            continue
        old = h[key]
        if key == "group":
            old = f"{h['village']}{h['group']}"
            new = f"{r['village']}{r['group']}"
        plan.history.append(
            {
                "household_id": h["id"],
                "field": key,
                "old_value": None if old is None else str(old),
                "new_value": None if new is None else str(new),
            }
        )
    return True


def plan_card(plan: ImportPlan, r: dict[str, Any], hid: int, card: tuple[int, str] | None) -> bool:
    """A stored household's card: given one when it has none (the row's number, or a number drawn at apply),
    renumbered when the row gives another number; an empty cell keeps the card. True when it changes."""
    if card is not None and not (r["card"] and card[1] != r["card"]):
        return False
    plan.card_updates.append(
        {
            "household_id": hid,
            "card_id": card[0] if card else None,
            "old": card[1] if card else None,
            "number": r["card"],
            "village": r["village"],
        }
    )
    return True


def plan_link(plan: ImportPlan, r: dict[str, Any], hid: int, stored: Stored) -> bool:
    """A stored household's cadre: linked when it has none, moved when the row names another. True when it
    changes."""
    link = stored.links.get(hid)
    old_cid = link[1] if link else None
    if old_cid is not None and stored.cadre_by_id.get(old_cid, ("",))[0] == r["cadre_phone"]:
        return False
    plan.link_updates.append(
        {
            "household_id": hid,
            "link_id": link[0] if link else None,
            "old_cadre_id": old_cid,
            "cadre_phone": r["cadre_phone"],
        }
    )
    return True


def minimum_warnings(
    plan: ImportPlan,
    first_cadre: dict[str, dict[str, Any]],
    stored: Stored,
    final_cadre: dict[int, str],
    minimum: int,
) -> None:
    """The programme's minimum of households per cadre, after the import: a warning (not a refusal) for each
    cadre of the list, and each cadre a household moves away from, who would have fewer."""
    per_cadre = Counter(final_cadre.values())
    for r in plan.new_households:
        per_cadre[r["cadre_phone"]] += 1
    concerned = set(first_cadre) | {
        stored.cadre_by_id[u["old_cadre_id"]][0]
        for u in plan.link_updates
        if u["old_cadre_id"] in stored.cadre_by_id
    }
    for phone in sorted(concerned):
        n = per_cadre.get(phone, 0)
        if n < minimum:
            name = first_cadre[phone]["cadre_name"] if phone in first_cadre else stored.cadres[phone]["name"]
            plan.warnings.append(CadreWarning(name=name, phone=phone, households=n, minimum=minimum))


def summary_counts(
    plan: ImportPlan,
    counts: Counter[str],
    rows: list[dict[str, Any]],
    matched: Matched,
    first_cadre: dict[str, dict[str, Any]],
    stored: Stored,
) -> dict[str, int]:
    """The counts the summary and the audit record show, every key present. ``not_in_file``: stored households of
    the list's villages that the list does not name (left as they are)."""
    file_village_ids = set(plan.village_ids.values())
    touched = {h["id"] for _, h in matched if h is not None}
    counts = counts.copy()
    counts["not_in_file"] = sum(
        1
        for hid, h in stored.households.items()
        if h["village_id"] in file_village_ids and hid not in touched and h["closed_on"] is None
    )
    counts["villages"] = len(dict.fromkeys(r["village"] for r in rows))
    counts["villages_new"] = len(plan.new_villages)
    counts["groups_new"] = len(plan.new_groups)
    counts["cadres"] = len(first_cadre)
    counts["households"] = len(rows)
    counts["group_links"] = len(plan.group_links)
    counts["group_links_changed"] = len(plan.group_link_changes)
    return {k: counts.get(k, 0) for k in COUNT_KEYS}
