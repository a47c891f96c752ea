"""五个一台账: each cadre's and village's duties to their households, and the households with something missing
(storage/ledger/); downloads through console/documents/ledger.py (admins only, audited, phones masked)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, render_template, request

from console.access import admin_only, db, download, lx, record_export, user
from console.documents import ledger as ledger_document
from console.views import common
from handlers.render import mask_phone
from storage import household_tags
from storage import ledger as ledger_svc
from storage.group_links import group_leaders

bp = Blueprint("ledger", __name__)

MISSING_SHOWN = 300
FORMATS = {
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _tag() -> str | None:
    """重点人群 filter: the office's only (storage/household_tags.py); ignored for other accounts."""
    return ((request.args.get("tag") or "").strip() or None) if user().is_admin else None


def _build(s: Any) -> tuple[dict[str, Any], str, str | None]:
    month = (request.args.get("month") or "").strip()
    if month and not re.fullmatch(r"\d{4}-\d{2}", month):
        abort(400, description="月份应写作 YYYY-MM")
    village = (request.args.get("village") or "").strip() or None
    if user().role == "village":
        if village not in (None, user().village_name):
            abort(404)
        village = user().village_name
    elif (
        village and user().township_id is not None and not any(v.name == village for v in common.villages(s))
    ):
        abort(404)  # another township's village: as if it did not exist
    try:
        led = ledger_svc.build_ledger(
            s,
            today=common.today(),
            village=village,
            month=month or None,
            township_id=user().township_id,
            tag=_tag(),
        )
    except ledger_svc.LedgerError as e:
        abort(400, description=str(e))
    return led, led["month"], village


def _summary(s: Any) -> tuple[dict[str, Any], str, str | None]:
    """The page: per-cadre and per-village counts (GROUP BY, fast); the per-household list of what is missing
    only for one village (the whole township's 30,000 lines take seconds and belong in the download)."""
    if (request.args.get("village") or "").strip() or user().role == "village":
        led, month, village = _build(s)
        return led, month, village
    month = (request.args.get("month") or "").strip()
    if month and not re.fullmatch(r"\d{4}-\d{2}", month):
        abort(400, description="月份应写作 YYYY-MM")
    today = common.today()
    month = month or f"{today.year:04d}-{today.month:02d}"
    scope = ledger_svc.Scope(township_id=user().township_id, tag=_tag())
    villages = ledger_svc.village_totals(s, month=month, scope=scope)
    led = {
        "month": month,
        "cadres": ledger_svc.cadre_totals(s, month=month, scope=scope),
        "villages": villages,
        "totals": ledger_svc.totals_of(villages),
        "missing": None,
        "duties": ledger_svc.DUTIES,
        "groups": [g.as_dict() for g in group_leaders(s, township_id=user().township_id)],
    }
    return led, month, None


@bp.get("/ledger")
def ledger() -> Any:
    with db() as s:
        led, month, village = _summary(s)
        return render_template(
            "ledger.html",
            led=led,
            month=month,
            village=village,
            villages=common.villages(s),
            shown=MISSING_SHOWN,
            can_download=user().is_admin,
            tag=_tag(),
            tags=household_tags.known_tags(s) if user().is_admin else [],
        )


def _masked(led: dict[str, Any]) -> dict[str, Any]:
    for row in led["cadres"]:
        row["phone"] = mask_phone(row.get("phone"))
    for row in led["missing"]:
        row["cadre_phone"] = mask_phone(row.get("cadre_phone"))
    for row in led.get("groups", []):
        row["phone"] = mask_phone(row.get("phone"))
    return led


@bp.get("/ledger/download")
@admin_only
def ledger_download() -> Any:
    fmt = request.args.get("format", "xlsx")
    if fmt not in FORMATS:
        abort(400, description="格式应为 json、xlsx 或 html")
    with db() as s:
        led, month, village = _build(s)
        led = _masked(led)
        if fmt == "json":
            data: bytes = ledger_document.to_json(led).encode("utf-8")
        elif fmt == "html":
            data = ledger_document.to_html(
                led, township=user().township_name or lx().config.general.township
            ).encode("utf-8")
        else:
            data = ledger_document.to_xlsx(led)
    record_export("ledger.export", f"ledger:{village or '*'}:{month}", format=fmt)
    return download(data, FORMATS[fmt], f"五个一台账-{month}.{fmt}")
