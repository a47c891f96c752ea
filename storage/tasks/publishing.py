"""Creating and publishing a card: its targets, its number, one assignment per cadre and one push per bound
cadre, in bulk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from storage import numbering
from storage.accounts import normalize_phone
from storage.audit import record
from storage.cards import by_number
from storage.config import DEFAULT_TZ
from storage.models import (
    Cadre,
    Household,
    OutboxMessage,
    Task,
    TaskAssignment,
    TaskHousehold,
    Township,
    Village,
    WechatIdentity,
)
from storage.tasks.base import TaskError, parse_task_push_key, task_push_key

PushWords = Callable[[Task], dict[str, Any]]
"""The payload of a card's push (``text`` and the WeChat ``template`` fields), written by the caller."""


def resolve_targets(session: Session, targets: list[str], township_id: int | None = None) -> list[int]:
    """Active cadre ids named by targets: ``all``, ``township:NAME``, ``village:NAME``, ``cadre:PHONE``; unknown →
    TaskError. ``township_id``: a township's card reaches that township's cadres only (None: the county's card)."""
    if not targets:
        raise TaskError("请指定发送对象：all、township:乡镇、village:村名 或 cadre:电话")
    ids: set[int] = set()
    unknown: list[str] = []
    active = [Cadre.active.is_(True)] + (
        [Cadre.township_id == township_id] if township_id is not None else []
    )
    for raw in targets:
        t = raw.strip()
        kind, _, value = t.partition(":")
        kind, value = kind.strip().lower(), value.strip()
        if t in ("all", "全部"):
            ids.update(session.scalars(select(Cadre.id).where(*active)))
        elif kind in ("township", "乡镇", "镇") and value:
            tid = session.scalar(select(Township.id).where(Township.name == value))
            if tid is None or (township_id is not None and tid != township_id):
                unknown.append(
                    f"乡镇「{value}」不存在" if tid is None else f"乡镇「{value}」不归本乡镇办公室管"
                )
                continue
            ids.update(session.scalars(select(Cadre.id).where(Cadre.township_id == tid, *active)))
        elif kind in ("village", "村") and value:
            q = (
                select(Village.id, Township.name)
                .join(Township, Township.id == Village.township_id)
                .where(Village.name == value)
            )
            if township_id is not None:
                q = q.where(Village.township_id == township_id)
            found = session.execute(q).all()
            if not found:
                unknown.append(f"村「{value}」不存在")
                continue
            if len(found) > 1:
                unknown.append(
                    f"村「{value}」在多个乡镇都有（{'、'.join(n for _, n in found)}），请用 --township 指明"
                )
                continue
            vid = found[0][0]
            ids.update(session.scalars(select(Cadre.id).where(Cadre.village_id == vid, *active)))
        elif kind in ("cadre", "干部") and value:
            try:
                phone = normalize_phone(value)
            except ValueError:
                unknown.append(f"电话「{value}」格式不对")
                continue
            cid = session.scalar(select(Cadre.id).where(Cadre.phone == phone, *active))
            if cid is None:
                unknown.append(f"没有电话为 {phone} 的在职干部")
                continue
            ids.add(cid)
        else:
            unknown.append(f"无法识别的对象「{t}」（应为 all、township:乡镇、village:村名 或 cadre:电话）")
    if unknown:
        raise TaskError("；".join(unknown))
    if not ids:
        raise TaskError("所选对象中没有在职干部")
    return sorted(ids)


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
    words: PushWords,
    tz: ZoneInfo = DEFAULT_TZ,
    township_id: int | None = None,
) -> Task:
    """A new card with the next number; published at once unless ``publish_at`` is later than ``now``.
    ``township_id``: the issuing township's office (its card reaches its cadres only); None: the county's card."""
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
    resolve_targets(
        session, targets, township_id
    )  # validate now; publish resolves again (cadres may change meanwhile)
    household_ids = sorted(set(households or []))
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
    record(
        session,
        actor=actor,
        action="task.create",
        target=f"task:{task.number}",
        detail={
            "title": title,
            "targets": targets,
            "township_id": township_id,
            "deadline": deadline.isoformat(),
            "publish_at": publish_at.isoformat() if publish_at else None,
            "households": household_ids,
        },
    )
    if publish_at is None or publish_at <= now:
        publish(session, task, now=now, words=words)
    return task


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
        raise TaskError(f"服务卡号不存在：{'、'.join(missing)}")
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
    if not res.rowcount:
        return 0
    task.published_at = now
    cadre_ids = resolve_targets(session, list(task.targets or ["all"]), task.township_id)
    already = set(session.scalars(select(TaskAssignment.cadre_id).where(TaskAssignment.task_id == task.id)))
    new_ids = [c for c in cadre_ids if c not in already]
    if new_ids:
        session.execute(
            insert(TaskAssignment),
            [
                {"task_id": task.id, "cadre_id": c, "status": "pending", "deadline": task.deadline}
                for c in new_ids
            ],
        )
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


def mark_delivered(session: Session, key: str, *, now: datetime) -> None:
    """Called by delivery when WeChat took a card's push (same transaction as the outbox update)."""
    parsed = parse_task_push_key(key)
    if parsed is None:
        return
    task_id, cadre_id = parsed
    session.execute(
        update(TaskAssignment)
        .where(
            TaskAssignment.task_id == task_id,
            TaskAssignment.cadre_id == cadre_id,
            TaskAssignment.status == "pending",
        )
        .values(status="delivered", delivered_at=now)
        .execution_options(synchronize_session=False)
    )


def mark_undelivered(session: Session, key: str) -> None:
    """WeChat reported afterwards that a card's push did not reach the cadre (TEMPLATESENDJOBFINISH failed):
    the card's board shows it as not delivered again (only an assignment still merely 'delivered')."""
    parsed = parse_task_push_key(key)
    if parsed is None:
        return
    task_id, cadre_id = parsed
    session.execute(
        update(TaskAssignment)
        .where(
            TaskAssignment.task_id == task_id,
            TaskAssignment.cadre_id == cadre_id,
            TaskAssignment.status == "delivered",
        )
        .values(status="pending", delivered_at=None)
        .execution_options(synchronize_session=False)
    )
