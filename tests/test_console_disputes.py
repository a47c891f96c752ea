"""矛盾调解 in the console and the month report (issue 26 item 2): the office marks a request a dispute on its
page, chooses parties by search within its scope, records dated mediation steps and the outcome, each audited;
the cadre's 矛盾调解员 work is counted on their row of the month report (json ``disputes_mediated`` /
``disputes_resolved``, the xlsx column)."""

from __future__ import annotations

import io
import json
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from console.documents.report import render
from storage.assessment import build_report
from storage.models import Dispute, DisputeParty, DisputeStep, Household, VillagerRequest
from storage.purge import purge_household
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)


def _month(w: World) -> Any:
    with w.lx.session() as s:
        return build_report(s, w.lx.config, "month", "2026-11", now=w.clock())


def test_the_office_marks_a_dispute_adds_a_party_records_a_step_and_the_outcome(world: World) -> None:
    admin = world.login("admin")
    assert admin.post("/requests/1/dispute").status_code == 302
    assert world.one(select(VillagerRequest.category).where(VillagerRequest.number == 1)) == "纠纷"
    page = page_text(admin.get("/requests/1?party_q=赵"))
    assert "赵小河" in page and "添加为当事人" in page
    r = admin.post("/requests/1/dispute/parties", {"household_id": world.ids["hh_a2"]})
    assert r.status_code == 302
    assert world.count(DisputeParty) == 2
    r = admin.post("/requests/1/dispute/steps", {"day": "2026-11-23", "text": "请两家到村委会当面说明"})
    assert r.status_code == 302
    r = admin.post(
        "/requests/1/dispute/outcome", {"outcome": "resolved", "day": "2026-11-24", "note": "和好"}
    )
    assert r.status_code == 302
    d = world.one(select(Dispute))
    assert (d.outcome, d.outcome_note, d.marked_by) == ("resolved", "和好", "office:admin")
    assert [a.action for a in world.audits("dispute.mark")] == ["dispute.mark"]
    assert len(world.audits("dispute.party")) == 1 and len(world.audits("dispute.step")) == 1
    assert len(world.audits("dispute.outcome")) == 1
    page = page_text(admin.get("/requests/1"))
    assert "请两家到村委会当面说明" in page and "调解成功" in page
    listing = page_text(admin.get("/disputes?outcome=resolved"))
    assert "饮水管冻裂了" in listing and "李明" in listing


def test_bad_input_changes_nothing(world: World) -> None:
    admin = world.login("admin")
    assert admin.post("/requests/1/dispute/steps", {"text": "未标记就记录"}).status_code == 400
    admin.post("/requests/1/dispute")
    assert admin.post("/requests/1/dispute/steps", {"text": "  "}).status_code == 400
    assert admin.post("/requests/1/dispute/steps", {"day": "2026-12-30", "text": "明天的"}).status_code == 400
    assert admin.post("/requests/1/dispute/outcome", {"outcome": "maybe"}).status_code == 400
    assert world.count(DisputeStep) == 0 and world.one(select(Dispute.outcome)) is None


def test_a_village_account_cannot_add_another_villages_household(world: World) -> None:
    xq = world.login("xinqiao")
    assert xq.post("/requests/1/dispute").status_code == 302
    r = xq.post("/requests/1/dispute/parties", {"household_id": world.ids["hh_b"]})
    assert r.status_code == 404
    assert world.count(DisputeParty) == 1
    assert "钱石头" not in page_text(xq.get("/requests/1?party_q=钱"))


def test_unmarking_gives_the_category_back_only_while_nothing_was_recorded(world: World) -> None:
    admin = world.login("admin")
    admin.post("/requests/1/dispute")
    assert admin.post("/requests/1/dispute/unmark").status_code == 302
    assert world.count(Dispute) == 0
    assert world.one(select(VillagerRequest.category).where(VillagerRequest.number == 1)) == "求助"
    admin.post("/requests/1/dispute")
    admin.post("/requests/1/dispute/steps", {"text": "上门了解情况"})
    assert admin.post("/requests/1/dispute/unmark").status_code == 400
    assert world.count(Dispute) == 1


def test_the_month_report_counts_the_cadres_mediation(world: World) -> None:
    admin = world.login("admin")
    admin.post("/requests/1/dispute")
    admin.post("/requests/1/dispute/steps", {"day": "2026-11-20", "text": "第一次上门"})
    admin.post("/requests/1/dispute/steps", {"day": "2026-11-22", "text": "第二次上门"})
    admin.post("/requests/1/dispute/outcome", {"outcome": "resolved", "day": "2026-11-24"})
    report = _month(world)
    data = json.loads(render(report, "json"))
    rows = {c["name"]: (c["disputes_mediated"], c["disputes_resolved"]) for c in data["cadres"]}
    assert rows == {"李明": (1, 1), "王芳": (0, 0)}
    wb = load_workbook(io.BytesIO(render(report, "xlsx")))
    header = [c.value for c in next(wb.worksheets[0].iter_rows(max_row=1))]
    assert "矛盾调解(件)" in header and "调解成功(件)" in header
    with world.lx.session() as s:
        october = build_report(s, world.lx.config, "month", "2026-10", now=world.clock())
    assert all(c.disputes_mediated == 0 for c in october.cadres)


def test_a_purged_partys_name_leaves_the_mediation_notes(world: World) -> None:
    admin = world.login("admin")
    admin.post("/requests/1/dispute")
    admin.post("/requests/1/dispute/parties", {"household_id": world.ids["hh_a2"]})
    admin.post("/requests/1/dispute/steps", {"text": "赵小河同意让出排水沟，电话 13811112222 已核实"})
    admin.post("/requests/1/dispute/outcome", {"outcome": "resolved", "note": "赵小河签字"})
    with world.lx.session() as s:
        h = s.get(Household, world.ids["hh_a2"])
        res = purge_household(s, h, actor="console:admin", now=world.clock())
        assert res.counts.get("dispute_steps") == 1 and res.counts.get("dispute_notes") == 1
    step = world.one(select(DisputeStep))
    assert "赵小河" not in step.text and "让出排水沟" in step.text
    assert "赵小河" not in (world.one(select(Dispute)).outcome_note or "")
    assert world.count(DisputeParty) == 2  # still a party: the dispute still counts
