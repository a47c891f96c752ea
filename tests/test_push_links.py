"""A template push read as the phone shows it — its displayed fields — and its link to the whole message
(``/m/<token>``: no login, unguessable, expiring, that one message only), which opens for its recipient only
(WeChat's web OAuth, modelled in tests/fake_wechat.py), dies when the recipient's account is unlinked or
released, counts its views for the office and masks phone, ID and card numbers (issue 21 item 3)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import requests
from argon2 import PasswordHasher
from sqlalchemy import select

from bot.app import create_app
from bot.wechat.oauth import page_oauth
from handlers import task_notices
from reminders.delivery import dispatch_outbox
from storage.models import ConsoleUser, OutboxMessage, PushLink, VillagerRequest, WechatIdentity
from storage.push_links import _hash, create_link, find_link, revoke_links_for
from storage.targets import Target
from tests.fake_wechat import FakeWechat
from tests.support.chat_env import Chat, make_chat
from tests.support.console_world import Client
from tests.support.wechat_browser import Page, open_link

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
    c = make_chat(make_lx, clock, **{**WECHAT(fake), **TEMPLATES})
    with c.factory() as f:
        cadre = f.cadre(name="李明", phone=PHONE, post="村支书", unit="新桥村委会")
        f.household(cadre, head_name="张大爷", card="20261124")
    c.wc.text("o-li", f"绑定 {c.code(PHONE)}")
    c.wc.text("o-zhang", "20261124")
    assert c.bound_to("o-li") == PHONE
    assert c.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-zhang")) == "villager"
    return c


def WECHAT(fake: FakeWechat) -> dict[str, str]:  # noqa: N802 - reads as the constant it stands for
    return {"wechat.api_base": fake.url, "wechat.oauth_base": fake.url, "wechat.public_url": PUBLIC}


class _Shown:
    """A page as a test reads it (the shape of a Flask test response)."""

    def __init__(self, page: Page) -> None:
        self.status_code, self.page = page.status, page

    def get_data(self, as_text: bool = True) -> str:
        return self.page.text


def _recipient(chat: Chat, url: str) -> str | None:
    with chat.lx.sessions() as s:
        link = s.scalar(select(PushLink).where(PushLink.token_hash == _hash(url.rsplit("/", 1)[1])))
        return link.openid if link is not None else None


def _page(chat: Chat, url: str, *, viewer: str | None = "recipient", app: Any = None) -> _Shown:
    """The link opened in ``viewer``'s WeChat (by default its recipient's; None: a browser outside WeChat)."""
    assert url.startswith(f"{PUBLIC}/m/")
    who = _recipient(chat, url) or "o-nobody" if viewer == "recipient" else viewer
    client = (app or create_app(chat.lx)).test_client()
    return _Shown(open_link(client, url, public=PUBLIC, openid=who))


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
            targets=[Target.all()],
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


def test_an_answer_to_an_unsubscribed_villager_marks_them_unreachable_and_tells_the_cadre(
    chat, fake, renders
):
    chat.wc.text("o-zhang", LONG)
    dispatch_outbox(chat.lx)
    number = re.search(r"\d+", _last(fake, "o-li").text).group(0)
    fake.unsubscribe("o-zhang")  # WeChat answers 43004 from now on; we have not seen the event
    chat.wc.text("o-li", f"回复 {number} 明天来修")
    r = dispatch_outbox(chat.lx)
    assert r.failed == 1
    dispatch_outbox(chat.lx)
    told = _last(fake, "o-li")
    [row] = chat.all(
        select(OutboxMessage).where(OutboxMessage.openid == "o-li").order_by(OutboxMessage.id.desc()).limit(1)
    )
    assert told.text and renders.behind(row.payload["text"]).name == "unreachable_sender"


# --------------------------------------------------------------------------------------------------
# The link is its recipient's (issue 21 item 3)


def _request_link(chat: Chat, fake: FakeWechat, text: str = LONG) -> str:
    """A villager's request pushed to the cadre as a template (the window closed): its link."""
    dispatch_outbox(chat.lx)  # the notice of 张大爷's link first
    chat.clock.advance(hours=49)
    chat.wc.text("o-zhang", text)
    assert dispatch_outbox(chat.lx).sent_template >= 1
    return _last(fake, "o-li").url


