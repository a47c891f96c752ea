"""The office hears of held delivery while it lasts, not after: a banner on every console page (for the accounts
that can act on it), ``/healthz`` says so for monitoring, and the office is told by a channel that is not held
where one exists — a customer-service message inside its window when only a template is held."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import create_app
from reminders import holds
from reminders.delivery import dispatch_outbox
from storage.models import OutboxMessage
from storage.outbox import enqueue, open_user_window
from tests.fake_wechat import FakeWechat
from tests.support.console_world import World, build_world, page_text
from tests.support.factories import Factory

KINDS = ("task", "reminder", "request", "reply", "notice")


@pytest.fixture
def fake(clock):
    with FakeWechat(clock=lambda: clock().timestamp()) as f:
        yield f


def test_every_console_page_shows_an_active_hold_to_those_who_can_act_on_it(lx, clock):
    w: World = build_world(lx, clock)
    holds.hold(lx, scope="all", errcode=48001, detail="48001 api unauthorized", now=clock())
    admin = w.login("admin")
    for url in (
        "/",
        "/cadres",
        "/requests",
        "/tasks",
        "/households",
        f"/cadres/{w.ids['cadre_a']}",
        "/delivery",
    ):
        page = page_text(admin.get(url))
        assert "delivery-held" in page and "全部推送自" in page and "48001" in page and "认证" in page, url
    village = w.login("xinqiao")  # a village account cannot act on delivery: no banner
    assert "delivery-held" not in page_text(village.get("/"))
    holds.lift(lx, {"all"})
    assert "delivery-held" not in page_text(admin.get("/"))


def test_healthz_stays_200_and_says_delivery_is_held_and_why(lx, clock):
    app = create_app(lx)
    c = app.test_client()
    assert c.get("/healthz").get_json() == {"status": "ok", "delivery": "ok", "holds": []}
    holds.hold(lx, scope="all", errcode=40164, detail="40164 invalid ip", now=clock())
    holds.hold(lx, scope="reply", errcode=43116, detail="43116 template restricted", now=clock())
    r = c.get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok" and body["delivery"] == "held"
    by_scope = {h["scope"]: h for h in body["holds"]}
    assert by_scope["all"]["errcode"] == 40164 and "白名单" in by_scope["all"]["reason"]
    assert by_scope["reply"]["errcode"] == 43116 and by_scope["reply"]["todo"]


def test_with_the_notice_template_held_the_office_inside_its_window_is_told_by_a_customer_service_message(
    make_lx, fake, clock
):
    lx = make_lx(
        **{
            "wechat.api_base": fake.url,
            "scheduler.office_openids": ["o-office-in", "o-office-out"],
            # every kind has its template but the office's notices
            **{f"wechat.templates.{k}.id": f"TPL_{k.upper()}" for k in KINDS if k != "notice"},
        }
    )
    with lx.session() as s:
        f = Factory(s)
        inside = f.identity("o-office-in", kind="office")
        open_user_window(inside, clock() - timedelta(hours=1))
        outside = f.identity("o-office-out", kind="office")
        open_user_window(outside, None)
        enqueue(s, openid="o-office-out", kind="notice", text="本月通报已生成\n请审核", key="n-out")
    fake.interact("o-office-in")
    r = dispatch_outbox(lx)  # the notice to o-office-out needs a template: the notice kind is held
    assert r.held == ["notice"] and r.failed == 0
    [hold] = holds.current(lx)
    assert hold.template_only and "没有配置模板" in hold.why
    dispatch_outbox(lx)
    told = fake.texts_to("o-office-in")
    assert len(told) == 1 and "推送暂停" in told[0] and "notice" in told[0]  # at once, while the hold lasts
    with lx.sessions() as s:
        waiting = s.scalars(select(OutboxMessage.status).where(OutboxMessage.openid == "o-office-out")).all()
    assert set(waiting) == {"pending"}  # its hold notice and its own notice wait for the template
    assert fake.texts_to("o-office-out") == []
