"""``lianxin user list | disable | enable | passwd | role``: console accounts kept from the command line (PRODUCT.md
"People change over a year"); ``user add`` is bot/cli/accounts.py's. The same functions back the console's 账号
page (storage/console_users.py, storage/console_sessions.py); every change is audited as actor ``cli``."""

from __future__ import annotations

import json
import sys

import click

from bot.cli.base import command, require_schema
from storage import console_sessions, console_users
from storage.accounts import AccountError
from storage.runtime import Lianxin


def _password() -> str:
    """The new password: prompted twice on a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        return str(click.prompt("新密码 new password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


def list_lines(lx: Lianxin, fmt: str) -> list[str]:
    require_schema(lx)
    with lx.read_session() as s:
        accounts = console_users.list_accounts(s)
    if fmt == "json":
        return [json.dumps({"users": [a.as_dict() for a in accounts]}, ensure_ascii=False)]
    tz = lx.config.tz
    lines = ["账号\t角色\t乡镇\t村\t状态\t最近登录"]
    for a in accounts:
        last = a.last_login_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if a.last_login_at else "从未登录"
        lines.append(
            "\t".join(
                [
                    a.username,
                    console_users.ROLE_NAMES.get(a.role, a.role),
                    a.township or "全县",
                    a.village or "-",
                    "在用" if a.active else "已停用",
                    last,
                ]
            )
        )
    return lines


def register(main: click.Group) -> None:
    group = main.commands["user"]  # made by bot/cli/accounts.py (user add)
    assert isinstance(group, click.Group)

    @command(group, "list")
    @click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
    def list_cmd(lx: Lianxin, fmt: str) -> None:
        """控制台账号列表：账号、角色、乡镇、村、状态、最近登录 / the console accounts."""
        for line in list_lines(lx, fmt):
            click.echo(line)

    @command(group, "disable")
    @click.argument("name")
    def disable_cmd(lx: Lianxin, name: str) -> None:
        """停用账号：立即结束其所有登录，之后不能登录 / disable an account; its sessions end at once."""
        require_schema(lx)
        try:
            with lx.session() as s:
                console_sessions.disable_user(s, username=name, actor="cli", now=lx.now())
        except AccountError as e:
            raise click.ClickException(str(e)) from None
        click.echo(f"已停用账号 {name}，其登录已全部结束")

    @command(group, "enable")
    @click.argument("name")
    def enable_cmd(lx: Lianxin, name: str) -> None:
        """重新启用账号 / enable an account again."""
        require_schema(lx)
        try:
            with lx.session() as s:
                console_sessions.enable_user(s, username=name, actor="cli")
        except AccountError as e:
            raise click.ClickException(str(e)) from None
        click.echo(f"已启用账号 {name}")

    @command(group, "passwd")
    @click.argument("name")
    def passwd_cmd(lx: Lianxin, name: str) -> None:
        """重设密码（非终端时从标准输入读取），并结束该账号的其他登录 / set a new password."""
        require_schema(lx)
        password = _password()
        try:
            with lx.session() as s:
                console_sessions.change_password(
                    s, username=name, password=password, actor="cli", now=lx.now()
                )
        except AccountError as e:
            raise click.ClickException(str(e)) from None
        click.echo(f"已为账号 {name} 设置新密码，其已有的登录已结束")

    @command(group, "role")
    @click.argument("name")
    @click.option("--role", type=click.Choice(list(console_users.ROLE_NAMES)), required=True)
    @click.option("--township", default=None, help="乡镇账号所属乡镇 / the township")
    @click.option("--village", default=None, help="村账号所属村 / the village of a village account")
    def role_cmd(lx: Lianxin, name: str, role: str, township: str | None, village: str | None) -> None:
        """更改账号的角色和范围 / change an account's role and scope."""
        require_schema(lx)
        try:
            with lx.session() as s:
                console_users.set_role(
                    s,
                    username=name,
                    role=role,
                    township=township,
                    village=village,
                    actor="cli",
                    by=None,
                    default_township=lx.config.general.township,
                )
        except AccountError as e:
            raise click.ClickException(str(e)) from None
        click.echo(f"账号 {name} 的角色改为 {console_users.ROLE_NAMES[role]}")
