"""Access control in the chat: a curious cadre cannot reach another cadre's villagers, requests, cards or
households by typing their numbers or names; a villager cannot act as a cadre; nothing changes on a try.

Two cadres, each with a household and a villager who filed a request; cadre A types everything that belongs to B.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import inspect, select, text

from handlers import task_notices as tasks
from storage.models import VillagerRequest
from storage.tasks import parse_targets
from tests.support.chat_env import Chat, make_chat


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    clock.set("2026-11-24 20:00")
    c = make_chat(make_lx, clock)
    with c.factory() as f:
        a = f.cadre(name="李明", phone="13900001111", village=f.village("新桥村"))
        b = f.cadre(name="王芳", phone="13900002222", village=f.village("石门村"))
        f.household(a, head_name="张大爷", card="10000001", head_phone="13811110000")
        f.household(b, head_name="钱石头", card="20000001", head_phone="13822220000")
        tasks.create_task(
            f.s,
            title="只给王芳",
            body="x",
            deadline=clock() + timedelta(days=2),
            targets=parse_targets(f.s, ["cadre:13900002222"]),
            actor="test",
            now=clock(),
            tz=c.lx.config.tz,
        )
    assert "绑定成功" in c.wc.text("o-a", f"绑定 {c.code('13900001111')}")
    assert "绑定成功" in c.wc.text("o-b", f"绑定 {c.code('13900002222')}")
    assert "绑定成功" in c.wc.text("o-va", "10000001")
    assert "绑定成功" in c.wc.text("o-vb", "20000001")
    c.wc.text("o-va", "村口路灯坏了")
    c.wc.text("o-vb", "低保怎么申请")
    return c


def dump(lx: Any) -> dict[str, list[tuple[str, ...]]]:
    skip = {
        "inbound_message",
        "wechat_signed_query",  # the edge's bookkeeping of each signed request, like inbound_message
        "wechat_identity",
        "rate_limit",
        "conversation_state",
        "alembic_version",
    }
    with lx.engine.connect() as conn:
        return {
            t: sorted(tuple(map(str, r)) for r in conn.execute(text(f'SELECT * FROM "{t}"')))
            for t in inspect(lx.engine).get_table_names()
            if t not in skip
        }


def test_curious_cadre_reaches_nothing_of_another_cadre(chat: Chat) -> None:
    b_request = chat.one(select(VillagerRequest.number).where(VillagerRequest.text == "低保怎么申请"))
    before = dump(chat.lx)
    attempts = {
        f"回复 {b_request} 我来替你回答": "钱石头",
        "反馈 1 我也做了": "只给王芳",
        "完成 1 已完成": "只给王芳",
        "延期 1 2026-12-30 太忙": "只给王芳",
        "发卡 钱石头": "钱石头",
        "发卡 20000001": "钱石头",
        "宣传 钱石头": "钱石头",
        "承诺 20000001": "钱石头",
        "登记 钱石头": "13822220000",
    }
    for message, secret in attempts.items():
        reply = chat.wc.text("o-a", message) or ""
        assert secret not in reply or message.startswith(("发卡", "宣传", "承诺", "登记")), (message, reply)
        assert "13822220000" not in reply and "低保" not in reply, (message, reply)
    assert dump(chat.lx) == before
    # the cadre's own lists show only their own
    for own in ("农户", "任务", "本月"):
        reply = chat.wc.text("o-a", own) or ""
        assert "钱石头" not in reply and "只给王芳" not in reply, (own, reply)


def test_villager_never_runs_cadre_commands(chat: Chat) -> None:
    before = dump(chat.lx)
    for message in (
        "任务",
        "农户",
        "本月",
        "撤销",
        "小结 本月很好",
        "回复 1 好的",
        "发卡 张大爷",
        "反馈 1 好",
        "日记 今天",
    ):
        reply = chat.wc.text("o-va", message) or ""
        assert "张大爷" not in reply or message == "发卡 张大爷", (message, reply)
    after = dump(chat.lx)
    assert {k: v for k, v in after.items() if k != "outbox_message"} == {
        k: v for k, v in before.items() if k != "outbox_message"
    }
    assert after["outbox_message"] == before["outbox_message"]


def test_the_other_villagers_request_text_is_not_in_cadre_a_replies(chat: Chat) -> None:
    """Request numbers are global: A guessing B's numbers gets 'not found', the same answer as a missing one."""
    n_b = chat.one(select(VillagerRequest.number).where(VillagerRequest.text == "低保怎么申请"))
    r_other = chat.wc.text("o-a", f"回复 {n_b} 好的") or ""
    r_missing = chat.wc.text("o-a", "回复 999 好的") or ""
    assert r_other.replace(str(n_b), "N") == r_missing.replace("999", "N")
