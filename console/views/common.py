"""Helpers the views share: scoped queries, paging, local dates, the tasks service's traffic lights."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import abort, request
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from console.access import db, download, lx, now, record_export, user
from storage import leave
from storage import tasks as task_svc
from storage.models import Cadre, Household, Village
from storage.periods import start_of_day
from storage.ratelimit import locked_until, record_failure

PAGE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Searches by number (a term with 4 digits or more: card numbers, phones, their last digits) per user and hour:
# enough for a day's work, too few to use the console as an oracle for card numbers (issue 21 item 11).
NUMBER_LOOKUPS_PER_HOUR = 60


def today() -> date:
    return now().astimezone(lx().config.tz).date()


def to_local_date(moment: datetime) -> date:
    return moment.astimezone(lx().config.tz).date()


def page_no() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def paged(s: Session, stmt: Select[Any]) -> tuple[list[Any], int, bool]:
    """(rows, page, has_more) for a select, PAGE rows a page."""
    p = page_no()
    rows = list(s.scalars(stmt.limit(PAGE + 1).offset((p - 1) * PAGE)))
    return rows[:PAGE], p, len(rows) > PAGE


def query_args(**drop: Any) -> str:
    args = {k: v for k, v in request.args.items() if k != "page" and k not in drop and v}
    return urlencode(args)


def scope_cadres(stmt: Select[Any]) -> Select[Any]:
    """Only the cadres of the user's village, or township (the county roles: every cadre)."""
    u = user()
    if u.role == "village":
        return stmt.where(Cadre.village_id == u.village_id)
    return stmt.where(Cadre.township_id == u.township_id) if u.township_id is not None else stmt


def township_villages() -> Any:
    """The ids of the user's township's villages, as a subquery (None for the county roles)."""
    u = user()
    return None if u.township_id is None else select(Village.id).where(Village.township_id == u.township_id)


def scope_households(stmt: Select[Any]) -> Select[Any]:
    u = user()
    if u.role == "village":
        return stmt.where(Household.village_id == u.village_id)
    mine = township_villages()
    return stmt.where(Household.village_id.in_(mine)) if mine is not None else stmt


def villages(s: Session) -> list[Village]:
    stmt = select(Village).order_by(Village.name)
    u = user()
    if u.role == "village":
        stmt = stmt.where(Village.id == u.village_id)
    elif u.township_id is not None:
        stmt = stmt.where(Village.township_id == u.township_id)
    return list(s.scalars(stmt))


def on_leave(s: Session, day: date) -> set[int]:
    return leave.on_leave(s, day)


def like(term: str) -> str:
    """A LIKE pattern for a user's search term with % and _ escaped (bound as a parameter, never spliced)."""
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def text_filter(term: str, *cols: Any) -> Any:
    pat = like(term)
    return or_(*[c.ilike(pat, escape="\\") for c in cols])


def light(assignment: Any) -> str | None:
    """The tasks service's traffic light (green/yellow/red) for an assignment."""
    return task_svc.light(assignment, now(), lx().config.scheduler.yellow_hours)


def start_of_next_day(day: date) -> datetime:
    return start_of_day(day + timedelta(days=1), lx().config.tz)


def limit_number_lookups(term: str) -> None:
    """Count a search by number for the user; past NUMBER_LOOKUPS_PER_HOUR within an hour, 429 until the hour
    is over. Counted in its own unit of work, so the refusal that follows does not roll the count back."""
    if sum(ch.isdigit() for ch in term) < 4:
        return
    key, t = f"console-number:{user().id}", now()
    with db(write=True) as s:
        until = locked_until(s, key, t)
        if until is None:
            _, until = record_failure(
                s,
                key,
                t,
                limit=NUMBER_LOOKUPS_PER_HOUR + 1,
                lock_for=timedelta(hours=1),
                window=timedelta(hours=1),
                fresh_after_lock=True,
            )
    if until is not None:
        abort(
            429,
            description=f"按号码查找太频繁（每小时最多 {NUMBER_LOOKUPS_PER_HOUR} 次），请在 "
            f"{until.astimezone(lx().config.tz):%H:%M} 之后再试，或按户主姓名查找。",
        )


# --------------------------------------------------------------------------------------------------
# A list's total and its Excel download (?format=xlsx on the list's own page, with its filters): the office's,
# audited, phones masked as every console export masks them
# --------------------------------------------------------------------------------------------------

EXPORT_LIMIT = 20000  # rows in one download: a county's households, with room to spare


def total(s: Session, stmt: Select[Any]) -> int:
    """How many rows a list's query has (every page)."""
    return int(s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)


def wants_xlsx() -> bool:
    """The list asked for as an Excel file: the office's only (403 for others, as every console export)."""
    if request.args.get("format") != "xlsx":
        return False
    if not user().is_admin:
        abort(403)
    return True


def xlsx_download(name: str, headers: list[str], rows: list[list[Any]], *, action: str, target: str) -> Any:
    """The rows as one sheet under ``name`` (Chinese), audited as ``action``."""
    from openpyxl import Workbook  # a heavy import, only for a download

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = name[:31]
    ws.append(headers)
    for row in rows:
        ws.append(row)
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    record_export(action, target, format="xlsx", rows=len(rows), filters=query_args() or None)
    return download(buf.getvalue(), XLSX, f"{name}-{today().isoformat()}.xlsx")
