"""考核: monthly circular, quarterly review, annual assessment (storage/assessment/), with bar charts and
downloads (console/documents/report.py renderers; admins only, every download audited)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request

from console import office_todo as todo
from console.access import admin_only, db, download, lx, record_export, user
from console.documents import insights as insights_document
from console.documents import report as report_document
from console.views import common
from console.views.remarks import remark_options
from console.views.reporting import build_obj
from storage import practices
from storage.periods import parse_period
from storage.words import REPORT_KIND_ZH

bp = Blueprint("reports", __name__)

KIND_ZH = REPORT_KIND_ZH  # storage/words.py
FORMATS = {
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}


def _default_period(kind: str) -> str:
    d = common.today()
    if kind == "quarter":
        return f"{d.year}Q{(d.month - 1) // 3 + 1}"
    if kind == "year":
        return str(d.year)
    return f"{d.year:04d}-{d.month:02d}"


@bp.get("/reports")
def reports() -> Any:
    kind = request.args.get("kind", "month")
    if kind not in KIND_ZH:
        abort(400, description="报表类型应为月、季或年")
    period = (request.args.get("period") or "").strip() or _default_period(kind)
    with db() as s:
        try:
            report = build_obj(s, kind, period)
        except ValueError as e:
            abort(400, description=str(e))
        cadres = report.cadres
        villages = report.villages
        if user().role == "village":
            cadres = [c for c in cadres if c.village == user().village_name]
            villages = [v for v in villages if v.name == user().village_name]
        top = max([c.score or 0 for c in cadres] + [1])
        return render_template(
            "reports.html",
            kind=kind,
            period=period,
            kinds=KIND_ZH,
            report=report,
            cadres=cadres,
            villages=villages,
            top=top,
            formats=list(FORMATS),
            can_download=user().is_admin,
            **remark_options(s),
            # 好经验好做法 shown with the year's commendations (storage/practices.py)
            practices=practices.of_year(s, year=int(report.period), township_id=user().township_id)
            if kind == "year"
            else [],
            # the report shown is the township's (or the only one's): the button publishes it once it has ended
            publish=todo.publish_state(s, parse_period(kind, report.period), common.today()),
        )


@bp.get("/reports/full")
def report_full() -> Any:
    """The assessment's own HTML report with its charts (phones masked), shown in a frame on /reports.
    Village accounts see only their village's rows on /reports, so the whole-township report is not theirs."""
    if user().role == "village":
        abort(403)
    kind = request.args.get("kind", "month")
    if kind not in KIND_ZH:
        abort(400)
    with db() as s:
        try:
            report = build_obj(s, kind, (request.args.get("period") or "").strip() or _default_period(kind))
        except ValueError as e:
            abort(400, description=str(e))
        return report_document.render_html(report, mask_phones=True)


@bp.get("/reports/download")
@admin_only
def report_download() -> Any:
    kind = request.args.get("kind", "month")
    period = (request.args.get("period") or "").strip()
    fmt = request.args.get("format", "xlsx")
    if kind not in KIND_ZH or fmt not in FORMATS:
        abort(400, description="报表类型或格式不正确")
    with db() as s:
        try:
            report = build_obj(s, kind, period)
        except ValueError as e:
            abort(400, description=str(e))
        insights_document.attach(s, lx().config, report, user().township_id)
    data = report_document.render(report, fmt, mask_phones=True)  # the console masks phones; the CLI does not
    record_export("report.export", f"report:{kind}:{report.period}", format=fmt)
    if isinstance(data, str):
        data = data.encode("utf-8")
    return download(data, FORMATS[fmt], f"{KIND_ZH[kind]}-{report.period}.{fmt}")
