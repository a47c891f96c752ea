"""The assessment on a small township whose every figure is computed by hand below.

November 2026 has 21 working days (Mon–Fri; no public holiday); October 2026 has 18 (国庆 1–7 Oct off,
Saturday 10 Oct a make-up working day); December 2026 has 23. The report is made on 2 Dec 2026 10:00 local,
so every November deadline and time limit has passed, and the 23:59 request of 30 Nov has been answered.

Cadres (the first three in 新桥村, the others in 石门村; the default weights diary 30, summary 10, cards 25,
requests 10, satisfaction 5, ledger 20; 24 h time limit). Nobody has done any of the ledger's duties (no form,
card, publicity or commitment recorded): the ledger's share is 0 for everyone, and it is judged (each has
households), so it costs each the whole of its weight:
- 张三  created 1 Oct. Oct: all 18 working days written, summary on time. Nov: all 21 working days (two
        entries on 2 Nov; one deleted entry on 8 Nov), summary on time; cards T1, T2 on time; requests answered
        in 3 h (满意) and in exactly 24 h (unrated). Score 30 + 10 + 25 + 10 + 5 + 0 = 80.
- 李四  created 1 Nov 00:00. Diary at 00:30 on Sunday 1 Nov (a November day) and on 20 working days (not 30 Nov):
        21 days ≥ 21 owed. Summary LATE (half marks). T1 on time; a request answered in 2 h (满意).
        Score 30 + 5 + 25 + 10 + 5 + 0 = 75.
- 孙七  created 1 Nov. Diary all 21 working days, summary on time. Cards T1 T2 T3 (sent back once) T4 (feedback
        exactly at the deadline: on time) T6 (feedback 16 h late: overdue) → 4/5. A request in 5 h (满意).
        Score 30 + 10 + 25·0.8 + 10 + 5 + 0 = 75 — a tie with 李四: both rank 2, the next is 4.
- 王五  created 1 Nov; 28 households (below the minimum of 30); ON LEAVE 16–27 Nov (10 working days) → owes 11,
        wrote 9. Summary on time. No card. Requests: 5 Nov 10:00 answered 6 Nov 12:00 (26 h: LATE, 不满意);
        30 Nov 23:59 (counts in November) answered 1 Dec 23:00 (23 h 01 min: in time, 满意).
        Weights without tasks: 30+10+10+5+20 = 75 → 100·(30·9/11 + 10 + 10·½ + 5·½ + 0)/75 = 56.0606… → 56.06.
- 赵六  created 1 Nov. Diary on the first 10 working days (10/21 < 0.6: below the minimum). No summary.
        T1 never fed back (overdue); T7 is due in December; T8 was cancelled. A request of 20 Nov never answered
        (late); one at 00:10 on 1 Dec belongs to December. Nothing rated → satisfaction left out:
        weights 30+10+25+10+20 = 95 → 100·(30·10/21)/95 = 15.0375… → 15.04.
October: only 张三 was a cadre: 18/18 days, summary on time, ledger 0 → 100·(30 + 10)/60 = 66.67. The others
have nothing of October to judge, so no October score (the ledger, today's state, is not judged alone).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from storage.assessment import Counts, build_report, competition_ranks, score_counts
from storage.models import (
    Base,
    CadreLeave,
    Link,
    ServiceCard,
)
from tests.support.pgtools import scratch_database
from tests.support.township import NOW, Scenario, at

EXPECTED_NOVEMBER = [
    ("张三", 30, 21, 22, 21, 0, 1.0, True, True, 2, 2, 2, 0, 0, 2, 2, 2, 0, 13.5, 1.0, 80.0, 1),
    ("孙七", 30, 21, 21, 21, 0, 1.0, True, True, 5, 5, 4, 1, 1, 1, 1, 1, 0, 5.0, 1.0, 75.0, 2),
    ("李四", 30, 21, 21, 21, 0, 1.0, True, False, 1, 1, 1, 0, 0, 1, 1, 1, 0, 2.0, 1.0, 75.0, 2),
    ("王五", 28, 9, 9, 11, 10, 0.8182, True, True, 0, 0, 0, 0, 0, 2, 2, 1, 1, 24.51, 0.5, 56.06, 4),
    ("赵六", 30, 10, 10, 21, 0, 0.4762, False, False, 1, 0, 0, 1, 0, 1, 0, 0, 1, None, None, 15.04, 5),
]
COLUMNS = (
    "name",
    "households",
    "diary_days",
    "diary_entries",
    "working_days_owed",
    "leave_days",
    "diary_coverage",
    "summary_submitted",
    "summary_on_time",
    "tasks_assigned",
    "tasks_fed_back",
    "tasks_on_time",
    "tasks_overdue",
    "tasks_returned",
    "requests_received",
    "requests_answered",
    "requests_answered_in_sla",
    "requests_late",
    "avg_first_answer_hours",
    "satisfaction",
    "score",
    "rank",
)

# village, cadres, households, diary days, owed, coverage, summaries (sent, on time), cards (assigned, on time,
# overdue), requests (received, answered, in time), in-time share, avg hours, satisfaction, avg score, below, rank
EXPECTED_VILLAGES = [
    ("新桥村", 3, 90, 63, 63, 1.0, 3, 2, 8, 7, 1, 4, 4, 4, 1.0, 8.5, 1.0, 76.67, 0, 1),
    ("石门村", 2, 58, 19, 32, 0.5938, 1, 1, 1, 0, 1, 3, 2, 1, 0.3333, 24.51, 0.5, 35.55, 2, 2),
]
V_COLUMNS = (
    "name",
    "cadres",
    "households",
    "diary_days",
    "working_days_owed",
    "diary_coverage",
    "summaries_submitted",
    "summaries_on_time",
    "tasks_assigned",
    "tasks_on_time",
    "tasks_overdue",
    "requests_received",
    "requests_answered",
    "requests_answered_in_sla",
    "requests_in_sla_share",
    "avg_first_answer_hours",
    "satisfaction",
    "avg_score",
    "below_minimum",
    "rank",
)


@pytest.fixture
def november(lx: Any, session: Any) -> dict[str, Any]:
    Scenario(session).build()
    return build_report(session, lx.config, "month", "2026-11", now=at(NOW)).to_dict()


def test_cadre_table_matches_the_hand_computation(november: dict[str, Any]) -> None:
    got = [tuple(row[c] for c in COLUMNS) for row in november["cadres"]]
    # ties share a rank and are listed by village, then name
    assert got == EXPECTED_NOVEMBER
    assert november["kind"] == "month" and november["period"] == "2026-11"
    phones = [r["phone"] for r in november["cadres"]]
    assert phones == ["13900000001", "13900000003", "13900000002", "13900000004", "13900000005"]


def test_score_breakdown_explains_each_score(november: dict[str, Any]) -> None:
    rows = {r["name"]: r for r in november["cadres"]}
    for r in rows.values():
        assert round(sum(p["points"] for p in r["score_breakdown"]), 1) == round(r["score"], 1)
    wang = {p["key"]: p for p in rows["王五"]["score_breakdown"]}
    # tasks have nothing to judge: left out, the other weights (75) scaled to 100
    assert wang["tasks"]["ratio"] is None and wang["tasks"]["max_points"] == 0
    assert (wang["diary"]["max_points"], wang["diary"]["points"]) == (40.0, 32.73)
    assert (wang["summary"]["points"], wang["requests"]["points"], wang["satisfaction"]["points"]) == (
        13.33,
        6.67,
        3.33,
    )
    assert (wang["ledger"]["ratio"], wang["ledger"]["max_points"], wang["ledger"]["points"]) == (
        0.0,
        26.67,
        0.0,
    )
    li = {p["key"]: p for p in rows["李四"]["score_breakdown"]}
    assert (li["summary"]["numerator"], li["summary"]["denominator"], li["summary"]["points"]) == (
        0.5,
        1,
        5.0,
    )
    zhao = {p["key"]: p for p in rows["赵六"]["score_breakdown"]}
    assert zhao["satisfaction"]["ratio"] is None
    assert (zhao["diary"]["numerator"], zhao["diary"]["denominator"], zhao["diary"]["points"]) == (
        10,
        21,
        15.04,
    )
    assert zhao["diary"]["max_points"] == 31.58  # 100·30/95


def test_villages_totals_and_lists(november: dict[str, Any]) -> None:
    assert [tuple(v[c] for c in V_COLUMNS) for v in november["villages"]] == EXPECTED_VILLAGES
    t = november["totals"]
    assert (
        t["name"],
        t["cadres"],
        t["households"],
        t["diary_days"],
        t["diary_entries"],
        t["working_days_owed"],
    ) == ("示范镇", 5, 148, 82, 83, 95)
    assert (t["diary_coverage"], t["summaries_submitted"], t["summaries_on_time"]) == (0.8632, 4, 3)
    assert (
        t["tasks_assigned"],
        t["tasks_fed_back"],
        t["tasks_on_time"],
        t["tasks_overdue"],
        t["tasks_returned"],
        t["task_timeliness"],
    ) == (9, 8, 7, 2, 1, 0.7778)
    assert (
        t["requests_received"],
        t["requests_answered"],
        t["requests_answered_in_sla"],
        t["requests_in_sla_share"],
        t["avg_first_answer_hours"],
        t["satisfaction"],
    ) == (7, 6, 5, 0.7143, 13.84, 0.8)
    assert (t["avg_score"], t["below_minimum"], t["previous_avg_score"], t["score_delta"]) == (
        60.22,
        2,
        66.67,
        -6.45,
    )
    assert november["below_minimum"] == [
        {
            "name": "王五",
            "phone": "13900000004",
            "village": "石门村",
            "households": 28,
            "diary_coverage": 0.8182,
            "reasons": ["households"],
        },
        {
            "name": "赵六",
            "phone": "13900000005",
            "village": "石门村",
            "households": 30,
            "diary_coverage": 0.4762,
            "reasons": ["diary"],
        },
    ]
    assert [
        (c["task_number"], c["name"], c["deadline"], c["fed_back_at"], c["hours_late"])
        for c in november["red_list"]
    ] == [
        (1, "赵六", "2026-11-20 18:00", None, None),
        (6, "孙七", "2026-11-27 18:00", "2026-11-28 10:00", 16.0),
    ]


def test_change_against_october_and_trend(november: dict[str, Any]) -> None:
    rows = {r["name"]: r for r in november["cadres"]}
    # Only 张三 was a cadre in October (created 1 Oct): 18/18 days, the summary on time, ledger 0 → 66.67, rank 1.
    assert (
        rows["张三"]["previous_score"],
        rows["张三"]["previous_rank"],
        rows["张三"]["score_delta"],
        rows["张三"]["rank_delta"],
    ) == (66.67, 1, 13.33, 0)
    assert all(
        rows[n]["previous_score"] is None and rows[n]["rank_delta"] is None for n in ("李四", "王五", "赵六")
    )
    v = {x["name"]: x for x in november["villages"]}
    assert (v["新桥村"]["previous_avg_score"], v["新桥村"]["score_delta"]) == (66.67, 10.0)
    assert v["石门村"]["previous_avg_score"] is None
    assert november["previous_period"] == "2026-10"
    trend = november["trend"]
    assert [p["month"] for p in trend] == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    assert [p["avg_score"] for p in trend] == [None, None, None, None, 66.67, 60.22]
    assert trend[-1]["diary_coverage"] == 0.8632 and trend[-2]["diary_coverage"] == 1.0
    assert (trend[-1]["task_timeliness"], trend[-1]["requests_in_sla_share"]) == (0.7778, 0.7143)


def test_quarter_adds_the_months_counts(lx: Any, session: Any) -> None:
    Scenario(session).build()
    q = build_report(session, lx.config, "quarter", "2026Q4", now=at(NOW)).to_dict()
    rows = {r["name"]: r for r in q["cadres"]}
    # As of 2 Dec: December owes one working day (1 Dec, nobody wrote) and its summary is not due yet.
    z = rows["张三"]
    assert (z["diary_days"], z["working_days_owed"], z["diary_coverage"]) == (39, 40, 0.975)
    assert (
        z["summaries_submitted"],
        z["summaries_on_time"],
        z["months_in_period"],
        z["summary_submitted"],
    ) == (2, 2, 3, False)
    # 100·(30·39/40 + 10 + 25 + 10 + 5 + 0)/100
    assert z["score"] == 79.25
    w = rows["王五"]
    assert (w["diary_days"], w["working_days_owed"], w["leave_days"]) == (9, 12, 10)
    # 100·(30·9/12 + 10·1 + 10·½ + 5·½ + 0)/75 = 100·40/75 — not the mean of rounded monthly scores
    assert w["score"] == 53.33
    zhao = rows["赵六"]
    # T7 (due 5 Dec, no feedback yet) is pending in the quarter: assigned, neither on time nor overdue
    assert (zhao["tasks_assigned"], zhao["tasks_on_time"], zhao["tasks_overdue"], zhao["tasks_pending"]) == (
        2,
        0,
        1,
        1,
    )
    # the 00:10 request of 1 Dec is in the quarter; unanswered 33 h 50 min later, it is late
    assert (zhao["requests_received"], zhao["requests_late"], zhao["requests_pending"]) == (2, 2, 0)
    assert zhao["diary_days"] == 11  # the 00:30 entry of 1 Dec counts in December, inside the quarter
    assert [r["rank"] for r in q["cadres"]] == sorted(r["rank"] for r in q["cadres"])
    assert q["previous_period"] == "2026Q3" and q["kind"] == "quarter" and q["period"] == "2026Q4"


def test_pending_cards_and_requests_are_not_held_against_anyone(lx: Any, session: Any, clock: Any) -> None:
    s = Scenario(session)
    v = s.village("新桥村")
    c = s.cadre("周八", "13900000008", v, "2026-11-01 00:00", 30)
    s.task(1, "2026-11-28 18:00", [(c, None, 0)])
    s.task(2, "2026-11-28 18:00", [(c, "2026-11-23 10:00", 0)])
    s.request(c, "2026-11-24 08:00", None)
    session.commit()
    r = build_report(session, lx.config, "month", "2026-11", now=at("2026-11-24 20:00")).cadres[0]
    assert (r.tasks_assigned, r.tasks_on_time, r.tasks_overdue, r.tasks_pending) == (2, 1, 0, 1)
    assert (r.requests_received, r.requests_late, r.requests_pending) == (1, 0, 1)
    # 1–23 Nov: 16 working days owed (today is not over yet); the month's summary is not due yet
    assert r.working_days_owed == 16
    parts = {p.key: p for p in r.score_breakdown}
    assert parts["summary"].ratio is None and parts["requests"].ratio is None and parts["tasks"].ratio == 1.0
    later = build_report(session, lx.config, "month", "2026-11", now=at("2026-11-29 09:00")).cadres[0]
    assert (later.tasks_on_time, later.tasks_overdue, later.requests_late) == (1, 1, 1)


def test_ledger_weight_and_office_holidays(make_lx: Any, clock: Any) -> None:
    lx = make_lx(**{"holidays.extra_holidays": ["2026-11-02"]})
    with lx.session() as session:
        s = Scenario(session)
        v = s.village("新桥村")
        c = s.cadre("周八", "13900000008", v, "2026-11-01 00:00", 30)
        session.flush()
        for link in session.query(Link).filter(Link.cadre_id == c.id).limit(15):
            link.commitment_signed_on = date(2026, 11, 3)
        session.commit()
        r = build_report(session, lx.config, "month", "2026-11", now=at(NOW)).cadres[0]
    assert r.working_days_owed == 20  # 2 Nov declared a day off by the office
    assert r.ledger_completion == 0.125  # 15 of 4 × 30 duties
    parts = {p.key: p for p in r.score_breakdown}
    # diary 0/20, summary 0/1, ledger 15/120 (storage.ledger's share); default weights 30 + 10 + 20 = 60
    assert parts["ledger"].max_points == 33.33
    assert r.score == 4.17  # 100·(20·0.125)/60


def test_default_weights_worked_example_of_docs_assessment(lx: Any, session: Any) -> None:
    """docs/assessment.md "算例 / worked example", figure for figure: 周八's November under the default weights."""
    s = Scenario(session)
    v = s.village("新桥村")
    c = s.cadre("周八", "13900000008", v, "2026-11-01 00:00", 30)
    days = [d for d in (date(2026, 11, 1 + i) for i in range(30)) if d.weekday() < 5]
    for d in days[:18]:
        s.diary(c, f"{d} 20:00")
    s.summary(c, "2026-11", "2026-12-01 09:00", False)  # late: half marks
    s.task(1, "2026-11-10 18:00", [(c, "2026-11-10 09:00", 0)])
    s.task(2, "2026-11-17 18:00", [(c, "2026-11-16 09:00", 0)])
    s.task(3, "2026-11-24 18:00", [(c, "2026-11-24 17:00", 0)])
    s.task(4, "2026-11-26 18:00", [(c, "2026-11-27 09:00", 0)])  # late
    s.request(c, "2026-11-05 10:00", "2026-11-05 12:00", "满意")
    s.request(c, "2026-11-18 10:00", "2026-11-19 16:00")  # 30 h: late, unrated
    # the ledger: every card handed out, every household told the policies, every letter signed; no form complete
    for i, link in enumerate(session.query(Link).filter(Link.cadre_id == c.id).order_by(Link.id)):
        session.add(
            ServiceCard(household_id=link.household_id, number=f"9{i:07d}", issued_on=date(2026, 11, 5))
        )
        link.household.policy_done_on = date(2026, 11, 6)
        link.commitment_signed_on = date(2026, 11, 7)
    session.commit()
    r = build_report(session, lx.config, "month", "2026-11", now=at(NOW)).cadres[0]
    parts = {p.key: (p.numerator, p.denominator, p.max_points, p.points) for p in r.score_breakdown}
    assert parts == {
        "diary": (18, 21, 30.0, 25.71),  # 30 × 18/21
        "summary": (0.5, 1, 10.0, 5.0),  # late: 10 × ½
        "tasks": (3, 4, 25.0, 18.75),  # 25 × 3/4
        "requests": (1, 2, 10.0, 5.0),  # 10 × ½
        "satisfaction": (1, 1, 5.0, 5.0),  # 5 × 1/1
        "ledger": (0.75, 1, 20.0, 15.0),  # 20 × 90/120 (card, policy, letter done; form not)
    }
    assert r.score == 74.46  # 25.714… + 5 + 18.75 + 5 + 5 + 15 = 74.464…


