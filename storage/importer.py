"""Importing a link list (联户名单): .xlsx or .csv with the columns PRODUCT.md fixes.

Three steps, each callable on its own (the CLI runs them in a row; the console previews before applying):

- ``read_rows(source, filename)`` parses the file into a ``Table`` (rows numbered as in the spreadsheet,
  header = row 1) plus file-level problems (empty file, missing columns, unreadable encoding);
- ``plan_import(session, table)`` validates every row against the file and the database and works out
  what would change — it only reads;
- ``apply_import(session, plan, actor=...)`` writes the plan with bulk statements (never per-row queries:
  100,000 households must import in well under a minute) and audits it. The caller owns the transaction.

All or nothing: a plan with any problem is refused whole, and ``apply_import`` refuses to write it.
A household is the same household when its village, group, head's name and head's phone are the same, or
when it carries the same service-card number; a cadre is the same cadre when the phone is the same.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from storage.accounts import normalize_phone
from storage.audit import record
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
from storage.types import utcnow

# The columns, in the order of the template. Keys are the names used in code.
COLUMNS: list[tuple[str, str]] = [
    ("村(居)", "village"),
    ("村民小组", "group"),
    ("户主姓名", "head_name"),
    ("户主电话", "head_phone"),
    ("家庭人口", "population"),
    ("服务卡号", "card"),
    ("联户干部", "cadre_name"),
    ("干部电话", "cadre_phone"),
    ("干部岗位", "cadre_post"),
    ("干部单位", "cadre_unit"),
]
COLUMN_OF: dict[str, str] = {key: name for name, key in COLUMNS}
OPTIONAL_COLUMNS = {"服务卡号"}
EXAMPLE_ROW = ["新桥村", "一组", "王大山", "13812345678", 4, "", "李明", "13987654321", "村支书", "新桥村委会"]
MIN_HOUSEHOLDS = 30  # the programme's minimum per cadre
PROGRESS_EVERY = 10_000

# Spellings seen in real spreadsheets for the same column.
_ALIASES = {
    "村居": "村(居)", "村": "村(居)", "村/居": "村(居)", "村(社区)": "村(居)", "村名": "村(居)",
    "组": "村民小组", "村民组": "村民小组", "小组": "村民小组",
    "户主": "户主姓名", "户主名": "户主姓名",
    "户主手机": "户主电话", "户主联系电话": "户主电话", "联系电话": "户主电话",
    "人口": "家庭人口", "家庭人数": "家庭人口", "人口数": "家庭人口",
    "卡号": "服务卡号", "便民服务卡号": "服务卡号",
    "联户干部姓名": "联户干部", "干部姓名": "联户干部",
    "干部手机": "干部电话", "联户干部电话": "干部电话",
    "岗位": "干部岗位", "职务": "干部岗位", "干部职务": "干部岗位",
    "单位": "干部单位", "工作单位": "干部单位",
}
_LIMITS = {"village": 100, "group": 100, "head_name": 50, "cadre_name": 50, "cadre_post": 100, "cadre_unit": 100}
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}\d{7,8}")
_CARD = re.compile(r"[0-9A-Za-z\-]{1,20}")
_FULLWIDTH = {0xFF01 + i: 0x21 + i for i in range(94)} | {0x3000: 0x20}


class ImportRefused(Exception):
    """``apply_import`` was given a plan with problems."""


@dataclass(frozen=True)
class Problem:
    """One reason the file is refused: the spreadsheet row (header = 1) and the column, where they apply."""

    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"第 {self.row} 行")
        if self.column:
            where.append(f"[{self.column}]")
        return (" ".join(where) + "：" if where else "") + self.message


@dataclass
class SourceRow:
    number: int  # as in the spreadsheet
    values: dict[str, str]  # code key -> cleaned text ("" when empty)


@dataclass
class Table:
    filename: str
    rows: list[SourceRow] = field(default_factory=list)
    header_row: int = 1
    problems: list[Problem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


@dataclass
class CadreWarning:
    name: str
    phone: str
    households: int
    minimum: int = MIN_HOUSEHOLDS

    def __str__(self) -> str:
        return f"干部 {self.name}（{self.phone}）联系 {self.households} 户，少于 {self.minimum} 户的最低要求"


@dataclass
class ImportPlan:
    """What an import would do. ``problems`` non-empty = refused; ``counts`` and ``warnings`` for the summary."""

    filename: str
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[CadreWarning] = field(default_factory=list)
    # the work, resolved by apply_import
    township_name: str = ""
    township_id: int | None = None
    new_villages: list[str] = field(default_factory=list)
    village_ids: dict[str, int] = field(default_factory=dict)
    new_groups: list[tuple[str, str]] = field(default_factory=list)
    group_ids: dict[tuple[int, str], int] = field(default_factory=dict)
    new_cadres: list[dict[str, Any]] = field(default_factory=list)
    cadre_updates: list[dict[str, Any]] = field(default_factory=list)
    cadre_ids: dict[str, int] = field(default_factory=dict)
    new_households: list[dict[str, Any]] = field(default_factory=list)
    household_updates: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    link_updates: list[dict[str, Any]] = field(default_factory=list)  # existing household, other/no cadre
    card_updates: list[dict[str, Any]] = field(default_factory=list)  # existing household: number set/changed
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary_lines(self) -> list[str]:
        c = self.counts
        return [
            f"村(居)：{c.get('villages', 0)} 个（新增 {c.get('villages_new', 0)}）",
            f"村民小组：新增 {c.get('groups_new', 0)}",
            f"联户干部：{c.get('cadres', 0)} 名（新增 {c.get('cadres_new', 0)}，更新 {c.get('cadres_updated', 0)}，"
            f"未变 {c.get('cadres_unchanged', 0)}）",
            f"农户：{c.get('households', 0)} 户（新增 {c.get('households_new', 0)}，更新 {c.get('households_updated', 0)}，"
            f"未变 {c.get('households_unchanged', 0)}）",
            f"联户关系变更：{c.get('links_changed', 0)}；新编服务卡号：{c.get('cards_assigned', 0)}",
        ] + ([f"数据库中另有 {c['not_in_file']} 户（同一村）不在此文件中，未作改动"] if c.get("not_in_file") else [])


Progress = Callable[[str, int, int], None]


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


def _clean(value: Any) -> str:
    """A cell as text: numbers without '.0', full-width ASCII folded, surrounding spaces removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).translate(_FULLWIDTH).strip().replace("\u200b", "").replace("\ufeff", "")


