"""民情热点: what villagers asked about in a month — categories (and how they moved), keywords, the slowest
categories, repeat askers counted — for the township or one village, with server-rendered SVG bars
(console/documents/insights.py; figures from storage/insights.py). Counts only: every role may read it, a village
account its own village's."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request

from console.access import db, in_scope, lx, user
from console.documents import insights as insights_document
from console.views import common

bp = Blueprint("insights", __name__)


@bp.get("/insights")
def insights_page() -> Any:
    d = common.today()
    period = (request.args.get("period") or "").strip() or f"{d.year:04d}-{d.month:02d}"
    village_id = request.args.get("village", type=int)
    if user().role == "village" and not village_id:
        village_id = user().village_id  # its own village's; another village's is a 404 (in_scope)
    with db() as s:
        villages = common.villages(s)
        village = None
        if village_id:
            in_scope(village_id)
            found = next((v for v in villages if v.id == village_id), None)
            if found is None:
                abort(404)
            village = (found.id, found.name)
        try:
            data = insights_document.build(
                s, lx().config, period, township_id=user().township_id, village=village
            )
        except ValueError as e:
            abort(400, description=str(e))
        return render_template(
            "insights.html",
            period=data.period,
            body=insights_document.render_body(data),
            villages=villages,
            village_id=village_id,
        )
