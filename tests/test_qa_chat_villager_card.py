"""QA: a linked villager who sent a card number again got a request whose text was the number. Now their own
card reminds them who their cadre is, another household's card moves the account there, a wrong number is
refused and counted like an unbound account's tries — none of them is a request."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Cadre, Household, VillagerRequest, WechatIdentity
from tests.support.chat_env import Chat
from tests.test_chat_villager import chat, linked  # noqa: F401 - the `chat` fixture


def test_linked_villager_sending_a_card_number(chat: Chat) -> None:  # noqa: F811
    with chat.factory() as f:
        wang = f.cadre(name="王芳", phone="13900002222")
        f.household(wang, head_name="张二哥", card="20261125")
    linked(chat, "o-zhang")
    own = chat.wc.text("o-zhang", "2026 1124")
    assert "您已绑定" in own and "张大爷" in own and "您家的联户干部：李明" in own
    assert chat.count(VillagerRequest) == 0
    moved = chat.wc.text("o-zhang", "20261125")
    assert "绑定成功" in moved and "张二哥" in moved and "王芳" in moved
    hid = chat.one(select(WechatIdentity.household_id).where(WechatIdentity.openid == "o-zhang"))
    assert chat.one(select(Household.head_name).where(Household.id == hid)) == "张二哥"
    assert chat.count(VillagerRequest) == 0
    # A number that is no card: refused with the card help, counted; the fifth miss locks like an unbound account.
    wrong = chat.wc.text("o-zhang", "11112222")
    assert "没有找到" in wrong and "加上文字说明" in wrong
    for _ in range(3):
        chat.wc.text("o-zhang", "11112222")
    assert "之后再试" in chat.wc.text("o-zhang", "11113333")
    assert "之后再试" in chat.wc.text("o-zhang", "20261124")  # even a right card waits
    assert chat.one(select(WechatIdentity.household_id).where(WechatIdentity.openid == "o-zhang")) == hid
    assert chat.count(VillagerRequest) == 0
    # Ordinary messages are still requests, to the new household's cadre.
    chat.wc.text("o-zhang", "水管坏了")
    req = chat.one(select(VillagerRequest))
    assert req.text == "水管坏了" and chat.one(select(Cadre.name).where(Cadre.id == req.cadre_id)) == "王芳"
