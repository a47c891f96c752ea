"""An offline request in the console (issue 21 items 4 and 11): the household is chosen by searching within the
user's scope, never by typing a card number, so the form is no oracle for card numbers; searches by number are
limited per user; and the office chooses who hears the answer — the cadre by default, never the household's
latest link on its own."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from console.views import common
from storage.models import Household, OutboxMessage, RequestReply, VillagerRequest, WechatIdentity
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)
from tests.support.factories import Factory


def _link(w: World, openid: str, household: str) -> int:
    with w.lx.session() as s:
        return Factory(s).identity(openid, household=s.get(Household, w.ids[household])).id


def _enter(c: Any, w: World, tell: str = "cadre", household: str = "hh_a") -> Any:
    return c.post(
        "/offline/request",
        {"household_id": w.ids[household], "channel": "phone", "text": "路灯坏了", "tell": tell},
    )


# ------------------------------------------------------------------------------- who hears the answer


def test_by_default_the_office_answer_goes_to_the_cadre_not_the_latest_link(world: World) -> None:
    _link(world, "o-stranger-latest", "hh_a")  # the household's latest link (demo-villager-001 is older)
    admin = world.login("admin")
    r = _enter(admin, world)
    assert r.status_code == 302
    number = world.one(select(VillagerRequest.number).where(VillagerRequest.channel == "phone"))
    r = admin.post(f"/requests/{number}/reply", {"text": "明天派人修"})
    assert r.status_code == 302
    to_villagers = world.count(
        OutboxMessage, OutboxMessage.openid.in_(["o-stranger-latest", world.openids["villager_a"]])
    )
    assert to_villagers == 0
    told = world.one(select(OutboxMessage).where(OutboxMessage.idempotency_key.like("reply:%:cadre")))
    assert told.openid == world.openids["cadre_a"] and "明天派人修" in told.payload["text"]
    assert "告知村民" in told.payload["text"]


def test_the_office_may_pick_one_of_the_households_linked_accounts(world: World) -> None:
    latest = _link(world, "o-stranger-latest", "hh_a")
    family = world.one(select(WechatIdentity.id).where(WechatIdentity.openid == world.openids["villager_a"]))
    admin = world.login("admin")
    form = page_text(admin.get(f"/offline?household={world.ids['hh_a']}"))
    assert f'value="{family}"' in form and f'value="{latest}"' in form and "o-stranger-latest" not in form
    assert _enter(admin, world, tell=str(family)).status_code == 302
    number = world.one(select(VillagerRequest.number).where(VillagerRequest.channel == "phone"))
    admin.post(f"/requests/{number}/reply", {"text": "明天派人修"})
    [reply] = world_all(world, select(OutboxMessage).where(OutboxMessage.kind == "reply"))
    assert reply.openid == world.openids["villager_a"]


def test_an_account_of_another_household_cannot_be_picked(world: World) -> None:
    other = world.one(select(WechatIdentity.id).where(WechatIdentity.openid == world.openids["villager_b"]))
    admin = world.login("admin")
    r = _enter(admin, world, tell=str(other))
    assert r.status_code == 400 and "没有关联这户" in page_text(r)
    assert world.count(VillagerRequest) == 2 and world.count(RequestReply) == 0


# ------------------------------------------------------------------------------- no oracle for numbers


def test_a_request_cannot_be_entered_by_card_number(world: World) -> None:
    village = world.login("xinqiao")
    for card in ("10000001", "20000001", "99999999"):  # own village, another village, none at all
        r = village.post("/offline/request", {"card": card, "channel": "phone", "text": "试号"})
        assert r.status_code == 400
    assert world.count(VillagerRequest) == 2


def test_the_household_search_finds_nothing_outside_the_users_scope(world: World) -> None:
    village = world.login("xinqiao")

    def found(q: str) -> str:
        page = page_text(village.get(f"/offline?q={q}"))
        return (
            page.split('id="found-households"', 1)[1].split("</table>", 1)[0]
            if "found-households" in page
            else ""
        )

    assert "张大山" in found("张大山") and "张大山" in found("0001") and "张大山" in found("2222")
    assert found("20000001") == found("99999999") == ""  # another village's card answers like no card
    assert found("钱石头") == "" and found("3333") == ""
    assert "10000001" not in found("10000001") and "尾号 0001" in found(
        "10000001"
    )  # only the last digits shown


def test_searches_by_number_are_limited_per_user(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "NUMBER_LOOKUPS_PER_HOUR", 3)
    village = world.login("xinqiao")
    for q in ("1000", "1001", "1002"):
        assert village.get(f"/offline?q={q}").status_code == 200
    r = village.get("/offline?q=1003")
    assert r.status_code == 429 and "太频繁" in page_text(r)
    assert village.get("/households?q=10000001").status_code == 429  # every search by number counts
    assert village.get("/offline?q=张大山").status_code == 200  # names still work
    assert world.login("admin").get("/offline?q=1000").status_code == 200  # another user is not held
    world.clock.advance(hours=1, minutes=1)
    assert world.login("xinqiao").get("/offline?q=1003").status_code == 200


def world_all(w: World, stmt: object) -> list[Any]:
    with w.lx.session() as s:
        rows = list(s.scalars(stmt))  # type: ignore[call-overload]
        for r in rows:
            s.expunge(r)
        return rows


def test_trying_card_numbers_on_the_household_form_is_limited_too(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new card number is checked against every card ("已被其他农户使用"): the office's form counts as a lookup."""
    monkeypatch.setattr(common, "NUMBER_LOOKUPS_PER_HOUR", 2)
    admin = world.login("admin")
    url = f"/households/{world.ids['hh_a']}/link"
    assert admin.post(url, {"card_number": "10000001"}).status_code == 302  # its own number: no lookup
    assert admin.post(url, {"card_number": "20000001"}).status_code == 400  # taken
    assert admin.post(url, {"card_number": "30000001"}).status_code == 302
    r = admin.post(url, {"card_number": "30000002"})
    assert r.status_code == 429
