"""全县排名: the county report (storage/assessment/county.py) for the county's accounts — townships ranked by
their cadres' scores, the county's top and bottom cadres; the county admin downloads it (phones masked,
audited). A township's accounts see their own township on /reports instead."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request

from console.access import admin_only, db, download, lx, now, record_export, user
from console.documents import county_report as county_document
from console.views.reports import FORMATS, KIND_ZH, _default_period
from storage.assessment.county import build_county_report

bp = Blueprint("county", __name__)


def _county_only() -> None:
    if not user().is_county:
        abort(403, description="全县排名只对县级账号开放；乡镇账号请看本乡镇的考核。")


def _build(s: Any, kind: str, period: str) -> dict[str, Any]:
    if kind not in KIND_ZH:
        abort(400, description="报表类型应为月、季或年")
    try:
        return build_county_report(s, lx().config, kind, period or _default_period(kind), now=now())
    except ValueError as e:
        abort(400, description=str(e))


@bp.get("/county")
def county() -> Any:
    _county_only()
    kind = request.args.get("kind", "month")
    with db() as s:
        data = county_document.masked(_build(s, kind, (request.args.get("period") or "").strip()))
    return render_template(
        "county.html",
        data=data,
        kind=kind,
        kinds=KIND_ZH,
        formats=list(FORMATS),
        components=county_document.labels()["components"],
    )


@bp.get("/county/download")
@admin_only
def county_download() -> Any:
    _county_only()
    kind = request.args.get("kind", "month")
    fmt = request.args.get("format", "xlsx")
    if fmt not in FORMATS:
        abort(400, description="格式应为 json、xlsx 或 html")
    with db() as s:
        data = _build(s, kind, (request.args.get("period") or "").strip())
    content = county_document.render(data, fmt, mask_phones=True)
    record_export("report.export", f"county:{kind}:{data['period']}", format=fmt)
    return download(content, FORMATS[fmt], f"全县{KIND_ZH.get(kind, '排名')}-{data['period']}.{fmt}")
