"""The 民情日记 by chat: daily entries (text, `日记 TEXT`, voice), `撤销`, the monthly `小结`, photos.

Every date is the local date of the message's CreateTime (a diary written at 23:59 counts for that day
even if WeChat delivers it after midnight).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import make_transient_to_detached

from handlers.base import Context, Message, Route, Router
from handlers.common import cadre_of, command, is_cadre, kinds
from handlers.roles import ROLES, guess_role
from storage.ledger import link_mentions
from storage.models import Attachment, DiaryEntry, Feedback, MonthlySummary
from storage.periods import last_day_of_month, month_key, previous_month

UNDO_WINDOW = timedelta(minutes=10)
PHOTO_WINDOW = timedelta(minutes=10)
MONTH_DAYS = (
    "month_days"  # set on an entry just saved: distinct days of its month with an entry, its own included
)
SUMMARY_GRACE_DAYS = 3  # in a month's first days, 小结 is for the previous month if that has none yet


# Built once per process (every diary reply runs it): SQLAlchemy memoises a built statement's cache key, so
# each run skips constructing the expression and generating its key.
_DIARY_DAYS = select(func.count(func.distinct(DiaryEntry.day))).where(
    DiaryEntry.cadre_id == bindparam("b_cadre"),
    DiaryEntry.day >= bindparam("b_first"),
    DiaryEntry.day <= bindparam("b_last"),
    DiaryEntry.deleted_at.is_(None),
)
_DIARY = DiaryEntry.__table__
_EARLIER = _DIARY.alias("earlier")
# The entry's INSERT also answers the reply's "第 N 天": the distinct *other* days of its month with an entry,
# plus its own day. Counted without the new row, so both databases agree (PostgreSQL's RETURNING subquery
# sees the table before the INSERT, SQLite's after it); one statement instead of an INSERT and a SELECT.
_OTHER_DAYS = (
    select(func.count(func.distinct(_EARLIER.c.day)))
    .where(
        _EARLIER.c.cadre_id == bindparam("b_cadre"),
        _EARLIER.c.day >= bindparam("b_first"),
        _EARLIER.c.day <= bindparam("b_last"),
        _EARLIER.c.day != bindparam("b_day"),
        _EARLIER.c.deleted_at.is_(None),
    )
    .scalar_subquery()
)
_INSERT_DIARY = insert(_DIARY).returning(_DIARY.c.id, _OTHER_DAYS.label("other_days"))


def diary_days(ctx: Context, cadre_id: int, day: date) -> int:
    """Distinct days with a (not undone) entry in ``day``'s month."""
    first = day.replace(day=1)
    last = last_day_of_month(day.year, day.month)
    return ctx.session.scalar(_DIARY_DAYS, {"b_cadre": cadre_id, "b_first": first, "b_last": last}) or 0


def save_diary_entry(ctx: Context, msg: Message, text: str, source: str, media_id: str | None) -> DiaryEntry:
    """Store one diary entry for the message's local day. The one place a chat diary entry is written:
    other features hook here (e.g. the ledger links the households the text mentions)."""
    assert is_cadre(ctx), "is_cadre() guards every cadre route"
    day = ctx.message_day(msg)
    values = {
        "cadre_id": ctx.identity.cadre_id,  # the id is enough: no Cadre row is loaded for a diary entry
        "day": day,
        "text": text,
        "source": source,
        "entered_by": None,
        "media_id": media_id,
        "role": guess_role(text),
        "created_at": ctx.now(),
        "inbound_id": ctx.inbound_id,
        "deleted_at": None,
    }
    # Core INSERT … RETURNING id (the ORM's unit of work cost more than the statement); the row becomes the ORM
    # object without a SELECT, in the session as if loaded, so a later change to it is still flushed.
    first, last = day.replace(day=1), last_day_of_month(day.year, day.month)
    bounds = {"b_cadre": values["cadre_id"], "b_day": day, "b_first": first, "b_last": last}
    row = ctx.session.connection().execute(_INSERT_DIARY, {**values, **bounds}).one()
    entry = DiaryEntry(id=row.id, **values)
    make_transient_to_detached(entry)
    setattr(entry, MONTH_DAYS, row.other_days + 1)  # the reply's count, read by _saved_reply (not a column)
    ctx.session.add(entry)
    if source == "voice" and media_id:
        # The audio itself is kept: WeChat holds it 3 days, the download job fetches it within minutes
        # (reminders/media.py) and the console plays it, whether or not WeChat gave a Recognition text.
        ctx.session.add(
            Attachment(
                owner_type="diary",
                owner_id=entry.id,
                media_type="voice",
                media_id=media_id,
                created_at=ctx.now(),
            )
        )
    link_mentions(
        ctx.session, entry, new=True
    )  # households named by head name or card number: visits in the ledger
    return entry


