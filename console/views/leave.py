"""请假: the month's leave per village; the office (and a village user, for their village's cadres) records
leave and approves or refuses what cadres asked for by chat — leave in a period whose circular is published only
the office (storage/leave.py: it would change published figures). Viewers read. Every change is audited
(storage/leave.py); a decision is pushed to the cadre (handlers/leave.py)."""

from __future__ import annotations

from datetime import date
from itertools import groupby
from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from console.access import cadre_in_scope, db, done, lx, now, user, writers
from console.views import common
from handlers import leave as chat_leave
from storage import leave as leave_svc
from storage.models import Cadre, CadreLeave
from storage.periods import parse_period

bp = Blueprint("leave", __name__)


def _month() -> tuple[int, int, str]:
    key = request.args.get("month") or common.today().strftime("%Y-%m")
    try:
        p = parse_period("month", key)
    except ValueError:
        abort(400, description="月份应为 YYYY-MM")
    return p.first.year, p.first.month, p.key


@bp.get("/leave")
def leave_page() -> Any:
    year, month, key = _month()
    u = user()
    with db() as s:
        rows = leave_svc.month_leave(
            s,
            year,
            month,
            village_id=u.village_id if u.role == "village" else None,
            township_id=u.township_id,
        )
        by_village = [(v, list(g)) for v, g in groupby(rows, key=lambda r: r.village or "（未分村）")]
        cadres = list(
            s.scalars(common.scope_cadres(select(Cadre).where(Cadre.active.is_(True))).order_by(Cadre.name))
        )
        pending = sum(1 for r in rows if r.leave.status == "requested")
        return render_template(
            "leave.html",
            by_village=by_village,
            cadres=cadres,
            month=key,
            pending=pending,
            status_text=leave_svc.status_text,
            today=common.today(),
        )


def _date(name: str) -> date:
    try:
        return date.fromisoformat((request.form.get(name) or "").strip())
    except ValueError:
        abort(400, description="日期应为 YYYY-MM-DD")


@bp.post("/leave")
@writers
def leave_add() -> Any:
    start, end = _date("start"), _date("end")
    with db() as s:
        cadre = s.get(Cadre, request.form.get("cadre_id", type=int) or 0)
        if cadre is None:
            abort(400, description="请选择干部")
        cadre_in_scope(cadre)
        try:
            leave_svc.add_leave(
                s,
                cadre=cadre,
                start=start,
                end=end,
                reason=request.form.get("reason"),
                actor=user().actor,
                now=now(),
                may_change_published=user().is_admin,
            )
        except leave_svc.LeaveNeedsOffice as e:
            abort(403, description=str(e).split(" / ")[0])
        except leave_svc.LeaveError as e:
            abort(400, description=str(e).split(" / ")[0])
        name = cadre.name
    return done(f"已登记 {name} 的请假。", "console.leave.leave_page", month=start.strftime("%Y-%m"))


@bp.post("/leave/<int:leave_id>/<any(approve, refuse):decision>")
@writers
def leave_decide(leave_id: int, decision: str) -> Any:
    with db() as s:
        lv = s.get(CadreLeave, leave_id)
        if lv is None:
            abort(404)
        cadre_in_scope(lv.cadre)
        try:
            changed = chat_leave.decide(
                s,
                lv,
                approve=decision == "approve",
                actor=user().actor,
                now=now(),
                tz=lx().config.tz,
                may_change_published=user().is_admin,
            )
        except leave_svc.LeaveNeedsOffice as e:
            abort(403, description=str(e).split(" / ")[0])
        month = lv.start_date.strftime("%Y-%m")
        if not changed:
            abort(400, description="这条请假已经处理过了")
    return done(
        "已批准，已通知干部。" if decision == "approve" else "已退回，已通知干部。",
        "console.leave.leave_page",
        month=month,
    )
