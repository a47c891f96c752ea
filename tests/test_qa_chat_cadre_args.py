"""QA: `任务 4`, `农户 2`, `本月 X`, `帮助 X` from a bound cadre fell through to the diary (an entry that counted
toward coverage). Keyword + number/short argument is now the command; diaries that merely start with the word
stay diaries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from handlers import keywords
from storage import tasks as svc
from storage.models import Cadre, DiaryEntry, TaskAssignment
from tests.support.chat_env import Chat, make_chat

PHONE = "13900003333"
OTHER = "13900004444"


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    clock.set("2026-11-24 09:00")
    c = make_chat(make_lx, clock)
    with c.factory() as f:
        li = f.cadre(name="李明", phone=PHONE)
        f.cadre(name="王芳", phone=OTHER)
        for i in range(40):
            f.household(li, head_name=f"张{i:02d}号户主" if i % 2 else f"刘{i:02d}号户主某某某某某某",
                        card=f"2026{i:04d}")
    assert "绑定成功" in c.wc.text("o-li", f"绑定 {c.code(PHONE)}")
    return c


def test_task_number_shows_my_card_and_not_anothers(chat: Chat) -> None:
    with chat.lx.session() as s:
        mine = svc.create_task(s, title="防汛排查", body="检查房屋和排水沟", now=chat.clock(), tz=chat.lx.config.tz,
                               deadline=chat.clock() + timedelta(days=2))
        theirs = svc.create_task(s, title="王芳的卡", body="", now=chat.clock(), tz=chat.lx.config.tz,
                                 deadline=chat.clock() + timedelta(days=2), targets=[f"cadre:{OTHER}"])
        mine_n, theirs_n = mine.number, theirs.number
    wide = "".join(chr(0xFF10 + int(d)) for d in str(mine_n))
    reply = chat.wc.text("o-li", f"任務 {wide}")  # Traditional form, full-width number
    assert f"第{mine_n}号督办卡" in reply and "防汛排查" in reply and "检查房屋和排水沟" in reply
    assert "截止：11月26日 09:00" in reply and "我的状态：已签收" in reply
    assert f"反馈 {mine_n} 内容" in reply and f"完成 {mine_n} 内容" in reply
    assert chat.all(select(TaskAssignment.status).join(Cadre, TaskAssignment.cadre_id == Cadre.id)
                    .where(TaskAssignment.task_id == mine.id, Cadre.phone == PHONE)) == ["acknowledged"]
    assert f"您没有第{theirs_n}号督办卡" in chat.wc.text("o-li", f"任务 {theirs_n}")
    assert "您没有第999号督办卡" in chat.wc.text("o-li", "任务999")
    assert chat.count(DiaryEntry) == 0


def test_households_page_and_name(chat: Chat) -> None:
    first = chat.wc.text("o-li", "农户")
    assert "共 40 户" in first and "第 1/" in first
    second = chat.wc.text("o-li", "农户 2")
    assert "第 2/" in second and "1. 刘00号" not in second
    assert second.split("\n")[0] != first.split("\n")[0]
    assert "没有第 9 页" in chat.wc.text("o-li", "农户 9")
    named = chat.wc.text("o-li", "农户 张03")
    assert "户主姓名含“张03”的有 1 户" in named and "张03号户主" in named and "刘" not in named
    assert "没有户主姓名含“孙”的" in chat.wc.text("o-li", "农户 孙")
    assert chat.count(DiaryEntry) == 0


def test_month_and_help_with_an_argument_and_diaries_that_start_with_a_keyword(chat: Chat) -> None:
    assert chat.wc.text("o-li", "本月 情况") == chat.wc.text("o-li", "本月")
    assert chat.wc.text("o-li", "帮助 任务") == chat.wc.text("o-li", "帮助")
    assert chat.count(DiaryEntry) == 0
    for diary in ("任务完成了，走访张家", "任务 今天全部走访完毕", "农户今天来问医保", "本月走访了 12 户，情况稳定"):
        assert keywords.parse(diary) is None
        chat.wc.text("o-li", diary)
    assert chat.count(DiaryEntry) == 4
