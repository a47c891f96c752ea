"""转办 in the console (issue 26 item 1): the office passes a request to a department and grants its request for
more time; a department's account (role ``department``) sees and answers its own requests only and reaches no
other page; the answer reaches the villager (console/views/transfers.py, console/views/station_desk.py)."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from storage import station
from storage.models import ConsoleUser, Department, OutboxMessage, RequestTransfer, Township, VillagerRequest
from tests.support.cli import run_cli
from tests.support.console_world import Client, World, build_world, page_text
from tests.test_console_access import ROUTES, dump, fill, route_world  # noqa: F401 - route_world: the fixture

PASSWORD = "dept-pass-01"


@pytest.fixture
def world(lx: Any, clock: Any) -> World:
    w = build_world(lx, clock)  # request 2: 钱石头 (石门村) asks about 低保
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    with lx.session() as s:
        tid = s.scalar(select(Township.id))
        for name, user, openid in (("民政办", "mz", "o-minzheng"), ("司法所", "sf", "o-sifasuo")):
            dept, _ = station.add_or_update(s, township_id=tid, name=name, actor="test", openids=[openid])
            s.add(
                ConsoleUser(
                    username=user,
                    password_hash=cheap.hash(PASSWORD),
                    role="department",
                    township_id=tid,
                    department_id=dept.id,
                )
            )
            w.ids[name] = dept.id
    return w


def _login(w: World, username: str) -> Client:
    c = Client(w.app.test_client())
    assert c.login(username, PASSWORD).status_code == 302
    c.get("/desk")
    return c


def _transfer(w: World) -> Any:
    admin = w.login("admin")
    assert "转办" in page_text(admin.get("/transfers"))
    assert "转给部门办理" in page_text(admin.get("/requests/2"))
    r = admin.post("/requests/2/transfer", {"department_id": str(w.ids["民政办"]), "note": "低保复核"})
    assert r.status_code == 302, page_text(r)
    return admin


def test_the_office_passes_a_request_and_the_department_answers_it_in_the_console(world: World) -> None:
    admin = _transfer(world)
    assert world.one(select(VillagerRequest.status).where(VillagerRequest.number == 2)) == "transferred"
    assert world.count(OutboxMessage, OutboxMessage.openid == "o-minzheng") == 1  # the staff are told
    assert "第2号" in page_text(admin.get("/transfers"))

    mz = _login(world, "mz")
    desk = page_text(mz.get("/desk"))
    assert "低保怎么申请" in desk and "钱石头" in desk and "饮水管" not in desk
    # more time, granted by the office
    assert mz.post("/desk/2/extension", {"until": "2026-12-10", "reason": "需入户核查"}).status_code == 302
    assert "需入户核查" in page_text(admin.get("/transfers"))
    assert admin.post("/transfers/2/extension", {"grant": "1"}).status_code == 302
    due = world.one(select(RequestTransfer.due))
    assert due.astimezone(world.lx.config.tz).date().isoformat() == "2026-12-10"

    assert mz.post("/desk/2/answer", {"text": "请带户口本到民政办申请。"}).status_code == 302
    reply = world.one(
        select(OutboxMessage).where(OutboxMessage.openid == "demo-villager-002", OutboxMessage.kind == "reply")
        .order_by(OutboxMessage.id.desc()).limit(1)
    )  # fmt: skip
    assert "请带户口本到民政办申请。" in reply.payload["text"]
    assert mz.post("/desk/2/close", {}).status_code == 302
    assert world.one(select(VillagerRequest.status).where(VillagerRequest.number == 2)) == "closed"
    assert world.one(select(RequestTransfer.status)) == "closed"
    assert {a.action for a in world.audits("request.department_answer")} == {"request.department_answer"}


def test_a_department_sees_and_answers_its_own_requests_only_and_no_other_page(world: World) -> None:
    _transfer(world)
    sf = _login(world, "sf")
    assert "低保怎么申请" not in page_text(sf.get("/desk"))
    assert sf.post("/desk/2/answer", {"text": "越权"}).status_code == 404
    mz = _login(world, "mz")
    assert mz.post("/desk/1/answer", {"text": "不是我的"}).status_code == 404  # never passed to 民政办
    for url in ("/", "/cadres", "/households", "/requests/1", "/transfers", "/audit"):
        r = mz.get(url)
        assert r.status_code == 302 and r.headers["Location"].endswith("/desk"), url
    assert mz.post("/requests/1/reply", {"text": "x"}).status_code == 403
    assert mz.post("/requests/2/close", {}).status_code == 403
    assert world.count(RequestTransfer, RequestTransfer.answered_at.is_not(None)) == 0


def test_a_department_account_is_made_on_the_command_line_only_for_a_department_of_its_township(
    world: World,
) -> None:
    ok = run_cli(
        world.lx,
        "user",
        "add",
        "mz2",
        "--role",
        "department",
        "--department",
        "民政办",
        input=PASSWORD + "\n",
    )
    assert ok.exit_code == 0, ok.output
    for args in (["--department", "水利站"], [], ["--department", "民政办", "--village", "新桥村"]):
        bad = run_cli(
            world.lx,
            "user",
            "add",
            "x-" + str(len(args)),
            "--role",
            "department",
            *args,
            input=PASSWORD + "\n",
        )
        assert bad.exit_code != 0
    assert (
        run_cli(
            world.lx, "user", "add", "v2", "--role", "viewer", "--department", "民政办", input=PASSWORD + "\n"
        ).exit_code
        != 0
    )
    assert (
        world.one(select(ConsoleUser.department_id).where(ConsoleUser.username == "mz2"))
        == world.ids["民政办"]
    )
    assert world.count(Department) == 2


def test_a_department_account_on_every_route_of_the_access_table(route_world: World) -> None:  # noqa: F811
    """The route × role table (tests/test_console_access.py) for a department's account: every page but its desk
    sends it to the desk, every other change is refused, and nothing changes."""
    w = route_world
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    with w.lx.session() as s:
        tid = s.scalar(select(Township.id).where(Township.id == w.ids["township_a"]))
        dept, _ = station.add_or_update(s, township_id=tid, name="民政办", actor="test")
        s.add(
            ConsoleUser(
                username="mz",
                password_hash=cheap.hash(PASSWORD),
                role="department",
                township_id=tid,
                department_id=dept.id,
            )
        )
    c = _login(w, "mz")
    before = dump(w.lx)
    checked = 0
    for endpoint, rows in ROUTES.items():
        if not endpoint.startswith("console."):
            continue  # the pages behind template messages (/m/<token>): no console login, their own rules
        for method, url, form, *_ in rows:
            url = fill(url, w.ids)
            r = c.get(url) if method == "GET" else c.post(url, {k: fill(v, w.ids) for k, v in form.items()})
            checked += 1
            if endpoint == "console.station_desk.desk":
                assert r.status_code == 200, url
            elif endpoint == "console.station_desk.desk_step":
                assert r.status_code == 404, url  # never passed to 民政办
            elif endpoint.startswith("console.simulator."):
                assert r.status_code == 404, url  # off here, for everyone
            elif endpoint in ("console.accounts.own_password", "console.accounts.own_password_save"):
                assert r.status_code < 500 and r.status_code != 403, url  # its own password, as every account
            elif method == "GET":
                assert r.status_code == 302 and r.headers["Location"].endswith("/desk"), (
                    f"{url}: {r.status_code}"
                )
            else:
                assert r.status_code == 403, f"{method} {url}: {r.status_code}"
    assert checked >= 40
    assert dump(w.lx) == before
