"""Over-long customer-service texts (WeChat answers 45002 and publishes no limit): every text we send is capped
(``[wechat] custom_text_max_bytes``), a long message goes in parts or as a template, a digest takes only what
fits, and no merged message is ever lost; a digest that falls back to a template sends each message's own
values (PRODUCT.md "Safe to run for real")."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from reminders.channels import split_text, text_bytes
from reminders.delivery import dispatch_outbox
from storage.models import OutboxMessage, WechatIdentity
from storage.outbox import enqueue
from tests.fake_wechat import FakeWechat
from tests.support.factories import Factory

KINDS = ("task", "reminder", "request", "reply", "notice")
TEMPLATES = {f"wechat.templates.{k}.id": f"TPL_{k.upper()}" for k in KINDS}


@pytest.fixture
def fake(clock):
    with FakeWechat(clock=lambda: clock().timestamp()) as f:
        yield f


def _lx(make_lx, fake, **kw):
    return make_lx(**{"wechat.api_base": fake.url, **TEMPLATES, **kw})


def _person(lx, fake, *, sent_already: int = 0) -> str:
    with lx.session() as s:
        ident = Factory(s).identity("o-v", cadre=Factory(s).cadre())
        ident.window_sent = sent_already
    fake.interact("o-v")
    with fake.lock:
        fake.windows["o-v"][0] = sent_already
    return "o-v"


def _long(n: int, label: str) -> str:
    return f"【{label}】" + "村里的情况反映如下，请尽快处理。" * n


def _statuses(lx) -> Counter:
    with lx.sessions() as s:
        return Counter(
            dict(s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
        )


def _task_values(i: int) -> dict[str, str]:
    return {
        "number": str(100 + i),
        "title": f"第{i}号督办",
        "deadline": "2026-12-05 18:00",
        "office": "示范镇",
    }


def test_split_text_keeps_everything_within_the_limit():
    text = "\n".join(_long(10 + i, f"第{i}段") for i in range(8)) + "\n" + "长" * 1500
    parts = split_text(text, 2000)
    assert len(parts) > 1 and all(text_bytes(p) <= 2000 for p in parts)
    assert parts[0].startswith(f"（1/{len(parts)}）")
    rebuilt = "".join(p.split("）", 1)[1] for p in parts)
    assert rebuilt.replace("\n", "") == text.replace("\n", "")


def test_a_digest_of_long_messages_never_exceeds_the_limit_and_loses_nothing(make_lx, fake, clock):
    lx = _lx(make_lx, fake)
    p = _person(lx, fake, sent_already=3)  # two of the window's five messages left
    texts = [_long(12, f"消息{i}") for i in range(10)]  # about 500 bytes each: ten are 5 kB together
    with lx.session() as s:
        for i, t in enumerate(texts):
            enqueue(s, openid=p, kind="task", text=t, key=f"k{i}", template=_task_values(i))
    r = dispatch_outbox(lx)
    assert r.failed == 0
    assert 45002 not in [c[1] for c in fake.calls]
    customs = [d for d in fake.delivered if d.channel == "custom"]
    assert len(customs) == 2 and all(text_bytes(d.text) <= 2000 for d in customs)
    # every message reached the phone once: in a customer-service text, or as its own template message
    shown = " ".join(d.text for d in customs)
    templated = [d for d in fake.delivered if d.channel == "template"]
    for i in range(len(texts)):
        as_text = shown.count(f"【消息{i}】")
        as_template = sum(1 for d in templated if d.displayed and d.displayed[1][1] == f"第{i}号督办")
        assert as_text + as_template == 1, (i, as_text, as_template)
    assert _statuses(lx)["pending"] == 0 and _statuses(lx)["failed"] == 0


def test_a_long_message_goes_in_parts_each_counting_against_the_window(make_lx, fake, clock):
    lx = _lx(make_lx, fake)
    p = _person(lx, fake)
    text = _long(100, "长答复")  # about 4 kB
    with lx.session() as s:
        enqueue(s, openid=p, kind="reply", text=text, key="long")
    assert dispatch_outbox(lx).sent_custom == 1
    parts = fake.texts_to(p)
    assert len(parts) == 3 and all(text_bytes(t) <= 2000 for t in parts)
    assert "".join(t.split("）", 1)[1] for t in parts) == text
    with lx.sessions() as s:
        assert s.scalar(select(WechatIdentity.window_sent).where(WechatIdentity.openid == p)) == 3


def test_a_long_message_without_enough_window_left_goes_as_a_template(make_lx, fake, clock):
    lx = _lx(make_lx, fake)
    p = _person(lx, fake, sent_already=4)  # one message left, the text needs three
    with lx.session() as s:
        enqueue(s, openid=p, kind="reply", text=_long(100, "长答复"), key="long")
    r = dispatch_outbox(lx)
    assert (r.sent_custom, r.sent_template) == (0, 1)
    [d] = fake.delivered
    assert d.channel == "template" and d.url


def test_45002_from_wechat_sends_a_digest_apart_as_templates_with_their_own_values(make_lx, fake, clock):
    lx = _lx(make_lx, fake, **{"wechat.custom_text_max_bytes": 8000})  # our cap above what WeChat takes
    p = _person(lx, fake, sent_already=4)  # one message left: the three go as one digest
    with lx.session() as s:
        for i in range(3):
            enqueue(s, openid=p, kind="task", text=_long(40, f"卡{i}"), key=f"t{i}", template=_task_values(i))
    r = dispatch_outbox(lx)
    assert ("custom", 45002) in fake.calls
    assert r.failed == 0 and r.sent == 3
    templated = [d for d in fake.delivered if d.channel == "template"]
    assert templated and all(d.displayed[1][1] in {"第0号督办", "第1号督办", "第2号督办"} for d in templated)
    assert all(v for d in templated for _, v in d.displayed)  # no key left empty
    shown = " ".join(d.text for d in fake.delivered)
    for i in range(3):  # each card on the phone once: as a text, or as its own template
        assert shown.count(f"【卡{i}】") + sum(d.displayed[1][1] == f"第{i}号督办" for d in templated) == 1
    assert _statuses(lx)["sent"] == 3 and _statuses(lx)["pending"] == 0


def test_the_fake_refuses_an_over_long_text_with_45002(fake):
    import requests

    token = requests.post(
        f"{fake.url}/cgi-bin/stable_token",
        json={"grant_type": "client_credential", "appid": "wxtestappid", "secret": "testsecret"},
        timeout=5,
    ).json()["access_token"]
    fake.interact("o-x")
    send = f"{fake.url}/cgi-bin/message/custom/send?access_token={token}"
    body = {"touser": "o-x", "msgtype": "text", "text": {"content": "字" * 683}}  # 2049 bytes
    assert requests.post(send, json=body, timeout=5).json()["errcode"] == 45002
    body["text"]["content"] = "字" * 682  # 2046 bytes
    assert requests.post(send, json=body, timeout=5).json()["errcode"] == 0