def test_competition_ranking() -> None:
    assert competition_ranks([95.0, 100.0, 95.0, 73.5, None, 20.0]) == [2, 1, 2, 4, None, 5]
    # ties are judged on the score rounded to 2 decimals
    assert competition_ranks([80.001, 80.004, 79.996, 70.0]) == [1, 1, 1, 4]
    assert competition_ranks([]) == []
    assert competition_ranks([None, None]) == [None, None]


def test_nothing_to_judge_gives_no_score() -> None:
    weights = {
        "diary": 40.0,
        "summary": 10.0,
        "tasks": 25.0,
        "requests": 15.0,
        "satisfaction": 10.0,
        "ledger": 0.0,
    }
    score, parts = score_counts(Counts(), None, weights)
    assert score is None and all(p.points == 0 for p in parts)


def test_bad_period_and_kind(lx: Any, session: Any) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        build_report(session, lx.config, "month", "2026-13", now=at(NOW))
    with pytest.raises(ValueError, match="YYYYQn"):
        build_report(session, lx.config, "quarter", "2026Q5", now=at(NOW))
    with pytest.raises(ValueError, match="month"):
        build_report(session, lx.config, "week", "2026-11", now=at(NOW))


@contextmanager
def _other_database(url: str, tmp_path: Any) -> Iterator[str]:
    """The other kind of database than the suite's: SQLite when the suite runs on PostgreSQL, else a scratch
    database on the PostgreSQL server of $LIANXIN_TEST_PG_URL (default: the local development server)."""
    import os

    if not url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'other.db'}"
        return
    server = os.environ.get("LIANXIN_TEST_PG_URL", "postgresql://lianxin:lianxin@127.0.0.1:5432/postgres")
    with scratch_database(
        server, prefix="lianxin_t", skip_reason="no PostgreSQL server for the cross-database check"
    ) as scratch_url:
        yield scratch_url


