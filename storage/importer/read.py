"""Reading: a .xlsx or .csv link list into a ``Table`` (rows numbered as in the spreadsheet, header = row 1)
plus file-level problems (empty file, missing columns, unreadable encoding)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from storage.importer import shape
from storage.importer.shape import (
    COLUMNS,
    OPTIONAL_COLUMNS,
    TOWNSHIP_COLUMN,
    Problem,
    Progress,
    SourceRow,
    Table,
)

# Spellings seen in real spreadsheets for the same column.
_ALIASES = {
    "村居": "村(居)",
    "村": "村(居)",
    "村/居": "村(居)",
    "村(社区)": "村(居)",
    "村名": "村(居)",
    "组": "村民小组",
    "村民组": "村民小组",
    "小组": "村民小组",
    "户主": "户主姓名",
    "户主名": "户主姓名",
    "户主手机": "户主电话",
    "户主联系电话": "户主电话",
    "联系电话": "户主电话",
    "人口": "家庭人口",
    "家庭人数": "家庭人口",
    "人口数": "家庭人口",
    "卡号": "服务卡号",
    "便民服务卡号": "服务卡号",
    "联户干部姓名": "联户干部",
    "干部姓名": "联户干部",
    "干部手机": "干部电话",
    "联户干部电话": "干部电话",
    "岗位": "干部岗位",
    "职务": "干部岗位",
    "干部职务": "干部岗位",
    "单位": "干部单位",
    "工作单位": "干部单位",
    "包组干部姓名": "包组干部",
    "包组联户干部": "包组干部",
    "包组干部手机": "包组干部电话",
    "包组电话": "包组干部电话",
}
_FULLWIDTH = {0xFF01 + i: 0x21 + i for i in range(94)} | {0x3000: 0x20}


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


def read_rows(
    source: str | Path | bytes | IO[bytes], filename: str | None = None, progress: Progress | None = None
) -> Table:
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
                if name == TOWNSHIP_COLUMN and not table.has_township:
                    table.has_township = True
                    positions[name] = i
                elif name in known:
                    if name in positions:
                        table.problems.append(Problem(number, name, "表头中此列出现了两次"))
                    positions.setdefault(name, i)
                elif name:
                    table.ignored_columns.append(name)
            table.has_tags = "重点人群" in positions
            for name, _key in COLUMNS:
                if name not in positions and name not in OPTIONAL_COLUMNS:
                    table.problems.append(Problem(number, name, f"缺少必需的列「{name}」"))
            continue
        values = {
            key: (cells[positions[name]] if name in positions and positions[name] < len(cells) else "")
            for name, key in COLUMNS
        }
        if table.has_township:
            at = positions[TOWNSHIP_COLUMN]
            values["township"] = cells[at] if at < len(cells) else ""
        table.rows.append(SourceRow(number=number, values=values))
        if progress and len(table.rows) % shape.PROGRESS_EVERY == 0:
            progress("read", len(table.rows), 0)
    if not seen_any:
        table.problems.append(Problem(None, None, "文件为空 / the file is empty"))
    elif positions is None:
        missing = "、".join(name for name, _ in COLUMNS if name not in OPTIONAL_COLUMNS)
        table.problems.append(Problem(1, None, f"找不到表头行；表头应包含以下列：{missing}"))
    elif not table.rows and not table.problems:
        table.problems.append(Problem(None, None, "文件只有表头，没有数据行"))
