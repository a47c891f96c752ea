"""审计: every change and every export by the office (console and CLI); admins only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from sqlalchemy import select

from console import filters
from console.access import db, deployment_only
from console.views import common
from storage import audit
from storage.models import AuditLog

bp = Blueprint("audit", __name__)


@bp.get("/audit")
@deployment_only
def audit_log() -> Any:
    actor = (request.args.get("actor") or "").strip()
    action = (request.args.get("action") or "").strip()
    with db() as s:
        stmt = select(AuditLog).order_by(AuditLog.id.desc())
        if actor:
            stmt = stmt.where(common.text_filter(actor, AuditLog.actor))
        if action:
            stmt = stmt.where(common.text_filter(action, AuditLog.action))
        rows, page, more = common.paged(s, stmt)
        # the page's people in a few queries (the filters look up the rest one by one)
        filters.names().load(actors=[a.actor for a in rows], targets=[a.target for a in rows])
        return render_template(
            "audit.html",
            rows=rows,
            page=page,
            more=more,
            actor=actor,
            action=action,
            actions=audit.ACTIONS,
            args=common.query_args(),
        )
