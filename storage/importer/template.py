"""The link list's blank template (.xlsx) with the columns, notes and the example row."""

from __future__ import annotations

import io
from pathlib import Path

from storage.importer.shape import COLUMNS, EXAMPLE_ROW


def template_bytes() -> bytes:
    """An empty link-list workbook: the header row, one example row, column widths, phones as text."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

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
        ws.column_dimensions[get_column_letter(i)].width = 14
        for r in (2,):
            if name in ("户主电话", "干部电话", "服务卡号", "包组干部电话"):
                ws.cell(row=r, column=i).number_format = "@"
    ws.cell(row=1, column=6).comment = Comment("可留空：导入时自动编号（村代码 + 序号）", "lianxin")
    ws.cell(row=1, column=8).comment = Comment("干部以电话识别；同一电话须为同一姓名", "lianxin")
    ws.cell(row=1, column=12).comment = Comment(
        "可留空。包组联户：负责本行所在村民小组的干部电话，须是名单中或系统中的联户干部；"
        "同一小组各行须填同一人或留空；留空不改变已有的包组干部",
        "lianxin",
    )
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_template(path: str | Path) -> Path:
    p = Path(path)
    p.write_bytes(template_bytes())
    return p
