"""The office's remarks on the report pages: the 季点评 (a comment per village and per cadre, on the quarter's
page) and the 年考核's 表彰 (cadres commended for the year, with the list exported as xlsx for the 年终绩效考核).
Writing and the export are the office's (admin); each is audited (storage/remarks.py, report.export). What is
written appears in every rendering of the report, and is frozen with it when the report is published."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request

from console.access import admin_only, cadre_in_scope, db, done, download, in_scope, now, record_export, user
from console.documents import report as report_document
from console.views import common
from console.views.reporting import build_obj
from storage import practices, remarks
from storage.models import Cadre, Village

bp = Blueprint("remarks", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _subject(s: Any, value: str) -> tuple[Cadre | None, Village | None]:
    kind, _, ident = (value or "").partition(":")
    model = {"cadre": Cadre, "village": Village}.get(kind)
    row = s.get(model, int(ident)) if model is not None and ident.isdigit() else None
    if row is None:
        abort(400, description="请选择点评对象（一个村(居)或一名干部）")
    if kind == "cadre":
        cadre_in_scope(row)  # a township's office writes on its own cadres and villages only
        return row, None
    in_scope(row.id)
    return None, row


@bp.post("/reports/remarks")
@admin_only
def report_remark() -> Any:
    f = request.form
    kind, period, action = f.get("kind", ""), (f.get("period") or "").strip(), f.get("action", "save")
    with db() as s:
        try:
            if kind == "quarter":
                cadre, village = _subject(s, f.get("subject", ""))
                text = "" if action == "remove" else f.get("text", "")
                out = remarks.set_comment(
                    s, quarter=period, text=text, actor=user().actor, now=now(), cadre=cadre, village=village
                )
                who = cadre.name if cadre is not None else village.name  # type: ignore[union-attr]
                said = {
                    "saved": f"已保存对{who}的点评。",
                    "removed": f"已删除对{who}的点评。",
                    "unchanged": f"对{who}的点评没有变化。",
                }[out]
            elif kind == "year":
                cadre, _ = _subject(s, f"cadre:{f.get('cadre', '')}")
                assert cadre is not None
                if action == "remove":
                    out = remarks.uncommend(s, year=period, cadre=cadre, actor=user().actor, now=now())
                else:
                    out = remarks.commend(
                        s, year=period, cadre=cadre, reason=f.get("reason"), actor=user().actor, now=now()
                    )
                said = {
                    "saved": f"已将{cadre.name}列入 {period} 年度表彰。",
                    "removed": f"已撤销{cadre.name}的表彰。",
                    "unchanged": f"{cadre.name}的表彰没有变化。",
                }[out]
            else:
                abort(400, description="点评属于季点评，表彰属于年考核")
        except remarks.RemarkError as e:
            abort(400, description=str(e).split(" / ")[0])
    return done(said, "console.reports.reports", kind=kind, period=period)


@bp.get("/reports/commendations.xlsx")
@admin_only
def report_commendations() -> Any:
    year = (request.args.get("year") or "").strip()
    with db() as s:
        try:
            report = build_obj(s, "year", remarks.year_key(year))
        except ValueError as e:
            abort(400, description=str(e))
        found = practices.rows(practices.of_year(s, year=int(report.period), township_id=user().township_id))
    data = report_document.render_commendations_xlsx(report, mask_phones=True, practices=found)
    record_export(
        "report.export",
        f"commendations:{report.period}",
        format="xlsx",
        cadres=sum(1 for c in report.cadres if c.commended),
    )
    return download(data, XLSX, f"表彰名单-{report.period}.xlsx")


def remark_options(s: Any) -> dict[str, Any]:
    """What the report page's forms offer: the villages (for 点评), for the admin only."""
    if not user().is_admin:
        return {"remark_villages": []}
    return {"remark_villages": common.villages(s)}
