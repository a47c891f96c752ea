"""Whatever people type, the bot answers without failing: random text (any script, widths, keywords glued
to junk) from a cadre, a villager and a stranger never makes a handler raise (no apology, no 'failed' row)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from storage.models import InboundMessage
from tests.support.chat_env import make_chat

WORDS = [
    "绑定",
    "日记",
    "小结",
    "撤销",
    "任务",
    "反馈",
    "完成",
    "延期",
    "回复",
    "农户",
    "本月",
    "帮助",
    "更多",
    "政策",
    "满意",
    "不满意",
    "登记",
    "发卡",
    "宣传",
    "承诺",
    "改",
    "１２",
    "99999999999",
    "#",
    "：",
    " ",
    "\u3000",
    "日記",
    "回覆",
    "?",
    "20261124",
    "-",
    "\n",
    "]]>",
    "<x>",
    "&amp;",
    "😀",
]

message = st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)), max_size=6).map("".join)


def test_random_text_never_fails(make_lx: Any, clock: Any) -> None:
    clock.set("2026-11-24 20:00")
    chat = make_chat(make_lx, clock)
    with chat.factory() as f:
        cadre = f.cadre(name="李明", phone="13900001111")
        f.household(cadre, head_name="张大爷", card="20261124")
    chat.wc.text("o-li", f"绑定 {chat.code('13900001111')}")
    chat.wc.text("o-zhang", "20261124")

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(who=st.sampled_from(["o-li", "o-zhang", "o-stranger"]), text=message)
    def run(who: str, text: str) -> None:
        text = text.replace("\x00", "")  # XML 1.0 cannot carry NUL; WeChat never sends it
        if any(ord(c) < 32 and c not in "\t\n\r" for c in text) or any(
            0xD800 <= ord(c) <= 0xDFFF for c in text
        ):
            return
        reply = chat.wc.text(who, text)
        assert reply is None or "抱歉" not in reply, (who, text, reply)

    run()
    assert chat.count(InboundMessage, InboundMessage.status == "failed") == 0
    with chat.lx.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(InboundMessage)) >= 50
        )  # most examples reached the bot