def test_same_report_on_sqlite_and_postgresql(lx: Any, session: Any, tmp_path: Any) -> None:
    from bot.app import build
    from storage.config import load_config

    Scenario(session).build()
    here = build_report(session, lx.config, "month", "2026-11", now=at(NOW)).to_dict()
    here_q = build_report(session, lx.config, "quarter", "2026Q4", now=at(NOW)).to_dict()
    with _other_database(lx.config.database_url, tmp_path) as url:
        other = build(load_config(overrides={"database.url": url}, env={}))
        try:
            Base.metadata.create_all(other.engine)
            with other.session() as s2:
                Scenario(s2).build()
            with other.session() as s2:
                there = build_report(s2, other.config, "month", "2026-11", now=at(NOW)).to_dict()
                there_q = build_report(s2, other.config, "quarter", "2026Q4", now=at(NOW)).to_dict()
        finally:
            other.close()

    def canonical(d: dict[str, Any]) -> str:
        for row in d["cadres"]:
            row.pop("cadre_id")  # database ids may differ
        return json.dumps(d, ensure_ascii=False, sort_keys=True)

    assert canonical(here) == canonical(there)
    assert canonical(here_q) == canonical(there_q)


def test_days_owed_start_when_the_cadre_joined(lx: Any, session: Any) -> None:
    s = Scenario(session)
    v = s.village("新桥村")
    s.cadre("吴九", "13900000009", v, "2026-11-20 15:00", 30)  # imported on Friday 20 Nov
    kept = s.cadre("郑十", "13900000010", v, "2026-11-20 15:00", 30)  # same, but paper diaries were entered
    s.diary(kept, "2026-11-02 20:00")
    s.diary(kept, "2026-11-03 20:00")
    session.add(CadreLeave(cadre_id=kept.id, start_date=date(2026, 11, 9), end_date=date(2026, 11, 10)))
    session.commit()
    rows = {r.name: r for r in build_report(session, lx.config, "month", "2026-11", now=at(NOW)).cadres}
    # 20, 23–27, 30 Nov
    assert (rows["吴九"].working_days_owed, rows["吴九"].leave_days) == (7, 0)
    # from the first diary day (2 Nov): 21 working days, 2 of them on leave
    assert (rows["郑十"].working_days_owed, rows["郑十"].leave_days, rows["郑十"].diary_days) == (19, 2, 2)
    # October is before either joined: nothing owed, no October score
    assert rows["吴九"].previous_score is None and rows["郑十"].previous_score is None


def test_counts_add_sums_every_field() -> None:
    """Periods are sums of months: a field Counts.add left out would silently read as zero in every quarter."""
    from dataclasses import fields

    a, b = Counts(), Counts()
    for i, f in enumerate(fields(Counts), start=1):
        setattr(a, f.name, i)
        setattr(b, f.name, 100 * i)
    a.add(b)
    assert {f.name: getattr(a, f.name) for f in fields(Counts)} == {
        f.name: 101 * i for i, f in enumerate(fields(Counts), start=1)
    }


def test_postgres_connections_run_without_jit(lx: Any) -> None:
    """JIT compiled the county report's cadre query for 0.5 s of its 0.55 s (bench/RESULTS.md, issue 27)."""
    if lx.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    with lx.read_session() as s:
        assert s.execute(text("SHOW jit")).scalar() == "off"