def _header_name(value: Any) -> str:
    s = re.sub(r"\s+", "", _clean(value)).replace("*", "")
    return _ALIASES.get(s, s)


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK), as Excel on Chinese Windows saves."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _csv_rows(data: bytes) -> Iterable[list[Any]]:
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _xlsx_rows(data: bytes) -> Iterable[list[Any]]:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        ws = wb.active if wb.active is not None else wb.worksheets[0]
        # read-only mode yields empty rows as well, so the running index is the spreadsheet's row number
        for row in ws.iter_rows(values_only=True):
            yield list(row)
    finally:
        wb.close()


def read_rows(source: str | Path | bytes | IO[bytes], filename: str | None = None,
              progress: Progress | None = None) -> Table:
    """Parse a link list. ``source`` is a path or the file's bytes (``filename`` then gives the format)."""
    if isinstance(source, str | Path):
        filename = filename or Path(source).name
        data = Path(source).read_bytes()
    elif isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        data = source.read()
    filename = filename or "upload.csv"
    table = Table(filename=filename)
    suffix = Path(filename).suffix.lower()
    if not data.strip():
        table.problems.append(Problem(None, None, "文件为空 / the file is empty"))
        return table
    try:
        if suffix in (".xlsx", ".xlsm"):
            raw_rows: Iterable[list[Any]] = _xlsx_rows(data)
        elif suffix in (".csv", ".txt", ""):
            raw_rows = _csv_rows(data)
        else:
            table.problems.append(Problem(None, None, f"不支持的文件类型 {suffix}，请使用 .xlsx 或 .csv"))
            return table
        _fill(table, raw_rows, progress)
    except (UnicodeDecodeError, csv.Error) as e:
        table.problems.append(Problem(None, None, f"无法读取 CSV 文件：{e}"))
    except Exception as e:  # noqa: BLE001 - openpyxl raises many kinds for a damaged workbook
        if suffix == ".csv":
            raise
        table.problems.append(Problem(None, None, f"无法读取 Excel 文件（{e.__class__.__name__}）：{e}"))
    return table


