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
from console.blueprint import bp
from console.documents import card_codes
from console.documents import printing as docs
from console.views import common

NO_CREDENTIALS = "未配置微信 app_id / app_secret：服务卡不带二维码打印，村民可发送卡号联系干部。"


@bp.get("/print")
@writers
def print_index() -> Any:
    with db() as s:
        return render_template(
            "print_index.html",
            villages=common.villages(s),
            pdf=docs.find_chromium() is not None,
            no_credentials=card_codes.credentials_missing(lx().config),
        )


def _village_arg() -> str | None:
    name = (request.form.get("village") or "").strip() or None
    if user().role == "village":
        if name not in (None, user().village_name):
            abort(404)
        return user().village_name
    if name and user().township_id is not None:
        with db() as s:
            if not any(v.name == name for v in common.villages(s)):
                abort(404)  # another township's village: as if it did not exist
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
        return send_file(
            io.BytesIO(data), mimetype="application/pdf", as_attachment=False, download_name=f"{label}.pdf"
        )
    return Response(html, mimetype="text/html")


@bp.post("/print/cards")
@writers
def print_cards() -> Any:
    """Cards with the account's own QR codes, made through the API first where a card has none (kept, so a
    reprint asks nothing); without WeChat credentials the cards print without a QR code and say so."""
    village = _village_arg()
    notice = None
    with db() as s:
        try:
            ids = [c.id for c in docs.printable_cards(s, village=village, township_id=user().township_id)]
        except docs.PrintError as e:
            abort(400, description=str(e))
    if card_codes.credentials_missing(lx().config):
        notice = NO_CREDENTIALS
    else:
        try:
            run = card_codes.ensure_codes(lx(), ids)
        except card_codes.QrError as e:
            abort(502, description=str(e))
        if run.created:
            with db() as s:
                record(s, "cards.qr_create", f"village:{village or '*'}", created=run.created)
    with db() as s:
        html, n = docs.render_cards(
            s, lx().config, village=village, now=now(), notice=notice, township_id=user().township_id
        )
        record(
            s,
            "cards.print",
            f"village:{village or '*'}",
            cards=n,
            format=request.form.get("format", "html"),
            qr=notice is None,
        )
    return _respond(html, "cards", village)


@bp.post("/print/listing")
@writers
def print_listing() -> Any:
    with db() as s:
        village = _village_arg()
        try:
            html, n = docs.render_listing(
                s,
                lx().config,
                village=village,
                today=common.today(),
                mark=True,
                township_id=user().township_id,
            )
        except docs.PrintError as e:
            abort(400, description=str(e))
        record(
            s,
            "listing.print",
            f"village:{village or '*'}",
            households=n,
            format=request.form.get("format", "html"),
        )
    return _respond(html, "listing", village)
