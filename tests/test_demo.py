"""The demo township: realistic, complete enough to show every feature, and idempotent."""

from __future__ import annotations

import re
import socket
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import func, inspect, select, text

from bot.cli import main
from bot.logs import QuietAccessLogHandler
from storage.accounts import verify_password
from storage.demo.handbook import POLICY_HANDBOOK
from storage.demo.seed import seed_demo
from storage.models import (
    Cadre,
    ConsoleUser,
    Department,
    DiaryEntry,
    DiaryMention,
    Household,
    Link,
    MonthlySummary,
    PolicyEntry,
    RequestReply,
    ServiceCard,
    Task,
    TaskAssignment,
    Village,
    VillagerRequest,
    WechatIdentity,
)
from storage.periods import start_of_day
from tests.support.factories import Factory
from tests.support.queries import count_in as count

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 24)
TOPICS = [
    "环境卫生",
    "烤烟生产",
    "全民绿化",
    "计划生育",
    "综治维稳",
    "安全生产",
    "禁毒禁赌",
    "涉农法规",
    "办证须知",
]


def all_counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
            for t in inspect(engine).get_table_names()
            if t != "alembic_version"
        }


@pytest.fixture
def seeded(session):
    report = seed_demo(session, today=TODAY, tz=TZ)
    session.commit()
    return report


def test_places_people_and_links(session, seeded):
    assert count(session, Village) >= 3
    assert count(session, Cadre) == 10
    assert count(session, Household) == 300
    assert count(session, Link) == 300 and count(session, ServiceCard) == 300
    per_cadre = session.execute(select(Link.cadre_id, func.count()).group_by(Link.cadre_id)).all()
    assert len(per_cadre) == 10 and all(n >= 30 for _, n in per_cadre)
    names = list(session.scalars(select(Household.head_name)))
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,3}", n) for n in names)
    assert len(set(names)) > 250  # plausible variety
    numbers = list(session.scalars(select(ServiceCard.number)))
    assert len(set(numbers)) == 300 and all(n.isdigit() for n in numbers)
    phones = [p for p in session.scalars(select(Household.head_phone)) if p]
    assert len(phones) > 250 and all(re.fullmatch(r"1[3-9]\d{9}", p) for p in phones)


def test_five_duties_partly_done(session, seeded):
    forms = session.scalars(select(Household).where(Household.info_updated_at.is_not(None))).all()
    assert 100 < len(forms) < 300
    h = forms[0]
    assert h.members and h.members[0]["relation"] == "户主" and len(h.members) == h.population
    assert h.annual_income and h.industries and h.difficulties and h.address
    issued = count(session, ServiceCard, ServiceCard.issued_on.is_not(None))
    signed = count(session, Link, Link.commitment_signed_on.is_not(None))
    assert 0 < issued < 300 and 0 < signed < 300


def test_policy_handbook_has_the_nine_topics(session, seeded):
    entries = session.scalars(select(PolicyEntry)).all()
    by_topic: dict[str, list[PolicyEntry]] = {}
    for e in entries:
        by_topic.setdefault(e.topic, []).append(e)
    assert sorted(by_topic) == sorted(TOPICS)
    for topic, items in by_topic.items():
        assert 2 <= len(items) <= 3, topic
        for e in items:
            assert e.body.count("。") >= 2 and len(e.body) > 60, e.title
            assert e.keywords


