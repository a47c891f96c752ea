"""A cadre binding their WeChat account with a code from the office, end to end through /wechat: widths and
Traditional forms, single use, expiry, the lock after five wrong codes, moving between accounts."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from storage.models import (
    AuditLog,
    BindCode,
    DiaryEntry,
    InboundMessage,
    RateLimit,
    WechatIdentity,
)
from tests.support.chat_env import PHONE, Chat, bound, cadre_world, make_chat


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    return cadre_world(make_lx, clock)


# ------------------------------------------------------------------------------------------- binding


def test_bind_happy_path_in_traditional_full_width(chat: Chat, renders) -> None:
    code = chat.code(PHONE)
    wide = "".join(chr(0xFF10 + int(d)) for d in code)
    reply = chat.wc.text("o-li", f"  綁定\u3000{wide} ")
    assert renders.behind(reply).name == "bind_ok" and renders.behind(reply)["cadre"].name == "李明"
    ident = chat.one(select(WechatIdentity).where(WechatIdentity.openid == "o-li"))
    assert ident.kind == "cadre" and ident.cadre_id is not None
    code_row = chat.one(select(BindCode))
    assert code_row.used_by_openid == "o-li" and code_row.used_at is not None
    assert chat.count(AuditLog, AuditLog.action == "wechat.bind") == 1
    logged = chat.all(select(InboundMessage.content).where(InboundMessage.openid == "o-li"))
    assert logged == ["绑定 ********"] and code not in str(logged)  # the code is a secret: not in the log
    assert renders.behind(chat.wc.text("o-li", f"绑定 {chat.code(PHONE)}")).name == "bind_already"


def test_bind_code_is_single_use(chat: Chat, renders) -> None:
    code = chat.code(PHONE)
    chat.wc.text("o-li", f"绑定 {code}")
    assert renders.behind(chat.wc.text("o-stranger", f"绑定 {code}")).name == "bind_used"
    assert chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-stranger")) == "unknown"


def test_expired_code_refused(chat: Chat, renders) -> None:
    code = chat.code(PHONE)
    chat.clock.advance(days=8)
    assert renders.behind(chat.wc.text("o-li", f"绑定 {code}")).name == "bind_expired"
    assert chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-li")) == "unknown"


def test_bind_usage_without_code(chat: Chat) -> None:
    """The usage text is what a cadre reads to bind: its words are pinned."""
    assert "绑定 绑定码" in chat.wc.text("o-li", "绑定")
    assert chat.count(RateLimit) == 0


def test_five_wrong_codes_lock_binding_for_an_hour(chat: Chat, renders) -> None:
    for i in range(4):
        assert renders.behind(chat.wc.text("o-guess", f"绑定 0000000{i}")).name == "bind_wrong"
    assert renders.behind(chat.wc.text("o-guess", "绑定 00000009")).name == "bind_locked"
    good = chat.code(PHONE)
    # even the right code, while locked
    assert renders.behind(chat.wc.text("o-guess", f"绑定 {good}")).name == "bind_locked"
    assert chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-guess")) == "unknown"
    assert chat.one(select(BindCode.used_at)) is None
    chat.clock.advance(hours=1, minutes=1)
    assert renders.behind(chat.wc.text("o-guess", f"绑定 {good}")).name == "bind_ok"
    assert chat.count(RateLimit, RateLimit.key == "bind:o-guess") == 0  # success clears its counter


def test_rebinding_moves_the_cadre_to_the_new_account(chat: Chat, renders) -> None:
    bound(chat, "o-old-phone")
    reply = chat.wc.text("o-new-phone", f"绑定 {chat.code(PHONE)}")
    assert renders.behind(reply).name == "bind_ok" and renders.behind(reply)["rebound"] is True
    old = chat.one(select(WechatIdentity).where(WechatIdentity.openid == "o-old-phone"))
    assert old.kind == "unknown" and old.cadre_id is None
    # the old account writes no diary: it is welcomed as a stranger
    assert renders.behind(chat.wc.text("o-old-phone", "今天走访三户")).name == "welcome"
    assert chat.count(DiaryEntry) == 0


def test_villager_becomes_cadre_only_with_a_code(chat: Chat, renders) -> None:
    chat.wc.text("o-li", "20261124")
    assert chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-li")) == "villager"
    assert renders.behind(chat.wc.text("o-li", "日记 今天走访")).name == "villager_cadre_command"
    assert chat.count(DiaryEntry) == 0
    reply = renders.behind(chat.wc.text("o-li", f"绑定 {chat.code(PHONE)}"))
    assert reply.name == "bind_ok" and reply["was_villager"] is True
    ident = chat.one(select(WechatIdentity).where(WechatIdentity.openid == "o-li"))
    assert ident.kind == "cadre" and ident.household_id is None


# ------------------------------------------------------------------------------------------
# A bound cadre's account and another cadre's code: the switch says who is released; a wrong code is
# refused and counted, and the cadre is told they are still bound.


def test_binding_another_cadres_code_says_who_is_released_wording(make_lx: Any, clock: Any, renders) -> None:
    """The cadre taking over the account must learn whose binding ended and what that cadre must do: the
    sentence is the behaviour, pinned."""
    clock.set("2026-11-24 20:00")
    chat = make_chat(make_lx, clock)
    with chat.factory() as f:
        f.cadre(name="李明", phone="13900001111")
        f.cadre(name="赵永贵", phone="13900002222")
    assert renders.behind(chat.wc.text("o-li", f"绑定 {chat.code('13900001111')}")).name == "bind_ok"
    reply = chat.wc.text("o-li", f"绑定 {chat.code('13900002222')}")
    assert "赵永贵" in reply and "原来绑定的干部 李明 已解除" in reply and "重新索取绑定码" in reply
    assert chat.one(select(WechatIdentity.cadre_id).where(WechatIdentity.openid == "o-li")) is not None
    # A first binding, or one from a villager's account, says nothing about a cadre.
    first = renders.behind(chat.wc.text("o-other", f"绑定 {chat.code('13900001111')}"))
    assert first.name == "bind_ok" and first["was_cadre"] is None


def test_bound_cadre_with_a_wrong_code_is_refused_counted_and_reassured(make_lx: Any, clock: Any) -> None:
    """What a bound cadre reads after a wrong code (refused, attempts left, still bound): pinned in words."""
    clock.set("2026-11-24 20:00")
    chat = make_chat(make_lx, clock)
    with chat.factory() as f:
        f.cadre(name="李明", phone="13900001111")
    chat.wc.text("o-li", f"绑定 {chat.code('13900001111')}")
    assert chat.bound_to("o-li") == "13900001111"
    reply = chat.wc.text("o-li", "绑定 000000")
    assert "绑定码不正确" in reply and "还可尝试 4 次" in reply  # still counted: brute force protection stays
    assert "您仍绑定为联户干部 李明" in reply
    for _ in range(3):
        chat.wc.text("o-li", "绑定 000000")
    locked = chat.wc.text("o-li", "绑定 000000")
    assert "错误次数过多" in locked and "您仍绑定为联户干部 李明" in locked
    assert chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-li")) == "cadre"
    # An unbound account is not told about any binding.
    stranger = chat.wc.text("o-new", "绑定 000000")
    assert "绑定码不正确" in stranger and "您仍绑定" not in stranger
