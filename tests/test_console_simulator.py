"""The console's chat simulator: off unless ``[console] simulator = true`` (404 for everyone, issue 21 item 9); on,
it talks to the real /wechat (signed, also in safe mode), shows the office's pushes, and never uses real
accounts."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import create_app
from storage.models import InboundMessage, WechatIdentity
from tests.support.console_world import Client, World, build_world, page_text
from tests.support.factories import Factory

text = page_text
SIMULATOR = {"console.simulator": True}


@pytest.fixture
def world(make_lx: Any, clock: Any) -> World:
    return build_world(make_lx(**SIMULATOR), clock)


def test_the_simulator_is_not_there_unless_configured(make_lx: Any, clock: Any) -> None:
    """A deployment that did not ask for it has no simulator: 404 to the office, to everyone else, and no
    message reaches /wechat through it (it could speak as a real cadre to real villagers)."""
    w = build_world(make_lx(), clock)
    admin = w.login("admin")
    assert admin.get("/simulator").status_code == 404
    assert admin.get("/simulator?openid=demo-cadre-01").status_code == 404
    assert admin.post("/simulator/send", {"openid": "demo-cadre-01", "text": "帮助"}).status_code == 404
    assert admin.post("/simulator/open", {"cadre_id": w.ids["cadre_a"]}).status_code == 404
    assert "模拟聊天" not in text(admin.get("/"))
    stranger = Client(w.app.test_client())
    assert stranger.get("/simulator").status_code == 404
    assert stranger.post("/simulator/send", {"openid": "demo-cadre-01", "text": "x"}).status_code == 404
    assert w.count(InboundMessage) == 0
    # the same database served with the simulator on: the office has it
    on = World(w.lx, clock, create_app(make_lx(**SIMULATOR))).login("admin")
    assert on.get("/simulator").status_code == 200 and "模拟聊天" in text(on.get("/"))


def test_simulator_chats_through_wechat(world: World) -> None:
    c = world.login("admin")
    r = c.post("/simulator/send", {"openid": "demo-cadre-01", "text": "帮助"})
    assert r.status_code == 302
    m = world.one(select(InboundMessage).where(InboundMessage.openid == "demo-cadre-01"))
    assert m.content == "帮助" and m.status == "handled" and m.reply
    page = text(c.get("/simulator?openid=demo-cadre-01"))
    assert "帮助" in page and m.reply.splitlines()[0] in page
    assert world.audits("simulator.send")[0].target == "openid:demo-cadre-01"


def test_simulator_shows_the_office_reply_push(world: World) -> None:
    c = world.login("admin")
    c.post("/requests/1/reply", {"text": "明天派人维修水管"})
    page = text(c.get("/simulator?openid=demo-villager-001"))
    assert "明天派人维修水管" in page and "此人会收到的推送（1）" in page


def test_simulator_new_villager_scans_the_card(world: World) -> None:
    c = world.login("admin")
    r = c.post("/simulator/open", {"household_id": world.ids["hh_a2"]})
    openid = f"sim-household-{world.ids['hh_a2']}"
    assert r.status_code == 302 and openid in r.headers["Location"]
    page = text(c.get(f"/simulator?openid={openid}"))
    assert "扫服务卡二维码（10000002）" in page
    assert (
        c.post("/simulator/send", {"openid": openid, "action": "scan", "card": "10000002"}).status_code == 302
    )
    ident = world.one(select(WechatIdentity).where(WechatIdentity.openid == openid))
    assert ident.kind == "villager" and ident.household_id == world.ids["hh_a2"]
    assert "李明" in text(c.get(f"/simulator?openid={openid}"))
    # a newcomer who scans the printed code follows the account with the scene in the subscribe event
    other = f"sim-household-{world.ids['hh_b']}"
    assert (
        c.post("/simulator/send", {"openid": other, "action": "subscribe", "card": "20000001"}).status_code
        == 302
    )
    m = world.one(select(InboundMessage).where(InboundMessage.openid == other))
    assert m.event == "subscribe" and m.reply and "王芳" in m.reply
    assert (
        world.one(select(WechatIdentity.household_id).where(WechatIdentity.openid == other))
        == world.ids["hh_b"]
    )


def test_simulator_never_uses_real_accounts(world: World) -> None:
    with world.lx.session() as s:
        Factory(s).identity("oREALopenid123", cadre=None, kind="unknown")
    c = world.login("admin")
    assert c.get("/simulator?openid=oREALopenid123").status_code == 404
    assert c.post("/simulator/send", {"openid": "oREALopenid123", "text": "x"}).status_code == 400
    assert c.post("/simulator/send", {"openid": "demo-cadre-01", "text": "  "}).status_code == 400
    assert c.get("/simulator?openid=sim-cadre-abc").status_code == 200  # an odd name is shown, never a crash
    assert c.get("/simulator?openid=sim-household-99999999").status_code == 200
    assert world.count(InboundMessage) == 0


def test_simulator_in_safe_mode(make_lx: Any, clock: Any) -> None:
    key = base64.b64encode(bytes(range(32))).decode().rstrip("=")
    lx = make_lx(**{"wechat.encoding_aes_key": key, **SIMULATOR})
    w = build_world(lx, clock)
    c = w.login("admin")
    assert "安全模式" in text(c.get("/simulator?openid=demo-cadre-01"))
    assert c.post("/simulator/send", {"openid": "demo-cadre-01", "text": "帮助"}).status_code == 302
    m = w.one(select(InboundMessage).where(InboundMessage.openid == "demo-cadre-01"))
    assert m.reply and m.status == "handled"
    assert re.search(r"帮助", text(c.get("/simulator?openid=demo-cadre-01")))
