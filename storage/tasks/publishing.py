"""Creating and publishing a card: its checks, its number, one assignment per cadre its targets reach
(storage/tasks/targets.py) and one push per bound cadre, in bulk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from storage import numbering
from storage.audit import record
from storage.cards import by_number, number_typo
from storage.config import DEFAULT_TZ
from storage.db import rows_changed
from storage.models import (
    Household,
    OutboxMessage,
    Task,
    TaskAssignment,
    TaskHousehold,
    Village,
    WechatIdentity,
)
from storage.targets import Target
from storage.tasks.base import TaskError, task_push_key
from storage.tasks.targets import cadre_ids

PushWords = Callable[[Task], dict[str, Any]]
"""The payload of a card's push (``text`` and the WeChat ``template`` fields), written by the caller."""


def create_task(
    session: Session,
    *,
    title: str,
    body: str,
    deadline: datetime,
    targets: list[Target] | None = None,
    publish_at: datetime | None = None,
    actor: str = "cli",
    households: list[int] | None = None,
    now: datetime,
    words: PushWords,
    tz: ZoneInfo = DEFAULT_TZ,
    township_id: int | None = None,
) -> Task:
    """A new card with the next number; published at once unless ``publish_at`` is later than ``now``.
    ``targets``: whom it is for (storage.tasks.targets names them at the door's edge; None: everyone);
    ``township_id``: the issuing township's office (its card reaches its cadres only); None: the county's card.
    Bad input → TaskError before anything is written."""
    title, body = _checked_text(title, body)
    _check_times(deadline, publish_at, now, tz)
    targets = list(targets or [Target.all()])
    cadre_ids(session, targets, township_id)  # someone must be reached now; publish resolves again later
    household_ids = _checked_households(session, households or [], township_id)
    task = Task(
        number=numbering.draw(session, "task"),
        title=title,
        body=body,
        deadline=deadline,
        publish_at=publish_at,
        targets=targets,
        created_by=actor,
        created_at=now,
        township_id=township_id,
    )
    session.add(task)
    session.flush()
    if household_ids:
        session.execute(
            insert(TaskHousehold), [{"task_id": task.id, "household_id": h} for h in household_ids]
        )
    _audit_created(session, task, actor=actor, households=household_ids)
    if publish_at is None or publish_at <= now:
        publish(session, task, now=now, words=words)
    return task


def _checked_text(title: str, body: str) -> tuple[str, str]:
    title = (title or "").strip()
    if not title:
        raise TaskError("督办卡标题不能为空")
    if len(title) > 200:
        raise TaskError("督办卡标题不能超过 200 字")
    return title, (body or "").strip()


def _check_times(deadline: datetime, publish_at: datetime | None, now: datetime, tz: ZoneInfo) -> None:
    if deadline.tzinfo is None or (publish_at is not None and publish_at.tzinfo is None):
        raise TaskError("时间须带时区")
    if deadline <= now:
        raise TaskError(f"截止时间 {deadline.astimezone(tz):%Y-%m-%d %H:%M} 已过，请给一个将来的时间")
    if publish_at is not None and publish_at >= deadline:
        raise TaskError("发布时间须早于截止时间")


def _checked_households(session: Session, households: list[int], township_id: int | None) -> list[int]:
    """The households the card concerns, each existing (and the issuing township's, for a township's card)."""
    household_ids = sorted(set(households))
    if household_ids:
        hq = select(Household.id).where(Household.id.in_(household_ids))
        if township_id is not None:
            hq = hq.where(
                Household.village_id.in_(select(Village.id).where(Village.township_id == township_id))
            )
        found = set(session.scalars(hq))
        missing = [h for h in household_ids if h not in found]
        if missing:
            raise TaskError(f"农户不存在：{missing}")
    return household_ids


def _audit_created(session: Session, task: Task, *, actor: str, households: list[int]) -> None:
    record(
        session,
        actor=actor,
        action="task.create",
        target=f"task:{task.number}",
        detail={
            "title": task.title,
            "targets": [str(t) for t in task.targets],
            "township_id": task.township_id,
            "deadline": task.deadline.isoformat(),
            "publish_at": task.publish_at.isoformat() if task.publish_at else None,
            "households": households,
        },
    )


def households_by_cards(session: Session, numbers: list[str]) -> list[int]:
    """Household ids for service-card numbers (the CLI's --household); unknown cards → TaskError."""
    out, missing = [], []
    for c in numbers:
        card = by_number(session, c)
        if card is None:
            missing.append(c)
        else:
            out.append(card.household_id)
    if missing:
        # a number whose Damm check digit fails was mistyped (storage/cards.py): say so, as the chat does
        typo = (
            "（看起来有一位数字输错了，或有两位数字颠倒了，请对照服务卡核对）"
            if any(map(number_typo, missing))
            else ""
        )
        raise TaskError(f"服务卡号不存在：{'、'.join(missing)}{typo}")
    return out


