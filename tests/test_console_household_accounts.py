"""The console's household page lists the WeChat accounts linked to it (masked openid, when, how) and can
unlink one: scoped like every household action, CSRF-protected, audited, and the account is told."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import OutboxMessage, WechatIdentity
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)


def _two_family_members(world: World) -> list[int]:
    with world.lx.session() as s:
        ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == world.openids["villager_a"]))
        ident.bound_via = "number"
        son = WechatIdentity(
            openid="o-son-of-zhang-dashan-00000001",
            kind="villager",
            household_id=ident.household_id,
            bound_at=world.clock(),
            bound_via="qr",
        )
        s.add(son)
        s.flush()
        return [ident.id, son.id]


def test_household_page_lists_linked_accounts_masked(world: World) -> None:
    _two_family_members(world)
    c = world.login("admin")
    text = page_text(c.get(f"/households/{world.ids['hh_a']}"))
    assert "关联的微信账号（2）" in text and "扫服务卡二维码" in text and "发送卡号" in text
    assert "o-son-of-zhang-dashan-00000001" not in text and "o-so…0001" in text


def test_unlink_from_the_console_is_audited_scoped_and_told(world: World) -> None:
    _, son = _two_family_members(world)
    url = f"/households/{world.ids['hh_a']}/unlink"
    assert (
        world.login("admin").post(url, {"identity_id": son}, csrf=False).status_code == 400
    )  # no CSRF token
    other = f"/households/{world.ids['hh_b']}/unlink"  # 石门村: outside the 新桥村 account's scope
    assert world.login("xinqiao").post(other, {"identity_id": son}).status_code == 404
    assert world.login("admin").post(other, {"identity_id": son}).status_code == 400  # not that household's
    assert world.login("leader").post(url, {"identity_id": son}).status_code == 403
    assert world.one(select(WechatIdentity.kind).where(WechatIdentity.id == son)) == "villager"
    r = world.login("xinqiao").post(url, {"identity_id": son}, follow_redirects=True)
    assert r.status_code == 200 and "已解除" in page_text(r)
    assert world.one(select(WechatIdentity.kind).where(WechatIdentity.id == son)) == "unknown"
    [audit] = world.audits("household.unlink")
    assert (
        audit.actor == "console:xinqiao" and audit.detail["via"] == "qr" and audit.detail["by"] == "console"
    )
    told = world.one(
        select(OutboxMessage.payload).where(OutboxMessage.openid == "o-son-of-zhang-dashan-00000001")
    )
    assert "张大山" in told["text"]
    # the same again: already unlinked, a clear answer, nothing changes
    assert world.login("admin").post(url, {"identity_id": son}).status_code == 400
    assert len(world.audits("household.unlink")) == 1
