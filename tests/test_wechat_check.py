"""`lianxin wechat check`: passes against the fake API set up right, and names the failure (and what to do)
when the secret, the IP whitelist, the account type, a template id, a key mapping, the menu, public_url, the
server token, the server URL saved at WeChat or the message encryption is wrong — exiting non-zero.

The served app answers over https (a certificate of its own, trusted through REQUESTS_CA_BUNDLE), as nginx would:
public_url must be https for the check to pass."""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import create_app
from bot.wechat import check_server
from storage.config import DEFAULT_TEMPLATE_FIELDS
from tests.fake_wechat import FakeWechat
from tests.support.cli import run_cli
from tests.support.serving import self_signed_cert, serve_in_thread
from tests.support.wechat_client import WechatClient, wechat_app, xml

TOKEN = "lianxinCheckToken"  # WeChat's server-configuration token: 3–32 letters or digits
TEMPLATE_IDS = {kind: f"TPL_{kind.upper()}_{'x' * 30}" for kind in DEFAULT_TEMPLATE_FIELDS}
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode().rstrip("=")


@functools.cache
def tls() -> Path:
    """One certificate for every served app of this module, the one REQUESTS_CA_BUNDLE names."""
    return self_signed_cert()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWechat]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls() / "cert.pem"))
    with FakeWechat() as f:
        for kind, fields in DEFAULT_TEMPLATE_FIELDS.items():
            f.add_private_template(TEMPLATE_IDS[kind], f"{kind} 通知", list(fields))
        yield f


def account(
    make_lx: Any,
    clock: Any,
    fake: FakeWechat,
    *,
    server_token: str = TOKEN,
    menu: bool = True,
    **overrides: Any,
) -> tuple[Any, Any]:
    """The checking config and the served app (its own config: its token may differ, as on a real server)."""
    clock.set("2026-11-24 20:00")
    base = {
        "wechat.api_base": fake.url,
        "wechat.token": TOKEN,
        **{f"wechat.templates.{k}.id": v for k, v in TEMPLATE_IDS.items()},
    }
    served = make_lx(**{**base, "wechat.token": server_token})
    return base | overrides, (served, menu)


def check(
    make_lx: Any,
    fake: FakeWechat,
    cfg: dict[str, Any],
    served: tuple[Any, bool],
    public_url: str | None = None,
    *,
    https: bool = True,
    saved: bool = True,
) -> Any:
    """Serve the app (https by default), save its URL in the fake account's 服务器配置 (unless ``saved`` is
    False), and run the check with public_url = the served address (or ``public_url``)."""
    served_lx, menu = served
    with serve_in_thread(create_app(served_lx), tls=tls() if https else None) as url:
        if saved:
            fake.server_url = url + "/wechat"
        lx = make_lx(**{"wechat.public_url": url if public_url is None else public_url, **cfg})
        if menu:
            assert run_cli(lx, "wechat", "menu").exit_code == 0
        return run_cli(lx, "wechat", "check")


def line(result: Any, name: str) -> str:
    return next(x for x in result.output.splitlines() if x.split(" ", 1)[-1].lstrip().startswith(name + ":"))


def has_line(result: Any, name: str) -> bool:
    return any(x.split(" ", 1)[-1].lstrip().startswith(name + ":") for x in result.output.splitlines())


def test_check_passes_against_an_account_set_up_right(make_lx, clock, fake):
    cfg, served = account(make_lx, clock, fake)
    result = check(make_lx, fake, cfg, served)
    assert result.exit_code == 0, result.output
    for name in (
        "token",
        "account",
        "template task",
        "template request",
        "template notice",
        "menu",
        "public_url",
        "server",
        "callback",
        "messages",
    ):
        assert line(result, name).startswith("OK"), result.output
    # the test server listens on a random port: WeChat would not accept it as a server URL, a warning
    assert line(result, "port").startswith("WARN") and "80 和 443" in line(result, "port")
    assert "FAIL 0" in result.output


