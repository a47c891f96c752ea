"""总览: today's diaries, cards due and overdue, requests by time-limit status, this month's ranking."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import render_template
from sqlalchemy import func, select

from console.access import lx, now, user
from console.views import common
from console.views.reporting import ranking_for
from console.web import bp
from storage.models import Cadre, DiaryEntry, Task, TaskAssignment, VillagerRequest


@bp.get("/")
def dashboard() -> Any:
    t = now()
    day = common.today()
    hours = lx().config["sla"]["first_answer_hours"]
    with common_session() as s:
        cadres = list(s.scalars(common.scope_cadres(select(Cadre).where(Cadre.active.is_(True)).order_by(Cadre.name))))
        wrote = set(s.scalars(select(DiaryEntry.cadre_id).where(DiaryEntry.day == day, DiaryEntry.deleted_at.is_(None))))
        leave = common.on_leave(s, day)
        written = [c for c in cadres if c.id in wrote]
        missing = [c for c in cadres if c.id not in wrote and c.id not in leave]
        ids = [c.id for c in cadres]

        open_assignments = list(s.scalars(
            select(TaskAssignment).join(Task)
            .where(Task.published_at.is_not(None), Task.cancelled_at.is_(None),
                   TaskAssignment.status.not_in(("done",)), TaskAssignment.cadre_id.in_(ids))
            .order_by(TaskAssignment.deadline).limit(400)))
        end_of_day = common.start_of_next_day(day)
        overdue = [a for a in open_assignments if a.deadline <= t and a.first_feedback_at is None]
        due = [a for a in open_assignments if t < a.deadline <= end_of_day and a.first_feedback_at is None]
        lights = {a.id: common.light(a) for a in overdue + due}

        req = select(VillagerRequest.status, VillagerRequest.created_at, VillagerRequest.first_answer_at).where(
            VillagerRequest.cadre_id.in_(ids))
        buckets = {"open_in": 0, "open_late": 0, "answered_in": 0, "answered_late": 0, "closed": 0}
        for status, created, first in s.execute(req):
            limit = created + timedelta(hours=hours)
            if status == "closed":
                buckets["closed"] += 1
            elif first is None:
                buckets["open_in" if t < limit else "open_late"] += 1
            else:
                buckets["answered_in" if first <= limit else "answered_late"] += 1
        unread = s.scalar(select(func.count(VillagerRequest.id)).where(
            VillagerRequest.cadre_id.in_(ids), VillagerRequest.status == "open")) or 0
        month = f"{day.year:04d}-{day.month:02d}"
        ranking = ranking_for(s, "month", month)
        return render_template("dashboard.html", day=day, written=written, missing=missing, leave=leave,
                               cadres=cadres, overdue=overdue, due=due, lights=lights, buckets=buckets,
                               unread=unread, ranking=ranking, month=month, hours=hours, scoped=user().role == "village")


def common_session() -> Any:
    from console.access import db

    return db()
