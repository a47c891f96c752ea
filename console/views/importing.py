"""导入: upload a link list (.xlsx/.csv) → preview with row errors (``plan_import``, storage/importer/plan.py) →
confirm (``apply_import``, storage/importer/apply.py). The upload waits in the media folder under a random name
bound to the user's session (storage/uploads.py), and is deleted when confirmed or replaced, or after [console]
import_upload_hours."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, render_template, request, send_file, session

from console.access import admin_only, db, done, lx, now, record, record_export, user
from handlers import link_notices
from storage import import_archive, importer, townships, uploads
from storage.models import ImportArchive

bp = Blueprint("importing", __name__)

MAX_UPLOAD = 16 * 1024 * 1024


def _media() -> str:
    return str(lx().config.general.media_dir)


def _pending() -> tuple[Path, str] | None:
    p = session.get("import")
    if not p or not isinstance(p, dict):
        return None
    path = uploads.import_path(_media(), str(p.get("token", "")))
    return (path, p.get("name", "")) if path is not None else None


def _plan(s: Any, data: bytes, name: str) -> Any:
    """The plan of a list: a township's office imports its own township's rows only; the county's a list with
    a 乡镇 column (or, while the deployment holds one township, a list of that one)."""
    table = importer.read_rows(data, name)
    u = user()
    township = u.township_name
    if township and table.has_township:
        for r in table.rows:
            if r.values.get("township", "").strip() not in ("", township):
                table.problems.append(
                    importer.Problem(
                        r.number, "乡镇", f"本账号只能导入{township}的名单（此行为{r.values['township']}）"
                    )
                )
    elif township is None and not table.has_township:
        try:
            township = townships.resolve_name(s, None, default=lx().config.general.township)
        except townships.TownshipRefused:
            table.problems.append(
                importer.Problem(
                    None,
                    "乡镇",
                    f"本系统有多个乡镇：县级账号导入的名单需有「乡镇」列（{'、'.join(townships.names(s))}）",
                )
            )
    return importer.plan_import(
        s,
        table,
        township=township or lx().config.general.township,
        minimum=lx().config.score.min_households,
    )


@bp.get("/import")
@admin_only
def import_form() -> Any:
    return render_template("import.html", plan=None)


@bp.get("/import/template.xlsx")
@admin_only
def import_template() -> Any:
    return send_file(
        io.BytesIO(importer.template_bytes()),
        as_attachment=True,
        download_name="联户名单模板.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@bp.post("/import")
@admin_only
def import_preview() -> Any:
    f = request.files.get("file")
    if f is None or not f.filename:
        abort(400, description="请选择要导入的 .xlsx 或 .csv 文件")
    name = Path(f.filename).name
    if Path(name).suffix.lower() not in (".xlsx", ".xlsm", ".csv"):
        abort(400, description="只支持 .xlsx 或 .csv 文件")
    data = f.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        abort(400, description="文件超过 16 MB")
    old = _pending()
    if old:
        old[0].unlink(missing_ok=True)
    hours = lx().config.console.import_upload_hours
    uploads.sweep_imports(_media(), now=now(), older_than=timedelta(hours=hours))  # others' abandoned ones
    token = uploads.save_import(_media(), data, now=now())
    session["import"] = {"token": token, "name": name}
    with lx().read_session() as s:  # the preview plans, it writes nothing
        plan = _plan(s, data, name)
    return render_template("import.html", plan=plan, name=name)


@bp.post("/import/confirm")
@admin_only
def import_confirm() -> Any:
    pending = _pending()
    if pending is None:
        abort(400, description="没有待确认的导入文件，请重新上传")
    path, name = pending
    data = path.read_bytes()
    yes = request.form.get("accept_register_edits") == "1"
    with db() as s:
        plan = _plan(s, data, name)
        if not plan.ok or (plan.needs_yes and not yes):  # the register's own changes: only with the tick
            return render_template("import.html", plan=plan, name=name, ask_yes=plan.ok), 400
        importer.apply_import(s, plan, actor=user().actor, now=now(), yes=yes)
        link_notices.tell_villagers(s, plan.moved_households, tz=lx().config.tz)
        record(s, "import.console", f"file:{name}", rows=plan.rows, counts=plan.counts)
        import_archive.keep(  # the list as submitted; the upload itself is deleted below
            s,
            data=data,
            filename=name,
            township_id=None if plan.parts else plan.township_id,
            rows=plan.rows,
            counts=plan.counts,
            actor=user().actor,
            now=now(),
        )
        lines = plan.summary_lines()
    path.unlink(missing_ok=True)
    session.pop("import", None)
    return done("导入完成：" + "；".join(lines), "console.importing.import_form")


@bp.get("/import/archive")
@admin_only
def import_archive_list() -> Any:
    """The lists as submitted (storage/import_archive.py): a township's office its own, the county's every one."""
    with db() as s:
        rows = import_archive.listed(s, township_id=user().township_id)
        return render_template("import_archive.html", rows=rows)


@bp.get("/import/archive/<int:archive_id>")
@admin_only
def import_archive_file(archive_id: int) -> Any:
    """One archived list, as it was submitted (audited)."""
    with db() as s:
        a = s.get(ImportArchive, archive_id)
        if a is None or (user().township_id is not None and a.township_id != user().township_id):
            abort(404)
        if a.content is None:
            abort(410, description="该名单的内容已按个人信息清除要求删除，仅保留导入记录。")
        data, filename = bytes(a.content), a.filename
    record_export("import.archive.download", f"import_archive:{archive_id}", filename=filename)
    return send_file(io.BytesIO(data), as_attachment=True, download_name=filename)
