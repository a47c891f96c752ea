"""好经验好做法: what the office collects during the year (a title, the text, the village or cadre it is of, the
day), shown with the year's commendations — on the year report's page and as a sheet of the commendations'
export. Storage never commits; the console audits."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from storage.models import Cadre, GoodPractice, Village

MAX_TITLE = 200
MAX_TEXT = 5000


class PracticeError(ValueError):
    """The practice cannot be saved; the message says why."""


def add(
    session: Session,
    *,
    township_id: int,
    title: str,
    text: str,
    day: date,
    village: Village | None,
    cadre: Cadre | None,
    by: str,
    now: datetime,
) -> GoodPractice:
    title, text = (title or "").strip(), (text or "").strip()
    if not title or not text:
        raise PracticeError("标题和内容都不能为空")
    if len(title) > MAX_TITLE or len(text) > MAX_TEXT:
        raise PracticeError(f"标题不超过 {MAX_TITLE} 字，内容不超过 {MAX_TEXT} 字")
    if village is not None and village.township_id != township_id:
        raise PracticeError("只能选择本乡镇的村(居)")
    if cadre is not None and cadre.township_id != township_id:
        raise PracticeError("只能选择本乡镇的干部")
    p = GoodPractice(
        township_id=township_id,
        title=title,
        text=text,
        day=day,
        village_id=village.id if village else None,
        cadre_id=cadre.id if cadre else None,
        written_by=by,
        written_at=now,
    )
    session.add(p)
    session.flush()
    return p


def of_year(session: Session, *, year: int, township_id: int | None) -> list[GoodPractice]:
    """The year's practices (of the township; None: every township's), by day."""
    stmt = (
        select(GoodPractice)
        .options(joinedload(GoodPractice.village), joinedload(GoodPractice.cadre))
        .where(GoodPractice.day >= date(year, 1, 1), GoodPractice.day <= date(year, 12, 31))
        .order_by(GoodPractice.day, GoodPractice.id)
    )
    if township_id is not None:
        stmt = stmt.where(GoodPractice.township_id == township_id)
    return list(session.scalars(stmt))


def rows(practices: list[GoodPractice]) -> list[dict[str, str]]:
    """As the year page and the export show them (no phones)."""
    return [
        {
            "day": p.day.isoformat(),
            "title": p.title,
            "village": p.village.name if p.village else "",
            "cadre": p.cadre.name if p.cadre else "",
            "text": p.text,
        }
        for p in practices
    ]
