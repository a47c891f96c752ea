"""Console access: login, lock-out, session timeout, cookies, CSRF, roles on every route (a table over every
route × role with the other village's ids), village scope, masking."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import inspect, select, text

from bot.app import create_app
from storage.models import (
    Attachment,
    AuditLog,
    CadreLeave,
    ConsoleUser,
    Household,
    OutboxMessage,
    PublishedReport,
    RateLimit,
    RequestReply,
    Township,
    VillagerRequest,
)
from storage.targets import Target
from tests.support.console_world import (
    Client,
    World,
    add_second_township,
    build_world,
    world_fixture,  # noqa: F401 - the `world` fixture
)


@pytest.fixture
def lx(make_lx: Any) -> Any:
    """The tables below cover the chat simulator's pages too: it is on here (off by default: see
    tests/test_console_simulator.py)."""
    return make_lx(**{"console.simulator": True})


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
    "/cadres/{cadre_a}/handover",
    "/cadres/{cadre_a}/retire",
    "/cadres/{cadre_a}/phone",
    "/cadres/{cadre_a}/edit",
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
    "/reports/remarks",
    "/delivery/1/retry",
    "/delivery/resume",
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
        (f"/requests/{ids['req_a']}/reassign", {"cadre_id": ids["cadre_b"]}),  # to another village's cadre
        (f"/households/{ids['hh_a']}/link", {"cadre_id": ids["cadre_b"]}),
    ]:
        r = c.post(url, data)
        assert r.status_code == 404, f"village POST {url}: {r.status_code}"
    assert world.one(select(Household.head_name).where(Household.id == ids["hh_b"])) == "钱石头"
    assert world.count(VillagerRequest, VillagerRequest.status == "open") == 2
    # admin-only actions are 403 for a village user
    for url in (
        "/tasks",
        f"/tasks/{ids['task']}/cancel",
        "/policy",
        "/import",
        "/simulator/send",
        f"/cadres/{ids['cadre_b']}/bind-code",
    ):
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


def test_guessing_across_usernames_slows_the_address_but_locks_no_one_else(make_lx: Any, clock: Any) -> None:
    from console.login import ADDRESS_FACTOR

    w = build_world(make_lx(**{"console.login_attempts": 2}), clock)
    waits: list[float] = []
    w.app.config["LOGIN_SLEEP"] = waits.append
    c = Client(w.app.test_client())
    for i in range(2 * ADDRESS_FACTOR):
        assert c.login(f"user{i}", "wrong-password").status_code == 401
    assert waits == []
    r = c.login("admin", "admin-pass-1")  # the same address, at once: slowed, not locked out
    assert r.status_code == 302 and waits == [0.5]
    assert c.login("nobody", "wrong-password").status_code == 401
    assert c.login("leader", "viewer-pass-1").status_code == 302 and waits[-1] == 1.0


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
    r = c.c.post(
        "/login?next=//evil.example/x",
        data={"username": "admin", "password": "admin-pass-1", "csrf_token": c.token},
    )
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_error_pages_are_chinese(world: World) -> None:
    c = world.login("xinqiao")
    r = c.get(f"/households/{world.ids['hh_b']}")
    assert r.status_code == 404 and "不在您的权限范围内" in r.get_data(as_text=True)


# ------------------------------------------------------------------------------------------
# Access control, table-driven over EVERY console route × every role, with the other village's ids.
#
# The world (tests/support/console_world.build_world) has two villages: 新桥村 (A: the village account
# ``xinqiao``'s) and 石门村 (B). For each route the table says what an admin, a village user (given B's ids) and a
# viewer get. Besides the status: a village user's pages never show B's people (names, phones, texts), and no
# refused request changes any row. A test checks that the table covers every route the app has, so a new route
# without an entry fails here.
# (The route table's world is ``route_world``: the console world plus a B attachment, a failed push
# and a policy id — and a second township, 青山镇, for the county's roles below the table.)


B_SECRETS = ("钱石头", "王芳", "13833334444", "13900000002", "低保怎么申请", "调解钱石头家邻里纠纷")


# endpoint -> list of (method, url, form, admin, village(B ids), viewer); None = not checked for that role
# (an admin's writes are allowed and change data: the console's own tests check them).
ROUTES: dict[str, list[tuple[str, str, dict[str, Any], int | None, int | None, int | None]]] = {
    "console.dashboard.dashboard": [("GET", "/", {}, 200, 200, 200)],
    "console.audit.audit_log": [("GET", "/audit", {}, 200, 403, 403)],
    "console.cadres.cadres": [
        ("GET", "/cadres?village={village_b}", {}, 200, 200, 200),
        ("GET", "/cadres?q=王", {}, 200, 200, 200),
    ],
    "console.cadres.cadre": [("GET", "/cadres/{cadre_b}", {}, 200, 404, 200)],
    # binding codes are the office's: a village account is refused even for its own cadres (issue 21 item 1)
    "console.cadres.cadre_bind_code": [("POST", "/cadres/{cadre_b}/bind-code", {}, None, 403, 403)],
    # a cadre's changes (交接, 退出, 改电话, 更正) are the office admin's alone (issue 24)
    "console.cadre_changes.cadre_handover": [
        ("POST", "/cadres/{cadre_b}/handover", {"household": "{hh_b}", "to": "{cadre_a}"}, None, 403, 403)
    ],
    "console.cadre_changes.cadre_retire": [("POST", "/cadres/{cadre_b}/retire", {}, None, 403, 403)],
    "console.cadre_changes.cadre_phone": [
        ("POST", "/cadres/{cadre_b}/phone", {"phone": "13900008888"}, None, 403, 403)
    ],
    "console.cadre_changes.cadre_edit": [
        ("POST", "/cadres/{cadre_b}/edit", {"name": "改名"}, None, 403, 403)
    ],
    "console.delivery.delivery": [("GET", "/delivery", {}, 200, 403, 403)],
    "console.delivery.delivery_retry": [("POST", "/delivery/{outbox}/retry", {}, None, 403, 403)],
    "console.delivery.delivery_resume": [("POST", "/delivery/resume", {}, None, 403, 403)],
    # The link in a template message: no login by design (tests/test_push_links.py); a made-up token opens nothing.
    "push_links.show": [("GET", "/m/not-a-real-token", {}, 404, 404, 404)],
    # a request's photo or voice behind that link (tests/test_push_media.py): the same token opens it, nothing else
    "push_media.media": [("GET", "/m/not-a-real-token/media/1", {}, 404, 404, 404)],
    "console.diaries.diaries": [
        ("GET", "/diaries?cadre={cadre_b}", {}, 200, 200, 200),
        ("GET", "/diaries?q=调解", {}, 200, 200, 200),
    ],
    "console.households.households": [
        ("GET", "/households?village={village_b}", {}, 200, 200, 200),
        ("GET", "/households?q=钱", {}, 200, 200, 200),
    ],
    "console.households.household": [("GET", "/households/{hh_b}", {}, 200, 404, 200)],
    "console.households.household_save": [
        ("POST", "/households/{hh_b}", {"head_name": "改名", "population": "2"}, None, 404, 403)
    ],
    "console.households.household_link": [
        ("POST", "/households/{hh_b}/link", {"cadre_id": "{cadre_a}"}, None, 404, 403),
        ("POST", "/households/{hh_a}/link", {"cadre_id": "{cadre_b}"}, None, 404, 403),
    ],
    # the register without re-importing: the office's (tests/test_household_register.py)
    "console.household_register.household_new": [("GET", "/households/new", {}, 200, 403, 403)],
    "console.household_register.household_add": [
        (
            "POST",
            "/households/new",
            {"village_id": "{village_b}", "head": "新户", "size": "2"},
            None,
            403,
            403,
        )
    ],
    "console.household_register.household_tags_save": [
        ("POST", "/households/{hh_b}/tags", {"tags": "低保户"}, None, 403, 403)
    ],
    "console.household_register.household_close": [
        ("POST", "/households/{hh_b}/close", {"reason": "迁出"}, None, 403, 403)
    ],
    "console.household_accounts.household_unlink": [
        ("POST", "/households/{hh_b}/unlink", {"identity_id": "1"}, None, 404, 403)
    ],
    "console.importing.import_form": [("GET", "/import", {}, 200, 403, 403)],
    # 账号: the office's (a township's admin: its own township's accounts; another's id is 404, TOWNSHIP_404)
    "console.accounts.accounts": [("GET", "/accounts", {}, 200, 403, 403)],
    "console.accounts.account_add": [("POST", "/accounts", {"username": "newone"}, None, 403, 403)],
    "console.accounts.account_disable": [("POST", "/accounts/{user_b}/disable", {}, None, 403, 403)],
    "console.accounts.account_enable": [("POST", "/accounts/{user_b}/enable", {}, None, 403, 403)],
    "console.accounts.account_password": [
        ("POST", "/accounts/{user_b}/password", {"password": "stolen-pass-1"}, None, 403, 403)
    ],
    "console.accounts.account_role": [("POST", "/accounts/{user_b}/role", {"role": "admin"}, None, 403, 403)],
    # 修改密码: everyone's own (its POST, open to read-only accounts too: tests/test_console_accounts.py)
    "console.accounts.own_password": [("GET", "/password", {}, 200, 200, 200)],
    "console.importing.import_preview": [("POST", "/import", {}, None, 403, 403)],
    "console.importing.import_confirm": [("POST", "/import/confirm", {}, None, 403, 403)],
    "console.importing.import_template": [("GET", "/import/template.xlsx", {}, 200, 403, 403)],
    # the lists as submitted (tests/test_import_archive.py): none archived in this world, so 404 for the office
    "console.importing.import_archive_list": [("GET", "/import/archive", {}, 200, 403, 403)],
    "console.importing.import_archive_file": [("GET", "/import/archive/1", {}, 404, 403, 403)],
    # The county report: the county's accounts only (the admin and viewer of the world hold no township: county)
    "console.county.county": [("GET", "/county?kind=month&period=2026-11", {}, 200, 403, 200)],
    "console.county.county_download": [
        ("GET", "/county/download?kind=month&period=2026-11&format=json", {}, 200, 403, 403)
    ],
    "console.circulars.circulars_page": [("GET", "/circulars", {}, 200, 200, 200)],
    "console.diary_book.diary_book_export": [
        ("GET", "/diaries/book?cadre={cadre_b}&month=2026-11", {}, 200, 404, 403),
        ("GET", "/diaries/book?village={village_b}&month=2026-11", {}, 200, 404, 403),
    ],
    "console.remarks.report_remark": [
        (
            "POST",
            "/reports/remarks",
            {"kind": "quarter", "period": "2026Q4", "subject": "cadre:{cadre_b}", "text": "点评"},
            None,
            403,
            403,
        )
    ],
    "console.remarks.report_commendations": [
        ("GET", "/reports/commendations.xlsx?year=2026", {}, 200, 403, 403)
    ],
    # a township's own circulars (the township named by id; 青山镇's for a 龙伏镇 account: 404), and the county's
    "console.circulars.circular_publish": [
        (
            "POST",
            "/circulars/publish",
            {"kind": "month", "period": "2026-10", "township": "{township_a}"},
            None,
            403,
            403,
        )
    ],
    "console.circulars.circular_file": [
        ("GET", "/circulars/month/2026-10.json?township={township_a}", {}, 404, 403, 403),
        ("GET", "/circulars/month/2026-11.json?township={township_a}", {}, 200, 403, 403),
        # every account that sees reports opens the published circular (HTML, phones masked)
        ("GET", "/circulars/month/2026-11.html?township={township_a}", {}, 200, 200, 200),
    ],
    "console.leave.leave_page": [("GET", "/leave?month=2026-11", {}, 200, 200, 200)],
    "console.leave.leave_add": [
        (
            "POST",
            "/leave",
            {"cadre_id": "{cadre_b}", "start": "2026-11-25", "end": "2026-11-25"},
            None,
            404,
            403,
        )
    ],
    "console.leave.leave_decide": [("POST", "/leave/{leave_b}/approve", {}, None, 404, 403)],
    "console.offline.offline_page": [
        ("GET", "/offline", {}, 200, 200, 403),
        ("GET", "/offline?q=钱", {}, 200, 200, 403),  # found only within the user's scope
        ("GET", "/offline?household={hh_b}", {}, 200, 404, 403),
    ],
    "console.offline.household_choices": [
        ("GET", "/offline/households?q=钱", {}, 200, 200, 403),  # found only within the user's scope
    ],
    "console.offline.offline_diary": [
        (
            "POST",
            "/offline/diary",
            {"cadre_id": "{cadre_b}", "day": "2026-11-23", "text": "x"},
            None,
            404,
            403,
        )
    ],
    "console.offline.offline_request": [
        (
            "POST",
            "/offline/request",
            {"household_id": "{hh_b}", "channel": "phone", "text": "x"},
            None,
            404,
            403,
        )
    ],
    "console.ledger.ledger": [
        ("GET", "/ledger?village=石门村", {}, 200, 404, 200),
        ("GET", "/ledger", {}, 200, 200, 200),
    ],
    "console.ledger.ledger_download": [("GET", "/ledger/download?format=json", {}, 200, 403, 403)],
    "console.diaries.media": [("GET", "/media/{attachment_b}", {}, None, 404, None)],
    "console.diaries.media_audio": [("GET", "/media/{attachment_b}/audio", {}, None, 404, None)],
    "console.policy.policy": [("GET", "/policy", {}, 200, 200, 200)],
    "console.policy.policy_save": [
        ("POST", "/policy", {"topic": "环境卫生", "title": "x", "body": "y"}, None, 403, 403)
    ],
    "console.policy.policy_delete": [("POST", "/policy/{policy}/delete", {}, None, 403, 403)],
    "console.printing.print_index": [("GET", "/print", {}, 200, 200, 403)],
    "console.printing.print_cards": [("POST", "/print/cards", {"village": "石门村"}, None, 404, 403)],
    "console.printing.print_listing": [("POST", "/print/listing", {"village": "石门村"}, None, 404, 403)],
    "console.printing.print_commitments": [
        ("POST", "/print/commitments", {"village": "石门村"}, None, 404, 403)
    ],
    "console.printing.print_order": [("GET", "/print/orders/not-a-token", {}, 404, 404, 403)],
    "console.reports.reports": [("GET", "/reports", {}, 200, 200, 200)],
    "console.reports.report_download": [
        ("GET", "/reports/download?kind=month&period=2026-11&format=json", {}, 200, 403, 403)
    ],
    "console.reports.report_full": [("GET", "/reports/full?kind=month&period=2026-11", {}, 200, 403, 200)],
    "console.villager_requests.requests_inbox": [
        ("GET", "/requests?village={village_b}", {}, 200, 200, 200),
        ("GET", "/requests?q=低保", {}, 200, 200, 200),
    ],
    "console.villager_requests.request_detail": [("GET", "/requests/{req_b}", {}, 200, 404, 200)],
    "console.villager_requests.request_close": [("POST", "/requests/{req_b}/close", {}, None, 404, 403)],
    "console.villager_requests.request_reassign": [
        ("POST", "/requests/{req_b}/reassign", {"cadre_id": "{cadre_a}"}, None, 404, 403),
        ("POST", "/requests/{req_a}/reassign", {"cadre_id": "{cadre_b}"}, None, 404, 403),
    ],
    "console.villager_requests.request_reply": [
        ("POST", "/requests/{req_b}/reply", {"text": "越权答复"}, None, 404, 403)
    ],
    # 矛盾调解 (console/views/disputes.py): the list is scoped like the requests; its forms act on a request in scope
    "console.disputes.disputes_list": [
        ("GET", "/disputes", {}, 200, 200, 200),
        ("GET", "/disputes?village={village_b}&outcome=open", {}, 200, 200, 200),
    ],
    "console.disputes.dispute_mark": [("POST", "/requests/{req_b}/dispute", {}, None, 404, 403)],
    "console.disputes.dispute_unmark": [("POST", "/requests/{req_b}/dispute/unmark", {}, None, 404, 403)],
    "console.disputes.dispute_party_add": [
        ("POST", "/requests/{req_b}/dispute/parties", {"household_id": "{hh_b}"}, None, 404, 403)
    ],
    "console.disputes.dispute_party_remove": [
        ("POST", "/requests/{req_b}/dispute/parties/{hh_b}/remove", {}, None, 404, 403)
    ],
    "console.disputes.dispute_step": [
        ("POST", "/requests/{req_b}/dispute/steps", {"text": "越权调解"}, None, 404, 403)
    ],
    "console.disputes.dispute_outcome": [
        ("POST", "/requests/{req_b}/dispute/outcome", {"outcome": "resolved"}, None, 404, 403)
    ],
    # 民情热点: counts only, every role; a village account sees its own village's (another's: 404)
    "console.insights.insights_page": [
        ("GET", "/insights?period=2026-11", {}, 200, 200, 200),
        ("GET", "/insights?period=2026-11&village={village_b}", {}, 200, 404, 200),
    ],
    # 动员会, 单位办点, 好经验好做法 (console/views/station.py): another village's register is a 404
    "console.station.station_page": [
        ("GET", "/station", {}, 200, 200, 200),
        ("GET", "/station?village={village_b}", {}, 200, 404, 200),
    ],
    "console.station.meeting_add": [
        (
            "POST",
            "/station/{village_b}/meetings",
            {"day": "2026-11-28", "title": "越权动员会"},
            None,
            404,
            403,
        )
    ],
    "console.station.meeting_notify": [("POST", "/station/meetings/999999/notify", {}, None, 404, 403)],
    "console.station.station_unit": [
        ("POST", "/station/{village_b}/unit", {"unit": "越权单位"}, None, 403, 403)
    ],
    "console.station.practices_page": [("GET", "/practices", {}, 200, 200, 200)],
    "console.station.practice_add": [
        ("POST", "/practices", {"title": "越权", "text": "越权", "day": "2026-11-24"}, None, 403, 403)
    ],
    "console.simulator.simulator": [("GET", "/simulator", {}, 200, 403, 403)],
    "console.simulator.simulator_open": [
        ("POST", "/simulator/open", {"openid": "demo-villager-002"}, None, 403, 403)
    ],
    "console.simulator.simulator_send": [
        ("POST", "/simulator/send", {"openid": "demo-villager-002", "text": "x"}, None, 403, 403)
    ],
    "console.tasks.tasks": [("GET", "/tasks", {}, 200, 200, 200)],
    "console.tasks.task_create": [
        (
            "POST",
            "/tasks",
            {"title": "越权", "body": "x", "deadline": "2026-12-01 18:00", "scope": "all"},
            None,
            403,
            403,
        )
    ],
    "console.tasks.task": [("GET", "/tasks/{task}", {}, 200, 200, 200)],
    "console.tasks.task_timeline": [("GET", "/tasks/{task}/cadres/{cadre_b}", {}, 200, 404, 200)],
    "console.tasks.task_extension": [
        ("POST", "/tasks/{task}/cadres/{cadre_b}/extension", {"grant": "1"}, None, 403, 403)
    ],
    "console.tasks.task_return": [
        ("POST", "/tasks/{task}/cadres/{cadre_b}/return", {"reason": "x"}, None, 403, 403)
    ],
    "console.tasks.task_cancel": [("POST", "/tasks/{task}/cancel", {}, None, 403, 403)],
    # 转办 (tests/test_transfers_console.py has the department's own account)
    "console.transfers.transfers_board": [("GET", "/transfers", {}, 200, 403, 200)],
    "console.transfers.department_save": [
        ("POST", "/transfers/departments", {"name": "越权办"}, None, 403, 403)
    ],
    "console.transfers.request_transfer": [
        ("POST", "/requests/{req_b}/transfer", {"department_id": "1"}, None, 403, 403)
    ],
    "console.transfers.extension_answer": [
        ("POST", "/transfers/{req_b}/extension", {"grant": "1"}, None, 403, 403)
    ],
    "console.station_desk.desk": [("GET", "/desk", {}, 403, 403, 403)],
    "console.station_desk.desk_step": [
        ("POST", "/desk/{req_b}/answer", {"text": "越权"}, None, 403, 403),
        ("POST", "/desk/{req_b}/close", {}, None, 403, 403),
    ],
}


# Public or session-only endpoints, checked elsewhere (login/logout in test_console_access and test_hostile_console).
NOT_IN_TABLE = {
    "console.login.login",
    "console.login.logout",
    "console.static",
    "healthz",
    "wechat_endpoint",
    "console.accounts.own_password_save",  # one's own password, every role: tests/test_console_accounts.py
}


ROLES = {"admin": 3, "xinqiao": 4, "leader": 5}

# A county: the console world's township (龙伏镇: 新桥村 and 石门村) and 青山镇 (白云村, its cadre 孙海, household
# 周山, request 3, a diary, a leave, a photo, its own card). Township accounts of 龙伏镇 — ``longfu`` (admin) and
# ``longfu-leader`` (viewer) — are given 青山镇's ids and names in the same URLs (T2_IDS, T2_NAMES) and must see,
# export and change nothing of it; the county's ``county`` (county-admin) and ``county-leader`` (county-viewer) get
# what the admin and the viewer get. A township account's expected status is worked out from the table:
T2_SECRETS = ("孙海", "周山", "13900000009", "13855556666", "青山镇的诉求：修桥", "青山镇日记：走访周山")
T2_NAMES = {"石门村": "白云村", "20000001": "30000001"}
DEPLOYMENT_ONLY = {
    "console.audit.audit_log",
    "console.delivery.delivery",
    "console.delivery.delivery_retry",
    "console.delivery.delivery_resume",
    "console.simulator.simulator",
    "console.simulator.simulator_open",
    "console.simulator.simulator_send",
    "console.policy.policy_save",
    "console.policy.policy_delete",
}
# 青山镇's own card (by number) is another township's record: 404 where the village column says 403 (an admin action)
TOWNSHIP_403 = {
    "console.county.county",
    "console.county.county_download",
}  # the county's page, not a township's
TOWNSHIP_404 = {
    "console.tasks.task",
    "console.tasks.task_extension",
    "console.tasks.task_return",
    "console.tasks.task_cancel",
    "console.remarks.report_remark",
    "console.circulars.circular_publish",
    "console.circulars.circular_file",
    "console.accounts.account_disable",
    "console.accounts.account_enable",
    "console.household_register.household_add",
    "console.household_register.household_close",
    "console.household_register.household_tags_save",
    "console.accounts.account_password",
    "console.accounts.account_role",
}
COUNTY_ROLES = {"county": 3, "county-leader": 5}


def township_expected(endpoint: str, row: tuple[Any, ...], viewer: bool) -> int | None:
    """What a 龙伏镇 account gets for a table row filled with 青山镇's ids (None: not checked)."""
    method, _url, _form, admin, village, viewer_col = row
    if viewer and (method == "POST" or viewer_col == 403):
        return 403  # read-only (or an export viewers never get): refused before anything is looked up
    if endpoint in DEPLOYMENT_ONLY or endpoint in TOWNSHIP_403:
        return 403  # the WeChat account, the shared handbook and the audit log are the county's
    if endpoint in TOWNSHIP_404 or village == 404:
        return 404
    if viewer:
        return viewer_col
    return admin


