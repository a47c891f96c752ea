"""Supervision cards (工作督办卡): create, publish, the cadre's answers and the office's decisions.

Service functions for the CLI, the chat handlers and the console. Each takes ``session`` and never commits;
pushes go into the outbox in the same transaction. Bad input raises ``TaskError`` (a clear Chinese message)
before anything is written.

Lifecycle of one assignment: pending (queued) → delivered (WeChat took the push) → acknowledged (the cadre
sent 任务 or 反馈) → fed_back → done; the office may send feedback back (returned) for rework, which makes
the assignment open again.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reminders.render import local_text, render
from storage.accounts import normalize_phone
from storage.audit import record
from storage.models import (
    Cadre,
    Feedback,
    Household,
    OutboxMessage,
    ServiceCard,
    Task,
    TaskAssignment,
    TaskHousehold,
    Village,
    WechatIdentity,
)

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
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


class TaskError(ValueError):
    """Bad input for a card operation; the message is shown to the user as is."""


def task_push_key(task_id: int, cadre_id: int) -> str:
    return f"task:{task_id}:cadre:{cadre_id}"


_TASK_KEY = re.compile(r"^task:(\d+):cadre:(\d+)$")


def parse_task_push_key(key: str) -> tuple[int, int] | None:
    m = _TASK_KEY.match(key)
    return (int(m.group(1)), int(m.group(2))) if m else None


# --------------------------------------------------------------------------------------------------
# Creating and publishing
# --------------------------------------------------------------------------------------------------


def resolve_targets(session: Session, targets: list[str]) -> list[int]:
    """Active cadre ids named by targets: ``all``, ``village:NAME``, ``cadre:PHONE``; unknown → TaskError."""
    if not targets:
        raise TaskError("请指定发送对象：all、village:村名 或 cadre:电话")
    ids: set[int] = set()
    unknown: list[str] = []
    for raw in targets:
        t = raw.strip()
        kind, _, value = t.partition(":")
        kind, value = kind.strip().lower(), value.strip()
        if t in ("all", "全部"):
            ids.update(session.scalars(select(Cadre.id).where(Cadre.active.is_(True))))
        elif kind in ("village", "村") and value:
            vid = session.scalar(select(Village.id).where(Village.name == value))
            if vid is None:
                unknown.append(f"村「{value}」不存在")
                continue
            ids.update(session.scalars(select(Cadre.id).where(Cadre.village_id == vid, Cadre.active.is_(True))))
        elif kind in ("cadre", "干部") and value:
            try:
                phone = normalize_phone(value)
            except ValueError:
                unknown.append(f"电话「{value}」格式不对")
                continue
            cid = session.scalar(select(Cadre.id).where(Cadre.phone == phone, Cadre.active.is_(True)))
            if cid is None:
                unknown.append(f"没有电话为 {phone} 的在职干部")
                continue
            ids.add(cid)
        else:
            unknown.append(f"无法识别的对象「{t}」（应为 all、village:村名 或 cadre:电话）")
    if unknown:
        raise TaskError("；".join(unknown))
    if not ids:
        raise TaskError("所选对象中没有在职干部")
    return sorted(ids)


def _next_number(session: Session) -> int:
    return (session.scalar(select(func.max(Task.number))) or 0) + 1


def create_task(
    session: Session,
    *,
    title: str,
    body: str,
    deadline: datetime,
    targets: list[str] | None = None,
    publish_at: datetime | None = None,
    actor: str = "cli",
    households: list[int] | None = None,
    now: datetime,
    tz: ZoneInfo = DEFAULT_TZ,
) -> Task:
    """A new card with the next number; published at once unless ``publish_at`` is later than ``now``."""
    title = (title or "").strip()
    body = (body or "").strip()
    if not title:
        raise TaskError("督办卡标题不能为空")
    if len(title) > 200:
        raise TaskError("督办卡标题不能超过 200 字")
    if deadline.tzinfo is None or (publish_at is not None and publish_at.tzinfo is None):
        raise TaskError("时间须带时区")
    if deadline <= now:
        raise TaskError(f"截止时间 {deadline.astimezone(tz):%Y-%m-%d %H:%M} 已过，请给一个将来的时间")
    if publish_at is not None and publish_at >= deadline:
        raise TaskError("发布时间须早于截止时间")
    targets = list(targets or ["all"])
    resolve_targets(session, targets)  # validate now; publish resolves again (cadres may change meanwhile)
    household_ids = sorted(set(households or []))
    if household_ids:
        found = set(session.scalars(select(Household.id).where(Household.id.in_(household_ids))))
        missing = [h for h in household_ids if h not in found]
        if missing:
            raise TaskError(f"农户不存在：{missing}")
    for attempt in range(5):
        try:
            with session.begin_nested():
                task = Task(
                    number=_next_number(session), title=title, body=body, deadline=deadline,
                    publish_at=publish_at, targets=targets, created_by=actor, created_at=now,
                )
                session.add(task)
                session.flush()
            break
        except IntegrityError:  # a concurrent card took the number; take the next one
            if attempt == 4:
                raise
    if household_ids:
        session.execute(insert(TaskHousehold), [{"task_id": task.id, "household_id": h} for h in household_ids])
    record(session, actor=actor, action="task.create", target=f"task:{task.number}",
           detail={"title": title, "targets": targets, "deadline": deadline.isoformat(),
                   "publish_at": publish_at.isoformat() if publish_at else None, "households": household_ids})
    if publish_at is None or publish_at <= now:
        publish(session, task, now=now, tz=tz)
    return task


def households_by_cards(session: Session, cards: list[str]) -> list[int]:
    """Household ids for service-card numbers (the CLI's --household); unknown cards → TaskError."""
    out, missing = [], []
    for c in cards:
        hid = session.scalar(select(ServiceCard.household_id).where(ServiceCard.number == c.strip()))
        if hid is None:
            missing.append(c)
        else:
            out.append(hid)
    if missing:
        raise TaskError(f"服务卡号不存在：{'、'.join(missing)}")
    return out


def publish(session: Session, task: Task, *, now: datetime, tz: ZoneInfo = DEFAULT_TZ) -> int:
    """Create one assignment per targeted active cadre and queue one push per bound cadre.

    Idempotent: the conditional UPDATE on ``published_at`` lets exactly one caller publish a card, however
    many schedulers or CLI calls race. Rows go in with two bulk INSERTs (thousands of cadres in well under a
    second). Returns the number of assignments made (0 when it was already published).
    """
    res = session.execute(
        update(Task).where(Task.id == task.id, Task.published_at.is_(None), Task.cancelled_at.is_(None))
        .values(published_at=now).execution_options(synchronize_session=False)
    )
    if not res.rowcount:
        return 0
    task.published_at = now
    cadre_ids = resolve_targets(session, list(task.targets or ["all"]))
    already = set(session.scalars(select(TaskAssignment.cadre_id).where(TaskAssignment.task_id == task.id)))
    new_ids = [c for c in cadre_ids if c not in already]
    if new_ids:
        session.execute(
            insert(TaskAssignment),
            [{"task_id": task.id, "cadre_id": c, "status": "pending", "deadline": task.deadline}
             for c in new_ids],
        )
    # One push per bound WeChat account of each cadre (normally one); the key keeps it to one per cadre.
    rows = session.execute(
        select(WechatIdentity.cadre_id, func.min(WechatIdentity.openid))
        .where(WechatIdentity.kind == "cadre", WechatIdentity.cadre_id.in_(new_ids),
               WechatIdentity.unreachable.is_(False))
        .group_by(WechatIdentity.cadre_id)
    ).all() if new_ids else []
    text = render("task_published", task=task, deadline=local_text(task.deadline, tz))
    template = {
        "first": f"督办卡第{task.number}号：{task.title}",
        "keyword1": task.title,
        "keyword2": local_text(task.deadline, tz),
        "remark": f"回复「任务」查看，「反馈 {task.number} 内容」或「完成 {task.number} 内容」答复",
    }
    if rows:
        session.execute(
            insert(OutboxMessage),
            [{"idempotency_key": task_push_key(task.id, cid), "openid": openid, "kind": "task",
              "payload": {"text": text, "template": template}, "status": "pending", "attempts": 0,
              "next_attempt_at": now, "created_at": now} for cid, openid in rows],
        )
    return len(new_ids)


def publish_due(session: Session, *, now: datetime, tz: ZoneInfo = DEFAULT_TZ) -> list[Task]:
    """Publish every card whose publish time has come (the publish_tasks job)."""
    due = session.scalars(
        select(Task).where(Task.published_at.is_(None), Task.cancelled_at.is_(None), Task.publish_at <= now)
        .order_by(Task.number)
    ).all()
    done = []
    for task in due:
        # A card whose deadline passed before its publish time is still published: the office sees it
        # on the board as overdue rather than silently never sent.
        if publish(session, task, now=now, tz=tz):
            done.append(task)
    return done


def mark_delivered(session: Session, key: str, *, now: datetime) -> None:
    """Called by delivery when WeChat took a card's push (same transaction as the outbox update)."""
    parsed = parse_task_push_key(key)
    if parsed is None:
        return
    task_id, cadre_id = parsed
    session.execute(
        update(TaskAssignment)
        .where(TaskAssignment.task_id == task_id, TaskAssignment.cadre_id == cadre_id,
               TaskAssignment.status == "pending")
        .values(status="delivered", delivered_at=now).execution_options(synchronize_session=False)
    )


# --------------------------------------------------------------------------------------------------
# The cadre's side (chat)
# --------------------------------------------------------------------------------------------------


def open_assignments(session: Session, cadre_id: int) -> list[TaskAssignment]:
    """My cards still waiting for an answer (and fed-back ones not yet done), by deadline."""
    return list(session.scalars(
        select(TaskAssignment).join(Task)
        .where(TaskAssignment.cadre_id == cadre_id, Task.published_at.is_not(None), Task.cancelled_at.is_(None),
               TaskAssignment.status.in_(OPEN_STATUSES + ("fed_back",)))
        .order_by(TaskAssignment.deadline, Task.number)
    ))


def acknowledge(session: Session, *, cadre_id: int, now: datetime, number: int | None = None) -> int:
    """签收: the cadre has seen their cards (``任务``, or a 反馈 on card ``number``). Returns rows changed."""
    cond = [TaskAssignment.cadre_id == cadre_id, TaskAssignment.status.in_(("pending", "delivered"))]
    task_ids = select(Task.id).where(Task.published_at.is_not(None), Task.cancelled_at.is_(None))
    if number is not None:
        task_ids = task_ids.where(Task.number == number)
    res = session.execute(
        update(TaskAssignment).where(*cond, TaskAssignment.task_id.in_(task_ids))
        .values(status="acknowledged", acknowledged_at=now,
                delivered_at=func.coalesce(TaskAssignment.delivered_at, now))
        .execution_options(synchronize_session=False)
    )
    return res.rowcount or 0


def get_assignment(session: Session, *, cadre_id: int, number: int) -> TaskAssignment:
    a = session.scalar(
        select(TaskAssignment).join(Task)
        .where(Task.number == number, TaskAssignment.cadre_id == cadre_id, Task.published_at.is_not(None))
    )
    if a is None:
        raise TaskError(f"您没有第{number}号督办卡。回复「任务」查看您的督办卡。")
    if a.task.cancelled_at is not None:
        raise TaskError(f"第{number}号督办卡已撤销。")
    return a


def feedback(
    session: Session, *, cadre_id: int, number: int, text: str, now: datetime, done: bool = False,
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
    session.add(Feedback(assignment_id=a.id, kind="done" if done else "feedback", text=text,
                         author=f"cadre:{cadre.phone}", created_at=now, inbound_id=inbound_id))
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
    session: Session, *, cadre_id: int, number: int, until: date, reason: str, now: datetime,
    tz: ZoneInfo = DEFAULT_TZ, office_openids: list[str] | None = None, inbound_id: int | None = None,
) -> TaskAssignment:
    """延期 N 日期 原因: ask the office for a later deadline (kept at the card's time of day)."""
    reason = (reason or "").strip()
    if not reason:
        raise TaskError("请写明延期原因，例如：延期 3 12月5日 农户外出未归")
    a = get_assignment(session, cadre_id=cadre_id, number=number)
    if a.status == "done":
        raise TaskError(f"第{number}号督办卡已完成，无需延期。")
    new_deadline = _deadline_on(until, a.deadline, tz)
    if new_deadline <= a.deadline:
        raise TaskError(f"延期日期须晚于当前截止时间 {local_text(a.deadline, tz)}")
    if a.extension_status == "requested":
        raise TaskError(f"第{number}号督办卡的延期申请正在等待办公室答复。")
    cadre = session.get(Cadre, cadre_id)
    assert cadre is not None
    a.extension_requested_until = new_deadline
    a.extension_reason = reason
    a.extension_status = "requested"
    session.add(Feedback(assignment_id=a.id, kind="extension_request",
                         text=f"{until.isoformat()} {reason}", author=f"cadre:{cadre.phone}", created_at=now,
                         inbound_id=inbound_id))
    session.flush()
    text = render("extension_requested", task=a.task, cadre=cadre, until=local_text(new_deadline, tz),
                  reason=reason)
    from storage.outbox import enqueue

    for openid in office_recipients(session, office_openids or []):
        enqueue(session, openid=openid, kind="notice", text=text,
                key=f"ext-req:{a.id}:{new_deadline.isoformat()}:{openid}")
    return a


def _deadline_on(day: date, current: datetime, tz: ZoneInfo) -> datetime:
    local = current.astimezone(tz)
    return datetime.combine(day, local.time(), tzinfo=tz).astimezone(current.tzinfo)


def office_recipients(session: Session, configured: list[str]) -> list[str]:
    """Openids of the office: [scheduler] office_openids plus accounts bound as office."""
    found = set(configured)
    found.update(session.scalars(
        select(WechatIdentity.openid).where(WechatIdentity.kind == "office", WechatIdentity.unreachable.is_(False))
    ))
    return sorted(found)


def cadre_openids(session: Session, cadre_id: int) -> list[str]:
    return list(session.scalars(
        select(WechatIdentity.openid).where(WechatIdentity.cadre_id == cadre_id, WechatIdentity.kind == "cadre",
                                            WechatIdentity.unreachable.is_(False)).order_by(WechatIdentity.id)
    ))


# --------------------------------------------------------------------------------------------------
# The office's side
# --------------------------------------------------------------------------------------------------


def find_task(session: Session, number: int) -> Task:
    task = session.scalar(select(Task).where(Task.number == number))
    if task is None:
        raise TaskError(f"没有第{number}号督办卡")
    return task


def office_assignment(session: Session, *, number: int, phone: str) -> TaskAssignment:
    task = find_task(session, number)
    try:
        p = normalize_phone(phone)
    except ValueError as e:
        raise TaskError(f"电话「{phone}」格式不对") from e
    a = session.scalar(select(TaskAssignment).join(Cadre).where(TaskAssignment.task_id == task.id,
                                                               Cadre.phone == p))
    if a is None:
        raise TaskError(f"第{number}号督办卡没有派给电话为 {p} 的干部")
    return a


def _notify_cadre(session: Session, a: TaskAssignment, text: str, key: str) -> None:
    from storage.outbox import enqueue

    for openid in cadre_openids(session, a.cadre_id):
        enqueue(session, openid=openid, kind="task", text=text, key=f"{key}:{openid}")


def return_feedback(
    session: Session, *, number: int, phone: str, reason: str, actor: str, now: datetime,
) -> TaskAssignment:
    """退回: the office sends the cadre's feedback back for rework, with a reason."""
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
    record(session, actor=actor, action="task.return", target=f"task:{number}:cadre:{a.cadre.phone}",
           detail={"reason": reason})
    session.flush()
    _notify_cadre(session, a, render("task_returned", task=a.task, reason=reason),
                  f"task-return:{a.id}:{a.returned_count}")
    return a


def answer_extension(
    session: Session, *, number: int, phone: str, grant: bool, actor: str, now: datetime,
    until: date | None = None, reason: str = "", tz: ZoneInfo = DEFAULT_TZ,
) -> TaskAssignment:
    """Grant (optionally to another date) or refuse a cadre's extension request."""
    a = office_assignment(session, number=number, phone=phone)
    if a.extension_status != "requested" and not (grant and until is not None):
        raise TaskError(f"{a.cadre.name} 没有待答复的第{number}号督办卡延期申请")
    if grant:
        new = _deadline_on(until, a.deadline, tz) if until else a.extension_requested_until
        assert new is not None
        if new <= now:
            raise TaskError("延期后的截止时间已过，请给一个将来的日期")
        a.deadline = new
        a.extension_status = "granted"
        text = render("extension_granted", task=a.task, deadline=local_text(new, tz))
    else:
        a.extension_status = "refused"
        text = render("extension_refused", task=a.task, deadline=local_text(a.deadline, tz), reason=reason)
    session.add(Feedback(assignment_id=a.id, kind="extension_grant" if grant else "extension_refuse",
                         text=(local_text(a.deadline, tz) if grant else reason), author=actor, created_at=now))
    record(session, actor=actor, action="task.extension_grant" if grant else "task.extension_refuse",
           target=f"task:{number}:cadre:{a.cadre.phone}",
           detail={"deadline": a.deadline.isoformat(), "reason": reason or None})
    session.flush()
    n = session.scalar(select(func.count(Feedback.id)).where(Feedback.assignment_id == a.id))
    _notify_cadre(session, a, text, f"task-ext:{a.id}:{n}")
    return a


def cancel_task(session: Session, *, number: int, actor: str, now: datetime) -> Task:
    task = find_task(session, number)
    if task.cancelled_at is not None:
        raise TaskError(f"第{number}号督办卡已撤销")
    task.cancelled_at = now
    # Its pushes still waiting in the outbox are withdrawn: a cadre must not be told of a card that is gone.
    # (A row carrying other merged messages is left alone; those messages must still go out.)
    ids = [mid for mid, key, payload in session.execute(
               select(OutboxMessage.id, OutboxMessage.idempotency_key, OutboxMessage.payload).where(
                   OutboxMessage.status == "pending", OutboxMessage.idempotency_key.like(f"task:{task.id}:cadre:%")))
           if (parse_task_push_key(key) or (0, 0))[0] == task.id and not (payload or {}).get("merged_keys")]
    withdrawn = 0
    if ids:  # conditional on still pending: a dispatcher may have claimed one meanwhile
        withdrawn = session.execute(
            delete(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
            .execution_options(synchronize_session=False)).rowcount
    record(session, actor=actor, action="task.cancel", target=f"task:{number}", detail={"pushes_withdrawn": withdrawn})
    return task


# --------------------------------------------------------------------------------------------------
# Lights, board, overdue
# --------------------------------------------------------------------------------------------------


def light(a: TaskAssignment, now: datetime, yellow_hours: int = 24) -> str:
    """green: answered on time, or the deadline is more than ``yellow_hours`` away; yellow: within; red: overdue;
    late: answered, but the first feedback came after the deadline (the report counts it overdue, docs/assessment.md)."""
    if a.status in ANSWERED_STATUSES:
        return "late" if a.first_feedback_at is not None and a.first_feedback_at > a.deadline else "green"
    if a.deadline <= now:
        return "red"
    if a.deadline - now <= timedelta(hours=yellow_hours):
        return "yellow"
    return "green"


@dataclass
class BoardRow:
    assignment_id: int
    cadre_id: int
    cadre_name: str
    phone: str
    village: str
    status: str
    status_label: str
    light: str
    deadline: datetime
    first_feedback_at: datetime | None
    last_feedback: str | None
    extension_status: str | None
    extension_until: datetime | None


@dataclass
class TaskBoard:
    task: Task
    rows: list[BoardRow]
    counts: dict[str, int] = field(default_factory=dict)  # by status
    lights: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.rows)


def board(session: Session, *, number: int, now: datetime, yellow_hours: int = 24,
          village_id: int | None = None) -> TaskBoard:
    """One card's progress board for the console (optionally one village's cadres)."""
    task = find_task(session, number)
    q = (select(TaskAssignment, Cadre, Village.name)
         .join(Cadre, TaskAssignment.cadre_id == Cadre.id)
         .outerjoin(Village, Cadre.village_id == Village.id)
         .where(TaskAssignment.task_id == task.id)
         .order_by(Village.name, Cadre.name))
    if village_id is not None:
        q = q.where(Cadre.village_id == village_id)
    results = session.execute(q).all()
    ids = [a.id for a, _, _ in results]
    last: dict[int, str] = {}
    if ids:
        sub = (select(Feedback.assignment_id, func.max(Feedback.id).label("fid"))
               .where(Feedback.assignment_id.in_(ids), Feedback.kind.in_(("feedback", "done")))
               .group_by(Feedback.assignment_id).subquery())
        for aid, text in session.execute(select(Feedback.assignment_id, Feedback.text)
                                         .join(sub, Feedback.id == sub.c.fid)):
            last[aid] = text
    rows = [
        BoardRow(a.id, c.id, c.name, c.phone, vname or "", a.status, STATUS_LABELS[a.status],
                 light(a, now, yellow_hours), a.deadline, a.first_feedback_at, last.get(a.id),
                 a.extension_status, a.extension_requested_until)
        for a, c, vname in results
    ]
    return TaskBoard(task, rows, dict(Counter(r.status for r in rows)), dict(Counter(r.light for r in rows)))


def list_tasks(session: Session, *, now: datetime, yellow_hours: int = 24,
               include_cancelled: bool = False) -> list[dict[str, Any]]:
    """Every card with its counts: the console's and the CLI's list."""
    q = select(Task).order_by(Task.number.desc())
    if not include_cancelled:
        q = q.where(Task.cancelled_at.is_(None))
    tasks = session.scalars(q).all()
    counts: dict[int, Counter[str]] = {t.id: Counter() for t in tasks}
    for tid, status, deadline, n in session.execute(
        select(TaskAssignment.task_id, TaskAssignment.status, TaskAssignment.deadline, func.count())
        .group_by(TaskAssignment.task_id, TaskAssignment.status, TaskAssignment.deadline)
    ):
        if tid in counts:
            counts[tid][status] += n
            if status not in ANSWERED_STATUSES and deadline <= now:
                counts[tid]["overdue"] += n
    out = []
    for t in tasks:
        c = counts[t.id]
        out.append({
            "number": t.number, "title": t.title, "deadline": t.deadline, "publish_at": t.publish_at,
            "published_at": t.published_at, "cancelled_at": t.cancelled_at,
            "assigned": sum(v for k, v in c.items() if k != "overdue"),
            "answered": c["fed_back"] + c["done"], "done": c["done"], "overdue": c["overdue"],
            "light": ("red" if c["overdue"] else
                      "yellow" if t.deadline - now <= timedelta(hours=yellow_hours) and
                      sum(c[s] for s in OPEN_STATUSES) else "green"),
        })
    return out


@dataclass
class OverdueRow:
    task_number: int
    task_title: str
    cadre_id: int
    cadre_name: str
    phone: str
    village: str
    deadline: datetime
    status: str


def overdue(session: Session, *, now: datetime, village_id: int | None = None) -> list[OverdueRow]:
    """Assignments past their deadline with no feedback (or whose feedback was sent back)."""
    q = (select(Task.number, Task.title, Cadre.id, Cadre.name, Cadre.phone, Village.name,
                TaskAssignment.deadline, TaskAssignment.status)
         .select_from(TaskAssignment)
         .join(Task, TaskAssignment.task_id == Task.id)
         .join(Cadre, TaskAssignment.cadre_id == Cadre.id)
         .outerjoin(Village, Cadre.village_id == Village.id)
         .where(Task.published_at.is_not(None), Task.cancelled_at.is_(None),
                TaskAssignment.status.in_(OPEN_STATUSES), TaskAssignment.deadline <= now)
         .order_by(Task.number, Village.name, Cadre.name))
    if village_id is not None:
        q = q.where(Cadre.village_id == village_id)
    return [OverdueRow(n, t, cid, name, phone, v or "", d, s) for n, t, cid, name, phone, v, d, s in session.execute(q)]


def due_soon(session: Session, *, now: datetime, hours: int) -> list[TaskAssignment]:
    """Open assignments whose deadline falls within ``hours`` after now (deadline reminders)."""
    return list(session.scalars(
        select(TaskAssignment).join(Task)
        .where(Task.published_at.is_not(None), Task.cancelled_at.is_(None),
               TaskAssignment.status.in_(OPEN_STATUSES),
               and_(TaskAssignment.deadline > now, TaskAssignment.deadline <= now + timedelta(hours=hours)))
    ))


def timeline(session: Session, assignment_id: int) -> list[Feedback]:
    return list(session.scalars(select(Feedback).where(Feedback.assignment_id == assignment_id)
                                .order_by(Feedback.id)))


__all__ = [
    "TaskError", "create_task", "publish", "publish_due", "acknowledge", "feedback", "request_extension",
    "return_feedback", "answer_extension", "cancel_task", "light", "board", "list_tasks", "overdue",
    "due_soon", "open_assignments", "households_by_cards", "resolve_targets", "office_recipients",
    "mark_delivered", "timeline",
]
