"""Chasing a request a department has (转办, storage/station/): villager_sla leaves the cadre alone once a request
is passed on (it is ``transferred``, and the transfer was the cadre's first answer) and chases the department by
its time limit instead — its staff's WeChat accounts a working day before the limit and again once it has passed,
and the office (the township's and the county's) once it has passed. Each at most once (ReminderSent)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from reminders.reminding import JobResult, notify_office, remind_once
from reminders.render import render
from storage import offices, station
from storage.periods import local_text

SOON_HOURS = 24  # the card board's yellow: due within a day


def chase_departments(lx: Any, s: Session, res: JobResult, now: datetime) -> None:
    """Every request a department has and has not answered: remind its staff when due soon or overdue, tell the
    office when overdue."""
    cfg = lx.config
    told: dict[int, list[str]] = {}
    for row in station.office_board(s, now=now, yellow_hours=SOON_HOURS):
        t = row.transfer
        if t.status != "open" or t.answered_at is not None:
            continue
        overdue = t.due <= now
        if not overdue and t.due - now > timedelta(hours=SOON_HOURS):
            continue
        values = {"row": row, "due": local_text(t.due, cfg.tz), "overdue": overdue}
        text = render("transfer_chase", **values)
        # ReminderSent.period holds 40 characters: the passing, its time limit (an extension moves it), the step
        period = f"transfer:{t.id}:{int(t.due.timestamp())}:{'late' if overdue else 'soon'}"
        for openid in t.department.openids or []:
            res.tally(
                remind_once(
                    s,
                    kind="transfer_chase",
                    person=f"department:{t.department_id}:{openid}",
                    period=period,
                    openid=str(openid),
                    text=text,
                    now=now,
                    outbox_kind="notice",
                )
            )
        if overdue:
            tid = t.department.township_id
            if tid not in told:
                told[tid] = offices.recipients(s, cfg, tid)
            notify_office(
                s, res, "transfer_overdue", period, render("transfer_overdue", **values), told[tid], now=now
            )
