"""Rankings that mean something (issue 25 item 3): a period's ranking is provisional until enough of its working
days have passed ([score] provisional_workdays), ties are marked 并列, the top and bottom lists never overlap,
figures owed count from the cadre's start and never show more done than owed, and every unranked cadre has its
reason. The township is tests/test_assessment.py's (tests/support/township.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from storage.assessment import build_report
from storage.assessment.scoring import tied, top_and_bottom
from storage.models import CadreLeave, DiaryEntry
from tests.support.console_world import (
    World,
    world_fixture,  # noqa: F401 - the `world` fixture
)
from tests.support.township import NOW, Scenario, at


def test_a_months_first_days_give_a_provisional_ranking_that_starts_on_its_first_day(
    lx: Any, session: Any
) -> None:
    Scenario(session).build()
    first = build_report(session, lx.config, "month", "2026-12", now=at("2026-12-01 10:00"))
    # nothing of December has passed: no day counted, and 统计截至 is not a November day
    assert (first.provisional, first.workdays_elapsed, first.days_counted) == (True, 0, 0)
    assert first.as_of == first.first_day == "2026-12-01"
    assert first.provisional_workdays == lx.config.score.provisional_workdays == 5
    second = build_report(session, lx.config, "month", "2026-12", now=at(NOW))
    assert (second.provisional, second.workdays_elapsed, second.as_of) == (True, 1, "2026-12-01")
    # 1–4 and 7–8 December: six working days, the ranking stands
    later = build_report(session, lx.config, "month", "2026-12", now=at("2026-12-09 10:00"))
    assert (later.provisional, later.workdays_elapsed, later.days_counted) == (False, 6, 8)
    november = build_report(session, lx.config, "month", "2026-11", now=at(NOW)).to_dict()
    assert (november["provisional"], november["workdays_elapsed"]) == (False, 21)


def test_the_threshold_of_a_provisional_ranking_is_configured(make_lx: Any) -> None:
    lx = make_lx(**{"score.provisional_workdays": 7})
    with lx.session() as s:
        Scenario(s).build()
        s.commit()
        r = build_report(s, lx.config, "month", "2026-12", now=at("2026-12-09 10:00"))
    assert (r.provisional, r.workdays_elapsed, r.provisional_workdays) == (True, 6, 7)


def test_ties_are_marked_and_the_others_are_not(lx: Any, session: Any) -> None:
    Scenario(session).build()
    rows = {r.name: r for r in build_report(session, lx.config, "month", "2026-11", now=at(NOW)).cadres}
    # 李四 and 孙七 score 75 each: both 并列第 2 名
    assert {n: (r.rank, r.tied) for n, r in rows.items()} == {
        "张三": (1, False),
        "孙七": (2, True),
        "李四": (2, True),
        "王五": (4, False),
        "赵六": (5, False),
    }
    assert tied([1, 2, 2, None, None, 4]) == [False, True, True, False, False, False]


@pytest.mark.parametrize(
    ("count", "top", "bottom"),
    [
        (0, [], []),
        (1, [1], []),
        (2, [1], [2]),
        (3, [1, 2], [3]),
        (7, [1, 2, 3, 4], [7, 6, 5]),
        (12, [1, 2, 3, 4, 5], [12, 11, 10, 9, 8]),
    ],
)
def test_top_and_bottom_lists_never_overlap(count: int, top: list[int], bottom: list[int]) -> None:
    assert top_and_bottom(list(range(1, count + 1)), 5) == (top, bottom)


def test_every_unranked_cadre_has_its_reason(lx: Any, session: Any) -> None:
    s = Scenario(session)
    v = s.village("新桥村")
    s.cadre("新来", "13900000011", v, "2026-12-05 09:00", 30)  # joined after November
    away = s.cadre("休假", "13900000012", v, "2026-10-01 09:00", 30)  # on leave 1–8 December
    session.add(CadreLeave(cadre_id=away.id, start_date=date(2026, 12, 1), end_date=date(2026, 12, 8)))
    there = s.cadre("在岗", "13900000013", v, "2026-10-01 09:00", 30)
    s.diary(there, "2026-11-02 20:00")
    s.diary(there, "2026-12-01 20:00")
    session.commit()
    nov = build_report(session, lx.config, "month", "2026-11", now=at(NOW)).cadres
    assert {r.name: (r.rank is not None, r.unranked_reason) for r in nov} == {
        "在岗": (True, None),
        "休假": (True, None),
        "新来": (False, "joined_later"),
    }
    first = build_report(session, lx.config, "month", "2026-12", now=at("2026-12-01 10:00")).cadres
    assert {r.name: r.unranked_reason for r in first} == {
        "在岗": "nothing_due",
        "休假": "nothing_due",
        "新来": "nothing_due",
    }
    ninth = build_report(session, lx.config, "month", "2026-12", now=at("2026-12-09 10:00")).cadres
    assert {r.name: (r.rank is not None, r.unranked_reason) for r in ninth} == {
        "在岗": (True, None),
        "新来": (True, None),  # owes 7 and 8 December
        "休假": (False, "on_leave"),
    }


def test_figures_owed_count_from_the_cadres_start_and_never_show_more_done_than_owed(
    lx: Any, session: Any
) -> None:
    s = Scenario(session)
    v = s.village("新桥村")
    keen = s.cadre("勤快", "13900000014", v, "2026-11-20 09:00", 30)
    for day in range(20, 31):  # every day from Friday 20 Nov, weekends too: 11 days, 7 of them working days
        s.diary(keen, f"2026-11-{day:02d} 20:00")
    session.commit()
    nov = build_report(session, lx.config, "month", "2026-11", now=at(NOW)).cadres[0]
    assert (nov.diary_days, nov.working_days_owed, nov.diary_days_credited) == (11, 7, 7)
    year = build_report(session, lx.config, "year", "2026", now=at(NOW)).cadres[0]
    # joined in November: one monthly summary owed in 2026 so far (November's; December's is not due), not 12
    assert (year.summaries_owed, year.months_in_period) == (1, 12)


def test_dashboard_top_and_bottom_do_not_overlap_and_a_village_sees_its_own_cadres(
    world: World, renders: Any
) -> None:
    with world.lx.session() as s:  # 王芳 wrote yesterday too: both cadres are ranked
        yesterday = world.clock().astimezone(world.lx.config.tz).date() - timedelta(days=1)
        s.add(DiaryEntry(cadre_id=world.ids["cadre_b"], day=yesterday, text="走访", created_at=world.clock()))
        s.commit()
    world.login("admin").get("/")
    ranking = renders.page("dashboard.html")["ranking"]
    top = [r["name"] for r in ranking["top"]]
    bottom = [r["name"] for r in ranking["bottom"]]
    assert top and bottom and not set(top) & set(bottom)
    html = world.login("xinqiao").get("/").get_data(as_text=True)
    village = renders.page("dashboard.html")["ranking"]
    assert village["village"] is not None and village["bottom"] == []
    assert 'id="village-ranks"' in html and 'id="top-ranks"' not in html
