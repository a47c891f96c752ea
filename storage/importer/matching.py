"""The rows against the database: which stored household each row is (by its identity, or by its card number),
and what the database refuses — another township's cadre or card, another household's card, two rows that
reach one stored household. It only reads what ``stored.read_stored`` read."""

from __future__ import annotations

from typing import Any

from storage.importer.shape import Problem
from storage.importer.stored import Stored

# (the row, the stored household it is, or None for a new household)
Matched = list[tuple[dict[str, Any], dict[str, Any] | None]]


def cadres_of_other_townships(
    first_cadre: dict[str, dict[str, Any]], stored: Stored, problems: list[Problem]
) -> None:
    """A cadre belongs to one township: a township's list cannot name another township's cadre."""
    for phone, r in first_cadre.items():
        other = stored.cadres.get(phone, {}).get("township_id")
        if other is not None and other != stored.township_id:
            problems.append(
                Problem(
                    r["row"],
                    "干部电话",
                    f"干部电话 {phone} 已是{stored.township_names.get(other, '')}"
                    f"的干部（{stored.cadres[phone]['name']}）：一名干部只属于一个乡镇",
                )
            )


def match_households(rows: list[dict[str, Any]], stored: Stored, problems: list[Problem]) -> Matched:
    """Each row with the stored household it is; a row refused (its problem added) is left out. Two rows may not
    reach the same stored household, one by its identity and one by its card, say."""
    matched: Matched = []
    rows_of: dict[int, dict[str, Any]] = {}  # stored household id -> the row that reached it first
    for r in rows:
        target, problem = stored_household(r, stored)
        if problem is not None:
            problems.append(problem)
            continue
        if target is not None:
            if target["id"] in rows_of:
                other = rows_of[target["id"]]
                problems.append(
                    Problem(
                        r["row"],
                        "服务卡号" if r["card"] else "户主姓名",
                        f"与第 {other['row']} 行指向数据库中的同一户（{target['village']}{target['group']} "
                        f"{target['head_name']}）",
                    )
                )
                continue
            rows_of[target["id"]] = r
        matched.append((r, target))
    return matched


def stored_household(r: dict[str, Any], stored: Stored) -> tuple[dict[str, Any] | None, Problem | None]:
    """The stored household a checked row is — found by (village, group, head's name, head's phone), else by its
    card number — or None for a new household; or the problem that refuses the row."""
    h_key = stored.by_identity.get((r["village"], r["group"], r["head_name"], r["head_phone"] or ""))
    card = r["card"]
    if card and card in stored.card_households:
        h_card = stored.households.get(stored.card_households[card])
        if h_card is None:
            return None, Problem(r["row"], "服务卡号", f"卡号 {card} 已属于另一户（已删除个人信息的户）")
    else:
        h_card = None
    if h_card and h_card["township_id"] != stored.township_id:
        return None, Problem(
            r["row"],
            "服务卡号",
            f"卡号 {card} 已属于另一乡镇的农户（{h_card['village']}），服务卡号全县唯一",
        )
    if h_card and (h_key["id"] != h_card["id"] if h_key else not card_finds(r, h_card)):
        return None, Problem(
            r["row"],
            "服务卡号",
            f"卡号 {card} 已属于另一户（{h_card['village']}{h_card['group']} {h_card['head_name']}），不能重复",
        )
    return h_key or h_card, None


def card_finds(r: dict[str, Any], h: dict[str, Any]) -> bool:
    """Whether a card number alone finds stored household ``h`` again for row ``r``: after its head's phone or
    name changed (not both), or after it moved to another group of the same village. Anything else is another
    household's card, most likely a typo."""
    same_phone = bool(r["head_phone"]) and h["head_phone"] == r["head_phone"]
    return h["village"] == r["village"] and (h["head_name"] == r["head_name"] or same_phone)
