"""QA: a card fed back after its deadline showed green 正常 on the console board while the report counted it
overdue. Now such an assignment shows the distinct light ``late`` (逾期完成, red), as the report defines it
(on time = first feedback <= deadline, docs/assessment.md)."""

from __future__ import annotations

from datetime import timedelta

from storage import tasks
from storage.assessment import build_report
from tests.support.console_world import (
    World,
    world_fixture,  # noqa: F401 - the `world` fixture
)


def test_late_feedback_is_not_green_on_the_board(world: World) -> None:
    lx, clock, number = world.lx, world.clock, world.ids["task"]
    with lx.session() as s:
        deadline = tasks.find_task(s, number).deadline
        tasks.feedback(s, cadre_id=world.ids["cadre_b"], number=number, text="按时完成", now=deadline, done=True)
        tasks.feedback(s, cadre_id=world.ids["cadre_a"], number=number, text="晚了", now=deadline + timedelta(hours=5))
    clock.set("2026-11-30 09:00")
    with lx.session() as s:
        board = tasks.board(s, number=number, now=clock())
        lights = {r.cadre_id: r.light for r in board.rows}
        assert lights == {world.ids["cadre_a"]: "late", world.ids["cadre_b"]: "green"}
        report = {r.name: r for r in build_report(s, lx.config, "month", "2026-11", now=clock()).cadres}
        assert (report["李明"].tasks_overdue, report["王芳"].tasks_on_time) == (1, 1)
    page = world.login("admin").get(f"/tasks/{number}").get_data(as_text=True)
    assert 'class="light late"' in page and "逾期完成" in page and 'class="light green"' in page