def _fill(table: Table, raw_rows: Iterable[list[Any]], progress: Progress | None) -> None:
    known = {name for name, _ in COLUMNS}
    positions: dict[str, int] | None = None
    seen_any = False
    for number, raw in enumerate(raw_rows, start=1):
        cells = [_clean(v) for v in raw]
        if not any(cells):
            continue
        seen_any = True
        if positions is None:
            names = [_header_name(v) for v in raw]
            # The header is the first row naming at least three of our columns (a title row may sit above it).
            if len(known.intersection(names)) < 3:
                if number >= 10:
                    break
                continue
            table.header_row = number
            positions = {}
            for i, name in enumerate(names):
                if name in known:
                    if name in positions:
                        table.problems.append(Problem(number, name, "表头中此列出现了两次"))
                    positions.setdefault(name, i)
                elif name:
                    table.ignored_columns.append(name)
            for name, _key in COLUMNS:
                if name not in positions and name not in OPTIONAL_COLUMNS:
                    table.problems.append(Problem(number, name, f"缺少必需的列「{name}」"))
            continue
        values = {key: (cells[positions[name]] if name in positions and positions[name] < len(cells) else "")
                  for name, key in COLUMNS}
        table.rows.append(SourceRow(number=number, values=values))
        if progress and len(table.rows) % PROGRESS_EVERY == 0:
            progress("read", len(table.rows), 0)
    if not seen_any:
        table.problems.append(Problem(None, None, "文件为空 / the file is empty"))
    elif positions is None:
        missing = "、".join(name for name, _ in COLUMNS if name not in OPTIONAL_COLUMNS)
        table.problems.append(Problem(1, None, f"找不到表头行；表头应包含以下列：{missing}"))
    elif not table.rows and not table.problems:
        table.problems.append(Problem(None, None, "文件只有表头，没有数据行"))


# --------------------------------------------------------------------------------------------------
# Validating and planning
# --------------------------------------------------------------------------------------------------


def valid_phone(phone: str) -> bool:
    """A mainland mobile (11 digits, 1[3-9]…) or a landline with its area code (0xx/0xxx + 7–8 digits)."""
    return bool(_MOBILE.fullmatch(phone) or _LANDLINE.fullmatch(phone))


def _check_row(row: SourceRow, problems: list[Problem]) -> dict[str, Any] | None:
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
        if "\x00" in value and key in COLUMN_OF:  # PostgreSQL text cannot hold NUL (a DataError, not an answer)
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
    # The template's example row left in place, unchanged, would add a made-up household and cadre.
    if ((v["village"], v["group"], v["head_name"], head_phone, v["cadre_name"], cadre_phone, v["cadre_post"],
         v["cadre_unit"]) == tuple(EXAMPLE_ROW[i] for i in (0, 1, 2, 3, 6, 7, 8, 9))):
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
        "row": n, "village": v["village"], "group": v["group"], "head_name": v["head_name"],
        "head_phone": head_phone or None, "population": population, "card": card or None,
        "cadre_name": v["cadre_name"], "cadre_phone": cadre_phone, "cadre_post": v["cadre_post"] or None,
        "cadre_unit": v["cadre_unit"] or None,
    }