def test_diaries_summaries_tasks_and_requests(session, seeded):
    days = list(session.scalars(select(DiaryEntry.day).distinct()))
    assert max(days) == TODAY and min(days) <= TODAY - timedelta(days=14)
    assert count(session, DiaryEntry) > 80
    assert count(session, DiaryMention) == count(session, DiaryEntry)
    assert all(e.role for e in session.scalars(select(DiaryEntry)))
    assert count(session, MonthlySummary, MonthlySummary.month == "2026-10") == 8
    now = datetime(2026, 11, 24, 17, 0, tzinfo=TZ)
    assert count(session, Task) >= 3
    overdue = count(
        session, TaskAssignment, TaskAssignment.deadline < now, TaskAssignment.first_feedback_at.is_(None)
    )
    fed_back = count(session, TaskAssignment, TaskAssignment.first_feedback_at.is_not(None))
    assert overdue >= 1 and fed_back >= 10
    limit = now - timedelta(hours=24)
    late = count(
        session,
        VillagerRequest,
        VillagerRequest.first_answer_at.is_(None),
        VillagerRequest.created_at < limit,
    )
    answered = count(session, VillagerRequest, VillagerRequest.first_answer_at.is_not(None))
    assert late == 1 and answered >= 5
    assert count(session, RequestReply) == answered
    # nothing in the future
    assert session.scalar(select(func.max(DiaryEntry.created_at))) <= now
    assert session.scalar(select(func.max(VillagerRequest.created_at))) <= now
    assert session.scalar(select(func.min(DiaryEntry.day))) >= TODAY - timedelta(days=21)
    assert start_of_day(TODAY, TZ) <= now


def test_identities_and_console_users(session, seeded):
    cadre_ids = list(session.scalars(select(WechatIdentity.openid).where(WechatIdentity.kind == "cadre")))
    assert "demo-cadre-01" in cadre_ids and len(cadre_ids) == 10
    villagers = session.scalars(select(WechatIdentity).where(WechatIdentity.kind == "villager")).all()
    assert villagers and all(v.household_id for v in villagers)
    users = {u.username: u for u in session.scalars(select(ConsoleUser))}
    for username, password, role, place in seeded.users:
        u = users[username]
        assert u.role == role
        assert verify_password(u.password_hash, password)
        if role == "department":  # its place is its department (转办's desk)
            assert session.get(Department, u.department_id).name == place
        else:
            assert (u.village.name if u.village else None) == place


def test_seeding_twice_adds_nothing(session, seeded, lx):
    before = all_counts(lx.engine)
    again = seed_demo(session, today=TODAY, tz=TZ)
    session.commit()
    assert again.added == {}
    assert all_counts(lx.engine) == before
    # a later day adds only that day's diaries: nothing is duplicated
    later = seed_demo(session, today=TODAY + timedelta(days=1), tz=TZ)
    session.commit()
    assert set(later.added) <= {"diary_entries"}
    dup = session.execute(
        select(DiaryEntry.cadre_id, DiaryEntry.day, func.count())
        .group_by(DiaryEntry.cadre_id, DiaryEntry.day)
        .having(func.count() > 1)
    ).all()
    assert dup == []


def test_demo_command_seeds_idempotently(lx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"LIANXIN_DATABASE_URL": lx.config.database_url}
    first = CliRunner().invoke(main, ["demo", "--no-serve"], env=env)
    assert first.exit_code == 0, first.output
    assert "演示数据已填充" in first.output and "admin / demo-admin" in first.output
    counts = all_counts(lx.engine)
    assert counts["household"] == 300 and counts["cadre"] == 10
    second = CliRunner().invoke(main, ["demo", "--no-serve"], env=env)
    assert second.exit_code == 0, second.output
    assert "未重复添加" in second.output
    assert all_counts(lx.engine) == counts


def test_demo_command_serves_with_the_console_url(lx, tmp_path, monkeypatch):
    import bot.serve

    calls = []
    monkeypatch.setattr(bot.serve, "serve", lambda lx_, **kw: calls.append(kw))
    monkeypatch.setattr(bot.serve, "port_in_use", lambda host, port: False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main,
        ["demo", "--port", "8123", "--no-scheduler"],
        env={"LIANXIN_DATABASE_URL": lx.config.database_url},
    )
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/" in result.output
    assert "xinqiao / demo-village" in result.output and "leader / demo-viewer" in result.output
    assert calls == [
        {"host": "127.0.0.1", "port": 8123, "workers": 1, "scheduler": False, "access_log": False}
    ]
    assert ".venv/bin/lianxin" in result.output  # the CLI is reachable after the demo


