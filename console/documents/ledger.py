"""Rendering the 五个一 ledger (see storage.ledger.build_ledger) as JSON, an Excel workbook or an HTML page."""

from __future__ import annotations

import io
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from storage.ledger import DUTIES, INFO_FIELD_LABELS, ROLE_NAMES

# Columns of the per-cadre and per-village tables, in order, with their headings.
KEYS: tuple[str, ...] = (
    "info_complete",
    "card_issued",
    "policy_done",
    "commitment_signed",
    "visited_this_month",
    "listed",
)
LABELS: dict[str, str] = {
    "info_complete": "信息登记完整",
    "card_issued": "服务卡已发",
    "policy_done": "政策已宣传",
    "commitment_signed": "承诺书已签",
    "visited_this_month": "本月已走访",
    "listed": "已公示",
}


def to_json(led: dict[str, Any]) -> str:
    return json.dumps(led, ensure_ascii=False, indent=2, default=str)


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "html.j2"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["field_label"] = lambda k: INFO_FIELD_LABELS.get(k, k)
    env.filters["duty_label"] = lambda k: DUTIES.get(k, k)
    return env


def to_html(led: dict[str, Any], *, township: str) -> str:
    return (
        _env()
        .get_template("ledger.html.j2")
        .render(led=led, township=township, keys=KEYS, labels=LABELS, roles=ROLE_NAMES)
    )


def _cells(row: dict[str, Any]) -> list[Any]:
    out: list[Any] = [row["households"]]
    for k in KEYS:
        out += [row[k], row["percent"][k]]
    return out


def _as_text(ws: Any, values: list[Any]) -> list[Any]:
    """openpyxl stores a string starting with "=" as a formula: names typed by people stay text
    (no formula injection such as =HYPERLINK(...) when the office opens the file)."""
    from openpyxl.cell import WriteOnlyCell

    out: list[Any] = []
    for v in values:
        if isinstance(v, str) and v.startswith("="):
            cell = WriteOnlyCell(ws, value=v)
            cell.data_type = "s"
            v = cell
        out.append(v)
    return out


def to_xlsx(led: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    duty_heads: list[str] = []
    for k in KEYS:
        duty_heads += [LABELS[k], LABELS[k] + "%"]
    # write-only: a county's ledger lists ~100,000 households; this keeps memory and time down
    wb = Workbook(write_only=True)
    bold = Font(bold=True)

    def sheet(title: str, heads: list[str]) -> Any:
        ws = wb.create_sheet(title)
        ws.freeze_panes = "A2"
        cells = []
        for h in heads:
            c = WriteOnlyCell(ws, value=h)
            c.font = bold
            cells.append(c)
        ws.append(cells)
        return ws

    ws = sheet("干部", ["干部", "电话", "村（居）", "联系户数", *duty_heads, *(r + "员" for r in ROLE_NAMES)])
    for c in led["cadres"]:
        ws.append(
            _as_text(
                ws,
                [c["name"], c["phone"], c["village"] or "", *_cells(c), *(c["roles"][r] for r in ROLE_NAMES)],
            )
        )
    wv = sheet("村", ["村（居）", "农户数", *duty_heads, "未联户"])
    for v in led["villages"]:
        wv.append(_as_text(wv, [v["village"], *_cells(v), v["unlinked"]]))
    wv.append(["合计", *_cells(led["totals"]), None])
    wm = sheet(
        "缺项农户",
        [
            "村（居）",
            "户主",
            "卡号",
            "联户干部",
            "干部电话",
            "信息登记缺项",
            "信息更新",
            "服务卡发放",
            "政策宣传",
            "承诺书",
            "本月走访次数",
            "督办卡",
            "缺项",
        ],
    )
    for h in led["missing"]:
        wm.append(
            _as_text(
                wm,
                [
                    h["village"],
                    h["head_name"],
                    h["card_number"] or "",
                    h["cadre_name"] or "（未联户）",
                    h["cadre_phone"] or "",
                    "、".join(INFO_FIELD_LABELS[k] for k in h["info_missing"]),
                    (h["info_updated_at"] or "")[:10],
                    h["card_issued_on"] or "",
                    h["policy_done_on"] or "",
                    h["commitment_signed_on"] or "",
                    h["visits_this_month"],
                    h["tasks"],
                    "、".join(DUTIES.get(k, k) for k in h["missing"]),
                ],
            )
        )
    wg = sheet("包组", ["村（居）", "村民小组", "户数", "包组干部", "岗位", "电话"])
    for g in led.get("groups", []):
        wg.append(_as_text(wg, [g["village"], g["group"], g["households"], g["name"], g["post"], g["phone"]]))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
