"""The county report (storage/assessment/county.py) as JSON, an xlsx workbook (乡镇排名, 干部排名, 前列与后列) or an
HTML page (console/documents/templates/county_report.html.j2). Wording of the score's parts comes from
report_labels.toml, as in the township reports. The CLI shows full phone numbers; the console masks them."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from console.documents.report import TEMPLATES, labels, period_title
from handlers.render import mask_phone

TOWNSHIP_COLUMNS = [
    ("rank", "名次"),
    ("name", "乡镇"),
    ("cadres", "干部数"),
    ("scored_cadres", "参评干部"),
    ("households", "联系农户"),
    ("score_avg", "平均得分"),
    ("diary_coverage", "日记覆盖率"),
    ("task_timeliness", "督办按时率"),
    ("requests_in_sla_share", "诉求按时答复率"),
    ("satisfaction", "满意率"),
    ("below_minimum", "未达最低要求人数"),
]
SPREAD = [
    ("min", "最低"),
    ("p25", "下四分位"),
    ("median", "中位数"),
    ("p75", "上四分位"),
    ("max", "最高"),
    ("stdev", "标准差"),
]
CADRE_COLUMNS = [
    ("rank", "全县名次"),
    ("township_rank", "乡镇内名次"),
    ("township", "乡镇"),
    ("village", "村(居)"),
    ("name", "姓名"),
    ("phone", "电话"),
    ("post", "岗位"),
    ("households", "联系农户"),
    ("score", "得分"),
    ("diary_days", "日记天数"),
    ("tasks_on_time", "督办按时"),
    ("tasks_overdue", "督办超时"),
    ("requests_answered_in_sla", "诉求按时答复"),
    ("requests_received", "收到诉求"),
]


def title(data: dict[str, Any]) -> str:
    return f"{data['county']}“三五连心”工程{period_title(data['kind'], data['period'])}全县{labels()['kinds'][data['kind']]}"


def masked(data: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    for key in ("cadres", "top", "bottom"):
        for row in out[key]:
            row["phone"] = mask_phone(row.get("phone"))
    return out


def render_json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def render_xlsx(data: dict[str, Any]) -> bytes:
    from openpyxl import Workbook  # a heavy import, only for this format

    wb = Workbook()
    ws = wb.active  # a new workbook has its first sheet
    assert ws is not None
    ws.title = "乡镇排名"
    parts = [p["key"] for t in data["townships"] for p in t["score_breakdown"]]
    parts = list(dict.fromkeys(parts))
    components = labels()["components"]
    ws.append(
        [h for _, h in TOWNSHIP_COLUMNS]
        + [f"得分{h}" for _, h in SPREAD]
        + [f"{components.get(k, k)}（平均得分）" for k in parts]
    )
    for t in data["townships"]:
        by_key = {p["key"]: p["avg_points"] for p in t["score_breakdown"]}
        ws.append(
            [t.get(k) for k, _ in TOWNSHIP_COLUMNS]
            + [t["distribution"][k] for k, _ in SPREAD]
            + [by_key.get(k) for k in parts]
        )
    for name, rows in (("干部排名", data["cadres"]), ("全县前列", data["top"]), ("全县后列", data["bottom"])):
        sheet = wb.create_sheet(name)
        sheet.append([h for _, h in CADRE_COLUMNS])
        for r in rows:
            sheet.append([r.get(k) for k, _ in CADRE_COLUMNS])
    if data.get("departments"):  # the townships' 站办所 and the requests passed to them (转办)
        dcols = labels()["columns"]["departments"]
        sheet = wb.create_sheet(labels()["sheets"]["departments"])
        sheet.append(list(dcols.values()))
        for d in data["departments"]:
            sheet.append([d.get(k) for k in dcols])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def render_html(data: dict[str, Any]) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("county_report.html.j2").render(
        data=data,
        title=title(data),
        township_columns=TOWNSHIP_COLUMNS,
        spread=SPREAD,
        cadre_columns=CADRE_COLUMNS,
        components=labels()["components"],
        department_columns=labels()["columns"]["departments"],
        departments_title=labels()["sheets"]["departments"],
    )


def render(data: dict[str, Any], fmt: str, *, mask_phones: bool = False) -> bytes:
    if mask_phones:
        data = masked(data)
    if fmt == "json":
        return render_json(data)
    if fmt == "xlsx":
        return render_xlsx(data)
    if fmt == "html":
        return render_html(data).encode("utf-8")
    raise ValueError(f"格式应为 json、xlsx 或 html（收到 {fmt!r}）")
