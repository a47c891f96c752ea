"""How often a service card may be tried and linked (issue 21 items 11 and 12): right numbers count when
linking is abused (a hopping account, a card linked by a crowd), the pause across accounts counts only distinct
card-shaped wrong numbers and holds the guessers, not the county, and the office hears what it holds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import OutboxMessage, RateLimit, WechatIdentity
from tests.support.chat_env import Chat, make_chat

PHONE = "13900001111"
CARDS = [f"2026{i:04d}" for i in range(1, 9)]


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    clock.set("2026-11-24 09:00")
    c = make_chat(make_lx, clock, **{"scheduler.office_openids": ["o-office"]})
    with c.factory() as f:
        li = f.cadre(name="李明", phone=PHONE)
        for n, card in enumerate(CARDS):
            f.household(li, head_name=f"户主{n}", card=card)
    assert "绑定成功" in c.wc.text("o-li", f"绑定 {c.code(PHONE)}")
    return c


def household_of(chat: Chat, openid: str) -> int | None:
    return chat.one(select(WechatIdentity.household_id).where(WechatIdentity.openid == openid))


def notices_to(chat: Chat, openid: str) -> list[str]:
    return [
        m.payload["text"]
        for m in chat.all(
            select(OutboxMessage)
            .where(OutboxMessage.openid == openid, OutboxMessage.kind == "notice")
            .order_by(OutboxMessage.id)
        )
    ]


# -------------------------------------------------------------------------------- per account (item 11)


def test_a_right_number_does_not_wipe_the_wrong_ones_before_it(chat: Chat) -> None:
    for i in range(4):
        assert "没有找到" in chat.wc.text("o-x", f"3000000{i}")
    assert "绑定成功" in chat.wc.text("o-x", CARDS[0])  # a number the guesser knows
    assert "之后再试" in chat.wc.text("o-x", "30000009")  # the fifth wrong one still locks


def test_an_account_hopping_through_known_numbers_is_slowed(chat: Chat) -> None:
    assert "绑定成功" in chat.wc.text("o-hopper", CARDS[0])  # the first link is free
    for card in CARDS[1:6]:  # five hops within the hour
        assert "绑定成功" in chat.wc.text("o-hopper", card)
    before = household_of(chat, "o-hopper")
    assert "之后再试" in chat.wc.text("o-hopper", CARDS[6])
    assert household_of(chat, "o-hopper") == before
    assert "绑定成功" in chat.wc.text("o-family", CARDS[0])  # the household itself is not held


def test_a_family_links_one_card_but_a_crowd_does_not(chat: Chat) -> None:
    for member in range(5):  # a family of five, each with WeChat, on the day the card arrives
        assert "绑定成功" in chat.wc.text(f"o-family-{member}", CARDS[0])
    refused = chat.wc.text("o-sixth", CARDS[0])
    assert "今天已有 5 个微信关联" in refused and household_of(chat, "o-sixth") is None
    chat.wc.text("o-seventh", CARDS[0])
    assert household_of(chat, "o-seventh") is None
    [to_cadre] = [n for n in notices_to(chat, "o-li") if "已拒绝" in n]  # told once a day, not per refusal
    [to_office] = notices_to(chat, "o-office")
    assert "户主0" in to_cadre and "卡号可能已外泄" in to_office and CARDS[0] not in to_office
    assert chat.one(select(RateLimit.failures).where(RateLimit.key == "card:o-sixth")) == 1  # counted
    chat.clock.advance(hours=25)
    assert "绑定成功" in chat.wc.text("o-sixth", CARDS[0])


# ---------------------------------------------------------------------------- across accounts (item 12)


def test_chatty_text_with_digits_never_counts_toward_the_pause(chat: Chat) -> None:
    chat.lx.config.general.card_guesses_per_hour = 3
    for i, text in enumerate(["ABC1234", "1234", "20261", "2026年1124", "1234567890123"]):
        chat.wc.text(f"o-chatty-{i}", text)
    assert chat.one(select(RateLimit).where(RateLimit.key == "card:*")) is None
    assert "绑定成功" in chat.wc.text("o-chatty-0", CARDS[0])


def test_the_same_wrong_number_typed_again_counts_once(chat: Chat) -> None:
    chat.lx.config.general.card_guesses_per_hour = 3
    for i in range(4):  # an elderly villager's family, each retrying the one number they misread
        chat.wc.text(f"o-retry-{i}", "31112222")
        chat.wc.text(f"o-retry-{i}", "31112222")
    assert chat.one(select(RateLimit.failures).where(RateLimit.key == "card:*")) == 1
    assert notices_to(chat, "o-office") == []
    chat.wc.text("o-guess-a", "41112222")
    chat.wc.text("o-guess-b", "51112222")  # the third distinct number: the pause starts
    [told] = notices_to(chat, "o-office")
    assert "3 个不同的错误服务卡号" in told and "10:00" in told  # what it holds, and until when


def test_the_pause_holds_the_guessers_not_the_county(chat: Chat) -> None:
    chat.lx.config.general.card_guesses_per_hour = 3
    for i in range(3):
        chat.wc.text(f"o-guess-{i}", f"6111222{i}")
    assert "暂停" in chat.wc.text("o-guess-0", CARDS[0])  # a guesser
    assert "绑定成功" in chat.wc.text("o-villager", CARDS[1])  # anyone else, first time right
    assert "暂停" in chat.wc.text("o-fresh", "71112222")  # one wrong number during the pause ...
    assert "暂停" in chat.wc.text("o-fresh", CARDS[2])  # ... holds that account to the end
    paused = chat.one(select(RateLimit.locked_until).where(RateLimit.key == "card:*"))
    assert paused == chat.clock() + timedelta(hours=1)
    assert len(notices_to(chat, "o-office")) == 1  # the pause neither grows nor is told again
