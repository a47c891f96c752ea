"""总览: today's diaries, cards due and overdue, requests by time-limit status, this month's ranking."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import func, select

from console import office_todo as todo
from console.access import db, lx, now, user
from console.views import common
from console.views.reporting import ranking_for
from storage import tasks as task_svc
from storage.models import Cadre, DiaryEntry, VillagerRequest
from storage.reachability import unreachable_cadres

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def dashboard() -> Any:
    t = now()
    day = common.today()
    hours = lx().config.sla.first_answer_hours
    with db() as s:
        cadres = list(
            s.scalars(common.scope_cadres(select(Cadre).where(Cadre.active.is_(True)).order_by(Cadre.name)))
        )
        ids = [c.id for c in cadres]
        written, missing, leave = _diaries_today(s, cadres, day)
        overdue, due = _cards(s, t, day)
        buckets, unread = _requests(s, ids, t, hours)
        unreachable = unreachable_cadres(s, ids)
        month = f"{day.year:04d}-{day.month:02d}"
        ranking = ranking_for(s, "month", month)
        return render_template(
            "dashboard.html",
            day=day,
            written=written,
            missing=missing,
            leave=leave,
            cadres=cadres,
            overdue=overdue,
            due=due,
            buckets=buckets,
            unread=unread,
            unreachable=[(c, unreachable[c.id]) for c in cadres if c.id in unreachable],
            ranking=ranking,
            month=month,
            hours=hours,
            scoped=user().role == "village",
            todo=todo.office_todo(s),
        )


def _diaries_today(s: Any, cadres: list[Cadre], day: date) -> tuple[list[Cadre], list[Cadre], Any]:
    """(who wrote a diary entry today, who has not and is not on leave, who is on leave)."""
    wrote = set(
        s.scalars(select(DiaryEntry.cadre_id).where(DiaryEntry.day == day, DiaryEntry.deleted_at.is_(None)))
    )
    leave = common.on_leave(s, day)
    written = [c for c in cadres if c.id in wrote]
    missing = [c for c in cadres if c.id not in wrote and c.id not in leave]
    return written, missing, leave


def _cards(s: Any, t: datetime, day: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(overdue, due by the end of today) among the cards the user sees. The tasks service decides what is
    overdue (no answer by the deadline, or sent back) and due."""
    village_id = user().village_id if user().role == "village" else None
    overdue = [
        {
            "number": o.task_number,
            "title": o.task_title,
            "cadre_id": o.cadre_id,
            "cadre": o.cadre_name,
            "deadline": o.deadline,
            "light": "red",
        }
        for o in task_svc.overdue(s, now=t, village_id=village_id, township_id=user().township_id)
    ]
    due: list[dict[str, Any]] = []
    end = common.start_of_next_day(day)
    for a in task_svc.due_soon(s, now=t, hours=int((end - t).total_seconds() // 3600) + 1):
        if (
            a.deadline < end
            and (village_id is None or a.cadre.village_id == village_id)
            and user().sees_cadre(a.cadre)
        ):
            due.append(
                {
                    "number": a.task.number,
                    "title": a.task.title,
                    "cadre_id": a.cadre_id,
                    "cadre": a.cadre.name,
                    "deadline": a.deadline,
                    "light": common.light(a),
                }
            )
    due.sort(key=lambda r: r["deadline"])
    return overdue, due


def _requests(s: Any, ids: list[int], t: datetime, hours: int) -> tuple[dict[str, int], int]:
    """The cadres' requests by time-limit status (open or answered, within the first-answer hours or late;
    closed), and how many are still open."""
    req = select(VillagerRequest.status, VillagerRequest.created_at, VillagerRequest.first_answer_at).where(
        VillagerRequest.cadre_id.in_(ids)
    )
    buckets = {"open_in": 0, "open_late": 0, "answered_in": 0, "answered_late": 0, "closed": 0}
    for status, created, first in s.execute(req):
        limit = created + timedelta(hours=hours)
        if status == "closed":
            buckets["closed"] += 1
        elif first is None:
            buckets["open_in" if t < limit else "open_late"] += 1
        else:
            buckets["answered_in" if first <= limit else "answered_late"] += 1
    unread = (
        s.scalar(
            select(func.count(VillagerRequest.id)).where(
                VillagerRequest.cadre_id.in_(ids), VillagerRequest.status == "open"
            )
        )
        or 0
    )
    return buckets, unread
