"""`lianxin wechat check`: passes against the fake API set up right, and names the failure (and what to do)
when the secret, the IP whitelist, the account type, a template id, a key mapping, the menu, public_url or
the server token is wrong — exiting non-zero."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.app import create_app
from storage.config import DEFAULT_TEMPLATE_FIELDS
from tests.fake_wechat import FakeWechat
from tests.support.cli import run_cli
from tests.support.serving import serve_in_thread

TOKEN = "lianxinCheckToken"  # WeChat's server-configuration token: 3–32 letters or digits
TEMPLATE_IDS = {kind: f"TPL_{kind.upper()}_{'x' * 30}" for kind in DEFAULT_TEMPLATE_FIELDS}


@pytest.fixture
def fake() -> Iterator[FakeWechat]:
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
) -> Any:
    served_lx, menu = served
    with serve_in_thread(create_app(served_lx)) as url:
        lx = make_lx(**{"wechat.public_url": public_url or url, **cfg})
        if menu:
            assert run_cli(lx, "wechat", "menu").exit_code == 0
        return run_cli(lx, "wechat", "check")


def line(result: Any, name: str) -> str:
    return next(x for x in result.output.splitlines() if x.split(" ", 1)[-1].lstrip().startswith(name + ":"))


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
        "server",
    ):
        assert line(result, name).startswith("OK"), result.output
    # http://127.0.0.1 passes for tests, with a clear note that WeChat users cannot reach it
    assert line(result, "public_url").startswith("WARN") and "仅供测试" in line(result, "public_url")
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


def test_a_server_running_with_another_token_fails_the_url_check(make_lx, clock, fake):
    cfg, served = account(make_lx, clock, fake, server_token="someOtherToken")
    result = check(make_lx, fake, cfg, served)
    assert result.exit_code == 1
    assert line(result, "server").startswith("FAIL") and "URL 校验" in line(result, "server")


def test_a_token_wechat_would_not_accept_fails(make_lx, clock, fake):
    cfg, served = account(make_lx, clock, fake, **{"wechat.token": "has-hyphens"})
    result = check(make_lx, fake, cfg, served)
    assert result.exit_code == 1 and "3–32" in line(result, "server")
