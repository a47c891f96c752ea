"""The cadre's side of a card (chat): my open cards, 签收, 反馈 / 完成, 延期."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from storage import offices
from storage.config import DEFAULT_TZ, Config
from storage.models import Cadre, Feedback, Task, TaskAssignment
from storage.outbox import enqueue
from storage.periods import local_text
from storage.tasks.base import (
    OPEN_STATUSES,
    NoticeWords,
    TaskError,
    deadline_on,
)

# The statements of every `任务`, built once per process (SQLAlchemy memoises a built statement's cache key).
_OPEN_ASSIGNMENTS = (
    select(TaskAssignment)
    .join(Task)
    .where(
        TaskAssignment.cadre_id == bindparam("b_cadre"),
        Task.published_at.is_not(None),
        Task.cancelled_at.is_(None),
        TaskAssignment.status.in_(OPEN_STATUSES + ("fed_back",)),
    )
    .order_by(TaskAssignment.deadline, Task.number)
)


def _acknowledge(number: bool) -> Any:
    task_ids = select(Task.id).where(Task.published_at.is_not(None), Task.cancelled_at.is_(None))
    if number:
        task_ids = task_ids.where(Task.number == bindparam("b_number"))
    return (
        update(TaskAssignment)
        .where(
            TaskAssignment.cadre_id == bindparam("b_cadre"),
            TaskAssignment.status.in_(("pending", "delivered")),
            TaskAssignment.task_id.in_(task_ids),
        )
        .values(
            status="acknowledged",
            acknowledged_at=bindparam("b_now"),
            delivered_at=func.coalesce(TaskAssignment.delivered_at, bindparam("b_now")),
        )
        .execution_options(synchronize_session=False)
    )


_ACKNOWLEDGE = {False: _acknowledge(False), True: _acknowledge(True)}


def open_assignments(session: Session, cadre_id: int) -> list[TaskAssignment]:
    """My cards still waiting for an answer (and fed-back ones not yet done), by deadline."""
    return list(session.scalars(_OPEN_ASSIGNMENTS, {"b_cadre": cadre_id}))


def acknowledge(session: Session, *, cadre_id: int, now: datetime, number: int | None = None) -> int:
    """签收: the cadre has seen their cards (``任务``, or a 反馈 on card ``number``). Returns rows changed."""
    params: dict[str, Any] = {"b_cadre": cadre_id, "b_now": now}
    if number is not None:
        params["b_number"] = number
    res = session.execute(_ACKNOWLEDGE[number is not None], params)
    return res.rowcount or 0  # type: ignore[attr-defined]


def get_assignment(session: Session, *, cadre_id: int, number: int) -> TaskAssignment:
    a = session.scalar(
        select(TaskAssignment)
        .join(Task)
        .where(Task.number == number, TaskAssignment.cadre_id == cadre_id, Task.published_at.is_not(None))
    )
    if a is None:
        raise TaskError(f"您没有第{number}号督办卡。回复「任务」查看您的督办卡。")
    if a.task.cancelled_at is not None:
        raise TaskError(f"第{number}号督办卡已撤销。")
    return a


def feedback(
    session: Session,
    *,
    cadre_id: int,
    number: int,
    text: str,
    now: datetime,
    done: bool = False,
    inbound_id: int | None = None,
) -> TaskAssignment:
    """反馈 N TEXT / 完成 N TEXT."""
    text = (text or "").strip()
    if not text:
        raise TaskError(f"请写上反馈内容，例如：{'完成' if done else '反馈'} {number} 已走访全部农户")
    a = get_assignment(session, cadre_id=cadre_id, number=number)
    if a.status == "done":
        raise TaskError(f"第{number}号督办卡已标记完成，无需再反馈。")
    session.refresh(a)
    cadre = session.get(Cadre, cadre_id)
    assert cadre is not None
    session.add(
        Feedback(
            assignment_id=a.id,
            kind="done" if done else "feedback",
            text=text,
            author=f"cadre:{cadre.phone}",
            cadre_id=cadre.id,
            created_at=now,
            inbound_id=inbound_id,
        )
    )
    if a.acknowledged_at is None:
        a.acknowledged_at = now
    if a.delivered_at is None:
        a.delivered_at = now
    if a.first_feedback_at is None:
        a.first_feedback_at = now
    a.status = "done" if done else "fed_back"
    if done:
        a.done_at = now
    session.flush()
    return a


def request_extension(
    session: Session,
    *,
    cadre_id: int,
    number: int,
    until: date,
    reason: str,
    now: datetime,
    words: NoticeWords,
    tz: ZoneInfo = DEFAULT_TZ,
    config: Config,
    inbound_id: int | None = None,
) -> TaskAssignment:
    """延期 N 日期 原因: ask the office for a later deadline (kept at the card's time of day).

    The office (the county's and the cadre's township's) is told with ``words(assignment)``, once per office
    account and requested date."""
    reason = (reason or "").strip()
    if not reason:
        raise TaskError("请写明延期原因，例如：延期 3 12月5日 农户外出未归")
    a = get_assignment(session, cadre_id=cadre_id, number=number)
    if a.status == "done":
        raise TaskError(f"第{number}号督办卡已完成，无需延期。")
    new_deadline = deadline_on(until, a.deadline, tz)
    if new_deadline <= a.deadline:
        raise TaskError(f"延期日期须晚于当前截止时间 {local_text(a.deadline, tz)}")
    if a.extension_status == "requested":
        raise TaskError(f"第{number}号督办卡的延期申请正在等待办公室答复。")
    cadre = session.get(Cadre, cadre_id)
    assert cadre is not None
    a.extension_requested_until = new_deadline
    a.extension_reason = reason
    a.extension_status = "requested"
    session.add(
        Feedback(
            assignment_id=a.id,
            kind="extension_request",
            text=f"{until.isoformat()} {reason}",
            author=f"cadre:{cadre.phone}",
            cadre_id=cadre.id,
            created_at=now,
            inbound_id=inbound_id,
        )
    )
    session.flush()
    text = words(a)
    for openid in offices.recipients(session, config, cadre.township_id):
        enqueue(
            session,
            openid=openid,
            kind="notice",
            text=text,
            key=f"ext-req:{a.id}:{new_deadline.isoformat()}:{openid}",
        )
    return a