@pytest.fixture
def route_world(lx: Any, clock: Any) -> World:
    w = build_world(lx, clock)
    add_second_township(w)
    with lx.session() as s:
        att = Attachment(
            owner_type="request",
            owner_id=s.scalar(text("SELECT id FROM villager_request WHERE number = 2")),
            media_type="image",
            media_id="m-b",
            created_at=clock(),
        )
        s.add(att)
        msg = OutboxMessage(
            idempotency_key="k-b",
            openid="demo-cadre-02",
            kind="notice",
            payload={"text": "x"},
            status="failed",
            attempts=8,
        )
        s.add(msg)
        leave_b = CadreLeave(
            cadre_id=w.ids["cadre_b"],
            start_date=date(2026, 11, 30),
            end_date=date(2026, 11, 30),
            reason="看病",
            status="requested",
        )
        s.add(leave_b)
        for tid, fmt, content in (
            (w.ids["township_a"], "json", b'{"cadres": []}'),
            (w.ids["township_t2"], "json", '{"cadres": [{"name": "孙海"}]}'.encode()),
            (w.ids["township_a"], "html", "<p>李明 13900000001 第 1 名</p>".encode()),
            (w.ids["township_t2"], "html", "<p>孙海</p>".encode()),
        ):
            s.add(
                PublishedReport(
                    kind="month",
                    period="2026-11",
                    format=fmt,
                    content=content,
                    township_id=tid,
                    published_at=clock(),
                    published_by="cli",
                )
            )
        s.flush()
        w.ids.update(
            attachment_b=att.id,
            outbox=msg.id,
            leave_b=leave_b.id,
            policy=s.scalar(text("SELECT id FROM policy_entry LIMIT 1")),
            # an account of the world's township (the viewer) and one outside 龙伏镇 (the county's viewer)
            user_b=s.scalar(text("SELECT id FROM console_user WHERE username = 'leader'")),
            user_t2=s.scalar(text("SELECT id FROM console_user WHERE username = 'county-leader'")),
        )
    return w


