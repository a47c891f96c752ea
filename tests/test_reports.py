"""Report exports: ``lianxin report …`` and the renderers (json, xlsx, html), on the hand-computed township of
test_assessment; an export is audited only once its file is written."""

from __future__ import annotations

import io
import json
import re
from functools import partial
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from console.documents.report import render_html, store_report
from storage.assessment import build_report
from storage.models import AuditLog, StoredReport
from tests.support.cli import audit_actions, run_cli
from tests.support.factories import Factory
from tests.support.township import NOW, Scenario, at


@pytest.fixture
def township(lx: Any, session: Any, clock: Any) -> Any:
    Scenario(session).build()
    clock.set(NOW)
    return lx


# The report commands must not raise: an exception is a failure here, not an exit code.
run = partial(run_cli, catch_exceptions=False)


def audits(lx: Any) -> list[tuple[str, str, str | None]]:
    with lx.read_session() as s:
        return [(a.actor, a.action, a.target) for a in s.scalars(select(AuditLog).order_by(AuditLog.id))]


def test_json_to_stdout(township: Any, session: Any) -> None:
    result = run(township, "report", "month", "2026-11")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data)[:5] == ["kind", "period", "cadres", "villages", "totals"]
    assert (data["kind"], data["period"]) == ("month", "2026-11")
    required = {
        "name",
        "phone",
        "village",
        "households",
        "diary_days",
        "diary_entries",
        "summary_submitted",
        "tasks_assigned",
        "tasks_fed_back",
        "tasks_on_time",
        "tasks_overdue",
        "requests_received",
        "requests_answered",
        "requests_answered_in_sla",
        "score",
        "rank",
    }
    assert all(required <= set(row) for row in data["cadres"])
    assert [(r["name"], r["phone"], r["score"], r["rank"]) for r in data["cadres"]] == [
        ("张三", "13900000001", 80.0, 1),
        ("孙七", "13900000003", 75.0, 2),
        ("李四", "13900000002", 75.0, 2),
        ("王五", "13900000004", 56.06, 4),
        ("赵六", "13900000005", 15.04, 5),
    ]
    assert data == build_report(session, township.config, "month", "2026-11", now=at(NOW)).to_dict()
    assert audits(township) == [("cli", "report.export", "month:2026-11")]


def test_quarter_and_year_json_to_file(township: Any, tmp_path: Any) -> None:
    out = tmp_path / "q.json"
    assert run(township, "report", "quarter", "2026q4", "--out", str(out)).exit_code == 0
    q = json.loads(out.read_text(encoding="utf-8"))
    assert (q["kind"], q["period"], q["previous_period"]) == ("quarter", "2026Q4", "2026Q3")
    assert {r["name"]: r["score"] for r in q["cadres"]}["王五"] == 53.33
    result = run(township, "report", "year", "2026")
    y = json.loads(result.stdout)
    assert y["period"] == "2026" and len(y["trend"]) == 12 and y["trend"][-1]["month"] == "2026-12"


