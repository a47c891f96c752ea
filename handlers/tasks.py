"""Supervision cards in the chat: `任务` (my open cards; counts as 签收), `任务 N` (card N in full), `反馈 N TEXT`, `完成 N TEXT`,
`延期 N 日期 原因`. A cadre only ever sees and answers their own assignments; another cadre's card number
is answered exactly like a number that does not exist."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from handlers import keywords, task_notices
from handlers.base import Context, Message, Route, Router
from handlers.common import cadre_of, command, is_cadre
from handlers.paging import paginate
from storage import tasks as svc
from storage.tasks import STATUS_LABELS, TaskError


def _local(ctx: Context, moment: datetime) -> str:
    m = moment.astimezone(ctx.config.tz)
    return f"{m.month}月{m.day}日 {m:%H:%M}"


def my_tasks(ctx: Context, msg: Message, rest: str = "") -> str:
    cadre = cadre_of(ctx)
    now = msg.create_time
    number, _ = keywords.leading_number(rest)
    if number is not None:  # `任务 N`: one of my cards in full (keywords.parse lets only a number through)
        return card(ctx, msg, number)
    svc.acknowledge(ctx.session, cadre_id=cadre.id, now=now)
    items = svc.open_assignments(ctx.session, cadre.id)
    yellow = ctx.config.scheduler.yellow_hours
    rows = [
        {
            "number": a.task.number,
            "title": a.task.title,
            "body": a.task.body,
            "deadline": _local(ctx, a.deadline),
            "status": STATUS_LABELS[a.status],
            "light": svc.LIGHT_LABELS[svc.light(a, now, yellow)],
            "returned": a.status == "returned",
            "extension": a.extension_status,
        }
        for a in items
    ]
    return paginate(ctx, ctx.render("task_list", rows=rows, cadre=cadre))


def card(ctx: Context, msg: Message, number: int) -> str:
    """`任务 N`: card N as this cadre has it (seeing it counts as 签收); another cadre's card is unknown."""
    cadre = cadre_of(ctx)
    try:
        a = svc.get_assignment(ctx.session, cadre_id=cadre.id, number=number)
    except TaskError as e:
        return ctx.render("task_error", message=str(e))
    if svc.acknowledge(ctx.session, cadre_id=cadre.id, now=msg.create_time, number=number):
        ctx.session.refresh(a)
    yellow = ctx.config.scheduler.yellow_hours
    return ctx.render(
        "task_detail",
        task=a.task,
        a=a,
        deadline=_local(ctx, a.deadline),
        status=STATUS_LABELS[a.status],
        light=svc.LIGHT_LABELS[svc.light(a, msg.create_time, yellow)],
        first_feedback=_local(ctx, a.first_feedback_at) if a.first_feedback_at else None,
        extension_until=_local(ctx, a.extension_requested_until) if a.extension_requested_until else None,
    )


def _answer(ctx: Context, msg: Message, rest: str, *, done: bool) -> str:
    number, text = keywords.leading_number(rest)
    word = "完成" if done else "反馈"
    if number is None:
        return ctx.render("task_usage", word=word)
    cadre = cadre_of(ctx)
    try:
        a = svc.feedback(
            ctx.session,
            cadre_id=cadre.id,
            number=number,
            text=text,
            now=msg.create_time,
            done=done,
            inbound_id=ctx.inbound_id,
        )
    except TaskError as e:
        return ctx.render("task_error", message=str(e))
    on_time = msg.create_time <= a.deadline
    return ctx.render(
        "task_feedback_saved", task=a.task, done=done, on_time=on_time, deadline=_local(ctx, a.deadline)
    )


def feedback(ctx: Context, msg: Message, rest: str) -> str:
    return _answer(ctx, msg, rest, done=False)


def done(ctx: Context, msg: Message, rest: str) -> str:
    return _answer(ctx, msg, rest, done=True)


_DATE_PATTERNS = [
    re.compile(r"^(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})[日号]?"),
    re.compile(r"^(?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})[日号]?"),
]


def parse_day(text: str, today: date) -> tuple[date | None, str]:
    """'12月5日 原因' / '2026-12-05 原因' / '12.5 原因' → (date, rest); a date without a year is the next one."""
    s = unicodedata.normalize("NFKC", text).strip()
    for pat in _DATE_PATTERNS:
        m = pat.match(s)
        if not m:
            continue
        try:
            if m.groupdict().get("y"):
                day = date(int(m["y"]), int(m["m"]), int(m["d"]))
            else:
                day = date(today.year, int(m["m"]), int(m["d"]))
                if day < today:
                    day = date(today.year + 1, day.month, day.day)
        except ValueError:
            return None, s
        return day, s[m.end() :].lstrip(" :,，、").strip()
    return None, s


def extend(ctx: Context, msg: Message, rest: str) -> str:
    number, rest2 = keywords.leading_number(rest)
    if number is None:
        return ctx.render("task_extend_usage")
    today = ctx.message_day(msg)
    day, reason = parse_day(rest2, today)
    if day is None or not reason:
        return ctx.render("task_extend_usage")
    cadre = cadre_of(ctx)
    try:
        a = task_notices.request_extension(
            ctx.session,
            cadre_id=cadre.id,
            number=number,
            until=day,
            reason=reason,
            now=msg.create_time,
            tz=ctx.config.tz,
            config=ctx.config,
            inbound_id=ctx.inbound_id,
        )
    except TaskError as e:
        return ctx.render("task_error", message=str(e))
    assert a.extension_requested_until is not None
    return ctx.render("task_extend_sent", task=a.task, until=_local(ctx, a.extension_requested_until))


router = Router(
    "tasks",
    is_cadre,
    (
        Route("tasks.list", command("任务"), my_tasks),
        Route("tasks.feedback", command("反馈"), feedback),
        Route("tasks.done", command("完成"), done),
        Route("tasks.extend", command("延期"), extend),
    ),
)
