"""One message, one effect: WeChat's retries — including retries that arrive while the first attempt is still
being handled — are answered from the stored reply and never run the handler twice.

These run against a real threaded HTTP server on 127.0.0.1 (each request its own connection and database
session), on SQLite and, with LIANXIN_TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from bot.dispatch import FifoLock
from storage.accounts import issue_bind_code
from storage.models import DiaryEntry, InboundMessage, OutboxMessage, VillagerRequest, WechatIdentity
from tests.support.factories import Factory
from tests.support.queries import count_rows as count
from tests.support.serving import serve_in_thread
from tests.support.wechat_client import TEST_TOKEN, WechatClient, wechat_app, xml


@pytest.fixture
def server(lx: Any) -> Iterator[str]:
    with serve_in_thread(wechat_app(lx)) as base:
        yield base


@pytest.fixture
def people(lx: Any, clock: Any) -> dict[str, Any]:
    clock.set("2026-11-24 20:00")
    with lx.session() as s:
        f = Factory(s)
        cadre = f.cadre(name="李明", phone="13900001111")
        f.household(cadre, head_name="张大爷", card="20261124")
        f.household(cadre, head_name="刘婶", card="20261125")
        f.identity("o-li", cadre=cadre)
        return {
            "code": issue_bind_code(s, phone="13900001111", actor="test", now=clock(), configured_secret="")[
                0
            ]
        }


def post_at_once(url: str, bodies: list[str], clock: Any) -> list[requests.Response]:
    """Post every body from its own thread, released together by a barrier."""
    wc = WechatClient(None, TEST_TOKEN, clock)
    barrier = threading.Barrier(len(bodies))
    out: list[Any] = [None] * len(bodies)

    def run(i: int, body: str) -> None:
        q = wc.query()
        barrier.wait()
        out[i] = requests.post(
            f"{url}/wechat", params=q, data=body.encode(), timeout=60, headers={"Content-Type": "text/xml"}
        )

    threads = [threading.Thread(target=run, args=(i, b)) for i, b in enumerate(bodies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return out


def slow_handlers(monkeypatch: Any) -> None:
    """Keep the first attempt inside its transaction a while, so the duplicates really overlap it."""
    import handlers.diary as diary
    import handlers.villager as villager

    real_save, real_request = diary.save_diary_entry, villager.cadre_openid

    def slow_save(*a: Any, **kw: Any) -> Any:
        row = real_save(*a, **kw)
        time.sleep(0.4)
        return row

    def slow_request(*a: Any, **kw: Any) -> Any:  # looked up after the request row is written
        reply = real_request(*a, **kw)
        time.sleep(0.4)
        return reply

    monkeypatch.setattr(diary, "save_diary_entry", slow_save)
    monkeypatch.setattr(villager, "cadre_openid", slow_request)


def test_same_diary_message_three_times_at_once_is_one_entry(
    lx: Any, clock: Any, people: Any, server: str, monkeypatch: Any, caplog: Any
) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="lianxin.bot.dispatch")
    slow_handlers(monkeypatch)
    body = xml("o-li", "text", create_time=int(clock().timestamp()), msg_id=6001, Content="走访张大爷家")
    replies = post_at_once(server, [body] * 3, clock)
    assert [r.status_code for r in replies] == [200, 200, 200]
    assert count(lx, DiaryEntry) == 1
    assert count(lx, InboundMessage) == 1
    texts = {r.text for r in replies}
    assert len(texts) == 1 and "本月第 1 天" in texts.pop()  # every retry gets the first attempt's reply
    assert sum("duplicate msg:6001" in r.getMessage() for r in caplog.records) == 2


def test_same_villager_request_three_times_is_one_request_and_one_push(
    lx: Any, clock: Any, people: Any, server: str, monkeypatch: Any
) -> None:
    wc_body = xml("o-zhang", "text", create_time=int(clock().timestamp()), msg_id=6101, Content="20261124")
    post_at_once(server, [wc_body], clock)
    slow_handlers(monkeypatch)
    body = xml(
        "o-zhang", "text", create_time=int(clock().timestamp()), msg_id=6102, Content="水管坏了，帮帮忙"
    )
    replies = post_at_once(server, [body] * 3, clock)
    assert all(r.status_code == 200 for r in replies)
    assert count(lx, VillagerRequest) == 1
    assert (
        count(lx, OutboxMessage, OutboxMessage.kind == "request") == 1
    )  # (the link itself was announced too)
    assert len({r.text for r in replies}) == 1


def test_new_user_sending_several_messages_at_once_gets_one_identity(
    lx: Any, clock: Any, server: str
) -> None:
    ts = int(clock().timestamp())
    bodies = [xml("o-brand-new", "text", create_time=ts, msg_id=7000 + i, Content="你好") for i in range(3)]
    replies = post_at_once(server, bodies, clock)
    assert all(r.status_code == 200 and "欢迎" in r.text for r in replies)
    with lx.session() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(WechatIdentity).where(WechatIdentity.openid == "o-brand-new")
            )
            == 1
        )
    assert count(lx, InboundMessage) == 3


def test_two_villagers_at_once_get_distinct_numbers(
    lx: Any, clock: Any, people: Any, server: str, monkeypatch: Any
) -> None:
    ts = int(clock().timestamp())
    post_at_once(
        server,
        [
            xml("o-a", "text", create_time=ts, msg_id=8001, Content="20261124"),
            xml("o-b", "text", create_time=ts, msg_id=8002, Content="20261125"),
        ],
        clock,
    )
    slow_handlers(monkeypatch)
    replies = post_at_once(
        server,
        [
            xml("o-a", "text", create_time=ts, msg_id=8003, Content="路灯坏了"),
            xml("o-b", "text", create_time=ts, msg_id=8004, Content="水沟堵了"),
        ],
        clock,
    )
    assert all(r.status_code == 200 and "诉求编号" in r.text for r in replies)
    with lx.session() as s:
        assert sorted(s.scalars(select(VillagerRequest.number))) == [1, 2]


def test_a_late_retry_gets_the_stored_reply(lx: Any, clock: Any, people: Any) -> None:
    app = wechat_app(lx)
    wc = WechatClient(app.test_client(), TEST_TOKEN, clock)
    first = wc.text("o-li", "走访刘婶", msg_id=9001)
    clock.advance(seconds=20)
    assert wc.text("o-li", "走访刘婶", msg_id=9001) == first
    assert count(lx, DiaryEntry) == 1


def test_sqlite_writers_of_one_process_get_the_lock_in_arrival_order() -> None:
    """The SQLite writer queue is first come, first served: a message never waits behind later ones."""
    lock = FifoLock()
    order: list[int] = []

    def writer(i: int) -> None:
        with lock:
            order.append(i)

    threads = []
    with lock:
        for i in range(6):
            t = threading.Thread(target=writer, args=(i,))
            t.start()
            threads.append(t)
            while len(lock._waiters) < i + 1:  # queued before the next one starts
                time.sleep(0.001)
    for t in threads:
        t.join(5)
    assert order == list(range(6))
    with lock:  # and it is free again afterwards
        pass


def test_villagers_asking_at_the_same_moment_each_get_a_request_of_their_own(
    lx: Any, clock: Any, server: str
) -> None:
    """Request numbers come from one counter row (storage/numbering.py): concurrent transactions take turns
    drawing them (on PostgreSQL ~25% of requests failed at 20 connections while MAX + 1 raced and retried), so
    none gets the apology."""
    with lx.session() as s:
        f = Factory(s)
        cadre = f.cadre(name="王芳", phone="13900002222")
        f.identity("o-wang", cadre=cadre)
        for i in range(12):
            f.identity(f"o-villager-{i}", household=f.household(cadre, head_name=f"农户甲{i}"))
    ts = int(clock().timestamp())
    bodies = [
        xml(f"o-villager-{i}", "text", create_time=ts, msg_id=8000 + i, Content=f"第{i}户的水管坏了")
        for i in range(12)
    ]
    replies = post_at_once(server, bodies, clock)
    assert all(r.status_code == 200 for r in replies)
    with lx.session() as s:
        numbers = s.scalars(select(VillagerRequest.number)).all()
        assert (
            s.scalar(
                select(func.count()).select_from(InboundMessage).where(InboundMessage.status != "handled")
            )
            == 0
        )
    assert len(numbers) == 12 and len(set(numbers)) == 12
