"""A cadre who unfollowed the account (``unsubscribe`` event, or 43004 from WeChat on a send): their villagers'
requests go to the office, the villager is told the office has it, the office's pages show the cadre as
unreachable; a follow from the same account makes them reachable again (PRODUCT.md "Safe to run for real")."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from reminders.delivery import dispatch_outbox
from storage.models import Cadre, OutboxMessage, VillagerRequest, WechatIdentity
from tests.fake_wechat import FakeWechat
from tests.support.chat_env import Chat, bound, make_chat
from tests.support.console_world import World, page_text
from tests.support.console_world import build_world as build_console_world

PHONE = "13900001111"
OFFICE = "o-office"
TEMPLATES = {
    f"wechat.templates.{k}.id": f"TPL_{k.upper()}" for k in ("task", "reminder", "request", "reply", "notice")
}


@pytest.fixture
def fake(clock):
    with FakeWechat(clock=lambda: clock().timestamp()) as f:
        yield f


@pytest.fixture
def chat(make_lx: Any, clock: Any, fake) -> Chat:
    clock.set("2026-11-24 20:00")
    c = make_chat(
        make_lx, clock, **{"scheduler.office_openids": [OFFICE], "wechat.api_base": fake.url, **TEMPLATES}
    )
    with c.factory() as f:
        cadre = f.cadre(name="李明", phone=PHONE, post="村支书")
        f.household(cadre, head_name="张大爷", card="20261124")
    bound(c, "o-li", PHONE)
    assert "李明" in c.wc.text("o-zhang", "20261124")
    return c


def _pushes(chat: Chat, openid: str) -> list[OutboxMessage]:
    return chat.all(select(OutboxMessage).where(OutboxMessage.openid == openid).order_by(OutboxMessage.id))


def test_after_the_cadre_unfollows_a_request_goes_to_the_office_and_the_villager_is_told(
    chat: Chat, renders: Any
) -> None:
    chat.wc.event("o-li", "unsubscribe")
    [told] = [m for m in _pushes(chat, OFFICE) if m.kind == "notice"]  # the office hears it at once
    notice = renders.behind(told.payload["text"])
    assert (notice.name, notice["cadre"].name, notice["unfollowed"]) == (
        "cadre_unreachable_notice",
        "李明",
        True,
    )
    before = len(_pushes(chat, "o-li"))
    reply = chat.wc.text("o-zhang", "村口的路灯坏了，晚上看不见")
    assert (
        renders.behind(reply).name == "request_received_office" and "李明" in reply and "13900001111" in reply
    )
    number = chat.one(select(VillagerRequest.number))
    [to_office] = [m for m in _pushes(chat, OFFICE) if m.kind == "request"]
    forwarded = renders.behind(to_office.payload["text"])
    assert (forwarded.name, forwarded["request"].number) == ("request_to_office", number)
    assert "路灯" in to_office.payload["text"]
    assert to_office.payload["template"]["number"] == str(number)
    assert len(_pushes(chat, "o-li")) == before  # nothing forwarded to no one


def test_a_follow_from_the_same_account_makes_the_cadre_reachable_again(chat: Chat, renders: Any) -> None:
    chat.wc.event("o-li", "unsubscribe")
    chat.wc.event("o-li", "subscribe")
    received = renders.behind(chat.wc.text("o-zhang", "想问一下低保怎么申请"))
    assert (received.name, received["cadre"].name) == ("request_received", "李明")
    [req] = [m for m in _pushes(chat, "o-li") if m.kind == "request"]
    assert "低保" in req.payload["text"]
    assert not [m for m in _pushes(chat, OFFICE) if m.kind == "request"]


def test_43004_on_a_request_push_sends_it_to_the_office_and_tells_the_villager(
    chat: Chat, fake, renders: Any
) -> None:
    fake.unsubscribe("o-li")  # unfollowed, but the event never reached us: WeChat answers 43004
    chat.wc.text("o-zhang", "家里水管冻裂了")
    number = chat.one(select(VillagerRequest.number))
    dispatch_outbox(chat.lx)
    ident = chat.one(select(WechatIdentity).where(WechatIdentity.openid == "o-li"))
    assert ident.unreachable and "43004" in ident.unreachable_reason
    dispatch_outbox(chat.lx)  # the office's copy and the villager's notice go out
    office = fake.texts_to(OFFICE)
    assert any(str(number) in t for t in office), office
    [told] = [d for d in fake.delivered if d.openid == "o-zhang"]
    # delivered as a template message (its fields shown); the row it came from is the rerouted push
    assert told.text and [renders.behind(m.payload["text"]).name for m in _pushes(chat, "o-zhang")] == [
        "request_rerouted_push"
    ]
    [row] = [m for m in _pushes(chat, "o-li") if m.kind == "request"]
    assert row.status == "failed" and "转办公室" in row.last_error
    # the next request goes straight to the office, with the villager's reply saying so
    assert renders.behind(chat.wc.text("o-zhang", "还有一件事")).name == "request_received_office"


def test_the_offices_pages_show_the_unreachable_cadre(lx, clock, renders: Any) -> None:
    w: World = build_console_world(lx, clock)
    with lx.session() as s:
        ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == w.openids["cadre_a"]))
        ident.unreachable, ident.subscribed, ident.unreachable_reason = True, False, "取消关注"
    c = w.login("admin")
    assert page_text(c.get("/cadres")).count('class="unreachable"') == 1
    page = page_text(c.get(f"/cadres/{w.ids['cadre_a']}"))
    assert 'id="unreachable"' in page and renders.page("cadre.html")["unreachable"] is not None
    dash = page_text(c.get("/"))
    assert 'id="unreachable-cadres"' in dash and "李明" in dash
    inbox = page_text(c.get("/requests?unreachable=1"))
    assert "饮水管冻裂了" in inbox and "低保怎么申请" not in inbox and 'class="badge unreachable"' in inbox
    with lx.session() as s:
        assert s.scalar(select(Cadre.name).where(Cadre.id == w.ids["cadre_a"])) == "李明"
