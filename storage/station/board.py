"""Reading 转办: the office's board of every request with a department (traffic lights by the card board's rule,
storage.tasks.deadline_light), a department's queue, and the request list of ``lianxin request list``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from storage.models import Cadre, Department, Household, RequestTransfer, Village, VillagerRequest
from storage.tasks.board import deadline_light

REQUEST_STATUSES = ("open", "transferred", "answered", "closed")


@dataclass
class TransferRow:
    """One passing of a request to a department, as the board and the queue show it."""

    transfer: RequestTransfer
    request: VillagerRequest
    household: str
    village: str
    cadre: str
    department: str
    light: str


def light_of(t: RequestTransfer, now: datetime, yellow_hours: int) -> str:
    """The passing's traffic light: by its time limit until the department answers, then green or late."""
    return deadline_light(
        t.due, now, yellow_hours, answered=t.answered_at is not None, answered_at=t.answered_at
    )


def _rows(session: Session, stmt: Select[Any], now: datetime, yellow_hours: int) -> list[TransferRow]:
    return [
        TransferRow(t, r, head, village, cadre, dept, light_of(t, now, yellow_hours))
        for t, r, head, village, cadre, dept in session.execute(stmt).tuples()
    ]


def _select() -> Select[Any]:
    return (
        select(
            RequestTransfer, VillagerRequest, Household.head_name, Village.name, Cadre.name, Department.name
        )
        .join(VillagerRequest, VillagerRequest.id == RequestTransfer.request_id)
        .join(Household, Household.id == VillagerRequest.household_id)
        .join(Village, Village.id == Household.village_id)
        .join(Cadre, Cadre.id == VillagerRequest.cadre_id)
        .join(Department, Department.id == RequestTransfer.department_id)
    )


def office_board(
    session: Session,
    *,
    now: datetime,
    yellow_hours: int,
    township_id: int | None = None,
    village_id: int | None = None,
    department_id: int | None = None,
) -> list[TransferRow]:
    """Every request a department has now (open, or answered and not yet closed), by time limit: the office's
    view, of one township (None: every township), one village, one department."""
    stmt = _select().where(RequestTransfer.status.in_(("open", "answered")))
    if township_id is not None:
        stmt = stmt.where(Department.township_id == township_id)
    if village_id is not None:
        stmt = stmt.where(Household.village_id == village_id)
    if department_id is not None:
        stmt = stmt.where(RequestTransfer.department_id == department_id)
    return _rows(session, stmt.order_by(RequestTransfer.due, RequestTransfer.id), now, yellow_hours)


def department_queue(
    session: Session, *, department_id: int, now: datetime, yellow_hours: int, done: bool = False
) -> list[TransferRow]:
    """A department's requests: those waiting for it (open, by time limit) and answered ones not yet closed; with
    ``done``, the closed and handed-back ones too (newest first, after the others)."""
    statuses = ("open", "answered", "closed", "returned") if done else ("open", "answered")
    stmt = _select().where(
        RequestTransfer.department_id == department_id, RequestTransfer.status.in_(statuses)
    )
    rows = _rows(session, stmt, now, yellow_hours)
    active = sorted(
        (r for r in rows if r.transfer.status in ("open", "answered")),
        key=lambda r: (r.transfer.status != "open", r.transfer.due, r.transfer.id),
    )
    finished = sorted(
        (r for r in rows if r.transfer.status not in ("open", "answered")), key=lambda r: -r.transfer.id
    )
    return active + finished


def request_rows(
    session: Session,
    *,
    tz: Any,
    township_id: int | None = None,
    department_id: int | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """``lianxin request list``: each request (of a township; passed to a department; in a status) with its
    latest passing's department and time limit. ``answered_at``: the department's answer for a request passed on,
    else the first answer."""
    latest = (
        select(RequestTransfer.request_id, func.max(RequestTransfer.id).label("tid"))
        .group_by(RequestTransfer.request_id)
        .subquery()
    )
    stmt = (
        select(VillagerRequest, Household.head_name, Cadre.name, Department.name, RequestTransfer)
        .join(Household, Household.id == VillagerRequest.household_id)
        .join(Village, Village.id == Household.village_id)
        .join(Cadre, Cadre.id == VillagerRequest.cadre_id)
        .outerjoin(latest, latest.c.request_id == VillagerRequest.id)
        .outerjoin(RequestTransfer, RequestTransfer.id == latest.c.tid)
        .outerjoin(Department, Department.id == RequestTransfer.department_id)
        .order_by(VillagerRequest.number)
    )
    if township_id is not None:
        stmt = stmt.where(Village.township_id == township_id)
    if department_id is not None:
        stmt = stmt.where(VillagerRequest.department_id == department_id)
    if status is not None:
        stmt = stmt.where(VillagerRequest.status == status)

    def at(moment: datetime | None) -> str | None:
        return moment.astimezone(tz).isoformat(timespec="minutes") if moment is not None else None

    return [
        {
            "number": r.number,
            "household": head,
            "cadre": cadre,
            "department": dept,
            "status": r.status,
            "received_at": at(r.created_at),
            "due": at(t.due) if t is not None else None,
            "answered_at": at(t.answered_at if t is not None else r.first_answer_at),
        }
        for r, head, cadre, dept, t in session.execute(stmt).tuples()
    ]
