"""Telling the office what needs it (issue 25 item 8): leave waiting on the dashboard; on the delivery page, the
dashboard and ``lianxin outbox`` why nothing is sent and what to do; a fresh deployment's first steps, each
ticked when done."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import main
from reminders import lease, scheduler
from storage import leave
from storage.accounts import issue_bind_code
from storage.models import Cadre, CadreLeave
from tests.support.console_world import (
    World,
    admin_client,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)


def test_pending_leave_is_on_the_dashboard_until_decided(world: World, renders: Any) -> None:
    with world.lx.session() as s:
        cadre = s.get(Cadre, world.ids["cadre_a"])
        asked, _ = leave.request_leave(
            s,
            cadre=cadre,
            start=date(2026, 11, 26),
            end=date(2026, 11, 27),
            reason="家中有事",
            now=world.clock(),
        )
        s.flush()
        leave_id = asked.id
    admin = world.login("admin")
    page = page_text(admin.get("/"))
    assert renders.page("dashboard.html")["todo"]["leave"] == 1 and "1 条请假申请等待审批" in page
    world.login("leader").get("/")
    assert renders.page("dashboard.html")["todo"]["leave"] == 0  # not theirs to decide
    with world.lx.session() as s:
        leave.decide_leave(
            s, s.get(CadreLeave, leave_id), approve=True, actor="console:admin", now=world.clock()
        )
    admin.get("/")
    assert renders.page("dashboard.html")["todo"]["leave"] == 0


@pytest.fixture
def no_app_id(make_lx: Any, clock: Any) -> Any:
    return make_lx(**{"wechat.app_id": "", "wechat.app_secret": ""})


def test_delivery_page_and_cli_say_why_nothing_is_sent(
    no_app_id: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    c = admin_client(no_app_id)
    page = page_text(c.get("/delivery"))
    assert 'id="idle-no_app_id"' in page and "app_id" in page and 'id="idle-no_scheduler"' in page
    assert "lianxin serve" in page
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[database]\nurl = "{no_app_id.config.database_url}"\n', encoding="utf-8")
    monkeypatch.setenv("LIANXIN_CONFIG", str(cfg))
    out = CliRunner().invoke(main, ["outbox"]).output
    assert "没有发出" in out and "app_id" in out and "lianxin scheduler" in out


def test_a_running_scheduler_and_an_app_id_leave_nothing_to_say(world: World) -> None:
    now = lease.real_now()
    assert lease.acquire(world.lx.engine, scheduler.LEASE_NAME, "test", ttl=timedelta(minutes=5), now=now)
    try:
        page = page_text(world.login("admin").get("/delivery"))
        assert "idle-no_scheduler" not in page and "idle-no_app_id" not in page
    finally:
        lease.release(world.lx.engine, scheduler.LEASE_NAME, "test")


def test_first_steps_are_ticked_as_they_are_done(world: World, renders: Any) -> None:
    admin = world.login("admin")
    page = page_text(admin.get("/"))
    steps = renders.page("dashboard.html")["todo"]["steps"]
    assert [(s.label, s.done) for s in steps] == [
        ("导入联户名单", True),  # the world has households
        ("给干部生成绑定码", False),
        ("打印便民服务卡", False),
        ("检查公众号", False),
    ]
    assert "开始使用" in page and "/print" in page
    with world.lx.session() as s:
        issue_bind_code(s, phone="13900000001", actor="cli", now=world.clock(), configured_secret="x")
    admin.get("/")
    assert [s.done for s in renders.page("dashboard.html")["todo"]["steps"]] == [True, True, False, False]
    world.login("leader").get("/")
    assert renders.page("dashboard.html")["todo"]["steps"] is None  # the office's steps


def test_a_fresh_deployment_starts_with_nothing_ticked(lx: Any, renders: Any) -> None:
    admin_client(lx).get("/")
    assert [s.done for s in renders.page("dashboard.html")["todo"]["steps"]] == [False, False, False, False]
