"""A department's desk (站办所, console accounts of role ``department``; docs/station.md): the requests passed to
it, by time limit with their traffic lights, and what it does with one — answer (relayed to the villager the way a
cadre's 回复 is, and pushed to the cadre), ask for more time with a reason, hand it back to the cadre, close it
(办结) once answered. A department sees its own requests only: another's is 404, as if it did not exist; every
other page of the console is closed to it (console/access.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from console.access import db, done, lx, now, roles, user
from storage import station
from storage.models import Department, RequestTransfer, VillagerRequest

bp = Blueprint("station_desk", __name__)
YELLOW_HOURS = 24
department_only = roles("department")


def _mine(s: Any, number: int) -> tuple[VillagerRequest, Department]:
    """The request ``number`` if it was ever passed to the user's department, with the department; else 404."""
    r = s.scalar(select(VillagerRequest).where(VillagerRequest.number == number))
    dept = s.get(Department, user().department_id or 0)
    if r is None or dept is None:
        abort(404)
    ever = s.scalar(
        select(RequestTransfer.id).where(
            RequestTransfer.request_id == r.id, RequestTransfer.department_id == dept.id
        )
    )
    if ever is None:
        abort(404)
    return r, dept


def _step(number: int, step: str) -> str:
    """Runs one of the department's steps on its request; the message for the page."""
    cfg = lx().config
    words = lx().wording().station(cfg.tz)
    actor, t = user().actor, now()
    form = request.form
    with db() as s:
        r, dept = _mine(s, number)
        try:
            if step == "answer":
                station.answer(
                    s, request=r, department=dept, text=form.get("text") or "", actor=actor, now=t, config=cfg,
                    words=words,
                )  # fmt: skip
                return "答复已记录，并转给群众和联户干部。"
            if step == "extension":
                station.ask_extension(
                    s, request=r, department=dept, until=_date(form.get("until")), reason=form.get("reason") or "",
                    actor=actor, now=t, config=cfg, words=words,
                )  # fmt: skip
                return "延期申请已提交，等待办公室答复。"
            if step == "return":
                station.hand_back(
                    s, request=r, department=dept, reason=form.get("reason") or "", actor=actor, now=t,
                    config=cfg, words=words,
                )  # fmt: skip
                return "已退回联户干部。"
            closed = station.close(s, request=r, department=dept, actor=actor, now=t)
            return "已办结。" if closed else "该诉求此前已办结。"
        except station.StationError as e:
            abort(400, description=str(e).split(" / ")[0])


def _date(value: str | None) -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        abort(400, description="日期应为 YYYY-MM-DD")


@bp.get("/desk")
@department_only
def desk() -> Any:
    with db() as s:
        dept = s.get(Department, user().department_id or 0)
        if dept is None:
            abort(404)
        rows = station.department_queue(
            s, department_id=dept.id, now=now(), yellow_hours=YELLOW_HOURS, done=True
        )
        return render_template(
            "station_desk.html",
            department=dept,
            active=[r for r in rows if r.transfer.status in ("open", "answered")],
            finished=[r for r in rows if r.transfer.status not in ("open", "answered")],
            today=now().astimezone(lx().config.tz).date(),
        )


@bp.post("/desk/<int:number>/<any(answer, extension, return, close):step>")
@department_only
def desk_step(number: int, step: str) -> Any:
    return done(_step(number, step), "console.station_desk.desk")
