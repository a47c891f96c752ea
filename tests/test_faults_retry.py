"""WeChat retrying a message three times while the first attempt is still being handled: one effect.

A real threaded HTTP server (each request its own thread, connection and transaction); the handler of the
first attempt is slowed down inside its transaction so the three retries really arrive while it runs. For each
kind of message that changes something — a diary entry, a villager's request (with a push to the cadre), a
binding code, a card-number link, a subscribe event — exactly one effect, and all four answers are the same
reply (the retries get the stored one).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from storage.accounts import issue_bind_code
from storage.models import (
    AuditLog,
    DiaryEntry,
    InboundMessage,
    OutboxMessage,
    VillagerRequest,
    WechatIdentity,
)
from tests.support.factories import Factory
from tests.support.queries import count_rows as count
from tests.support.serving import serve_in_thread
from tests.support.wechat_client import TEST_TOKEN, WechatClient, wechat_app, xml

ATTEMPTS = 4  # the first and WeChat's three retries


@pytest.fixture
def server(lx: Any, clock: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    clock.set("2026-11-24 20:00")
    from bot import dispatch

    real_route = dispatch.route

    def slow_route(ctx: Any, msg: Any) -> Any:
        out = real_route(ctx, msg)
        time.sleep(0.5)  # still inside the first attempt's transaction
        return out

    monkeypatch.setattr(dispatch, "route", slow_route)
    with serve_in_thread(wechat_app(lx)) as base:
        yield base


@pytest.fixture
def people(lx: Any, clock: Any) -> dict[str, str]:
    with lx.session() as s:
        f = Factory(s)
        cadre = f.cadre(name="李明", phone="13900002222")
        f.household(cadre, head_name="张大爷", card="20261124")
        f.household(cadre, head_name="刘婶", card="20261125")
        h = f.household(cadre, head_name="王伯", card="20261126")
        f.identity("o-li", cadre=cadre)
        f.identity("o-wang", household=h)
        f.cadre(name="赵新", phone="13900003333")
        code = issue_bind_code(s, phone="13900003333", actor="test", now=clock(), configured_secret="")[0]
    return {"code": code}


def four_at_once(url: str, clock: Any, body: str) -> list[requests.Response]:
    wc = WechatClient(None, TEST_TOKEN, clock)
    barrier = threading.Barrier(ATTEMPTS)
    out: list[Any] = [None] * ATTEMPTS

    def run(i: int) -> None:
        q = wc.query()
        barrier.wait()
        if i:
            time.sleep(0.1)  # the retries come while the first is being handled
        out[i] = requests.post(
            f"{url}/wechat", params=q, data=body.encode(), timeout=60, headers={"Content-Type": "text/xml"}
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(ATTEMPTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return out


CASES = {
    "diary": ("o-li", "text", {"Content": "日记 走访张大爷家，了解冬季取暖"}),
    "request": ("o-wang", "text", {"Content": "家里的水管冻裂了"}),
    "bind": ("o-zhao", "text", {"Content": "绑定 {code}"}),
    "card": ("o-liu", "text", {"Content": "20261125"}),
    "subscribe": ("o-new", "event", {"Event": "subscribe", "EventKey": "qrscene_20261124"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_three_retries_during_the_first_attempt_are_one_effect(
    lx: Any, clock: Any, people: Any, server: str, case: str
) -> None:
    openid, kind, fields = CASES[case]
    fields = {k: v.format(**people) for k, v in fields.items()}
    msg_id = None if kind == "event" else 990_000 + len(case)
    body = xml(openid, kind, create_time=int(clock().timestamp()), msg_id=msg_id, **fields)
    responses = four_at_once(server, clock, body)
    assert [r.status_code for r in responses] == [200] * ATTEMPTS
    replies = {r.text for r in responses}
    # All four carry the same answer (XML differs only in CreateTime, so compare the Content).
    contents = {
        r.split("<Content><![CDATA[")[1].split("]]></Content>")[0] if "<Content>" in r else r for r in replies
    }
    assert len(contents) == 1, contents
    assert count(lx, InboundMessage) == 1
    assert count(lx, InboundMessage, InboundMessage.status == "handled") == 1
    if case == "diary":
        assert count(lx, DiaryEntry) == 1
    elif case == "request":
        assert count(lx, VillagerRequest) == 1
        assert count(lx, OutboxMessage, OutboxMessage.kind == "request") == 1
    elif case == "bind":
        assert (
            count(lx, WechatIdentity, WechatIdentity.openid == "o-zhao", WechatIdentity.kind == "cadre") == 1
        )
        assert count(lx, AuditLog, AuditLog.action == "wechat.bind") == 1
    elif case == "card":
        assert (
            count(lx, WechatIdentity, WechatIdentity.openid == "o-liu", WechatIdentity.kind == "villager")
            == 1
        )
    elif case == "subscribe":
        assert count(lx, WechatIdentity, WechatIdentity.openid == "o-new") == 1
