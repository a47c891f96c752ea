"""Leave in a published period is the office's, and the published copy never moves (issue 21 item 14): a village
account recording or approving leave on a day of a published circular is refused and changes nothing; the office
may, and the live report changes while the published circular stays byte for byte as published."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from storage import circulars
from storage import leave as leave_svc
from storage.assessment import build_report
from storage.models import AuditLog, Cadre, CadreLeave, DiaryEntry, Township, VillagerRequest
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)


def _publish(w: World, period: str, *, county: bool = False) -> bytes:
    """The month's report as published (its json), the township's or the county's."""
    with w.lx.session() as s:
        t = s.scalar(select(Township))
        township = None if county else (t.id, t.name)
        report = build_report(s, w.lx.config, "month", period, now=w.clock(), township=township)
        content = json.dumps(report.to_dict(), ensure_ascii=False, sort_keys=True).encode()
        assert circulars.publish(
            s,
            kind="month",
            period=period,
            township_id=None if county else t.id,
            files={"json": content},
            actor="cli",
            now=w.clock(),
        )
    return content


def _stored(w: World, period: str, *, county: bool = False) -> bytes | None:
    with w.lx.session() as s:
        tid = None if county else s.scalar(select(Township.id))
        return circulars.stored_file(s, "month", period, "json", tid)


def _leave_days(w: World, period: str) -> int:
    with w.lx.session() as s:
        rows = build_report(s, w.lx.config, "month", period, now=w.clock()).to_dict()["cadres"]
    return next(r["leave_days"] for r in rows if r["name"] == "李明")


def test_a_village_account_cannot_record_leave_in_a_published_month(world: World) -> None:
    world.clock.set("2026-12-02 10:00")
    published = _publish(world, "2026-11")
    village = world.login("xinqiao")
    r = village.post("/leave", {"cadre_id": world.ids["cadre_a"], "start": "2026-11-30", "end": "2026-12-01"})
    assert r.status_code == 403 and "已经发布" in page_text(r) and "办公室" in page_text(r)
    assert world.count(CadreLeave) == 0 and world.audits("leave.add") == []
    # a month not published yet is the village's to record, as before
    ok = village.post(
        "/leave", {"cadre_id": world.ids["cadre_a"], "start": "2026-12-03", "end": "2026-12-03"}
    )
    assert ok.status_code == 302 and world.count(CadreLeave) == 1
    assert _stored(world, "2026-11") == published


def test_a_village_account_cannot_approve_leave_in_a_published_month(world: World) -> None:
    world.clock.set("2026-12-02 10:00")
    _publish(world, "2026-11")
    with world.lx.session() as s:
        lv, _ = leave_svc.request_leave(
            s,
            cadre=s.get(Cadre, world.ids["cadre_a"]),
            start=date(2026, 11, 27),
            end=date(2026, 11, 28),
            reason="看病",
            now=world.clock(),
        )
        leave_id = lv.id
    village = world.login("xinqiao")
    r = village.post(f"/leave/{leave_id}/approve")
    assert r.status_code == 403 and "办公室" in page_text(r)
    assert world.one(select(CadreLeave.status).where(CadreLeave.id == leave_id)) == "requested"
    assert world.audits("leave.approve") == []
    assert village.post(f"/leave/{leave_id}/refuse").status_code == 302  # refusing changes no figure


def test_the_office_may_and_the_published_copy_never_moves(world: World) -> None:
    world.clock.set("2026-12-02 10:00")
    published = _publish(world, "2026-11")
    county = _publish(world, "2026-11", county=True)
    before = _leave_days(world, "2026-11")
    admin = world.login("admin")
    r = admin.post("/leave", {"cadre_id": world.ids["cadre_a"], "start": "2026-11-23", "end": "2026-11-24"})
    assert r.status_code == 302
    [audit] = world.audits("leave.add")
    assert audit.detail["published"] == ["2026-11"]
    assert _leave_days(world, "2026-11") > before  # the live report counts the leave ...
    assert _stored(world, "2026-11") == published  # ... the published circulars never move
    assert _stored(world, "2026-11", county=True) == county


def test_a_county_published_month_counts_too(world: World) -> None:
    world.clock.set("2026-12-02 10:00")
    _publish(world, "2026-11", county=True)
    village = world.login("xinqiao")
    r = village.post("/leave", {"cadre_id": world.ids["cadre_a"], "start": "2026-11-20", "end": "2026-11-20"})
    assert r.status_code == 403 and world.count(CadreLeave) == 0
    assert world.count(AuditLog, AuditLog.action == "leave.add") == 0


def test_a_village_account_cannot_enter_paper_diaries_or_offline_requests_in_a_published_month(
    world: World,
) -> None:
    """A paper diary or an offline request dated in a published month changes its figures as leave does."""
    world.clock.set("2026-12-02 10:00")
    published = _publish(world, "2026-11")
    village, admin = world.login("xinqiao"), world.login("admin")
    diary = {"cadre_id": world.ids["cadre_a"], "day": "2026-11-10", "text": "走访张三户"}
    request = {
        "household_id": world.ids["hh_a"],
        "channel": "phone",
        "text": "路灯坏了",
        "at": "2026-11-20T10:00",
    }
    before = (world.count(DiaryEntry), world.count(VillagerRequest))
    assert village.post("/offline/diary", diary).status_code == 403
    assert village.post("/offline/request", request).status_code == 403
    assert (world.count(DiaryEntry), world.count(VillagerRequest)) == before
    assert village.post("/offline/diary", {**diary, "day": "2026-12-01"}).status_code == 302  # not published
    assert admin.post("/offline/diary", diary).status_code == 302  # the office may
    assert _stored(world, "2026-11") == published
