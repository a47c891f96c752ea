"""Console accounts kept without the command line (issue 24 item 5): the office's 账号 page lists, adds, disables
(sessions end at once), enables, resets passwords and changes roles; every user changes their own password on
修改密码 (the old one required, other sessions end); ``lianxin user list|disable|enable|passwd|role`` does the
same from the command line. Nobody disables or demotes themselves or the last active admin; all audited."""

from __future__ import annotations

import json

from sqlalchemy import select

from storage.models import ConsoleUser
from tests.support.cli import audit_actions, run_cli
from tests.support.console_world import (
    PASSWORDS,
    Client,
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)


def uid(world: World, name: str) -> int:
    return world.one(select(ConsoleUser.id).where(ConsoleUser.username == name))


def fresh(world: World) -> Client:
    return Client(world.app.test_client())


def test_the_office_disables_a_clerk_who_is_logged_in_and_their_next_request_goes_to_login(
    world: World,
) -> None:
    clerk = world.login("xinqiao")
    assert clerk.get("/households").status_code == 200
    office = world.login("admin")
    r = office.post(f"/accounts/{uid(world, 'xinqiao')}/disable")
    assert r.status_code == 302
    nxt = clerk.get("/households")
    assert nxt.status_code == 302 and "/login" in nxt.headers["Location"]
    assert fresh(world).login("xinqiao", PASSWORDS["xinqiao"]).status_code == 401
    assert [a.actor for a in world.audits("user.disable")] == ["console:admin"]
    page = office.get("/accounts")
    assert page.status_code == 200
    assert 'data-user="xinqiao"' in page_text(page) and "已停用" in page_text(page)

    assert office.post(f"/accounts/{uid(world, 'xinqiao')}/enable").status_code == 302
    assert world.login("xinqiao").get("/").status_code == 200
    assert [a.target for a in world.audits("user.enable")] == ["user:xinqiao"]


def test_the_accounts_page_shows_the_last_login(world: World) -> None:
    office = world.login("admin")
    body = page_text(office.get("/accounts"))
    assert "2026-11-24" in body  # admin just logged in (the world's clock)
    assert "从未登录" in body  # the viewer never did


def test_the_office_changes_its_own_password_and_its_other_sessions_end(world: World) -> None:
    laptop, phone = world.login("admin"), world.login("admin")
    wrong = laptop.post(
        "/password",
        {"old_password": "not-it", "new_password": "office-new-2", "new_password2": "office-new-2"},
    )
    assert wrong.status_code == 400
    assert fresh(world).login("admin", PASSWORDS["admin"]).status_code == 302  # unchanged
    assert laptop.get("/password").status_code == 200
    ok = laptop.post(
        "/password",
        {"old_password": PASSWORDS["admin"], "new_password": "office-new-2", "new_password2": "office-new-2"},
    )
    assert ok.status_code == 302
    assert laptop.get("/").status_code == 200  # this session goes on
    assert phone.get("/").status_code == 302  # the other one ended
    assert fresh(world).login("admin", PASSWORDS["admin"]).status_code == 401
    assert fresh(world).login("admin", "office-new-2").status_code == 302
    assert [a.actor for a in world.audits("user.passwd")] == ["console:admin"]


def test_a_read_only_account_changes_its_own_password_but_nothing_else(world: World) -> None:
    leader = world.login("leader")
    r = leader.post(
        "/password",
        {
            "old_password": PASSWORDS["leader"],
            "new_password": "leader-new-2",
            "new_password2": "leader-new-2",
        },
    )
    assert r.status_code == 302
    assert fresh(world).login("leader", "leader-new-2").status_code == 302
    assert leader.post(f"/accounts/{uid(world, 'xinqiao')}/disable").status_code == 403
    mismatch = leader.post(
        "/password",
        {"old_password": "leader-new-2", "new_password": "aaaaaaaa1", "new_password2": "bbbbbbbb1"},
    )
    assert mismatch.status_code == 400


