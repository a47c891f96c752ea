"""民情日记: entries by cadre and day, monthly summaries, full-text search (LIKE/ILIKE with bound, escaped
patterns); and the media route that serves stored photos to those allowed to see their owner."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, send_file
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from console.access import cadre_in_scope, db, in_scope, lx
from console.views import common
from reminders.media import PLAYABLE_TYPE, playable_voice
from storage.models import (
    Attachment,
    Cadre,
    DiaryEntry,
    Feedback,
    MonthlySummary,
    TaskAssignment,
    VillagerRequest,
)

bp = Blueprint("diaries", __name__)


@bp.get("/diaries")
def diaries() -> Any:
    a = request.args
    q = (a.get("q") or "").strip()
    cadre_id = a.get("cadre", type=int)
    day: date | None = None
    if a.get("day"):
        try:
            day = date.fromisoformat(a["day"])
        except ValueError:
            abort(400, description="日期应写作 YYYY-MM-DD")
    with db() as s:
        stmt = (
            select(DiaryEntry)
            .join(Cadre)
            .where(DiaryEntry.deleted_at.is_(None))
            .options(contains_eager(DiaryEntry.cadre))
            .order_by(DiaryEntry.day.desc(), DiaryEntry.created_at.desc(), DiaryEntry.id.desc())
        )
        stmt = common.scope_cadres(stmt)
        if cadre_id:
            stmt = stmt.where(DiaryEntry.cadre_id == cadre_id)
        if day:
            stmt = stmt.where(DiaryEntry.day == day)
        if q:
            stmt = stmt.where(common.text_filter(q, DiaryEntry.text))
        if common.wants_xlsx():
            return _diaries_xlsx(list(s.scalars(stmt.limit(common.EXPORT_LIMIT))))
        rows, page, more = common.paged(s, stmt)
        cadres = list(s.scalars(common.scope_cadres(select(Cadre)).order_by(Cadre.name)))
        summaries: list[MonthlySummary] = []
        if cadre_id:
            summaries = list(
                s.scalars(
                    common.scope_cadres(select(MonthlySummary).join(Cadre))
                    .where(MonthlySummary.cadre_id == cadre_id)
                    .order_by(MonthlySummary.month.desc())
                    .limit(12)
                )
            )
        photos: dict[int, list[Attachment]] = {}
        if rows:
            for att in s.scalars(
                select(Attachment).where(
                    Attachment.owner_type == "diary", Attachment.owner_id.in_([r.id for r in rows])
                )
            ):
                photos.setdefault(att.owner_id, []).append(att)
        month = (day or common.today()).strftime("%Y-%m")  # the diary book's month, to start with
        return render_template(
            "diaries.html",
            total=common.total(s, stmt),
            rows=rows,
            page=page,
            more=more,
            q=q,
            cadre_id=cadre_id,
            day=day,
            cadres=cadres,
            summaries=summaries,
            photos=photos,
            args=common.query_args(),
            villages=common.villages(s),
            month=month,
        )


SOURCE_ZH = {"text": "文字", "voice": "语音", "console": "控制台", "demo": "演示", "paper": "纸质补录"}


def _diaries_xlsx(rows: list[DiaryEntry]) -> Any:
    tz = lx().config.tz
    return common.xlsx_download(
        "民情日记",
        ["日期", "时间", "干部", "五个员", "内容", "来源"],
        [
            [
                e.day.isoformat(),
                e.created_at.astimezone(tz).strftime("%H:%M"),
                e.cadre.name,
                e.role or "",
                e.text,
                SOURCE_ZH.get(e.source, e.source),
            ]
            for e in rows
        ],
        action="diaries.export",
        target="diaries",
    )


def _owner_in_scope(s: Any, att: Attachment) -> None:
    """404 unless the user sees the attachment's owner: the cadre of a diary or feedback, a request's household."""
    if att.owner_type == "diary":
        e = s.get(DiaryEntry, att.owner_id)
        cadre_in_scope(e.cadre if e else None)
    elif att.owner_type == "feedback":
        f = s.get(Feedback, att.owner_id)
        a = s.get(TaskAssignment, f.assignment_id) if f else None
        cadre_in_scope(a.cadre if a else None)
    elif att.owner_type == "request":
        r = s.get(VillagerRequest, att.owner_id)
        in_scope(r.household.village_id if r else None)
    else:
        in_scope(None)


def _stored(attachment_id: int) -> tuple[Attachment, Path]:
    """The attachment and its stored file, for those allowed to see its owner (else 403/404)."""
    with db() as s:
        att = s.get(Attachment, attachment_id)
        if att is None or not att.stored_path:
            abort(404)
        _owner_in_scope(s, att)
        s.expunge(att)
    base = Path(lx().config.general.media_dir).resolve()
    path = Path(att.stored_path)
    path = (path if path.is_absolute() else base / path).resolve()
    if base not in path.parents or not path.is_file():
        abort(404)
    return att, path


@bp.get("/media/<int:attachment_id>")
def media(attachment_id: int) -> Any:
    att, path = _stored(attachment_id)
    return _send(path, att.content_type or "application/octet-stream")


@bp.get("/media/<int:attachment_id>/audio")
def media_audio(attachment_id: int) -> Any:
    """A voice attachment in a format browsers play (MP3 made from WeChat's AMR by ffmpeg, once)."""
    att, path = _stored(attachment_id)
    if att.media_type != "voice":
        abort(404)
    playable, why = playable_voice(path, (att.content_type or "").split(";")[0].strip().lower())
    if playable is None:
        return Response(why or "无法播放", status=503, mimetype="text/plain")
    mimetype = (
        PLAYABLE_TYPE if playable.suffix == ".mp3" else (att.content_type or "application/octet-stream")
    )
    return _send(playable, mimetype)


def _send(path: Path, mimetype: str) -> Any:
    """The file from memory (photos and voice are small): a player that drops a range request half-way (the
    browser's <audio> does) leaves no open file behind, as serving the path itself did."""
    return send_file(
        io.BytesIO(path.read_bytes()),
        mimetype=mimetype,
        max_age=3600,
        conditional=True,
        last_modified=path.stat().st_mtime,
        etag=False,
    )
