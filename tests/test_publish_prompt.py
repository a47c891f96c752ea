"""Publishing in the console (issue 25 item 4): the 发布 button only for an ended period, the dashboard says
when last month can be published, and every account that sees reports opens a published circular."""

from __future__ import annotations

from typing import Any

from storage.models import Cadre
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)

PUBLISH_BUTTON = "发布本期月通报"


def _imported_in_october(world: World) -> None:
    """The world's cadres as if imported before November (a month before anyone was imported has nothing)."""
    with world.lx.session() as s:
        for c in s.query(Cadre):
            c.created_at = world.clock().replace(month=10, day=1)


def test_no_publish_button_for_a_month_not_over(world: World, renders: Any) -> None:
    page = page_text(world.login("admin").get("/reports?kind=month&period=2026-11"))  # the clock: 2026-11-24
    assert PUBLISH_BUTTON not in page and renders.page("reports.html")["publish"] == "open"
    assert "结束后才能发布" in page


def test_ended_month_is_offered_then_marked_published(world: World, renders: Any) -> None:
    world.clock.set("2026-12-02 10:00")
    admin = world.login("admin")
    assert PUBLISH_BUTTON in page_text(admin.get("/reports?kind=month&period=2026-11"))
    assert admin.post("/circulars/publish", {"kind": "month", "period": "2026-11"}).status_code == 302
    page = page_text(admin.get("/reports?kind=month&period=2026-11"))
    assert PUBLISH_BUTTON not in page and renders.page("reports.html")["publish"] == "published"
    # a read-only leader never gets the button
    world.login("leader").get("/reports?kind=month&period=2026-11")
    assert renders.page("reports.html")["publish"] is None


def test_dashboard_says_last_month_can_be_published_until_it_is(world: World, renders: Any) -> None:
    _imported_in_october(world)
    world.clock.set("2026-12-02 10:00")
    admin = world.login("admin")
    page = page_text(admin.get("/"))
    assert (
        renders.page("dashboard.html")["todo"]["publish"] == "2026-11" and "2026-11 月通报可以发布了" in page
    )
    world.login("leader").get("/")
    assert renders.page("dashboard.html")["todo"]["publish"] is None  # not theirs to publish
    admin.post("/circulars/publish", {"kind": "month", "period": "2026-11"})
    admin.get("/")
    assert renders.page("dashboard.html")["todo"]["publish"] is None


def test_no_prompt_for_a_month_before_anything_was_imported(world: World, renders: Any) -> None:
    world.clock.set("2027-01-05 10:00")
    world.login("admin").get("/")
    assert renders.page("dashboard.html")["todo"]["publish"] == "2026-12"
    with world.lx.session() as s:
        for c in s.query(Cadre):
            c.created_at = world.clock()
    world.login("admin").get("/")
    assert renders.page("dashboard.html")["todo"]["publish"] is None


def test_leader_and_village_open_the_published_circular_with_phones_masked(world: World) -> None:
    world.clock.set("2026-12-02 10:00")
    world.login("admin").post("/circulars/publish", {"kind": "month", "period": "2026-11"})
    for who in ("leader", "xinqiao"):
        c = world.login(who)
        listing = page_text(c.get("/circulars"))
        assert "查看" in listing and "/circulars/month/2026-11.html" in listing
        got = c.get("/circulars/month/2026-11.html")
        html = page_text(got)
        assert (
            got.status_code == 200
            and "李明" in html
            and "attachment" not in got.headers.get("Content-Disposition", "")
        )
        assert "13900000001" not in html and "139****0001" in html
        assert c.get("/circulars/month/2026-11.json").status_code == 403
    assert world.audits("report.export_published") == []  # a page read, not the stored file
