"""The fake WeChat API keeps the platform's rules at the edges (tests/fake_wechat.py, section "Push edges"), so a
wrong choice in lianxin fails the tests: each rule here is one documented answer, spoken over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.fake_wechat import FakeWechat

APP = {"appid": "wxtestappid", "secret": "testsecret"}


@pytest.fixture
def fake() -> Iterator[FakeWechat]:
    with FakeWechat() as f:
        yield f


def _token(fake: FakeWechat) -> str:
    r = requests.post(
        f"{fake.url}/cgi-bin/stable_token", json={"grant_type": "client_credential", **APP}, timeout=5
    )
    return str(r.json()["access_token"])


def _post(fake: FakeWechat, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
    return dict(requests.post(f"{fake.url}{path}?access_token={token}", json=body, timeout=5).json())


def _template(openid: str, **data: str) -> dict[str, Any]:
    return {
        "touser": openid,
        "template_id": "TPL_NOTICE",
        "data": {k: {"value": v} for k, v in data.items()},
    }


def test_40164_comes_from_the_token_endpoints_only(fake):
    token = _token(fake)  # got before the server's IP left the whitelist
    fake.scenario = "ip_not_whitelisted"
    stable = requests.post(
        f"{fake.url}/cgi-bin/stable_token", json={"grant_type": "client_credential", **APP}, timeout=5
    ).json()
    plain = requests.get(
        f"{fake.url}/cgi-bin/token", params={"grant_type": "client_credential", **APP}, timeout=5
    ).json()
    assert stable["errcode"] == 40164 and plain["errcode"] == 40164
    sent = _post(
        fake,
        "/cgi-bin/message/template/send",
        _template("o-x", thing1="标题", thing2="内容", time3="2026年11月24日 10:00"),
        token,
    )
    assert sent["errcode"] == 0


def test_cgi_bin_token_gives_a_token_that_works(fake):
    r = requests.get(
        f"{fake.url}/cgi-bin/token", params={"grant_type": "client_credential", **APP}, timeout=5
    ).json()
    assert r["expires_in"] == 7200
    sent = _post(
        fake,
        "/cgi-bin/message/template/send",
        _template("o-x", thing1="标题", thing2="内容", time3="10:00"),
        r["access_token"],
    )
    assert sent["errcode"] == 0


@pytest.mark.parametrize(
    ("values", "ok"),
    [
        ({"thing1": "标题", "thing2": "内容", "time3": "2026年11月24日 10:00"}, True),
        ({"thing1": "", "thing2": "内容", "time3": "10:00"}, False),  # empty
        ({"thing1": "标题", "thing2": "内容", "time3": "明天上午"}, False),  # not a time
        ({"thing1": "标题", "thing2": "内容", "time3": "2026-11-24 10:00~12:00"}, True),  # a period
    ],
)
def test_empty_or_ill_typed_values_get_47003(fake, values, ok):
    sent = _post(fake, "/cgi-bin/message/template/send", _template("o-x", **values), _token(fake))
    assert (sent["errcode"] == 0) is ok and (ok or sent["errcode"] == 47003)


def test_a_banned_template_gets_43116_and_a_banned_api_48004(fake):
    token = _token(fake)
    body = _template("o-x", thing1="标题", thing2="内容", time3="10:00")
    fake.banned_templates.add("TPL_NOTICE")
    assert _post(fake, "/cgi-bin/message/template/send", body, token)["errcode"] == 43116
    fake.banned_templates.clear()
    fake.refuse("template", 48004)
    assert _post(fake, "/cgi-bin/message/template/send", body, token)["errcode"] == 48004


def test_a_user_who_switched_off_messages(fake):
    token = _token(fake)
    fake.interact("o-x")
    fake.block("o-x")
    text = {"touser": "o-x", "msgtype": "text", "text": {"content": "你好"}}
    assert _post(fake, "/cgi-bin/message/custom/send", text, token)["errcode"] == 48002
    # a template message is accepted, and the event tells the truth afterwards
    sent = _post(
        fake,
        "/cgi-bin/message/template/send",
        _template("o-x", thing1="标题", thing2="内容", time3="10:00"),
        token,
    )
    assert sent["errcode"] == 0
    assert fake.take_job_events() == [("o-x", sent["msgid"], "failed:user block")]
    assert fake.delivered == []
    fake.block("o-y", template_errcode=43101)  # how the community sees it sometimes
    sent = _post(
        fake,
        "/cgi-bin/message/template/send",
        _template("o-y", thing1="标题", thing2="内容", time3="10:00"),
        token,
    )
    assert sent["errcode"] == 43101


def test_each_accepted_template_message_ends_in_a_job_event_with_its_msgid(fake):
    token = _token(fake)
    body = _template("o-x", thing1="标题", thing2="内容", time3="10:00")
    first = _post(fake, "/cgi-bin/message/template/send", body, token)
    fake.job_outcome["o-x"] = "failed:system failed"
    second = _post(fake, "/cgi-bin/message/template/send", body, token)
    assert first["msgid"] != second["msgid"]
    assert fake.take_job_events() == [
        ("o-x", first["msgid"], "success"),
        ("o-x", second["msgid"], "failed:system failed"),
    ]


def test_a_subscribe_notification_needs_the_users_subscription(fake):
    token = _token(fake)
    body = _template("o-x", thing1="标题", thing2="内容", time3="10:00")
    assert _post(fake, "/cgi-bin/message/subscribe/bizsend", body, token)["errcode"] == 43101
    fake.subscribers.add(("o-x", "TPL_NOTICE"))
    assert _post(fake, "/cgi-bin/message/subscribe/bizsend", body, token)["errcode"] == 0
