"""The steps after a request reached a department: more time asked (the office grants or refuses, as a card's 延期
in storage/tasks/office.py), handed back to the cadre, closed (办结), and the villager's rating (回访) counted for the
department as well as for the cadre."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from storage import offices
from storage.config import Config
from storage.models import Department, RequestTransfer, VillagerRequest
from storage.outbox import enqueue, push_time
from storage.periods import local_text
from storage.station.base import (
    SATISFIED,
    StationWords,
    audit_step,
    checked_text,
    current,
    due_on,
    tell_cadre,
    tell_department,
    township_of,
)
from storage.station.departments import StationError


def _held_by(
    session: Session, request: VillagerRequest, department: Department, *, answered: bool = False
) -> RequestTransfer:
    """The request's passing to ``department`` while the department has it (open; or answered too)."""
    t = current(session, request.id)
    allowed = ("open", "answered") if answered else ("open",)
    if t is None or t.department_id != department.id or t.status not in allowed:
        raise StationError(f"第{request.number}号诉求不在{department.name}办理中 / not with this department")
    return t


def ask_extension(
    session: Session,
    *,
    request: VillagerRequest,
    department: Department,
    until: date,
    reason: str,
    actor: str,
    now: datetime,
    config: Config,
    words: StationWords,
) -> RequestTransfer:
    """The department asks for a later time limit (the end of work on ``until``), with a reason; the office (the
    county's and the township's) is told and grants or refuses it (``answer_extension``)."""
    reason = checked_text(reason, "延期原因")
    t = _held_by(session, request, department)
    if t.extension_status == "requested":
        raise StationError(
            f"第{request.number}号诉求的延期申请正在等待办公室答复 / an extension is already asked"
        )
    new_due = due_on(until, now, config)
    if new_due <= t.due:
        raise StationError(
            f"延期日期须晚于当前时限 {local_text(t.due, config.tz)} / must be later than the time limit"
        )
    t.extension_until, t.extension_reason, t.extension_status = new_due, reason, "requested"
    session.flush()
    text = words.extension_asked(t, request)
    for openid in offices.recipients(session, config, township_of(session, request)):
        enqueue(
            session,
            openid=openid,
            kind="notice",
            text=text,
            key=f"request:{request.id}:transfer:{t.id}:ext:{new_due.isoformat()}:{openid}",
            template={"title": f"{department.name}申请延期", "text": text, "time": push_time(now, config.tz)},
        )
    audit_step(session, actor, "request.extension_request", request, until=new_due.isoformat(), reason=reason)
    return t


def answer_extension(
    session: Session,
    *,
    request: VillagerRequest,
    grant: bool,
    actor: str,
    now: datetime,
    config: Config,
    words: StationWords,
    reason: str = "",
) -> RequestTransfer:
    """The office grants (the time limit becomes the one asked) or refuses (with ``reason``) a department's
    request for more time; the department's staff are told."""
    t = current(session, request.id)
    if t is None or t.status != "open" or t.extension_status != "requested" or t.extension_until is None:
        raise StationError(
            f"第{request.number}号诉求没有待答复的延期申请 / no extension waiting for an answer"
        )
    if grant:
        if t.extension_until <= now:
            raise StationError("申请的延期日期已过，请部门重新申请 / the date asked has passed")
        t.due, t.extension_status = t.extension_until, "granted"
    else:
        t.extension_status = "refused"
    session.flush()
    tell_department(
        session,
        t.department,
        f"request:{request.id}:transfer:{t.id}:ext-{t.extension_status}:{t.extension_until.isoformat()}",
        words.extension_answered(t, request, reason.strip()),
        f"第{request.number}号诉求延期{'已批准' if grant else '未批准'}",
        now,
        config.tz,
    )
    audit_step(
        session,
        actor,
        "request.extension_grant" if grant else "request.extension_refuse",
        request,
        due=t.due.isoformat(),
        reason=reason.strip() or None,
    )
    return t


def hand_back(
    session: Session,
    *,
    request: VillagerRequest,
    department: Department,
    reason: str,
    actor: str,
    now: datetime,
    config: Config,
    words: StationWords,
) -> RequestTransfer:
    """The department hands the request back to the cadre (not its business, information missing …), with a
    reason: the cadre has it again (``open``) and is told."""
    reason = checked_text(reason, "退回原因")
    t = _held_by(session, request, department)
    t.status, t.returned_at, t.returned_reason = "returned", now, reason
    request.status = "open"
    session.flush()
    tell_cadre(
        session,
        request,
        f"request:{request.id}:transfer:{t.id}:returned",
        words.handed_back(t, request),
        f"第{request.number}号诉求被{department.name}退回",
        now,
        config.tz,
    )
    audit_step(session, actor, "request.hand_back", request, department=department.name, reason=reason)
    return t


def close(
    session: Session,
    *,
    request: VillagerRequest,
    actor: str,
    now: datetime,
    department: Department | None = None,
) -> bool:
    """办结: the request is closed, and with it its passing to a department. A department closes only a request it
    answered (the villager has its answer); the office closes any. False when it was closed already."""
    t = current(session, request.id)
    if department is not None:
        if t is None or t.department_id != department.id or t.status not in ("answered", "closed"):
            raise StationError(
                f"第{request.number}号诉求{department.name}还没有答复，答复后才能办结 / answer it before closing"
            )
    if request.status == "closed":
        return False
    request.status, request.closed_at, request.closed_by = "closed", now, actor
    end_transfer(session, request, actor=actor, now=now)
    audit_step(session, actor, "request.close", request, department=department.name if department else None)
    return True


def end_transfer(session: Session, request: VillagerRequest, *, actor: str, now: datetime) -> None:
    """A request closed (办结, by whoever closes it) closes its passing to a department too, if one has it."""
    t = current(session, request.id)
    if t is not None and t.status in ("open", "answered"):
        t.status, t.closed_at, t.closed_by = "closed", now, actor
    session.flush()


def rated(
    session: Session,
    *,
    request: VillagerRequest,
    satisfaction: str,
    now: datetime,
    config: Config,
    words: StationWords,
) -> RequestTransfer | None:
    """回访: the villager rated the answer to ``request`` (the caller changes the request itself, as ever). When
    the answer was a department's, the rating is the department's too: 满意 closes its passing (办结), 不满意
    leaves it answered and tells its staff. None when no department answered the request."""
    t = current(session, request.id)
    if t is None or t.status != "answered":
        return None
    t.satisfaction, t.satisfaction_at = satisfaction, now
    if satisfaction == SATISFIED:
        t.status, t.closed_at, t.closed_by = "closed", now, "villager"
    else:
        tell_department(
            session,
            t.department,
            f"request:{request.id}:transfer:{t.id}:unsatisfied",
            words.unsatisfied(t, request),
            f"第{request.number}号诉求群众不满意",
            now,
            config.tz,
        )
    session.flush()
    return t