@pytest.mark.parametrize(
    ("scenario", "errcode", "says"),
    [
        ("wrong_secret", 40125, "AppSecret"),
        ("wrong_appid", 40013, "AppID"),
        ("ip_not_whitelisted", 40164, "IP 白名单"),
    ],
)
def test_a_bad_secret_appid_or_ip_fails_the_token_line_with_its_errcode_and_fix(
    make_lx, clock, fake, scenario, errcode, says
):
    cfg, served = account(make_lx, clock, fake, menu=False)
    fake.scenario = scenario
    result = check(make_lx, fake, cfg, served)
    assert result.exit_code == 1
    token = line(result, "token")
    assert token.startswith("FAIL") and str(errcode) in token and says in token
    assert line(result, "menu").startswith("SKIP")


def test_a_secret_that_differs_from_the_accounts_fails_with_40125(make_lx, clock, fake):
    cfg, served = account(make_lx, clock, fake, menu=False, **{"wechat.app_secret": "not-the-secret"})
    result = check(make_lx, fake, cfg, served)
    assert result.exit_code == 1 and "40125" in line(result, "token")


def test_an_unverified_account_fails_with_48001_and_says_a_verified_service_account_is_needed(
    make_lx, clock, fake
):
    cfg, served = account(make_lx, clock, fake)
    fake.scenario = "unverified"  # menus work, templates do not (interface privileges table)
    result = check(make_lx, fake, cfg, served)
    assert result.exit_code == 1
    assert "48001" in line(result, "account") and "认证的服务号" in line(result, "account")
    assert line(result, "menu").startswith("OK")


def test_a_template_id_not_among_the_accounts_templates_is_named(make_lx, clock, fake):
    cfg, served = account(make_lx, clock, fake, **{"wechat.templates.task.id": "TPL_WRONG"})
    result = check(make_lx, fake, cfg, served)
    assert result.exit_code == 1
    task = line(result, "template task")
    assert task.startswith("FAIL") and "TPL_WRONG" in task and "40037" in task
    assert line(result, "template reminder").startswith("OK")


def test_a_template_key_left_unmapped_or_mapped_to_a_key_the_template_lacks_is_named(make_lx, clock, fake):
    fake.add_private_template(
        "TPL_REQ2", "工单受理通知", ["character_string1", "thing2", "thing3", "thing4", "time5", "phrase6"]
    )
    cfg, served = account(
        make_lx,
        clock,
        fake,
        **{
            "wechat.templates.request.id": "TPL_REQ2",
            "wechat.templates.reply.fields": {"character_string1": "number", "thing9": "text"},
        },
    )
    result = check(make_lx, fake, cfg, served)
    assert result.exit_code == 1
    request = line(result, "template request")
    assert request.startswith("FAIL") and "phrase6" in request
    reply = line(result, "template reply")
    assert reply.startswith("FAIL") and "thing9" in reply and "47003" in reply and "thing2" in reply


def test_an_unconfigured_kind_is_a_warning_not_a_failure(make_lx, clock, fake):
    cfg, served = account(make_lx, clock, fake, **{"wechat.templates.notice.id": ""})
    result = check(make_lx, fake, cfg, served)
    assert result.exit_code == 0, result.output
    assert line(result, "template notice").startswith("WARN")


def test_no_menu_yet_fails_and_says_to_run_wechat_menu(make_lx, clock, fake):
    cfg, served = account(make_lx, clock, fake, menu=False)
    result = check(make_lx, fake, cfg, served)
    assert result.exit_code == 1
    assert line(result, "menu").startswith("FAIL") and "lianxin wechat menu" in line(result, "menu")


def test_a_public_url_that_is_not_https_fails(make_lx, clock, fake):
    cfg, served = account(make_lx, clock, fake)
    result = check(make_lx, fake, cfg, served, public_url="http://lianxin.example.cn")
    assert result.exit_code == 1
    assert line(result, "public_url").startswith("FAIL") and "https" in line(result, "public_url")
    assert line(result, "server").startswith("SKIP")


def test_a_plain_http_public_url_fails_even_on_this_machine(make_lx, clock, fake):
    """http://127.0.0.1 used to pass with a note; every template link would point where no phone can go."""
    cfg, served = account(make_lx, clock, fake)
    result = check(make_lx, fake, cfg, served, https=False)
    assert result.exit_code == 1
    assert line(result, "public_url").startswith("FAIL") and "不是 https" in line(result, "public_url")


