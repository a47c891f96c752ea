"""QA finding: a cadre's account binding another cadre's code switched silently; the first cadre was left
unbound (no cards, no reminders) and nobody was told."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage.models import WechatIdentity
from tests.support.chat_env import make_chat


def test_binding_another_cadres_code_says_who_is_released(make_lx: Any, clock: Any) -> None:
    clock.set("2026-11-24 20:00")
    chat = make_chat(make_lx, clock)
    with chat.factory() as f:
        f.cadre(name="李明", phone="13900001111")
        f.cadre(name="赵永贵", phone="13900002222")
    assert "绑定成功" in chat.wc.text("o-li", f"绑定 {chat.code('13900001111')}")
    reply = chat.wc.text("o-li", f"绑定 {chat.code('13900002222')}")
    assert "赵永贵" in reply and "原来绑定的干部 李明 已解除" in reply and "重新索取绑定码" in reply
    assert chat.one(select(WechatIdentity.cadre_id).where(WechatIdentity.openid == "o-li")) is not None
    # A first binding, or one from a villager's account, says nothing about a cadre.
    first = chat.wc.text("o-other", f"绑定 {chat.code('13900001111')}")
    assert "绑定成功" in first and "原来绑定的干部" not in first


def test_bound_cadre_with_a_wrong_code_is_refused_counted_and_reassured(make_lx: Any, clock: Any) -> None:
    clock.set("2026-11-24 20:00")
    chat = make_chat(make_lx, clock)
    with chat.factory() as f:
        f.cadre(name="李明", phone="13900001111")
    assert "绑定成功" in chat.wc.text("o-li", f"绑定 {chat.code('13900001111')}")
    reply = chat.wc.text("o-li", "绑定 000000")
    assert "绑定码不正确" in reply and "还可尝试 4 次" in reply  # still counted: brute force protection stays
    assert "您仍绑定为联户干部 李明" in reply
    for _ in range(3):
        chat.wc.text("o-li", "绑定 000000")
    locked = chat.wc.text("o-li", "绑定 000000")
    assert "错误次数过多" in locked and "您仍绑定为联户干部 李明" in locked
    assert chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-li")) == "cadre"
    # An unbound account is not told about any binding.
    stranger = chat.wc.text("o-new", "绑定 000000")
    assert "绑定码不正确" in stranger and "您仍绑定" not in stranger
