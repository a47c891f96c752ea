"""Who did something is shown by name and role (storage/actors.py), never as the id written down: console
accounts by role, cadres by name (a phone no longer found masked), WeChat accounts by whose they are."""

from __future__ import annotations

from storage.actors import Names
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)


def test_actor_strings_become_names_with_roles(world: World) -> None:
    with world.lx.session() as s:
        n = Names(s)
        assert n.actor("console:admin") == "办公室 admin（控制台）"
        assert n.actor("office:admin") == "办公室 admin（控制台）"
        assert n.actor("console:xinqiao") == "新桥村 xinqiao（控制台）"
        assert n.actor("console:leader") == "领导 leader（控制台）"
        assert n.actor("cadre:13900000001") == "干部 李明"
        assert n.actor("cadre:13900000001 撤销") == "干部 李明（撤销）"
        assert n.actor("wechat:demo-villager-001") == "村民 张大山户"
        assert n.actor("wechat:demo-cadre-02") == "干部 王芳（微信）"
        assert [n.actor(a) for a in ("cli", "demo", "villager", "scheduler")] == [
            "命令行",
            "演示数据",
            "村民",
            "定时任务",
        ]


def test_unknown_people_are_masked_not_shown_as_ids(world: World) -> None:
    with world.lx.session() as s:
        n = Names(s)
        assert n.actor("cadre:13712345678") == "干部 137****5678"
        assert n.actor("console:gone") == "控制台账号 gone"
        assert "odd-openid-123456" not in n.actor("wechat:odd-openid-123456")


def test_audit_targets_in_words(world: World) -> None:
    with world.lx.session() as s:
        n = Names(s)
        assert n.target("request:1") == "第1号诉求"
        assert n.target(f"household:{world.ids['hh_a']}") == "农户 张大山户"
        assert n.target(f"cadre:{world.ids['cadre_a']}") == "干部 李明"
        assert n.target("report:month:2026-11") == "2026-11 月通报"
        assert n.target("demo") == "演示数据"


def test_reply_bubbles_and_closer_name_people(world: World) -> None:
    c = world.login("admin")
    c.post("/requests/1/reply", {"text": "明天上门查看", "answer_to": "wechat"})
    c.post("/requests/1/close")
    page = page_text(c.get("/requests/1"))
    assert "办公室 admin（控制台）" in page
    assert "console:admin" not in page and "office:admin" not in page