def t2_ids(ids: dict[str, Any]) -> dict[str, Any]:
    """The table's ids with 青山镇's in place of village B's (and of the card, for the card routes)."""
    return {
        **ids,
        "cadre_b": ids["cadre_t2"],
        "hh_b": ids["hh_t2"],
        "req_b": ids["req_t2"],
        "village_b": ids["village_t2"],
        "leave_b": ids["leave_t2"],
        "attachment_b": ids["attachment_t2"],
        "task": ids["task_t2"],
        "township_a": ids["township_t2"],
        "user_b": ids["user_t2"],
    }


def t2_fill(template: str, ids: dict[str, Any]) -> str:
    out = fill(template, ids)
    for mine, theirs in T2_NAMES.items():
        out = out.replace(mine, theirs)
    return out


def dump(lx: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the audit log and rate limits (what a refused request must not change)."""
    out = {}
    with lx.engine.connect() as conn:
        for t in inspect(lx.engine).get_table_names():
            if t in ("audit_log", "rate_limit", "alembic_version"):
                continue
            out[t] = sorted(tuple(map(str, r)) for r in conn.execute(text(f'SELECT * FROM "{t}"')))
    return out


def fill(template: str, ids: dict[str, Any]) -> str:
    return template.format(**ids)


def not_in_table(app: Any) -> set[str]:
    """The app's endpoints that have no row in ROUTES (and are not declared NOT_IN_TABLE)."""
    return {r.endpoint for r in app.url_map.iter_rules()} - set(ROUTES) - NOT_IN_TABLE


def test_table_covers_every_route(route_world: World) -> None:
    endpoints = {r.endpoint for r in route_world.app.url_map.iter_rules()}
    missing = not_in_table(route_world.app)
    assert not missing, f"routes without an access-table entry: {sorted(missing)}"
    assert not (set(ROUTES) - endpoints), (
        f"table entries for routes that no longer exist: {set(ROUTES) - endpoints}"
    )


def test_a_new_route_without_a_table_row_is_caught(lx: Any) -> None:
    """Whatever area a new page is added to, the check above names it until the table has its row."""
    app = create_app(lx)
    assert not_in_table(app) == set()
    app.add_url_rule("/new-page", endpoint="console.cadres.new_page", view_func=lambda: "")
    assert not_in_table(app) == {"console.cadres.new_page"}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_route_for_every_role(route_world: World, role: str) -> None:
    c = route_world.login(role)
    before = dump(route_world.lx)
    audits_before = route_world.count(AuditLog)
    col = ROLES[role]
    checked = 0
    for rows in ROUTES.values():
        for row in rows:
            method, url, form, expected = row[0], fill(row[1], route_world.ids), row[2], row[col]
            if expected is None or (role == "admin" and method == "POST"):
                continue
            data = {k: fill(v, route_world.ids) for k, v in form.items()}
            r = c.get(url) if method == "GET" else c.post(url, data)
            checked += 1
            assert r.status_code == expected, f"{role} {method} {url}: {r.status_code} != {expected}"
            if role == "xinqiao" and r.status_code == 200:
                body = r.get_data(as_text=True)
                leaked = [x for x in B_SECRETS if x in body]
                assert not leaked, f"village user sees village B's {leaked} at {url}"
            if role == "leader" and r.status_code == 200:
                body = r.get_data(as_text=True)
                assert "13833334444" not in body and "13811112222" not in body, (
                    f"viewer sees a full phone at {url}"
                )
    assert checked >= 20
    assert dump(route_world.lx) == before, f"{role}: a refused or read-only request changed data"
    if role != "admin":
        with route_world.lx.session() as s:
            added = list(s.scalars(select(AuditLog.action).where(AuditLog.id > audits_before)))
        assert not [a for a in added if not a.startswith("login")], (
            f"{role}: refused requests were audited as done: {added}"
        )


@pytest.mark.parametrize("role", ["longfu", "longfu-leader"])
def test_every_route_for_a_township_account_with_another_townships_ids(route_world: World, role: str) -> None:
    """A township's office sees, exports and changes nothing of another township, on every route."""
    c = route_world.login(role)
    ids = t2_ids(route_world.ids)
    before = dump(route_world.lx)
    audits_before = route_world.count(AuditLog)
    checked = 0
    for endpoint, rows in ROUTES.items():
        for row in rows:
            expected = township_expected(endpoint, row, viewer=role == "longfu-leader")
            if expected is None:
                continue
            method, url = row[0], t2_fill(row[1], ids)
            data = {k: t2_fill(v, ids) for k, v in row[2].items()}
            r = c.get(url) if method == "GET" else c.post(url, data)
            checked += 1
            assert r.status_code == expected, f"{role} {method} {url}: {r.status_code} != {expected}"
            if r.status_code == 200:
                body = (
                    r.get_data(as_text=True)
                    if r.mimetype != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                    else ""
                )
                leaked = [x for x in T2_SECRETS if x in body]
                assert not leaked, f"{role} sees 青山镇's {leaked} at {url}"
    assert checked >= 40
    assert dump(route_world.lx) == before, f"{role}: a refused or read-only request changed data"
    with route_world.lx.session() as s:
        added = set(s.scalars(select(AuditLog.action).where(AuditLog.id > audits_before)))
    assert added <= {"login", "report.export", "ledger.export"}, added
    with route_world.lx.session() as s:
        targets = set(
            s.scalars(
                select(AuditLog.target).where(AuditLog.id > audits_before, AuditLog.action == "report.export")
            )
        )
    assert not [t for t in targets if t.startswith("county:")], (
        "a township account exported the county report"
    )


@pytest.mark.parametrize("role", sorted(COUNTY_ROLES))
def test_every_route_for_the_county_roles(route_world: World, role: str) -> None:
    """The county admin gets what a one-township admin gets, the county viewer what a viewer gets — over every
    township: 青山镇's people are on the county's pages."""
    c = route_world.login(role)
    before = dump(route_world.lx)
    col = COUNTY_ROLES[role]
    for rows in ROUTES.values():
        for row in rows:
            method, url, expected = row[0], fill(row[1], route_world.ids), row[col]
            if expected is None or (role == "county" and method == "POST"):
                continue
            r = (
                c.get(url)
                if method == "GET"
                else c.post(url, {k: fill(v, route_world.ids) for k, v in row[2].items()})
            )
            assert r.status_code == expected, f"{role} {method} {url}: {r.status_code} != {expected}"
    assert dump(route_world.lx) == before
    for url in ("/cadres", "/households", "/requests", "/diaries", f"/tasks/{route_world.ids['task_t2']}"):
        body = c.get(url).get_data(as_text=True)
        assert "孙海" in body or "周山" in body, f"{role} does not see 青山镇 at {url}"
    assert c.get(f"/cadres/{route_world.ids['cadre_t2']}").status_code == 200


def test_a_township_admin_sees_their_own_township_in_full(route_world: World) -> None:
    c = route_world.login("longfu")
    assert "王芳" in c.get(f"/cadres/{route_world.ids['cadre_b']}").get_data(as_text=True)
    assert "13833334444" in c.get(f"/households/{route_world.ids['hh_b']}").get_data(as_text=True)
    tasks = c.get("/tasks").get_data(as_text=True)
    assert "冬季防火入户宣传" in tasks and "青山镇自己的督办卡" not in tasks
    page = c.get("/").get_data(as_text=True)
    assert "龙伏镇" in page and "孙海" not in page


@pytest.mark.parametrize("role", sorted(ROLES))
def test_changing_the_method_is_refused(route_world: World, role: str) -> None:
    """Every route answers only its own methods: a GET route does not accept POST/PUT/DELETE/PATCH, and so on."""
    c = route_world.login(role)
    before = dump(route_world.lx)
    for rule in route_world.app.url_map.iter_rules():
        if rule.endpoint in ("console.static", "wechat_endpoint"):
            continue
        url = rule.rule
        for name, value in (
            ("cadre_id", route_world.ids["cadre_b"]),
            ("household_id", route_world.ids["hh_b"]),
            ("number", route_world.ids["req_b"]),
            ("attachment_id", route_world.ids["attachment_b"]),
            ("message_id", route_world.ids["outbox"]),
            ("entry_id", route_world.ids["policy"]),
        ):
            url = url.replace(f"<int:{name}>", str(value))
        if "<" in url:
            continue
        allowed = {m for r in route_world.app.url_map.iter_rules() if r.rule == rule.rule for m in r.methods}
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            if method in allowed:
                continue
            data = {"csrf_token": c.token} if method != "GET" else None
            r = c.c.open(url, method=method, data=data)
            assert r.status_code == 405, f"{role} {method} {url}: {r.status_code}"
    assert dump(route_world.lx) == before


def test_ids_outside_any_village_and_garbage_ids(route_world: World) -> None:
    c = route_world.login("xinqiao")
    for url in (
        "/cadres/0",
        "/cadres/-1",
        "/households/99999999",
        "/requests/0",
        "/media/999999",
        "/tasks/99999/cadres/1",
        "/cadres/1e3",
        "/households/%27%20OR%201=1",
    ):
        assert c.get(url).status_code == 404, url


@pytest.mark.parametrize(
    "url,action",
    [
        ("/reports/download?kind=month&period=2026-11&format=json", "report.export"),
        ("/reports/download?kind=month&period=2026-11&format=xlsx", "report.export"),
        ("/ledger/download?format=json", "ledger.export"),
    ],
)
def test_exports_only_for_admins_and_audited(route_world: World, url: str, action: str) -> None:
    for role in ("xinqiao", "leader"):
        assert route_world.login(role).get(url).status_code == 403
    assert route_world.audits(action) == []
    r = route_world.login("admin").get(url)
    assert r.status_code == 200 and len(r.data) > 0
    [a] = route_world.audits(action)
    assert a.actor == "console:admin"


def test_printing_is_audited_and_scoped(route_world: World) -> None:
    route_world.lx.config.wechat.app_id = ""  # no credentials: cards print without QR codes, and say so
    c = route_world.login("xinqiao")
    r = c.post("/print/cards", {"village": ""}, follow_redirects=True)  # their own village only
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "钱石头" not in body and "张大山" in body
    assert "未配置微信 app_id" in body and "<svg" not in body
    [a] = route_world.audits("cards.print")
    assert a.actor == "console:xinqiao" and a.target == "village:新桥村"


def test_world_has_two_villages_and_three_users(world: World) -> None:
    assert world.count(ConsoleUser) == 3
    assert world.count(VillagerRequest) == 2
    assert world.count(RequestReply) == 0
    admin = world.login("admin")
    assert admin.get("/").status_code == 200


def test_a_county_card_reaches_both_townships_and_each_office_sees_its_own_feedback(
    route_world: World,
) -> None:
    """The county admin broadcasts one card to every township (the console form); each township's office sees
    its own cadres' feedback on it, the county sees both."""
    from storage import tasks as task_svc
    from storage.models import Task

    ids = route_world.ids
    county = route_world.login("county")
    r = county.post(
        "/tasks",
        {
            "title": "全县秸秆禁烧",
            "body": "逐户宣传",
            "deadline": "2026-11-30 18:00",
            "scope": "township",
            "townships": ["龙伏镇", "青山镇"],
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    with route_world.lx.session() as s:
        card = s.scalar(select(Task).where(Task.title == "全县秸秆禁烧"))
        assert card.township_id is None and card.targets == [
            Target.township(ids["township_a"], "龙伏镇"),
            Target.township(s.scalar(select(Township.id).where(Township.name == "青山镇")), "青山镇"),
        ]
        number = card.number
        for cadre, text in ((ids["cadre_b"], "石门村已宣传完毕"), (ids["cadre_t2"], "白云村已宣传完毕")):
            task_svc.feedback(s, cadre_id=cadre, number=number, text=text, now=route_world.clock())
    both = county.get(f"/tasks/{number}").get_data(as_text=True)
    assert "王芳" in both and "孙海" in both and "石门村已宣传完毕" in both and "白云村已宣传完毕" in both
    longfu = route_world.login("longfu")
    mine = longfu.get(f"/tasks/{number}").get_data(as_text=True)
    assert "王芳" in mine and "石门村已宣传完毕" in mine and "孙海" not in mine and "白云村" not in mine
    assert longfu.get(f"/tasks/{number}/cadres/{ids['cadre_t2']}").status_code == 404
    timeline = longfu.get(f"/tasks/{number}/cadres/{ids['cadre_b']}").get_data(as_text=True)
    assert "石门村已宣传完毕" in timeline
    # the county's card is not a township's to cancel
    assert longfu.post(f"/tasks/{number}/cancel").status_code == 403
    # a township admin's own card reaches only its own cadres, whatever the form names
    r = longfu.post(
        "/tasks", {"title": "龙伏镇自查", "body": "x", "deadline": "2026-11-30 18:00", "scope": "all"}
    )
    assert r.status_code == 302
    with route_world.lx.session() as s:
        own = s.scalar(select(Task).where(Task.title == "龙伏镇自查"))
        assert own.township_id == ids["township_a"]
        assert {a.cadre_id for a in own.assignments} == {ids["cadre_a"], ids["cadre_b"]}
    assert (
        longfu.post(
            "/tasks",
            {
                "title": "越权",
                "body": "x",
                "deadline": "2026-11-30 18:00",
                "scope": "township",
                "townships": ["青山镇"],
            },
        ).status_code
        == 400
    )
