"""What every part of the card service shares: the states and their labels, the error, the push keys, how
a card is looked up and who is told."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Task, TaskAssignment, WechatIdentity

OPEN_STATUSES = ("pending", "delivered", "acknowledged", "returned")
ANSWERED_STATUSES = ("fed_back", "done")
STATUS_LABELS = {
    "pending": "待送达",
    "delivered": "已送达",
    "acknowledged": "已签收",
    "fed_back": "已反馈",
    "done": "已完成",
    "returned": "已退回",
}
LIGHT_LABELS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯", "late": "逾期完成"}


NoticeWords = Callable[[TaskAssignment], str]
"""The text of a notice about one assignment (returned, extension asked / answered), written by the caller:
storage decides who is told and under which key, never the wording."""


class TaskError(ValueError):
    """Bad input for a card operation; the message is shown to the user as is."""


def task_push_key(task_id: int, cadre_id: int) -> str:
    return f"task:{task_id}:cadre:{cadre_id}"


def find_task(session: Session, number: int) -> Task:
    task = session.scalar(select(Task).where(Task.number == number))
    if task is None:
        raise TaskError(f"没有第{number}号督办卡")
    return task


def deadline_on(day: date, current: datetime, tz: ZoneInfo) -> datetime:
    local = current.astimezone(tz)
    return datetime.combine(day, local.time(), tzinfo=tz).astimezone(current.tzinfo)


def cadre_openids(session: Session, cadre_id: int) -> list[str]:
    return list(
        session.scalars(
            select(WechatIdentity.openid)
            .where(
                WechatIdentity.cadre_id == cadre_id,
                WechatIdentity.kind == "cadre",
                WechatIdentity.unreachable.is_(False),
            )
            .order_by(WechatIdentity.id)
        )
    )
