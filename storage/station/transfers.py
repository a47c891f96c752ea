"""The two steps that carry a request: passing it to a department (转办) and the department's answer, which reaches
the villager through the same path as a cadre's 回复 (storage.offline.villager_account: the account that sent it,
or the one the office chose for an offline request) and is shown to the cadre, pushed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from storage.config import Config
from storage.models import Department, RequestReply, RequestTransfer, VillagerRequest
from storage.offline import villager_account
from storage.outbox import enqueue, reply_values
from storage.station.base import (
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


def transfer(
    session: Session,
    *,
    request: VillagerRequest,
    department: Department,
    actor: str,
    now: datetime,
    config: Config,
    words: StationWords,
    due: date | None = None,
    note: str = "",
) -> RequestTransfer:
    """转办: pass ``request`` to ``department`` (of the request's township) with a time limit (``due``'s end of
    work, or the configured number of working days). The department's staff, the villager and — when the office
    passed it — the cadre are told. ``actor``: ``cadre:<phone>``, ``console:<user>`` or ``cli``."""
    note = (note or "").strip()
    if len(note) > 500:
        raise StationError("说明不超过 500 字 / the note is longer than 500 characters")
    if request.status == "closed":
        raise StationError(f"第{request.number}号诉求已办结，不能转办 / the request is closed")
    if request.status == "transferred":
        held = current(session, request.id)
        name = held.department.name if held is not None else "部门"
        raise StationError(f"第{request.number}号诉求已转{name}办理 / already with a department")
    if not department.active or department.township_id != township_of(session, request):
        raise StationError(f"{department.name}不是本镇的部门 / not a department of the request's township")
    limit = due_on(due, now, config)
    previous = current(session, request.id)
    if (
        previous is not None and previous.status == "answered"
    ):  # answered, the villager not satisfied: passed on
        previous.status, previous.closed_at, previous.closed_by = "closed", now, actor
    t = RequestTransfer(
        request_id=request.id,
        department_id=department.id,
        note=note or None,
        transferred_by=actor,
        transferred_at=now,
        due=limit,
        status="open",
    )
    session.add(t)
    request.status = "transferred"
    request.department_id = department.id
    if request.first_answer_at is None:  # the villager is told it was passed on: the cadre's first answer
        request.first_answer_at = now
    session.flush()
    t.department = department
    t.request = request
    _tell_of_transfer(session, t, actor=actor, now=now, config=config, words=words)
    audit_step(session, actor, "request.transfer", request, department=department.name, due=limit.isoformat())
    return t


def _tell_of_transfer(
    session: Session, t: RequestTransfer, *, actor: str, now: datetime, config: Config, words: StationWords
) -> None:
    """The department's staff, the villager and — when the office passed it — the cadre are told of ``t``."""
    request, department = t.request, t.department
    tz = config.tz
    key = f"request:{request.id}:transfer:{t.id}"
    tell_department(
        session,
        department,
        f"{key}:dept",
        words.to_department(t, request),
        f"第{request.number}号诉求待办理",
        now,
        tz,
    )
    villager = villager_account(session, request)
    if villager is not None and villager.subscribed and villager.kind == "villager":
        enqueue(
            session,
            openid=villager.openid,
            kind="reply",
            text=words.to_villager(t, request),
            key=f"{key}:villager",
            template=reply_values(request, department.name, f"已转{department.name}办理", now, tz),
        )
    if not actor.startswith("cadre:"):
        tell_cadre(
            session,
            request,
            f"{key}:cadre",
            words.to_cadre(t, request),
            f"第{request.number}号诉求已转办",
            now,
            tz,
        )


def answer(
    session: Session,
    *,
    request: VillagerRequest,
    department: Department,
    text: str,
    actor: str,
    now: datetime,
    config: Config,
    words: StationWords,
) -> RequestReply:
    """The department's answer to a request passed to it: kept in the request's conversation, relayed to the
    villager (asked to rate it on the first answer) and pushed to the cadre, who passes it on when the villager
    cannot be reached by WeChat (an offline request, an account gone)."""
    text = checked_text(text, "答复内容")
    t = current(session, request.id)
    if t is None or t.department_id != department.id or t.status not in ("open", "answered"):
        raise StationError(f"第{request.number}号诉求不在{department.name}办理中 / not with this department")
    ask_rating = request.status == "transferred"
    reply = RequestReply(
        request_id=request.id, author=f"department:{department.name}", text=text, created_at=now
    )
    session.add(reply)
    if t.answered_at is None:
        t.answered_at, t.answered_by = now, actor
    t.status = "answered"
    request.status = "answered"
    if request.first_answer_at is None:
        request.first_answer_at = now
    session.flush()
    tz = config.tz
    villager = villager_account(session, request)
    relayed = False
    if villager is not None and villager.subscribed and villager.kind == "villager":
        relayed = enqueue(
            session,
            openid=villager.openid,
            kind="reply",
            text=words.answer_to_villager(t, request, text, ask_rating),
            key=f"reply:{reply.id}:villager",
            template=reply_values(request, department.name, text, now, tz),
        )
    tell_cadre(
        session,
        request,
        f"reply:{reply.id}:cadre",
        words.answer_to_cadre(t, request, text, relayed),
        f"{department.name}已答复第{request.number}号诉求",
        now,
        tz,
    )
    audit_step(
        session, actor, "request.department_answer", request, department=department.name, relayed=relayed
    )
    return reply
