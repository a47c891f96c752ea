"""打印民情日记本: one cadre's month (from the cadre's page or the diaries page), or a village's month as one
file with every cadre of the village from a new page — HTML to print from the browser, or PDF through headless
Chromium (console/documents/diary_book.py). An export: audited, never for read-only accounts; a village
account prints only its own village's cadres (another village's is 404, as if it did not exist)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, request, send_file

from console.access import db, get_in_scope, in_scope, lx, user, writers
from console.documents import diary_book, printing
from console.views.common import today
from storage.diary_book import DiaryBookError, month_period
from storage.models import Cadre, Village

bp = Blueprint("diary_book", __name__)


@bp.get("/diaries/book")
@writers
def diary_book_export() -> Any:
    a = request.args
    fmt = a.get("format", "html")
    if fmt not in ("html", "pdf"):
        abort(400, description="格式应为 html 或 pdf")
    cadre_id, village_id = a.get("cadre", type=int), a.get("village", type=int)
    if not cadre_id and not village_id:
        abort(400, description="请选择一名干部或一个村(居)")
    try:
        month = month_period(a.get("month") or "").key
    except DiaryBookError as e:
        abort(400, description=str(e))
    with db() as s:
        cadre = village = None
        if cadre_id:
            cadre = get_in_scope(s, Cadre, cadre_id)
        else:
            village = s.get(Village, village_id)
            if village is None:
                abort(404)
            in_scope(village.id)
        book = diary_book.make_book(s, lx().config, month=month, cadre=cadre, village=village, today=today())
    data: bytes | None = None
    if fmt == "pdf":
        with tempfile.TemporaryDirectory(prefix="lianxin-book-") as tmp:
            try:
                data = printing.html_to_pdf(book.html, Path(tmp) / "book.pdf").read_bytes()
            except printing.PrintError as e:
                abort(400, description=str(e))  # no audit row for a book not given
    with db(write=True) as s:
        diary_book.record_export(s, book, actor=user().actor, fmt=fmt)
    if data is None:
        return Response(book.html, mimetype="text/html")
    return send_file(
        io.BytesIO(data), mimetype="application/pdf", as_attachment=False, download_name=f"{book.name}.pdf"
    )
