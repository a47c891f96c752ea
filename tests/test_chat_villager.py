"""A villager's chat, end to end through /wechat: card linking (typed or scanned), requests forwarded to
the cadre, satisfaction, policy questions, follow/unfollow, and the rule that villagers never run cadre
commands."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from storage import cards
from storage.models import (
    Attachment,
    AuditLog,
    Cadre,
    DiaryEntry,
    DutyRecord,
    Feedback,
    Household,
    InboundMessage,
    MonthlySummary,
    OutboxMessage,
    PolicyEntry,
    RateLimit,
    RequestReply,
    ServiceCard,
    VillagerRequest,
    WechatIdentity,
)
from tests.support.chat_env import Chat, make_chat

PHONE = "13900001111"


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    clock.set("2026-11-24 20:00")
    c = make_chat(make_lx, clock)
    with c.factory() as f:
        cadre = f.cadre(name="李明", phone=PHONE, post="村支书", unit="新桥村委会")
        f.household(cadre, head_name="张大爷", card="20261124")
        f.household(None, head_name="孤户", card="20269999")
        s = f.s
        s.add_all(
            [
                PolicyEntry(
                    topic="涉农法规",
                    title="城乡居民医保缴费",
                    body="每年 9 月至 12 月缴纳下一年度城乡居民医保，可在村委会代缴。",
                    keywords="医保 医疗保险 缴费",
                ),
                PolicyEntry(
                    topic="计划生育",
                    title="独生子女父母奖励",
                    body="符合条件的农村独生子女父母每人每年可领奖励扶助金。",
                    keywords="奖励 扶助金",
                ),
                PolicyEntry(
                    topic="办证须知",
                    title="办理身份证",
                    body="携带户口簿到派出所办理，可加急。",
                    keywords="身份证 户口",
                ),
            ]
        )
    c.wc.text("o-li", f"绑定 {c.code(PHONE)}")
    assert c.bound_to("o-li") == PHONE
    return c


def linked(chat: Chat, openid: str = "o-zhang", card: str = "20261124") -> str:
    chat.wc.text(openid, card)
    assert (
        chat.one(
            select(ServiceCard.number)
            .join(WechatIdentity, WechatIdentity.household_id == ServiceCard.household_id)
            .where(WechatIdentity.openid == openid, WechatIdentity.kind == "villager")
        )
        == card
    )
    return openid


def snapshot(chat: Chat) -> dict[str, int]:
    with chat.lx.session() as s:
        return {
            m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0
            for m in (
                DiaryEntry,
                MonthlySummary,
                VillagerRequest,
                RequestReply,
                OutboxMessage,
                Attachment,
                AuditLog,
                DutyRecord,
                Feedback,
            )
        }


# ------------------------------------------------------------------------------------------- linking


@pytest.mark.parametrize("typed", ["20261124", "２０２６１１２４", "2026 1124", "2026-1124", " 2026－11 24 "])
def test_card_number_in_any_width_links(chat: Chat, typed: str) -> None:
    """The reply an elderly villager reads after linking names their household and their cadre's name, post and
    phone: its words are the behaviour, pinned."""
    reply = chat.wc.text("o-zhang", typed)
    assert "绑定成功" in reply and "张大爷" in reply
    assert "李明" in reply and "村支书" in reply and PHONE in reply
    ident = chat.one(select(WechatIdentity).where(WechatIdentity.openid == "o-zhang"))
    assert ident.kind == "villager" and ident.household_id is not None


def test_card_stored_with_dashes_still_found(chat: Chat) -> None:
    with chat.factory() as f:
        cadre = f.s.scalar(select(WechatIdentity.cadre_id).where(WechatIdentity.openid == "o-li"))
        from storage.models import Cadre

        f.household(f.s.get(Cadre, cadre), head_name="王奶奶", card="XQ-0042-17")
    assert "王奶奶" in chat.wc.text("o-wang", "xq 0042 17")


def scene_of(chat: Chat, number: str = "20261124") -> str:
    """The card's QR scene token, as printing would set it (the code itself comes from WeChat)."""
    with chat.lx.session() as s:
        card = s.scalar(select(ServiceCard).where(ServiceCard.number == number))
        if not card.qr_scene:
            card.qr_scene = cards.new_scene()
        return card.qr_scene


