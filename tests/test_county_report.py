"""The county report: townships ranked by their cadres' scores, built from the same figures as each township's
own report (the hand-computed township of tests/test_assessment.py beside a second township)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from console.documents import county_report as county_document
from storage.assessment import build_report, competition_ranks
from storage.assessment.county import build_county_report
from storage.models import Township, Village
from tests.support.township import NOW, Scenario, at, nov_workdays


def _second_township(session: Any, sc: Scenario) -> Township:
    """青山镇: a village of the same name as one of 示范镇's, two cadres, one writing 15 of 21 days."""
    t2 = sc.add(Township(name="青山镇"))
    v = sc.add(Village(township_id=t2.id, name="新桥村"))
    a = sc.cadre("钱一", "13700000001", v, "2026-11-01 08:00", 30)
    sc.cadre("钱二", "13700000002", v, "2026-11-01 08:00", 31)
    for d in nov_workdays()[:15]:
        sc.diary(a, f"{d.isoformat()} 18:00")
    session.commit()
    return t2


@pytest.fixture
def county(lx: Any, session: Any) -> dict[str, Any]:
    sc = Scenario(session)
    sc.build()
    session.commit()
    first = build_report(session, lx.config, "month", "2026-11", now=at(NOW)).to_dict()
    _second_township(session, sc)
    return {"alone": first, "sc": sc}


def test_the_county_report_agrees_with_the_township_reports(lx, session, county):
    data = build_county_report(session, lx.config, "month", "2026-11", now=at(NOW))
    assert [t["name"] for t in data["townships"]] == ["示范镇", "青山镇"]  # 76.96 against a lower average
    by_phone = {c["phone"]: c for c in data["cadres"]}
    assert len(by_phone) == 7 and {c["township"] for c in data["cadres"]} == {"示范镇", "青山镇"}
    for t in session.scalars(select(Township)):
        own = build_report(session, lx.config, "month", "2026-11", now=at(NOW), township=(t.id, t.name))
        row = next(r for r in data["townships"] if r["name"] == t.name)
        assert row["cadres"] == len(own.cadres) == own.totals.cadres
        assert row["score_avg"] == own.totals.avg_score
        assert row["households"] == own.totals.households
        for r in own.cadres:
            c = by_phone[r.phone]
            assert (c["score"], c["township_rank"], c["township"]) == (r.score, r.rank, t.name)
            assert c["score_breakdown"] == [vars(p) for p in r.score_breakdown]
    # county-wide ranks over every cadre; the top and bottom lists are their ends
    assert [c["rank"] for c in data["cadres"]] == competition_ranks([c["score"] for c in data["cadres"]])
    assert data["top"][0]["name"] == "张三" and data["top"][0]["rank"] == 1
    assert data["bottom"][0]["score"] == min(c["score"] for c in data["cadres"] if c["score"] is not None)
    scores = sorted(c["score"] for c in data["cadres"] if c["township"] == "示范镇")
    spread = data["townships"][0]["distribution"]
    assert (spread["min"], spread["median"], spread["max"]) == (scores[0], scores[2], scores[-1])
    parts = {p["key"] for p in data["townships"][0]["score_breakdown"]}
    assert {"diary", "tasks", "requests"} <= parts


def test_a_township_report_is_unchanged_by_another_township(lx, session, county):
    t = session.scalar(select(Township).where(Township.name == "示范镇"))
    mine = build_report(
        session, lx.config, "month", "2026-11", now=at(NOW), township=(t.id, t.name)
    ).to_dict()
    alone = county["alone"]
    assert [(c["name"], c["score"], c["rank"]) for c in mine["cadres"]] == [
        (c["name"], c["score"], c["rank"]) for c in alone["cadres"]
    ]
    assert mine["villages"] == alone["villages"] and mine["totals"] == alone["totals"]


def test_the_whole_deployment_names_each_village_with_its_township(lx, session, county):
    everyone = build_report(session, lx.config, "month", "2026-11", now=at(NOW))
    names = {v.name for v in everyone.villages}
    assert {"示范镇·新桥村", "青山镇·新桥村"} <= names  # the two 新桥村 are not added together
    assert [t.name for t in everyone.townships] == ["示范镇", "青山镇"]


@pytest.mark.parametrize("fmt", ["json", "xlsx", "html"])
def test_the_county_report_renders_in_every_format_and_masks_for_the_console(lx, session, county, fmt):
    data = build_county_report(session, lx.config, "month", "2026-11", now=at(NOW))
    full = county_document.render(data, fmt)
    masked = county_document.render(data, fmt, mask_phones=True)
    assert full and masked
    if fmt == "json":
        assert json.loads(full)["townships"][0]["name"] == "示范镇"
        assert "13700000001" in full.decode() and "13700000001" not in masked.decode()
    if fmt == "html":
        page = full.decode()
        assert "全县月通报" in page and "乡镇排名" in page and "青山镇" in page
    if fmt == "xlsx":
        import io

        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(full))
        assert wb.sheetnames == ["乡镇排名", "干部排名", "全县前列", "全县后列"]
        assert wb["乡镇排名"]["B2"].value == "示范镇"