def _office(chat: Chat) -> tuple[Any, Client]:
    """The console, and the township office logged in to it."""
    with chat.lx.session() as s:
        cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
        s.add(ConsoleUser(username="office", password_hash=cheap.hash("office-pass-1"), role="admin"))
    app = create_app(chat.lx)
    office = Client(app.test_client())
    assert office.login("office", "office-pass-1").status_code == 302
    return app, office


def _link_row(chat: Chat, url: str) -> PushLink:
    with chat.lx.sessions() as s:
        row = s.scalar(select(PushLink).where(PushLink.token_hash == _hash(url.rsplit("/", 1)[1])))
        s.expunge(row)
        return row


def test_a_forwarded_link_shows_nothing_in_another_wechat(chat: Chat, fake: FakeWechat) -> None:
    url = _request_link(chat, fake)
    mine = _page(chat, url)
    assert mine.status_code == 200 and LONG in mine.get_data()
    other = _page(chat, url, viewer="o-stranger")  # the cadre forwarded it; someone else opens it
    body = other.get_data()
    assert other.status_code == 403 and "不是发给您的" in body
    assert LONG[:6] not in body and "张大爷" not in body and "回复" not in body
    outside = _page(chat, url, viewer=None)  # copied into an ordinary browser: WeChat's page, not ours
    assert outside.page.at_wechat and "请在微信客户端打开" in outside.get_data()
    row = _link_row(chat, url)
    assert (row.views, row.refused_views) == (1, 1)
    assert row.first_viewed_at == row.last_viewed_at == chat.clock()


def test_the_page_is_reloaded_without_the_code_and_the_viewer_remembered(
    chat: Chat, fake: FakeWechat
) -> None:
    url = _request_link(chat, fake)
    app = create_app(chat.lx)
    client = app.test_client()
    first = client.get(url[len(PUBLIC) :])
    assert first.status_code == 302
    auth = first.headers["Location"]
    assert auth.startswith(f"{fake.url}/connect/oauth2/authorize?appid=wxtestappid&redirect_uri=")
    assert "&response_type=code&scope=snsapi_base&state=" in auth and auth.endswith("#wechat_redirect")
    back = open_link(client, url, public=PUBLIC, openid="o-li")
    assert back.status == 200
    chat.clock.advance(minutes=5)
    again = client.get(url[len(PUBLIC) :])  # the same WeChat later: no second round trip
    assert again.status_code == 200 and LONG in again.get_data(as_text=True)
    assert again.headers["Cache-Control"] == "private, no-store"
    assert again.headers["Referrer-Policy"] == "no-referrer"
    assert _link_row(chat, url).views == 2


def test_an_oauth_code_is_good_once_and_for_five_minutes(chat: Chat, fake: FakeWechat) -> None:
    """The fake's rules, through the product's own client (bot/wechat/oauth.py)."""
    oauth = page_oauth(chat.lx)
    assert oauth is not None

    def code_for(openid: str) -> str:
        r = requests.get(
            oauth.authorize_url(f"{PUBLIC}/m/x", "abc123").split("#")[0],
            headers={"X-Fake-Wechat-User": openid},
            allow_redirects=False,
            timeout=10,
        )
        assert r.status_code == 302 and "state=abc123" in r.headers["Location"]
        return r.headers["Location"].split("code=")[1].split("&")[0]

    code = code_for("o-li")
    assert oauth.openid(code) == "o-li"
    assert oauth.openid(code) is None and fake.oauth_log[-1] == ("exchange", "40163")
    late = code_for("o-li")
    fake.advance(301)
    assert oauth.openid(late) is None and fake.oauth_log[-1] == ("exchange", "40029")
    assert oauth.openid("made-up") is None and fake.oauth_log[-1] == ("exchange", "40029")
    with pytest.raises(ValueError):
        oauth.authorize_url(f"{PUBLIC}/m/x", "not-alphanumeric")


def test_a_code_or_state_from_elsewhere_adopts_no_one(chat: Chat, fake: FakeWechat) -> None:
    """Someone who got a code for their own WeChat sends the victim the callback address (state and code):
    the victim's browser did not start that authorization, so nothing is remembered and nothing shown."""
    url = _request_link(chat, fake)
    attacker = create_app(chat.lx).test_client()
    start = attacker.get(url[len(PUBLIC) :]).headers["Location"].split("#")[0]
    callback = requests.get(
        start, headers={"X-Fake-Wechat-User": "o-li"}, allow_redirects=False, timeout=10
    ).headers["Location"]
    victim = create_app(chat.lx).test_client()
    r = victim.get(callback[len(PUBLIC) :])
    assert r.status_code == 403 and LONG[:6] not in r.get_data(as_text=True)
    assert victim.get(url[len(PUBLIC) :]).status_code == 302  # still unknown: back to WeChat
    assert _link_row(chat, url).views == 0


