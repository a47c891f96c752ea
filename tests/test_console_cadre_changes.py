"""The cadre's console page (issue 24 items 1–3): 交接 (chosen households, to an existing or a new cadre), 退出,
改电话 and 更正 — the office admin's alone, each shown on a confirmation page first (nothing changes until 确认),
audited and shown on the cadre's page; and the household page's move, which is a handover of one household.

The world (tests/support/console_world.py): 李明 (cadre_a) with 张大山 (request 1 open, linked WeChat) and 赵小河;
王芳 (cadre_b) with 钱石头."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage.models import AuditLog, Cadre, Link, OutboxMessage, VillagerRequest, WechatIdentity
from tests.support.console_world import World, page_text, world_fixture  # noqa: F401

NEW = "13900007777"


def cadre_of(world: World, household_id: int) -> int:
    return world.one(select(Link.cadre_id).where(Link.household_id == household_id))


def test_handover_shows_what_will_move_then_moves_it_to_a_new_cadre(world: World) -> None:
    admin = world.login("admin")
    url = f"/cadres/{world.ids['cadre_a']}/handover"
    form: dict[str, Any] = {
        "household": [world.ids["hh_a"]],
        "to": "",
        "new_name": "陈新",
        "new_phone": NEW,
        "new_post": "村委委员",
    }
    preview = admin.post(url, form)
    text = page_text(preview)
    assert preview.status_code == 200 and "确认交接" in text
    assert (
        "张大山" in text
        and "赵小河" not in text
        and "未答复的群众诉求 1 条" in text
        and "新建干部 陈新" in text
    )
    assert cadre_of(world, world.ids["hh_a"]) == world.ids["cadre_a"]  # nothing yet
    assert world.count(Cadre) == 2 and world.audits("cadre.handover") == []

    done = admin.post(url, form | {"confirm": "1"})
    assert done.status_code == 302
    new = world.one(select(Cadre).where(Cadre.phone == NEW))
    assert (new.name, new.post) == ("陈新", "村委委员")
    assert cadre_of(world, world.ids["hh_a"]) == new.id
    assert cadre_of(world, world.ids["hh_a2"]) == world.ids["cadre_a"]
    assert world.one(select(VillagerRequest.cadre_id).where(VillagerRequest.number == 1)) == new.id
    told = world.one(
        select(OutboxMessage).where(
            OutboxMessage.openid == world.openids["villager_a"], OutboxMessage.kind == "notice"
        )
    )
    assert "陈新" in told.payload["text"]
    page = page_text(admin.get(f"/cadres/{world.ids['cadre_a']}"))
    assert "交接联系户" in page  # shown on the old cadre's page


def test_handover_to_an_existing_cadre_and_the_household_page_move_carry_the_request(world: World) -> None:
    admin = world.login("admin")
    r = admin.post(
        f"/households/{world.ids['hh_a']}/link", {"cadre_id": world.ids["cadre_b"]}
    )  # the household page's move
    assert r.status_code == 302
    req = world.one(select(VillagerRequest).where(VillagerRequest.number == 1))
    assert req.cadre_id == world.ids["cadre_b"] and req.handed_over_at is not None
    form = {"household": [world.ids["hh_a2"]], "to": world.ids["cadre_b"], "confirm": "1"}
    assert admin.post(f"/cadres/{world.ids['cadre_a']}/handover", form).status_code == 302
    assert cadre_of(world, world.ids["hh_a2"]) == world.ids["cadre_b"]


def test_retire_is_refused_with_households_then_confirmed_and_shown(world: World) -> None:
    admin = world.login("admin")
    retire = f"/cadres/{world.ids['cadre_a']}/retire"
    refused = admin.post(retire, {"date": "2026-11-24", "confirm": "1"})
    assert refused.status_code == 400 and "请先交接" in page_text(refused)
    form = {"household": [world.ids["hh_a"], world.ids["hh_a2"]], "to": world.ids["cadre_b"], "confirm": "1"}
    assert admin.post(f"/cadres/{world.ids['cadre_a']}/handover", form).status_code == 302
    preview = admin.post(retire, {"date": "2026-11-25"})
    assert preview.status_code == 200 and "确认退出" in page_text(preview)
    assert world.one(select(Cadre.active).where(Cadre.id == world.ids["cadre_a"])) is True
    assert admin.post(retire, {"date": "2026-11-25", "confirm": "1"}).status_code == 302
    assert world.one(select(Cadre.active).where(Cadre.id == world.ids["cadre_a"])) is False
    kind = world.one(select(WechatIdentity.kind).where(WechatIdentity.openid == world.openids["cadre_a"]))
    assert kind == "unknown"
    page = page_text(admin.get(f"/cadres/{world.ids['cadre_a']}"))
    assert "已于 2026-11-25 退出" in page and "人员变动" not in page and "生成绑定码" not in page


def test_phone_change_refuses_a_taken_phone_and_is_shown_on_the_page(world: World) -> None:
    admin = world.login("admin")
    url = f"/cadres/{world.ids['cadre_a']}/phone"
    taken = admin.post(url, {"phone": world.phones["cadre_b"]})
    assert taken.status_code == 400 and "王芳" in page_text(taken)
    same = admin.post(url, {"phone": world.phones["cadre_a"]})  # said before the confirmation, not after it
    assert same.status_code == 400 and "的电话已是" in page_text(same)
    assert "确认改电话" in page_text(admin.post(url, {"phone": NEW}))
    assert admin.post(url, {"phone": NEW, "confirm": "1"}).status_code == 302
    assert world.one(select(Cadre.phone).where(Cadre.id == world.ids["cadre_a"])) == NEW
    page = page_text(admin.get(f"/cadres/{world.ids['cadre_a']}"))
    assert f"13900000001 → {NEW}" in page


def test_name_and_post_corrected_after_confirmation(world: World) -> None:
    admin = world.login("admin")
    url = f"/cadres/{world.ids['cadre_a']}/edit"
    assert "确认更正" in page_text(admin.post(url, {"name": "李敏", "post": "村主任"}))
    assert world.one(select(Cadre.name).where(Cadre.id == world.ids["cadre_a"])) == "李明"
    assert admin.post(url, {"name": "李敏", "post": "村主任", "confirm": "1"}).status_code == 302
    assert world.one(select(Cadre.name).where(Cadre.id == world.ids["cadre_a"])) == "李敏"
    assert [a.detail for a in world.audits("cadre.edit")] == [
        {"name": ["李明", "李敏"], "post": ["村支书", "村主任"]}
    ]


def test_a_village_account_cannot_change_its_own_cadres(world: World) -> None:
    village = world.login("xinqiao")
    before = world.count(AuditLog)
    for path, form in (
        ("handover", {"household": [world.ids["hh_a"]], "to": world.ids["cadre_b"], "confirm": "1"}),
        ("retire", {"confirm": "1"}),
        ("phone", {"phone": NEW, "confirm": "1"}),
        ("edit", {"name": "改名", "confirm": "1"}),
    ):
        assert village.post(f"/cadres/{world.ids['cadre_a']}/{path}", form).status_code == 403
    assert world.count(AuditLog) == before
    assert "人员变动" not in page_text(village.get(f"/cadres/{world.ids['cadre_a']}"))
