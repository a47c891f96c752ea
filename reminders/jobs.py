"""The scheduled jobs. Each is ``run(lx, now) -> JobResult``: it opens its own sessions and can run any
number of times — every reminder is sent at most once per (kind, person, period) because a
``ReminderSent`` row with that unique key is inserted in the same transaction as its outbox row.

Names (fixed in PRODUCT.md): publish_tasks, deadline_reminders, diary_reminders, month_end_reminders,
monthly_circular, villager_sla, dispatch_outbox; and duty_reminders (issue 15 item 8, reminders/duty_reminders.py),
housekeeping (issue 21 item 13: uploads that outlived their use).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reminders import delivery, media
from reminders.duty_reminders import duty_reminders
from reminders.reminding import (
    JobResult,
    Reminder,
    already,
    bound_cadres,
    end_of_day,
    notify_office,
    on_leave,
    remind_many,
    remind_once,
)
from reminders.render import render
from reminders.station_chase import chase_departments
from storage import offices, uploads
from storage import tasks as task_svc
from storage.models import (
    Cadre,
    DiaryEntry,
    Household,
    MonthlySummary,
    ReminderSent,
    Task,
    TaskAssignment,
    Township,
    Village,
    VillagerRequest,
)
from storage.outbox import push_time, request_values
from storage.periods import last_day_of_month, local_text, month_key, previous_month
from storage.stored_reports import is_stored, store_report
from storage.workdays import is_workday, working_hours_between

log = logging.getLogger("lianxin.jobs")


def _local_day(lx: Any, now: datetime) -> date:
    return now.astimezone(lx.config.tz).date()


# --------------------------------------------------------------------------------------------------
# Jobs
# --------------------------------------------------------------------------------------------------


def publish_tasks(lx: Any, now: datetime) -> JobResult:
    with lx.session() as s:
        words = lx.wording().task_published(lx.config.tz, lx.config.general.township)
        done = task_svc.publish_due(s, now=now, words=words)
    return JobResult("publish_tasks", sent=len(done), detail={"cards": [t.number for t in done]})


def deadline_reminders(lx: Any, now: datetime) -> JobResult:
    """Before the deadline (within [scheduler] deadline_warning_hours), once overdue, and the office list."""
    res = JobResult("deadline_reminders")
    with lx.session() as s:
        todo = _deadline_reminders_due(lx, s, res, now)
        sent, skipped = remind_many(s, todo, now=now)
        res.sent += sent
        res.skipped += skipped
        rows = task_svc.overdue(s, now=now)
        res.detail["overdue"] = len(rows)
        _overdue_lists(lx, s, res, rows, now)
    return res


def _deadline_reminders_due(lx: Any, s: Session, res: JobResult, now: datetime) -> list[Reminder]:
    """A reminder per open assignment of a bound cadre not on leave: ``deadline_soon`` within the warning hours,
    ``deadline_overdue`` once past; each once per deadline (an extension re-arms it), those already sent skipped."""
    tz = lx.config.tz
    away = on_leave(s, _local_day(lx, now))
    openids = bound_cadres(s)
    soon = task_svc.due_soon(s, now=now, hours=lx.config.scheduler.deadline_warning_hours)
    late = list(
        s.scalars(
            select(TaskAssignment)
            .join(Task)
            .where(
                Task.published_at.is_not(None),
                Task.cancelled_at.is_(None),
                TaskAssignment.status.in_(task_svc.OPEN_STATUSES),
                TaskAssignment.deadline <= now,
            )
        )
    )
    # Reminders already sent, read once (old unanswered cards would otherwise cost a failed insert each run).
    sent_before = set(
        s.execute(
            select(ReminderSent.kind, ReminderSent.person, ReminderSent.period).where(
                ReminderSent.kind.in_(("deadline_soon", "deadline_overdue"))
            )
        ).tuples()
    )
    todo: list[Reminder] = []
    for kind, items in (("deadline_soon", soon), ("deadline_overdue", late)):
        for a in items:
            if a.cadre_id in away or a.cadre_id not in openids:
                continue
            # The deadline is part of the period: an extension granted re-arms the reminder.
            period = f"task:{a.task_id}:{a.deadline.isoformat()}"
            if (kind, f"cadre:{a.cadre_id}", period) in sent_before:
                res.skipped += 1
                continue
            todo.append(
                Reminder(
                    kind,
                    f"cadre:{a.cadre_id}",
                    period,
                    openids[a.cadre_id],
                    render(kind, task=a.task, deadline=local_text(a.deadline, tz)),
                    "task",
                    {
                        "number": str(a.task.number),
                        "title": a.task.title,
                        "deadline": push_time(a.deadline, tz),
                        "office": lx.config.general.township,
                    },
                    # "due soon" is stale once the deadline passes (the overdue reminder takes over); the
                    # overdue reminder is about an open card and keeps its place like the card itself
                    expires_at=a.deadline if kind == "deadline_soon" else None,
                )
            )
    return todo


def _overdue_lists(lx: Any, s: Session, res: JobResult, rows: list[Any], now: datetime) -> None:
    """The day's list of overdue cards: the county's office (or a lone township's) gets the whole list, each
    township's office its own part; the next day's list replaces this one."""
    tz = lx.config.tz
    today = _local_day(lx, now)
    for township_id, openids_ in [(None, offices.recipients(s, lx.config))] + offices.township_offices(
        s, lx.config
    ):
        mine = rows if township_id is None else task_svc.overdue(s, now=now, township_id=township_id)
        if mine:
            listed = [{**r.__dict__, "deadline_text": local_text(r.deadline, tz)} for r in mine]
            text = render("overdue_list", rows=listed, limit=30, now=local_text(now, tz))
            notify_office(
                s,
                res,
                "overdue_list",
                today.isoformat(),
                text,
                openids_,
                now=now,
                expires_at=end_of_day(today, tz),
            )


def diary_reminders(lx: Any, now: datetime) -> JobResult:
    """On a working day: cadres (bound, active, not on leave) with no diary entry on today's date."""
    res = JobResult("diary_reminders")
    day = _local_day(lx, now)
    if not is_workday(day, lx.config):
        res.detail["workday"] = False
        return res
    with lx.session() as s:
        wrote = set(
            s.scalars(
                select(DiaryEntry.cadre_id).where(DiaryEntry.day == day, DiaryEntry.deleted_at.is_(None))
            )
        )
        _remind_cadres_who_owe(
            s,
            res,
            "diary",
            day,
            paid=wrote,
            now=now,
            values={"what": "今天的民情日记", "due": f"{day.year}年{day.month}月{day.day}日 23:59"},
            text=lambda cadre: render("diary_reminder", cadre=cadre, day=day),
            expires_at=end_of_day(day, lx.config.tz),  # "today's diary" means nothing tomorrow
        )
    return res


def _remind_cadres_who_owe(
    s: Session,
    res: JobResult,
    kind: str,
    day: date,
    *,
    paid: set[int],
    now: datetime,
    text: Callable[[Cadre], str],
    values: dict[str, str] | None = None,
    expires_at: datetime | None = None,
) -> None:
    """Remind every bound cadre not on leave on ``day`` and not in ``paid`` (those who did what is owed),
    once per (kind, cadre, day): the ones already reminded are counted as skipped."""
    openids = bound_cadres(s)
    away = on_leave(s, day)
    done_before = already(s, kind, day.isoformat())
    cadres = {c.id: c for c in s.scalars(select(Cadre).where(Cadre.id.in_(list(openids))))}
    todo = []
    for cid, openid in sorted(openids.items()):
        if cid in away or cid in paid:
            continue
        if f"cadre:{cid}" in done_before:
            res.skipped += 1
            continue
        todo.append(
            Reminder(
                kind,
                f"cadre:{cid}",
                day.isoformat(),
                openid,
                text(cadres[cid]),
                values=values,
                expires_at=expires_at,
            )
        )
    sent, skipped = remind_many(s, todo, now=now)
    res.sent += sent
    res.skipped += skipped


def month_end_reminders(lx: Any, now: datetime) -> JobResult:
    """In the last [scheduler] month_end_days days of the month: cadres with no summary for it (once a day)."""
    res = JobResult("month_end_reminders")
    day = _local_day(lx, now)
    last = last_day_of_month(day.year, day.month)
    days_left = (last - day).days + 1
    if days_left > lx.config.scheduler.month_end_days:
        res.detail["in_window"] = False
        return res
    month = month_key(day)
    with lx.session() as s:
        submitted = set(s.scalars(select(MonthlySummary.cadre_id).where(MonthlySummary.month == month)))
        _remind_cadres_who_owe(
            s,
            res,
            "month_end",
            day,
            paid=submitted,
            now=now,
            values={
                "what": f"{day.month}月的月小结",
                "due": f"{last.year}年{last.month}月{last.day}日 23:59",
            },
            text=lambda cadre: render(
                "month_end_reminder", cadre=cadre, month_label=f"{day.month}月", days_left=days_left
            ),
            # "N days left" is stale the next day (that day's reminder says it again); none after the month
            expires_at=end_of_day(day, lx.config.tz),
        )
    return res


def monthly_circular(lx: Any, now: datetime) -> JobResult:
    """The previous month's report of each township, built and stored once as its draft (catching up if the 1st
    was missed), and a notice to the office of that township (and the county's) to check and publish it."""
    res = JobResult("monthly_circular")
    day = _local_day(lx, now)
    period = month_key(previous_month(day))
    res.detail["period"] = period
    if lx.render_report is None:
        raise RuntimeError("no report renderer wired: build the Lianxin with bot.app.build")
    with lx.session() as s:
        every: list[tuple[int, str] | None] = list(
            s.execute(select(Township.id, Township.name).order_by(Township.id)).tuples()
        )
        county = len(every) > 1
        stored: dict[str, Any] = {}
        for township in every or [None]:
            tid, name = township if township else (None, "")
            top: list[str] = []
            if not is_stored(s, "month", period, tid):
                report = store_report(
                    s, lx.config, "month", period, now, render=lx.render_report, township=township
                )
                stored[name] = True
                ranked = sorted((r for r in report.cadres if r.rank), key=lambda r: r.rank or 0)
                top = [r.name for r in ranked[:3]]
            else:
                stored[name] = "already"
            text = render("monthly_circular", period=period, top=top, township=name if county else "")
            # one notice per township and office account: the key's period names the township in a county
            notify_office(
                s,
                res,
                "monthly_circular",
                f"{period}:{tid}" if county else period,
                text,
                offices.recipients(s, lx.config, tid),
                now=now,
            )
        res.detail["stored"] = stored if county else next(iter(stored.values()))
    return res


def villager_sla(lx: Any, now: datetime) -> JobResult:
    """Requests still without a first answer: remind the cadre after [sla] remind_after_working_hours,
    escalate to the office after escalate_after_working_hours (both counted in working hours). A request passed to
    a department is the department's: chased by its time limit (reminders/station_chase.py)."""
    res = JobResult("villager_sla")
    cfg = lx.config
    remind_after = cfg.sla.remind_after_working_hours
    escalate_after = cfg.sla.escalate_after_working_hours
    with lx.session() as s:
        openids = bound_cadres(s)
        away = on_leave(s, _local_day(lx, now))
        told: dict[int, list[str]] = {}  # township → its office's and the county's openids, read once
        rows = s.execute(
            select(VillagerRequest, Household.head_name, Village.name, Cadre)
            .join(Household, Household.id == VillagerRequest.household_id)
            .join(Village, Village.id == Household.village_id)
            .join(Cadre, Cadre.id == VillagerRequest.cadre_id)
            .where(
                VillagerRequest.status == "open",
                VillagerRequest.first_answer_at.is_(None),
                VillagerRequest.created_at >= now - timedelta(days=60),
            )
            .order_by(VillagerRequest.id)
        ).all()
        for req, head_name, village, cadre in rows:
            hours = working_hours_between(req.created_at, now, cfg)
            period = f"request:{req.number}"
            if hours >= remind_after and cadre.id in openids and cadre.id not in away:
                text = render("sla_remind", request=req, household_name=head_name, hours=int(hours))
                values = request_values(req, cfg.tz) | {"household": head_name, "category": "待答复"}
                res.tally(
                    remind_once(
                        s,
                        kind="sla_remind",
                        person=f"cadre:{cadre.id}",
                        period=period,
                        openid=openids[cadre.id],
                        text=text,
                        now=now,
                        outbox_kind="request",
                        template=values,
                    )
                )
            if hours >= escalate_after:
                text = render(
                    "sla_escalate",
                    request=req,
                    household_name=head_name,
                    village=village,
                    cadre=cadre,
                    hours=int(hours),
                )
                # the cadre's township's office and the county's
                if cadre.township_id not in told:
                    told[cadre.township_id] = offices.recipients(s, cfg, cadre.township_id)
                notify_office(s, res, "sla_escalate", period, text, told[cadre.township_id], now=now)
        chase_departments(lx, s, res, now)  # a request passed on (转办): its department, by its time limit
    return res


def dispatch_outbox(lx: Any, now: datetime) -> JobResult:
    """Deliver the outbox (``now`` only moves the clock for back-off), then fetch pending media."""
    r = delivery.dispatch_outbox(lx, now)
    fetched = media.download_media(lx, now)
    return JobResult(
        "dispatch_outbox",
        sent=r.sent,
        detail={
            "custom": r.sent_custom,
            "template": r.sent_template,
            "merged": r.merged,
            "retried": r.retried,
            "failed": r.failed,
            "expired": r.expired,
            "paused": r.paused,
            "busy": r.busy,
            "media": fetched,
            **({"not_configured": True} if r.not_configured else {}),
        },
    )


def housekeeping(lx: Any, now: datetime) -> JobResult:
    """Delete uploaded link lists never confirmed within [console] import_upload_hours (storage/uploads.py)."""
    hours = lx.config.console.import_upload_hours
    removed = uploads.sweep_imports(lx.config.general.media_dir, now=now, older_than=timedelta(hours=hours))
    return JobResult("housekeeping", detail={"uploads_removed": removed})


JOBS: dict[str, Callable[[Any, datetime], JobResult]] = {
    "publish_tasks": publish_tasks,
    "deadline_reminders": deadline_reminders,
    "diary_reminders": diary_reminders,
    "month_end_reminders": month_end_reminders,
    "monthly_circular": monthly_circular,
    "villager_sla": villager_sla,
    "dispatch_outbox": dispatch_outbox,
    "duty_reminders": duty_reminders,  # reminders/duty_reminders.py: before the [programme] deadlines
    "housekeeping": housekeeping,
}


def run(lx: Any, name: str, now: datetime | None = None) -> JobResult:
    """Run job ``name`` as if the clock read ``now``."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(JOBS)}")
    return JOBS[name](lx, now or lx.now())


__all__ = ["JOBS", "JobResult", "run", "remind_once"]
