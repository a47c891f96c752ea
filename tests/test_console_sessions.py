"""Console sessions live on the server (issue 21 item 6) and every worker shares one key (issue 22 item 1).

A copy of the cookie stops working at logout, when the account is disabled or its password changed, and after
the absolute lifetime however active the session was. Workers of one deployment read the key ``lianxin init``
kept in the database, so a cookie one made is good at the other; several workers without one are refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from bot import serve
from bot.app import create_app
from storage import console_sessions
from storage.accounts import AccountError
from storage.models import AppSecret, ConsoleSession
from storage.secrets import ensure_secret_key
from tests.support.cli import run_cli
from tests.support.console_world import (
    PASSWORDS,
    Client,
    World,
    build_world,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)

COOKIE = "lianxin_session"


def _copy(world: World, c: Any, app: Any = None) -> Any:
    """A second browser holding a copy of ``c``'s cookie (as someone who copied it would)."""
    other = (app or world.app).test_client()
    other.set_cookie(COOKIE, c.c.get_cookie(COOKIE).value)
    return other


def _shows_data(r: Any) -> bool:
    return r.status_code == 200 and "张大山" in page_text(r)


def test_the_old_cookie_after_logout_shows_no_data(world: World) -> None:
    c = world.login("admin")
    copy = _copy(world, c)
    assert _shows_data(copy.get("/households"))  # the copy works while the session lives
    assert c.post("/logout").status_code == 302
    r = copy.get("/households")
    assert r.status_code == 302 and "/login" in r.headers["Location"] and "张大山" not in page_text(r)
    assert copy.get(f"/households/{world.ids['hh_a']}").status_code == 302
    with world.lx.session() as s:
        row = s.scalar(select(ConsoleSession))
        assert row.ended_at is not None and row.end_reason == "logout"
    assert [a.action for a in world.audits("logout")] == ["logout"]


def test_the_cookie_keeps_no_secret_the_table_could_give_away(world: World) -> None:
    c = world.login("admin")
    sid_in_cookie = c.c.get_cookie(COOKIE).value
    with world.lx.session() as s:
        row = s.scalar(select(ConsoleSession))
    assert row.sid_hash not in sid_in_cookie  # the table keeps a hash of the id, never the id


def test_a_session_ends_after_its_absolute_lifetime_however_active(make_lx: Any, clock: Any) -> None:
    w = build_world(make_lx(**{"console.session_minutes": 30, "console.session_hours": 2}), clock)
    c = w.login("admin")
    for _ in range(4):  # active every 25 minutes: the idle limit never strikes
        clock.advance(minutes=25)
        assert _shows_data(c.get("/households"))
    clock.advance(minutes=25)  # 2 h 5 min after login
    r = c.get("/households")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert w.login("admin").get("/").status_code == 200  # logging in again starts a new one


def test_an_idle_session_ends_and_activity_does_not_revive_it(make_lx: Any, clock: Any) -> None:
    w = build_world(make_lx(**{"console.session_minutes": 30}), clock)
    c = w.login("admin")
    clock.advance(minutes=31)
    assert c.get("/").status_code == 302
    assert c.get("/").status_code == 302  # the cookie was forgotten, and the row stays dead anyway


def test_disabling_an_account_ends_its_sessions_at_once(world: World) -> None:
    c = world.login("xinqiao")
    copy = _copy(world, c)
    with world.lx.session() as s:
        console_sessions.disable_user(s, username="xinqiao", actor="cli", now=world.clock())
    assert c.get("/households").status_code == 302 and copy.get("/households").status_code == 302
    assert (
        Client(world.app.test_client()).login("xinqiao", PASSWORDS["xinqiao"]).status_code == 401
    )  # logins refused too
    with world.lx.session() as s:
        console_sessions.enable_user(s, username="xinqiao", actor="cli")
    assert copy.get("/households").status_code == 302  # enabling again does not revive the old session
    assert world.login("xinqiao").get("/").status_code == 200
    assert [a.detail for a in world.audits("user.disable")] == [{"sessions": 1}]


def test_a_password_change_ends_the_accounts_other_sessions(world: World) -> None:
    phone_one, phone_two = world.login("admin"), world.login("admin")
    keep = phone_one.c.get_cookie(COOKIE)
    sid = SecureCookieSessionInterface().get_signing_serializer(world.app).loads(keep.value)["sid"]
    with world.lx.session() as s:
        console_sessions.change_password(
            s,
            username="admin",
            password="a-new-pass-2",
            actor="console:admin",
            now=world.clock(),
            keep_sid=sid,
        )
    assert phone_one.get("/").status_code == 200  # the session that changed it goes on
    assert phone_two.get("/").status_code == 302  # every other one ends

    assert Client(world.app.test_client()).login("admin", "admin-pass-1").status_code == 401
    assert Client(world.app.test_client()).login("admin", "a-new-pass-2").status_code == 302
    with world.lx.session() as s:  # from the command line (no session of its own): all of them end
        console_sessions.change_password(
            s, username="admin", password="a-third-pass-3", actor="cli", now=world.clock()
        )
    assert phone_one.get("/").status_code == 302
    with world.lx.session() as s, pytest.raises(AccountError):
        console_sessions.change_password(
            s, username="admin", password="short", actor="cli", now=world.clock()
        )


# --------------------------------------------------------------------------------------------------
# One key for every worker (issue 22 item 1)


def test_init_keeps_one_key_that_every_worker_reads(make_lx: Any, clock: Any) -> None:
    lx = make_lx()
    assert run_cli(lx, "init").exit_code == 0
    with lx.session() as s:
        stored = s.scalar(select(AppSecret.value))
    assert stored and len(stored) >= 64
    assert run_cli(lx, "init").exit_code == 0  # init again keeps it
    with lx.session() as s:
        assert list(s.scalars(select(AppSecret.value))) == [stored]
    w = build_world(lx, clock)
    # two workers: each builds its own app (own Lianxin, own engine) from the same empty-keyed config
    worker_one, worker_two = create_app(make_lx()), create_app(make_lx())
    assert worker_one.secret_key == worker_two.secret_key == stored
    c = World(lx, clock, worker_one).login("admin")
    assert _shows_data(_copy(w, c, app=worker_two).get("/households"))  # logged in at the other worker too


def test_a_configured_key_wins_over_the_stored_one(make_lx: Any, clock: Any) -> None:
    lx = make_lx()
    with lx.session() as s:
        ensure_secret_key(s, now=clock())
    assert create_app(make_lx(**{"console.secret_key": "k" * 40})).secret_key == "k" * 40


def test_several_workers_without_a_shared_key_are_refused(make_lx: Any) -> None:
    lx = make_lx()
    result = run_cli(lx, "serve", "--workers", "2")
    assert result.exit_code != 0 and "lianxin init" in result.output
    serve.check_workers(lx, 1)  # one worker may draw its own
    with lx.session() as s:
        ensure_secret_key(s, now=lx.now())
    serve.check_workers(lx, 2)  # with the key `lianxin init` keeps, several may start
    serve.check_workers(make_lx(**{"console.secret_key": "k" * 40}), 4)