@pytest.mark.parametrize("event,prefix", [("subscribe", "qrscene_"), ("SCAN", "")])
def test_qr_scan_links(chat: Chat, event: str, prefix: str, renders) -> None:
    said = renders.behind(chat.wc.event("o-zhang", event, key=prefix + scene_of(chat)))
    assert (said.name, said["cadre"].name, said["already"]) == ("card_linked", "李明", False)
    assert chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-zhang")) == "villager"
    assert chat.one(select(WechatIdentity.bound_via).where(WechatIdentity.openid == "o-zhang")) == "qr"


@pytest.mark.parametrize(
    "event,key",
    [
        ("subscribe", "qrscene_20261124"),
        ("SCAN", "20261124"),
        ("subscribe", "qrscene_lianxin-card:20261124"),
        ("SCAN", "lianxin-card:20261124"),
    ],
)
def test_qr_scan_of_a_card_number_links_nothing(chat: Chat, event: str, key: str, renders) -> None:
    """The scene is the card's random token: a card number (or the old ``lianxin-card:N`` payload) in a scan
    is no key to a household."""
    chat.wc.event("o-zhang", event, key=key)
    assert "card_linked" not in renders.names()
    assert chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-zhang")) != "villager"


def test_pasted_old_card_qr_text_is_not_a_card(chat: Chat, renders) -> None:
    chat.wc.text("o-zhang", "lianxin-card:20261124")
    assert "card_linked" not in renders.names()


def test_family_members_link_the_same_household(chat: Chat, renders) -> None:
    linked(chat, "o-zhang")
    linked(chat, "o-zhang-son")
    hh = chat.all(select(WechatIdentity.household_id).where(WechatIdentity.kind == "villager"))
    assert len(hh) == 2 and hh[0] == hh[1]
    again = renders.behind(chat.wc.event("o-zhang", "SCAN", key=scene_of(chat)))
    assert (again.name, again["already"]) == ("card_linked", True)


def test_wrong_card_gets_help_and_repeated_tries_are_slowed(chat: Chat, renders) -> None:
    reply = chat.wc.text("o-x", "11112222")
    assert "没有找到" in reply and "服务卡" in reply  # the help a villager reads: worded on purpose
    for _ in range(3):
        chat.wc.text("o-x", "11112222")
    assert renders.behind(chat.wc.text("o-x", "11113333")).name == "card_locked"
    assert renders.behind(chat.wc.text("o-x", "20261124")).name == "card_locked"  # even the right card waits
    assert chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-x")) == "unknown"
    chat.clock.advance(minutes=11)
    assert renders.behind(chat.wc.text("o-x", "20261124")).name == "card_linked"
    # a right number does not wipe the wrong ones before it; across accounts, two distinct wrong numbers count
    with chat.lx.session() as s:
        counts = dict(s.execute(select(RateLimit.key, RateLimit.failures)).tuples().all())
    assert counts["card:o-x"] == 5 and counts["card:*"] == 2


def test_wrong_scan_gets_help(chat: Chat, renders) -> None:
    said = renders.behind(chat.wc.event("o-x", "subscribe", key="qrscene_99998888"))
    assert (said.name, said["scanned"]) == ("card_wrong", True)


def test_household_without_cadre(chat: Chat, renders) -> None:
    said = renders.behind(chat.wc.text("o-gu", "20269999"))
    assert (said.name, said["household"].head_name, said["cadre"]) == ("card_linked", "孤户", None)
    before = snapshot(chat)
    assert renders.behind(chat.wc.text("o-gu", "有人吗")).name == "request_no_cadre"
    assert snapshot(chat) == before


def test_cadre_scanning_a_card_stays_a_cadre(chat: Chat, renders) -> None:
    said = renders.behind(chat.wc.event("o-li", "SCAN", key=scene_of(chat)))
    assert (said.name, said["household"].head_name) == ("card_cadre", "张大爷")
    assert chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-li")) == "cadre"