def _saved_reply(ctx: Context, entry: DiaryEntry) -> str:
    n = getattr(entry, MONTH_DAYS, None) or diary_days(ctx, entry.cadre_id, entry.day)
    return ctx.render("diary_saved", day=entry.day, n=n, role=ROLES.get(entry.role or "", ""))


def write(ctx: Context, msg: Message, rest: str) -> str:
    """`日记 TEXT`."""
    text = rest.strip()
    if not text:
        return ctx.render("diary_usage")
    return _saved_reply(ctx, save_diary_entry(ctx, msg, text, "text", None))


def plain(ctx: Context, msg: Message) -> str:
    """A cadre's plain text or voice message is today's diary entry."""
    if msg.kind == "voice":
        text = msg.text.strip()
        if not text:
            # WeChat gave no speech recognition: keep the voice (media id) and say so.
            text = ctx.render("diary_voice_placeholder")
        return _saved_reply(ctx, save_diary_entry(ctx, msg, text, "voice", msg.media_id))
    text = msg.text.strip()
    if not text:
        return ctx.render("diary_usage")
    return _saved_reply(ctx, save_diary_entry(ctx, msg, text, "text", None))


def latest_undoable_summary(ctx: Context, cadre_id: int) -> MonthlySummary | None:
    """The cadre's 小结 sent within the last 10 minutes (the latest), which `撤销` undoes if nothing came after."""
    return ctx.session.scalar(
        select(MonthlySummary)
        .where(MonthlySummary.cadre_id == cadre_id, MonthlySummary.submitted_at >= ctx.now() - UNDO_WINDOW)
        .order_by(MonthlySummary.submitted_at.desc(), MonthlySummary.id.desc())
        .limit(1)
    )


def undo_summary(ctx: Context, row: MonthlySummary) -> str:
    """`撤销` of a 小结: the month's first is removed; one that replaced another puts the other back."""
    year, mon = (int(x) for x in row.month.split("-"))
    before = row.previous
    if before is None:
        ctx.session.delete(row)
    else:
        row.text = before["text"]
        row.submitted_at = datetime.fromisoformat(before["submitted_at"])
        row.submitted_day = date.fromisoformat(before["submitted_day"])
        row.on_time = bool(before["on_time"])
        row.previous = None
    ctx.session.flush()
    return ctx.render("summary_undone", year=year, month=mon, restored=before is not None)