def test_an_unset_public_url_fails_naming_it(make_lx, clock, fake):
    """Unset, every template link points at the built-in http://127.0.0.1:8000."""
    cfg, served = account(make_lx, clock, fake)
    result = check(make_lx, fake, cfg, served, public_url="")
    assert result.exit_code == 1
    url = line(result, "public_url")
    assert (
        url.startswith("FAIL")
        and "未设置" in url
        and "127.0.0.1:8000" in url
        and "[wechat] public_url" in url
    )


class _Healthy:
    """An http session whose every GET answers 200 (the port rule is about the URL, not the network)."""

    def get(self, url: str, **kw: Any) -> Any:
        return type("R", (), {"status_code": 200, "text": "ok"})()


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("https://lianxin.example.gov.cn", False),
        ("https://lianxin.example.gov.cn:443", False),
        ("https://lianxin.example.gov.cn:8443", True),
    ],
)
def test_a_port_wechat_does_not_accept_is_a_warning(make_lx, url, warned):
    lx = make_lx(**{"wechat.public_url": url})
    checks, reachable = check_server.public_url(lx, _Healthy())
    assert reachable and checks[0].status == "OK"
    ports = [c for c in checks if c.name == "port"]
    assert bool(ports) == warned
    if warned:
        assert ports[0].status == "WARN" and "8443" in ports[0].detail


def test_no_server_url_saved_at_wechat_fails_with_40201(make_lx, clock, fake):
    cfg, served = account(make_lx, clock, fake)
    result = check(make_lx, fake, cfg, served, saved=False)
    assert result.exit_code == 1
    callback = line(result, "callback")
    assert callback.startswith("FAIL") and "40201" in callback and "服务器配置" in callback
    assert "/wechat" in callback  # says which URL to save


def test_an_account_that_may_not_run_the_network_check_is_told_so_not_failed(make_lx, clock, fake):
    cfg, served = account(make_lx, clock, fake)
    fake.refuse("callback_check", 48001)
    result = check(make_lx, fake, cfg, served)
    assert result.exit_code == 0, result.output
    assert line(result, "callback").startswith("SKIP") and "无法检测" in line(result, "callback")


def test_a_server_url_saved_for_another_host_is_a_warning(make_lx, clock, fake):
    cfg, served = account(make_lx, clock, fake)
    served_lx, menu = served
    with serve_in_thread(create_app(served_lx), tls=tls()) as url:
        fake.server_url = "https://127.0.0.2/wechat"  # another machine (resolves to another address)
        lx = make_lx(**{"wechat.public_url": url, **cfg})
        assert run_cli(lx, "wechat", "menu").exit_code == 0
        result = run_cli(lx, "wechat", "check")
    callback = line(result, "callback")
    assert callback.startswith("WARN") and "127.0.0.2" in callback and url + "/wechat" in callback


def test_the_fake_network_check_follows_the_documented_shape(fake):
    import requests

    token = requests.post(
        fake.url + "/cgi-bin/stable_token",
        json={"grant_type": "client_credential", "appid": fake.app_id, "secret": fake.secret},
        timeout=5,
    ).json()["access_token"]
    endpoint = fake.url + "/cgi-bin/callback/check?access_token=" + token

    def ask(body: dict[str, Any]) -> dict[str, Any]:
        return requests.post(endpoint, json=body, timeout=5).json()

    assert ask({"action": "all", "check_operator": "DEFAULT"})["errcode"] == 40201
    fake.server_url = "https://127.0.0.1/wechat"
    answer = ask({"action": "all", "check_operator": "DEFAULT"})
    assert answer["dns"] == [{"ip": "127.0.0.1", "real_operator": "UNICOM"}]
    assert set(answer["ping"][0]) == {"ip", "from_operator", "package_loss", "time"}
    assert set(ask({"action": "dns", "check_operator": "CAP"})) == {"dns"}
    assert ask({"action": "everything", "check_operator": "DEFAULT"})["errcode"] == 40202
    assert ask({"action": "all", "check_operator": "MOBILE"})["errcode"] == 40203


