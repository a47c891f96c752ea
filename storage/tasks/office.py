"""The office's side of a card (console and CLI): send feedback back, answer an extension, cancel."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.accounts import normalize_phone
from storage.audit import record
from storage.config import DEFAULT_TZ
from storage.db import rows_changed
from storage.models import Cadre, Feedback, OutboxMessage, Task, TaskAssignment
from storage.outbox import enqueue, push_time
from storage.periods import local_text
from storage.tasks.base import (
    ANSWERED_STATUSES,
    NoticeWords,
    TaskError,
    cadre_openids,
    deadline_on,
    find_task,
)


def office_assignment(session: Session, *, number: int, phone: str) -> TaskAssignment:
    task = find_task(session, number)
    try:
        p = normalize_phone(phone)
    except ValueError as e:
        raise TaskError(f"电话「{phone}」格式不对") from e
    a = session.scalar(
        select(TaskAssignment).join(Cadre).where(TaskAssignment.task_id == task.id, Cadre.phone == p)
    )
    if a is None:
        raise TaskError(f"第{number}号督办卡没有派给电话为 {p} 的干部")
    return a


def _notify_cadre(
    session: Session, a: TaskAssignment, text: str, key: str, tz: ZoneInfo = DEFAULT_TZ
) -> None:
    # The named values of a task push (PRODUCT.md "Pushes"); the first line of the wording says what changed.
    values = {
        "number": str(a.task.number),
        "title": text.strip().partition("\n")[0] or a.task.title,
        "deadline": push_time(a.deadline, tz),
        "office": "联户办",
    }
    for openid in cadre_openids(session, a.cadre_id):
        enqueue(session, openid=openid, kind="task", text=text, key=f"{key}:{openid}", template=values)


def return_feedback(
    session: Session,
    *,
    number: int,
    phone: str,
    reason: str,
    actor: str,
    now: datetime,
    words: NoticeWords,
) -> TaskAssignment:
    """退回: the office sends the cadre's feedback back for rework, with a reason; the cadre is told
    ``words(assignment)``."""
    reason = (reason or "").strip()
    if not reason:
        raise TaskError("退回须写明原因")
    a = office_assignment(session, number=number, phone=phone)
    if a.status not in ANSWERED_STATUSES:
        raise TaskError(f"{a.cadre.name} 还没有反馈第{number}号督办卡，无可退回")
    a.status = "returned"
    a.done_at = None
    a.returned_count += 1
    session.add(Feedback(assignment_id=a.id, kind="return", text=reason, author=actor, created_at=now))
    record(
        session,
        actor=actor,
        action="task.return",
        target=f"task:{number}:cadre:{a.cadre.phone}",
        detail={"reason": reason},
    )
    session.flush()
    _notify_cadre(session, a, words(a), f"task-return:{a.id}:{a.returned_count}")
    return a


def answer_extension(
    session: Session,
    *,
    number: int,
    phone: str,
    grant: bool,
    actor: str,
    now: datetime,
    words: NoticeWords,
    until: date | None = None,
    reason: str = "",
    tz: ZoneInfo = DEFAULT_TZ,
) -> TaskAssignment:
    """Grant (optionally to another date) or refuse a cadre's extension request; the cadre is told
    ``words(assignment)`` (its ``extension_status`` and ``deadline`` already the answer's)."""
    a = office_assignment(session, number=number, phone=phone)
    if a.extension_status != "requested" and not (grant and until is not None):
        raise TaskError(f"{a.cadre.name} 没有待答复的第{number}号督办卡延期申请")
    if grant:
        new = deadline_on(until, a.deadline, tz) if until else a.extension_requested_until
        assert new is not None
        if new <= now:
            raise TaskError("延期后的截止时间已过，请给一个将来的日期")
        a.deadline = new
        a.extension_status = "granted"
    else:
        a.extension_status = "refused"
    session.add(
        Feedback(
            assignment_id=a.id,
            kind="extension_grant" if grant else "extension_refuse",
            text=(local_text(a.deadline, tz) if grant else reason),
            author=actor,
            created_at=now,
        )
    )
    record(
        session,
        actor=actor,
        action="task.extension_grant" if grant else "task.extension_refuse",
        target=f"task:{number}:cadre:{a.cadre.phone}",
        detail={"deadline": a.deadline.isoformat(), "reason": reason or None},
    )
    session.flush()
    n = session.scalar(select(func.count(Feedback.id)).where(Feedback.assignment_id == a.id))
    _notify_cadre(session, a, words(a), f"task-ext:{a.id}:{n}", tz)
    return a


def cancel_task(session: Session, *, number: int, actor: str, now: datetime) -> Task:
    task = find_task(session, number)
    if task.cancelled_at is not None:
        raise TaskError(f"第{number}号督办卡已撤销")
    task.cancelled_at = now
    # Its pushes still waiting in the outbox are withdrawn: a cadre must not be told of a card that is gone.
    withdrawn = withdraw_pushes(session, select(TaskAssignment.id).where(TaskAssignment.task_id == task.id))
    record(
        session,
        actor=actor,
        action="task.cancel",
        target=f"task:{number}",
        detail={"pushes_withdrawn": withdrawn},
    )
    return task


def withdraw_pushes(session: Session, assignment_ids: Any) -> int:
    """Delete the pushes still waiting in the outbox that tell a cadre of these assignments (a list of ids or a
    SELECT of them): the card was cancelled, or it went to another cadre with its household. A row carrying other
    merged messages is left alone; those messages must still go out. Returns how many."""
    ids = [
        mid
        for mid, payload in session.execute(
            select(OutboxMessage.id, OutboxMessage.payload).where(
                # refused: kept for a cadre who switched off messages, sent when they write again — not now
                OutboxMessage.status.in_(("pending", "refused")),
                OutboxMessage.assignment_id.in_(assignment_ids),
            )
        )
        if not (payload or {}).get("merged")
    ]
    if not ids:
        return 0
    # conditional on still pending: a dispatcher may have claimed one meanwhile
    return rows_changed(
        session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status.in_(("pending", "refused")))
            .execution_options(synchronize_session=False)
        )
    )