def test_unknown_user_gets_welcome_with_both_paths(chat: Chat, renders) -> None:
    """The welcome tells a stranger both ways in (the card for villagers, 绑定 for cadres): pinned in words."""
    reply = chat.wc.text("o-new", "你好")
    assert "便民服务卡" in reply and "绑定" in reply
    assert renders.behind(chat.wc.event("o-new2", "subscribe")).name == "welcome"
    assert renders.behind(chat.wc.image("o-new")).name == "welcome"
    assert snapshot(chat)["villager_request"] == 0


# ------------------------------------------------------------------------------------------ requests


def test_text_request_forwarded_with_category(chat: Chat) -> None:
    """The villager's receipt names the request's number and category and the cadre who will answer, with their
    phone and role: pinned in words."""
    linked(chat)
    reply = chat.wc.text("o-zhang", "隔壁占了我家宅基地，怎么办")
    assert "诉求编号 1（纠纷）" in reply and "李明" in reply and PHONE in reply and "纠纷调解员" in reply
    req = chat.one(select(VillagerRequest))
    assert (req.category, req.role, req.status, req.msg_type) == ("纠纷", "调解", "open", "text")
    push = chat.one(select(OutboxMessage).where(OutboxMessage.idempotency_key == f"request:{req.id}:cadre"))
    assert push.openid == "o-li" and push.kind == "request" and "回复 1" in push.payload["text"]
    assert "宅基地" in push.payload["text"] and "张大爷" in push.payload["text"]


def test_numbers_are_short_and_unique(chat: Chat) -> None:
    linked(chat)
    for i in range(3):
        chat.wc.text("o-zhang", f"第{i}件事")
    assert chat.all(select(VillagerRequest.number).order_by(VillagerRequest.id)) == [1, 2, 3]


@pytest.mark.parametrize("kind", ["voice", "image", "location"])
def test_voice_photo_location_become_requests(chat: Chat, kind: str, renders) -> None:
    linked(chat)
    if kind == "voice":
        reply = chat.wc.voice("o-zhang", "家里停电了，帮帮忙", media_id="V-9")
    elif kind == "image":
        reply = chat.wc.image("o-zhang", media_id="I-9")
    else:
        reply = chat.wc.location("o-zhang", label="新桥村口")
    assert (renders.behind(reply).name, renders.behind(reply)["request"].number) == ("request_received", 1)
    req = chat.one(select(VillagerRequest))
    att = chat.one(select(Attachment))
    assert (
        req.msg_type == kind
        and att.owner_type == "request"
        and att.owner_id == req.id
        and att.media_type == kind
    )
    if kind == "voice":
        assert req.category == "求助" and "停电" in req.text and att.media_id == "V-9"
    if kind == "location":
        assert "新桥村口" in req.text


def test_satisfaction_asked_once_and_recorded(chat: Chat, renders) -> None:
    linked(chat)
    chat.wc.text("o-zhang", "水管坏了")
    chat.wc.text("o-li", "回复 1 明天去修")
    assert renders.behind(chat.wc.text("o-zhang", "满意")).name == "satisfaction_thanks"
    req = chat.one(select(VillagerRequest))
    assert (req.satisfaction, req.status) == ("满意", "closed")
    # with nothing awaiting a rating, 满意 is just a message to the cadre
    again = renders.behind(chat.wc.text("o-zhang", "满意"))
    assert (again.name, again["request"].number) == ("request_received", 2)


def test_unsatisfied_reopens(chat: Chat, renders) -> None:
    linked(chat)
    chat.wc.text("o-zhang", "水管坏了")
    chat.wc.text("o-li", "回复 1 明天去修")
    reopened = renders.behind(chat.wc.text("o-zhang", "不滿意"))
    assert (reopened.name, reopened["cadre"].name) == ("satisfaction_reopened", "李明")
    req = chat.one(select(VillagerRequest))
    assert (req.satisfaction, req.status, req.reopened_count) == ("不满意", "open", 1)
    assert chat.count(OutboxMessage, OutboxMessage.idempotency_key == f"request:{req.id}:reopen:1") == 1
    chat.wc.text("o-li", "回复 1 今天已修好")
    relay = chat.all(select(OutboxMessage).where(OutboxMessage.kind == "reply").order_by(OutboxMessage.id))[
        -1
    ]
    assert renders.behind(relay.payload["text"])["ask_rating"] is True  # a new round asks again
    chat.wc.text("o-zhang", "满意")
    assert chat.one(select(VillagerRequest.status)) == "closed"