# ------------------------------------------------------------------------------------ message encryption


def send(lx: Any, clock: Any, *, aes_key: str = "", count: int = 1, start: int = 0) -> list[int]:
    """WeChat POSTs ``count`` messages to the server ``lx`` runs (encrypted with ``aes_key`` when given)."""
    wc = WechatClient(wechat_app(lx).test_client(), TOKEN, clock, aes_key=aes_key)
    return [
        wc.post_raw(
            xml("o-sender", "text", create_time=wc.ts(), msg_id=97000 + start + i, Content="帮助")
        ).status_code
        for i in range(count)
    ]


def test_a_key_set_while_the_account_still_sends_plain_is_reported(make_lx, clock, fake):
    cfg, served = account(make_lx, clock, fake, **{"wechat.encoding_aes_key": AES_KEY})
    server = make_lx(**{"wechat.token": TOKEN, "wechat.encoding_aes_key": AES_KEY})
    assert send(server, clock, count=12) == [200] * 12  # accepted (兼容模式), nothing lost
    result = check(make_lx, fake, cfg, served)
    messages = line(result, "messages")
    assert messages.startswith("WARN") and "明文 12 条、密文 0 条" in messages and "明文模式" in messages
    # put right: the account switched to 安全模式, encrypted messages arrive and open
    assert send(server, clock, aes_key=AES_KEY, count=2, start=100) == [200, 200]
    result = check(make_lx, fake, cfg, served)
    assert line(result, "messages").startswith("OK") and "密文 2 条" in line(result, "messages")


def test_a_key_that_does_not_decrypt_wechats_messages_fails(make_lx, clock, fake):
    cfg, served = account(make_lx, clock, fake, **{"wechat.encoding_aes_key": OTHER_KEY})
    server = make_lx(**{"wechat.token": TOKEN, "wechat.encoding_aes_key": OTHER_KEY})  # mistyped
    assert send(server, clock, aes_key=AES_KEY, count=3) == [400] * 3
    result = check(make_lx, fake, cfg, served)
    assert result.exit_code == 1
    messages = line(result, "messages")
    assert (
        messages.startswith("FAIL")
        and "无法用 [wechat] encoding_aes_key 解密" in messages
        and "3 次" in messages
    )
    # put right: the key fixed, the next encrypted message opens
    clock.advance(minutes=5)
    fixed = make_lx(**{"wechat.token": TOKEN, "wechat.encoding_aes_key": AES_KEY})
    assert send(fixed, clock, aes_key=AES_KEY, start=10) == [200]
    result = check(make_lx, fake, {**cfg, "wechat.encoding_aes_key": AES_KEY}, served)
    assert result.exit_code == 0, result.output
    assert line(result, "messages").startswith("OK")


def test_encrypted_messages_with_no_key_configured_fail(make_lx, clock, fake):
    cfg, served = account(make_lx, clock, fake)
    server = make_lx(**{"wechat.token": TOKEN})
    assert send(server, clock, aes_key=AES_KEY, count=2) == [400, 400]  # the account in 安全模式
    result = check(make_lx, fake, cfg, served)
    assert result.exit_code == 1
    messages = line(result, "messages")
    assert messages.startswith("FAIL") and "encoding_aes_key 为空" in messages
    # put right the other way: the account switched back to 明文模式, and its messages arrive
    clock.advance(minutes=5)
    assert send(server, clock, start=10) == [200]
    result = check(make_lx, fake, cfg, served)
    assert result.exit_code == 0, result.output
    assert line(result, "messages").startswith("OK")


def test_a_server_running_with_another_token_fails_the_url_check(make_lx, clock, fake):
    cfg, served = account(make_lx, clock, fake, server_token="someOtherToken")
    result = check(make_lx, fake, cfg, served)
    assert result.exit_code == 1
    assert line(result, "server").startswith("FAIL") and "URL 校验" in line(result, "server")


def test_a_token_wechat_would_not_accept_fails(make_lx, clock, fake):
    cfg, served = account(make_lx, clock, fake, **{"wechat.token": "has-hyphens"})
    result = check(make_lx, fake, cfg, served)
    assert result.exit_code == 1 and "3–32" in line(result, "server")
