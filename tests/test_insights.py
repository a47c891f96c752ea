"""民情分析 (issue 26 item 3): the month's categories and keywords by village, how they moved since last month,
the slowest categories, repeat askers counted (not named); the console's 热点 page with SVG bars, ``lianxin
insights month`` (JSON of PRODUCT.md "The station"), and the month report's xlsx sheet 民情热点. No personal data:
a household head's, a member's or a cadre's name, a phone, a card number typed into a request never becomes a
keyword."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from console.documents import insights as insights_document
from console.documents.report import render
from storage import insights, numbering
from storage.assessment import build_report
from storage.models import Household, VillagerRequest
from tests.support.cli import audit_actions, run_cli
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)

TEXTS = [  # all from 张大山's household (新桥村): with request 1, four this month → a repeat asker
    ("求助", "赵小河家的排水沟堵了，我的电话13811112222，卡号10000001"),
    ("求助", "王芳说的排水沟什么时候修？李明也来看过"),
    ("咨询", "张小红的医保报销怎么办理"),
]


@pytest.fixture
def asked(world: World) -> World:
    with world.lx.session() as s:
        h = s.get(Household, world.ids["hh_a"])
        assert h is not None
        h.members = [{"name": "张小红", "relation": "女儿"}]
        for i, (category, text) in enumerate(TEXTS):
            s.add(
                VillagerRequest(
                    number=numbering.draw(s, "villager_request"),
                    household_id=h.id,
                    cadre_id=world.ids["cadre_a"],
                    category=category,
                    text=text,
                    created_at=world.clock() - timedelta(hours=3 + i),
                    first_answer_at=world.clock() - timedelta(hours=1) if i == 0 else None,
                )
            )
        s.add(  # last month: one 咨询 in 石门村
            VillagerRequest(
                number=numbering.draw(s, "villager_request"),
                household_id=world.ids["hh_b"],
                cadre_id=world.ids["cadre_b"],
                category="咨询",
                text="十月的问题",
                created_at=world.clock() - timedelta(days=40),
            )
        )
    return world


def _build(w: World, village: tuple[int, str] | None = None) -> insights.Insights:
    with w.lx.session() as s:
        return insights_document.build(s, w.lx.config, "2026-11", village=village)


NAMES = ("张大山", "赵小河", "王芳", "李明", "张小红")


def _no_personal_data(text: str) -> None:
    for name in NAMES:
        assert name not in text
    for part in ("大山", "小河", "小红", "13811112222", "10000001"):
        assert part not in text


def test_the_months_categories_villages_and_repeat_askers(asked: World) -> None:
    d = _build(asked)
    assert d.requests == 5
    cats = {c.name: (c.count, c.previous_count, c.answered_in_time) for c in d.categories}
    assert cats == {"求助": (3, 0, 1), "咨询": (2, 1, 0)}
    assert {v.name: v.requests for v in d.villages} == {"新桥村": 4, "石门村": 1}
    assert d.repeat_askers == 1  # 张大山's household asked four times; counted, not named
    assert "排水沟" in {k.word for k in d.keywords}
    assert [c.name for c in d.slowest_categories] == ["求助"]


def test_names_phones_and_card_numbers_never_become_keywords(asked: World) -> None:
    d = _build(asked)
    words = {k.word for k in d.keywords} | {k.word for v in d.villages for k in v.keywords}
    assert words and not any(ch.isdigit() for w in words for ch in w)
    _no_personal_data(" ".join(sorted(words)))
    _no_personal_data(json.dumps(d.to_dict(), ensure_ascii=False))


def test_the_keyword_filter_drops_names_even_when_the_splitter_cuts_them() -> None:
    split = insights.KeywordFilter(lambda t: ["张大", "大山", "排水沟", "138", "张大山家"], ["张大山"])
    assert split("随便") == ["排水沟"]


def test_the_hotspot_page_shows_a_villages_categories_with_charts(asked: World) -> None:
    admin = asked.login("admin")
    page = page_text(admin.get(f"/insights?period=2026-11&village={asked.ids['village_a']}"))
    assert "<svg" in page and "求助" in page and "咨询" in page and "排水沟" in page
    assert 'id="repeat-askers">1<' in page
    _no_personal_data(page.split('id="insights"')[1])
    whole = page_text(admin.get("/insights?period=2026-11"))
    assert "石门村" in whole.split('id="villages"')[1]
    assert admin.get("/insights?period=2026-13").status_code == 400


def test_a_village_account_sees_its_own_village_only(asked: World) -> None:
    xq = asked.login("xinqiao")
    assert xq.get(f"/insights?period=2026-11&village={asked.ids['village_b']}").status_code == 404
    page = page_text(xq.get("/insights?period=2026-11"))
    table = page.split('id="villages"')[1]
    assert "新桥村" in table and "石门村" not in table


def test_the_cli_writes_the_json_of_product_md(asked: World) -> None:
    r = run_cli(asked.lx, "insights", "month", "2026-11", "--village", "新桥村")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert list(data)[:4] == ["period", "categories", "keywords", "villages"]
    assert data["period"] == "2026-11"
    assert {c["name"]: c["count"] for c in data["categories"]} == {"求助": 3, "咨询": 1}
    assert set(data["categories"][0]) >= {"name", "count", "answered_in_time"}
    assert set(data["keywords"][0]) == {"word", "count"}
    assert [(v["name"], v["requests"]) for v in data["villages"]] == [("新桥村", 4)]
    assert "insights.export" in audit_actions(asked.lx)
    _no_personal_data(r.stdout)
    bad = run_cli(asked.lx, "insights", "month", "2026-11", "--village", "没有这个村")
    assert bad.exit_code != 0 and "没有名为" in bad.output


def test_the_month_reports_xlsx_has_the_hotspot_sheet(asked: World) -> None:
    admin = asked.login("admin")
    r = admin.get("/reports/download?kind=month&period=2026-11&format=xlsx")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data))
    assert insights_document.SHEET in wb.sheetnames
    cells = [
        v for row in wb[insights_document.SHEET].iter_rows(values_only=True) for v in row if v is not None
    ]
    assert "求助" in cells and "排水沟" in cells
    _no_personal_data(" ".join(str(c) for c in cells))
    with asked.lx.session() as s:  # the JSON report stays as PRODUCT.md fixes it
        report = build_report(s, asked.lx.config, "month", "2026-11", now=asked.clock())
        insights_document.attach(s, asked.lx.config, report, None)
    assert "insights" not in json.loads(render(report, "json"))


def test_the_departments_hook_ranks_the_slowest() -> None:
    rows = [
        {"name": "民政办", "received": 4, "answered_in_time": 1},
        {"name": "司法所", "received": 2, "answered_in_time": 2},
        {"name": "派出所", "received": 0, "answered_in_time": 0},
    ]
    assert [r["name"] for r in insights.slowest_departments(rows)] == ["民政办", "司法所"]
