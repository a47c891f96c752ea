"""A template push read as the phone shows it — its displayed fields — and its link to the whole message
(``/m/<token>``: no login, unguessable, expiring, that one message only)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import create_app
from handlers import task_notices
from reminders.delivery import dispatch_outbox
from storage.models import PushLink
from tests.fake_wechat import FakeWechat
from tests.support.chat_env import Chat, make_chat

PHONE = "13900001111"
TEMPLATES = {
    f"wechat.templates.{k}.id": f"TPL_{k.upper()}" for k in ("task", "reminder", "request", "reply", "notice")
}
PUBLIC = "https://lianxin.example.gov.cn"
LONG = "屋顶漏雨已经三天了，下雨时堂屋全是水，老人住着不安全，请尽快来看看。另外院墙也裂了一道缝。"


@pytest.fixture
def fake(clock):
    with FakeWechat(clock=lambda: clock().timestamp()) as f:
        yield f


@pytest.fixture
def chat(make_lx, clock, fake) -> Chat:
    clock.set("2026-11-24 09:00")
    c = make_chat(make_lx, clock, **{"wechat.api_base": fake.url, "wechat.public_url": PUBLIC, **TEMPLATES})
    with c.factory() as f:
        cadre = f.cadre(name="李明", phone=PHONE, post="村支书", unit="新桥村委会")
        f.household(cadre, head_name="张大爷", card="20261124")
    assert "绑定成功" in c.wc.text("o-li", f"绑定 {c.code(PHONE)}")
    assert "绑定成功" in c.wc.text("o-zhang", "20261124")
    return c


def _page(chat: Chat, url: str):
    assert url.startswith(f"{PUBLIC}/m/")
    return create_app(chat.lx).test_client().get(url[len(PUBLIC) :])


def _last(fake, openid):
    return [d for d in fake.delivered if d.openid == openid][-1]


def test_a_villagers_request_as_a_template_shows_household_and_first_words_and_links_the_whole(chat, fake):
    dispatch_outbox(chat.lx)  # the notice of 张大爷's link to his household goes to the cadre first
    chat.clock.advance(hours=49)  # the cadre's window has closed: the request goes as a template
    chat.wc.text("o-zhang", LONG)
    assert dispatch_outbox(chat.lx).sent_template == 1
    push = _last(fake, "o-li")
    shown = dict(push.displayed)
    assert shown["反馈人"] == "张大爷"
    assert shown["问题描述"] == LONG[:19] + "…"  # thing: 20 characters, one line
    assert all(label not in ("first", "remark") for label, _ in push.displayed)
    page = _page(chat, push.url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert LONG in html and "张大爷" in html
    number = re.search(r"第(\d+)号诉求", html).group(1)
    assert f"回复 {number}" in html  # how to answer
    assert "<a " not in html and "<form" not in html  # nothing else reachable from it
    assert page.headers["Cache-Control"] == "private, no-store"


def test_a_cadres_reply_and_a_supervision_card_link_their_whole_text(chat, fake):
    chat.wc.text("o-zhang", LONG)
    dispatch_outbox(chat.lx)
    number = re.search(r"\d+", _last(fake, "o-li").text).group(0)
    chat.clock.advance(hours=49)  # the villager's window has closed
    answer = "明天上午带人来修屋顶，院墙的事一并报给村里，请家里留人。"
    chat.wc.text("o-li", f"回复 {number} {answer}")
    assert dispatch_outbox(chat.lx).sent_template == 1
    push = _last(fake, "o-zhang")
    assert dict(push.displayed)["回复人"] == "李明"
    html = _page(chat, push.url).get_data(as_text=True)
    assert answer in html and LONG in html  # the thread
    assert f"回复 {number}" not in html  # how to answer is for the cadre's page only

    chat.clock.advance(hours=49)
    with chat.lx.session() as s:
        task_notices.create_task(
            s,
            title="冬季安全排查：逐户检查取暖设施和电线",
            body="请于本周内完成入户排查并反馈。",
            deadline=chat.clock() + timedelta(days=3),
            targets=["all"],
            actor="test",
            now=chat.clock(),
            tz=chat.lx.config.tz,
            office="示范镇",
        )
    assert dispatch_outbox(chat.lx).sent_template == 1
    card = _last(fake, "o-li")
    shown = dict(card.displayed)
    assert shown["任务名称"] == "冬季安全排查：逐户检查取暖设施和电线" and shown["发布单位"] == "示范镇"
    assert "请于本周内完成入户排查并反馈" in _page(chat, card.url).get_data(as_text=True)


def test_a_requests_link_shows_the_thread_as_it_stood_when_pushed_not_later_replies(chat, fake):
    dispatch_outbox(chat.lx)  # the link notice first
    chat.clock.advance(hours=49)
    chat.wc.text("o-zhang", LONG)
    dispatch_outbox(chat.lx)
    push = _last(fake, "o-li")
    number = re.search(r"第(\d+)号诉求", _page(chat, push.url).get_data(as_text=True)).group(1)
    chat.clock.advance(minutes=5)
    chat.wc.text("o-li", f"回复 {number} 这句话是推送之后才写的")
    html = _page(chat, push.url).get_data(as_text=True)
    assert (
        LONG in html and "这句话是推送之后才写的" not in html
    )  # the link shows that one message, not what came after


def test_the_links_of_one_delivery_batch_each_open_their_own_message_and_request(chat, fake):
    dispatch_outbox(chat.lx)  # the link notice first
    chat.clock.advance(hours=49)
    chat.wc.text("o-zhang", "第一件事：屋顶漏雨，堂屋全是水")
    chat.wc.text("o-zhang", "第二件事：院墙裂了一道缝")
    assert dispatch_outbox(chat.lx).sent_template == 2  # one claimed batch: its link rows written together
    first, second = [d for d in fake.delivered if d.openid == "o-li"][-2:]
    pages = [_page(chat, p.url).get_data(as_text=True) for p in (first, second)]
    assert "屋顶漏雨" in pages[0] and "院墙裂了" not in pages[0]
    assert "院墙裂了" in pages[1] and "屋顶漏雨" not in pages[1]
    numbers = [re.search(r"第(\d+)号诉求", page).group(1) for page in pages]
    assert numbers[0] != numbers[1]  # each link knows its own request (the thread and how to answer)
    with chat.lx.session() as s:
        assert (
            len({link.request_id for link in s.scalars(select(PushLink).where(PushLink.kind == "request"))})
            == 2
        )


def test_a_link_expires_and_a_wrong_token_opens_nothing(chat, fake):
    chat.clock.advance(hours=49)
    chat.wc.text("o-zhang", LONG)
    dispatch_outbox(chat.lx)
    url = _last(fake, "o-li").url
    assert _page(chat, url).status_code == 200
    assert _page(chat, url[:-2] + "xx").status_code == 404
    with chat.lx.sessions() as s:  # only the token's hash is kept
        assert url.rsplit("/", 1)[1] not in {h for h in s.scalars(select(PushLink.token_hash))}
    chat.clock.advance(days=31)
    assert _page(chat, url).status_code == 404


def test_an_answer_to_an_unsubscribed_villager_marks_them_unreachable_and_tells_the_cadre(chat, fake):
    chat.wc.text("o-zhang", LONG)
    dispatch_outbox(chat.lx)
    number = re.search(r"\d+", _last(fake, "o-li").text).group(0)
    fake.unsubscribe("o-zhang")  # WeChat answers 43004 from now on; we have not seen the event
    chat.wc.text("o-li", f"回复 {number} 明天来修")
    r = dispatch_outbox(chat.lx)
    assert r.failed == 1
    dispatch_outbox(chat.lx)
    told = _last(fake, "o-li")
    assert "未送达" in told.text
