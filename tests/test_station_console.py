"""The seed's remaining pieces in the console (issue 26 item 4): a village's 动员会 register (recorded, its notice
queued to the village's linked households once), the village's 单位办点 on the public listing (set by the office,
else the link list's 干部单位), and 好经验好做法 shown with the year's commendations (page and export)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from console.documents.printing import render_listing
from storage.models import GoodPractice, Link, OutboxMessage, Village, VillageMeeting
from tests.support.cli import run_cli
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)


def _meeting_pushes(w: World) -> set[str]:
    with w.lx.session() as s:
        return set(
            s.scalars(select(OutboxMessage.openid).where(OutboxMessage.idempotency_key.like("meeting:%")))
        )


def test_the_office_records_a_meeting_and_its_notice_reaches_the_linked_households(world: World) -> None:
    admin = world.login("admin")
    form = {
        "day": "2026-11-23",
        "title": "冬季防火动员会",
        "villagers": "38",
        "cadre": str(world.ids["cadre_a"]),
        "notify": "1",
    }
    r = admin.post(f"/station/{world.ids['village_a']}/meetings", form)
    assert r.status_code == 302
    with world.lx.session() as s:
        m = s.scalars(select(VillageMeeting)).one()
        assert (m.villagers, [c.name for c in m.cadres], m.notified_at is not None) == (38, ["李明"], True)
        meeting_id = m.id
    assert _meeting_pushes(world) == {world.openids["villager_a"], world.openids["cadre_a"]}
    assert admin.post(f"/station/meetings/{meeting_id}/notify").status_code == 302
    with world.lx.session() as s:
        assert s.query(OutboxMessage).filter(OutboxMessage.idempotency_key.like("meeting:%")).count() == 2
    assert len(world.audits("meeting.add")) == 1 and len(world.audits("meeting.notify")) == 2
    page = page_text(admin.get(f"/station?village={world.ids['village_a']}"))
    assert "冬季防火动员会" in page and "已通知" in page


def test_a_village_account_records_its_own_villages_meeting_only(world: World) -> None:
    xq = world.login("xinqiao")
    ok = xq.post(f"/station/{world.ids['village_a']}/meetings", {"day": "2026-11-23", "title": "村民大会"})
    assert ok.status_code == 302
    other = xq.post(f"/station/{world.ids['village_b']}/meetings", {"day": "2026-11-23", "title": "越权"})
    assert other.status_code == 404
    bad = xq.post(f"/station/{world.ids['village_a']}/meetings", {"day": "2026-11-23", "title": " "})
    assert bad.status_code == 400
    assert world.count(VillageMeeting) == 1 and _meeting_pushes(world) == set()


def _listing(w: World) -> str:
    with w.lx.session() as s:
        return render_listing(s, w.lx.config, today=date(2026, 11, 24))[0]


def test_the_station_unit_is_shown_on_the_listing(world: World) -> None:
    html = _listing(world)
    assert "单位办点：镇农业服务中心" in html  # 石门村: derived from 王芳's 单位 in the link list
    admin = world.login("admin")
    r = admin.post(f"/station/{world.ids['village_a']}/unit", {"unit": "县农业农村局"})
    assert r.status_code == 302
    assert (
        world.one(select(Village.station_unit).where(Village.id == world.ids["village_a"])) == "县农业农村局"
    )
    assert "单位办点：县农业农村局" in _listing(world)
    assert len(world.audits("village.station_unit")) == 1
    assert (
        world.login("xinqiao").post(f"/station/{world.ids['village_a']}/unit", {"unit": "x"}).status_code
        == 403
    )


def test_good_practices_are_shown_with_the_years_commendations(world: World) -> None:
    admin = world.login("admin")
    form = {
        "title": "板凳会议事",
        "text": "每月在院坝开板凳会，当面听取群众意见",
        "village": str(world.ids["village_a"]),
        "cadre": str(world.ids["cadre_a"]),
        "day": "2026-11-20",
    }
    assert admin.post("/practices", form).status_code == 302
    assert admin.post("/practices", {**form, "title": ""}).status_code == 400
    assert world.count(GoodPractice) == 1 and len(world.audits("practice.add")) == 1
    assert "板凳会议事" in page_text(admin.get("/practices?year=2026"))
    year_page = page_text(admin.get("/reports?kind=year&period=2026"))
    assert "板凳会议事" in year_page.split('id="good-practices"')[1]
    r = admin.get("/reports/commendations.xlsx?year=2026")
    wb = load_workbook(io.BytesIO(r.data))
    cells = [v for row in wb["好经验好做法"].iter_rows(values_only=True) for v in row]
    assert "板凳会议事" in cells and "新桥村" in cells


def test_the_pages_answer(world: Any) -> None:
    leader = world.login("leader")
    assert leader.get("/station").status_code == 200 and leader.get("/practices").status_code == 200
    assert leader.post("/practices", {"title": "x", "text": "y", "day": "2026-11-20"}).status_code == 403


def test_a_commitment_letter_per_linked_household_is_printed_and_audited(world: World, tmp_path: Any) -> None:
    admin = world.login("admin")
    r = admin.post("/print/commitments", {"village": "新桥村", "format": "html"})
    assert r.status_code == 200
    html = page_text(r)
    assert html.count('class="letter"') == 2  # 张大山 and 赵小河, both linked to 李明
    assert "张大山" in html and "赵小河" in html and "钱石头" not in html
    assert "10000001" not in html  # no card numbers on a letter
    assert "commitments.print" in [a.action for a in world.audits("commitments.print")]
    # the date it came back signed, recorded on the household's page, is printed on a reprint
    with world.lx.session() as s:
        link = s.scalars(select(Link).where(Link.household_id == world.ids["hh_a"])).one()
        link.commitment_signed_on = date(2026, 11, 20)
    again = page_text(admin.post("/print/commitments", {"village": "新桥村", "format": "html"}))
    assert "已于 2026-11-20 签回" in again
    out = tmp_path / "承诺书.html"
    res = run_cli(world.lx, "commitments", "--village", "石门村", "--out", str(out))
    assert res.exit_code == 0, res.output
    assert out.read_text(encoding="utf-8").count('class="letter"') == 1
