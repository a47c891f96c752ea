"""打印: service cards (A4, 8 a page, with QR codes) and the public listing (公示) per village, as HTML to
print from the browser or as PDF through headless Chromium. Printing is an export: audited, never for
read-only accounts; a village account prints only its own village."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

from flask import Response, abort, render_template, request, send_file

from console.access import db, lx, now, record, user, writers
from console.documents import printing as docs
from console.views import common
from console.web import bp


@bp.get("/print")
@writers
def print_index() -> Any:
    with db() as s:
        return render_template("print_index.html", villages=common.villages(s), pdf=docs.find_chromium() is not None)


def _village_arg() -> str | None:
    name = (request.form.get("village") or "").strip() or None
    if user().role == "village":
        if name not in (None, user().village_name):
            abort(404)
        return user().village_name
    return name


def _respond(html: str, kind: str, village: str | None) -> Any:
    fmt = request.form.get("format", "html")
    label = {"cards": "便民服务卡", "listing": "联户公示"}[kind] + (f"-{village}" if village else "")
    if fmt == "pdf":
        with tempfile.TemporaryDirectory() as tmp:
            try:
                path = docs.html_to_pdf(html, Path(tmp) / "out.pdf")
            except docs.PrintError as e:
                abort(400, description=str(e))
            data = path.read_bytes()
        return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=False,
                         download_name=f"{label}.pdf")
    return Response(html, mimetype="text/html")


@bp.post("/print/cards")
@writers
def print_cards() -> Any:
    with db() as s:
        village = _village_arg()
        try:
            html, n = docs.render_cards(s, lx().config, village=village, now=now())
        except docs.PrintError as e:
            abort(400, description=str(e))
        record(s, "cards.print", f"village:{village or '*'}", cards=n, format=request.form.get("format", "html"))
    return _respond(html, "cards", village)


@bp.post("/print/listing")
@writers
def print_listing() -> Any:
    with db() as s:
        village = _village_arg()
        try:
            html, n = docs.render_listing(s, lx().config, village=village, today=common.today(), mark=True)
        except docs.PrintError as e:
            abort(400, description=str(e))
        record(s, "listing.print", f"village:{village or '*'}", households=n, format=request.form.get("format", "html"))
    return _respond(html, "listing", village)
