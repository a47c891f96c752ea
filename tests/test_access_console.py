"""Access control, table-driven over EVERY console route × every role, with the other village's ids.

The world (tests/test_console_helpers.build_world) has two villages: 新桥村 (A: the village account
``xinqiao``'s) and 石门村 (B). For each route the table says what an admin, a village user (given B's ids) and a
viewer get. Besides the status: a village user's pages never show B's people (names, phones, texts), and no
refused request changes any row. A test checks that the table covers every route the app has, so a new route
without an entry fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect, select, text

from storage.models import Attachment, AuditLog, OutboxMessage
from tests.test_console_helpers import World, build_world

B_SECRETS = ("钱石头", "王芳", "13833334444", "13900000002", "低保怎么申请", "调解钱石头家邻里纠纷")

# endpoint -> list of (method, url, form, admin, village(B ids), viewer); None = not checked for that role
# (an admin's writes are allowed and change data: the console's own tests check them).
ROUTES: dict[str, list[tuple[str, str, dict[str, Any], int | None, int | None, int | None]]] = {
    "console.dashboard": [("GET", "/", {}, 200, 200, 200)],
    "console.audit_log": [("GET", "/audit", {}, 200, 403, 403)],
    "console.cadres": [("GET", "/cadres?village={village_b}", {}, 200, 200, 200),
                       ("GET", "/cadres?q=王", {}, 200, 200, 200)],
    "console.cadre": [("GET", "/cadres/{cadre_b}", {}, 200, 404, 200)],
    "console.cadre_bind_code": [("POST", "/cadres/{cadre_b}/bind-code", {}, None, 404, 403)],
    "console.delivery": [("GET", "/delivery", {}, 200, 403, 403)],
    "console.delivery_retry": [("POST", "/delivery/{outbox}/retry", {}, None, 403, 403)],
    "console.diaries": [("GET", "/diaries?cadre={cadre_b}", {}, 200, 200, 200),
                        ("GET", "/diaries?q=调解", {}, 200, 200, 200)],
    "console.households": [("GET", "/households?village={village_b}", {}, 200, 200, 200),
                           ("GET", "/households?q=钱", {}, 200, 200, 200)],
    "console.household": [("GET", "/households/{hh_b}", {}, 200, 404, 200)],
    "console.household_save": [("POST", "/households/{hh_b}", {"head_name": "改名", "population": "2"}, None, 404, 403)],
    "console.household_link": [("POST", "/households/{hh_b}/link", {"cadre_id": "{cadre_a}"}, None, 404, 403),
                               ("POST", "/households/{hh_a}/link", {"cadre_id": "{cadre_b}"}, None, 404, 403)],
    "console.import_form": [("GET", "/import", {}, 200, 403, 403)],
    "console.import_preview": [("POST", "/import", {}, None, 403, 403)],
    "console.import_confirm": [("POST", "/import/confirm", {}, None, 403, 403)],
    "console.import_template": [("GET", "/import/template.xlsx", {}, 200, 403, 403)],
    "console.ledger": [("GET", "/ledger?village=石门村", {}, 200, 404, 200), ("GET", "/ledger", {}, 200, 200, 200)],
    "console.ledger_download": [("GET", "/ledger/download?format=json", {}, 200, 403, 403)],
    "console.media": [("GET", "/media/{attachment_b}", {}, None, 404, None)],
    "console.policy": [("GET", "/policy", {}, 200, 200, 200)],
    "console.policy_save": [("POST", "/policy", {"topic": "环境卫生", "title": "x", "body": "y"}, None, 403, 403)],
    "console.policy_delete": [("POST", "/policy/{policy}/delete", {}, None, 403, 403)],
    "console.print_index": [("GET", "/print", {}, 200, 200, 403)],
    "console.print_cards": [("POST", "/print/cards", {"village": "石门村"}, None, 404, 403)],
    "console.print_listing": [("POST", "/print/listing", {"village": "石门村"}, None, 404, 403)],
    "console.reports": [("GET", "/reports", {}, 200, 200, 200)],
    "console.report_download": [("GET", "/reports/download?kind=month&period=2026-11&format=json", {}, 200, 403, 403)],
    "console.report_full": [("GET", "/reports/full?kind=month&period=2026-11", {}, 200, 403, 200)],
    "console.requests_inbox": [("GET", "/requests?village={village_b}", {}, 200, 200, 200),
                               ("GET", "/requests?q=低保", {}, 200, 200, 200)],
    "console.request_detail": [("GET", "/requests/{req_b}", {}, 200, 404, 200)],
    "console.request_close": [("POST", "/requests/{req_b}/close", {}, None, 404, 403)],
    "console.request_reassign": [("POST", "/requests/{req_b}/reassign", {"cadre_id": "{cadre_a}"}, None, 404, 403),
                                 ("POST", "/requests/{req_a}/reassign", {"cadre_id": "{cadre_b}"}, None, 404, 403)],
    "console.request_reply": [("POST", "/requests/{req_b}/reply", {"text": "越权答复"}, None, 404, 403)],
    "console.simulator": [("GET", "/simulator", {}, 200, 403, 403)],
    "console.simulator_open": [("POST", "/simulator/open", {"openid": "demo-villager-002"}, None, 403, 403)],
    "console.simulator_send": [("POST", "/simulator/send", {"openid": "demo-villager-002", "text": "x"}, None, 403, 403)],
    "console.tasks": [("GET", "/tasks", {}, 200, 200, 200)],
    "console.task_create": [("POST", "/tasks", {"title": "越权", "body": "x", "deadline": "2026-12-01 18:00",
                                                  "scope": "all"}, None, 403, 403)],
    "console.task": [("GET", "/tasks/{task}", {}, 200, 200, 200)],
    "console.task_timeline": [("GET", "/tasks/{task}/cadres/{cadre_b}", {}, 200, 404, 200)],
    "console.task_extension": [("POST", "/tasks/{task}/cadres/{cadre_b}/extension", {"grant": "1"}, None, 403, 403)],
    "console.task_return": [("POST", "/tasks/{task}/cadres/{cadre_b}/return", {"reason": "x"}, None, 403, 403)],
    "console.task_cancel": [("POST", "/tasks/{task}/cancel", {}, None, 403, 403)],
}
# Public or session-only endpoints, checked elsewhere (login/logout in test_console_access and test_hostile_console).
NOT_IN_TABLE = {"console.login", "console.logout", "console.static", "healthz", "wechat_endpoint"}
ROLES = {"admin": 3, "xinqiao": 4, "leader": 5}


@pytest.fixture
def world(lx: Any, clock: Any) -> World:
    w = build_world(lx, clock)
    with lx.session() as s:
        att = Attachment(owner_type="request", owner_id=s.scalar(text("SELECT id FROM villager_request WHERE number = 2")),
                         media_type="image", media_id="m-b", created_at=clock())
        s.add(att)
        msg = OutboxMessage(idempotency_key="k-b", openid="demo-cadre-02", kind="notice",
                            payload={"text": "x"}, status="failed", attempts=8)
        s.add(msg)
        s.flush()
        w.ids.update(attachment_b=att.id, outbox=msg.id,
                     policy=s.scalar(text("SELECT id FROM policy_entry LIMIT 1")))
    return w


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


def test_table_covers_every_route(world: World) -> None:
    endpoints = {r.endpoint for r in world.app.url_map.iter_rules()}
    missing = endpoints - set(ROUTES) - NOT_IN_TABLE
    assert not missing, f"routes without an access-table entry: {sorted(missing)}"
    assert not (set(ROUTES) - endpoints), f"table entries for routes that no longer exist: {set(ROUTES) - endpoints}"


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_route_for_every_role(world: World, role: str) -> None:
    c = world.login(role)
    before = dump(world.lx)
    audits_before = world.count(AuditLog)
    col = ROLES[role]
    checked = 0
    for rows in ROUTES.values():
        for row in rows:
            method, url, form, expected = row[0], fill(row[1], world.ids), row[2], row[col]
            if expected is None or (role == "admin" and method == "POST"):
                continue
            data = {k: fill(v, world.ids) for k, v in form.items()}
            r = c.get(url) if method == "GET" else c.post(url, data)
            checked += 1
            assert r.status_code == expected, f"{role} {method} {url}: {r.status_code} != {expected}"
            if role == "xinqiao" and r.status_code == 200:
                body = r.get_data(as_text=True)
                leaked = [x for x in B_SECRETS if x in body]
                assert not leaked, f"village user sees village B's {leaked} at {url}"
            if role == "leader" and r.status_code == 200:
                body = r.get_data(as_text=True)
                assert "13833334444" not in body and "13811112222" not in body, f"viewer sees a full phone at {url}"
    assert checked >= 20
    assert dump(world.lx) == before, f"{role}: a refused or read-only request changed data"
    if role != "admin":
        with world.lx.session() as s:
            added = list(s.scalars(select(AuditLog.action).where(AuditLog.id > audits_before)))
        assert not [a for a in added if not a.startswith("login")], f"{role}: refused requests were audited as done: {added}"


@pytest.mark.parametrize("role", sorted(ROLES))
def test_changing_the_method_is_refused(world: World, role: str) -> None:
    """Every route answers only its own methods: a GET route does not accept POST/PUT/DELETE/PATCH, and so on."""
    c = world.login(role)
    before = dump(world.lx)
    for rule in world.app.url_map.iter_rules():
        if rule.endpoint in ("console.static", "wechat_endpoint"):
            continue
        url = rule.rule
        for name, value in (("cadre_id", world.ids["cadre_b"]), ("household_id", world.ids["hh_b"]),
                            ("number", world.ids["req_b"]), ("attachment_id", world.ids["attachment_b"]),
                            ("message_id", world.ids["outbox"]), ("entry_id", world.ids["policy"])):
            url = url.replace(f"<int:{name}>", str(value))
        if "<" in url:
            continue
        allowed = {m for r in world.app.url_map.iter_rules() if r.rule == rule.rule for m in r.methods}
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            if method in allowed:
                continue
            data = {"csrf_token": c.token} if method != "GET" else None
            r = c.c.open(url, method=method, data=data)
            assert r.status_code == 405, f"{role} {method} {url}: {r.status_code}"
    assert dump(world.lx) == before


def test_ids_outside_any_village_and_garbage_ids(world: World) -> None:
    c = world.login("xinqiao")
    for url in ("/cadres/0", "/cadres/-1", "/households/99999999", "/requests/0", "/media/999999",
                "/tasks/99999/cadres/1", "/cadres/1e3", "/households/%27%20OR%201=1"):
        assert c.get(url).status_code == 404, url


@pytest.mark.parametrize("url,action", [
    ("/reports/download?kind=month&period=2026-11&format=json", "report.export"),
    ("/reports/download?kind=month&period=2026-11&format=xlsx", "report.export"),
    ("/ledger/download?format=json", "ledger.export"),
])
def test_exports_only_for_admins_and_audited(world: World, url: str, action: str) -> None:
    for role in ("xinqiao", "leader"):
        assert world.login(role).get(url).status_code == 403
    assert world.audits(action) == []
    r = world.login("admin").get(url)
    assert r.status_code == 200 and len(r.data) > 0
    [a] = world.audits(action)
    assert a.actor == "console:admin"


def test_printing_is_audited_and_scoped(world: World) -> None:
    c = world.login("xinqiao")
    r = c.post("/print/cards", {"village": ""})  # a village user prints their own village only
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "钱石头" not in body and "张大山" in body
    [a] = world.audits("cards.print")
    assert a.actor == "console:xinqiao" and a.target == "village:新桥村"
