"""WeChat's customer-service window as the platform counts it (docs/wechat-rules.md §5b): a user's message opens
5 messages / 48 h; a follow, a scan or a menu click 3 within 1 minute; other events nothing. The outbox chooses
customer-service message or template from that window."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from reminders.delivery import dispatch_outbox
from storage.models import WechatIdentity
from storage.outbox import enqueue
from tests.fake_wechat import FakeWechat
from tests.support.chat_env import Chat, make_chat

TEMPLATES = {
    f"wechat.templates.{k}.id": f"TPL_{k.upper()}" for k in ("task", "reminder", "request", "reply", "notice")
}


@pytest.fixture
def fake(clock):
    with FakeWechat(clock=lambda: clock().timestamp()) as f:
        yield f


@pytest.fixture
def chat(make_lx, clock, fake) -> Chat:
    return make_chat(make_lx, clock, **{"wechat.api_base": fake.url, **TEMPLATES})


def _window(chat: Chat, openid: str) -> tuple[int, timedelta | None]:
    ident = chat.one(select(WechatIdentity).where(WechatIdentity.openid == openid))
    if ident.window_until is None or ident.window_until <= chat.clock():
        return 0, None
    return ident.window_quota, ident.window_until - chat.clock()


def test_a_users_message_opens_five_messages_for_48_hours(chat: Chat) -> None:
    chat.wc.text("o-v", "你好")
    assert _window(chat, "o-v") == (5, timedelta(hours=48))


@pytest.mark.parametrize(
    "event, key", [("subscribe", None), ("subscribe", "qrscene_x"), ("SCAN", "x"), ("CLICK", "HELP")]
)
def test_a_follow_a_scan_or_a_menu_click_opens_three_messages_for_one_minute(chat: Chat, event, key) -> None:
    chat.wc.event("o-v", event, key=key)
    assert _window(chat, "o-v") == (3, timedelta(minutes=1))


@pytest.mark.parametrize("event", ["VIEW", "TEMPLATESENDJOBFINISH", "LOCATION", "unsubscribe"])
def test_other_events_open_nothing(chat: Chat, event) -> None:
    chat.wc.event("o-v", event, key="https://example.org/" if event == "VIEW" else None)
    assert _window(chat, "o-v") == (0, None)


def test_a_location_message_is_a_users_message(chat: Chat) -> None:
    chat.wc.location("o-v")
    assert _window(chat, "o-v") == (5, timedelta(hours=48))


def test_a_follow_inside_a_48_hour_window_does_not_shorten_it(chat: Chat) -> None:
    chat.wc.text("o-v", "你好")
    chat.clock.advance(hours=1)
    chat.wc.event("o-v", "CLICK", key="HELP")
    assert _window(chat, "o-v") == (5, timedelta(hours=47))


def test_after_only_a_follow_a_push_within_a_minute_is_a_message_and_later_a_template(
    chat: Chat, fake
) -> None:
    chat.wc.event("o-new", "subscribe")
    fake.action("o-new")  # WeChat saw the same follow
    with chat.lx.session() as s:
        enqueue(s, openid="o-new", kind="notice", text="欢迎关注\n第一条", key="w1")
    r = dispatch_outbox(chat.lx)
    assert (r.sent_custom, r.sent_template) == (1, 0)
    chat.clock.advance(seconds=61)
    with chat.lx.session() as s:
        enqueue(s, openid="o-new", kind="notice", text="一分钟后\n第二条", key="w2")
    r = dispatch_outbox(chat.lx)
    assert (r.sent_custom, r.sent_template, r.failed) == (0, 1, 0)
    assert [d.channel for d in fake.delivered] == ["custom", "template"]
    assert fake.delivered[1].displayed[0] == ("通知标题", "一分钟后")


def test_the_fake_refuses_a_customer_service_message_after_the_follows_minute(fake, clock) -> None:
    """The fake keeps the same rule, so a wrong channel choice fails the tests above."""
    fake.action("o-x")
    clock.advance(seconds=61)
    token = requests.post(
        f"{fake.url}/cgi-bin/stable_token",
        json={"grant_type": "client_credential", "appid": "wxtestappid", "secret": "testsecret"},
        timeout=5,
    ).json()["access_token"]
    answer = requests.post(
        f"{fake.url}/cgi-bin/message/custom/send?access_token={token}",
        json={"touser": "o-x", "msgtype": "text", "text": {"content": "hi"}},
        timeout=5,
    ).json()
    assert answer["errcode"] == 45015