def plan_import(session: Session, table: Table, *, township: str | None = None,
                minimum: int = MIN_HOUSEHOLDS, progress: Progress | None = None) -> ImportPlan:
    """Validate ``table`` against itself and the database; work out the changes. Reads only.

    ``minimum``: cadres linked to fewer households after the import get a warning (config
    ``[score] min_households``, the programme's 30).
    """
    plan = ImportPlan(filename=table.filename, rows=len(table.rows), problems=list(table.problems))
    if plan.problems:
        return plan
    rows: list[dict[str, Any]] = []
    for i, raw in enumerate(table.rows, start=1):
        checked = _check_row(raw, plan.problems)
        if checked is not None:
            rows.append(checked)
        if progress and i % PROGRESS_EVERY == 0:
            progress("check", i, len(table.rows))

    # --- consistency inside the file -------------------------------------------------------------
    first_cadre: dict[str, dict[str, Any]] = {}
    for r in rows:
        c = first_cadre.setdefault(r["cadre_phone"], r)
        if c["cadre_name"] != r["cadre_name"]:
            plan.problems.append(Problem(r["row"], "联户干部", f"干部电话 {r['cadre_phone']} 在第 {c['row']} 行是"
                                         f"「{c['cadre_name']}」，此处却是「{r['cadre_name']}」"))
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
                plan.problems.append(Problem(
                    r["row"], "干部电话",
                    f"同一户（{village}{group} {head}）在第 {first['row']} 行联系干部 {first['cadre_name']}，"
                    f"此处又联系 {r['cadre_name']}：一户只能由一名干部联系"))
            else:
                plan.problems.append(Problem(r["row"], "户主姓名",
                                             f"与第 {first['row']} 行重复（{village}{group} {head}）"))
    for card, same in by_card.items():
        for r in same[1:]:
            plan.problems.append(Problem(r["row"], "服务卡号", f"卡号 {card} 与第 {same[0]['row']} 行重复"))

    # --- against the database --------------------------------------------------------------------
    plan.township_name = township or "示范镇"
    t = session.scalar(select(Township).where(Township.name == plan.township_name))
    plan.township_id = t.id if t else None
    villages: dict[str, int] = {}
    for vid, vname, tid in session.execute(select(Village.id, Village.name, Village.township_id)):
        if vname not in villages or tid == plan.township_id:
            villages[vname] = vid
    groups = {gid: (vid, gname) for gid, vid, gname in session.execute(
        select(VillagerGroup.id, VillagerGroup.village_id, VillagerGroup.name))}
    plan.group_ids = {(vid, gname): gid for gid, (vid, gname) in groups.items()}
    village_name = {vid: name for name, vid in villages.items()}
    existing: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    by_id: dict[int, dict[str, Any]] = {}
    for hid, vid, gid, head, phone, pop in session.execute(
        select(Household.id, Household.village_id, Household.group_id, Household.head_name,
               Household.head_phone, Household.population).where(Household.purged_at.is_(None))
    ):
        gname = groups[gid][1] if gid else ""
        h = {"id": hid, "village_id": vid, "village": village_name.get(vid, f"#{vid}"), "group": gname,
             "group_id": gid, "head_name": head, "head_phone": phone, "population": pop}
        existing.setdefault((h["village"], gname, head, phone or ""), h)
        by_id[hid] = h
    cards: dict[str, int] = {}
    card_of: dict[int, tuple[int, str]] = {}
    for cid, hid, number in session.execute(select(ServiceCard.id, ServiceCard.household_id, ServiceCard.number)):
        cards[number] = hid
        card_of[hid] = (cid, number)
    links = {hid: (lid, cid) for lid, hid, cid in session.execute(select(Link.id, Link.household_id, Link.cadre_id))}
    cadres = {phone: {"id": cid, "name": name, "post": post, "unit": unit, "village_id": vid}
              for cid, phone, name, post, unit, vid in session.execute(
                  select(Cadre.id, Cadre.phone, Cadre.name, Cadre.post, Cadre.unit, Cadre.village_id))}
    cadre_by_id = {c["id"]: (phone, c) for phone, c in cadres.items()}

    targets: dict[int, dict[str, Any]] = {}
    for r in rows:
        key = (r["village"], r["group"], r["head_name"], r["head_phone"] or "")
        h_key = existing.get(key)
        h_card = by_id.get(cards[r["card"]]) if r["card"] and r["card"] in cards else None
        if r["card"] and r["card"] in cards and h_card is None:
            plan.problems.append(Problem(r["row"], "服务卡号", f"卡号 {r['card']} 已属于另一户（已删除个人信息的户）"))
            continue
        if h_card and not h_key:
            # A card number alone finds the household again after its head's phone or name changed (not
            # both), or after it moved to another group of the same village; anything else is another
            # household's card, most likely a typo.
            same_phone = bool(r["head_phone"]) and h_card["head_phone"] == r["head_phone"]
            if h_card["village"] != r["village"] or (h_card["head_name"] != r["head_name"] and not same_phone):
                plan.problems.append(Problem(
                    r["row"], "服务卡号", f"卡号 {r['card']} 已属于另一户（{h_card['village']}{h_card['group']} "
                    f"{h_card['head_name']}），不能重复"))
                continue
        if h_key and h_card and h_key["id"] != h_card["id"]:
            plan.problems.append(Problem(
                r["row"], "服务卡号", f"卡号 {r['card']} 已属于另一户（{h_card['village']}{h_card['group']} "
                f"{h_card['head_name']}），不能重复"))
            continue
        target = h_key or h_card
        if target is not None:
            if target["id"] in targets:
                other = targets[target["id"]]
                plan.problems.append(Problem(
                    r["row"], "服务卡号" if r["card"] else "户主姓名",
                    f"与第 {other['row']} 行指向数据库中的同一户（{target['village']}{target['group']} "
                    f"{target['head_name']}）"))
                continue
            targets[target["id"]] = r
        r["target"] = target

    if plan.problems:
        plan.problems.sort(key=lambda p: (p.row or 0, [n for n, _ in COLUMNS].index(p.column)
                                          if p.column in COLUMN_OF.values() else 99))
        return plan

    # --- what changes ------------------------------------------------------------------------------
    file_villages = list(dict.fromkeys(r["village"] for r in rows))
    plan.new_villages = [v for v in file_villages if v not in villages]
    plan.village_ids = {v: villages[v] for v in file_villages if v in villages}
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
            plan.new_cadres.append({"phone": phone, "name": r["cadre_name"], "post": post, "unit": unit,
                                    "village": village})
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
        if progress and i % PROGRESS_EVERY == 0:
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
                plan.history.append({"household_id": hid, "field": key,
                                     "old_value": None if old is None else str(old),
                                     "new_value": None if new is None else str(new)})
        card = card_of.get(hid)
        if card is None or (r["card"] and card[1] != r["card"]):
            changed = True
            plan.card_updates.append({"household_id": hid, "card_id": card[0] if card else None,
                                      "old": card[1] if card else None, "number": r["card"],
                                      "village": r["village"]})
            if r["card"] is None:
                counts["cards_assigned"] += 1
        link = links.get(hid)
        old_cid = link[1] if link else None
        new_phone = r["cadre_phone"]
        if old_cid is None or cadre_by_id.get(old_cid, ("",))[0] != new_phone:
            changed = True
            plan.link_updates.append({"household_id": hid, "link_id": link[0] if link else None,
                                      "old_cadre_id": old_cid, "cadre_phone": new_phone})
            counts["links_changed"] += 1
        final_cadre[hid] = new_phone
        counts["households_updated" if changed else "households_unchanged"] += 1

    # --- the minimum of 30 households per cadre ---------------------------------------------------
    per_cadre = Counter(final_cadre.values())
    for r in plan.new_households:
        per_cadre[r["cadre_phone"]] += 1
    concerned = set(first_cadre) | {cadre_by_id[u["old_cadre_id"]][0] for u in plan.link_updates
                                    if u["old_cadre_id"] in cadre_by_id}
    for phone in sorted(concerned):
        n = per_cadre.get(phone, 0)
        if n < minimum:
            name = first_cadre[phone]["cadre_name"] if phone in first_cadre else cadres[phone]["name"]
            plan.warnings.append(CadreWarning(name=name, phone=phone, households=n, minimum=minimum))

    file_village_ids = set(plan.village_ids.values())
    touched = {hid for hid in targets}
    counts["not_in_file"] = sum(1 for hid, h in by_id.items()
                                if h["village_id"] in file_village_ids and hid not in touched)
    counts["villages"] = len(file_villages)
    counts["villages_new"] = len(plan.new_villages)
    counts["groups_new"] = len(plan.new_groups)
    counts["cadres"] = len(first_cadre)
    counts["households"] = len(rows)
    plan.counts = {k: counts.get(k, 0) for k in (
        "villages", "villages_new", "groups_new", "cadres", "cadres_new", "cadres_updated", "cadres_unchanged",
        "households", "households_new", "households_updated", "households_unchanged", "links_changed",
        "cards_assigned", "not_in_file")}
    return plan


