"""督办卡: compose (targets, deadline, publish time), the progress board per cadre, the feedback timeline with
photos, send back, extensions. Every operation goes through storage/tasks/."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.access import admin_only, cadre_in_scope, db, done, lx, now, user
from console.errors import form_error
from console.views import common
from storage import tasks as svc
from storage import townships
from storage.models import Attachment, Cadre, Household, Task, TaskAssignment, Village
from storage.targets import TargetKind

bp = Blueprint("tasks", __name__)


def _yellow() -> int:
    return lx().config.scheduler.yellow_hours


def _local_dt(value: str, what: str, field: str) -> datetime:
    try:
        d = datetime.fromisoformat(value.strip())
    except ValueError:
        raise form_error(f"{what}应写作 年-月-日 时:分", field=field) from None
    return d.replace(tzinfo=lx().config.tz) if d.tzinfo is None else d


@bp.get("/tasks")
def tasks() -> Any:
    with db() as s:
        u = user()
        rows = svc.list_tasks(
            s,
            now=now(),
            yellow_hours=_yellow(),
            include_cancelled=request.args.get("all") == "1",
            township_id=u.township_id,
        )
        overdue = svc.overdue(
            s, now=now(), village_id=u.village_id if u.role == "village" else None, township_id=u.township_id
        )
        return render_template(
            "tasks.html",
            rows=rows,
            overdue=overdue,
            townships=townships.names(s),
            villages=common.villages(s),
            cadres=_pickable_cadres(s) if u.is_admin else [],
            form=request.args,
        )


@bp.post("/tasks")
@admin_only
def task_create() -> Any:
    f = request.form
    chosen = _chosen(f)
    if chosen is None:
        abort(400, description="请选择发送对象（全部、村或干部电话）")
    kind, names = chosen
    if kind == TargetKind.CADRE and f.getlist("cadre_ids"):
        names = names + _phones_of(f.getlist("cadre_ids"))
    deadline = _local_dt(f.get("deadline", ""), "截止时间", "deadline")
    publish_at = (
        _local_dt(f["publish_at"], "发布时间", "publish_at") if f.get("publish_at", "").strip() else None
    )
    cards = [c for c in re.split(r"[\s,，、;；]+", f.get("cards", "")) if c]
    picked = _picked_households(f.getlist("household_ids"))
    with db() as s:
        try:
            by_card = svc.households_by_cards(s, cards) if cards else []
            households = list(dict.fromkeys(picked + by_card)) or None
            targets = svc.named_targets(s, kind, names, user().township_id)
            office = user().township_name or lx().config.general.township
            task = svc.create_task(
                s,
                title=f.get("title", ""),
                body=f.get("body", ""),
                deadline=deadline,
                targets=targets,
                publish_at=publish_at,
                actor=user().actor,
                households=households,
                now=now(),
                tz=lx().config.tz,
                words=lx().wording().task_published(lx().config.tz, office),
                township_id=user().township_id,
            )
        except svc.TaskError as e:
            abort(400, description=str(e))
        number, published = task.number, task.published_at is not None
    msg = f"第{number}号督办卡已{'发布，推送已排队' if published else '保存，将按时发布'}。"
    return done(msg, "console.tasks.task", number=number)


def _chosen(f: Any) -> tuple[TargetKind, list[str]] | None:
    """What the form's scope names: everyone, townships or villages (by name), cadres (by phone); None: nothing."""
    scope = f.get("scope", "all")
    if scope == "all":
        return TargetKind.ALL, []
    if scope == "township":
        names = [v for v in f.getlist("townships") if v.strip()]
    elif scope == "village":
        names = [v for v in f.getlist("villages") if v.strip()]
    elif scope == "cadre":
        # cadres are picked from the list (cadre_ids; the console masks phones); typed phones still work
        names = [p for p in re.split(r"[\s,，、;；]+", f.get("phones", "")) if p.strip()]
        if f.getlist("cadre_ids"):
            return TargetKind.CADRE, names
    else:
        return None
    return (TargetKind(scope), names) if names else None


def _picked_households(raw_ids: list[str]) -> list[int]:
    """The households picked by search (household_ids), of the office's own scope (another's is refused)."""
    ids = {int(i) for i in raw_ids if i.strip().isdigit()}
    if not ids:
        return []
    with db() as s:
        found = list(s.scalars(common.scope_households(select(Household.id).where(Household.id.in_(ids)))))
    if len(found) != len(ids):
        abort(400, description="所选农户不存在或不在本乡镇，请重新查找")
    return sorted(found)


def _pickable_cadres(s: Session) -> list[tuple[int, str, str]]:
    """(id, name, village) of the active cadres the office may send a card to, by village and name."""
    stmt = common.scope_cadres(
        select(Cadre.id, Cadre.name, Village.name)
        .outerjoin(Village, Village.id == Cadre.village_id)
        .where(Cadre.active.is_(True))
        .order_by(Village.name, Cadre.name, Cadre.id)
    )
    return [(cid, name, village or "") for cid, name, village in s.execute(stmt)]


