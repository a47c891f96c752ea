"""Reading cards: the traffic lights, one card's board, the list, the overdue and the due-soon."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from storage.models import Cadre, Feedback, Task, TaskAssignment, Village
from storage.tasks.base import ANSWERED_STATUSES, OPEN_STATUSES, STATUS_LABELS, find_task


def deadline_light(
    due: datetime,
    now: datetime,
    yellow_hours: int = 24,
    *,
    answered: bool = False,
    answered_at: datetime | None = None,
) -> str:
    """The traffic light of anything with a time limit (a card's assignment, a request passed to a department):
    green: answered on time, or ``due`` is more than ``yellow_hours`` away; yellow: within; red: overdue; late:
    answered, but after ``due`` (the report counts it overdue, docs/assessment.md)."""
    if answered:
        return "late" if answered_at is not None and answered_at > due else "green"
    if due <= now:
        return "red"
    if due - now <= timedelta(hours=yellow_hours):
        return "yellow"
    return "green"


def light(a: TaskAssignment, now: datetime, yellow_hours: int = 24) -> str:
    """An assignment's light (``deadline_light``): answered is fed back or done, by its first feedback."""
    return deadline_light(
        a.deadline,
        now,
        yellow_hours,
        answered=a.status in ANSWERED_STATUSES,
        answered_at=a.first_feedback_at,
    )


@dataclass
class BoardRow:
    assignment_id: int
    cadre_id: int
    cadre_name: str
    phone: str
    village: str
    status: str
    status_label: str
    light: str
    deadline: datetime
    first_feedback_at: datetime | None
    last_feedback: str | None
    extension_status: str | None
    extension_until: datetime | None


@dataclass
class TaskBoard:
    task: Task
    rows: list[BoardRow]
    counts: dict[str, int] = field(default_factory=dict)  # by status
    lights: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.rows)


def board(
    session: Session,
    *,
    number: int,
    now: datetime,
    yellow_hours: int = 24,
    village_id: int | None = None,
    township_id: int | None = None,
) -> TaskBoard:
    """One card's progress board for the console (optionally one township's or one village's cadres)."""
    task = find_task(session, number)
    q = (
        select(TaskAssignment, Cadre, Village.name)
        .join(Cadre, TaskAssignment.cadre_id == Cadre.id)
        .outerjoin(Village, Cadre.village_id == Village.id)
        .where(TaskAssignment.task_id == task.id)
        .order_by(Village.name, Cadre.name)
    )
    if village_id is not None:
        q = q.where(Cadre.village_id == village_id)
    if township_id is not None:
        q = q.where(Cadre.township_id == township_id)
    results = session.execute(q).all()
    ids = [a.id for a, _, _ in results]
    last: dict[int, str] = {}
    if ids:
        sub = (
            select(Feedback.assignment_id, func.max(Feedback.id).label("fid"))
            .where(Feedback.assignment_id.in_(ids), Feedback.kind.in_(("feedback", "done")))
            .group_by(Feedback.assignment_id)
            .subquery()
        )
        for aid, text in session.execute(
            select(Feedback.assignment_id, Feedback.text).join(sub, Feedback.id == sub.c.fid)
        ):
            last[aid] = text
    rows = [
        BoardRow(
            a.id,
            c.id,
            c.name,
            c.phone,
            vname or "",
            a.status,
            STATUS_LABELS[a.status],
            light(a, now, yellow_hours),
            a.deadline,
            a.first_feedback_at,
            last.get(a.id),
            a.extension_status,
            a.extension_requested_until,
        )
        for a, c, vname in results
    ]
    return TaskBoard(task, rows, dict(Counter(r.status for r in rows)), dict(Counter(r.light for r in rows)))


def township_sees(township_id: int) -> Any:
    """The cards a township's office sees: its own, and the county's that reach its cadres."""
    return or_(
        Task.township_id == township_id,
        and_(
            Task.township_id.is_(None),
            Task.id.in_(
                select(TaskAssignment.task_id)
                .join(Cadre, Cadre.id == TaskAssignment.cadre_id)
                .where(Cadre.township_id == township_id)
            ),
        ),
    )