def test_demo_on_a_busy_port_says_which_and_how_to_change_it_before_anything(lx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            main, ["demo", "--port", str(port)], env={"LIANXIN_DATABASE_URL": lx.config.database_url}
        )
    assert result.exit_code != 0
    assert f"端口 {port} 已被占用" in result.output and f"--port {port + 1}" in result.output
    assert (
        "serving" not in result.output and "控制台" not in result.output and "演示数据" not in result.output
    )
    assert all_counts(lx.engine).get("household", 0) == 0  # nothing written


def test_the_demo_terminal_shows_no_line_per_request_but_server_errors():
    logged = []
    handler = SimpleNamespace(
        path="/cadres?q=1", command="GET", request_version="HTTP/1.1", log=lambda *a: logged.append(a)
    )
    QuietAccessLogHandler.log_request(handler, 200, 512)
    QuietAccessLogHandler.log_request(handler, 404, 512)
    assert logged == []
    QuietAccessLogHandler.log_request(handler, 500, 512)
    [(level, _fmt, method, path, _version, code, _size)] = logged
    assert (level, method, path, code) == ("error", "GET", "/cadres", 500)  # the path alone, as ever


def test_handbook_source_is_well_formed():
    titles = [(t, title) for t, title, _, _ in POLICY_HANDBOOK]
    assert len(titles) == len(set(titles))
    assert {t for t, _ in titles} == set(TOPICS)


def test_demo_runs_the_scheduler_only_with_a_configured_account(lx, tmp_path, monkeypatch):
    import bot.serve

    calls = []
    monkeypatch.setattr(bot.serve, "serve", lambda lx_, **kw: calls.append(kw["scheduler"]))
    monkeypatch.setattr(bot.serve, "port_in_use", lambda host, port: False)  # 8000 may be anyone's here
    monkeypatch.chdir(tmp_path)
    env = {"LIANXIN_DATABASE_URL": lx.config.database_url}
    result = CliRunner().invoke(main, ["demo"], env=env)
    assert result.exit_code == 0, result.output
    assert "app_id" in result.output
    cfg = tmp_path / "config.toml"
    cfg.write_text("[wechat]\napp_id = 'wx1234'\napp_secret = 's'\n", encoding="utf-8")
    assert CliRunner().invoke(main, ["demo", "--config", str(cfg)], env=env).exit_code == 0
    assert calls == [False, True]


def test_demo_refuses_a_database_holding_data_it_did_not_make(lx, tmp_path, monkeypatch):
    """`lianxin demo` seeds the configured database — by default the production default too: a database with
    real people in it is refused, nothing written, and the message says what to do (issue 21 item 15)."""
    monkeypatch.chdir(tmp_path)
    with lx.session() as s:
        f = Factory(s)
        f.household(f.cadre(name="真实干部", phone="13700001111"), head_name="真实农户")
        f.identity("oREAL-wechat-account", kind="unknown")
    before = all_counts(lx.engine)
    result = CliRunner().invoke(
        main, ["demo", "--no-serve"], env={"LIANXIN_DATABASE_URL": lx.config.database_url}
    )
    assert result.exit_code != 0
    assert (
        "不是演示程序生成" in result.output
        and "干部 1 个" in result.output
        and "微信账号 1 个" in result.output
    )
    assert "sqlite:///demo.db" in result.output  # what to do instead
    assert all_counts(lx.engine) == before


def test_the_demos_own_database_played_with_is_accepted_again(lx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"LIANXIN_DATABASE_URL": lx.config.database_url}
    assert CliRunner().invoke(main, ["demo", "--no-serve"], env=env).exit_code == 0
    with lx.session() as s:
        Factory(s).identity("sim-household-7", kind="unknown")  # the chat simulator's account
    again = CliRunner().invoke(main, ["demo", "--no-serve"], env=env)
    assert again.exit_code == 0, again.output