def _phones_of(raw_ids: list[str]) -> list[str]:
    """The phones of the cadres picked by id (of the office's own township; an id not of theirs is refused)."""
    ids = {int(i) for i in raw_ids if i.strip().isdigit()}
    with db() as s:
        phones = list(s.scalars(common.scope_cadres(select(Cadre.phone).where(Cadre.id.in_(ids)))))
    if len(phones) != len(ids) or len(ids) != len([i for i in raw_ids if i.strip()]):
        abort(400, description="所选干部不存在或不属于本乡镇，请刷新页面后重选")
    return phones


@bp.get("/tasks/<int:number>")
def task(number: int) -> Any:
    with db() as s:
        _task_in_scope(s, number)
        try:
            b = svc.board(
                s,
                number=number,
                now=now(),
                yellow_hours=_yellow(),
                village_id=user().village_id if user().role == "village" else None,
                township_id=user().township_id,
            )
        except svc.TaskError:
            abort(404)
        return render_template("task.html", b=b, t=b.task, labels=svc.STATUS_LABELS)


def _task_in_scope(s: Any, number: int) -> Task:
    """The card, or 404 when there is none or the user's township does not see it (another township's)."""
    try:
        t = svc.find_task(s, number)
    except svc.TaskError:
        abort(404)
    tid = user().township_id
    if tid is not None and s.scalar(select(Task.id).where(Task.id == t.id, svc.township_sees(tid))) is None:
        abort(404)
    return t


def _assignment(s: Any, number: int, cadre_id: int) -> TaskAssignment:
    t = _task_in_scope(s, number)
    a = s.scalar(
        select(TaskAssignment).where(TaskAssignment.task_id == t.id, TaskAssignment.cadre_id == cadre_id)
    )
    if a is None:
        abort(404)
    cadre_in_scope(a.cadre)
    return a


@bp.get("/tasks/<int:number>/cadres/<int:cadre_id>")
def task_timeline(number: int, cadre_id: int) -> Any:
    with db() as s:
        a = _assignment(s, number, cadre_id)
        events = svc.timeline(s, a.id)
        photos: dict[int, list[Attachment]] = {}
        if events:
            for att in s.scalars(
                select(Attachment)
                .where(Attachment.owner_type == "feedback", Attachment.owner_id.in_([e.id for e in events]))
                .order_by(Attachment.id)
            ):
                photos.setdefault(att.owner_id, []).append(att)
        return render_template(
            "task_timeline.html",
            a=a,
            t=a.task,
            c=a.cadre,
            events=events,
            photos=photos,
            light=common.light(a),
            labels=svc.STATUS_LABELS,
        )


@bp.post("/tasks/<int:number>/cadres/<int:cadre_id>/return")
@admin_only
def task_return(number: int, cadre_id: int) -> Any:
    with db() as s:
        a = _assignment(s, number, cadre_id)
        try:
            reason = request.form.get("reason", "")
            svc.return_feedback(
                s,
                number=number,
                phone=a.cadre.phone,
                reason=reason,
                actor=user().actor,
                now=now(),
                words=lx().wording().task_returned(reason),
            )
        except svc.TaskError as e:
            abort(400, description=str(e))
    return done(
        "已退回，并通知干部重新办理。", "console.tasks.task_timeline", number=number, cadre_id=cadre_id
    )


@bp.post("/tasks/<int:number>/cadres/<int:cadre_id>/extension")
@admin_only
def task_extension(number: int, cadre_id: int) -> Any:
    f = request.form
    grant = f.get("decision") == "grant"
    until = None
    if grant and f.get("until", "").strip():
        try:
            until = date.fromisoformat(f["until"].strip())
        except ValueError:
            abort(400, description="延期日期应写作 YYYY-MM-DD")
    with db() as s:
        a = _assignment(s, number, cadre_id)
        try:
            reason = f.get("reason", "").strip()
            svc.answer_extension(
                s,
                number=number,
                phone=a.cadre.phone,
                grant=grant,
                actor=user().actor,
                now=now(),
                until=until,
                reason=reason,
                tz=lx().config.tz,
                words=lx().wording().extension_answered(lx().config.tz, reason),
            )
        except svc.TaskError as e:
            abort(400, description=str(e))
    return done(
        "已同意延期。" if grant else "已拒绝延期申请。",
        "console.tasks.task_timeline",
        number=number,
        cadre_id=cadre_id,
    )


@bp.post("/tasks/<int:number>/cancel")
@admin_only
def task_cancel(number: int) -> Any:
    with db() as s:
        t = _task_in_scope(s, number)
        if not user().is_county and t.township_id != user().township_id:
            abort(403, description="县里下发的督办卡只能由县级管理员撤销。")
        try:
            svc.cancel_task(s, number=number, actor=user().actor, now=now())
        except svc.TaskError as e:
            abort(400, description=str(e))
    return done(f"第{number}号督办卡已撤销。", "console.tasks.tasks")
