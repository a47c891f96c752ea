"""`lianxin wechat menu` and the menu's clicks: one menu for villagers and cadres, each CLICK key answered like
its chat command by who taps it; a menu that breaks the platform's limits is refused before anything is sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bot.wechat.menu import DEFAULT_MENU, MenuError, build_menu
from handlers.menu import KEYS
from tests.fake_wechat import FakeWechat
from tests.support.chat_env import bound, make_chat
from tests.support.cli import run_cli
from tests.support.factories import Factory

PHONE = "13900001111"


@pytest.fixture
def fake() -> Iterator[FakeWechat]:
    with FakeWechat() as f:
        yield f


def world(make_lx: Any, clock: Any, fake: FakeWechat, **overrides: Any) -> Any:
    clock.set("2026-11-24 20:00")
    chat = make_chat(make_lx, clock, **{"wechat.api_base": fake.url, **overrides})
    with chat.factory() as f:
        f: Factory
        cadre = f.cadre(name="李明", phone=PHONE, post="村支书")
        f.household(cadre, head_name="张大爷", card="20261124", head_phone="13812345678")
    return chat


def click(chat: Any, openid: str, key: str) -> str:
    """A CLICK event; the clock moves a few seconds first (WeChat dedupes events by sender + CreateTime)."""
    chat.clock.advance(seconds=5)
    return chat.wc.event(openid, "CLICK", key)


def keys_of(menu: dict[str, Any]) -> list[str]:
    out = []
    for b in menu["button"]:
        out.extend(s["key"] for s in b.get("sub_button") or [] if s.get("key"))
        if b.get("key"):
            out.append(b["key"])
    return out


def test_wechat_menu_creates_the_default_menu_and_every_click_key_answers_like_its_command(
    make_lx, clock, fake, renders
):
    chat = world(make_lx, clock, fake)
    result = run_cli(chat.lx, "wechat", "menu")
    assert result.exit_code == 0, result.output
    assert [endpoint for endpoint, _ in fake.calls].count("menu_create") == 1
    assert fake.menu is not None
    assert [b["name"] for b in fake.menu["button"]] == [b["name"] for b in DEFAULT_MENU]
    keys = keys_of(fake.menu)
    assert set(keys) == {"LX_CONTACT", "LX_TASKS", "LX_MONTH", "LX_POLICY", "LX_HELP"}

    cadre = bound(chat)
    assert "李明" in chat.wc.text("o-zhang", "20261124")  # the villager links by card number
    # a cadre's click = the cadre's chat command
    assert click(chat, cadre, "LX_TASKS") == chat.wc.text(cadre, "任务")
    assert click(chat, cadre, "LX_MONTH") == chat.wc.text(cadre, "本月")
    assert click(chat, cadre, "LX_HELP") == chat.wc.text(cadre, "帮助")
    assert click(chat, cadre, "LX_CONTACT") == chat.wc.text(cadre, "农户")
    assert click(chat, cadre, "LX_POLICY") == chat.wc.text(cadre, "政策")
    # a villager's click: 联系干部 names the cadre and the phone; 帮助/政策 as typed
    contact = click(chat, "o-zhang", "LX_CONTACT")
    assert "李明" in contact and "村支书" in contact and PHONE in contact
    assert click(chat, "o-zhang", "LX_HELP") == chat.wc.text("o-zhang", "帮助")
    assert click(chat, "o-zhang", "LX_POLICY") == chat.wc.text("o-zhang", "政策")
    # a cadre's key tapped by a villager: told so, with the villager's help, and no request is made
    tasks = click(chat, "o-zhang", "LX_TASKS")
    assert renders.behind(tasks).name == "menu_cadre_only" and chat.wc.text("o-zhang", "帮助") in tasks
    # an account not yet bound: every key answers (the welcome explains how to link)
    for key in keys:
        assert click(chat, "o-new", key), key


def test_a_click_key_from_an_old_menu_gets_help_not_silence(make_lx, clock, fake, renders):
    chat = world(make_lx, clock, fake)
    cadre = bound(chat)
    answer = click(chat, cadre, "V1001_OLD")
    assert renders.behind(answer).name == "menu_unknown_key" and chat.wc.text(cadre, "帮助") in answer


def test_configured_menu_with_a_console_page_is_created_with_the_url_under_public_url(make_lx, clock, fake):
    buttons = [
        {"name": "联系干部", "key": "LX_CONTACT"},
        {"name": "办公", "sub": [{"name": "督办卡", "url": "/tasks"}, {"name": "本月", "key": "LX_MONTH"}]},
    ]
    chat = world(
        make_lx,
        clock,
        fake,
        **{"wechat.menu.buttons": buttons, "wechat.public_url": "https://lianxin.example.cn"},
    )
    result = run_cli(chat.lx, "wechat", "menu")
    assert result.exit_code == 0, result.output
    sub = fake.menu["button"][1]["sub_button"][0]
    assert sub == {
        "type": "view",
        "name": "督办卡",
        "url": "https://lianxin.example.cn/tasks",
        "sub_button": [],
    }


BAD_MENUS = [
    ([{"name": "联系干部联系干部", "key": "LX_CONTACT"}], "bytes"),  # 24 bytes > 16 on top
    ([{"name": "a", "sub": [{"name": "帮" * 21, "key": "LX_HELP"}]}], "bytes"),  # 63 bytes > 60 below
    ([{"name": "帮助", "key": "LX_HELP"}] * 4, "1–3"),
    ([{"name": "a", "sub": [{"name": "帮助", "key": "LX_HELP"}] * 6}], "1–5"),
    ([{"name": "帮助", "key": "X" * 129}], "128"),
    ([{"name": "帮助", "url": "https://a.cn/" + "x" * 1020}], "1024"),
    ([{"name": "帮助", "key": "LX_NOPE"}], "LX_HELP"),  # names the keys lianxin answers
    ([{"name": "帮助", "key": "LX_HELP", "url": "https://a.cn"}], "exactly one"),
]


@pytest.mark.parametrize(("buttons", "says"), BAD_MENUS)
def test_a_menu_over_the_platform_limits_is_refused_before_anything_is_sent(
    make_lx, clock, fake, buttons, says
):
    chat = world(make_lx, clock, fake, **{"wechat.menu.buttons": buttons})
    result = run_cli(chat.lx, "wechat", "menu")
    assert result.exit_code != 0
    assert says in result.output and "未发布" in result.output
    assert not any(endpoint == "menu_create" for endpoint, _ in fake.calls)
    assert fake.menu is None


# What WeChat answers to each over-limit menu (api_createcustommenu; errcodes from the global table), and the
# same mistake written in [wechat.menu], which our own check refuses first (None: not expressible there).
H = {"name": "帮助", "key": "LX_HELP"}
FAKE_REFUSALS = [
    ({"button": []}, 40016, None),  # an empty [wechat.menu] means the default menu
    ({"button": [{"type": "click", "name": "帮助", "key": "K"}] * 4}, 40016, [H] * 4),
    (
        {"button": [{"name": "a", "sub_button": [{"type": "click", "name": "b", "key": "K"}] * 6}]},
        40023,
        [{"name": "a", "sub": [H] * 6}],
    ),
    (
        {"button": [{"type": "click", "name": "联系干部联系干部", "key": "K"}]},
        40018,
        [{"name": "联系干部联系干部", "key": "LX_HELP"}],
    ),
    (
        {"button": [{"type": "click", "name": "帮助", "key": "K" * 129}]},
        40019,
        [{"name": "帮助", "key": "K" * 129}],
    ),
    ({"button": [{"type": "nonsense", "name": "帮助", "key": "K"}]}, 40017, None),
    (
        {
            "button": [
                {"name": "a", "sub_button": [{"type": "view", "name": "b", "url": "https://a/" + "x" * 1020}]}
            ]
        },
        40027,
        [{"name": "a", "sub": [{"name": "b", "url": "https://a/" + "x" * 1020}]}],
    ),
    (
        {"button": [{"name": "a", "sub_button": [{"type": "click", "name": "帮" * 21, "key": "K"}]}]},
        40025,
        [{"name": "a", "sub": [{"name": "帮" * 21, "key": "LX_HELP"}]}],
    ),
]


@pytest.mark.parametrize(("body", "errcode", "ours"), FAKE_REFUSALS)
def test_the_fake_refuses_what_wechat_refuses_and_our_check_refuses_it_first(fake, body, errcode, ours):
    token = requests.post(
        fake.url + "/cgi-bin/stable_token",
        json={"grant_type": "client_credential", "appid": fake.app_id, "secret": fake.secret},
    ).json()["access_token"]
    answer = requests.post(
        fake.url + "/cgi-bin/menu/create", params={"access_token": token}, json=body
    ).json()
    assert answer["errcode"] == errcode
    assert fake.menu is None
    if ours is not None:
        with pytest.raises(MenuError):
            build_menu(ours, "https://a.cn")


def test_menu_get_gives_back_what_was_created(make_lx, clock, fake):
    chat = world(make_lx, clock, fake)
    assert run_cli(chat.lx, "wechat", "menu").exit_code == 0
    token = requests.post(
        fake.url + "/cgi-bin/stable_token",
        json={"grant_type": "client_credential", "appid": fake.app_id, "secret": fake.secret},
    ).json()["access_token"]
    menu = requests.get(fake.url + "/cgi-bin/menu/get", params={"access_token": token}).json()["menu"]
    assert keys_of(menu) == keys_of(build_menu([], "https://a.cn").body)
    assert all(
        b["sub_button"] == [] or all(s["sub_button"] == [] for s in b["sub_button"]) for b in menu["button"]
    )


def test_every_key_lianxin_answers_is_named_for_its_chat_command():
    assert set(KEYS) >= {k for k in keys_of(build_menu([], "https://a.cn").body)}


def test_dry_run_shows_the_menu_and_sends_nothing(make_lx, clock, fake):
    chat = world(make_lx, clock, fake)
    result = run_cli(chat.lx, "wechat", "menu", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "联系干部  LX_CONTACT" in result.output and "└ 任务  LX_TASKS" in result.output
    assert "未发布" in result.output and fake.menu is None
    assert not any(endpoint == "menu_create" for endpoint, _ in fake.calls)


def test_an_account_without_the_menu_permission_is_told_what_to_do(make_lx, clock, fake):
    chat = world(make_lx, clock, fake)
    fake.fail("menu_create", 48001)
    result = run_cli(chat.lx, "wechat", "menu")
    assert result.exit_code != 0 and "48001" in result.output and "认证" in result.output
