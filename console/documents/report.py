"""Rendering the assessment (storage.assessment.Report) as JSON, a formatted xlsx workbook, or printable HTML.

The wording (sheet names, column headers, labels) is in console/documents/templates/report_labels.toml and the
page in console/documents/templates/report.html.j2, so the office can change either without touching code. Charts are inline SVG
whose geometry is computed here; the page has no external assets, so it prints and archives as one file.

``store_report(session, config, kind, period, now)`` builds a report and keeps its json, xlsx and html as
StoredReport rows (storage.stored_reports, with ``render`` from here); the ``monthly_circular`` job gets
``render`` injected as ``Lianxin.render_report`` (bot.app.build).
"""

from __future__ import annotations

import io
import json
import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from console.documents import insights as insights_document
from handlers.render import mask_phone as handlers_mask_phone
from storage import stored_reports
from storage.assessment import Report
from storage.config import Config

TEMPLATES = Path(__file__).parent / "templates"
# shares shown as percentages (numbers stay numbers in the workbook: 0.8632 formatted as 86.3%)
PERCENT = {"diary_coverage", "satisfaction", "task_timeliness", "requests_in_sla_share", "ledger_completion"}
QUARTERS = {1: "一", 2: "二", 3: "三", 4: "四"}
CHART_CADRES_MAX = 60  # above this the coverage chart shows villages (a county has thousands of cadres)


@lru_cache(maxsize=1)
def labels() -> dict[str, Any]:
    return tomllib.loads((TEMPLATES / "report_labels.toml").read_text(encoding="utf-8"))


def period_title(kind: str, period: str) -> str:
    if kind == "month":
        y, m = period.split("-")
        return f"{y}年{int(m)}月"
    if kind == "quarter":
        y, q = period.split("Q")
        return f"{y}年第{QUARTERS[int(q)]}季度"
    return f"{period}年度"


def report_title(report: Report) -> str:
    return f"{report.township}“三五连心”工程{period_title(report.kind, report.period)}{labels()['kinds'][report.kind]}"


def default_filename(report: Report, fmt: str) -> str:
    return f"lianxin-{report.kind}-{report.period}.{fmt}"


def mask_phone(phone: str) -> str:
    return handlers_mask_phone(phone)


# --------------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------------