# --------------------------------------------------------------------------------------------------
# Applying
# --------------------------------------------------------------------------------------------------


class _CardNumbers:
    """Numbers for households without one: village code (3 digits, the village's id) + a 5-digit sequence.

    Stable and readable on the card (``00700042`` = village 7, household 42); never reuses a number that
    exists anywhere, including numbers the office assigned by hand.
    """

    def __init__(self, session: Session) -> None:
        self.used: set[str] = set()
        self.top: dict[str, int] = {}
        for number in session.scalars(select(ServiceCard.number)):
            self.reserve(number)

    def reserve(self, number: str) -> None:
        self.used.add(number)
        if len(number) >= 8 and number.isdigit():
            prefix, seq = number[:-5], int(number[-5:])
            if seq > self.top.get(prefix, 0):
                self.top[prefix] = seq

    def take(self, village_id: int) -> str:
        prefix = f"{village_id:03d}"
        while True:
            seq = self.top.get(prefix, 0) + 1
            self.top[prefix] = seq
            number = f"{prefix}{seq:05d}"
            if number not in self.used:
                self.used.add(number)
                return number


def apply_import(session: Session, plan: ImportPlan, *, actor: str, now: datetime | None = None,
                 progress: Progress | None = None) -> ImportPlan:
    """Write ``plan`` (from ``plan_import`` in the same session) with bulk statements; audit it. No commit."""
    if plan.problems:
        raise ImportRefused(f"{len(plan.problems)} problems; nothing imported")
    if plan.applied:
        raise ImportRefused("this plan has already been applied")
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
        session.execute(insert(Cadre), [
            {"name": c["name"], "phone": c["phone"], "post": c["post"], "unit": c["unit"],
             "village_id": plan.village_ids[c["village"]], "active": True, "created_at": now, "updated_at": now}
            for c in plan.new_cadres])
        phones = [c["phone"] for c in plan.new_cadres]
        for i in range(0, len(phones), 500):
            for cid, phone in session.execute(select(Cadre.id, Cadre.phone).where(Cadre.phone.in_(phones[i:i + 500]))):
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
            part = plan.new_households[i:i + chunk]
            result = session.execute(
                insert(Household).returning(Household.id, sort_by_parameter_order=True),
                [{"village_id": plan.village_ids[r["village"]], "group_id": group_id(r["village"], r["group"]),
                  "head_name": r["head_name"], "head_phone": r["head_phone"], "population": r["population"],
                  "created_at": now, "updated_at": now} for r in part])
            new_ids.extend(result.scalars().all())
            if progress and len(plan.new_households) >= PROGRESS_EVERY:
                progress("write", min(i + chunk, len(plan.new_households)), len(plan.new_households))
        session.execute(insert(Link), [
            {"household_id": hid, "cadre_id": plan.cadre_ids[r["cadre_phone"]], "linked_at": now}
            for hid, r in zip(new_ids, plan.new_households, strict=True)])
        session.execute(insert(ServiceCard), [
            {"household_id": hid, "number": r["card"] or numbers.take(plan.village_ids[r["village"]])}
            for hid, r in zip(new_ids, plan.new_households, strict=True)])

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
        session.execute(insert(HouseholdInfoHistory),
                        [{**h, "changed_at": now, "changed_by": changed_by} for h in plan.history])
    card_inserts = [u for u in plan.card_updates if u["card_id"] is None]
    card_changes = [u for u in plan.card_updates if u["card_id"] is not None]
    if card_changes:
        session.execute(update(ServiceCard), [{"id": u["card_id"], "number": u["number"]} for u in card_changes])
        session.execute(insert(HouseholdInfoHistory), [
            {"household_id": u["household_id"], "field": "card_number", "old_value": u["old"],
             "new_value": u["number"], "changed_at": now, "changed_by": changed_by} for u in card_changes])
    if card_inserts:
        session.execute(insert(ServiceCard), [
            {"household_id": u["household_id"],
             "number": u["number"] or numbers.take(plan.village_ids[u["village"]])} for u in card_inserts])
    moves = [u for u in plan.link_updates if u["link_id"] is not None]
    fresh = [u for u in plan.link_updates if u["link_id"] is None]
    if moves:
        # a new cadre signs a new commitment letter with the household
        session.execute(update(Link), [
            {"id": u["link_id"], "cadre_id": plan.cadre_ids[u["cadre_phone"]], "linked_at": now,
             "commitment_signed_on": None, "commitment_recorded_by": None} for u in moves])
    if fresh:
        session.execute(insert(Link), [
            {"household_id": u["household_id"], "cadre_id": plan.cadre_ids[u["cadre_phone"]], "linked_at": now}
            for u in fresh])
    if plan.link_updates:
        session.execute(insert(LinkChange), [
            {"household_id": u["household_id"], "old_cadre_id": u["old_cadre_id"],
             "new_cadre_id": plan.cadre_ids[u["cadre_phone"]], "changed_at": now, "changed_by": changed_by}
            for u in plan.link_updates])
    record(session, actor=actor, action="import", target=plan.filename,
           detail={"rows": plan.rows, **plan.counts, "warnings": len(plan.warnings)})
    session.flush()
    plan.applied = True
    return plan


