"""The departments' figures of a report (转办, storage/station/; docs/station.md): for each department of the
township (of every township in a county's report), the requests passed to it in the period and what became of
them as of the report — answered by the time limit (the one in force: an extension granted moves it), closed
(办结), and the villagers' ratings of its answers (回访: they count for the cadre too, in the cadre's figures)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from storage.models import Department, RequestTransfer, Township


@dataclass
class DepartmentRow:
    name: str
    township: str
    received: int  # requests passed to it in the period
    answered_in_time: int  # of those, answered by their time limit
    closed: int  # of those, closed (办结)
    satisfied: int  # of those, rated 满意 by the villager
    unsatisfied: int  # rated 不满意


def department_rows(
    session: Session, span: tuple[datetime, datetime], township_id: int | None
) -> list[DepartmentRow]:
    """Every active department (and any other that received a request in ``span``), of one township or all."""
    start, end = span
    t = RequestTransfer
    in_span = and_(t.transferred_at >= start, t.transferred_at < end)

    def count(cond: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((and_(in_span, cond), 1), else_=0)), 0)

    stmt = (
        select(
            Department.name,
            Township.name,
            Department.active,
            count(t.id.is_not(None)),
            count(and_(t.answered_at.is_not(None), t.answered_at <= t.due)),
            count(t.status == "closed"),
            count(t.satisfaction == "满意"),
            count(t.satisfaction == "不满意"),
        )
        .join(Township, Township.id == Department.township_id)
        .outerjoin(t, t.department_id == Department.id)
        .group_by(Department.id, Department.name, Township.name, Department.active)
        .order_by(Township.name, Department.name)
    )
    if township_id is not None:
        stmt = stmt.where(Department.township_id == township_id)
    rows = []
    for name, township, active, received, in_time, closed, sat, unsat in session.execute(stmt).tuples():
        if active or received:
            rows.append(
                DepartmentRow(name, township, int(received), int(in_time), int(closed), int(sat), int(unsat))
            )
    return rows