def render_json(report: Report) -> bytes:
    return (json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# --------------------------------------------------------------------------------------------------
# xlsx
# --------------------------------------------------------------------------------------------------


def _cell_value(key: str, value: Any) -> Any:
    if isinstance(value, list):  # reasons
        reasons = labels()["reasons"]
        return "、".join(reasons.get(v, v) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if key == "unranked_reason" and value:
        return labels()["unranked"].get(value, value)
    return value


def _sheet(
    wb: Any, title: str, columns: dict[str, str], rows: list[dict[str, Any]], freeze: str = "A2"
) -> Any:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    keys = list(columns)
    ws.append([columns[k] for k in keys])
    head_fill = PatternFill("solid", fgColor="1F4E79")
    thin = Side(style="thin", color="BFBFBF")
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = head_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = Border(bottom=thin)
    ws.row_dimensions[1].height = 32
    for row in rows:
        ws.append([_cell_value(k, row.get(k)) for k in keys])
    # One pass after the rows: ws.max_row scans every cell, so asking it per appended row was quadratic
    # (the month's xlsx took 78 s instead of ~3 s at 3,000 cadres).
    for line in ws.iter_rows(min_row=2):
        for cell in line:
            if cell.data_type == "f":  # a name starting with "=" is text, never a formula (formula injection)
                cell.data_type = "s"
    for i, key in enumerate(keys, start=1):
        letter = get_column_letter(i)
        if key in PERCENT:
            fmt = "0.0%"
        elif key in (
            "score",
            "avg_score",
            "previous_score",
            "previous_avg_score",
            "score_delta",
            "avg_first_answer_hours",
            "hours_late",
        ) or key.endswith("_points"):
            fmt = "0.00"
        else:
            fmt = None
        if fmt:
            for cell in ws[letter][1:]:
                cell.number_format = fmt
        width = max(
            [_display_width(columns[key])]
            + [_display_width(str(_cell_value(key, r.get(key)) or "")) for r in rows[:500]]
        )
        ws.column_dimensions[letter].width = min(max(width + 2, 6), 40)
    ws.freeze_panes = freeze
    if rows:
        ws.auto_filter.ref = ws.dimensions
    return ws


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def render_xlsx(report: Report, *, mask_phones: bool = False) -> bytes:
    from openpyxl import Workbook

    lab = labels()
    data = report.to_dict()
    if mask_phones:
        _mask_all(data)
    wb = Workbook()
    first = wb.active  # the empty sheet a new workbook starts with
    assert first is not None
    wb.remove(first)
    sheets, cols = lab["sheets"], lab["columns"]
    ccols, vcols = _remark_columns(report.kind, cols["cadres"], cols["villages"])

    _sheet(wb, sheets["cadres"], ccols, data["cadres"], freeze="C2")

    comp = lab["components"]
    bcols: dict[str, str] = {"rank": "排名", "name": "姓名", "village": "村(居)"}
    brows = []
    for r in data["cadres"]:
        row: dict[str, Any] = {
            "rank": r["rank"],
            "name": r["name"],
            "village": r["village"],
            "score": r["score"],
        }
        for p in r["score_breakdown"]:
            if p["weight"] <= 0:
                continue
            row[f"{p['key']}_ratio"] = p["ratio"]
            row[f"{p['key']}_points"] = p["points"]
            row[f"{p['key']}_max_points"] = p["max_points"]
        brows.append(row)
    for key in [k for k, w in report.weights.items() if w > 0]:
        bcols[f"{key}_ratio"] = f"{comp[key]}·完成率"
        bcols[f"{key}_points"] = f"{comp[key]}·得分"
        bcols[f"{key}_max_points"] = f"{comp[key]}·满分"
    bcols["score"] = "总分"
    ws = _sheet(wb, sheets["breakdown"], bcols, brows, freeze="D2")
    from openpyxl.utils import get_column_letter

    for i, key in enumerate(bcols, start=1):
        if key.endswith("_ratio"):
            for cell in ws[get_column_letter(i)][1:]:
                cell.number_format = "0.0%"
        elif key.endswith("points"):
            for cell in ws[get_column_letter(i)][1:]:
                cell.number_format = "0.00"

    _sheet(wb, sheets["villages"], vcols, data["villages"], freeze="C2")
    tcols = {k: v for k, v in cols["villages"].items() if k not in ("rank",)}
    tcols["name"] = "镇"
    tcols["previous_avg_score"] = "上期平均得分"
    _sheet(wb, sheets["totals"], tcols, [data["totals"]])
    _sheet(wb, sheets["below_minimum"], cols["below_minimum"], data["below_minimum"])
    red = [dict(r, fed_back_at=r["fed_back_at"] or "未反馈") for r in data["red_list"]]
    _sheet(wb, sheets["red_list"], cols["red_list"], red)
    if data["departments"]:  # the township's 站办所 and the requests passed to them (转办)
        _sheet(wb, sheets["departments"], cols["departments"], data["departments"])
    _sheet(wb, sheets["trend"], cols["trend"], data["trend"])
    if report.kind == "year":
        _commendation_sheet(wb, data)
    if report.insights is not None:  # 民情热点 (console/documents/insights.py attach)
        insights_document.add_sheet(wb, report.insights)
    notes = [{"item": k, "value": v} for k, v in _notes(report)]
    ws = _sheet(wb, sheets["notes"], {"item": "项目", "value": "说明"}, notes)
    ws.column_dimensions["B"].width = 90
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _remark_columns(
    kind: str, cadres: dict[str, str], villages: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The cadre and village columns with the office's remarks of that kind of report: 点评 (quarter), 表彰 (year)."""
    rem = labels()["remarks"]
    cadres, villages = dict(cadres), dict(villages)
    if kind == "quarter":
        cadres["comment"] = villages["comment"] = rem["comment"]
    elif kind == "year":
        cadres["commended"], cadres["commendation"] = rem["commended"], rem["commendation"]
    return cadres, villages


COMMENDATION_COLUMNS = {
    "number": "序号",
    "name": "姓名",
    "village": "村(居)",
    "post": "岗位",
    "phone": "电话",
    "score": "年度得分",
    "rank": "年度名次",
    "commendation": "表彰事由",
}


def _commendation_sheet(wb: Any, data: dict[str, Any]) -> Any:
    rows = [
        dict(r, number=i) for i, r in enumerate((r for r in data["cadres"] if r.get("commended")), start=1)
    ]
    return _sheet(wb, labels()["remarks"]["commend_sheet"], COMMENDATION_COLUMNS, rows)


PRACTICE_COLUMNS = {
    "day": "日期",
    "title": "好经验好做法",
    "village": "村(居)",
    "cadre": "干部",
    "text": "内容",
}


def render_commendations_xlsx(
    report: Report, *, mask_phones: bool = False, practices: list[dict[str, Any]] | None = None
) -> bytes:
    """The year's commended cadres as one sheet, for the 年终绩效考核 (``report`` is a year's); with
    ``practices`` (storage/practices.py rows) a second sheet, the year's 好经验好做法."""
    from openpyxl import Workbook

    if report.kind != "year":
        raise ValueError("表彰名单属于年考核 / commendations belong to a year's report")
    data = report.to_dict()
    if mask_phones:
        _mask_all(data)
    wb = Workbook()
    first = wb.active  # the empty sheet a new workbook starts with
    assert first is not None
    wb.remove(first)
    _commendation_sheet(wb, data)
    if practices is not None:
        _sheet(wb, "好经验好做法", PRACTICE_COLUMNS, practices)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _notes(report: Report) -> list[tuple[str, str]]:
    comp = labels()["components"]
    weights = "，".join(f"{comp[k]} {w:g}" for k, w in report.weights.items() if w > 0)
    return [
        ("报表", report_title(report)),
        ("统计期间", f"{report.first_day} 至 {report.last_day}（应记天数统计至 {report.as_of}）"),
        ("生成时间", report.generated_at),
        ("权重", weights),
        (
            "得分",
            "得分 = 100 × Σ(权重 × 完成率) ÷ Σ(参与计分项的权重)；本期无可考核内容的项目（如未收到督办卡或诉求）不计入，其余项目按权重折算为百分制。",
        ),
        (
            "民情日记",
            "完成率 = 写了日记的天数（每月以应记天数封顶）÷ 应记天数；应记天数 = 工作日（含调休，办公室可调整）扣除请假，从干部建档之日起算，统计至生成日前一天。",
        ),
        ("月小结", "按时提交计 1 份，逾期提交计半份，未交计 0；已结束的月份（或已提交的月份）参与计分。"),
        (
            "督办卡",
            "按办理时限所在期间统计；时限前首次反馈为按时，时限过后仍未反馈或逾期反馈为逾期；时限未到且未反馈的不计分。",
        ),
        (
            "群众诉求",
            f"按诉求提出时间所在期间统计；{report.sla_hours} 小时内首次答复为按时；超时未答复或超时答复为超时；尚在时限内的不计分。",
        ),
        ("满意率", "评价为“满意”的诉求 ÷ 已评价的诉求。"),
        (
            "排名",
            "按得分（保留两位小数）从高到低，同分同名次（1、2、2、4）。季度与年度由各月原始数据累加后计分，不是各月得分的平均。",
        ),
        (
            "最低要求",
            f"联系农户少于 {report.min_households} 户，或日记覆盖率低于 {report.min_diary_share:.0%}。",
        ),
    ]


def _mask_all(data: dict[str, Any]) -> None:
    for section in ("cadres", "below_minimum", "red_list"):
        for row in data[section]:
            row["phone"] = mask_phone(row["phone"])


# --------------------------------------------------------------------------------------------------
# HTML with inline SVG charts
# --------------------------------------------------------------------------------------------------


@dataclass
class Bar:
    label: str
    value: float | None  # 0..1
    y: float
    width: float
    low: bool


def coverage_chart(report: Report, width: float = 640) -> dict[str, Any]:
    """Horizontal bars of diary coverage: one per cadre, or one per village when there are too many cadres."""
    per_cadre = len(report.cadres) <= CHART_CADRES_MAX
    items = (
        [(f"{c.name}（{c.village}）", c.diary_coverage) for c in report.cadres]
        if per_cadre
        else [(v.name, v.diary_coverage) for v in report.villages]
    )
    items.sort(key=lambda t: (-(t[1] if t[1] is not None else -1), t[0]))
    left, row_h, plot_w = 150.0, 16.0, width - 150.0 - 50.0
    bars = [
        Bar(
            label=label,
            value=v,
            y=20 + i * row_h,
            width=plot_w * (v or 0.0),
            low=v is not None and v < report.min_diary_share,
        )
        for i, (label, v) in enumerate(items)
    ]
    height = 20 + len(bars) * row_h + 24
    return {
        "per_cadre": per_cadre,
        "bars": bars,
        "left": left,
        "plot_w": plot_w,
        "row_h": row_h,
        "width": width,
        "height": height,
        "threshold_x": left + plot_w * report.min_diary_share,
        "threshold": report.min_diary_share,
        "ticks": [(left + plot_w * t, f"{t:.0%}") for t in (0, 0.25, 0.5, 0.75, 1)],
    }


def task_chart(report: Report, width: float = 640) -> dict[str, Any]:
    """Stacked bars per village (and the township): cards on time, overdue, not yet due."""
    rows = [
        (v.name, v.tasks_on_time, v.tasks_overdue, v.tasks_assigned - v.tasks_on_time - v.tasks_overdue)
        for v in report.villages
        if v.tasks_assigned
    ]
    t = report.totals
    if t.tasks_assigned:
        rows.append(
            (
                f"{t.name}合计",
                t.tasks_on_time,
                t.tasks_overdue,
                t.tasks_assigned - t.tasks_on_time - t.tasks_overdue,
            )
        )
    left, row_h, plot_w = 150.0, 20.0, width - 150.0 - 95.0
    out = []
    for i, (name, on_time, overdue, pending) in enumerate(rows):
        total = on_time + overdue + pending
        scale = plot_w / total if total else 0
        out.append(
            {
                "label": name,
                "y": 6 + i * row_h,
                "on_time": on_time,
                "overdue": overdue,
                "pending": pending,
                "w_on": on_time * scale,
                "w_over": overdue * scale,
                "w_pend": pending * scale,
                "share": on_time / (on_time + overdue) if on_time + overdue else None,
            }
        )
    return {
        "rows": out,
        "left": left,
        "plot_w": plot_w,
        "row_h": row_h,
        "width": width,
        "height": 10 + len(out) * row_h + 8,
    }


def trend_chart(report: Report, width: float = 640, height: float = 220) -> dict[str, Any]:
    """Lines over the last months: average score and diary coverage (both 0–100); each point's label goes
    on the side away from the other line so the two never overlap."""
    left, right, top, bottom = 40.0, 45.0, 20.0, 40.0
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(report.trend)
    step = plot_w / max(n - 1, 1)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / 100.0)

    scores = [p.avg_score for p in report.trend]
    covs = [None if p.diary_coverage is None else round(p.diary_coverage * 100, 1) for p in report.trend]

    def series(values: list[float | None], other: list[float | None], wins_ties: bool) -> dict[str, Any]:
        points = []
        for i, v in enumerate(values):
            if v is None:
                continue
            o = other[i]
            above = o is None or v > o or (v == o and wins_ties)
            points.append((left + i * step, y(v), v, -7 if above else 15))
        segments: list[list[tuple[float, float]]] = []
        current: list[tuple[float, float]] = []
        for i, v in enumerate(values):
            if v is None:
                if current:
                    segments.append(current)
                current = []
            else:
                current.append((left + i * step, y(v)))
        if current:
            segments.append(current)
        return {
            "points": points,
            "paths": [" ".join(f"{x:.1f},{yy:.1f}" for x, yy in seg) for seg in segments],
        }

    months = [
        (left + i * step, f"{int(p.month[5:])}月" if p.month[5:] != "01" else f"{p.month[:4]}年1月")
        for i, p in enumerate(report.trend)
    ]
    return {
        "score": series(scores, covs, True),
        "coverage": series(covs, scores, False),
        "months": months,
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": top + plot_h,
        "grid": [(y(v), v) for v in (0, 25, 50, 75, 100)],
    }


PREVIOUS = {"month": "上月", "quarter": "上季度", "year": "上年"}


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v, digits=1: "—" if v is None else f"{v * 100:.{digits}f}%"
    env.filters["num"] = lambda v, digits=2: "—" if v is None else f"{v:.{digits}f}"
    env.filters["signed"] = lambda v, digits=2: (
        "—" if v is None else (f"+{v:.{digits}f}" if v > 0 else f"{v:.{digits}f}")
    )
    env.filters["rankmove"] = lambda v: (
        "—" if v is None else ("↑" + str(v) if v > 0 else ("↓" + str(-v) if v < 0 else "持平"))
    )
    return env


def render_html(report: Report, *, mask_phones: bool = False) -> str:
    lab = labels()
    phone = mask_phone if mask_phones else (lambda p: p)
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            r=report,
            title=report_title(report),
            period_name=period_title(report.kind, report.period),
            previous_name=PREVIOUS[report.kind],
            labels=lab,
            phone=phone,
            notes=_notes(report),
            coverage=coverage_chart(report),
            tasks=task_chart(report),
            trend=trend_chart(report),
        )
    )


def render(report: Report, fmt: str, *, mask_phones: bool = False) -> bytes:
    if fmt == "json":
        if mask_phones:
            data = report.to_dict()
            _mask_all(data)
            return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        return render_json(report)
    if fmt == "xlsx":
        return render_xlsx(report, mask_phones=mask_phones)
    if fmt == "html":
        return render_html(report, mask_phones=mask_phones).encode("utf-8")
    raise ValueError(f"格式应为 json、xlsx 或 html（收到 {fmt!r}）")


# --------------------------------------------------------------------------------------------------
# Stored reports (the monthly_circular job)
# --------------------------------------------------------------------------------------------------


def store_report(
    session: Session, config: Config, kind: str, period: str, now: datetime, *, actor: str = "scheduler"
) -> Report:
    """storage.stored_reports.store_report with these renderers (does not commit)."""
    return stored_reports.store_report(session, config, kind, period, now, render=render, actor=actor)
