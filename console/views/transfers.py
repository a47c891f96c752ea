"""转办 for the office (issue 26; docs/station.md): the township's departments (站办所) with their staff's WeChat
accounts, every request a department has now with its traffic light (the card board's rule, storage.tasks
.deadline_light), the departments' requests for more time to grant or refuse, and passing a request to a
department from its page. The township's office and leaders see it; only the office changes it."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from console.access import admin_only, db, done, in_scope, lx, now, roles, user
from storage import station
from storage.models import Department, VillagerRequest

bp = Blueprint("transfers", __name__)
YELLOW_HOURS = 24  # yellow: due within a day, as on the card board


def _scoped_request(s: Any, number: int) -> VillagerRequest:
    r = s.scalar(select(VillagerRequest).where(VillagerRequest.number == number))
    if r is None:
        abort(404)
    in_scope(r.household.village_id)
    return r


def _refused(e: station.StationError) -> Any:
    abort(400, description=str(e).split(" / ")[0])


@bp.get("/transfers")
@roles("admin", "viewer")
def transfers_board() -> Any:
    u = user()
    with db() as s:
        rows = station.office_board(s, now=now(), yellow_hours=YELLOW_HOURS, township_id=u.township_id)
        return render_template(
            "transfers.html",
            rows=rows,
            asked=[
                r for r in rows if r.transfer.extension_status == "requested" and r.transfer.status == "open"
            ],
            departments=station.summary(s, u.township_id),
            lights={k: sum(1 for r in rows if r.light == k) for k in ("red", "yellow", "green")},
        )


@bp.post("/transfers/departments")
@admin_only
def department_save() -> Any:
    u = user()
    openids = [x for x in (request.form.get("openids") or "").splitlines() if x.strip()]
    with db() as s:
        township_id = u.township_id
        if township_id is None:  # the county's admin names the township
            township_id = request.form.get("township_id", type=int)
            if township_id is None:
                abort(400, description="请选择乡镇")
        try:
            dept, made = station.add_or_update(
                s,
                township_id=township_id,
                name=request.form.get("name") or "",
                actor=u.actor,
                openids=openids if "openids" in request.form else None,
            )
        except station.StationError as e:
            _refused(e)
        name = dept.name
    return done(f"{'已添加' if made else '已更新'}部门 {name}。", "console.transfers.transfers_board")


@bp.post("/requests/<int:number>/transfer")
@admin_only
def request_transfer(number: int) -> Any:
    due_text = (request.form.get("due") or "").strip()
    try:
        due = date.fromisoformat(due_text) if due_text else None
    except ValueError:
        abort(400, description="办理时限应为 YYYY-MM-DD")
    with db() as s:
        r = _scoped_request(s, number)
        dept = s.get(Department, request.form.get("department_id", type=int) or 0)
        if dept is None:
            abort(400, description="请选择部门")
        try:
            station.transfer(
                s,
                request=r,
                department=dept,
                actor=user().actor,
                now=now(),
                config=lx().config,
                words=lx().wording().station(lx().config.tz),
                due=due,
                note=request.form.get("note") or "",
            )
        except station.StationError as e:
            _refused(e)
        name = dept.name
    return done(
        f"已转交{name}办理，并通知了部门、群众和联户干部。",
        "console.villager_requests.request_detail",
        number=number,
    )


@bp.post("/transfers/<int:number>/extension")
@admin_only
def extension_answer(number: int) -> Any:
    grant = request.form.get("grant") == "1"
    with db() as s:
        r = _scoped_request(s, number)
        try:
            station.answer_extension(
                s,
                request=r,
                grant=grant,
                actor=user().actor,
                now=now(),
                config=lx().config,
                words=lx().wording().station(lx().config.tz),
                reason=request.form.get("reason") or "",
            )
        except station.StationError as e:
            _refused(e)
    return done(
        f"已{'批准' if grant else '不批准'}第{number}号诉求的延期申请，并通知了部门。",
        "console.transfers.transfers_board",
    )


def transfer_form_values(s: Any, r: VillagerRequest) -> dict[str, Any]:
    """What the request page's 转办 block shows (console/templates/_transfer_request.html)."""
    return {
        "station_departments": station.of_township(s, station.township_of(s, r)),
        "station_history": station.history(s, r.id),
        "station_light": (
            station.light_of(t, now(), YELLOW_HOURS)
            if (t := station.current(s, r.id)) is not None and t.status in ("open", "answered")
            else None
        ),
    }
