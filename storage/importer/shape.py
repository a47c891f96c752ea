"""The link list's columns and the values an import passes along: the table read, its problems, the plan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
    # 包组联户 (optional): the cadre who answers for the row's 村民小组 — identified by the phone, which must be
    # a cadre of this file or of the database; every row of a group names the same one or leaves it empty
    ("包组干部", "group_cadre_name"),
    ("包组干部电话", "group_cadre_phone"),
    # 重点人群 (optional): the household's tags, separated by 、 or , (storage/household_tags.py); a list with the
    # column sets each named household's tags, one without it leaves them alone
    ("重点人群", "tags"),
]
COLUMN_OF: dict[str, str] = {key: name for name, key in COLUMNS}
OPTIONAL_COLUMNS = {"服务卡号", "包组干部", "包组干部电话", "重点人群"}
# A county's list may name each row's township in a 乡镇 column before 村(居); without it every row belongs to
# the township the import is for ([general] township, or ``--township``).
TOWNSHIP_COLUMN = "乡镇"
EXAMPLE_ROW = [
    "新桥村",
    "一组",
    "王大山",
    "13812345678",
    4,
    "",
    "李明",
    "13987654321",
    "村支书",
    "新桥村委会",
    "李明",
    "13987654321",
    "",
]
MIN_HOUSEHOLDS = 30  # the programme's minimum per cadre
PROGRESS_EVERY = 10_000


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
    has_township: bool = False  # the 乡镇 column is there (SourceRow.values["township"])
    has_tags: bool = False  # the 重点人群 column is there: the list sets the tags of the households it names


@dataclass
class CadreWarning:
    name: str
    phone: str
    households: int
    minimum: int = MIN_HOUSEHOLDS

    def __str__(self) -> str:
        return f"干部 {self.name}（{self.phone}）联系 {self.households} 户，少于 {self.minimum} 户的最低要求"


@dataclass(frozen=True)
class RegisterEdit:
    """A change made in the register since the lists (storage/register.py, a move or a handover) that this list
    would undo, or that it leaves out: shown before the list is applied, which then needs the office's yes
    (console: a tick; CLI: ``--yes``). ``kind``: ``reopen`` (a closed household named again: applying reopens
    it), ``move`` (a household the register gave another cadre, named under a different one: applying moves it
    back), ``missing`` (a household the register added, not in the list: applying leaves it as it is)."""

    kind: str
    row: int | None  # the list's row (None for a household the list leaves out)
    household_id: int
    message: str

    def __str__(self) -> str:
        return (f"第 {self.row} 行：" if self.row is not None else "") + self.message


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
    # 包组联户: (village, group) -> {"phone", "name", "row"} named in the file; changes against the database
    group_links: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    group_link_changes: list[dict[str, Any]] = field(default_factory=list)
    # register edits the list would undo or leaves out (storage/importer/register_edits.py); closed households
    # it names again, reopened when it is applied
    register_edits: list[RegisterEdit] = field(default_factory=list)
    reopen: list[int] = field(default_factory=list)
    # 重点人群: with the column, each named household's tags (existing ones here; new ones once their ids exist)
    has_tags: bool = False
    tags: dict[int, list[str]] = field(default_factory=dict)
    applied: bool = False
    # A list naming several townships is planned per township: one part each, applied together.
    parts: list[ImportPlan] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def needs_yes(self) -> bool:
        """The list would undo (or leaves out) changes made in the register: applied only when the office says
        yes to what ``register_edits`` lists."""
        return bool(self.register_edits)

    @property
    def moved_households(self) -> list[int]:
        """Households this import moves from one cadre to another (their duties start afresh)."""
        if self.parts:
            return [h for p in self.parts for h in p.moved_households]
        return [u["household_id"] for u in self.link_updates if u["link_id"] is not None]

    def summary_lines(self) -> list[str]:
        c = self.counts
        townships = (
            [f"乡镇：{len(self.parts)} 个（{'、'.join(p.township_name for p in self.parts)}）"]
            if self.parts
            else []
        )
        return (
            townships
            + [
                f"村(居)：{c.get('villages', 0)} 个（新增 {c.get('villages_new', 0)}）",
                f"村民小组：新增 {c.get('groups_new', 0)}",
                f"联户干部：{c.get('cadres', 0)} 名（新增 {c.get('cadres_new', 0)}，更新 {c.get('cadres_updated', 0)}，"
                f"未变 {c.get('cadres_unchanged', 0)}）",
                f"农户：{c.get('households', 0)} 户（新增 {c.get('households_new', 0)}，更新 {c.get('households_updated', 0)}，"
                f"未变 {c.get('households_unchanged', 0)}）",
                f"联户关系变更：{c.get('links_changed', 0)}；新编服务卡号：{c.get('cards_assigned', 0)}",
            ]
            + (
                [f"包组干部：{c['group_links']} 个村民小组（变更 {c.get('group_links_changed', 0)}）"]
                if c.get("group_links")
                else []
            )
            + (
                [f"已销户又出现在名单中的农户：{c['households_reopened']} 户（导入后恢复在册）"]
                if c.get("households_reopened")
                else []
            )
            + (
                [f"数据库中另有 {c['not_in_file']} 户（同一村）不在此文件中，未作改动"]
                if c.get("not_in_file")
                else []
            )
        )


Progress = Callable[[str, int, int], None]