CADRE_COMMANDS = [
    "日记 今天走访",
    "小结 本月很好",
    "撤销",
    "任务",
    "反馈 1 已办",
    "完成 1 好了",
    "延期 1 下周",
    "回复 1 好的",
    "农户",
    "本月",
    "登记 张大爷",
    "发卡 张大爷",
    "宣传 全部",
    "承诺 张大爷",
    "改 调解",
    "日記 今天",
    "回覆 1 好",
    "撤回",
]


def test_villager_can_never_run_cadre_commands(chat: Chat, renders) -> None:
    linked(chat)
    chat.wc.text("o-zhang", "路灯坏了")  # request 1, so "回复 1" has a target
    before = snapshot(chat)
    ident_before = chat.one(select(WechatIdentity).where(WechatIdentity.openid == "o-zhang"))
    for cmd in CADRE_COMMANDS:
        reply = chat.wc.text("o-zhang", cmd)
        assert renders.behind(reply).name == "villager_cadre_command", (cmd, reply)
    assert snapshot(chat) == before
    ident = chat.one(select(WechatIdentity).where(WechatIdentity.openid == "o-zhang"))
    assert (ident.kind, ident.household_id) == (ident_before.kind, ident_before.household_id)


def test_unknown_user_cadre_commands_change_nothing(chat: Chat) -> None:
    before = snapshot(chat)
    for cmd in CADRE_COMMANDS:
        assert chat.wc.text("o-nobody", cmd) is not None
    assert snapshot(chat) == before


# -------------------------------------------------------------------------------------------- policy


def test_policy_lookup_ranked(chat: Chat) -> None:
    linked(chat)
    reply = chat.wc.text("o-zhang", "政策 医保")
    assert reply.startswith("【涉农法规】城乡居民医保缴费")
    reply = chat.wc.text("o-zhang", "政策 身份证怎么办")
    assert "办理身份证" in reply and "医保" not in reply
    assert snapshot(chat)["villager_request"] == 0


def test_policy_no_match_lists_topics(chat: Chat, renders) -> None:
    reply = chat.wc.text("o-anyone", "政策 火箭发射")
    said = renders.behind(reply)
    assert (
        (said.name, said["query"]) == ("policy_topics", "火箭发射")
        and "涉农法规" in reply
        and "计划生育" in reply
    )


def test_plain_policy_question_answered(chat: Chat, renders) -> None:
    linked(chat)
    reply = chat.wc.text("o-zhang", "医保政策怎么缴费？")
    assert "城乡居民医保缴费" in reply
    assert chat.count(VillagerRequest) == 0
    # not a policy question: a request
    assert renders.behind(chat.wc.text("o-zhang", "我家猪跑了怎么办")).name == "request_received"


def test_policy_answer_follows_the_office_edits_at_once(chat: Chat) -> None:
    """The handbook is cached per process; an edit, an addition and a deletion each show in the next answer."""
    assert "城乡居民医保缴费" in chat.wc.text("o-anyone", "政策 医保")
    with chat.lx.session() as s:
        entry = s.scalar(select(PolicyEntry).where(PolicyEntry.title == "城乡居民医保缴费"))
        entry.body = entry.body + "今年起可在手机上缴。"  # same instant as its last edit: the length moves
    assert "今年起可在手机上缴" in chat.wc.text("o-anyone", "政策 医保")
    with chat.lx.session() as s:
        s.add(PolicyEntry(topic="涉农法规", title="耕地地力补贴", body="按承包面积发放。", keywords="补贴"))
    assert "按承包面积发放" in chat.wc.text("o-anyone", "政策 耕地补贴")
    with chat.lx.session() as s:
        s.delete(s.scalar(select(PolicyEntry).where(PolicyEntry.title == "耕地地力补贴")))
    assert "按承包面积发放" not in chat.wc.text("o-anyone", "政策 耕地补贴")


# -------------------------------------------------------------------------------------------- events


