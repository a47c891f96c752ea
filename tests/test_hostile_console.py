"""Hostile input reaching the console, and personal data in logs.

- Villager (and cadre) text with HTML/script, sent through the real /wechat, is shown escaped on every console
  page that shows it.
- The console's search boxes treat quotes, %, _ and backslashes as plain characters (bound parameters with
  LIKE escaping): no SQL injection, no wildcard surprises, the tables intact.
- Brute force on the console login is locked (per account, and unknown names too); session cookies are
  HttpOnly + SameSite, Secure when configured; an idle session expires; a deactivated account is out at once.
- Phones are masked in the bot's log output: a whole conversation at DEBUG level never logs a full number.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.models import Household, RateLimit, VillagerRequest
from tests.support.chat_env import make_chat
from tests.support.console_world import Client, World, build_world

XSS = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    "{{ 7*7 }}{% raw %}",
]


@pytest.fixture
def world(lx: Any, clock: Any) -> World:
    return build_world(lx, clock)


def test_villager_and_cadre_html_is_escaped_everywhere(make_lx: Any, clock: Any) -> None:
    from tests.support.console_world import PASSWORDS

    clock.set("2026-11-24 10:00")
    chat = make_chat(make_lx, clock)
    w = build_world(chat.lx, clock)
    # The villager of household A writes through /wechat; so does cadre A (a diary entry).
    for payload in XSS:
        assert chat.wc.text("demo-villager-001", f"求助 {payload}")
    chat.wc.text("demo-cadre-01", "日记 走访 <b>张大山</b> <script>alert('d')</script>")
    with chat.lx.session() as s:
        numbers = list(s.scalars(select(VillagerRequest.number).where(VillagerRequest.text.like("%<%"))))
        h = s.get(Household, w.ids["hh_a"])
        h.difficulties = "<script>alert('h')</script>"
        h.members = [{"name": "<img src=x onerror=alert(2)>", "relation": "子"}]
    assert numbers
    admin = w.login("admin")
    pages = [
        "/",
        "/requests",
        "/diaries",
        f"/households/{w.ids['hh_a']}",
        "/households",
        "/simulator",
        "/simulator?openid=demo-villager-001",
        "/audit",
        "/ledger",
        *[f"/requests/{n}" for n in numbers],
    ]
    for url in pages:
        body = admin.get(url).get_data(as_text=True)
        for raw in ("<script>alert", "<img src=x", "<svg/onload", "<b>张大山</b>"):
            assert raw not in body, f"{raw!r} unescaped at {url}"
    detail = admin.get(f"/requests/{numbers[0]}").get_data(as_text=True)
    assert "&lt;script&gt;" in detail or "&lt;" in detail
    assert "49" not in detail.split("{{ 7*7 }}")[0][-5:]  # no template evaluation of villager text
    assert PASSWORDS  # (the world's logins)


@pytest.mark.parametrize(
    "q",
    [
        "'",
        "' OR '1'='1",
        "'; DROP TABLE household; --",
        '" OR 1=1 --',
        "%",
        "_",
        "\\",
        "%%",
        "_%_",
        "\\%",
        "' UNION SELECT username, password_hash FROM console_user --",
        "张%",
        "%' --",
        "1; SELECT pg_sleep(5)",
    ],
)
def test_search_boxes_are_literal(world: World, q: str) -> None:
    c = world.login("admin")
    before = (world.count(Household), world.count(VillagerRequest))
    from urllib.parse import quote

    for path in ("/cadres", "/households", "/requests", "/diaries"):
        r = c.get(f"{path}?q={quote(q)}")
        assert r.status_code == 200, (path, q, r.status_code)
        body = r.get_data(as_text=True)
        results = re.sub(r"<form.*?</form>", "", body, flags=re.S)  # the rows, not the filter's drop-downs
        # Nobody's name contains these characters, so no row may match (a wildcard or injection would list all),
        # except the one diary that really contains "100%".
        for name in ("张大山", "钱石头", "李明", "王芳", "赵小河"):
            if path == "/diaries" and q in ("%", "%%") and name in ("张大山", "李明"):
                continue
            assert name not in results, (path, q, name)
        assert "argon2" not in body and "$argon2" not in body
    assert (world.count(Household), world.count(VillagerRequest)) == before


def test_percent_finds_only_a_literal_percent(world: World) -> None:
    c = world.login("admin")
    body = c.get("/diaries?q=%25").get_data(as_text=True)
    assert "100% 入户" in body and "调解钱石头家" not in body


def test_login_brute_force_is_locked_even_for_unknown_names(make_lx: Any, clock: Any) -> None:
    lx = make_lx(**{"console.login_attempts": 3})
    w = build_world(lx, clock)
    c = Client(w.app.test_client())
    for _ in range(5):
        c.login("admin", "guess-123")
    assert c.login("admin", "admin-pass-1").status_code == 401  # the right password does not get in
    assert w.count(RateLimit, RateLimit.key == "console-login:admin") == 1
    # other accounts are not locked by attacks on this one
    assert w.login("xinqiao").get("/").status_code == 200
    # guessing user names is counted too (no way to tell existing names from missing ones by the answer)
    r1 = c.login("nobody-here", "x" * 10)
    r2 = c.login("leader", "x" * 10)
    assert r1.status_code == r2.status_code == 401
    assert "账号或密码不正确" in r1.get_data(as_text=True) and "账号或密码不正确" in r2.get_data(as_text=True)
    # the lock also holds for differently-cased or padded names
    assert c.login(" ADMIN ", "admin-pass-1").status_code == 401


def test_cookies_and_session_expiry(make_lx: Any, clock: Any) -> None:
    lx = make_lx(
        **{"console.secure_cookies": True, "console.secret_key": "s" * 40, "console.session_minutes": 20}
    )
    w = build_world(lx, clock)
    c = Client(w.app.test_client())
    r = c.login("admin", "admin-pass-1")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert c.get("/").status_code == 200
    clock.advance(minutes=21)
    r = c.get("/cadres")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_stolen_cookie_dies_with_the_account(world: World) -> None:
    """The office deactivates the account of a stolen phone: its session is refused at the next request."""
    from sqlalchemy import update

    from storage.models import ConsoleUser

    thief = world.login("xinqiao")
    assert thief.get("/").status_code == 200
    with world.lx.session() as s:
        s.execute(update(ConsoleUser).where(ConsoleUser.username == "xinqiao").values(active=False))
    assert thief.get("/households").status_code == 302
    assert thief.post(f"/requests/{world.ids['req_a']}/close").status_code in (302, 400, 403)
    assert world.one(select(VillagerRequest.status).where(VillagerRequest.number == 1)) == "open"


def test_no_full_phone_in_the_bots_logs(make_lx: Any, clock: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A whole conversation at DEBUG level: binding, card link, requests, replies, errors — no full phone logged."""
    clock.set("2026-11-24 20:00")
    chat = make_chat(make_lx, clock)
    phones = ["13900001111", "13812345678"]
    with chat.factory() as f:
        cadre = f.cadre(name="李明", phone=phones[0])
        f.household(cadre, head_name="张大爷", card="20261124", head_phone=phones[1])
    caplog.set_level(logging.DEBUG)
    chat.wc.text("o-li", "绑定 00000000")
    chat.wc.text("o-li", f"绑定 {chat.code(phones[0])}")
    chat.wc.text("o-zhang", "20261124")
    chat.wc.text("o-zhang", "水管坏了")
    chat.wc.text("o-li", "农户")
    chat.wc.text("o-li", "回复 1 明天来修")
    chat.wc.text("o-li", "日记 今天走访张大爷")
    chat.wc.text("o-zhang", "99999999")  # a wrong card
    chat.wc.post_raw(b"<xml>broken")
    logged = "\n".join(r.getMessage() + " " + str(r.args) for r in caplog.records)
    assert caplog.records, "the bot logged nothing at all (the check would be empty)"
    for p in phones:
        assert p not in logged, f"full phone {p} in the log:\n" + "\n".join(
            line for line in logged.splitlines() if p in line
        )


