"""A villager's request is made one way, whatever door it comes through (storage/requests.py), and its number
comes from one counter (storage/numbering.py): the chat and the office's offline entry share both, so they
number alike, route alike (to the office when the cadre cannot be reached) and never collide — also when they
arrive at the same moment on PostgreSQL, where MAX + 1 used to collide and retry."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select

from storage import numbering, offline
from storage.models import Household, InboundMessage, OutboxMessage, VillagerRequest
from tests.support.chat_env import PHONE, Chat, bound, cadre_world, make_chat
from tests.support.factories import Factory
from tests.support.serving import serve_in_thread
from tests.support.wechat_client import TEST_TOKEN, WechatClient, wechat_app, xml

OFFICE = "o-office"


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    return cadre_world(make_lx, clock)


def _offline(chat: Chat, head: str, text: str) -> VillagerRequest:
    with chat.lx.session() as s:
        h = s.scalar(select(Household).where(Household.head_name == head))
        return offline.add_offline_request(
            s,
            household=h,
            text=text,
            channel="phone",
            at=chat.clock(),
            actor="cli",
            now=chat.clock(),
            words=chat.lx.wording().requests,
            config=chat.lx.config,
        )


def test_chat_and_office_requests_take_their_numbers_from_one_counter(chat: Chat) -> None:
    bound(chat)
    chat.wc.text("o-zhang", "20261124")
    assert "诉求编号" in chat.wc.text("o-zhang", "路灯坏了")  # 1
    assert _offline(chat, "刘婶", "电话反映：水沟堵了").number == 2
    chat.wc.text("o-zhang", "水管也冻裂了")  # 3
    with chat.lx.session() as s:
        rows = s.execute(select(VillagerRequest.number, VillagerRequest.channel).order_by(VillagerRequest.id))
        assert [tuple(r) for r in rows] == [(1, "wechat"), (2, "phone"), (3, "wechat")]
        # a card's number is a counter of its own
        assert numbering.draw(s, "task") == 1


def test_a_number_drawn_in_a_transaction_that_rolls_back_is_given_back(chat: Chat) -> None:
    with chat.lx.session() as s:
        assert numbering.draw(s, "villager_request") == 1
    with pytest.raises(RuntimeError), chat.lx.session() as s:
        assert numbering.draw(s, "villager_request") == 2
        raise RuntimeError("the request's transaction fails")
    with chat.lx.session() as s:
        assert numbering.draw(s, "villager_request") == 2


def test_an_office_request_for_a_cadre_who_cannot_be_reached_goes_to_the_office(
    make_lx: Any, clock: Any
) -> None:
    """Routing is the chat's too: the office's entry no longer pushes to a cadre whose WeChat is gone."""
    clock.set("2026-11-24 20:00")
    chat = make_chat(make_lx, clock, **{"scheduler.office_openids": [OFFICE]})
    with chat.factory() as f:
        f.household(f.cadre(name="李明", phone=PHONE), head_name="张大爷", card="20261124")
    bound(chat, "o-li", PHONE)
    chat.wc.event("o-li", "unsubscribe")
    req = _offline(chat, "张大爷", "电话反映：路灯不亮")
    pushes = chat.all(select(OutboxMessage).where(OutboxMessage.kind == "request"))
    assert [m.openid for m in pushes] == [OFFICE]
    assert f"诉求转办公室 {req.number}" in pushes[0].payload["text"]


# ------------------------------------------------------------------------------------- at the same moment


@pytest.fixture
def server(lx: Any) -> Iterator[str]:
    with serve_in_thread(wechat_app(lx)) as base:
        yield base


def test_chat_and_office_requests_at_the_same_moment_each_get_a_number_without_failures(
    lx: Any, clock: Any, server: str
) -> None:
    """Eight villagers write while the office enters four phone calls, all released together: every one is a
    request, the numbers are 1…12 without a gap or a collision, and no message failed."""
    if lx.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL (SQLite has one writer at a time)")
    clock.set("2026-11-24 20:00")
    with lx.session() as s:
        f = Factory(s)
        cadre = f.cadre(name="王芳", phone="13900002222")
        f.identity("o-wang", cadre=cadre)
        for i in range(8):
            f.identity(f"o-villager-{i}", household=f.household(cadre, head_name=f"农户甲{i}"))
        phoned = [f.household(cadre, head_name=f"农户乙{i}").id for i in range(4)]
    ts = int(clock().timestamp())
    wc = WechatClient(None, TEST_TOKEN, clock)
    barrier = threading.Barrier(12)
    failures: list[BaseException] = []
    statuses: list[int] = []

    def villager(i: int) -> None:
        q = wc.query()
        body = xml(f"o-villager-{i}", "text", create_time=ts, msg_id=9100 + i, Content=f"第{i}户的水管坏了")
        barrier.wait()
        r = requests.post(
            f"{server}/wechat", params=q, data=body.encode(), timeout=60, headers={"Content-Type": "text/xml"}
        )
        statuses.append(r.status_code)

    def office(household_id: int) -> None:
        try:
            barrier.wait()
            with lx.session() as s:
                offline.add_offline_request(
                    s,
                    household=s.get(Household, household_id),
                    text="电话反映：路灯不亮",
                    channel="phone",
                    at=clock() - timedelta(minutes=5),
                    actor="cli",
                    now=clock(),
                    words=lx.wording().requests,
                    config=lx.config,
                )
        except BaseException as e:  # noqa: BLE001 - collected and asserted below
            failures.append(e)

    threads = [threading.Thread(target=villager, args=(i,)) for i in range(8)]
    threads += [threading.Thread(target=office, args=(h,)) for h in phoned]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert failures == [] and statuses == [200] * 8
    with lx.session() as s:
        numbers = sorted(s.scalars(select(VillagerRequest.number)))
        failed = s.scalars(select(InboundMessage.status).where(InboundMessage.status != "handled")).all()
        channels = sorted(s.scalars(select(VillagerRequest.channel)))
    assert numbers == list(range(1, 13))
    assert failed == [] and channels == ["phone"] * 4 + ["wechat"] * 8