def test_links_live_seven_days_by_default(chat: Chat, fake: FakeWechat) -> None:
    url = _request_link(chat, fake)
    row = _link_row(chat, url)
    assert row.expires_at - row.created_at == timedelta(days=7)
    chat.clock.advance(days=6, hours=23)
    assert _page(chat, url).status_code == 200
    chat.clock.advance(hours=1)
    gone = _page(chat, url)
    assert gone.status_code == 404 and "已经失效" in gone.get_data()


def test_a_cadres_unlink_kills_the_villagers_links(chat: Chat, fake: FakeWechat, renders: Any) -> None:
    chat.wc.text("o-zhang", LONG)
    dispatch_outbox(chat.lx)
    number = re.search(r"\d+", _last(fake, "o-li").text).group(0)
    chat.clock.advance(hours=49)
    chat.wc.text("o-li", f"回复 {number} 明天上午来修")
    dispatch_outbox(chat.lx)
    url = _last(fake, "o-zhang").url
    assert _page(chat, url).status_code == 200
    assert renders.behind(chat.wc.text("o-li", "解绑 20261124")).name == "unlink_done"
    gone = _page(chat, url)  # even in the same WeChat: the account no longer speaks for the household
    assert gone.status_code == 404 and "明天上午来修" not in gone.get_data()
    assert renders.page().name == "push/link_gone.html"
    assert _link_row(chat, url).revoked_at == chat.clock()


def test_a_released_cadre_account_loses_its_links(chat: Chat, fake: FakeWechat) -> None:
    url = _request_link(chat, fake)
    chat.wc.text("o-li-new-phone", f"绑定 {chat.code(PHONE)}")  # the old phone released
    assert chat.bound_to("o-li-new-phone") == PHONE and chat.bound_to("o-li") is None
    assert _page(chat, url, viewer="o-li").status_code == 404
    assert _page(chat, url, viewer="o-li-new-phone").status_code == 404  # not the new phone's either


def test_a_cadre_account_that_binds_as_another_cadre_loses_the_first_cadres_links(
    chat: Chat, fake: FakeWechat
) -> None:
    with chat.factory() as f:
        f.cadre(name="王强", phone="13900002222", post="村主任")
    url = _request_link(chat, fake)
    assert "绑定成功" in chat.wc.text("o-li", f"绑定 {chat.code('13900002222')}")  # now speaks for 王强
    assert _page(chat, url, viewer="o-li").status_code == 404  # 李明's villagers' requests are not 王强's


def test_a_villager_account_that_links_another_household_loses_the_first_households_links(
    chat: Chat, fake: FakeWechat
) -> None:
    with chat.factory() as f:
        f.household(
            f.cadre(name="王强", phone="13900002222", post="村主任"), head_name="赵叔", card="20261188"
        )
    with chat.lx.session() as s:
        token = create_link(
            s,
            outbox_id=None,
            openid="o-zhang",
            kind="reply",
            payload={"text": "张大爷家的答复"},
            now=chat.clock(),
            days=7,
        )
    assert "绑定成功" in chat.wc.text("o-zhang", "20261188")  # the same phone now speaks for 赵叔's household
    with chat.lx.session() as s:
        assert find_link(s, token, chat.clock()) is None


def test_the_office_unlinking_an_account_in_the_console_kills_its_links(chat: Chat, fake: FakeWechat) -> None:
    chat.wc.text("o-zhang", LONG)
    dispatch_outbox(chat.lx)
    number = re.search(r"\d+", _last(fake, "o-li").text).group(0)
    chat.clock.advance(hours=49)
    chat.wc.text("o-li", f"回复 {number} 明天上午来修")
    dispatch_outbox(chat.lx)
    url = _last(fake, "o-zhang").url
    with chat.lx.session() as s:
        ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == "o-zhang"))
        household_id, identity_id = ident.household_id, ident.id
    app, office = _office(chat)
    r = office.post(f"/households/{household_id}/unlink", {"identity_id": identity_id})
    assert r.status_code == 302
    assert _page(chat, url, app=app).status_code == 404


