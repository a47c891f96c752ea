"""``duty_reminders``: before the office's deadlines for the 五个一 duties done once per household (``[programme]``
cards_due, commitments_due, forms_due), on each of ``remind_days_before`` days, remind every bound cadre (not on
leave) of their households still missing a card, a commitment letter or a complete information form (from the
ledger, storage.ledger.undone_duties), once per reminder day; and tell the office who is behind. A cadre with
nothing missing hears nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from reminders.reminding import (
    JobResult,
    Reminder,
    already,
    bound_cadres,
    end_of_day,
    notify_office,
    on_leave,
    remind_many,
)
from reminders.render import render
from storage import offices
from storage.config import programme_dates
from storage.ledger import DUTIES, undone_duties
from storage.models import Cadre, Village

KIND = "duty_due"
# the ledger's names of the duties (storage.ledger.DUTIES), and how a short push line counts them
LABELS = {"card": DUTIES["card"], "commitment": DUTIES["commitment"], "form": DUTIES["info"]}
SHORT = {"card": "户未发卡", "commitment": "户未签承诺书", "form": "户登记表不全"}
NAMES_SHOWN = 10


def _date_text(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def duty_reminders(lx: Any, now: datetime) -> JobResult:
    res = JobResult("duty_reminders")
    day = now.astimezone(lx.config.tz).date()
    before = set(lx.config.programme.remind_days_before)
    due = {duty: d for duty, d in programme_dates(lx.config).items() if (d - day).days in before}
    if not due:
        res.detail["reminder_day"] = False
        return res
    res.detail["duties"] = ",".join(sorted(due))
    with lx.session() as s:
        undone = undone_duties(s, due)
        openids = bound_cadres(s)
        away = on_leave(s, day)
        todo = _cadre_reminders(lx, s, res, undone, due, day, openids=openids, away=away)
        sent, skipped = remind_many(s, todo, now=now)
        res.sent += sent
        res.skipped += skipped
        res.detail["behind"] = len(undone)
        if undone:
            rows = _behind_rows(s, undone, openids=openids, away=away)
            _tell_offices(lx, s, res, rows, due, day, now)
    return res


def _cadre_reminders(
    lx: Any,
    s: Any,
    res: JobResult,
    undone: dict[int, Any],
    due: dict[str, date],
    day: date,
    *,
    openids: dict[int, str],
    away: set[int],
) -> list[Reminder]:
    """Today's reminder for each bound cadre not on leave with households still missing a duty, unless already
    reminded today (counted as skipped): what is missing, by when, naming the first households."""
    done_before = already(s, KIND, day.isoformat())
    todo: list[Reminder] = []
    for cid, u in sorted(undone.items()):
        if cid not in openids or cid in away:
            continue
        if f"cadre:{cid}" in done_before:
            res.skipped += 1
            continue
        items = [
            {
                "label": LABELS[d],
                "due": _date_text(due[d]),
                "days": (due[d] - day).days,
                "count": len(heads),
                "names": heads[:NAMES_SHOWN],
                "more": max(0, len(heads) - NAMES_SHOWN),
            }
            for d, heads in u.households.items()
            if heads
        ]
        first_due = min(due[d] for d, heads in u.households.items() if heads)
        what = "、".join(f"{len(heads)}{SHORT[d]}" for d, heads in u.households.items() if heads)
        todo.append(
            Reminder(
                KIND,
                f"cadre:{cid}",
                day.isoformat(),
                openids[cid],
                render("duty_reminder", cadre_name=u.name, items=items),
                values={"what": what, "due": f"{_date_text(first_due)} 23:59"},
                expires_at=end_of_day(day, lx.config.tz),  # it counts the days left from today
            )
        )
    return todo


def _behind_rows(
    s: Any, undone: dict[int, Any], *, openids: dict[int, str], away: set[int]
) -> list[dict[str, Any]]:
    """The office's list of cadres behind, by village then name: what each still owes, whether they are on
    leave or unbound (so not reminded), and their township (each township's office gets its part)."""
    stmt = (
        select(Cadre.id, Village.name, Cadre.township_id)
        .outerjoin(Village, Village.id == Cadre.village_id)
        .where(Cadre.id.in_(list(undone)))
    )
    villages: dict[int, str] = {}
    township_of: dict[int, int] = {}
    for cid, name, tid in s.execute(stmt):
        villages[cid], township_of[cid] = name, tid
    return [
        {
            "name": u.name,
            "village": villages.get(cid) or "",
            "counts": [(LABELS[d], len(h)) for d, h in u.households.items() if h],
            "away": cid in away,
            "unbound": cid not in openids,
            "township_id": township_of.get(cid),
        }
        for cid, u in sorted(undone.items(), key=lambda kv: (villages.get(kv[0]) or "", kv[1].name))
    ]


def _tell_offices(
    lx: Any,
    s: Any,
    res: JobResult,
    rows: list[dict[str, Any]],
    due: dict[str, date],
    day: date,
    now: datetime,
) -> None:
    """The county's office (or a lone township's) gets the whole list; each township's office its own part (an
    account that has the whole list gets no part of it; one listed for two townships gets both parts)."""
    dates = [(LABELS[d], _date_text(v), (v - day).days) for d, v in sorted(due.items(), key=lambda kv: kv[1])]
    told: set[str] = set()
    for township_id, office in [(None, offices.recipients(s, lx.config))] + offices.township_offices(
        s, lx.config
    ):
        mine = [r for r in rows if township_id is None or r["township_id"] == township_id]
        office = [o for o in office if o not in told]
        if mine and office:
            period = day.isoformat() if township_id is None else f"{day.isoformat()}:t{township_id}"
            notify_office(
                s,
                res,
                "duty_behind",
                period,
                render("duty_behind", rows=mine, limit=30, due=dates),
                office,
                now=now,
            )
        if township_id is None:
            told.update(office)
