"""Console access: login, lock-out, session timeout, cookies, CSRF, roles on every route, village scope, masking."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.app import create_app
from storage.models import AuditLog, Household, RateLimit, VillagerRequest
from tests.test_console_helpers import (
    Client,
    World,
    build_world,
    world_fixture,  # noqa: F401 - the `world` fixture
)

# (url template, admin, village, viewer) – expected status codes for GET
GET_MATRIX = [
    ("/", 200, 200, 200),
    ("/cadres", 200, 200, 200),
    ("/cadres?q=李", 200, 200, 200),
    ("/cadres/{cadre_a}", 200, 200, 200),
    ("/cadres/{cadre_b}", 200, 404, 200),
    ("/cadres/999999", 404, 404, 404),
    ("/households", 200, 200, 200),
    ("/households?q=张", 200, 200, 200),
    ("/households/{hh_a}", 200, 200, 200),
    ("/households/{hh_b}", 200, 404, 200),
    ("/tasks", 200, 200, 200),
    ("/tasks/{task}", 200, 200, 200),
    ("/tasks/{task}/cadres/{cadre_a}", 200, 200, 200),
    ("/tasks/{task}/cadres/{cadre_b}", 200, 404, 200),
    ("/tasks/999", 404, 404, 404),
    ("/requests", 200, 200, 200),
    ("/requests?status=open&sla=late", 200, 200, 200),
    ("/requests/{req_a}", 200, 200, 200),
    ("/requests/{req_b}", 200, 404, 200),
    ("/diaries", 200, 200, 200),
    ("/diaries?q=%25", 200, 200, 200),
    ("/diaries?cadre={cadre_a}&day=2026-11-24", 200, 200, 200),
    ("/policy", 200, 200, 200),
    ("/reports", 200, 200, 200),
    ("/reports?kind=quarter&period=2026Q4", 200, 200, 200),
    ("/reports?kind=year&period=2026", 200, 200, 200),
    ("/reports/download?kind=month&period=2026-11&format=json", 200, 403, 403),
    ("/reports/full?kind=month&period=2026-11", 200, 403, 200),
    ("/ledger", 200, 200, 200),
    ("/ledger?village=石门村&month=2026-11", 200, 404, 200),
    ("/ledger?month=11/2026", 400, 400, 400),
    ("/ledger/download?format=json", 200, 403, 403),
    ("/print", 200, 200, 403),
    ("/import", 200, 403, 403),
    ("/import/template.xlsx", 200, 403, 403),
    ("/delivery", 200, 403, 403),
    ("/simulator", 200, 403, 403),
    ("/simulator?openid=demo-cadre-01", 200, 403, 403),
    ("/audit", 200, 403, 403),
]

# Every POST route, with ids filled in; a viewer gets 403 on each, anyone without CSRF gets 400.
POST_ROUTES = [
    "/cadres/{cadre_a}/bind-code",
    "/households/{hh_a}",
    "/households/{hh_a}/link",
    "/tasks",
    "/tasks/{task}/cadres/{cadre_a}/return",
    "/tasks/{task}/cadres/{cadre_a}/extension",
    "/tasks/{task}/cancel",
    "/requests/{req_a}/reply",
    "/requests/{req_a}/reassign",
    "/requests/{req_a}/close",
    "/policy",
    "/policy/1/delete",
    "/import",
    "/import/confirm",
    "/print/cards",
    "/print/listing",
    "/delivery/1/retry",
    "/simulator/open",
    "/simulator/send",
    "/logout",
]


@pytest.mark.parametrize("role,col", [("admin", 1), ("xinqiao", 2), ("leader", 3)])
def test_every_get_route_for_every_role(world: World, role: str, col: int) -> None:
    c = world.login(role)
    for row in GET_MATRIX:
        url = row[0].format(**world.ids)
        r = c.get(url)
        assert r.status_code == row[col], f"{role} GET {url}: {r.status_code} != {row[col]}"


def test_every_get_route_needs_login(world: World) -> None:
    c = world.app.test_client()
    for row in GET_MATRIX:
        url = row[0].format(**world.ids)
        r = c.get(url)
        assert r.status_code == 302 and "/login" in r.headers["Location"], url


def test_viewer_cannot_post_anything(world: World) -> None:
    c = world.login("leader")
    before = world.count(AuditLog)
    for route in POST_ROUTES:
        if route == "/logout":
            continue
        url = route.format(**world.ids)
        r = c.post(url, {"text": "x", "title": "x", "reason": "x", "cadre_id": world.ids["cadre_a"]})
        assert r.status_code == 403, f"viewer POST {url}: {r.status_code}"
    assert world.count(AuditLog) == before


@pytest.mark.parametrize("role", ["admin", "xinqiao", "leader"])
def test_post_without_csrf_is_400_and_changes_nothing(world: World, role: str) -> None:
    c = world.login(role)
    for route in POST_ROUTES:
        url = route.format(**world.ids)
        r = c.post(url, {"text": "答复", "cadre_id": world.ids["cadre_a"]}, csrf=False)
        assert r.status_code == 400, f"{role} POST {url} without CSRF: {r.status_code}"
        r = c.post(url, {"text": "答复", "csrf_token": "forged"}, csrf=False)
        assert r.status_code == 400
    assert world.one(select(VillagerRequest.status).where(VillagerRequest.number == 1)) == "open"
    # still logged in: logout without CSRF did nothing
    assert c.get("/").status_code == 200


def test_village_user_cannot_touch_another_village(world: World) -> None:
    c = world.login("xinqiao")
    ids = world.ids
    for url, data in [
        (f"/households/{ids['hh_b']}", {"head_name": "改名", "population": "3"}),
        (f"/households/{ids['hh_b']}/link", {"cadre_id": ids["cadre_a"]}),
        (f"/requests/{ids['req_b']}/reply", {"text": "越权答复"}),
        (f"/requests/{ids['req_b']}/close", {}),
        (f"/requests/{ids['req_b']}/reassign", {"cadre_id": ids["cadre_a"]}),
        (f"/cadres/{ids['cadre_b']}/bind-code", {}),
        (f"/requests/{ids['req_a']}/reassign", {"cadre_id": ids["cadre_b"]}),  # to another village's cadre
        (f"/households/{ids['hh_a']}/link", {"cadre_id": ids["cadre_b"]}),
    ]:
        r = c.post(url, data)
        assert r.status_code == 404, f"village POST {url}: {r.status_code}"
    assert world.one(select(Household.head_name).where(Household.id == ids["hh_b"])) == "钱石头"
    assert world.count(VillagerRequest, VillagerRequest.status == "open") == 2
    # admin-only actions are 403 for a village user
    for url in ("/tasks", f"/tasks/{ids['task']}/cancel", "/policy", "/import", "/simulator/send"):
        assert c.post(url, {"title": "x"}).status_code == 403, url
    # printing another village is refused
    assert c.post("/print/cards", {"village": "石门村"}).status_code == 404


def test_login_failures_lock_the_account(make_lx: Any, clock: Any) -> None:
    lx = make_lx(**{"console.login_attempts": 3})
    w = build_world(lx, clock)
    c = Client(w.app.test_client())
    for _ in range(3):
        r = c.login("admin", "wrong")
        assert r.status_code == 401
    r = c.login("admin", "admin-pass-1")  # the right password, but locked now
    assert r.status_code == 401 and "锁定" in r.get_data(as_text=True)
    assert w.count(RateLimit, RateLimit.key == "console-login:admin") == 1
    assert len(w.audits("login.failed")) == 3 and w.audits("login.locked")
    clock.advance(minutes=16)
    assert c.login("admin", "admin-pass-1").status_code == 302
    assert w.count(RateLimit, RateLimit.key == "console-login:admin") == 0
    assert w.audits("login")[0].actor == "console:admin"


def test_guessing_across_usernames_locks_the_address(make_lx: Any, clock: Any) -> None:
    from console.access import IP_FACTOR

    w = build_world(make_lx(**{"console.login_attempts": 2}), clock)
    c = Client(w.app.test_client())
    for i in range(2 * IP_FACTOR):
        assert c.login(f"user{i}", "wrong-password").status_code == 401
    r = c.login("admin", "admin-pass-1")
    assert r.status_code == 401 and "锁定" in r.get_data(as_text=True)
    clock.advance(minutes=16)
    assert c.login("admin", "admin-pass-1").status_code == 302


def test_unknown_user_and_empty_password_are_refused(world: World) -> None:
    c = Client(world.app.test_client())
    assert c.login("nobody", "whatever-1").status_code == 401
    assert c.login("admin", "").status_code == 401
    assert c.get("/").status_code == 302


def test_session_times_out_when_idle(make_lx: Any, clock: Any) -> None:
    lx = make_lx(**{"console.session_minutes": 30})
    w = build_world(lx, clock)
    c = w.login("admin")
    clock.advance(minutes=29)
    assert c.get("/").status_code == 200  # activity renews the session
    clock.advance(minutes=29)
    assert c.get("/cadres").status_code == 200
    clock.advance(minutes=31)
    r = c.get("/cadres")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_cookie_flags(make_lx: Any, clock: Any) -> None:
    w = build_world(make_lx(), clock)
    r = Client(w.app.test_client()).login("admin", "admin-pass-1")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    lx2 = make_lx(**{"console.secure_cookies": True, "console.secret_key": "k" * 40})
    app2 = create_app(lx2)
    assert app2.secret_key == "k" * 40
    r = Client(app2.test_client()).login("admin", "admin-pass-1")
    assert "Secure" in r.headers["Set-Cookie"]


def test_generated_secret_key_when_none_configured(world: World) -> None:
    assert world.app.secret_key and len(world.app.secret_key) >= 32


def test_phones_masked_in_lists_full_on_own_page(world: World) -> None:
    admin = world.login("admin")
    full, masked = world.phones["cadre_a"], "139****0001"
    page = admin.get("/cadres").get_data(as_text=True)
    assert masked in page and full not in page
    assert full in admin.get(f"/cadres/{world.ids['cadre_a']}").get_data(as_text=True)
    hh = admin.get("/households").get_data(as_text=True)
    assert "138****2222" in hh and "13811112222" not in hh
    assert "13811112222" in admin.get(f"/households/{world.ids['hh_a']}").get_data(as_text=True)
    # a leader (viewer) reads, but personal details stay masked even on the record's page
    leader = world.login("leader")
    page = leader.get(f"/households/{world.ids['hh_a']}").get_data(as_text=True)
    assert "13811112222" not in page and "138****2222" in page and "新桥村一组 8 号" not in page
    # a village user sees their own village's details in full
    village = world.login("xinqiao")
    assert "13811112222" in village.get(f"/households/{world.ids['hh_a']}").get_data(as_text=True)


@pytest.mark.parametrize("role", ["admin", "xinqiao", "leader"])
def test_logout_ends_the_session(world: World, role: str) -> None:
    c = world.login(role)
    assert c.post("/logout").status_code == 302  # read-only accounts may still sign out
    assert c.get("/").status_code == 302


def test_deactivated_user_is_signed_out(world: World) -> None:
    from sqlalchemy import update

    from storage.models import ConsoleUser

    c = world.login("xinqiao")
    with world.lx.session() as s:
        s.execute(update(ConsoleUser).where(ConsoleUser.username == "xinqiao").values(active=False))
    assert c.get("/").status_code == 302


def test_open_redirect_is_refused(world: World) -> None:
    c = Client(world.app.test_client())
    c.get("/login")
    r = c.c.post("/login?next=//evil.example/x", data={"username": "admin", "password": "admin-pass-1",
                                                         "csrf_token": c.token})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_error_pages_are_chinese(world: World) -> None:
    c = world.login("xinqiao")
    r = c.get(f"/households/{world.ids['hh_b']}")
    assert r.status_code == 404 and "不在您的权限范围内" in r.get_data(as_text=True)
