"""打印: service cards (A4, 8 a page, with QR codes) and the public listing (公示) per village, as HTML to
print from the browser or as PDF through headless Chromium. Printing is an export: audited, never for
read-only accounts; a village account prints only its own village.

A print is asked for with a POST, which records a print order and redirects (303) to the order's page: a GET, so
reloading or reopening the tab works. A township's first print of cards makes one ``qrcode/create`` call per
card; that runs in the background (console/documents/card_codes.py ``start_order``) while the page shows the
progress and reloads itself, so no request waits on hundreds of API calls (nginx gives up after 30 s)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, send_file, url_for

from console.access import db, lx, now, record, user, writers
from console.documents import card_codes
from console.documents import printing as docs
from console.views import common
from storage import print_orders
from storage.models import PrintOrder

bp = Blueprint("printing", __name__)


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


def _respond(html: str, kind: str, village: str | None, fmt: str) -> Any:
    label = {"cards": "便民服务卡", "listing": "联户公示", "commitments": "联户工作承诺书"}[kind] + (
        f"-{village}" if village else ""
    )
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


def _format() -> str:
    fmt = request.form.get("format", "html")
    return fmt if fmt in ("html", "pdf") else "html"


def _order(kind: str) -> Any:
    """Record the print asked for and send the browser to its page (a GET: reopening the tab prints again).
    Cards whose QR codes are still to be made get them in the background first; the page shows the progress."""
    village = _village_arg()
    start = False
    with db() as s:
        try:
            printable = docs.printable_cards(s, village=village, township_id=user().township_id)
        except docs.PrintError as e:
            abort(400, description=str(e))
        order = print_orders.create(
            s,
            kind=kind,
            user_id=user().id,
            township_id=user().township_id,
            village=village,
            format=_format(),
            now=now(),
        )
        if kind != "cards":
            order.status = "done"
        elif card_codes.credentials_missing(lx().config):
            order.status, order.notice = "done", card_codes.NO_CREDENTIALS
        elif all(c.qr_url for c in printable):
            order.status = "done"
        else:
            start = True
        token, order_id = order.token, order.id
    if start:
        start_in_background(lx(), order_id)
    return redirect(url_for("console.printing.print_order", token=token), code=303)


# The background run, a seam for the tests (which run it when they choose instead of in a thread).
start_in_background = card_codes.start_order


@bp.post("/print/cards")
@writers
def print_cards() -> Any:
    """Cards with the account's own QR codes, made through the API first where a card has none (kept, so a
    reprint asks nothing); where the account cannot make them (no credentials, 48001 …) the cards print without
    a code and the print says why."""
    return _order("cards")


@bp.post("/print/listing")
@writers
def print_listing() -> Any:
    return _order("listing")


@bp.post("/print/commitments")
@writers
def print_commitments() -> Any:
    """联户工作承诺书, a letter per linked household (nothing to make first: printed at once, audited)."""
    village, fmt = _village_arg(), _format()
    with db() as s:
        try:
            html, n = docs.render_commitments(
                s, lx().config, village=village, today=common.today(), township_id=user().township_id
            )
        except docs.PrintError as e:
            abort(400, description=str(e))
        record(s, "commitments.print", f"village:{village or '*'}", letters=n, format=fmt)
    return _respond(html, "commitments", village, fmt)


@bp.get("/print/orders/<token>")
@writers
def print_order(token: str) -> Any:
    """The print: while its codes are being made, a page that shows the progress and reloads itself; then the
    cards or the listing (each showing audited as a print). Only the person who asked sees it."""
    restart = None
    with db(write=True) as s:  # showing the print audits it (and a listing marks its households listed)
        order = print_orders.by_token(s, token)
        if order is None or order.user_id != user().id:
            abort(404)
        if order.status != "done":
            if print_orders.stale(order, now()):
                restart = order.id  # its run died with its worker: take it over (the claim lets one through)
            page = render_template("print_progress.html", order=order)
        else:
            page = None
            html = _render(s, order)
            fmt = order.format
            village = order.village
            kind = order.kind
    if restart is not None:
        start_in_background(lx(), restart)
    if page is not None:
        return Response(page, mimetype="text/html", headers={"Cache-Control": "no-store", "Refresh": "2"})
    return _respond(html, kind, village, fmt)


def _render(s: Any, order: PrintOrder) -> str:
    if order.kind == "cards":
        html, n = docs.render_cards(
            s,
            lx().config,
            village=order.village,
            now=now(),
            notice=order.notice,
            township_id=order.township_id,
        )
        record(
            s,
            "cards.print",
            f"village:{order.village or '*'}",
            cards=n,
            format=order.format,
            qr=order.notice is None,
        )
        return html
    try:
        html, n = docs.render_listing(
            s,
            lx().config,
            village=order.village,
            today=common.today(),
            mark=True,
            township_id=order.township_id,
        )
    except docs.PrintError as e:
        abort(400, description=str(e))
    record(s, "listing.print", f"village:{order.village or '*'}", households=n, format=order.format)
    return html
