"""The office's remarks, tried as the office would: on the quarter's report page it writes a 点评 for a village
and for a cadre; they are printed with the quarter report (html, xlsx, pdf, and the json field ``comment`` on
village and cadre rows — quarter reports only), audited, and a published quarter keeps them as they were.
On the year's page it marks cadres commended (表彰) with a reason, printed with the year report (json fields
``commended`` / ``commendation``) and exported as an xlsx list for the 年终绩效考核."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from console.documents import publishing
from console.documents.report import render
from storage.assessment import build_report
from storage.models import AuditLog, OfficeRemark, PublishedReport, Township
from tests.support.cli import run_cli
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)

VILLAGE_WORDS = "新桥村入户走访扎实，诉求答复及时。"
CADRE_WORDS = "李明同志日记记录详实，下季度注意月小结按时提交。"


def _report(w: World, kind: str, period: str) -> Any:
    with w.lx.session() as s:
        return build_report(s, w.lx.config, kind, period, now=w.clock())


def _comment(c: Any, w: World, subject: str, text: str, period: str = "2026Q4") -> Any:
    return c.post("/reports/remarks", {"kind": "quarter", "period": period, "subject": subject, "text": text})


def _cells(xlsx: bytes) -> dict[str, list[Any]]:
    wb = load_workbook(io.BytesIO(xlsx))
    return {ws.title: [v for row in ws.iter_rows(values_only=True) for v in row] for ws in wb.worksheets}


def test_the_quarters_comments_are_printed_with_the_quarter_report(world: World) -> None:
    admin = world.login("admin")
    assert _comment(admin, world, f"village:{world.ids['village_a']}", VILLAGE_WORDS).status_code == 302
    r = _comment(admin, world, f"cadre:{world.ids['cadre_a']}", CADRE_WORDS)
    assert r.status_code == 302
    page = page_text(admin.get("/reports?kind=quarter&period=2026Q4"))
    assert "已保存对李明的点评" in page and VILLAGE_WORDS in page and CADRE_WORDS in page
    report = _report(world, "quarter", "2026Q4")
    data = report.to_dict()
    assert {v["name"]: v["comment"] for v in data["villages"]} == {"新桥村": VILLAGE_WORDS, "石门村": None}
    assert {c["name"]: c["comment"] for c in data["cadres"]} == {"李明": CADRE_WORDS, "王芳": None}
    assert "comment" not in data["totals"] and "commended" not in data["cadres"][0]
    html = render(report, "html").decode("utf-8")
    assert "办公室季度点评" in html and VILLAGE_WORDS in html and CADRE_WORDS in html
    cells = _cells(render(report, "xlsx"))
    assert (
        CADRE_WORDS in cells["干部排名"]
        and VILLAGE_WORDS in cells["各村汇总"]
        and "点评" in cells["干部排名"]
    )
    # the CLI's json carries the same field
    cli = json.loads(run_cli(world.lx, "report", "quarter", "2026Q4").stdout)
    assert {c["name"]: c["comment"] for c in cli["cadres"]}["李明"] == CADRE_WORDS
    # a month's report has no comment field at all
    month = _report(world, "month", "2026-11").to_dict()
    assert all("comment" not in row for row in [*month["cadres"], *month["villages"]])
    assert [(a.target, a.actor) for a in world.audits("remark.comment")] == [
        ("comment:2026Q4:village:新桥村", "console:admin"),
        ("comment:2026Q4:cadre:13900000001", "console:admin"),
    ]


def test_a_comment_saved_empty_is_removed_and_audited(world: World) -> None:
    admin = world.login("admin")
    _comment(admin, world, f"cadre:{world.ids['cadre_a']}", CADRE_WORDS)
    r = _comment(admin, world, f"cadre:{world.ids['cadre_a']}", "  ")
    assert r.status_code == 302 and world.count(OfficeRemark) == 0
    assert world.audits("remark.comment_remove")[0].detail["was"] == CADRE_WORDS
    assert _report(world, "quarter", "2026Q4").to_dict()["cadres"][0]["comment"] is None


@pytest.mark.parametrize(
    "form, status, words",
    [
        ({"subject": "cadre:{cadre_a}", "text": "长" * 501}, 400, "不超过 500 字"),
        ({"subject": "cadre:{cadre_a}", "text": "好", "period": "2026Q5"}, 400, "YYYYQn"),
        ({"subject": "cadre:999999", "text": "好"}, 400, "请选择点评对象"),
        ({"subject": "", "text": "好"}, 400, "请选择点评对象"),
        ({"subject": "cadre:{cadre_a}", "text": "好", "kind": "month", "period": "2026-11"}, 400, "季点评"),
    ],
)
def test_a_bad_comment_is_refused_and_changes_nothing(
    world: World, form: dict[str, str], status: int, words: str
) -> None:
    data = {"kind": "quarter", "period": "2026Q4", **{k: v.format(**world.ids) for k, v in form.items()}}
    r = world.login("admin").post("/reports/remarks", data)
    assert r.status_code == status and words in page_text(r)
    assert world.count(OfficeRemark) == 0 and world.count(AuditLog, AuditLog.action.like("remark.%")) == 0


def test_only_the_office_writes_remarks(world: World) -> None:
    for user in ("xinqiao", "leader"):
        r = _comment(world.login(user), world, f"cadre:{world.ids['cadre_a']}", CADRE_WORDS)
        assert r.status_code == 403
    assert world.count(OfficeRemark) == 0
    assert 'id="comment-form"' not in page_text(
        world.login("xinqiao").get("/reports?kind=quarter&period=2026Q4")
    )


def test_a_published_quarter_keeps_the_comments_as_they_were(world: World) -> None:
    admin = world.login("admin")
    assert _comment(admin, world, f"cadre:{world.ids['cadre_a']}", CADRE_WORDS).status_code == 302
    world.clock.set("2027-01-05 10:00")
    with world.lx.session() as s:
        t = s.scalar(select(Township))  # the world's one township
        out = publishing.publish(
            s, world.lx.config, "quarter", "2026Q4", township=(t.id, t.name), actor="test", now=world.clock()
        )
        assert out.published
    admin = world.login("admin")  # the clock moved on: a new session
    assert _comment(admin, world, f"cadre:{world.ids['cadre_a']}", "改过的点评").status_code == 302
    frozen = json.loads(world.one(select(PublishedReport.content).where(PublishedReport.format == "json")))
    assert {c["name"]: c["comment"] for c in frozen["cadres"]}["李明"] == CADRE_WORDS
    html = world.one(select(PublishedReport.content).where(PublishedReport.format == "html")).decode("utf-8")
    assert CADRE_WORDS in html and "改过的点评" not in html
    assert _report(world, "quarter", "2026Q4").to_dict()["cadres"][0]["comment"] == "改过的点评"


def _commend(c: Any, w: World, reason: str, action: str = "save", cadre: str = "cadre_a") -> Any:
    return c.post(
        "/reports/remarks",
        {"kind": "year", "period": "2026", "cadre": str(w.ids[cadre]), "reason": reason, "action": action},
    )


def test_the_commended_are_printed_with_the_year_report_and_exported_for_the_year_end(world: World) -> None:
    admin = world.login("admin")
    r = _commend(admin, world, "全年走访农户 100%，群众满意率第一")
    assert r.status_code == 302
    page = page_text(admin.get("/reports?kind=year&period=2026"))
    assert "已将李明列入 2026 年度表彰" in page and "★表彰" in page
    report = _report(world, "year", "2026")
    rows = {c["name"]: c for c in report.to_dict()["cadres"]}
    assert (rows["李明"]["commended"], rows["李明"]["commendation"]) == (
        True,
        "全年走访农户 100%，群众满意率第一",
    )
    assert (rows["王芳"]["commended"], rows["王芳"]["commendation"]) == (False, None)
    assert "comment" not in rows["李明"]
    html = render(report, "html").decode("utf-8")
    assert "年度表彰" in html and "全年走访农户 100%，群众满意率第一" in html
    assert "全年走访农户 100%，群众满意率第一" in _cells(render(report, "xlsx"))["表彰名单"]
    x = admin.get("/reports/commendations.xlsx?year=2026")
    assert x.status_code == 200 and "spreadsheetml" in x.mimetype
    cells = _cells(x.data)["表彰名单"]
    assert "李明" in cells and "王芳" not in cells and "全年走访农户 100%，群众满意率第一" in cells
    assert "139****0001" in cells  # the console masks phones, as its other exports do
    assert [a.target for a in world.audits("report.export")] == ["commendations:2026"]
    assert world.audits("remark.commend")[0].target == "commend:2026:cadre:13900000001"
    # a quarter's rows carry no 表彰 fields
    assert "commended" not in _report(world, "quarter", "2026Q4").to_dict()["cadres"][0]


def test_a_commendation_needs_a_reason_and_can_be_withdrawn(world: World) -> None:
    admin = world.login("admin")
    r = _commend(admin, world, "  ")
    assert r.status_code == 400 and "请写明表彰事由" in page_text(r) and world.count(OfficeRemark) == 0
    assert _commend(admin, world, "事" * 101).status_code == 400
    _commend(admin, world, "调解纠纷成效突出")
    r = _commend(admin, world, "", action="remove")
    assert r.status_code == 302 and world.count(OfficeRemark) == 0
    assert [a.action for a in world.audits("remark.commend_remove")] == ["remark.commend_remove"]
    assert world.login("leader").get("/reports/commendations.xlsx?year=2026").status_code == 403
    assert admin.get("/reports/commendations.xlsx?year=20x6").status_code == 400


def test_the_command_line_writes_comments_and_commendations_and_exports_the_list(
    world: World, tmp_path: Any
) -> None:
    r = run_cli(world.lx, "report", "comment", "2026Q4", "--village", "新桥村", "--text", VILLAGE_WORDS)
    assert r.exit_code == 0 and "2026Q4 对新桥村的点评：已保存" in r.output, r.output
    r = run_cli(
        world.lx, "report", "comment", "2026Q4", "--cadre", "13900000002", "--text", "王芳同志调解有方"
    )
    assert r.exit_code == 0, r.output
    data = json.loads(run_cli(world.lx, "report", "quarter", "2026Q4").stdout)
    assert {v["name"]: v["comment"] for v in data["villages"]}["新桥村"] == VILLAGE_WORDS
    assert {c["name"]: c["comment"] for c in data["cadres"]}["王芳"] == "王芳同志调解有方"
    r = run_cli(world.lx, "report", "commend", "2026", "13900000002", "--reason", "化解矛盾纠纷 12 起")
    assert r.exit_code == 0 and "已保存" in r.output, r.output
    out = tmp_path / "commended.xlsx"
    r = run_cli(world.lx, "report", "commended", "2026", "--out", str(out))
    assert (
        r.exit_code == 0
        and "石门村\t王芳\t13900000002\t化解矛盾纠纷 12 起" in r.output
        and "共 1 人" in r.output
    )
    cells = _cells(out.read_bytes())["表彰名单"]
    assert (
        "王芳" in cells and "13900000002" in cells and "李明" not in cells
    )  # the CLI has the office's authority
    assert run_cli(world.lx, "report", "commend", "2026", "13900000002", "--withdraw").exit_code == 0
    assert "共 0 人" in run_cli(world.lx, "report", "commended", "2026").output
    assert "commendations:2026" in [a.target for a in world.audits("report.export")]
    assert [a.actor for a in world.audits("remark.commend_remove")] == ["cli"]


@pytest.mark.parametrize(
    "args, error",
    [
        (["comment", "2026Q5", "--cadre", "13900000001", "--text", "好"], "YYYYQn"),
        (["comment", "2026Q4", "--cadre", "13000000000", "--text", "好"], "没有电话为 13000000000"),
        (["comment", "2026Q4", "--village", "无此村", "--text", "好"], "没有名为「无此村」"),
        (["comment", "2026Q4", "--text", "好"], "--cadre"),
        (["commend", "2026", "13900000001"], "请写明表彰事由"),
        (["commend", "26", "13900000001", "--reason", "好"], "YYYY"),
    ],
)
def test_a_bad_remark_on_the_command_line_is_refused_and_changes_nothing(
    world: World, args: list[str], error: str
) -> None:
    r = run_cli(world.lx, "report", *args)
    assert r.exit_code != 0 and error in r.output, r.output
    assert world.count(OfficeRemark) == 0 and world.count(AuditLog, AuditLog.action.like("remark.%")) == 0
