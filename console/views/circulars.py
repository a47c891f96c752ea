"""已发布的通报: the office publishes a period's circular (console/documents/publishing.py: frozen files, one push
to each bound cadre) and serves the stored files exactly as published. Everyone signed in sees the list of their
township's circulars (the county's accounts: every township's and the county's) and opens each in the browser
(HTML, phones masked); publishing and the files as stored (they carry full phone numbers, as the CLI's) are the
office's (admin), each download audited; the PDF, the copy that is printed and passed round, masks them too.

In a county each township publishes its own circular; a township's office publishes, lists and downloads only its
own (another township's file is 404, as if it did not exist); the county admin sees all and publishes any
township's, or the county report (``township=county``, stored as the county's, nobody pushed)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.access import admin_only, db, done, download, lx, now, record_export, user
from console.documents import publishing
from storage import circulars, townships
from storage.models import Township
from storage.redact import mask_personal_numbers
from storage.words import REPORT_KIND_ZH

bp = Blueprint("circulars", __name__)

KIND_ZH = REPORT_KIND_ZH  # storage/words.py
MIME = {
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}
COUNTY = "county"


def scope(s: Session, raw: str | None) -> tuple[int, str] | None:
    """The township a publication or a file is for, from the form's or URL's ``township`` (an id, or ``county``);
    None: the county's. A township account is always its own township (404 for another's, or for the county's);
    a county account naming none gets the deployment's only township, or in a county the county's."""
    u = user()
    raw = (raw or "").strip()
    if raw == COUNTY:
        if not u.is_county:
            abort(404)
        return None
    if raw:
        t = s.get(Township, int(raw)) if raw.isdigit() else None
        if t is None or not u.sees_township(t.id):
            abort(404)
        return t.id, t.name
    if u.township_id is not None:
        return u.township_id, u.township_name or ""
    only = list(s.execute(select(Township.id, Township.name).order_by(Township.id).limit(2)).tuples())
    if not only:
        abort(400, description="尚无乡镇的数据，请先导入联户名单")
    return only[0] if len(only) == 1 else None


@bp.get("/circulars")
def circulars_page() -> Any:
    u = user()
    with db() as s:
        county = townships.is_county(s)
        rows = circulars.published(s, u.township_id, every=u.is_county)
        choices = (
            list(s.execute(select(Township.id, Township.name).order_by(Township.id)).tuples())
            if u.is_county and county
            else []
        )
        return render_template(
            "circulars.html",
            rows=rows,
            kinds=KIND_ZH,
            can_files=u.is_admin,
            county=county,
            choices=choices,
            whose=u.township_name or ("全县" if county else ""),
        )


@bp.post("/circulars/publish")
@admin_only
def circular_publish() -> Any:
    kind = request.form.get("kind", "")
    period = (request.form.get("period") or "").strip()
    with db() as s:
        where = scope(s, request.form.get("township"))
        if kind not in KIND_ZH:
            abort(400, description="报表类型应为月、季或年")
        try:
            if where is None:
                out = publishing.publish_county(s, lx().config, kind, period, actor=user().actor, now=now())
            else:
                out = publishing.publish(
                    s, lx().config, kind, period, township=where, actor=user().actor, now=now()
                )
        except ValueError as e:
            abort(400, description=str(e).split(" / ")[0])
        whose = "全县" if where is None else (where[1] if townships.is_county(s) else "")
    if not out.published:
        return done(
            f"{whose}{KIND_ZH[kind]} {period} 已经发布过，没有再推送。", "console.circulars.circulars_page"
        )
    note = f"（没有 PDF：{out.pdf_error}）" if out.pdf_error else ""
    told = (
        "全县报表不推送给干部。"
        if where is None
        else f"已向 {out.pushes} 名干部推送各自在本乡镇的得分和名次。"
    )
    return done(f"已发布{whose}{KIND_ZH[kind]} {period}，{told}{note}", "console.circulars.circulars_page")


@bp.get("/circulars/<any(month, quarter, year):kind>/<period>.<any(json, xlsx, html, pdf):fmt>")
def circular_file(kind: str, period: str, fmt: str) -> Any:
    """A published file. The office (admin) gets every format as stored; every other account that sees reports
    (the read-only leader, a village, the county's viewers) opens the HTML in the browser, phones masked as the
    console masks them."""
    office = user().is_admin
    if not office and fmt != "html":
        abort(403)
    with db() as s:
        where = scope(s, request.args.get("township"))
        tid = where[0] if where else None
        content = circulars.stored_file(s, kind, period, fmt, tid)
    if content is None:
        abort(404)
    if not office:  # a page to read, phones masked, as any console page: not an export, not audited
        content = mask_personal_numbers(content.decode("utf-8")).encode("utf-8")
        whose = where[1] if where else "全县"
        return download(content, MIME[fmt], f"{whose}{KIND_ZH[kind]}-{period}.html")
    record_export(
        "report.export_published",
        f"report:{kind}:{period}" + (":county" if tid is None else f":township:{tid}"),
        format=fmt,
    )
    whose = where[1] if where else "全县"
    return download(content, MIME[fmt], f"{whose}{KIND_ZH[kind]}-{period}.{fmt}")
