"""Validating a list without the database: each row on its own (required cells, lengths, phones, population,
card numbers, the template's example row), then the rows against each other (one name per cadre phone, one
cadre per household, each household and card once)."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, NamedTuple

from storage import household_tags
from storage.accounts import normalize_phone, valid_phone
from storage.cards import normalize_number
from storage.importer import shape
from storage.importer.shape import COLUMN_OF, EXAMPLE_ROW, Problem, Progress, SourceRow

_LIMITS = {
    "village": 100,
    "group": 100,
    "head_name": 50,
    "cadre_name": 50,
    "cadre_post": 100,
    "cadre_unit": 100,
    "group_cadre_name": 50,
}
_CARD = re.compile(r"[0-9A-Za-z\-]{1,20}")


# One check each: (column key, message) for every problem found, none when the cells are right.
Errors = list[tuple[str, str]]


class RowPhones(NamedTuple):
    """The row's three phones, normalised ("" when the cell is empty)."""

    head: str
    cadre: str
    group: str


def check_row(row: SourceRow, problems: list[Problem]) -> dict[str, Any] | None:
    """The row's cleaned values, or None with its problems added to ``problems`` (every problem of the row,
    in the order of the checks below, so the office can fix a row in one go)."""
    v = row.values
    phones = row_phones(v)
    population, population_error = parse_population(v["population"])
    card = normalize_number(v["card"])
    errors = [
        *cell_errors(v),
        *phone_errors(v, phones),
        *example_row_error(v, phones),
        *population_error,
        *card_error(v["card"], card),
        *tag_error(v["tags"]),
    ]
    problems.extend(Problem(row.number, COLUMN_OF[key], message) for key, message in errors)
    if errors:
        return None
    return {
        "row": row.number,
        "village": v["village"],
        "group": v["group"],
        "head_name": v["head_name"],
        "head_phone": phones.head or None,
        "population": population,
        "card": card or None,
        "cadre_name": v["cadre_name"],
        "cadre_phone": phones.cadre,
        "cadre_post": v["cadre_post"] or None,
        "cadre_unit": v["cadre_unit"] or None,
        "group_cadre_name": v["group_cadre_name"],
        "group_cadre_phone": phones.group or None,
        "tags": household_tags.parse(v["tags"]),
    }


def tag_error(cell: str) -> Errors:
    """The 重点人群 cell (storage/household_tags.py says which tags are accepted)."""
    try:
        household_tags.parse(cell)
    except household_tags.TagError as e:
        return [("tags", str(e))]
    return []


def row_phones(v: dict[str, str]) -> RowPhones:
    """Normalised once, because both the phone checks and the example-row check compare normalised numbers."""
    return RowPhones(
        *(
            normalize_phone(v[key]) if v[key] else ""
            for key in ("head_phone", "cadre_phone", "group_cadre_phone")
        )
    )


def cell_errors(v: dict[str, str]) -> Errors:
    """Required cells, characters the database cannot hold, and lengths the columns can hold."""
    errors = [(key, f"{COLUMN_OF[key]}为空") for key in ("village", "head_name", "cadre_name") if not v[key]]
    # PostgreSQL text cannot hold NUL (a DataError, not an answer)
    errors += [
        (key, "含有不允许的控制字符（NUL）")
        for key, value in v.items()
        if "\x00" in value and key in COLUMN_OF
    ]
    errors += [
        (key, f"过长（{len(v[key])} 字，最多 {limit} 字）")
        for key, limit in _LIMITS.items()
        if len(v[key]) > limit
    ]
    return errors


def phone_errors(v: dict[str, str], phones: RowPhones) -> Errors:
    """Cadres are known by their phone, so a cadre's phone is required and a 包组干部 needs one (and a group)."""
    errors: Errors = []
    if phones.head and not valid_phone(phones.head):
        errors.append(("head_phone", _not_a_phone(v["head_phone"])))
    if not phones.cadre:
        errors.append(("cadre_phone", "干部电话为空（干部以电话识别）"))
    elif not valid_phone(phones.cadre):
        errors.append(("cadre_phone", _not_a_phone(v["cadre_phone"])))
    if phones.group and not valid_phone(phones.group):
        errors.append(("group_cadre_phone", _not_a_phone(v["group_cadre_phone"])))
    elif v["group_cadre_name"] and not phones.group:
        errors.append(("group_cadre_phone", "填写了包组干部却没有包组干部电话（干部以电话识别）"))
    elif phones.group and not v["group"]:
        errors.append(("group", "填写了包组干部，但村民小组为空（包组干部联系的是一个村民小组）"))
    return errors


def _not_a_phone(cell: str) -> str:
    return f"「{cell}」不是有效的电话号码（手机 11 位，或带区号的座机）"