def test_the_office_adds_an_account_resets_a_password_and_changes_a_role(world: World) -> None:
    office = world.login("admin")
    r = office.post(
        "/accounts",
        {"username": "clerk2", "password": "clerk-pass-1", "role": "village", "village": "石门村"},
    )
    assert r.status_code == 302
    clerk = fresh(world)
    assert clerk.login("clerk2", "clerk-pass-1").status_code == 302
    assert clerk.get(f"/households/{world.ids['hh_b']}").status_code == 200  # 石门村's household

    assert (
        office.post(f"/accounts/{uid(world, 'clerk2')}/password", {"password": "reset-pass-9"}).status_code
        == 302
    )
    assert clerk.get("/").status_code == 302  # the reset ended its session
    clerk = fresh(world)
    assert clerk.login("clerk2", "reset-pass-9").status_code == 302

    assert office.post(f"/accounts/{uid(world, 'clerk2')}/role", {"role": "viewer"}).status_code == 302
    assert clerk.post(f"/households/{world.ids['hh_b']}", {"head_name": "改名"}).status_code == 403
    assert world.one(select(ConsoleUser.role).where(ConsoleUser.username == "clerk2")) == "viewer"
    short = office.post("/accounts", {"username": "clerk3", "password": "short", "role": "viewer"})
    assert (
        short.status_code == 400
        and world.one(select(ConsoleUser).where(ConsoleUser.username == "clerk3")) is None
    )
    actions = audit_actions(world.lx)
    assert {"user.add", "user.passwd", "user.role"} <= set(actions)


def test_nobody_disables_or_demotes_themselves_or_the_last_active_admin(world: World) -> None:
    office = world.login("admin")
    me = uid(world, "admin")
    assert office.post(f"/accounts/{me}/disable").status_code == 400
    assert office.post(f"/accounts/{me}/role", {"role": "viewer"}).status_code == 400
    assert world.one(select(ConsoleUser.active).where(ConsoleUser.id == me)) is True
    # from the command line (nobody's own account): the last active admin still stays
    refused = run_cli(world.lx, "user", "disable", "admin")
    assert refused.exit_code != 0 and "最后一个" in refused.output
    assert run_cli(world.lx, "user", "role", "admin", "--role", "viewer").exit_code != 0
    # with a second admin, the first may go
    assert (
        office.post(
            "/accounts", {"username": "admin2", "password": "admin2-pass", "role": "admin"}
        ).status_code
        == 302
    )
    assert run_cli(world.lx, "user", "disable", "admin").exit_code == 0
    assert office.get("/").status_code == 302  # and their session ended
    assert run_cli(world.lx, "user", "disable", "admin2").exit_code != 0
    assert "user.disable" in audit_actions(world.lx)


def test_user_list_disable_enable_and_passwd_from_the_command_line(world: World) -> None:
    world.login("xinqiao")
    listed = run_cli(world.lx, "user", "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    users = {u["name"]: u for u in json.loads(listed.output)["users"]}
    assert set(users) == {"admin", "xinqiao", "leader"}
    assert users["xinqiao"]["role"] == "village" and users["xinqiao"]["village"] == "新桥村"
    assert users["xinqiao"]["active"] is True and users["xinqiao"]["last_login"] is not None
    assert users["leader"]["last_login"] is None
    text = run_cli(world.lx, "user", "list")
    assert text.exit_code == 0 and "xinqiao\t" in text.output

    clerk = world.login("xinqiao")
    assert run_cli(world.lx, "user", "disable", "xinqiao").exit_code == 0
    assert clerk.get("/").status_code == 302
    listed = json.loads(run_cli(world.lx, "user", "list", "--format", "json").output)
    assert {u["name"]: u["active"] for u in listed["users"]}["xinqiao"] is False
    assert run_cli(world.lx, "user", "enable", "xinqiao").exit_code == 0
    clerk = world.login("xinqiao")
    r = run_cli(world.lx, "user", "passwd", "xinqiao", input="piped-pass-7\n")
    assert r.exit_code == 0, r.output
    assert clerk.get("/").status_code == 302  # its sessions ended
    assert fresh(world).login("xinqiao", "piped-pass-7").status_code == 302
    assert run_cli(world.lx, "user", "passwd", "xinqiao", input="short\n").exit_code != 0
    assert run_cli(world.lx, "user", "disable", "nobody").exit_code != 0
    actions = audit_actions(world.lx)
    assert actions.count("user.disable") == 1 and actions.count("user.passwd") == 1
