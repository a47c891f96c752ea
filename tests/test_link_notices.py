"""A link notice names the household and its link, never the card number, and its `解绑` removes exactly the
account it named (issue 21 items 2 and 4): `解绑 户主姓名 N` beside `解绑 卡号`, ambiguous names ask, several
accounts are listed instead of guessed.

The notice's words are its behaviour here (what it names, and the 解绑 command the cadre copies from it), so the
notices are read as text; the replies to 解绑 are asserted by the template and values they were rendered with."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import Cadre, Household, OutboxMessage, WechatIdentity
from tests.support.chat_env import Chat, make_chat

PHONE = "13900001111"
CARD_LIKE = re.compile(r"(?<!\d)\d{8,9}(?!\d)")


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    clock.set("2026-11-24 20:00")
    c = make_chat(make_lx, clock)
    with c.factory() as f:
        li = f.cadre(name="李明", phone=PHONE, post="村支书")
        wang = f.cadre(name="王强", phone="13900002222", post="村主任")
        v = f.village("新桥村")
        f.household(li, head_name="张大爷", card="20261124", village=v)
        two = f.household(li, head_name="刘婶", card="20261125", village=v)
        two.group_id = f.group(v, "三组").id
        f.household(wang, head_name="赵叔", card="20261188", village=v)
    c.wc.text("o-li", f"绑定 {c.code(PHONE)}")
    assert c.bound_to("o-li") == PHONE
    return c


def notices_to(chat: Chat, openid: str) -> list[str]:
    return [
        m.payload["text"]
        for m in chat.all(
            select(OutboxMessage)
            .where(OutboxMessage.openid == openid, OutboxMessage.kind == "notice")
            .order_by(OutboxMessage.id)
        )
    ]


def kind_of(chat: Chat, openid: str) -> str:
    return chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == openid))


def what_to_send(notice: str) -> str:
    return re.search(r"请回复“([^”]+)”", notice).group(1)  # type: ignore[union-attr]


def test_the_link_notice_names_household_group_and_link_never_the_card(chat: Chat) -> None:
    chat.wc.text("o-liu-daughter", "20261125")
    [notice] = notices_to(chat, "o-li")
    assert "刘婶" in notice and "新桥村三组" in notice and "第1个关联" in notice
    assert what_to_send(notice) == "解绑 刘婶 1"
    assert CARD_LIKE.search(notice) is None and "20261125" not in notice


def test_answering_an_older_notice_removes_exactly_the_account_it_named(chat: Chat, renders) -> None:
    chat.wc.text("oSTRANGER-000001", "20261124")  # a stranger holding the number
    chat.clock.advance(minutes=30)
    chat.wc.text("oFAMILY-00000002", "20261124")  # then the family's own account
    first, second = notices_to(chat, "o-li")
    assert what_to_send(first) == "解绑 张大爷 1" and what_to_send(second) == "解绑 张大爷 2"
    done = renders.behind(chat.wc.text("o-li", what_to_send(first)))  # answering the first, after the second
    assert (done.name, done["gone"]["no"], [a["no"] for a in done["left"]]) == ("unlink_done", 1, [2])
    assert kind_of(chat, "oSTRANGER-000001") == "unknown" and kind_of(chat, "oFAMILY-00000002") == "villager"
    again = renders.behind(
        chat.wc.text("o-li", what_to_send(first))
    )  # the same answer twice removes nobody else
    assert (again.name, again["no"], [a["no"] for a in again["accounts"]]) == ("unlink_gone", 1, [2])
    assert kind_of(chat, "oFAMILY-00000002") == "villager"
    # the stranger links again: a new number, so the old notice's answer still removes no one
    chat.wc.text("oSTRANGER-000001", "20261124")
    assert what_to_send(notices_to(chat, "o-li")[-1]) == "解绑 张大爷 3"
    assert renders.behind(chat.wc.text("o-li", "解绑 张大爷 1")).name == "unlink_gone"


def test_unlink_by_the_heads_name_with_one_account_removes_it(chat: Chat, renders) -> None:
    chat.wc.text("o-zhang", "20261124")
    done = renders.behind(chat.wc.text("o-li", "解綁　张大爷"))  # Traditional, full-width space
    assert (done.name, done["left"]) == ("unlink_done", [])
    assert kind_of(chat, "o-zhang") == "unknown"
    told = renders.behind(notices_to(chat, "o-zhang")[-1])
    assert (told.name, told["household"].head_name) == ("unlinked_push", "张大爷")


def test_unlink_by_name_with_several_accounts_lists_them_and_changes_nothing(chat: Chat, renders) -> None:
    for openid in ("o-zhang", "o-zhang-son", "o-zhang-wife"):
        chat.wc.text(openid, "20261124")
    listed = renders.behind(chat.wc.text("o-li", "解绑 张大爷"))
    assert (listed.name, sorted(a["no"] for a in listed["accounts"])) == ("unlink_choose", [1, 2, 3])
    assert all(kind_of(chat, o) == "villager" for o in ("o-zhang", "o-zhang-son", "o-zhang-wife"))
    done = renders.behind(chat.wc.text("o-li", "解绑 张大爷第2个"))  # written together, with 第…个
    assert (done.name, done["gone"]["no"]) == ("unlink_done", 2)
    assert kind_of(chat, "o-zhang-son") == "unknown"


def test_a_name_two_of_my_households_share_asks_for_the_group(chat: Chat, renders) -> None:
    with chat.factory() as f:
        li = chat_cadre(f)
        v = f.village("新桥村")
        twin = f.household(li, head_name="张大爷", card="20261126", village=v)
        twin.group_id = f.group(v, "五组").id
    chat.wc.text("o-twin", "20261126")
    notice = notices_to(chat, "o-li")[-1]
    assert what_to_send(notice) == "解绑 张大爷 五组 1"
    ask = renders.behind(chat.wc.text("o-li", "解绑 张大爷"))
    assert (ask.name, len(ask["households"])) == ("unlink_ambiguous", 2) and kind_of(
        chat, "o-twin"
    ) == "villager"
    assert renders.behind(chat.wc.text("o-li", what_to_send(notice))).name == "unlink_done"
    assert kind_of(chat, "o-twin") == "unknown"


def test_same_name_and_group_falls_back_to_the_card_number_without_printing_it(chat: Chat, renders) -> None:
    with chat.factory() as f:
        f.household(chat_cadre(f), head_name="张大爷", card="20261127", village=f.village("新桥村"))
    chat.wc.text("o-twin", "20261127")
    notice = notices_to(chat, "o-li")[-1]
    assert "解绑 卡号 1" in notice and "20261127" not in notice
    assert renders.behind(chat.wc.text("o-li", "解绑 20261127 1")).name == "unlink_done"


def test_unlink_by_name_reaches_only_the_cadres_own_households(chat: Chat, renders) -> None:
    chat.wc.text("o-zhao", "20261188")
    for attempt in ("解绑 赵叔", "解绑 赵叔 1", "解绑 20261188", "解绑 没这个人"):
        assert renders.behind(chat.wc.text("o-li", attempt)).name == "unlink_not_mine"
    assert kind_of(chat, "o-zhao") == "villager"


def test_accounts_linked_before_numbers_existed_get_numbers_when_listed(chat: Chat, renders) -> None:
    with chat.factory() as f:
        h = f.s.scalar(select(Household).where(Household.head_name == "张大爷"))
        f.identity("o-old-1", household=h)
        f.identity("o-old-2", household=h)
    listed = renders.behind(chat.wc.text("o-li", "解绑 张大爷"))
    assert sorted(a["no"] for a in listed["accounts"]) == [1, 2]
    assert renders.behind(chat.wc.text("o-li", "解绑 张大爷 1")).name == "unlink_done"
    assert len([o for o in ("o-old-1", "o-old-2") if kind_of(chat, o) == "villager"]) == 1


def chat_cadre(f: Any) -> Any:
    return f.s.scalar(select(Cadre).where(Cadre.phone == PHONE))
