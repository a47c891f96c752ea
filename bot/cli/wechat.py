"""``lianxin wechat menu`` / ``lianxin wechat check``: setting up and checking the Official Account."""

from __future__ import annotations

import sys

import click

from bot.cli.base import command, require_schema
from bot.wechat.api import WechatClient
from bot.wechat.check import failed, run_checks, summary
from bot.wechat.menu import MenuError, build_menu, describe
from reminders.wechat_port import WechatError
from storage.runtime import Lianxin

MENU_FIXES = {
    48001: "本账号没有自定义菜单接口权限（未认证的订阅号）：完成微信认证，或在公众号后台手工设置菜单",
    45010: "今天创建菜单的次数已用完（每天 1000 次），明天再试",
    40164: "本服务器的出口 IP 不在 IP 白名单：到 基本配置 › IP白名单 加入",
}


def register(main: click.Group) -> None:
    @main.group("wechat")
    def wechat() -> None:
        """公众号设置与检查 / set up and check the Official Account."""

    @command(wechat, "menu")
    @click.option("--dry-run", is_flag=True, help="只检查并显示菜单，不发布 / check and show, do not publish")
    def menu_cmd(lx: Lianxin, dry_run: bool) -> None:
        """发布自定义菜单（[wechat.menu] 或默认菜单）/ create the custom menu (menu/create)."""
        require_schema(lx)  # the access token is kept in the database, shared with the server
        try:
            menu = build_menu(lx.config.menu.buttons, lx.config.public_url)
        except MenuError as e:
            raise click.ClickException(f"[wechat.menu] 有误，未发布 / not published: {e}") from None
        for line in describe(menu.body):
            click.echo(line)
        for warning in menu.warnings:
            click.echo(f"注意 / warning: {warning}", err=True)
        if dry_run:
            click.echo("未发布（--dry-run）/ not published (--dry-run)")
            return
        client = WechatClient(lx)
        try:
            client.create_menu(menu.body)
        except WechatError as e:
            fix = MENU_FIXES.get(e.errcode, "见 `lianxin wechat check`")
            raise click.ClickException(
                f"菜单未发布 / menu not created: errcode {e.errcode} {e.errmsg} → {fix}"
            ) from None
        finally:
            client.close()
        click.echo(
            "菜单已发布，微信客户端约 5 分钟内更新 / menu created (clients refresh within about 5 minutes)"
        )

    @command(wechat, "check")
    def check_cmd(lx: Lianxin) -> None:
        """检查公众号设置（令牌、模板、菜单、public_url、服务器配置、网络检测、消息加解密）/ check the account; non-zero on failure."""
        require_schema(lx)
        client = WechatClient(lx)
        try:
            checks = run_checks(lx, client)
        finally:
            client.close()
        for c in checks:
            click.echo(c.line())
        counts = summary(checks)
        click.echo(" ".join(f"{k} {v}" for k, v in counts.items()))
        if failed(checks):
            sys.exit(1)
