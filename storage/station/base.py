"""What every step of 转办 shares: the words of its pushes (``StationWords``), the request's current passing, its
township, the time limit, checked text, the audit, and telling a department's staff or the request's cadre."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import audit
from storage.config import Config
from storage.models import Department, Household, RequestTransfer, Village, VillagerRequest
from storage.outbox import enqueue, push_time
from storage.periods import local_day
from storage.station.departments import StationError
from storage.tasks.base import cadre_openids
from storage.workdays import end_of_work, working_days_after

TEXT_MAX = 1000
SATISFIED, UNSATISFIED = "满意", "不满意"


class StationWords(Protocol):
    """The words of the station's pushes, written by the caller (storage decides who is told, never the wording)."""

    def to_department(self, transfer: RequestTransfer, request: VillagerRequest) -> str:
        """The department's staff: a request is waiting for them (or was sent back to them after 不满意)."""
        ...

    def to_villager(self, transfer: RequestTransfer, request: VillagerRequest) -> str:
        """The villager: their request was passed to the department, and by when it answers."""
        ...

    def to_cadre(self, transfer: RequestTransfer, request: VillagerRequest) -> str:
        """The cadre: the office passed their villager's request to a department."""
        ...

    def answer_to_villager(
        self, transfer: RequestTransfer, request: VillagerRequest, text: str, ask_rating: bool
    ) -> str:
        """The villager: the department's answer (and the question 满意/不满意 on its first answer)."""
        ...

    def answer_to_cadre(
        self, transfer: RequestTransfer, request: VillagerRequest, text: str, relayed: bool
    ) -> str:
        """The cadre: what the department answered (``relayed``: the villager got it by WeChat; else pass it on)."""
        ...

    def handed_back(self, transfer: RequestTransfer, request: VillagerRequest) -> str:
        """The cadre: the department handed the request back, with its reason."""
        ...

    def extension_asked(self, transfer: RequestTransfer, request: VillagerRequest) -> str:
        """The office: the department asks for more time, with its reason."""
        ...

    def extension_answered(self, transfer: RequestTransfer, request: VillagerRequest, reason: str) -> str:
        """The department's staff: the office granted (its new due date) or refused (``reason``) more time."""
        ...

    def unsatisfied(self, transfer: RequestTransfer, request: VillagerRequest) -> str:
        """The department's staff: the villager was not satisfied with its answer (the cadre has the request again)."""
        ...


# ------------------------------------------------------------------------------------------------ reading


def current(session: Session, request_id: int) -> RequestTransfer | None:
    """The request's latest passing to a department (None: never passed on)."""
    return session.scalar(
        select(RequestTransfer)
        .where(RequestTransfer.request_id == request_id)
        .order_by(RequestTransfer.id.desc())
        .limit(1)
    )


def history(session: Session, request_id: int) -> list[RequestTransfer]:
    """Every passing of the request, oldest first."""
    return list(
        session.scalars(
            select(RequestTransfer)
            .where(RequestTransfer.request_id == request_id)
            .order_by(RequestTransfer.id)
        )
    )


def township_of(session: Session, request: VillagerRequest) -> int:
    """The township a request belongs to: its household's village's."""
    tid = session.scalar(
        select(Village.township_id)
        .join(Household, Household.village_id == Village.id)
        .where(Household.id == request.household_id)
    )
    assert tid is not None
    return int(tid)


def due_on(day: date | None, now: datetime, config: Config) -> datetime:
    """A transfer's time limit: the end of the working day ``day`` ([sla] work_day_end), or by default of the
    [sla] transfer_due_working_days-th working day after today (storage/workdays.py, the official calendar)."""
    if day is None:
        day = working_days_after(local_day(now, config.tz), config.sla.transfer_due_working_days, config)
    due = end_of_work(day, config)
    if due <= now:
        raise StationError(f"办理时限 {day:%Y-%m-%d} 已过，请给一个将来的日期 / the due date has passed")
    return due


def checked_text(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise StationError(f"请写明{what} / the {what} is empty")
    if len(text) > TEXT_MAX:
        raise StationError(f"{what}不超过 {TEXT_MAX} 字 / longer than {TEXT_MAX} characters")
    return text


def audit_step(session: Session, actor: str, action: str, request: VillagerRequest, **detail: object) -> None:
    """The office's and the departments' steps are audited; a cadre's chat is its own record (InboundMessage)."""
    if not actor.startswith("cadre:"):
        audit.record(
            session, actor=actor, action=action, target=f"request:{request.number}", detail=detail or None
        )


def tell_department(
    session: Session, dept: Department, key: str, text: str, title: str, now: datetime, tz: object
) -> int:
    """A notice to each of the department's staff WeChat accounts (``key`` + the account); returns how many."""
    told = 0
    for openid in dept.openids or []:
        told += enqueue(
            session,
            openid=str(openid),
            kind="notice",
            text=text,
            key=f"{key}:{openid}",
            template={"title": title, "text": text, "time": push_time(now, tz)},
        )
    return told


def tell_cadre(
    session: Session, request: VillagerRequest, key: str, text: str, title: str, now: datetime, tz: object
) -> bool:
    """A notice to the request's cadre (their reachable bound account), if they have one."""
    openids = cadre_openids(session, request.cadre_id)
    if not openids:
        return False
    return enqueue(
        session,
        openid=openids[0],
        kind="notice",
        text=text,
        key=key,
        template={"title": title, "text": text, "time": push_time(now, tz)},
    )
