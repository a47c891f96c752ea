"""``lianxin bind-code`` (a cadre's one-time WeChat binding code) and ``lianxin user add`` (console accounts)."""

from __future__ import annotations

import sys

import click

from bot.cli.base import command, require_schema
from storage.accounts import AccountError, BindError, create_console_user, issue_bind_code
from storage.runtime import Lianxin


def register(main: click.Group) -> None:
    @command(main, "bind-code")
    @click.argument("phone")
    def bind_code_cmd(lx: Lianxin, phone: str) -> None:
        """为干部生成一次性绑定码（最长 72 小时有效，旧码作废）/ a one-time code that binds a cadre's WeChat."""
        require_schema(lx)
        try:
            with lx.session() as s:
                code, cadre, expires = issue_bind_code(
                    s,
                    phone=phone,
                    actor="cli",
                    now=lx.now(),
                    configured_secret=lx.config.console.secret_key,
                    hours=lx.config.general.bind_code_hours,
                )
        except BindError as e:
            raise click.ClickException(str(e)) from None
        local = expires.astimezone(lx.config.tz)
        click.echo(
            f"干部 {cadre.name}（{cadre.phone}）的绑定码，{local:%Y-%m-%d %H:%M} 前有效，仅可使用一次；"
            "此前发给该干部、尚未使用的绑定码已作废。"
        )
        click.echo(f"请干部在公众号中发送：绑定 {code}")
        click.echo(code)

    @main.group("user")
    def user_group() -> None:
        """控制台账号 / console accounts."""

    @command(user_group, "add")
    @click.argument("name")
    @click.option(
        "--role",
        type=click.Choice(["county-admin", "county-viewer", "admin", "village", "viewer", "department"]),
        required=True,
    )
    @click.option(
        "--township", default=None, help="admin/viewer/village accounts in a county: the township's name"
    )
    @click.option("--village", "village", default=None, help="village accounts: the village's name")
    @click.option(
        "--department",
        default=None,
        help="department accounts: the department's name (lianxin department add)",
    )
    def user_add_cmd(
        lx: Lianxin, name: str, role: str, township: str | None, village: str | None, department: str | None
    ) -> None:
        """添加控制台账号；密码从标准输入读取（非终端时）或提示输入 / add a console account."""
        require_schema(lx)
        if sys.stdin.isatty():
            password = click.prompt("密码 password", hide_input=True, confirmation_prompt=True)
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        try:
            with lx.session() as s:
                create_console_user(
                    s,
                    username=name,
                    password=password,
                    role=role,
                    village=village,
                    actor="cli",
                    township=township,
                    default_township=lx.config.general.township,
                    department=department,
                )
        except AccountError as e:
            raise click.ClickException(str(e)) from None
        click.echo(
            f"已添加账号 {name}（{role}{'，' + township if township else ''}{'，' + village if village else ''}"
            f"{'，' + department if department else ''}）"
        )