def test_village_user_never_sees_income_of_another_village(world: World) -> None:
    """Household income and details: the office, and a village user for their own village; no one else."""
    from decimal import Decimal

    with world.lx.session() as s:
        for key in ("hh_a", "hh_b"):
            h = s.get(Household, world.ids[key])
            h.annual_income, h.difficulties = Decimal("31415.92"), f"慢性病-{key}"
    admin, village, viewer = world.login("admin"), world.login("xinqiao"), world.login("leader")
    assert "31415.92" in admin.get(f"/households/{world.ids['hh_b']}").get_data(as_text=True)
    assert "31415.92" in village.get(f"/households/{world.ids['hh_a']}").get_data(as_text=True)
    assert village.get(f"/households/{world.ids['hh_b']}").status_code == 404
    page = viewer.get(f"/households/{world.ids['hh_a']}").get_data(as_text=True)
    assert "31415.92" not in page and "慢性病-hh_a" not in page
    for url in ("/households", "/households?q=31415", "/ledger", "/"):
        assert (
            "31415.92" not in village.get(url).get_data(as_text=True).replace("31415.92", "")
            or url == "/households?q=31415"
        )
    assert world.count(Household, Household.annual_income.is_not(None)) == 2
    assert func  # (imported for counts above)


def test_nul_in_any_console_input_is_400_not_500(world: World) -> None:
    """PostgreSQL text cannot hold NUL: a search box or form carrying one was a 500 there (DataError)."""
    c = world.login("admin")
    for path in ("/cadres", "/households", "/requests", "/diaries", "/ledger"):
        assert c.get(path + "?q=%00x").status_code == 400, path
        assert c.get(path + "?q=ok&q=%00").status_code == 400, path
    before = world.one(select(Household.head_name).where(Household.id == world.ids["hh_a"]))
    assert (
        c.post(f"/households/{world.ids['hh_a']}", {"head_name": "a\x00b", "population": "2"}).status_code
        == 400
    )
    assert c.post(f"/requests/{world.ids['req_a']}/reply", {"text": "a\x00b"}).status_code == 400
    assert world.one(select(Household.head_name).where(Household.id == world.ids["hh_a"])) == before
    anon = Client(world.app.test_client())
    anon.get("/login")
    r = anon.c.post("/login", data={"username": "admin\x00", "password": "x", "csrf_token": anon.token})
    assert r.status_code == 400
    assert c.get("/households?q=%E5%BC%A0").status_code == 200  # ordinary input still works


@pytest.mark.parametrize("big", ["2147483648", "9223372036854775808", "99999999999999999999"])
def test_an_id_no_database_can_hold_is_a_missing_page_not_a_500(world: World, big: str) -> None:
    admin, village = world.login("admin"), world.login("xinqiao")
    for path in (
        f"/requests/{big}",
        f"/households/{big}",
        f"/cadres/{big}",
        f"/tasks/{big}",
        f"/media/{big}",
    ):
        assert admin.get(path).status_code == 404, path
    assert village.post(f"/households/{big}", {}).status_code in (404, 405)
    assert (
        admin.get("/requests/2147483647").status_code == 404
    )  # the largest id an INTEGER column holds (32 bits on PostgreSQL) still reads as a number