def test_unfollow_marks_unreachable_and_refollow_restores(chat: Chat, renders) -> None:
    linked(chat)
    chat.wc.text("o-zhang", "路灯坏了")
    assert chat.wc.event("o-zhang", "unsubscribe") is None
    ident = chat.one(select(WechatIdentity).where(WechatIdentity.openid == "o-zhang"))
    assert (ident.subscribed, ident.unreachable, ident.kind) == (False, True, "villager")
    assert chat.count(VillagerRequest) == 1
    chat.clock.advance(minutes=1)
    assert renders.behind(chat.wc.event("o-zhang", "subscribe")).name == "help_villager"
    ident = chat.one(select(WechatIdentity).where(WechatIdentity.openid == "o-zhang"))
    assert (ident.subscribed, ident.unreachable) == (True, False)


def test_event_retries_are_one_event(chat: Chat) -> None:
    t = chat.wc.ts()
    chat.wc.event("o-zhang", "subscribe", key="qrscene_20261124", create_time=t)
    chat.wc.event("o-zhang", "subscribe", key="qrscene_20261124", create_time=t)
    assert chat.count(InboundMessage, InboundMessage.openid == "o-zhang") == 1


def test_help_for_villager_names_the_cadre(chat: Chat) -> None:
    """The villager's help names their cadre and phone and how to rate an answer: pinned in words."""
    linked(chat)
    before = snapshot(chat)
    for word in ("帮助", "幫助", "?", "菜单"):
        reply = chat.wc.text("o-zhang", word)
        assert "李明" in reply and PHONE in reply and "满意" in reply
    assert snapshot(chat) == before


# ------------------------------------------------------------------------------------------
# A linked villager sending a card number is never a request: their own card reminds them who their cadre is,
# another household's card moves the account there, a wrong number is refused and counted like an unbound
# account's tries.


def test_linked_villager_sending_a_card_number(chat: Chat, renders) -> None:
    with chat.factory() as f:
        wang = f.cadre(name="王芳", phone="13900002222")
        f.household(wang, head_name="张二哥", card="20261125")
    linked(chat, "o-zhang")
    own = renders.behind(chat.wc.text("o-zhang", "2026 1124"))
    assert (own.name, own["already"], own["household"].head_name, own["cadre"].name) == (
        "card_linked",
        True,
        "张大爷",
        "李明",
    )
    assert chat.count(VillagerRequest) == 0
    moved = renders.behind(chat.wc.text("o-zhang", "20261125"))
    assert (moved["already"], moved["household"].head_name, moved["cadre"].name) == (False, "张二哥", "王芳")
    hid = chat.one(select(WechatIdentity.household_id).where(WechatIdentity.openid == "o-zhang"))
    assert chat.one(select(Household.head_name).where(Household.id == hid)) == "张二哥"
    assert chat.count(VillagerRequest) == 0
    # A number that is no card: refused with the card help, counted; the fifth miss locks like an unbound account.
    wrong = renders.behind(chat.wc.text("o-zhang", "11112222"))
    assert (wrong.name, wrong["linked"]) == ("card_wrong", True)  # the help adds: or write words with it
    for _ in range(3):
        chat.wc.text("o-zhang", "11112222")
    assert renders.behind(chat.wc.text("o-zhang", "11113333")).name == "card_locked"
    assert (
        renders.behind(chat.wc.text("o-zhang", "20261124")).name == "card_locked"
    )  # even a right card waits
    assert chat.one(select(WechatIdentity.household_id).where(WechatIdentity.openid == "o-zhang")) == hid
    assert chat.count(VillagerRequest) == 0
    # Ordinary messages are still requests, to the new household's cadre.
    chat.wc.text("o-zhang", "水管坏了")
    req = chat.one(select(VillagerRequest))
    assert req.text == "水管坏了" and chat.one(select(Cadre.name).where(Cadre.id == req.cadre_id)) == "王芳"


def test_a_linked_villagers_phone_number_or_short_figure_reaches_the_cadre(chat: Chat) -> None:
    """ "13812345678" (call me back) or "5000" (the sum in question) from a linked villager is a request, never a
    wrong card number that counts toward the lock."""
    linked(chat, "o-zhang")
    for text in ("13812345678", "138 1234 5678", "5000"):
        assert "诉求编号" in chat.wc.text("o-zhang", text)
    assert chat.count(VillagerRequest) == 3
    assert "没有找到" in chat.wc.text("o-stranger", "5000")  # an unlinked account is still helped to its card
