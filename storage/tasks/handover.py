"""Supervision cards when households change cadre (storage/handover.py) or a cadre retires (storage/cadres.py).

A card may concern households (``TaskHousehold``: the office named them when it issued the card). When households
move from one cadre to another, the old cadre's open assignments of the cards that concern them go with them, so
the work is done by whoever now looks after the household — and the past stays with whoever did it:

- only an assignment still open (not fed back, not done) whose deadline is ahead moves; one already overdue stays
  on its cadre's record, and one the cadre answered (even if the office sent it back) stays theirs;
- the assignment row itself moves to the successor (as if just published to them: pending, pushed) when the old
  cadre keeps none of the card's households; when they keep some, they keep their assignment and the successor
  gets one of their own beside it; when the successor already has the card, the old cadre's is withdrawn;
- a withdrawn or moved assignment's pushes still waiting for the old cadre are withdrawn (storage/tasks/office.py
  ``withdraw_pushes``), so they are never told of a card that is no longer theirs.

A retiring cadre's open cards not yet due and never answered are withdrawn the same way (``withdraw_open``): they
are nobody's work yet, and a retired cadre is told nothing more. Functions take ``session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from storage.models import (
    Cadre,
    Feedback,
    Link,
    OutboxMessage,
    Task,
    TaskAssignment,
    TaskHousehold,
    WechatIdentity,
)
from storage.outbox import enqueue
from storage.tasks.base import OPEN_STATUSES, task_push_key
from storage.tasks.office import withdraw_pushes
from storage.tasks.publishing import PushWords


@dataclass
class CardsCarried:
    """What happened to the cards of the households that moved, by card number."""

    moved: list[int] = field(default_factory=list)  # the old cadre's assignment is now the successor's
    added: list[int] = field(default_factory=list)  # the successor got their own (the old cadre keeps theirs)
    withdrawn: list[int] = field(
        default_factory=list
    )  # the old cadre's withdrawn (the successor had the card)

    def numbers(self) -> list[int]:
        """Every card touched."""
        return sorted(set(self.moved + self.added + self.withdrawn))


def open_cards_about(
    session: Session, cadre_id: int, household_ids: Iterable[int], now: datetime
) -> list[Task]:
    """The cards concerning ``household_ids`` on which ``cadre_id`` has an open assignment still ahead of its
    deadline and never answered: what a handover of those households carries to the successor."""
    return list(
        session.scalars(
            select(Task)
            .join(TaskAssignment, TaskAssignment.task_id == Task.id)
            .where(*_carried(cadre_id, now))
            .where(
                Task.id.in_(
                    select(TaskHousehold.task_id).where(TaskHousehold.household_id.in_(list(household_ids)))
                )
            )
            .order_by(Task.number)
        )
    )


def _carried(cadre_id: int, now: datetime) -> list[ColumnElement[bool]]:
    """The conditions an assignment meets to go with its households (or be withdrawn on retiring)."""
    return [
        TaskAssignment.cadre_id == cadre_id,
        TaskAssignment.status.in_(OPEN_STATUSES),
        TaskAssignment.first_feedback_at.is_(None),
        TaskAssignment.deadline > now,
        Task.published_at.is_not(None),
        Task.cancelled_at.is_(None),
    ]


def carry_cards(
    session: Session, *, moved: Mapping[int, int], successor: Cadre, now: datetime, words: PushWords
) -> CardsCarried:
    """Carry the open cards of the households ``moved`` (household id → the cadre it left; its link already
    points at ``successor``) to the successor, as the module says. ``words``: the card push's payload."""
    done = CardsCarried()
    by_old: dict[int, list[int]] = {}
    for household_id, old in moved.items():
        if old != successor.id:
            by_old.setdefault(old, []).append(household_id)
    for old, household_ids in sorted(by_old.items()):
        for task in open_cards_about(session, old, household_ids, now):
            _carry_one(session, task, old, successor, now, words, done)
    return done


