"""`请假 12月3日-12月5日 事由`: a cadre asks for leave; the office approves or refuses it in the console, and
the cadre is told by a push. Approved leave days owe no diary and get no reminder (storage/leave.py).

Dates are read the way people type them: `12月3日-12月5日`, `12月3日至5日`, `12.3-12.5`, `2026-12-03到2026-12-05`,
or one day (`12月3日 事由`). A date without a year is the nearest one: in December, `1月5日` is next January.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any

from handlers.base import Context, Message, Outbox, Route, Router
from handlers.common import cadre_of, cadre_openid, command, is_cadre
from handlers.render import render
from storage import leave as leave_svc
from storage.models import CadreLeave

_DAY = r"(?:(?P<{p}y>\d{{4}})[-/.年])?(?:(?P<{p}m>\d{{1,2}})[-/.月])?(?P<{p}d>\d{{1,2}})[日号]?"
_RANGE = re.compile(
    "^"
    + _DAY.format(p="a")
    + r"(?:\s*(?:-|~|至|到|—|－)\s*"
    + _DAY.format(p="b")
    + r")?(?:\s+|$|[,，:：])(?P<reason>.*)$",
    re.S,
)


class DatesError(ValueError):
    pass


def _nearest(today: date, month: int, day: int) -> date:
    """The date of month/day nearest to ``today`` (this year, else the next or the previous one)."""
    best: date | None = None
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            d = date(year, month, day)
        except ValueError:
            continue
        if best is None or abs((d - today).days) < abs((best - today).days):
            best = d
    if best is None:
        raise DatesError(f"{month}月{day}日")
    return best


def parse_leave(text: str, today: date) -> tuple[date, date, str]:
    """(start, end, reason) from the words after 请假; ``DatesError`` when the dates cannot be read."""
    s = unicodedata.normalize("NFKC", text).strip()
    m = _RANGE.match(s)
    if m is None or m["am"] is None and m["ay"] is None:
        raise DatesError(s)
    try:
        if m["ay"]:
            start = date(int(m["ay"]), int(m["am"]), int(m["ad"]))
        else:
            start = _nearest(today, int(m["am"]), int(m["ad"]))
        if m["bd"] is None:
            end = start
        elif m["by"]:
            end = date(int(m["by"]), int(m["bm"] or start.month), int(m["bd"]))
        else:
            month = int(m["bm"]) if m["bm"] else start.month
            end = date(start.year, month, int(m["bd"]))
            if end < start:  # 12月30日-1月2日
                end = date(start.year + 1, month, int(m["bd"]))
    except ValueError as e:
        raise DatesError(s) from e
    return start, end, m["reason"].strip()


def ask(ctx: Context, msg: Message, rest: str) -> str:
    if not rest.strip():
        return ctx.render("leave_usage")
    today = ctx.message_day(msg)
    try:
        start, end, reason = parse_leave(rest, today)
    except DatesError:
        return ctx.render("leave_usage")
    if end < today:
        return ctx.render("leave_past", start=start, end=end)
    cadre = cadre_of(ctx)
    try:
        lv, fresh = leave_svc.request_leave(
            ctx.session, cadre=cadre, start=start, end=end, reason=reason or None, now=ctx.now()
        )
    except leave_svc.LeaveError as e:
        return ctx.render("leave_refused_input", error=str(e).split(" / ")[0])
    return ctx.render("leave_requested", leave=lv, fresh=fresh, status=leave_svc.status_text(lv.status))


def decision_words(lv: CadreLeave, tz: Any) -> dict[str, Any]:
    """The cadre's push when the office decides: text, and the named values of a ``notice``."""
    text = render("leave_decided", leave=lv, approved=lv.status == "approved")
    assert lv.decided_at is not None
    return {
        "text": text,
        "values": {
            "title": "请假已批准" if lv.status == "approved" else "请假未批准",
            "text": f"{lv.start_date:%m月%d日}至{lv.end_date:%m月%d日}",
            "time": lv.decided_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        },
    }


def decide(
    session: Any,
    lv: CadreLeave,
    *,
    approve: bool,
    actor: str,
    now: datetime,
    tz: Any,
    may_change_published: bool = True,
) -> bool:
    """storage.leave.decide_leave, and the push that tells the cadre (once, keyed on the leave)."""
    if not leave_svc.decide_leave(
        session, lv, approve=approve, actor=actor, now=now, may_change_published=may_change_published
    ):
        return False
    openid = cadre_openid(session, lv.cadre_id)
    if openid is not None:
        words = decision_words(lv, tz)
        # The named values of a notice (title, text, time): delivery maps them onto [wechat.templates.notice].
        Outbox(session).enqueue(
            openid, "notice", words["text"], key=f"leave:{lv.id}:decided", template=words["values"]
        )
    return True


router = Router("leave", is_cadre, (Route("leave.ask", command("请假"), ask),))
