"""已发布的通报: the office publishes a period's circular (console/documents/publishing.py: frozen files, one push
to each bound cadre) and serves the stored files exactly as published. Everyone signed in sees the list;
publishing and the files (they carry full phone numbers, as the CLI's) are the office's (admin), audited."""

from __future__ import annotations

import io
from typing import Any

from flask import abort, render_template, request, send_file

from console.access import db, deployment_only, done, lx, now, record, user
from console.blueprint import bp
from console.documents import publishing
from storage import circulars

KIND_ZH = {"month": "月通报", "quarter": "季点评", "year": "年考核"}
MIME = {"json": "application/json", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@bp.get("/circulars")
def circulars_page() -> Any:
    with db() as s:
        rows = circulars.published(s)
        return render_template("circulars.html", rows=rows, kinds=KIND_ZH, can_files=user().is_admin)


@bp.post("/circulars/publish")
@deployment_only
def circular_publish() -> Any:
    kind = request.form.get("kind", "")
    period = (request.form.get("period") or "").strip()
    if kind not in KIND_ZH:
        abort(400, description="报表类型应为月、季或年")
    with db() as s:
        try:
            out = publishing.publish(s, lx().config, kind, period, actor=user().actor, now=now())
        except ValueError as e:
            abort(400, description=str(e).split(" / ")[0])
    if not out.published:
        return done(f"{KIND_ZH[kind]} {period} 已经发布过，没有再推送。", "console.circulars_page")
    note = f"（没有 PDF：{out.pdf_error}）" if out.pdf_error else ""
    return done(f"已发布{KIND_ZH[kind]} {period}，已向 {out.pushes} 名干部推送各自的得分和名次。{note}",
                "console.circulars_page")


@bp.get("/circulars/<any(month, quarter, year):kind>/<period>.<any(json, xlsx, html, pdf):fmt>")
@deployment_only
def circular_file(kind: str, period: str, fmt: str) -> Any:
    with db() as s:
        content = circulars.stored_file(s, kind, period, fmt)
        if content is None:
            abort(404)
        record(s, "report.export_published", f"report:{kind}:{period}", format=fmt)
    return send_file(io.BytesIO(content), mimetype=MIME[fmt], as_attachment=fmt != "html",
                     download_name=f"lianxin-{kind}-{period}-published.{fmt}")
