"""Published circulars in a county: each township publishes its own (its cadres ranked among themselves, each
bound cadre pushed their rank within the township, once), the county publishes the county report (stored as the
county's, nobody pushed); chat `排名` shows the cadre's own township's circular; in the console a township's office
publishes, lists and downloads only its own (the route × role table in test_console_access pins the 404s)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from reminders import jobs
from storage.models import AuditLog, OutboxMessage, PublishedReport, StoredReport, Township, Village
from tests.support.chat_env import Chat, make_chat
from tests.support.cli import run_cli
from tests.support.console_world import World, add_second_township, build_world, page_text
from tests.support.township import NOW, Scenario, nov_workdays

BOUND = {"张三": "o-zhang", "孙七": "o-sun", "钱一": "o-qian1", "钱二": "o-qian2"}


@pytest.fixture
def county(make_lx: Any, clock: Any) -> Chat:
    """示范镇 (the hand-computed township of test_assessment) and 青山镇 (钱一 writing 15 of 21 days, 钱二 none)."""
    chat = make_chat(
        make_lx,
        clock,
        **{
            "scheduler.office_openids": ["o-county"],
            "scheduler.township_office_openids": {"示范镇": ["o-shifan"], "青山镇": ["o-qingshan"]},
        },
    )
    with chat.lx.session() as s:
        sc = Scenario(s)
        sc.build()
        t2 = sc.add(Township(name="青山镇"))
        v = sc.add(Village(township_id=t2.id, name="新桥村"))
        qian = sc.cadre("钱一", "13700000001", v, "2026-11-01 08:00", 30)
        sc.cadre("钱二", "13700000002", v, "2026-11-01 08:00", 31)
        for d in nov_workdays()[:15]:
            sc.diary(qian, f"{d.isoformat()} 18:00")
        sc.bind(BOUND)
    clock.set(NOW)
    return chat


def _rank(renders: Any, text: str) -> tuple[str, Any, int, Any]:
    said = renders.behind(text)
    return said.name, said["row"]["score"], said["ranked"], said["row"]["rank"]


def _published(chat: Chat, township: str | None) -> int:
    """Files published for November by ``township`` (None: the county's report)."""
    tid = None if township is None else _tid(chat, township)
    where = PublishedReport.township_id.is_(None) if tid is None else PublishedReport.township_id == tid
    return chat.count(PublishedReport, PublishedReport.period == "2026-11", where)


def test_each_township_publishes_its_own_circular_and_its_cadres_hear_their_rank_within_it(
    county: Chat, renders: Any
) -> None:
    none = run_cli(county.lx, "report", "publish", "month", "2026-11")
    assert none.exit_code != 0 and "示范镇" in none.output and "青山镇" in none.output
    assert county.count(PublishedReport) == 0

    r = run_cli(county.lx, "report", "publish", "month", "2026-11", "--township", "示范镇")
    assert r.exit_code == 0, r.output
    assert _published(county, "示范镇") >= 3 and _published(county, "青山镇") == 0
    pushes = county.notices()
    assert set(pushes) == {"o-zhang", "o-sun"}  # 青山镇's cadres hear nothing of 示范镇's circular
    # the ranks within 示范镇, as when it stood alone (tests/test_circulars.py)
    assert _rank(renders, pushes["o-zhang"]) == ("circular_push", 80.0, 5, 1)
    assert _rank(renders, pushes["o-sun"]) == ("circular_push", 75.0, 5, 2)

    r = run_cli(county.lx, "report", "publish", "month", "2026-11", "--township", "青山镇")
    assert r.exit_code == 0 and _published(county, "青山镇") >= 3, r.output
    pushes = county.notices()
    assert set(pushes) == set(BOUND.values())
    assert _rank(renders, pushes["o-qian1"])[2:] == (2, 1) and "张三" not in pushes["o-qian1"]

    again = run_cli(county.lx, "report", "publish", "month", "2026-11", "--township", "青山镇")
    assert again.exit_code == 0 and "已经发布过" in again.output  # the operator is told: worded on purpose
    assert county.count(OutboxMessage, OutboxMessage.kind == "notice") == 4

    mine = json.loads(
        run_cli(county.lx, "report", "published", "month", "2026-11", "--township", "青山镇").stdout
    )
    assert {c["name"] for c in mine["cadres"]} == {"钱一", "钱二"}
    theirs = json.loads(
        run_cli(county.lx, "report", "published", "month", "2026-11", "--township", "示范镇").stdout
    )
    assert len(theirs["cadres"]) == 5 and "钱一" not in {c["name"] for c in theirs["cadres"]}


def test_the_county_publishes_the_county_report_as_its_own_and_pushes_nobody(county: Chat) -> None:
    r = run_cli(county.lx, "report", "publish", "month", "2026-11", "--county")
    assert r.exit_code == 0 and _published(county, None) >= 3 and _published(county, "示范镇") == 0, r.output
    assert county.count(OutboxMessage) == 0
    rows = county.all(select(PublishedReport.township_id).where(PublishedReport.format == "json"))
    assert rows == [None]
    data = json.loads(run_cli(county.lx, "report", "published", "month", "2026-11", "--county").stdout)
    assert [t["name"] for t in data["townships"]] == ["示范镇", "青山镇"]
    before = _published(county, None)
    assert run_cli(county.lx, "report", "publish", "month", "2026-11", "--county").exit_code == 0
    assert _published(county, None) == before  # published once
    # the county's publication is not a township's: 示范镇's is still to publish, and then both are listed
    assert run_cli(county.lx, "report", "publish", "month", "2026-11", "--township", "示范镇").exit_code == 0
    listing = run_cli(county.lx, "report", "published").output
    rows = [line.split("\t") for line in listing.splitlines() if "\t" in line]
    assert sorted(row[-1] for row in rows) == ["全县", "示范镇"]  # two publications, named by whose
    assert (
        run_cli(county.lx, "report", "published", "month", "2026-11", "--township", "青山镇").exit_code != 0
    )
    targets = county.all(select(AuditLog.target).where(AuditLog.action == "report.publish"))
    assert sorted(targets) == sorted(
        ["month:2026-11:county", f"month:2026-11:township:{_tid(county, '示范镇')}"]
    )


def test_monthly_circular_drafts_each_townships_report_and_tells_its_office_and_the_countys(
    county: Chat,
) -> None:
    county.clock.set("2026-12-01 08:00")
    r = jobs.run(county.lx, "monthly_circular", county.clock())
    assert r.detail == {"period": "2026-11", "stored": {"示范镇": True, "青山镇": True}}
    with county.lx.session() as s:
        drafts = {
            tid: json.loads(c)
            for tid, c in s.execute(
                select(StoredReport.township_id, StoredReport.content).where(StoredReport.format == "json")
            )
        }
    assert {c["name"] for c in drafts[_tid(county, "青山镇")]["cadres"]} == {"钱一", "钱二"}
    assert len(drafts[_tid(county, "示范镇")]["cadres"]) == 5
    told: dict[str, list[str]] = {}
    for m in county.all(select(OutboxMessage).order_by(OutboxMessage.id)):
        told.setdefault(m.openid, []).append(m.payload["text"])
    assert sorted(told) == ["o-county", "o-qingshan", "o-shifan"]
    assert len(told["o-county"]) == 2  # the county hears of both drafts, each township's office of its own
    [qingshan] = told["o-qingshan"]
    assert "青山镇 2026-11" in qingshan and "--township 青山镇" in qingshan and "钱一" in qingshan
    assert "张三" not in qingshan
    again = jobs.run(county.lx, "monthly_circular", county.clock())
    assert again.sent == 0 and again.detail["stored"] == {"示范镇": "already", "青山镇": "already"}


def _tid(chat: Chat, name: str) -> int:
    return chat.one(select(Township.id).where(Township.name == name))


def test_chat_ranking_shows_the_cadres_own_townships_circular(county: Chat, renders: Any) -> None:
    assert run_cli(county.lx, "report", "publish", "month", "2026-11", "--township", "示范镇").exit_code == 0
    assert renders.behind(county.wc.text("o-sun", "排名"))["row"]["name"] == "孙七"
    # 示范镇's circular is not 青山镇's
    assert renders.behind(county.wc.text("o-qian1", "排名")).name == "ranking_none"
    assert run_cli(county.lx, "report", "publish", "month", "2026-11", "--county").exit_code == 0
    assert (
        renders.behind(county.wc.text("o-qian1", "排名")).name == "ranking_none"
    )  # nor is the county's report
    assert run_cli(county.lx, "report", "publish", "month", "2026-11", "--township", "青山镇").exit_code == 0
    reply = renders.behind(county.wc.text("o-qian1", "排名"))
    assert (reply["period"], reply["row"]["name"]) == ("2026-11", "钱一") and _rank(renders, reply.text)[
        2:
    ] == (2, 1)


# ------------------------------------------------------------------------------------------- console


@pytest.fixture
def console_county(lx: Any, clock: Any) -> World:
    w = build_world(lx, clock)
    add_second_township(w)
    return w


def test_a_township_office_publishes_and_lists_only_its_own_circulars(
    console_county: World, renders: Any
) -> None:
    w = console_county
    w.clock.set("2026-12-02 10:00")
    longfu = w.login("longfu")
    r = longfu.post("/circulars/publish", {"kind": "month", "period": "2026-11"}, follow_redirects=True)
    assert r.status_code == 200 and [x.township_id for x in renders.page("circulars.html")["rows"]] == [
        w.ids["township_a"]
    ]
    with w.lx.session() as s:
        assert set(s.scalars(select(PublishedReport.township_id))) == {w.ids["township_a"]}
        pushed = set(s.scalars(select(OutboxMessage.openid).where(OutboxMessage.kind == "notice")))
    assert "demo-cadre-09" not in pushed and pushed  # 孙海 is 青山镇's: not in 龙伏镇's circular
    got = longfu.get(f"/circulars/month/2026-11.json?township={w.ids['township_a']}")
    assert got.status_code == 200 and "孙海" not in got.get_data(as_text=True)
    assert longfu.get("/circulars/month/2026-11.json").status_code == 200  # their own, unnamed
    assert longfu.get(f"/circulars/month/2026-11.json?township={w.ids['township_t2']}").status_code == 404
    assert longfu.get("/circulars/month/2026-11.json?township=county").status_code == 404
    assert (
        longfu.post(
            "/circulars/publish",
            {"kind": "month", "period": "2026-10", "township": str(w.ids["township_t2"])},
        ).status_code
        == 404
    )

    county = w.login("county")
    page = page_text(county.get("/circulars"))
    choices = renders.page("circulars.html")["choices"]
    # the county chooses the township, or the county report
    assert (
        "青山镇" in page
        and renders.page("circulars.html")["county"]
        and ("青山镇" in [n for _, n in choices])
    )
    notices = w.count(OutboxMessage, OutboxMessage.kind == "notice")
    r = county.post(
        "/circulars/publish",
        {"kind": "month", "period": "2026-11", "township": "county"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and w.count(PublishedReport, PublishedReport.township_id.is_(None)) >= 3
    assert (
        w.count(OutboxMessage, OutboxMessage.kind == "notice") == notices
    )  # the county's report is pushed to no one
    r = county.post(
        "/circulars/publish",
        {"kind": "month", "period": "2026-11", "township": str(w.ids["township_t2"])},
        follow_redirects=True,
    )
    assert (
        r.status_code == 200
        and w.count(PublishedReport, PublishedReport.township_id == w.ids["township_t2"]) >= 3
    )
    assert county.get("/circulars/month/2026-11.json?township=county").status_code == 200
    assert "孙海" in county.get(f"/circulars/month/2026-11.json?township={w.ids['township_t2']}").get_data(
        as_text=True
    )

    listed = page_text(longfu.get("/circulars"))
    assert (
        listed.count("/circulars/month/2026-11.json") == 1
    )  # one row: 龙伏镇's, not 青山镇's nor the county's
    assert f"township={w.ids['township_t2']}" not in listed
    assert "township=county" not in listed
