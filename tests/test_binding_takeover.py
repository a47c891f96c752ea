"""Binding codes are the office's, short-lived, and a binding over a binding is never silent (issue 21 item 1):
a village or viewer account cannot issue a code; a new code voids the older unused ones; a code lives 72 hours at
most; binding from another account tells the released account and the office and is kept in the cadre's binding
history; wrong codes are limited across accounts, not only per account."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from storage.accounts import code_hash, issue_bind_code
from storage.config import ConfigError, load_config
from storage.models import AuditLog, BindCode, CadreBinding, OutboxMessage, WechatIdentity
from tests.support.chat_env import PHONE, Chat, cadre_world
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)
from tests.support.wechat_client import TEST_TOKEN, WechatClient


def notices_to(chat: Chat, openid: str) -> list[str]:
    return [
        m.payload["text"]
        for m in chat.all(
            select(OutboxMessage)
            .where(OutboxMessage.openid == openid, OutboxMessage.kind == "notice")
            .order_by(OutboxMessage.id)
        )
    ]


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    c = cadre_world(make_lx, clock)
    c.lx.config.scheduler.office_openids = ["o-office"]
    return c


# ------------------------------------------------------------------------------------------ who issues


@pytest.mark.parametrize("role", ["xinqiao", "leader"])
def test_village_and_viewer_accounts_cannot_issue_a_binding_code(world: World, role: str) -> None:
    c = world.login(role)
    for cadre in ("cadre_a", "cadre_b"):
        assert c.post(f"/cadres/{world.ids[cadre]}/bind-code").status_code == 403
    assert world.count(BindCode) == 0 and world.audits("bind_code.issue") == []
    page = page_text(c.get(f"/cadres/{world.ids['cadre_a']}"))
    assert "李明" in page and "生成绑定码" not in page  # the button is not shown either
    admin = world.login("admin")
    assert "生成绑定码" in page_text(admin.get(f"/cadres/{world.ids['cadre_a']}"))
    assert admin.post(f"/cadres/{world.ids['cadre_a']}/bind-code").status_code == 200
    assert world.count(BindCode) == 1


# ---------------------------------------------------------------------------------------- code life


def test_a_new_code_voids_the_cadres_older_unused_codes(chat: Chat) -> None:
    first = chat.code(PHONE)
    second = chat.code(PHONE)
    reply = chat.wc.text("o-finder", f"绑定 {first}")
    assert "已作废" in reply and "绑定成功" not in reply
    assert chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-finder")) == "unknown"
    assert chat.one(select(BindCode.revoked_at).where(BindCode.code_hash == code_hash(first))) is not None
    assert chat.all(select(AuditLog.detail).where(AuditLog.action == "bind_code.issue"))[-1]["voided"] == 1
    assert "绑定成功" in chat.wc.text("o-li", f"绑定 {second}")


def test_a_code_lives_72_hours(chat: Chat) -> None:
    code = chat.code(PHONE)
    late = chat.code("13900002222")
    chat.clock.advance(hours=71, minutes=59)
    assert "绑定成功" in chat.wc.text("o-li", f"绑定 {code}")
    chat.clock.advance(minutes=2)
    assert "过期" in chat.wc.text("o-wang", f"绑定 {late}")


def test_config_may_shorten_a_codes_life_never_lengthen_it(chat: Chat) -> None:
    with pytest.raises(ConfigError, match="bind_code_hours"):
        load_config(overrides={"general.bind_code_hours": 73}, env={})
    with pytest.raises(ConfigError, match="bind_code_hours"):
        load_config(overrides={"general.bind_code_hours": 0}, env={})
    assert load_config(overrides={"general.bind_code_hours": 24}, env={}).general.bind_code_hours == 24
    with chat.lx.session() as s:
        _, _, expires = issue_bind_code(s, phone=PHONE, actor="test", now=chat.clock(), hours=500)
    assert expires - chat.clock() == timedelta(hours=72)  # the service caps it too


# ------------------------------------------------------------------------------------- takeovers told


def test_binding_over_a_binding_tells_the_released_account_and_the_office(chat: Chat) -> None:
    assert "绑定成功" in chat.wc.text("o-li", f"绑定 {chat.code(PHONE)}")
    assert notices_to(chat, "o-li") == [] and notices_to(chat, "o-office") == []  # a first binding is quiet
    chat.clock.advance(hours=2)
    assert "绑定成功" in chat.wc.text("oTHIEF-account-77", f"绑定 {chat.code(PHONE)}")
    [told] = notices_to(chat, "o-li")
    assert "李明" in told and "解除" in told and "联系" in told
    [office] = notices_to(chat, "o-office")
    assert (
        "李明" in office and "oTHI" in office and "oTHIEF-account-77" not in office
    )  # the accounts are masked
    history = chat.all(select(CadreBinding).order_by(CadreBinding.id))
    assert [(b.openid, b.released_why) for b in history] == [("o-li", "rebound"), ("oTHIEF-account-77", None)]
    assert history[0].released_at == chat.clock() and history[1].code_id is not None


def test_an_account_moving_to_another_cadre_tells_the_office_who_lost_it(chat: Chat) -> None:
    chat.wc.text("o-li", f"绑定 {chat.code(PHONE)}")
    assert "绑定成功" in chat.wc.text("o-li", f"绑定 {chat.code('13900002222')}")
    [office] = notices_to(chat, "o-office")
    assert "王芳" in office and "李明" in office and "重新发绑定码" in office
    li = chat.one(
        select(CadreBinding).where(CadreBinding.openid == "o-li", CadreBinding.released_why == "moved")
    )
    assert li is not None


def test_the_township_office_hears_of_its_own_cadres_takeover(make_lx: Any, clock: Any) -> None:
    chat = cadre_world(make_lx, clock)
    chat.lx.config.scheduler.township_office_openids = {
        "龙伏镇": ["o-longfu"],
        "青山镇": ["o-qingshan"],
    }
    chat.wc.text("o-li", f"绑定 {chat.code(PHONE)}")
    chat.wc.text("oTHIEF-account-77", f"绑定 {chat.code(PHONE)}")
    assert len(notices_to(chat, "o-longfu")) == 1 and notices_to(chat, "o-qingshan") == []


def test_the_cadre_page_shows_who_bound_when_with_which_code(world: World) -> None:
    admin = world.login("admin")
    wc = WechatClient(world.app.test_client(), TEST_TOKEN, world.clock)
    for openid in ("o-first-phone", "o-second-phone"):
        page = page_text(admin.post(f"/cadres/{world.ids['cadre_a']}/bind-code"))
        code = page.split("绑定 ", 1)[1][:8]
        assert "绑定成功" in wc.text(openid, f"绑定 {code}")
        world.clock.advance(minutes=20)  # within the console session's idle limit
    page = page_text(admin.get(f"/cadres/{world.ids['cadre_a']}"))
    table = page.split('id="binding-history"', 1)[1].split("</table>", 1)[0]
    assert "o-se…hone" in table and "o-fi…hone" in table and "o-first-phone" not in table
    assert "当前绑定" in table and "干部改绑了另一个微信" in table and "控制台账号 admin" in table
    village = world.login("xinqiao")  # the cadre's own village sees the history too, never a full openid
    assert "o-first-phone" not in page_text(village.get(f"/cadres/{world.ids['cadre_a']}"))


# ------------------------------------------------------------------------------ guessing across accounts


def test_wrong_codes_across_accounts_pause_the_guessers_not_the_cadres(chat: Chat) -> None:
    chat.lx.config.general.bind_guesses_per_hour = 6
    good = chat.code(PHONE)
    for i in range(6):  # six accounts, one wrong code each: no account is near its own limit of five
        assert "不正确" in chat.wc.text(f"o-guess-{i}", f"绑定 {10000000 + i}")
    [told] = notices_to(chat, "o-office")
    assert "6 次" in told and "不能再试" in told
    # a guesser with a wrong code behind them is held for the pause, even with the right code
    assert "暂停绑定" in chat.wc.text("o-guess-0", f"绑定 {good}")
    # a fresh account gets one try: wrong → held until the pause ends
    assert "暂停绑定" in chat.wc.text("o-fresh", "绑定 20000000")
    assert "暂停绑定" in chat.wc.text("o-fresh", f"绑定 {good}")
    assert chat.one(select(BindCode.used_at)) is None
    assert len(notices_to(chat, "o-office")) == 1  # once per pause, and the pause does not grow
    # the cadre with the slip binds at once
    assert "绑定成功" in chat.wc.text("o-li", f"绑定 {good}")
    chat.clock.advance(minutes=61)
    assert "绑定成功" in chat.wc.text("o-guess-0", f"绑定 {chat.code('13900002222')}")


def test_the_pause_across_accounts_can_be_switched_off(chat: Chat) -> None:
    chat.lx.config.general.bind_guesses_per_hour = 0
    for i in range(30):
        chat.wc.text(f"o-guess-{i}", f"绑定 {10000000 + i}")
    assert notices_to(chat, "o-office") == []
    assert "绑定成功" in chat.wc.text("o-guess-0", f"绑定 {chat.code(PHONE)}")
