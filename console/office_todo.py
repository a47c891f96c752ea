"""What needs the office, for the dashboard and the reports page: a period that has ended and can be published
(and whether it has been), leave waiting for a decision, and the first steps of a fresh deployment.
Plain functions of the signed-in user's scope; the pages render what they return."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.access import lx, user
from console.views import common
from storage import circulars, townships
from storage.models import Cadre, Township
from storage.periods import Period, parse_period, previous_month


def publishing_township(s: Session) -> tuple[int, str] | None:
    """The township whose circular the user publishes (their own, or the deployment's only one); None where the
    user publishes none (not an admin, the county's accounts in a county, nothing imported)."""
    u = user()
    if not u.is_admin:
        return None
    if u.township_id is not None:
        return u.township_id, u.township_name or ""
    if townships.is_county(s):
        return None
    only = list(s.execute(select(Township.id, Township.name).order_by(Township.id).limit(2)).tuples())
    return only[0] if len(only) == 1 else None


def publish_state(s: Session, period: Period, today: date) -> str | None:
    """For the reports page's button: "ready" (ended, not yet published), "published", "open" (not ended: no
    button, a note), or None (this user publishes nothing here)."""
    where = publishing_township(s)
    if where is None:
        return None
    if not period.ended(today):
        return "open"
    return "published" if circulars.is_published(s, period.kind, period.key, where[0]) else "ready"


def publish_prompt(s: Session) -> str | None:
    """The last ended month, when it is not yet published by the user's township ("2026-11 可以发布了")."""
    today = common.today()
    last = parse_period("month", previous_month(today).strftime("%Y-%m"))
    where = publishing_township(s)
    if where is None:
        return None
    # a month before anyone was imported has nothing to publish
    first = s.scalar(select(func.min(Cadre.created_at)).where(Cadre.township_id == where[0]))
    if first is None or first >= last.utc_range(lx().config.tz)[1]:
        return None
    return last.key if publish_state(s, last, today) == "ready" else None


def office_todo(s: Session) -> dict[str, Any]:
    """The dashboard's "needs you" box (console/templates/_office_todo.html)."""
    return {"publish": publish_prompt(s)}
