"""Logging in (issue 21 items 7, 8 and 15): wrong passwords lock the account tried and tell the office; an
address that keeps failing is slowed, never locking anyone else (also behind a proxy, whose X-Forwarded-For
is believed only when it is declared); after login only paths of this site; the answer takes the same work
whether or not the username exists."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

import pytest
from sqlalchemy import select, update

from console import login as login_module
from console.login import ADDRESS_FACTOR, client_address, safe_next
from storage.config import ConfigError, load_config, trusted_networks
from storage.models import ConsoleUser, OutboxMessage
from tests.support.console_world import (
    PASSWORDS,
    Client,
    World,
    build_world,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)

PROXY = "127.0.0.1"  # the test client's address: nginx on the same machine
ATTACKER, OFFICE = "203.0.113.9", "198.51.100.7"


def _login(w: World, username: str, password: str, *, via: str | None = None, nxt: str | None = None) -> Any:
    """A login POST from a fresh browser; ``via``: the client address nginx puts in X-Forwarded-For."""
    c = Client(w.app.test_client())
    c.get("/login")
    headers = {"X-Forwarded-For": via} if via else {}
    url = "/login" + (f"?next={quote(nxt, safe='')}" if nxt is not None else "")
    return c.c.post(
        url, data={"username": username, "password": password, "csrf_token": c.token}, headers=headers
    )


def _world(make_lx: Any, clock: Any, **cfg: Any) -> tuple[World, list[float]]:
    w = build_world(make_lx(**{"console.login_attempts": 3, **cfg}), clock)
    waits: list[float] = []
    w.app.config["LOGIN_SLEEP"] = waits.append  # the slowing is real time in production; recorded here
    return w, waits


def test_wrong_passwords_lock_the_account_tried_and_the_office_is_told(make_lx: Any, clock: Any) -> None:
    w, _ = _world(make_lx, clock, **{"scheduler.office_openids": ["o-office"]})
    for _ in range(3):
        assert _login(w, "admin", "wrong-password").status_code == 401
    r = _login(w, "admin", PASSWORDS["admin"])
    assert r.status_code == 401 and "锁定" in page_text(r)  # the right password does not get in while locked
    _login(w, "admin", "wrong-again")
    notices = w.one(select(OutboxMessage.payload).where(OutboxMessage.openid == "o-office"))
    assert "admin" in notices["text"] and "锁定 15 分钟" in notices["text"]
    assert w.count(OutboxMessage, OutboxMessage.openid == "o-office") == 1
    assert _login(w, "xinqiao", PASSWORDS["xinqiao"]).status_code == 302  # the same address: others get in
    clock.advance(minutes=16)
    for _ in range(3):  # locked again the same day: the office has been told already
        _login(w, "admin", "wrong-password")
    assert w.count(OutboxMessage, OutboxMessage.openid == "o-office") == 1
    clock.advance(minutes=16)
    assert _login(w, "admin", PASSWORDS["admin"]).status_code == 302
    for _ in range(3):  # names that are no account lock too, but nobody is told of them
        _login(w, "no-such-user", "x" * 10)
    assert w.count(OutboxMessage, OutboxMessage.openid == "o-office") == 1


def test_twenty_wrong_passwords_behind_nginx_lock_no_one_else(make_lx: Any, clock: Any) -> None:
    """Behind a declared proxy each client is counted under its own address: the attacker's is slowed, the
    office's is not, and every account the attacker did not guess stays open."""
    w, waits = _world(make_lx, clock, **{"console.trusted_proxies": [PROXY]})
    for i in range(20):
        _login(w, f"user{i % 7}", "wrong-password", via=ATTACKER)
    slowed = len(waits)
    assert slowed == 20 - 3 * ADDRESS_FACTOR  # the attacker's attempts past the threshold waited
    assert _login(w, "admin", PASSWORDS["admin"], via=OFFICE).status_code == 302
    assert len(waits) == slowed  # the office was not slowed
    assert _login(w, "leader", PASSWORDS["leader"], via=f"10.9.9.9, {ATTACKER}").status_code == 302
    assert len(waits) == slowed + 1 and waits[-1] == 4.5  # slowed more with every failure, never locked


def test_without_a_declared_proxy_everyone_behind_it_is_slowed_not_locked(make_lx: Any, clock: Any) -> None:
    w, waits = _world(make_lx, clock)
    for i in range(20):
        _login(w, f"user{i}", "wrong-password", via=f"192.0.2.{i}")  # a forged header changes nothing
    assert len(waits) == 20 - 3 * ADDRESS_FACTOR
    assert _login(w, "admin", PASSWORDS["admin"]).status_code == 302  # slowed, still let in
    assert _login(w, "xinqiao", PASSWORDS["xinqiao"], via=OFFICE).status_code == 302


