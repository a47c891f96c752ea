"""Printing the diary book (《民情日记》, storage/diary_book.py) as one self-contained HTML page — photos
embedded as data URIs, scaled to fit A4 — or as PDF through the same headless Chromium the other printed
documents use (console/documents/printing.py): A4, the Chinese font installed on the server, page numbers
in the page margin (CSS ``@page`` margin boxes). A village's month is one file, each cadre from a new page.

Shared by ``lianxin diary-book`` (bot/cli/diary_book.py) and the console's 打印民情日记本 buttons
(console/views/diary_book.py); both audit the export.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session

from handlers.render import render as render_chat
from storage import audit
from storage.config import Config
from storage.diary_book import BookEntry, BookMedia, CadreBook, Owed, cadre_book, month_period, village_books
from storage.models import Cadre, Village
from storage.roles import ROLES
from storage.workdays import is_workday

TEMPLATES = Path(__file__).parent / "templates"
PHOTO_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"}


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = lambda d: f"{d.month}月{d.day}日"
    return env


def _month_title(month: str) -> str:
    y, m = month.split("-")
    return f"{y}年{int(m)}月"


def entered_by(actor: str | None) -> str:
    """Who entered a 补录 entry, as the office reads it: 'console:wang' → 控制台 wang, 'cli' → 命令行."""
    if not actor:
        return "办公室"
    if actor == "cli":
        return "命令行（办公室）"
    if actor.startswith("console:"):
        return f"控制台 {actor.split(':', 1)[1]}"
    return actor


def photo_uri(m: BookMedia, media_dir: str | Path) -> str | None:
    """The stored photo as a data URI, or None when it is not (yet) on disk or lies outside ``media_dir``."""
    if m.kind != "image" or not m.stored_path:
        return None
    base = Path(media_dir).resolve()
    path = Path(m.stored_path)
    path = (path if path.is_absolute() else base / path).resolve()
    if base not in path.parents or not path.is_file():
        return None
    ctype = (m.content_type or "image/jpeg").split(";")[0].strip().lower()
    if ctype not in PHOTO_TYPES:
        ctype = "image/jpeg"
    return f"data:{ctype};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


@lru_cache(maxsize=1)
def voice_placeholder() -> str:
    """What the bot stores for a voice diary entry WeChat gave no recognition text for (handlers/diary.py)."""
    return render_chat("diary_voice_placeholder").strip()


def entry_text(e: BookEntry) -> str:
    """The entry's text as the book prints it: a voice entry without recognition text reads 语音（无识别文字）."""
    if e.voice and e.text.strip() == voice_placeholder():
        return "语音（无识别文字，录音存于系统中）"
    return e.text


def render_books(
    books: list[CadreBook], *, month: str, media_dir: str | Path, village: str | None = None
) -> str:
    """The HTML of one cadre's book, or of a village's (``village`` given: every book, each on a new page)."""
    first = books[0] if books else None
    title = f"民情日记 · {village or (first.cadre if first else '')} · {_month_title(month)}"
    return (
        _env()
        .get_template("diary_book.html.j2")
        .render(
            title=title,
            books=books,
            month_title=_month_title(month),
            village=village,
            photo=lambda m: photo_uri(m, media_dir),
            entered_by=entered_by,
            roles=ROLES,
            entry_text=entry_text,
        )
    )


@dataclass(frozen=True)
class Book:
    html: str
    name: str  # the file name to offer, without suffix
    cadres: int
    entries: int
    target: str  # what the audit row names: cadre:PHONE:MONTH or village:NAME:MONTH


def make_book(
    session: Session,
    config: Config,
    *,
    month: str,
    cadre: Cadre | None = None,
    village: Village | None = None,
    today: date | None = None,
) -> Book:
    """The book of ``cadre`` (or of every cadre of ``village``) for ``month``; it only reads. The caller audits it
        with ``record_export`` once the file is made (a book is read and printed without holding SQLite's write
        lock through Chromium). DiaryBookError for a month that is not YYYY-MM. With ``today``, the working days owed
    before it and not written show as 未记录."""
    if (cadre is None) == (village is None):
        raise ValueError("one cadre or one village")
    period = month_period(month)
    tz, township = config.tz, config.general.township
    owed = Owed(lambda d: is_workday(d, config), today - timedelta(days=1)) if today is not None else None
    if cadre is not None:
        books = [cadre_book(session, cadre=cadre, month=period, tz=tz, township=township, owed=owed)]
        target, label = f"cadre:{cadre.phone}:{period.key}", cadre.name
    else:
        assert village is not None
        books = village_books(session, village=village, month=period, tz=tz, township=township, owed=owed)
        target, label = f"village:{village.name}:{period.key}", village.name
    html = render_books(
        books,
        month=period.key,
        media_dir=config.general.media_dir,
        village=village.name if village is not None else None,
    )
    entries = sum(b.entry_count for b in books)
    return Book(html, f"民情日记-{label}-{period.key}", len(books), entries, target)


def record_export(session: Session, book: Book, *, actor: str, fmt: str) -> None:
    """The audit row of a book given out (``diary_book.export``)."""
    audit.record(
        session,
        actor=actor,
        action="diary_book.export",
        target=book.target,
        detail={"format": fmt, "cadres": book.cadres, "entries": book.entries},
    )