def publish(session: Session, task: Task, *, now: datetime, words: PushWords) -> int:
    """Create one assignment per targeted active cadre and queue one push per bound cadre.

    Idempotent: the conditional UPDATE on ``published_at`` lets exactly one caller publish a card, however
    many schedulers or CLI calls race. Rows go in with two bulk INSERTs (thousands of cadres in well under a
    second). ``words(task)`` gives the push's payload (its text and WeChat template fields): the caller writes
    the wording, this decides who gets it. Returns the number of assignments made (0 when it was already
    published).
    """
    res = session.execute(
        update(Task)
        .where(Task.id == task.id, Task.published_at.is_(None), Task.cancelled_at.is_(None))
        .values(published_at=now)
        .execution_options(synchronize_session=False)
    )
    if not rows_changed(res):
        return 0
    task.published_at = now
    reached = cadre_ids(session, task.targets or [Target.all()], task.township_id)
    already = set(session.scalars(select(TaskAssignment.cadre_id).where(TaskAssignment.task_id == task.id)))
    new_ids = [c for c in reached if c not in already]
    assignment_of: dict[int, int] = {}
    if new_ids:
        made = session.execute(
            insert(TaskAssignment).returning(TaskAssignment.cadre_id, TaskAssignment.id),
            [
                {"task_id": task.id, "cadre_id": c, "status": "pending", "deadline": task.deadline}
                for c in new_ids
            ],
        )
        assignment_of = {cadre_id: assignment_id for cadre_id, assignment_id in made}
    # One push per bound WeChat account of each cadre (normally one); the key keeps it to one per cadre.
    rows = (
        session.execute(
            select(WechatIdentity.cadre_id, func.min(WechatIdentity.openid))
            .where(
                WechatIdentity.kind == "cadre",
                WechatIdentity.cadre_id.in_(new_ids),
                WechatIdentity.unreachable.is_(False),
            )
            .group_by(WechatIdentity.cadre_id)
        ).all()
        if new_ids
        else []
    )
    if rows:
        payload = words(task)
        session.execute(
            insert(OutboxMessage),
            [
                {
                    "idempotency_key": task_push_key(task.id, cid),
                    "openid": openid,
                    "kind": "task",
                    "payload": payload,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "assignment_id": assignment_of[cid],
                }
                for cid, openid in rows
            ],
        )
    return len(new_ids)


def publish_due(session: Session, *, now: datetime, words: PushWords) -> list[Task]:
    """Publish every card whose publish time has come (the publish_tasks job)."""
    due = session.scalars(
        select(Task)
        .where(Task.published_at.is_(None), Task.cancelled_at.is_(None), Task.publish_at <= now)
        .order_by(Task.number)
    ).all()
    done = []
    for task in due:
        # A card whose deadline passed before its publish time is still published: the office sees it
        # on the board as overdue rather than silently never sent.
        if publish(session, task, now=now, words=words):
            done.append(task)
    return done


def _assignments_told(session: Session, push: OutboxMessage) -> list[int]:
    """The assignments a sent push told its cadre of: its own, and those of the pushes a digest carries (their
    row ids are in the carrier's payload, reminders/channels.py ``merge``)."""
    ids = [push.assignment_id] if push.assignment_id is not None else []
    carried = [int(i) for i in (push.payload or {}).get("merged", [])]
    if carried:
        ids += session.scalars(
            select(OutboxMessage.assignment_id).where(
                OutboxMessage.id.in_(carried), OutboxMessage.assignment_id.is_not(None)
            )
        )
    return [i for i in ids if i is not None]


def mark_delivered(session: Session, push: OutboxMessage, *, now: datetime) -> None:
    """Called by delivery when WeChat took a push (same transaction as the outbox update): the card
    assignments it told of (``OutboxMessage.assignment_id``, its own and its digest's) are delivered."""
    ids = _assignments_told(session, push)
    if not ids:
        return
    session.execute(
        update(TaskAssignment)
        .where(TaskAssignment.id.in_(ids), TaskAssignment.status == "pending")
        .values(status="delivered", delivered_at=now)
        .execution_options(synchronize_session=False)
    )


def mark_undelivered(session: Session, push: OutboxMessage) -> None:
    """WeChat reported afterwards that a push did not reach the cadre (TEMPLATESENDJOBFINISH failed): the
    cards' boards show its assignments as not delivered again (only those still merely 'delivered')."""
    ids = _assignments_told(session, push)
    if not ids:
        return
    session.execute(
        update(TaskAssignment)
        .where(TaskAssignment.id.in_(ids), TaskAssignment.status == "delivered")
        .values(status="pending", delivered_at=None)
        .execution_options(synchronize_session=False)
    )
