"""A cadre's commands, end to end through /wechat: 回复 to a villager, 农户 (pages, names), 本月, 帮助, 政策 — and
a keyword with a short argument is the command, while a diary that merely starts with the word stays a diary."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from handlers import keywords
from storage.models import (
    Cadre,
    DiaryEntry,
    OutboxMessage,
    RequestReply,
    VillagerRequest,
    WechatIdentity,
)
from tests.support.chat_env import Chat, bound, busy_cadre_world, cadre_world


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    return cadre_world(make_lx, clock)


@pytest.fixture
def busy_chat(make_lx: Any, clock: Any) -> Chat:
    return busy_cadre_world(make_lx, clock)


# ---------------------------------------------------------------------------------------- 回复 M TEXT


def _villager_request(
    chat: Chat, text: str = "我家水管坏了", openid: str = "o-zhang", card: str = "20261124"
) -> int:
    chat.wc.text(openid, card)
    before = chat.count(VillagerRequest)
    chat.wc.text(openid, text)
    assert chat.count(VillagerRequest) == before + 1
    return chat.one(select(VillagerRequest.number).order_by(VillagerRequest.id.desc()))


def test_reply_reaches_the_villager(chat: Chat, renders) -> None:
    bound(chat)
    n = _villager_request(chat)
    sent = renders.behind(chat.wc.text("o-li", f"回覆　{n}：明天上午去修"))
    assert (sent.name, sent["request"].number, sent["relayed"]) == ("reply_sent", n, True)
    req = chat.one(select(VillagerRequest))
    assert req.status == "answered" and req.first_answer_at is not None
    assert chat.one(select(RequestReply.text)) == "明天上午去修"
    relay = chat.one(select(OutboxMessage).where(OutboxMessage.kind == "reply"))
    assert relay.openid == "o-zhang" and renders.behind(relay.payload["text"])["ask_rating"] is True
    # a second answer in the same round does not ask for a rating again
    chat.wc.text("o-li", f"回复 {n} 已经修好")
    second = chat.all(select(OutboxMessage).where(OutboxMessage.kind == "reply").order_by(OutboxMessage.id))[
        1
    ]
    assert renders.behind(second.payload["text"])["ask_rating"] is False


def test_reply_only_to_own_requests(chat: Chat, renders) -> None:
    bound(chat)
    bound(chat, "o-wang", "13900002222")
    n = _villager_request(chat, openid="o-zhao", card="20261126")  # 赵叔 belongs to 王芳
    # another cadre's request is answered exactly as a missing one: numbers reveal nothing
    theirs = renders.behind(chat.wc.text("o-li", f"回复 {n} 我来答"))
    assert (theirs.name, theirs["number"]) == ("reply_not_found", n)
    assert (renders.behind(chat.wc.text("o-li", "回复 999 你好")).name, renders.last()["number"]) == (
        "reply_not_found",
        999,
    )
    assert chat.count(RequestReply) == 0 and chat.count(OutboxMessage, OutboxMessage.kind == "reply") == 0
    assert chat.one(select(VillagerRequest.status)) == "open"


def test_reply_usage(chat: Chat) -> None:
    """The usage text is what a cadre reads to answer properly: its words are pinned."""
    bound(chat)
    assert "回复 诉求编号 内容" in chat.wc.text("o-li", "回复")
    assert "回复 诉求编号 内容" in chat.wc.text("o-li", "回复 12")
    assert "回复 诉求编号 内容" in chat.wc.text("o-li", "回复 99999999999999999999 好")
    assert chat.count(RequestReply) == 0


def test_reply_to_closed_request(chat: Chat, renders) -> None:
    bound(chat)
    n = _villager_request(chat)
    chat.wc.text("o-li", f"回复 {n} 好的")
    chat.wc.text("o-zhang", "满意")
    assert renders.behind(chat.wc.text("o-li", f"回复 {n} 还有事吗")).name == "reply_closed"
    assert chat.count(RequestReply) == 1


# ------------------------------------------------------------------------------------ 农户 本月 帮助


def test_households_lists_only_mine_with_their_phones_in_full(chat: Chat, renders) -> None:
    """The cadre is to call their households: their own households' phones are in full (issue 25 item 9)."""
    bound(chat)
    reply = chat.wc.text("o-li", "农户")
    listed = renders.behind(reply)
    assert listed.name == "households" and sorted(it["h"].head_name for it in listed["items"]) == [
        "刘婶",
        "张大爷",
    ]
    assert "13812345678" in reply and "138****5678" not in reply