def example_row_error(v: dict[str, str], phones: RowPhones) -> Errors:
    """The template's example row left in place, unchanged, would add a made-up household and cadre."""
    cells = (
        v["village"],
        v["group"],
        v["head_name"],
        phones.head,
        v["cadre_name"],
        phones.cadre,
        v["cadre_post"],
        v["cadre_unit"],
    )
    if cells == tuple(EXAMPLE_ROW[i] for i in (0, 1, 2, 3, 6, 7, 8, 9)):
        return [("head_name", f"这是模板里的示例行（{EXAMPLE_ROW[2]}），请删除这一行后再导入")]
    return []


def parse_population(cell: str) -> tuple[int | None, Errors]:
    """家庭人口 as people write it ("4", "4人", "4.0" from a spreadsheet): a whole number from 0 to 99."""
    pop = cell.replace("人", "").replace("口", "").strip()
    if not pop:
        return None, [("population", "家庭人口为空")]
    try:
        f = float(pop)
    except ValueError:
        return None, [("population", f"「{cell}」不是数字")]
    if f != int(f):
        return None, [("population", f"「{cell}」不是整数")]
    if f < 0:
        return None, [("population", f"「{cell}」是负数")]
    if f > 99:
        return None, [("population", f"「{cell}」不合理（超过 99 人）")]
    return int(f), []


def card_error(cell: str, card: str) -> Errors:
    """A card number as printed may carry spaces and dashes (storage.cards.normalize_number drops them); what
    remains is up to 20 digits or letters."""
    if card and not _CARD.fullmatch(card):
        return [("card", f"「{cell}」不是有效的卡号（最多 20 位数字或字母）")]
    return []


# --------------------------------------------------------------------------------------------------
# The rows against each other
# --------------------------------------------------------------------------------------------------


def check_rows(
    rows: list[SourceRow], problems: list[Problem], progress: Progress | None
) -> list[dict[str, Any]]:
    """Every row checked on its own (``check_row``); the good ones, cleaned. Progress every
    ``shape.PROGRESS_EVERY`` rows, since a county's list can take a while."""
    checked: list[dict[str, Any]] = []
    for i, raw in enumerate(rows, start=1):
        row = check_row(raw, problems)
        if row is not None:
            checked.append(row)
        if progress and i % shape.PROGRESS_EVERY == 0:
            progress("check", i, len(rows))
    return checked


def check_rows_together(rows: list[dict[str, Any]], problems: list[Problem]) -> dict[str, dict[str, Any]]:
    """What no single row shows: one name per cadre phone, one cadre per household, each household and each
    card once. Returns the first row of each cadre (by phone), which names the cadre for the plan."""
    first_cadre = cadre_names(rows, problems)
    households_once(rows, problems)
    cards_once(rows, problems)
    return first_cadre


def cadre_names(rows: list[dict[str, Any]], problems: list[Problem]) -> dict[str, dict[str, Any]]:
    """A cadre is known by the phone, so a phone written with two names is a mistake in one of the rows."""
    first_cadre: dict[str, dict[str, Any]] = {}
    for r in rows:
        c = first_cadre.setdefault(r["cadre_phone"], r)
        if c["cadre_name"] != r["cadre_name"]:
            problems.append(
                Problem(
                    r["row"],
                    "联户干部",
                    f"干部电话 {r['cadre_phone']} 在第 {c['row']} 行是"
                    f"「{c['cadre_name']}」，此处却是「{r['cadre_name']}」",
                )
            )
    return first_cadre


def households_once(rows: list[dict[str, Any]], problems: list[Problem]) -> None:
    """The same household (village, group, head's name and phone) twice: under two cadres it is a conflict
    (one household, one cadre), under one it is a repeated row."""
    by_identity: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_identity[(r["village"], r["group"], r["head_name"], r["head_phone"] or "")].append(r)
    for (village, group, head, _phone), same in by_identity.items():
        first = same[0]
        for r in same[1:]:
            if r["cadre_phone"] != first["cadre_phone"]:
                problems.append(
                    Problem(
                        r["row"],
                        "干部电话",
                        f"同一户（{village}{group} {head}）在第 {first['row']} 行联系干部 {first['cadre_name']}，"
                        f"此处又联系 {r['cadre_name']}：一户只能由一名干部联系",
                    )
                )
            else:
                problems.append(
                    Problem(r["row"], "户主姓名", f"与第 {first['row']} 行重复（{village}{group} {head}）")
                )


def cards_once(rows: list[dict[str, Any]], problems: list[Problem]) -> None:
    """A service-card number belongs to one household."""
    by_card: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["card"]:
            by_card[r["card"]].append(r)
    for card, same in by_card.items():
        for r in same[1:]:
            problems.append(Problem(r["row"], "服务卡号", f"卡号 {card} 与第 {same[0]['row']} 行重复"))