def test_one_slowed_attempt_at_a_time_per_address(make_lx: Any, clock: Any) -> None:
    w, waits = _world(make_lx, clock)
    for i in range(3 * ADDRESS_FACTOR):
        _login(w, f"user{i}", "wrong-password")
    login_module._slowed_now.add(PROXY)  # another attempt from this address is waiting right now
    try:
        r = _login(w, "admin", PASSWORDS["admin"])
    finally:
        login_module._slowed_now.discard(PROXY)
    assert r.status_code == 429 and "稍候" in page_text(r) and waits == []
    assert _login(w, "admin", PASSWORDS["admin"]).status_code == 302


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "client"),
    [
        ("203.0.113.9", None, [], "203.0.113.9"),
        ("203.0.113.9", "1.2.3.4", [], "203.0.113.9"),  # no proxy declared: the header is anyone's
        ("203.0.113.9", "1.2.3.4", ["127.0.0.1"], "203.0.113.9"),  # not from the proxy
        ("127.0.0.1", "198.51.100.7", ["127.0.0.1"], "198.51.100.7"),
        ("127.0.0.1", "6.6.6.6, 198.51.100.7", ["127.0.0.1"], "198.51.100.7"),  # the client wrote 6.6.6.6
        ("10.0.0.5", "198.51.100.7, 10.0.0.9", ["10.0.0.0/8"], "198.51.100.7"),  # two proxies of ours
        ("127.0.0.1", "not-an-ip", ["127.0.0.1"], "127.0.0.1"),
        ("127.0.0.1", "198.51.100.7, garbage", ["127.0.0.1"], "127.0.0.1"),
        ("::1", "2001:db8::7", ["::1"], "2001:db8::7"),
        ("127.0.0.1", "", ["127.0.0.1"], "127.0.0.1"),
    ],
)
def test_the_client_address(remote: str, forwarded: str | None, trusted: list[str], client: str) -> None:
    cfg = load_config(overrides={"console.trusted_proxies": trusted}, env={})
    assert client_address(remote, forwarded, trusted_networks(cfg)) == client


def test_a_trusted_proxy_that_is_no_address_stops_start_up() -> None:
    with pytest.raises(ConfigError, match="trusted_proxies"):
        load_config(overrides={"console.trusted_proxies": ["nginx-box"]}, env={})


# --------------------------------------------------------------------------------------------------
# After login: only paths of this site (issue 21 item 8)

REFUSED = [
    "//evil.example/x",
    "/\t/evil.example",  # ?next=/%09/evil.example: browsers drop the tab → //evil.example
    "/\n/evil.example",
    "/\r\n//evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "/%2F/evil.example",  # ?next=/%252F/…: one more layer of encoding
    "/%2f%2fevil.example",
    "/%5Cevil.example",
    "/%09/evil.example",
    "/%252F%252Fevil.example",
    "https://evil.example/",
    "http:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    " /cadres",
    "/ /evil.example",
    "\x00/cadres",
    "",
]
ALLOWED = ["/", "/cadres", "/households?q=%E5%BC%A0", "/reports?kind=month&period=2026-11", "/requests/1"]


@pytest.mark.parametrize("nxt", REFUSED)
def test_after_login_no_other_site(world: World, nxt: str) -> None:
    assert safe_next(nxt) is None
    r = _login(world, "admin", PASSWORDS["admin"], nxt=nxt)
    if "\x00" in nxt:
        assert r.status_code == 400  # NUL is refused before anything (console/access.py guard)
        return
    assert r.status_code == 302 and r.headers["Location"] == "/"


@pytest.mark.parametrize("nxt", ALLOWED)
def test_after_login_the_page_asked_for(world: World, nxt: str) -> None:
    assert safe_next(nxt) == nxt
    r = _login(world, "admin", PASSWORDS["admin"], nxt=nxt)
    assert r.status_code == 302 and r.headers["Location"] == nxt


def test_the_login_page_remembers_where_a_stranger_was_going(world: World) -> None:
    c = Client(world.app.test_client())
    r = c.get("/households?q=%E5%BC%A0")
    assert r.status_code == 302
    nxt = r.headers["Location"].split("next=", 1)[1]
    assert safe_next(unquote(nxt)) == "/households?q=%E5%BC%A0"


# --------------------------------------------------------------------------------------------------
# The same work whether or not the username exists (issue 21 item 15)


def test_a_missing_or_disabled_account_verifies_a_dummy_hash(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    real = login_module.verify_password

    def spy(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(login_module, "verify_password", spy)
    _login(world, "no-such-user", "some-password")
    with world.lx.session() as s:
        s.execute(update(ConsoleUser).where(ConsoleUser.username == "leader").values(active=False))
    assert _login(world, "leader", PASSWORDS["leader"]).status_code == 401
    _login(world, "admin", "wrong-password")
    dummy = login_module.dummy_hash()
    assert checked[:2] == [dummy, dummy] and checked[2] != dummy and checked[2].startswith("$argon2")
    default = login_module.hash_password("x")  # the dummy costs what a real account's hash costs
    assert dummy.split("$")[3] == default.split("$")[3]
