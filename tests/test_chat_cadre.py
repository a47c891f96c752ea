"""A cadre's chat, end to end through /wechat: binding, diary, 撤销, 小结, photos, 回复, 农户, 本月, 帮助."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import (
    Attachment,
    AuditLog,
    BindCode,
    Cadre,
    CadreLeave,
    DiaryEntry,
    Feedback,
    InboundMessage,
    MonthlySummary,
    OutboxMessage,
    RateLimit,
    RequestReply,
    Task,
    TaskAssignment,
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
        cadre = f.cadre(name="李明", phone=PHONE, post="村支书")
        other = f.cadre(name="王芳", phone="13900002222")
        f.household(cadre, head_name="张大爷", card="20261124", head_phone="13812345678")
        f.household(cadre, head_name="刘婶", card="20261125")
        f.household(other, head_name="赵叔", card="20261126")
    return c


def bound(chat: Chat, openid: str = "o-li", phone: str = PHONE) -> str:
    assert "绑定成功" in chat.wc.text(openid, f"绑定 {chat.code(phone)}")
    return openid


# ------------------------------------------------------------------------------------------- binding


def test_bind_happy_path_in_traditional_full_width(chat: Chat) -> None:
    code = chat.code(PHONE)
    wide = "".join(chr(0xFF10 + int(d)) for d in code)
    reply = chat.wc.text("o-li", f"  綁定\u3000{wide} ")
    assert "绑定成功" in reply and "李明" in reply
    ident = chat.one(select(WechatIdentity).where(WechatIdentity.openid == "o-li"))
    assert ident.kind == "cadre" and ident.cadre_id is not None
    code_row = chat.one(select(BindCode))
    assert code_row.used_by_openid == "o-li" and code_row.used_at is not None
    assert chat.count(AuditLog, AuditLog.action == "wechat.bind") == 1
    logged = chat.all(select(InboundMessage.content).where(InboundMessage.openid == "o-li"))
    assert logged == ["绑定 ********"] and code not in str(logged)  # the code is a secret: not in the log
    assert "无需再次绑定" in chat.wc.text("o-li", f"绑定 {chat.code(PHONE)}")


def test_bind_code_is_single_use(chat: Chat) -> None:
    code = chat.code(PHONE)
    chat.wc.text("o-li", f"绑定 {code}")
    assert "用过了" in chat.wc.text("o-stranger", f"绑定 {code}")
    assert chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-stranger")) == "unknown"


def test_expired_code_refused(chat: Chat) -> None:
    code = chat.code(PHONE)
    chat.clock.advance(days=8)
    assert "过期" in chat.wc.text("o-li", f"绑定 {code}")
    assert chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-li")) == "unknown"


def test_bind_usage_without_code(chat: Chat) -> None:
    assert "绑定 绑定码" in chat.wc.text("o-li", "绑定")
    assert chat.count(RateLimit) == 0


def test_five_wrong_codes_lock_binding_for_an_hour(chat: Chat) -> None:
    for i in range(4):
        assert "不正确" in chat.wc.text("o-guess", f"绑定 0000000{i}")
    assert "之后再试" in chat.wc.text("o-guess", "绑定 00000009")
    good = chat.code(PHONE)
    assert "之后再试" in chat.wc.text("o-guess", f"绑定 {good}")  # even the right code, while locked
    assert chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-guess")) == "unknown"
    assert chat.one(select(BindCode.used_at)) is None
    chat.clock.advance(hours=1, minutes=1)
    assert "绑定成功" in chat.wc.text("o-guess", f"绑定 {good}")
    assert chat.count(RateLimit) == 0  # success clears the counter


def test_rebinding_moves_the_cadre_to_the_new_account(chat: Chat) -> None:
    bound(chat, "o-old-phone")
    reply = chat.wc.text("o-new-phone", f"绑定 {chat.code(PHONE)}")
    assert "原来绑定的微信已解除" in reply
    old = chat.one(select(WechatIdentity).where(WechatIdentity.openid == "o-old-phone"))
    assert old.kind == "unknown" and old.cadre_id is None
    assert "欢迎" in chat.wc.text("o-old-phone", "今天走访三户")  # the old account writes no diary
    assert chat.count(DiaryEntry) == 0


def test_villager_becomes_cadre_only_with_a_code(chat: Chat) -> None:
    chat.wc.text("o-li", "20261124")
    assert chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-li")) == "villager"
    assert "干部使用的指令" in chat.wc.text("o-li", "日记 今天走访")
    assert chat.count(DiaryEntry) == 0
    reply = chat.wc.text("o-li", f"绑定 {chat.code(PHONE)}")
    assert "绑定成功" in reply and "服务卡已解除" in reply
    ident = chat.one(select(WechatIdentity).where(WechatIdentity.openid == "o-li"))
    assert ident.kind == "cadre" and ident.household_id is None


# --------------------------------------------------------------------------------------------- diary


def test_diary_counts_distinct_days_of_the_month(chat: Chat) -> None:
    bound(chat)
    chat.clock.set("2026-11-02 09:00")
    assert "已记入 11月2日 的民情日记（本月第 1 天）" in chat.wc.text("o-li", "走访张大爷家，了解烤烟收购")
    assert "（本月第 1 天）" in chat.wc.text("o-li", "日记 下午调解邻里纠纷")
    chat.clock.set("2026-11-24 20:00")
    assert "已记入 11月24日 的民情日记（本月第 2 天）" in chat.wc.text("o-li", "日記　入户宣传医保政策")
    chat.clock.set("2026-12-01 08:00")
    assert "已记入 12月1日 的民情日记（本月第 1 天）" in chat.wc.text("o-li", "走访")
    entries = chat.all(select(DiaryEntry).order_by(DiaryEntry.id))
    assert [e.role for e in entries[:3]] == ["指导", "调解", "宣传"]
    assert entries[2].text == "入户宣传医保政策"


def test_diary_day_is_the_create_time_not_the_arrival(chat: Chat) -> None:
    bound(chat)
    chat.clock.set("2026-11-25 00:00:30")
    late = int(datetime(2026, 11, 24, 15, 59, 50, tzinfo=UTC).timestamp())  # 23:59:50 in Shanghai
    assert "11月24日" in chat.wc.text("o-li", "夜里处理停电", create_time=late)
    assert chat.one(select(DiaryEntry.day)).isoformat() == "2026-11-24"


def test_voice_diary_keeps_media_id(chat: Chat) -> None:
    bound(chat)
    assert "已记入" in chat.wc.voice("o-li", "今天去刘婶家帮忙办理低保", media_id="MEDIA-V1")
    assert "已记入" in chat.wc.voice("o-li", "", media_id="MEDIA-V2")
    rows = chat.all(select(DiaryEntry).order_by(DiaryEntry.id))
    assert [(r.source, r.media_id) for r in rows] == [("voice", "MEDIA-V1"), ("voice", "MEDIA-V2")]
    assert rows[0].role == "服务" and "未识别" in rows[1].text


def test_diary_usage_and_empty(chat: Chat) -> None:
    bound(chat)
    assert "请在“日记”后面写内容" in chat.wc.text("o-li", "日记")
    assert chat.count(DiaryEntry) == 0


def test_cadre_on_leave_can_still_write(chat: Chat) -> None:
    bound(chat)
    with chat.lx.session() as s:
        cid = s.scalar(select(WechatIdentity.cadre_id).where(WechatIdentity.openid == "o-li"))
        s.add(CadreLeave(cadre_id=cid, start_date=datetime(2026, 11, 20).date(), end_date=datetime(2026, 11, 30).date()))
    assert "已记入" in chat.wc.text("o-li", "休假期间也去看了张大爷")


def test_undo_within_ten_minutes(chat: Chat) -> None:
    bound(chat)
    chat.wc.text("o-li", "第一条")
    chat.wc.text("o-li", "第二条")
    chat.clock.advance(minutes=9)
    reply = chat.wc.text("o-li", "撤銷")
    assert "已撤销" in reply and "第二条" in reply
    rows = chat.all(select(DiaryEntry).order_by(DiaryEntry.id))
    assert rows[0].deleted_at is None and rows[1].deleted_at is not None
    chat.clock.advance(minutes=2)
    assert "没有可撤销" in chat.wc.text("o-li", "撤回")
    assert chat.all(select(DiaryEntry.deleted_at).order_by(DiaryEntry.id))[0] is None
    assert "本月第 1 天" in chat.wc.text("o-li", "第三条")


def test_undo_removes_the_day_from_the_count(chat: Chat) -> None:
    bound(chat)
    assert "本月第 1 天" in chat.wc.text("o-li", "写错了")
    assert "本月已记 0 天" in chat.wc.text("o-li", "撤销")


# ------------------------------------------------------------------------------------------- summary


def test_summary_this_month_on_time(chat: Chat) -> None:
    bound(chat)
    chat.wc.text("o-li", "走访")
    reply = chat.wc.text("o-li", "小结 本月走访 30 户")
    assert "2026年11月 的月小结（按时）" in reply and "1 天" in reply
    s = chat.one(select(MonthlySummary))
    assert (s.month, s.on_time, s.text) == ("2026-11", True, "本月走访 30 户")
    assert "已更新" in chat.wc.text("o-li", "小結：修改后的小结")
    assert chat.count(MonthlySummary) == 1 and chat.one(select(MonthlySummary.text)) == "修改后的小结"


def test_summary_in_first_three_days_goes_to_previous_month_if_missing(chat: Chat) -> None:
    bound(chat)
    chat.clock.set("2026-12-02 10:00")
    assert "2026年11月 的月小结（逾期补交）" in chat.wc.text("o-li", "小结 十一月补交")
    assert "2026年12月 的月小结（按时）" in chat.wc.text("o-li", "小结 十二月的")
    rows = {r.month: r.on_time for r in chat.all(select(MonthlySummary))}
    assert rows == {"2026-11": False, "2026-12": True}
    chat.clock.set("2026-12-04 10:00")
    assert "2026年12月" in chat.wc.text("o-li", "小结 再改")


def test_summary_needs_text(chat: Chat) -> None:
    bound(chat)
    assert "请在“小结”后面写" in chat.wc.text("o-li", "小结")
    assert chat.count(MonthlySummary) == 0


# -------------------------------------------------------------------------------------------- photos


def test_photo_attaches_to_recent_diary(chat: Chat) -> None:
    bound(chat)
    chat.wc.text("o-li", "帮张大爷修好水管")
    chat.clock.advance(minutes=5)
    assert "照片已附到 11月24日 的日记（共 1 张）" in chat.wc.image("o-li", media_id="IMG1")
    assert "共 2 张" in chat.wc.image("o-li", media_id="IMG2")
    att = chat.all(select(Attachment).order_by(Attachment.id))
    entry_id = chat.one(select(DiaryEntry.id))
    assert [(a.owner_type, a.owner_id, a.media_id) for a in att] == [("diary", entry_id, "IMG1"), ("diary", entry_id, "IMG2")]


def test_photo_attaches_to_recent_feedback(chat: Chat) -> None:
    bound(chat)
    with chat.lx.session() as s:
        cid = s.scalar(select(WechatIdentity.cadre_id).where(WechatIdentity.openid == "o-li"))
        t = Task(number=7, title="清理河道", body="…", deadline=chat.clock() + timedelta(days=2), targets=["all"])
        s.add(t)
        s.flush()
        a = TaskAssignment(task_id=t.id, cadre_id=cid, status="fed_back", deadline=t.deadline)
        s.add(a)
        s.flush()
        s.add(Feedback(assignment_id=a.id, kind="feedback", text="已清理", author=f"cadre:{PHONE}",
                       created_at=chat.clock()))
    assert "任务反馈" in chat.wc.image("o-li")
    assert chat.one(select(Attachment.owner_type)) == "feedback"


def test_photo_without_recent_entry_gets_help(chat: Chat) -> None:
    bound(chat)
    chat.wc.text("o-li", "早上的日记")
    chat.clock.advance(minutes=11)
    assert "10 分钟内" in chat.wc.image("o-li")
    assert chat.count(Attachment) == 0


# ---------------------------------------------------------------------------------------- 回复 M TEXT


def _villager_request(chat: Chat, text: str = "我家水管坏了", openid: str = "o-zhang", card: str = "20261124") -> int:
    chat.wc.text(openid, card)
    reply = chat.wc.text(openid, text)
    assert "诉求编号" in reply
    return chat.one(select(VillagerRequest.number).order_by(VillagerRequest.id.desc()))


def test_reply_reaches_the_villager(chat: Chat) -> None:
    bound(chat)
    n = _villager_request(chat)
    assert f"已答复诉求 {n}" in chat.wc.text("o-li", f"回覆　{n}：明天上午去修")
    req = chat.one(select(VillagerRequest))
    assert req.status == "answered" and req.first_answer_at is not None
    assert chat.one(select(RequestReply.text)) == "明天上午去修"
    relay = chat.one(select(OutboxMessage).where(OutboxMessage.kind == "reply"))
    assert relay.openid == "o-zhang" and "满意" in relay.payload["text"]
    # a second answer in the same round does not ask for a rating again
    chat.wc.text("o-li", f"回复 {n} 已经修好")
    second = chat.all(select(OutboxMessage).where(OutboxMessage.kind == "reply").order_by(OutboxMessage.id))[1]
    assert "满意" not in second.payload["text"]


def test_reply_only_to_own_requests(chat: Chat) -> None:
    bound(chat)
    bound(chat, "o-wang", "13900002222")
    n = _villager_request(chat, openid="o-zhao", card="20261126")  # 赵叔 belongs to 王芳
    assert f"没有找到您负责的诉求 {n}" in chat.wc.text("o-li", f"回复 {n} 我来答")
    assert "没有找到" in chat.wc.text("o-li", "回复 999 你好")
    assert chat.count(RequestReply) == 0 and chat.count(OutboxMessage, OutboxMessage.kind == "reply") == 0
    assert chat.one(select(VillagerRequest.status)) == "open"


def test_reply_usage(chat: Chat) -> None:
    bound(chat)
    assert "回复 诉求编号 内容" in chat.wc.text("o-li", "回复")
    assert "回复 诉求编号 内容" in chat.wc.text("o-li", "回复 12")
    assert "回复 诉求编号 内容" in chat.wc.text("o-li", "回复 99999999999999999999 好")
    assert chat.count(RequestReply) == 0


def test_reply_to_closed_request(chat: Chat) -> None:
    bound(chat)
    n = _villager_request(chat)
    chat.wc.text("o-li", f"回复 {n} 好的")
    chat.wc.text("o-zhang", "满意")
    assert "已办结" in chat.wc.text("o-li", f"回复 {n} 还有事吗")
    assert chat.count(RequestReply) == 1


# ------------------------------------------------------------------------------------ 农户 本月 帮助


def test_households_lists_only_mine_with_masked_phones(chat: Chat) -> None:
    bound(chat)
    reply = chat.wc.text("o-li", "农户")
    assert "共 2 户" in reply and "张大爷" in reply and "刘婶" in reply and "赵叔" not in reply
    assert "138****5678" in reply and "13812345678" not in reply


def test_long_household_list_pages_with_more(chat: Chat) -> None:
    bound(chat)
    with chat.lx.session() as s:
        from tests.support.factories import Factory

        f = Factory(s)
        cadre = s.get(Cadre, s.scalar(select(WechatIdentity.cadre_id).where(WechatIdentity.openid == "o-li")))
        for i in range(80):
            f.household(cadre, head_name=f"农户甲乙丙{i:02d}")
    first = chat.wc.text("o-li", "农户")
    assert len(first.encode()) <= 2048 and "回复“更多”" in first and "第 1/" in first
    pages = [first]
    while "回复“更多”" in pages[-1]:
        nxt = chat.wc.text("o-li", "更多")
        assert len(nxt.encode()) <= 2048
        pages.append(nxt)
    whole = "\n".join(pages)
    assert all(f"农户甲乙丙{i:02d}" in whole for i in range(80))
    assert "没有更多" in chat.wc.text("o-li", "更多")


def test_month_figures(chat: Chat) -> None:
    bound(chat)
    chat.clock.set("2026-11-02 09:00")
    chat.wc.text("o-li", "走访一")
    chat.clock.set("2026-11-24 20:00")
    chat.wc.text("o-li", "走访二")
    chat.wc.text("o-li", "走访三")
    chat.wc.text("o-li", "小结 本月很好")
    _villager_request(chat)
    reply = chat.wc.text("o-li", "本月")
    assert "民情日记：2 天，共 3 条" in reply
    assert "月小结：已交" in reply
    assert "村民诉求：本月 1 件，已答复 0" in reply and "待答复 1 件" in reply


def test_help_for_cadre(chat: Chat) -> None:
    bound(chat)
    for word in ("帮助", "幫助", "help", "？", "?"):
        assert "回复 诉求号 内容" in chat.wc.text("o-li", word)


def test_policy_for_cadre(chat: Chat) -> None:
    bound(chat)
    assert "可查询的主题" in chat.wc.text("o-li", "政策")
    assert chat.count(DiaryEntry) == 0