def test_long_household_list_pages_with_more(chat: Chat, renders) -> None:
    bound(chat)
    with chat.lx.session() as s:
        from tests.support.factories import Factory

        f = Factory(s)
        cadre = s.get(Cadre, s.scalar(select(WechatIdentity.cadre_id).where(WechatIdentity.openid == "o-li")))
        for i in range(80):
            f.household(cadre, head_name=f"农户甲乙丙{i:02d}")
    first = chat.wc.text("o-li", "农户")
    footer = renders.part("page_footer", first)
    assert len(first.encode()) <= 2048 and footer["more"] and footer["page"] == 1
    pages = [first]
    while renders.part("page_footer", pages[-1])["more"]:
        nxt = chat.wc.text("o-li", "更多")
        assert len(nxt.encode()) <= 2048
        pages.append(nxt)
    whole = "\n".join(pages)
    assert all(f"农户甲乙丙{i:02d}" in whole for i in range(80))
    assert renders.behind(chat.wc.text("o-li", "更多")).name == "more_nothing"


def test_month_figures(chat: Chat, renders) -> None:
    bound(chat)
    chat.clock.set("2026-11-02 09:00")
    chat.wc.text("o-li", "走访一")
    chat.clock.set("2026-11-24 20:00")
    chat.wc.text("o-li", "走访二")
    chat.wc.text("o-li", "走访三")
    chat.wc.text("o-li", "小结 本月很好")
    _villager_request(chat)
    shown = renders.behind(chat.wc.text("o-li", "本月"))
    assert (shown.name, shown["days"], shown["entries"]) == ("month", 2, 3)
    assert shown["summary"] is not None
    assert (shown["requests_total"], shown["requests_answered"], shown["requests_waiting"]) == (1, 0, 1)


def test_help_for_cadre(chat: Chat) -> None:
    """The help text is what a cadre reads to learn the commands: its words are pinned."""
    bound(chat)
    for word in ("帮助", "幫助", "help", "？", "?"):
        assert "回复 诉求号 内容" in chat.wc.text("o-li", word)


def test_policy_for_cadre(chat: Chat, renders) -> None:
    bound(chat)
    assert renders.behind(chat.wc.text("o-li", "政策")).name == "policy_topics"
    assert chat.count(DiaryEntry) == 0


# ------------------------------------------------------------------------------------------
# 农户 N / 农户 NAME, 本月 X, 帮助 X on a busy cadre (forty households): the keyword with a short argument is the
# command (never a diary entry that counts toward coverage); diaries that merely start with the word stay diaries.


def test_households_page_and_name(busy_chat: Chat, renders) -> None:
    first = busy_chat.wc.text("o-li", "农户")
    assert len(renders.behind(first)["items"]) == 40 and renders.part("page_footer", first)["page"] == 1
    second = busy_chat.wc.text("o-li", "农户 2")
    assert renders.part("page_footer", second)["page"] == 2 and "1. 刘00号" not in second
    assert second.split("\n")[0] != first.split("\n")[0]
    missing = renders.behind(busy_chat.wc.text("o-li", "农户 9"))
    assert (missing.name, missing["page"]) == ("households_no_page", 9)
    named = busy_chat.wc.text("o-li", "农户 张03")
    found = renders.behind(named)
    assert (
        [it["h"].head_name for it in found["items"]] == ["张03号户主"]
        and found["query"] == "张03"
        and "刘" not in named
    )
    none = renders.behind(busy_chat.wc.text("o-li", "农户 孙"))
    assert (none["items"], none["query"], none["total"]) == ([], "孙", 40)
    assert busy_chat.count(DiaryEntry) == 0


def test_month_and_help_with_an_argument_and_diaries_that_start_with_a_keyword(busy_chat: Chat) -> None:
    assert busy_chat.wc.text("o-li", "本月 情况") == busy_chat.wc.text("o-li", "本月")
    assert busy_chat.wc.text("o-li", "帮助 任务") == busy_chat.wc.text("o-li", "帮助")
    assert busy_chat.count(DiaryEntry) == 0
    for diary in (
        "任务完成了，走访张家",
        "任务 今天全部走访完毕",
        "农户今天来问医保",
        "本月走访了 12 户，情况稳定",
    ):
        assert keywords.parse(diary) is None
        busy_chat.wc.text("o-li", diary)
    assert busy_chat.count(DiaryEntry) == 4
