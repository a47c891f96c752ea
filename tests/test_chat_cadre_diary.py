"""A cadre's diary, end to end through /wechat: entries and the days they count for, 撤销, 小结, photos."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import (
    Attachment,
    CadreLeave,
    DiaryEntry,
    Feedback,
    MonthlySummary,
    Task,
    TaskAssignment,
    WechatIdentity,
)
from storage.targets import Target
from tests.support.chat_env import PHONE, Chat, bound, cadre_world


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    return cadre_world(make_lx, clock)


# --------------------------------------------------------------------------------------------- diary


def _saved(renders, reply: str) -> tuple[str, object, object]:
    """(template, day, the month's day count) of a diary reply."""
    r = renders.behind(reply)
    return r.name, r.values.get("day"), r.values.get("n")


def test_diary_counts_distinct_days_of_the_month(chat: Chat, renders) -> None:
    bound(chat)
    chat.clock.set("2026-11-02 09:00")
    assert _saved(renders, chat.wc.text("o-li", "走访张大爷家，了解烤烟收购")) == (
        "diary_saved",
        date(2026, 11, 2),
        1,
    )
    assert _saved(renders, chat.wc.text("o-li", "日记 下午调解邻里纠纷")) == (
        "diary_saved",
        date(2026, 11, 2),
        1,
    )
    chat.clock.set("2026-11-24 20:00")
    assert _saved(renders, chat.wc.text("o-li", "日記　入户宣传医保政策")) == (
        "diary_saved",
        date(2026, 11, 24),
        2,
    )
    chat.clock.set("2026-12-01 08:00")
    assert _saved(renders, chat.wc.text("o-li", "走访")) == ("diary_saved", date(2026, 12, 1), 1)
    entries = chat.all(select(DiaryEntry).order_by(DiaryEntry.id))
    assert [e.role for e in entries[:3]] == ["指导", "调解", "宣传"]
    assert entries[2].text == "入户宣传医保政策"


def test_diary_day_is_the_create_time_not_the_arrival(chat: Chat, renders) -> None:
    bound(chat)
    chat.clock.set("2026-11-25 00:00:30")
    late = int(datetime(2026, 11, 24, 15, 59, 50, tzinfo=UTC).timestamp())  # 23:59:50 in Shanghai
    assert renders.behind(chat.wc.text("o-li", "夜里处理停电", create_time=late))["day"] == date(2026, 11, 24)
    assert chat.one(select(DiaryEntry.day)).isoformat() == "2026-11-24"


def test_voice_diary_keeps_media_id(chat: Chat, renders) -> None:
    bound(chat)
    assert (
        renders.behind(chat.wc.voice("o-li", "今天去刘婶家帮忙办理低保", media_id="MEDIA-V1")).name
        == "diary_saved"
    )
    assert renders.behind(chat.wc.voice("o-li", "", media_id="MEDIA-V2")).name == "diary_saved"
    rows = chat.all(select(DiaryEntry).order_by(DiaryEntry.id))
    assert [(r.source, r.media_id) for r in rows] == [("voice", "MEDIA-V1"), ("voice", "MEDIA-V2")]
    # no speech recognition: the entry says a recording was kept
    assert rows[0].role == "服务" and rows[1].text == renders.last("diary_voice_placeholder").text


def test_diary_usage_and_empty(chat: Chat) -> None:
    """The usage text is what a cadre reads to write an entry: its words are pinned."""
    bound(chat)
    assert "请在“日记”后面写内容" in chat.wc.text("o-li", "日记")
    assert chat.count(DiaryEntry) == 0


def test_cadre_on_leave_can_still_write(chat: Chat, renders) -> None:
    bound(chat)
    with chat.lx.session() as s:
        cid = s.scalar(select(WechatIdentity.cadre_id).where(WechatIdentity.openid == "o-li"))
        s.add(
            CadreLeave(
                cadre_id=cid, start_date=datetime(2026, 11, 20).date(), end_date=datetime(2026, 11, 30).date()
            )
        )
    assert renders.behind(chat.wc.text("o-li", "休假期间也去看了张大爷")).name == "diary_saved"


def test_undo_within_ten_minutes(chat: Chat, renders) -> None:
    bound(chat)
    chat.wc.text("o-li", "第一条")
    chat.wc.text("o-li", "第二条")
    chat.clock.advance(minutes=9)
    undone = renders.behind(chat.wc.text("o-li", "撤銷"))
    assert (undone.name, undone["text"]) == ("diary_undone", "第二条")
    rows = chat.all(select(DiaryEntry).order_by(DiaryEntry.id))
    assert rows[0].deleted_at is None and rows[1].deleted_at is not None
    chat.clock.advance(minutes=2)
    assert renders.behind(chat.wc.text("o-li", "撤回")).name == "undo_nothing"
    assert chat.all(select(DiaryEntry.deleted_at).order_by(DiaryEntry.id))[0] is None
    assert renders.behind(chat.wc.text("o-li", "第三条"))["n"] == 1


def test_undo_removes_the_day_from_the_count(chat: Chat, renders) -> None:
    bound(chat)
    assert renders.behind(chat.wc.text("o-li", "写错了"))["n"] == 1
    assert _saved(renders, chat.wc.text("o-li", "撤销")) == ("diary_undone", date(2026, 11, 24), 0)


# ------------------------------------------------------------------------------------------- summary


def _summary(renders, reply: str) -> tuple[str, int, int, bool]:
    r = renders.behind(reply)
    return r.name, r["year"], r["month"], r["on_time"]


def test_summary_this_month_on_time(chat: Chat, renders) -> None:
    bound(chat)
    chat.wc.text("o-li", "走访")
    reply = chat.wc.text("o-li", "小结 本月走访 30 户")
    assert (
        _summary(renders, reply) == ("summary_saved", 2026, 11, True) and renders.behind(reply)["days"] == 1
    )
    s = chat.one(select(MonthlySummary))
    assert (s.month, s.on_time, s.text) == ("2026-11", True, "本月走访 30 户")
    assert renders.behind(chat.wc.text("o-li", "小結：修改后的小结"))["replaced"]
    assert chat.count(MonthlySummary) == 1 and chat.one(select(MonthlySummary.text)) == "修改后的小结"


def test_summary_in_first_three_days_goes_to_previous_month_if_missing(chat: Chat, renders) -> None:
    bound(chat)
    chat.clock.set("2026-12-02 10:00")
    assert _summary(renders, chat.wc.text("o-li", "小结 十一月补交")) == ("summary_saved", 2026, 11, False)
    assert _summary(renders, chat.wc.text("o-li", "小结 十二月的")) == ("summary_saved", 2026, 12, True)
    rows = {r.month: r.on_time for r in chat.all(select(MonthlySummary))}
    assert rows == {"2026-11": False, "2026-12": True}
    chat.clock.set("2026-12-04 10:00")
    assert _summary(renders, chat.wc.text("o-li", "小结 再改"))[1:3] == (2026, 12)


def test_summary_needs_text(chat: Chat) -> None:
    """The usage text is what a cadre reads to write a summary: its words are pinned."""
    bound(chat)
    assert "请在“小结”后面写" in chat.wc.text("o-li", "小结")
    assert chat.count(MonthlySummary) == 0


# -------------------------------------------------------------------------------------------- photos


def test_photo_attaches_to_recent_diary(chat: Chat, renders) -> None:
    bound(chat)
    chat.wc.text("o-li", "帮张大爷修好水管")
    chat.clock.advance(minutes=5)
    first = renders.behind(chat.wc.image("o-li", media_id="IMG1"))
    assert (first.name, first["kind"], first["day"], first["count"]) == (
        "photo_attached",
        "diary",
        date(2026, 11, 24),
        1,
    )
    assert renders.behind(chat.wc.image("o-li", media_id="IMG2"))["count"] == 2
    att = chat.all(select(Attachment).order_by(Attachment.id))
    entry_id = chat.one(select(DiaryEntry.id))
    assert [(a.owner_type, a.owner_id, a.media_id) for a in att] == [
        ("diary", entry_id, "IMG1"),
        ("diary", entry_id, "IMG2"),
    ]


def test_photo_attaches_to_recent_feedback(chat: Chat, renders) -> None:
    bound(chat)
    with chat.lx.session() as s:
        cid = s.scalar(select(WechatIdentity.cadre_id).where(WechatIdentity.openid == "o-li"))
        t = Task(
            number=7,
            title="清理河道",
            body="…",
            deadline=chat.clock() + timedelta(days=2),
            targets=[Target.all()],
        )
        s.add(t)
        s.flush()
        a = TaskAssignment(task_id=t.id, cadre_id=cid, status="fed_back", deadline=t.deadline)
        s.add(a)
        s.flush()
        s.add(
            Feedback(
                assignment_id=a.id,
                kind="feedback",
                text="已清理",
                author=f"cadre:{PHONE}",
                cadre_id=cid,
                created_at=chat.clock(),
            )
        )
    assert renders.behind(chat.wc.image("o-li"))["kind"] == "feedback"
    assert chat.one(select(Attachment.owner_type)) == "feedback"


def test_photo_without_recent_entry_gets_help(chat: Chat) -> None:
    """The help says how soon after an entry a photo must follow: its words are pinned."""
    bound(chat)
    chat.wc.text("o-li", "早上的日记")
    chat.clock.advance(minutes=11)
    assert "10 分钟内" in chat.wc.image("o-li")
    assert chat.count(Attachment) == 0
