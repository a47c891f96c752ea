"""The diary book (《民情日记》): one cadre's month as the archive keeps it — each day's entries in time order
(time, 五个员 role, text, photos, voice, 补录 marks), the days on leave, then the month's 小结.

This module only gathers the month (``cadre_book``, ``village_books``); the page is rendered above storage
(console/documents/diary_book.py) and printed to PDF there. Functions take ``session`` and never commit;
``DiaryBookError`` carries a message for the office when the cadre, village or month is not one we know.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.leave import APPROVED, days_in
from storage.models import Attachment, Cadre, CadreLeave, DiaryEntry, MonthlySummary, Village
from storage.periods import Period, parse_period

WEEKDAYS = "一二三四五六日"


class DiaryBookError(ValueError):
    """Cannot make the book as asked (unknown cadre or village, bad month); the message says why."""


@dataclass(frozen=True)
class BookMedia:
    id: int
    kind: str  # image | voice | location
    stored_path: str | None
    content_type: str | None
    failed: bool  # the download from WeChat gave up


@dataclass
class BookEntry:
    id: int
    time: str | None  # local 'HH:MM' the message arrived; None for a paper entry (补录: no time of day)
    role: str | None
    text: str
    source: str  # text | voice | console | demo | paper
    entered_by: str | None  # 补录: who entered it ("cli", "console:<user>")
    entered_at: str  # local 'YYYY-MM-DD HH:MM' the row was written
    media: list[BookMedia] = field(default_factory=list)

    @property
    def paper(self) -> bool:
        return self.source == "paper"

    @property
    def voice(self) -> bool:
        return self.source == "voice" or any(m.kind == "voice" for m in self.media)

    @property
    def photos(self) -> list[BookMedia]:
        return [m for m in self.media if m.kind == "image"]


@dataclass
class BookDay:
    day: date
    weekday: str
    on_leave: bool
    entries: list[BookEntry]  # none on a day on leave, or on a working day owed and not written (未记录)


@dataclass
class BookSummary:
    text: str
    submitted_day: date
    on_time: bool


@dataclass
class CadreBook:
    township: str
    village: str
    cadre: str
    phone: str
    post: str | None
    unit: str | None
    month: str  # 'YYYY-MM'
    days: list[BookDay]  # days with an entry, on leave, or owed and not written (未记录), in order
    summary: BookSummary | None
    leave_days: int

    @property
    def entry_count(self) -> int:
        return sum(len(d.entries) for d in self.days)

    @property
    def entry_days(self) -> int:
        return sum(1 for d in self.days if d.entries)


def month_period(month: str) -> Period:
    try:
        return parse_period("month", month or "")
    except ValueError as e:
        raise DiaryBookError(str(e)) from None


def cadre_by_phone(session: Session, phone: str) -> Cadre:
    cadre = session.scalar(select(Cadre).where(Cadre.phone == (phone or "").strip()))
    if cadre is None:
        raise DiaryBookError(f"没有电话为 {phone} 的干部 / no cadre with that phone")
    return cadre


def village_by_name(session: Session, name: str, *, township_id: int | None = None) -> Village:
    """The village of that name (in that township: village names repeat across a county)."""
    stmt = select(Village).where(Village.name == (name or "").strip())
    known = select(Village.name).order_by(Village.name)
    if township_id is not None:
        stmt, known = (
            stmt.where(Village.township_id == township_id),
            known.where(Village.township_id == township_id),
        )
    found = list(session.scalars(stmt.limit(2)))
    if len(found) != 1:
        names = "、".join(session.scalars(known)) or "（无）"
        if len(found) > 1:
            raise DiaryBookError(f"几个乡镇都有「{name}」：请加 --township 乡镇")
        raise DiaryBookError(f"没有名为「{name}」的村(居)。现有：{names}")
    return found[0]


def _local(moment: datetime, tz: object) -> datetime:
    return moment.astimezone(tz)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Owed:
    """Which days a book shows as 未记录 when nothing was written: working days (``workday``) from the cadre's
    start up to ``until`` (yesterday: today is not over yet)."""

    workday: Callable[[date], bool]
    until: date

    def days(self, cadre: Cadre, month: Period, tz: object) -> set[date]:
        first = max(month.first, _local(cadre.created_at, tz).date())
        last = min(month.last, self.until)
        return {
            first + timedelta(i) for i in range((last - first).days + 1) if self.workday(first + timedelta(i))
        }


def cadre_book(
    session: Session, *, cadre: Cadre, month: Period, tz: object, township: str, owed: Owed | None = None
) -> CadreBook:
    """Every (not undone) diary entry of ``cadre`` in ``month``, by day and time, with its attachments; with
    ``owed``, the working days owed and not written too (no entries, not on leave: 未记录)."""
    entries = list(
        session.scalars(
            select(DiaryEntry)
            .where(
                DiaryEntry.cadre_id == cadre.id,
                DiaryEntry.deleted_at.is_(None),
                DiaryEntry.day >= month.first,
                DiaryEntry.day <= month.last,
            )
            .order_by(DiaryEntry.day, DiaryEntry.created_at, DiaryEntry.id)
        )
    )
    media: dict[int, list[BookMedia]] = {}
    if entries:
        for a in session.scalars(
            select(Attachment)
            .where(Attachment.owner_type == "diary", Attachment.owner_id.in_([e.id for e in entries]))
            .order_by(Attachment.created_at, Attachment.id)
        ):
            media.setdefault(a.owner_id, []).append(
                BookMedia(
                    a.id,
                    a.media_type,
                    a.stored_path,
                    a.content_type,
                    bool(a.download_error) and not a.stored_path,
                )
            )
    leave: set[date] = set()
    for lv in session.scalars(
        select(CadreLeave).where(
            APPROVED,
            CadreLeave.cadre_id == cadre.id,
            CadreLeave.start_date <= month.last,
            CadreLeave.end_date >= month.first,
        )
    ):
        leave.update(days_in(lv, month.first, month.last))
    by_day: dict[date, list[BookEntry]] = {}
    for e in entries:
        local = _local(e.created_at, tz)
        by_day.setdefault(e.day, []).append(
            BookEntry(
                id=e.id,
                time=None if e.source == "paper" else local.strftime("%H:%M"),
                role=e.role,
                text=e.text,
                source=e.source,
                entered_by=e.entered_by,
                entered_at=local.strftime("%Y-%m-%d %H:%M"),
                media=media.get(e.id, []),
            )
        )
    missed = owed.days(cadre, month, tz) if owed is not None else set()
    days = [
        BookDay(d, WEEKDAYS[d.weekday()], d in leave, by_day.get(d, []))
        for d in sorted(set(by_day) | leave | missed)
    ]
    s = session.scalar(
        select(MonthlySummary).where(MonthlySummary.cadre_id == cadre.id, MonthlySummary.month == month.key)
    )
    village = session.get(Village, cadre.village_id) if cadre.village_id else None
    return CadreBook(
        township=village.township.name if village is not None and village.township else township,
        village=village.name if village else "",
        cadre=cadre.name,
        phone=cadre.phone,
        post=cadre.post,
        unit=cadre.unit,
        month=month.key,
        days=days,
        summary=BookSummary(s.text, s.submitted_day, s.on_time) if s else None,
        leave_days=len(leave),
    )


def village_books(
    session: Session, *, village: Village, month: Period, tz: object, township: str, owed: Owed | None = None
) -> list[CadreBook]:
    """One book per cadre of ``village``: the active ones, and any other who wrote in the month."""
    wrote = select(DiaryEntry.cadre_id).where(
        DiaryEntry.day >= month.first, DiaryEntry.day <= month.last, DiaryEntry.deleted_at.is_(None)
    )
    cadres = session.scalars(
        select(Cadre)
        .where(Cadre.village_id == village.id, Cadre.active.is_(True) | Cadre.id.in_(wrote))
        .order_by(Cadre.name, Cadre.id)
    )
    return [cadre_book(session, cadre=c, month=month, tz=tz, township=township, owed=owed) for c in cadres]
