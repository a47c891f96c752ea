"""Linking a WeChat account to a household is safe without being hard: every new link is told to the
household's cadre, the cadre's `解绑 卡号` undoes the latest, several family members may link, a typo is told
apart from a wrong number, and wrong numbers are limited per account and overall."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from storage import cards
from storage.models import AuditLog, OutboxMessage, ServiceCard, WechatIdentity
from tests.support.chat_env import Chat, make_chat

PHONE = "13900001111"
OTHER = "13900002222"


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    clock.set("2026-11-24 20:00")
    c = make_chat(make_lx, clock)
    with c.factory() as f:
        li = f.cadre(name="李明", phone=PHONE, post="村支书")
        wang = f.cadre(name="王强", phone=OTHER, post="村主任")
        f.household(li, head_name="张大爷", card="20261124")
        f.household(wang, head_name="刘婶", card="20261188")
    assert "绑定成功" in c.wc.text("o-li", f"绑定 {c.code(PHONE)}")
    assert "绑定成功" in c.wc.text("o-wang", f"绑定 {c.code(OTHER)}")
    return c


def notices_to(chat: Chat, openid: str) -> list[str]:
    with chat.lx.session() as s:
        return [
            m.payload["text"]
            for m in s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.openid == openid, OutboxMessage.kind == "notice")
                .order_by(OutboxMessage.id)
            )
        ]


def ident(chat: Chat, openid: str) -> WechatIdentity:
    return chat.one(select(WechatIdentity).where(WechatIdentity.openid == openid))


def test_a_typed_link_is_announced_to_the_households_cadre(chat: Chat) -> None:
    assert "绑定成功" in chat.wc.text("o-zhang", "20261124")
    [push] = notices_to(chat, "o-li")
    assert "张大爷" in push and "发送卡号" in push and "解绑 张大爷 1" in push
    assert "20261124" not in push  # a forwarded notice must not carry the household's credential
    assert notices_to(chat, "o-wang") == []
    assert ident(chat, "o-zhang").bound_via == "number"
    chat.wc.text("o-zhang", "20261124")  # linking again to the same household is no new link
    assert len(notices_to(chat, "o-li")) == 1


def test_a_scanned_link_is_announced_as_a_scan(chat: Chat) -> None:
    with chat.lx.session() as s:
        card = s.scalar(select(ServiceCard).where(ServiceCard.number == "20261124"))
        card.qr_scene = scene = cards.new_scene()
    assert "绑定成功" in chat.wc.event("o-zhang", "SCAN", key=scene)
    [push] = notices_to(chat, "o-li")
    assert "扫描服务卡二维码" in push and "张大爷" in push


def test_several_family_members_link_one_household_and_unlink_asks_which(chat: Chat) -> None:
    chat.wc.text("o-zhang", "20261124")
    chat.clock.advance(minutes=5)
    chat.wc.text("o-zhang-son", "20261124")
    with chat.lx.session() as s:
        linked = cards.linked_identities(s, ident(chat, "o-zhang").household_id)
        assert [i.openid for i in linked] == ["o-zhang-son", "o-zhang"]
    assert "2 个关联账号" in notices_to(chat, "o-li")[-1]
    # 解绑 卡号 with two accounts linked: both are listed with their numbers, nothing changes
    listed = chat.wc.text("o-li", "解绑 20261124")
    assert "未作任何改动" in listed and "解绑 张大爷 2" in listed and "解绑 张大爷 1" in listed
    assert ident(chat, "o-zhang-son").kind == "villager" and ident(chat, "o-zhang").kind == "villager"
    reply = chat.wc.text("o-li", "解绑 张大爷 2")
    assert "已解除" in reply and "还有 1 个" in reply
    assert ident(chat, "o-zhang-son").kind == "unknown" and ident(chat, "o-zhang").kind == "villager"
    [told] = notices_to(chat, "o-zhang-son")
    assert "解除" in told and "张大爷" in told
    [audit] = chat.all(select(AuditLog).where(AuditLog.action == "household.unlink"))
    assert (
        audit.actor == f"cadre:{PHONE}" and audit.detail["via"] == "number" and audit.detail["link_no"] == 2
    )
    assert "o-zhang-son" not in str(audit.detail)  # the openid is masked in the log
    assert "现在没有关联" in chat.wc.text("o-li", "解綁 20261124")  # one left: removed; Traditional form too
    assert "没有关联的微信账号" in chat.wc.text("o-li", "解绑 20261124")


def test_unlink_is_only_for_the_cadres_own_households(chat: Chat) -> None:
    chat.wc.text("o-liu", "20261188")
    assert "不是您联系的农户" in chat.wc.text("o-li", "解绑 20261188")
    assert ident(chat, "o-liu").kind == "villager"
    assert "解绑 户主姓名" in chat.wc.text("o-li", "解绑")
    assert "不是您联系的农户" in chat.wc.text("o-li", "解绑 99999999")


def test_a_villager_cannot_unlink(chat: Chat) -> None:
    chat.wc.text("o-zhang", "20261124")
    chat.wc.text("o-liu", "20261188")
    chat.wc.text("o-zhang", "解绑 20261188")
    assert ident(chat, "o-liu").kind == "villager"


def test_a_typo_is_told_apart_from_a_wrong_number(chat: Chat) -> None:
    body = "1111222"
    good = body + cards.check_digit(body)
    swapped = (
        good[:3] + good[4] + good[3] + good[5:]
        if good[3] != good[4]
        else good[:2] + good[3] + good[2] + good[4:]
    )
    assert "看起来有一位数字输错" in chat.wc.text("o-x", swapped)
    assert "看起来有一位数字输错" not in chat.wc.text("o-y", good)


def test_check_digits_catch_every_single_error_and_adjacent_swap() -> None:
    for _ in range(200):
        n = cards.random_number()
        assert len(n) == 8 and n[0] != "0" and cards.number_checks(n)
        for i in range(8):
            for d in "0123456789":
                if d != n[i]:
                    assert not cards.number_checks(n[:i] + d + n[i + 1 :])
            if i < 7 and n[i] != n[i + 1]:
                assert not cards.number_checks(n[:i] + n[i + 1] + n[i] + n[i + 2 :])


def test_wrong_numbers_from_many_accounts_pause_the_guessers_for_a_while(chat: Chat) -> None:
    """A distributed guesser: 30 distinct wrong numbers within an hour, from 30 accounts, start a pause of an
    hour for the accounts that guessed; a villager who never typed a wrong number still links, and scanning a
    card's QR code always links."""
    chat.lx.config.scheduler.office_openids = ["o-office"]
    for i in range(30):
        assert "没有找到" in chat.wc.text(f"o-guess-{i}", f"5{i:06d}1")
    reply = chat.wc.text("o-guess-0", "20261124")  # a guesser, even with a right number: held
    assert "暂停" in reply and ident(chat, "o-guess-0").kind != "villager"
    assert "暂停" in chat.wc.text("o-guess-x", "50000991")  # a fresh account's wrong number: held too
    assert "暂停" in chat.wc.text("o-guess-x", "20261124")
    [told] = notices_to(chat, "o-office")  # anyone can trip the pause: the office hears of it, once
    assert "暂停" in told and "card_guesses_per_hour" in told and "输错过卡号的微信账号" in told
    assert "绑定成功" in chat.wc.text("o-zhang", "20261124")  # never guessed: links
    with chat.lx.session() as s:
        card = s.scalar(select(ServiceCard).where(ServiceCard.number == "20261124"))
        card.qr_scene = scene = cards.new_scene()
    assert "绑定成功" in chat.wc.event("o-guess-1", "SCAN", key=scene)
    chat.clock.advance(minutes=61)
    assert "绑定成功" in chat.wc.text("o-guess-0", "20261124")


def test_the_overall_pause_can_be_switched_off(make_lx: Any, clock: Any) -> None:
    clock.set("2026-11-24 20:00")
    c = make_chat(make_lx, clock, **{"general.card_guesses_per_hour": 0})
    with c.factory() as f:
        f.household(f.cadre(name="李明", phone=PHONE, post="村支书"), head_name="张大爷", card="20261124")
    for i in range(40):
        assert "没有找到" in c.wc.text(f"o-guess-{i}", f"5{i:06d}1")
    assert "绑定成功" in c.wc.text("o-zhang", "20261124")
