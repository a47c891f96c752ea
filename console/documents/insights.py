"""民情分析 as the office reads it: the 热点 page's body (server-rendered SVG bars, as the reports draw them), the
standalone HTML and JSON of ``lianxin insights month``, and the sheet the month report's xlsx gains. The figures
are storage/insights.py's; the words are split by handlers/policy.py's jieba loader (one loader for the house)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session

from handlers import policy
from storage import insights
from storage.assessment import Report
from storage.config import Config
from storage.insights import Insights
from storage.periods import parse_period

SHEET = "民情热点"
TEMPLATES = Path(__file__).parent / "templates"


def build(
    session: Session,
    config: Config,
    period: str,
    *,
    township_id: int | None = None,
    village: tuple[int, str] | None = None,
) -> Insights:
    """The month ``period`` ('2026-11'): ValueError for a bad month."""
    return insights.month(
        session,
        period=parse_period("month", period),
        tz=config.tz,
        sla_hours=config.sla.first_answer_hours,
        words=policy.words,
        township_id=township_id,
        village_id=village[0] if village else None,
        village_name=village[1] if village else None,
    )


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    previous: int
    y: float
    width: float
    previous_width: float


def bar_chart(items: list[tuple[str, int, int]], width: float = 640) -> dict[str, Any]:
    """Horizontal bars (label, this month, the month before): this month's bar, last month's a thin grey one."""
    left, row_h = 120.0, 22.0
    plot_w = width - left - 50.0
    top = max([v for _, v, _ in items] + [p for _, _, p in items] + [1])
    bars = [
        Bar(label, v, p, 8 + i * row_h, plot_w * v / top, plot_w * p / top)
        for i, (label, v, p) in enumerate(items)
    ]
    return {"bars": bars, "left": left, "row_h": row_h, "width": width, "height": 16 + len(bars) * row_h}


def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_body(data: Insights) -> Markup:
    """The 热点 section (charts and tables): the console's page and the standalone HTML both show it."""
    categories = bar_chart([(c.name, c.count, c.previous_count) for c in data.categories])
    keywords = bar_chart([(k.word, k.count, 0) for k in data.keywords[:15]])
    html = (
        _env().get_template("insights_body.html.j2").render(d=data, categories=categories, keywords=keywords)
    )
    return Markup(html)  # noqa: S704 - rendered by an autoescaping template


def render_html(data: Insights, title: str) -> str:
    return _env().get_template("insights.html.j2").render(title=title, body=render_body(data))


def attach(session: Session, config: Config, report: Report, township_id: int | None) -> Report:
    """A month report with its 民情分析 (the xlsx's sheet 民情热点); other kinds are given back as they are."""
    if report.kind == "month":
        report.insights = build(session, config, report.period, township_id=township_id)
    return report


def render_json(data: Insights) -> bytes:
    return json.dumps(data.to_dict(), ensure_ascii=False, indent=2).encode("utf-8")


def add_sheet(wb: Any, data: Insights) -> Any:
    """The month report's xlsx sheet 民情热点: categories, slowest, keywords, villages — counts only."""
    ws = wb.create_sheet(SHEET)
    ws.append(
        [
            "民情分析",
            data.period,
            "诉求总数",
            data.requests,
            f"提出 {insights.REPEAT_ASKS} 次以上的农户",
            data.repeat_askers,
        ]
    )
    ws.append([])
    ws.append(["类别", "本月诉求", "按时答复", "已答复", "平均首次答复(小时)", "上月诉求"])
    for c in data.categories:
        ws.append([c.name, c.count, c.answered_in_time, c.answered, c.avg_answer_hours, c.previous_count])
    ws.append([])
    ws.append(["答复最慢的类别", "平均首次答复(小时)", "本月诉求"])
    for c in data.slowest_categories:
        ws.append([c.name, c.avg_answer_hours, c.count])
    ws.append([])
    ws.append(["关键词", "提及诉求数"])
    for k in data.keywords:
        ws.append([k.word, k.count])
    ws.append([])
    ws.append(["村(居)", "诉求", "类别"])
    for v in data.villages:
        ws.append([v.name, v.requests, "、".join(f"{c.name}{c.count}" for c in v.categories if c.count)])
    ws.column_dimensions["A"].width = 18
    ws.freeze_panes = "A2"  # the month's line stays in sight, as every sheet of the report keeps its head
    return ws