def import_file(session: Session, source: str | Path | bytes, *, filename: str | None = None, actor: str,
                township: str | None = None, minimum: int = MIN_HOUSEHOLDS, now: datetime | None = None,
                progress: Progress | None = None) -> ImportPlan:
    """Read, plan and (when there is no problem) apply in one go; the returned plan says which happened."""
    table = read_rows(source, filename, progress=progress)
    plan = plan_import(session, table, township=township, minimum=minimum, progress=progress)
    if plan.ok:
        apply_import(session, plan, actor=actor, now=now, progress=progress)
    return plan


# --------------------------------------------------------------------------------------------------
# The template
# --------------------------------------------------------------------------------------------------


def template_bytes() -> bytes:
    """An empty link-list workbook: the header row, one example row, column widths, phones as text."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "联户名单"
    ws.append([name for name, _ in COLUMNS])
    ws.append(EXAMPLE_ROW)
    for i, (name, _key) in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        ws.column_dimensions[cell.column_letter].width = 14
        for r in (2,):
            if name in ("户主电话", "干部电话", "服务卡号"):
                ws.cell(row=r, column=i).number_format = "@"
    ws.cell(row=1, column=6).comment = Comment("可留空：导入时自动编号（村代码 + 序号）", "lianxin")
    ws.cell(row=1, column=8).comment = Comment("干部以电话识别；同一电话须为同一姓名", "lianxin")
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_template(path: str | Path) -> Path:
    p = Path(path)
    p.write_bytes(template_bytes())
    return p


def household_count_by_cadre(session: Session) -> dict[int, int]:
    """Linked households per cadre id (for reports of the 30-household minimum)."""
    return dict(session.execute(select(Link.cadre_id, func.count()).group_by(Link.cadre_id)).all())
