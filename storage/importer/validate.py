"""Validating one row on its own: required cells, lengths, phones, card numbers, the template's example row."""

from __future__ import annotations

import re
from typing import Any

from storage.accounts import normalize_phone
from storage.importer.shape import COLUMN_OF, EXAMPLE_ROW, Problem, SourceRow

_LIMITS = {
    "village": 100,
    "group": 100,
    "head_name": 50,
    "cadre_name": 50,
    "cadre_post": 100,
    "cadre_unit": 100,
    "group_cadre_name": 50,
}
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}\d{7,8}")
_CARD = re.compile(r"[0-9A-Za-z\-]{1,20}")


def valid_phone(phone: str) -> bool:
    """A mainland mobile (11 digits, 1[3-9]…) or a landline with its area code (0xx/0xxx + 7–8 digits)."""
    return bool(_MOBILE.fullmatch(phone) or _LANDLINE.fullmatch(phone))


def check_row(row: SourceRow, problems: list[Problem]) -> dict[str, Any] | None:
    v = row.values
    n = row.number
    bad = False

    def err(key: str, message: str) -> None:
        nonlocal bad
        bad = True
        problems.append(Problem(n, COLUMN_OF[key], message))

    for key in ("village", "head_name", "cadre_name"):
        if not v[key]:
            err(key, f"{COLUMN_OF[key]}为空")
    for key, value in v.items():
        if (
            "\x00" in value and key in COLUMN_OF
        ):  # PostgreSQL text cannot hold NUL (a DataError, not an answer)
            err(key, "含有不允许的控制字符（NUL）")
    for key, limit in _LIMITS.items():
        if len(v[key]) > limit:
            err(key, f"过长（{len(v[key])} 字，最多 {limit} 字）")
    head_phone = normalize_phone(v["head_phone"]) if v["head_phone"] else ""
    if head_phone and not valid_phone(head_phone):
        err("head_phone", f"「{v['head_phone']}」不是有效的电话号码（手机 11 位，或带区号的座机）")
    cadre_phone = normalize_phone(v["cadre_phone"]) if v["cadre_phone"] else ""
    if not cadre_phone:
        err("cadre_phone", "干部电话为空（干部以电话识别）")
    elif not valid_phone(cadre_phone):
        err("cadre_phone", f"「{v['cadre_phone']}」不是有效的电话号码（手机 11 位，或带区号的座机）")
    group_phone = normalize_phone(v["group_cadre_phone"]) if v["group_cadre_phone"] else ""
    if group_phone and not valid_phone(group_phone):
        err(
            "group_cadre_phone",
            f"「{v['group_cadre_phone']}」不是有效的电话号码（手机 11 位，或带区号的座机）",
        )
    elif v["group_cadre_name"] and not group_phone:
        err("group_cadre_phone", "填写了包组干部却没有包组干部电话（干部以电话识别）")
    elif group_phone and not v["group"]:
        err("group", "填写了包组干部，但村民小组为空（包组干部联系的是一个村民小组）")
    # The template's example row left in place, unchanged, would add a made-up household and cadre.
    if (
        v["village"],
        v["group"],
        v["head_name"],
        head_phone,
        v["cadre_name"],
        cadre_phone,
        v["cadre_post"],
        v["cadre_unit"],
    ) == tuple(EXAMPLE_ROW[i] for i in (0, 1, 2, 3, 6, 7, 8, 9)):
        err("head_name", f"这是模板里的示例行（{EXAMPLE_ROW[2]}），请删除这一行后再导入")
    population: int | None = None
    pop = v["population"].replace("人", "").replace("口", "").strip()
    if not pop:
        err("population", "家庭人口为空")
    else:
        try:
            f = float(pop)
        except ValueError:
            err("population", f"「{v['population']}」不是数字")
        else:
            if f != int(f):
                err("population", f"「{v['population']}」不是整数")
            elif f < 0:
                err("population", f"「{v['population']}」是负数")
            elif f > 99:
                err("population", f"「{v['population']}」不合理（超过 99 人）")
            else:
                population = int(f)
    card = v["card"].replace(" ", "").upper()
    if card and not _CARD.fullmatch(card):
        err("card", f"「{v['card']}」不是有效的卡号（最多 20 位数字或字母）")
    if bad:
        return None
    return {
        "row": n,
        "village": v["village"],
        "group": v["group"],
        "head_name": v["head_name"],
        "head_phone": head_phone or None,
        "population": population,
        "card": card or None,
        "cadre_name": v["cadre_name"],
        "cadre_phone": cadre_phone,
        "cadre_post": v["cadre_post"] or None,
        "cadre_unit": v["cadre_unit"] or None,
        "group_cadre_name": v["group_cadre_name"],
        "group_cadre_phone": group_phone or None,
    }