def _carry_one(
    session: Session,
    task: Task,
    old: int,
    successor: Cadre,
    now: datetime,
    words: PushWords,
    done: CardsCarried,
) -> None:
    """One card: move, add beside, or withdraw the old cadre's assignment (the module's rules)."""
    mine = session.scalar(
        select(TaskAssignment).where(TaskAssignment.task_id == task.id, TaskAssignment.cadre_id == old)
    )
    assert mine is not None
    theirs = session.scalar(
        select(TaskAssignment.id).where(
            TaskAssignment.task_id == task.id, TaskAssignment.cadre_id == successor.id
        )
    )
    keeps_some = session.scalar(
        select(
            exists().where(
                Link.cadre_id == old,
                Link.household_id.in_(
                    select(TaskHousehold.household_id).where(TaskHousehold.task_id == task.id)
                ),
            )
        )
    )
    if keeps_some:
        if theirs is None:
            added = TaskAssignment(
                task_id=task.id, cadre_id=successor.id, status="pending", deadline=mine.deadline
            )
            session.add(added)
            session.flush()
            _push(session, task, added, successor, words)
            done.added.append(task.number)
    elif theirs is not None:
        if withdraw(session, [mine.id]):  # one with an extension asked stays on the old cadre's record
            done.withdrawn.append(task.number)
    else:
        _unhook(session, [mine.id])
        mine.cadre_id = successor.id
        mine.status, mine.delivered_at, mine.acknowledged_at = "pending", None, None
        mine.extension_requested_until, mine.extension_reason, mine.extension_status = None, None, None
        session.flush()
        _push(session, task, mine, successor, words)
        done.moved.append(task.number)


def _push(session: Session, task: Task, assignment: TaskAssignment, cadre: Cadre, words: PushWords) -> None:
    """The card's push to the cadre's bound WeChat (none bound: the board shows it undelivered, as publishing)."""
    openid = session.scalar(
        select(WechatIdentity.openid)
        .where(
            WechatIdentity.cadre_id == cadre.id,
            WechatIdentity.kind == "cadre",
            WechatIdentity.unreachable.is_(False),
        )
        .order_by(WechatIdentity.openid)
        .limit(1)
    )
    if openid is None:
        return
    payload = words(task)
    enqueue(
        session,
        openid=openid,
        kind="task",
        text=payload.get("text", ""),
        key=task_push_key(task.id, cadre.id),
        template=payload.get("template"),
        assignment_id=assignment.id,
    )


def _unhook(session: Session, assignment_ids: list[int]) -> None:
    """The pushes about these assignments still waiting are withdrawn, and those already sent no longer name them
    (a late delivery report about the old cadre's push must not mark the successor's assignment)."""
    withdraw_pushes(session, assignment_ids)
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.assignment_id.in_(assignment_ids))
        .values(assignment_id=None)
        .execution_options(synchronize_session=False)
    )


def withdraw(session: Session, assignment_ids: list[int]) -> list[int]:
    """Withdraw those of these assignments with nothing on their timeline (no feedback, no extension asked): their
    pushes withdrawn, the rows deleted. Returns the ids withdrawn; the others stay as they are (their history)."""
    if not assignment_ids:
        return []
    empty = list(
        session.scalars(
            select(TaskAssignment.id).where(
                TaskAssignment.id.in_(assignment_ids),
                TaskAssignment.extension_requested_until.is_(None),
                ~exists().where(Feedback.assignment_id == TaskAssignment.id),
            )
        )
    )
    if empty:
        _unhook(session, empty)
        session.execute(
            delete(TaskAssignment)
            .where(TaskAssignment.id.in_(empty))
            .execution_options(synchronize_session=False)
        )
    return empty


def withdraw_open(session: Session, cadre_id: int, now: datetime) -> list[int]:
    """A retiring cadre's cards not yet due, never answered and without a word on their timeline: withdrawn
    (the card numbers). An overdue one, or one they answered, stays on their record."""
    rows = dict(
        session.execute(
            select(TaskAssignment.id, Task.number)
            .join(Task, Task.id == TaskAssignment.task_id)
            .where(*_carried(cadre_id, now))
            .order_by(Task.number)
        )
        .tuples()
        .all()
    )
    return sorted(rows[aid] for aid in withdraw(session, list(rows)))