def test_xlsx_is_a_formatted_workbook(township: Any, tmp_path: Any) -> None:
    """The circular as the township files it: its sheet names and column heads are its wording, pinned."""
    out = tmp_path / "月通报.xlsx"
    result = run(township, "report", "month", "2026-11", "--format", "xlsx", "--out", str(out))
    assert result.exit_code == 0, result.output
    wb = load_workbook(io.BytesIO(out.read_bytes()))
    assert wb.sheetnames == [
        "干部排名",
        "得分构成",
        "各村汇总",
        "全镇合计",
        "未达最低要求",
        "督办卡逾期红榜",
        "月度趋势",
        "民情热点",  # 民情分析 of the month (console/documents/insights.py)
        "计分说明",
    ]
    ws = wb["干部排名"]
    assert ws.freeze_panes == "C2"
    header = [c.value for c in ws[1]]
    assert header[:5] == ["排名", "姓名", "村(居)", "岗位", "电话"]
    rows = {r[1]: dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["王五"]["得分"] == 56.06 and isinstance(rows["王五"]["联系农户"], int)
    assert rows["王五"]["日记覆盖率"] == 0.8182 and rows["李四"]["排名"] == 2 and rows["孙七"]["排名"] == 2
    cov_col = header.index("日记覆盖率") + 1
    assert ws.cell(row=2, column=cov_col).number_format == "0.0%"
    assert ws.column_dimensions["B"].width >= 6
    for name in wb.sheetnames:
        assert wb[name].freeze_panes is not None
    red = list(wb["督办卡逾期红榜"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[2]) for r in red] == [(1, "赵六"), (6, "孙七")]
    villages = {r[1]: r for r in wb["各村汇总"].iter_rows(min_row=2, values_only=True)}
    assert set(villages) == {"新桥村", "石门村"}
    breakdown = [c.value for c in wb["得分构成"][1]]
    assert "民情日记·得分" in breakdown and "五个一台账·得分" in breakdown  # the ledger weighs by default


def test_html_is_one_printable_file_with_charts(township: Any, tmp_path: Any) -> None:
    """The printed circular: its title and the reasons it gives are the document's wording, pinned."""
    out = tmp_path / "november.html"
    assert run(township, "report", "month", "2026-11", "--out", str(out)).exit_code == 0
    html = out.read_text(encoding="utf-8")
    assert html.count("<svg") == 3
    assert "@page { size: A4" in html
    assert "示范镇“三五连心”工程2026年11月月通报" in html
    for figure in (
        "60.22",
        "56.06",
        "15.04",
        "13900000004",
        "张三",
        "至今未反馈",
        "联系农户不足",
        "日记覆盖率偏低",
    ):
        assert figure in html, figure
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # nothing fetched from outside
    assert "<script" not in html and "<link" not in html
    # the console's copy masks phones
    with township.session() as s:
        masked = render_html(
            build_report(s, township.config, "month", "2026-11", now=at(NOW)), mask_phones=True
        )
    assert "139****0004" in masked and "13900000004" not in masked


def test_bad_input_is_refused_and_not_audited(township: Any, tmp_path: Any) -> None:
    """The operator is told which format or option is wrong (its words pinned); nothing is audited."""
    r = run(township, "report", "month", "2026-13")
    assert r.exit_code == 2 and "YYYY-MM" in r.output
    r = run(township, "report", "quarter", "2026-11")
    assert r.exit_code == 2 and "YYYYQn" in r.output
    r = run(township, "report", "year", "26")
    assert r.exit_code == 2 and "YYYY" in r.output
    r = run(township, "report", "week", "2026-11")
    assert r.exit_code == 2
    r = run(township, "report", "month", "2026-11", "--format", "xlsx")
    assert r.exit_code != 0 and "--out" in r.output
    r = run(township, "report", "month", "2026-11", "--out", str(tmp_path / "x.csv"))
    assert r.exit_code != 0 and "--format" in r.output
    assert not (tmp_path / "x.csv").exists()
    assert audits(township) == []


def test_store_report_keeps_three_formats_and_replaces_them(township: Any) -> None:
    with township.session() as s:
        report = store_report(s, township.config, "month", "2026-11", at(NOW))
        assert report.totals.avg_score == 60.22
    with township.session() as s:
        store_report(s, township.config, "month", "2026-11", at("2026-12-03 10:00"))
    with township.session() as s:
        rows = s.execute(
            select(StoredReport.format, StoredReport.created_at).order_by(StoredReport.format)
        ).all()
        assert [f for f, _ in rows] == ["html", "json", "xlsx"]
        assert all(created == at("2026-12-03 10:00") for _, created in rows)
        stored = json.loads(s.scalar(select(StoredReport.content).where(StoredReport.format == "json")))
        assert stored["period"] == "2026-11"
        assert s.scalar(select(func.count()).select_from(StoredReport)) == 3
    assert audits(township) == [("scheduler", "report.store", "month:2026-11")] * 2


# ------------------------------------------------------------------------------------------
# An export is audited only once its file is written; the message names the file the user chose.


def test_report_write_failure_is_not_audited(lx: Any, session: Any, clock: Any, tmp_path: Any) -> None:
    clock.set("2026-11-24 20:00")
    Factory(session).cadre()
    session.commit()
    bad = tmp_path / "missing-dir" / "r.html"
    r = run_cli(lx, "report", "month", "2026-11", "--out", str(bad))
    assert r.exit_code != 0 and "所在文件夹不存在" in r.output and not bad.exists()  # worded on purpose
    assert audit_actions(lx) == []
    good = tmp_path / "r.html"
    r = run_cli(lx, "report", "month", "2026-11", "--out", str(good))
    assert r.exit_code == 0, r.output
    assert good.exists() and audit_actions(lx) == ["report.export"]
    assert str(good) in r.output and "默认文件名" not in r.output
