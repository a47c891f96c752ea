"""动员会 (issue 26 item 4): ``lianxin meeting add`` records a meeting on a village's register (date, title, the
cadres who came, a count of villagers); ``--notify`` queues one notice per villager account of the village's
linked households, and one to the cadre of linked households without an account, naming them; a second
``--notify`` queues nothing new, and no other village hears of it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from reminders.delivery import dispatch_outbox
from storage.models import AuditLog, OutboxMessage, Village, VillageMeeting
from tests.fake_wechat import FakeWechat
from tests.support.chat_env import bound, make_chat
from tests.support.cli import audit_actions, run_cli
from tests.support.console_world import (
    World,
    world_fixture,  # noqa: F401 - the `world` fixture
)

ADD = ("meeting", "add", "--village", "新桥村", "--date", "2026-11-28", "--title", "冬季防火动员会")


def _pushes(w: World) -> list[OutboxMessage]:
    with w.lx.session() as s:
        rows = list(
            s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.idempotency_key.like("meeting:%"))
                .order_by(OutboxMessage.id)
            )
        )
        for r in rows:
            s.expunge(r)
        return rows


def test_a_meeting_is_recorded_with_who_came(world: World) -> None:
    r = run_cli(world.lx, *ADD, "--villagers", "45", "--cadre", "13900000001", "--note", "村委会大院")
    assert r.exit_code == 0, r.output
    with world.lx.session() as s:
        m = s.scalars(select(VillageMeeting)).one()
        assert (m.title, m.villagers, m.note, m.day.isoformat()) == (
            "冬季防火动员会",
            45,
            "村委会大院",
            "2026-11-28",
        )
        assert [c.name for c in m.cadres] == ["李明"] and m.village.name == "新桥村"
        assert m.notified_at is None
    assert _pushes(world) == []
    assert "meeting.add" in audit_actions(world.lx)
    again = run_cli(world.lx, *ADD)
    assert again.exit_code == 0 and world.count(VillageMeeting) == 1


def test_notify_reaches_the_villages_linked_households_once(world: World, renders: Any) -> None:
    r = run_cli(world.lx, *ADD, "--notify")
    assert r.exit_code == 0, r.output
    pushes = _pushes(world)
    assert {(p.openid, p.kind) for p in pushes} == {
        (world.openids["villager_a"], "notice"),  # 张大山's account
        (world.openids["cadre_a"], "notice"),  # 李明, for 赵小河 who has no account
    }
    to_cadre = renders.behind(next(p for p in pushes if p.openid == world.openids["cadre_a"]).payload["text"])
    assert to_cadre.name == "meeting_notice_cadre"
    assert [h.head_name for h in to_cadre["households"]] == ["赵小河"]
    assert (
        "冬季防火动员会" in next(p for p in pushes if p.openid == world.openids["villager_a"]).payload["text"]
    )
    with world.lx.session() as s:
        first = s.scalars(select(VillageMeeting.notified_at)).one()
    assert first is not None
    # again: nothing new queued, the first time kept
    world.clock.advance(hours=2)
    assert run_cli(world.lx, *ADD, "--notify").exit_code == 0
    assert len(_pushes(world)) == 2
    with world.lx.session() as s:
        assert s.scalars(select(VillageMeeting.notified_at)).one() == first
    assert world.openids["villager_b"] not in {p.openid for p in _pushes(world)}


def test_bad_input_is_refused_and_records_nothing(world: World) -> None:
    before = world.count(AuditLog)
    for args in (
        ("meeting", "add", "--village", "新桥村", "--date", "11月28日", "--title", "会"),
        ("meeting", "add", "--village", "没有的村", "--date", "2026-11-28", "--title", "会"),
        (*ADD, "--cadre", "13000000000"),
        ("meeting", "add", "--village", "新桥村", "--date", "2026-11-28", "--title", "  "),
        (*ADD, "--villagers", "-3"),
    ):
        r = run_cli(world.lx, *args)
        assert r.exit_code != 0, args
    assert world.count(VillageMeeting) == 0 and world.count(AuditLog) == before and _pushes(world) == []


TEMPLATES = {
    f"wechat.templates.{k}.id": f"TPL_{k.upper()}" for k in ("task", "reminder", "request", "reply", "notice")
}


def test_the_notice_reaches_the_villagers_wechat(make_lx: Any, clock: Any) -> None:
    """Tried as a township would: the meeting's notice is delivered by the outbox to the linked villager's
    WeChat (the fake API), and to the cadre for the household that has no account."""
    with FakeWechat() as fake:
        clock.set("2026-11-24 20:00")
        chat = make_chat(make_lx, clock, **{"wechat.api_base": fake.url, **TEMPLATES})
        with chat.factory() as f:
            li = f.cadre(name="李明", phone="13900001111")
            f.household(li, head_name="张大爷", card="20261124")
            f.household(li, head_name="刘婶", card="20261125")
        bound(chat)  # 李明 as o-li
        chat.wc.text("o-zhang", "20261124")  # 张大爷's account
        fake.interact("o-li")
        fake.interact("o-zhang")
        village = chat.one(select(Village.name))
        args = ("meeting", "add", "--village", village, "--date", "2026-11-28", "--title", "冬季防火动员会")
        r = run_cli(chat.lx, *args, "--notify")
        assert r.exit_code == 0, r.output
        dispatch_outbox(chat.lx)
        assert any("冬季防火动员会" in t for t in fake.texts_to("o-zhang"))
        to_cadre = [t for t in fake.texts_to("o-li") if "冬季防火动员会" in t]
        assert len(to_cadre) == 1 and "刘婶" in to_cadre[0]
        assert run_cli(chat.lx, *args, "--notify").exit_code == 0
        dispatch_outbox(chat.lx)
        assert sum("冬季防火动员会" in t for t in fake.texts_to("o-zhang")) == 1  # once