def test_revoking_an_accounts_links_is_one_call_for_every_door(chat: Chat, fake: FakeWechat) -> None:
    """storage.push_links.revoke_links_for: what closing a household (and every other release) calls."""
    url = _request_link(chat, fake)
    with chat.lx.session() as s:
        assert revoke_links_for("o-li", session=s, now=chat.clock()) >= 1
        assert revoke_links_for("o-li", session=s, now=chat.clock()) == 0  # dead links stay dead, once
    assert _page(chat, url).status_code == 404
    chat.clock.advance(minutes=1)
    chat.wc.text("o-zhang", "又有一件事")
    dispatch_outbox(chat.lx)
    assert _page(chat, _last(fake, "o-li").url).status_code == 200  # a later push to the account works


def test_numbers_are_masked_on_the_page(chat: Chat, fake: FakeWechat) -> None:
    text = "我电话13812345678，身份证110105194912310021，卡号20261124，家里3口人，2026年办的"
    url = _request_link(chat, fake, text)
    html = _page(chat, url).get_data()
    for number in ("13812345678", "110105194912310021", "20261124"):
        assert number not in html, number
    assert "138****5678" in html and "家里3口人" in html and "2026年办的" in html


def test_numbers_are_masked_on_the_page_however_they_were_typed(chat: Chat, fake: FakeWechat) -> None:
    typed = [
        "138-1234-5678",
        "139 8765 4321",
        "+8613700001111",
        "１３６１２３４５６７８",
        "110105 19491231 0021",
        "2026 1124",
    ]
    url = _request_link(chat, fake, "请回电：" + "，".join(typed) + "，2026年11月24日办的")
    html = _page(chat, url).get_data()
    for number in typed:
        assert number not in html, number
    assert "1234-5678" not in html and "87654321" not in html.replace(" ", "")
    assert "2026年11月24日办的" in html  # a date is not a number to hide


def test_a_bad_link_speaks_to_a_villager(chat: Chat) -> None:
    for path in ("/m/not-a-real-token", "/m/" + "x" * 300):
        r = create_app(chat.lx).test_client().get(path)
        body = r.get_data(as_text=True)
        assert r.status_code == 404 and "已经失效" in body and "联户干部" in body
        assert "权限范围" not in body and "控制台" not in body  # not the console's 404


def test_without_credentials_the_link_alone_opens_the_page(
    make_lx: Any, clock: Any, fake: FakeWechat
) -> None:
    clock.set("2026-11-24 09:00")
    c = make_chat(make_lx, clock, **{**WECHAT(fake), **TEMPLATES, "wechat.page_oauth": False})
    with c.factory() as f:
        cadre = f.cadre(name="李明", phone=PHONE, post="村支书")
        f.household(cadre, head_name="张大爷", card="20261124")
    c.wc.text("o-li", f"绑定 {c.code(PHONE)}")
    c.wc.text("o-zhang", "20261124")
    url = _request_link(c, fake, "我电话13812345678")
    r = create_app(c.lx).test_client().get(url[len(PUBLIC) :])  # any browser, no WeChat
    assert r.status_code == 200 and "138****5678" in r.get_data(as_text=True)
    assert _link_row(c, url).views == 1


def test_the_office_sees_who_opened_a_pushs_link(chat: Chat, fake: FakeWechat) -> None:
    url = _request_link(chat, fake)
    chat.clock.advance(minutes=10)
    _page(chat, url)
    chat.clock.advance(minutes=20)
    _page(chat, url)
    _page(chat, url, viewer="o-stranger")
    app, office = _office(chat)
    number = _link_row(chat, url).request_id
    with chat.lx.sessions() as s:
        n = s.get(VillagerRequest, number).number
    html = re.sub(r">\s+<", "><", office.get(f"/requests/{n}").get_data(as_text=True))
    row = re.search(r'id="push-links".*?</table>', html).group(0)
    assert "干部 李明" in row and "有效" in row
    first = (chat.clock() - timedelta(minutes=20)).astimezone(chat.lx.config.tz).strftime("%m-%d %H:%M")
    last = chat.clock().astimezone(chat.lx.config.tz).strftime("%m-%d %H:%M")
    assert re.search(rf'<td class="num">2</td><td>{first}</td><td>{last}</td><td class="num">1</td>', row), (
        row
    )
    assert "干部 李明" in office.get("/delivery").get_data(as_text=True)  # and on 推送问题, every recent link