def undo(ctx: Context, msg: Message, rest: str) -> str:
    """`撤销`: soft-delete the latest entry written within the last 10 minutes, or undo a 小结 sent after it."""
    cadre = cadre_of(ctx)
    now = ctx.now()
    entry = ctx.session.scalar(
        select(DiaryEntry)
        .where(DiaryEntry.cadre_id == cadre.id, DiaryEntry.deleted_at.is_(None))
        .order_by(DiaryEntry.created_at.desc(), DiaryEntry.id.desc())
        .limit(1)
    )
    if entry is not None and entry.created_at < now - UNDO_WINDOW:
        entry = None
    summary_row = latest_undoable_summary(ctx, cadre.id)
    if summary_row is not None and (entry is None or summary_row.submitted_at >= entry.created_at):
        return undo_summary(ctx, summary_row)
    if entry is None:
        return ctx.render("undo_nothing", minutes=int(UNDO_WINDOW.total_seconds() // 60))
    entry.deleted_at = now
    ctx.session.flush()
    return ctx.render(
        "diary_undone", day=entry.day, text=_short(entry.text), n=diary_days(ctx, cadre.id, entry.day)
    )


def _short(text: str, n: int = 20) -> str:
    return text if len(text) <= n else text[:n] + "…"


def summary_month(ctx: Context, cadre_id: int, day: date) -> str:
    """The month a 小结 written on ``day`` is for."""
    if day.day <= SUMMARY_GRACE_DAYS:
        prev = month_key(previous_month(day))
        has_prev = ctx.session.scalar(
            select(MonthlySummary.id).where(MonthlySummary.cadre_id == cadre_id, MonthlySummary.month == prev)
        )
        if has_prev is None:
            return prev
    return month_key(day)


def summary(ctx: Context, msg: Message, rest: str) -> str:
    """`小结 TEXT`: the monthly summary; a later one replaces the text (on time stays on time)."""
    text = rest.strip()
    if not text:
        return ctx.render("summary_usage")
    cadre = cadre_of(ctx)
    day = ctx.message_day(msg)
    month = summary_month(ctx, cadre.id, day)
    year, mon = (int(x) for x in month.split("-"))
    on_time = day <= last_day_of_month(year, mon)
    row = ctx.session.scalar(
        select(MonthlySummary).where(MonthlySummary.cadre_id == cadre.id, MonthlySummary.month == month)
    )
    replaced = row is not None
    if row is None:
        row = MonthlySummary(
            cadre_id=cadre.id,
            month=month,
            text=text,
            submitted_at=ctx.now(),
            submitted_day=day,
            on_time=on_time,
        )
        ctx.session.add(row)
    else:
        # kept for `撤销` within 10 minutes (undo_summary)
        row.previous = {
            "text": row.text,
            "submitted_at": row.submitted_at.isoformat(),
            "submitted_day": row.submitted_day.isoformat(),
            "on_time": bool(row.on_time),
        }
        row.text = text
        row.submitted_at = ctx.now()
        row.submitted_day = day
        row.on_time = bool(row.on_time) or on_time
    ctx.session.flush()
    return ctx.render(
        "summary_saved",
        year=year,
        month=mon,
        on_time=row.on_time,
        replaced=replaced,
        days=diary_days(ctx, cadre.id, date(year, mon, 1)),
    )


def photo(ctx: Context, msg: Message) -> str:
    """A cadre's photo joins the latest diary entry or task feedback written within 10 minutes."""
    cadre = cadre_of(ctx)
    since = ctx.now() - PHOTO_WINDOW
    entry = ctx.session.scalar(
        select(DiaryEntry)
        .where(
            DiaryEntry.cadre_id == cadre.id, DiaryEntry.deleted_at.is_(None), DiaryEntry.created_at >= since
        )
        .order_by(DiaryEntry.created_at.desc(), DiaryEntry.id.desc())
        .limit(1)
    )
    fb = ctx.session.scalar(
        select(Feedback)
        .where(Feedback.cadre_id == cadre.id, Feedback.created_at >= since)
        .order_by(Feedback.created_at.desc(), Feedback.id.desc())
        .limit(1)
    )
    owner: tuple[str, Any] | None = None
    if entry is not None and (fb is None or entry.created_at >= fb.created_at):
        owner = ("diary", entry)
    elif fb is not None:
        owner = ("feedback", fb)
    if owner is None:
        return ctx.render("photo_orphan", minutes=int(PHOTO_WINDOW.total_seconds() // 60))
    kind, row = owner
    ctx.session.add(
        Attachment(
            owner_type=kind,
            owner_id=row.id,
            media_type="image",
            media_id=msg.media_id,
            pic_url=msg.pic_url,
            created_at=ctx.now(),
        )
    )
    ctx.session.flush()
    count = ctx.session.scalar(
        select(func.count())
        .select_from(Attachment)
        .where(Attachment.owner_type == kind, Attachment.owner_id == row.id, Attachment.media_type == "image")
    )
    if kind == "diary":
        return ctx.render("photo_attached", kind=kind, day=row.day, count=count)
    return ctx.render("photo_attached", kind=kind, day=None, count=count)


router = Router(
    "diary",
    is_cadre,
    (
        Route("diary.write", command("日记"), write),
        Route("diary.summary", command("小结"), summary),
        Route("diary.undo", command("撤销"), undo),
        Route("diary.photo", kinds("image"), photo),
    ),
)
# After every other cadre command: plain text and voice are diary entries.
plain_router = Router("diary.plain", is_cadre, (Route("diary.plain", kinds("text", "voice"), plain),))