def list_tasks(
    session: Session,
    *,
    now: datetime,
    yellow_hours: int = 24,
    include_cancelled: bool = False,
    township_id: int | None = None,
) -> list[dict[str, Any]]:
    """Every card with its counts: the console's and the CLI's list. ``township_id``: that township's cards and
    the county's, counted over that township's cadres only."""
    q = select(Task).order_by(Task.number.desc())
    if not include_cancelled:
        q = q.where(Task.cancelled_at.is_(None))
    counted = select(TaskAssignment.task_id, TaskAssignment.status, TaskAssignment.deadline, func.count())
    if township_id is not None:
        q = q.where(township_sees(township_id))
        counted = counted.join(Cadre, Cadre.id == TaskAssignment.cadre_id).where(
            Cadre.township_id == township_id
        )
    tasks = session.scalars(q).all()
    counts: dict[int, Counter[str]] = {t.id: Counter() for t in tasks}
    for tid, status, deadline, n in session.execute(
        counted.group_by(TaskAssignment.task_id, TaskAssignment.status, TaskAssignment.deadline)
    ):
        if tid in counts:
            counts[tid][status] += n
            if status not in ANSWERED_STATUSES and deadline <= now:
                counts[tid]["overdue"] += n
    out = []
    for t in tasks:
        c = counts[t.id]
        out.append(
            {
                "number": t.number,
                "title": t.title,
                "deadline": t.deadline,
                "publish_at": t.publish_at,
                "published_at": t.published_at,
                "cancelled_at": t.cancelled_at,
                "assigned": sum(v for k, v in c.items() if k != "overdue"),
                "answered": c["fed_back"] + c["done"],
                "done": c["done"],
                "overdue": c["overdue"],
                "light": (
                    "red"
                    if c["overdue"]
                    else "yellow"
                    if t.deadline - now <= timedelta(hours=yellow_hours) and any(c[s] for s in OPEN_STATUSES)
                    else "green"
                ),
            }
        )
    return out


@dataclass
class OverdueRow:
    task_number: int
    task_title: str
    cadre_id: int
    cadre_name: str
    phone: str
    village: str
    deadline: datetime
    status: str


def overdue(
    session: Session, *, now: datetime, village_id: int | None = None, township_id: int | None = None
) -> list[OverdueRow]:
    """Assignments past their deadline with no feedback (or whose feedback was sent back)."""
    q = (
        select(
            Task.number,
            Task.title,
            Cadre.id,
            Cadre.name,
            Cadre.phone,
            Village.name,
            TaskAssignment.deadline,
            TaskAssignment.status,
        )
        .select_from(TaskAssignment)
        .join(Task, TaskAssignment.task_id == Task.id)
        .join(Cadre, TaskAssignment.cadre_id == Cadre.id)
        .outerjoin(Village, Cadre.village_id == Village.id)
        .where(
            Task.published_at.is_not(None),
            Task.cancelled_at.is_(None),
            TaskAssignment.status.in_(OPEN_STATUSES),
            TaskAssignment.deadline <= now,
        )
        .order_by(Task.number, Village.name, Cadre.name)
    )
    if village_id is not None:
        q = q.where(Cadre.village_id == village_id)
    if township_id is not None:
        q = q.where(Cadre.township_id == township_id)
    return [
        OverdueRow(n, t, cid, name, phone, v or "", d, s)
        for n, t, cid, name, phone, v, d, s in session.execute(q)
    ]


def due_soon(session: Session, *, now: datetime, hours: int) -> list[TaskAssignment]:
    """Open assignments whose deadline falls within ``hours`` after now (deadline reminders)."""
    return list(
        session.scalars(
            select(TaskAssignment)
            .join(Task)
            .where(
                Task.published_at.is_not(None),
                Task.cancelled_at.is_(None),
                TaskAssignment.status.in_(OPEN_STATUSES),
                and_(TaskAssignment.deadline > now, TaskAssignment.deadline <= now + timedelta(hours=hours)),
            )
        )
    )


def timeline(session: Session, assignment_id: int) -> list[Feedback]:
    return list(
        session.scalars(select(Feedback).where(Feedback.assignment_id == assignment_id).order_by(Feedback.id))
    )
