"""``lianxin init``: create or upgrade the database schema (Alembic)."""

from __future__ import annotations

import click

from bot.cli.base import command
from storage.migrate import current_revision, upgrade
from storage.runtime import Lianxin
from storage.secrets import ensure_secret_key


def register(main: click.Group) -> None:
    @command(main, "init")
    def init_cmd(lx: Lianxin) -> None:
        """创建或升级数据库结构 / create or upgrade the database schema (Alembic)."""
        before = current_revision(lx.config.database_url)
        upgrade(lx.config.database_url, township=lx.config.general.township)
        after = current_revision(lx.config.database_url)
        if before == after:
            click.echo(f"数据库已是最新 / schema up to date (revision {after})")
        else:
            click.echo(f"数据库已升级 / schema upgraded: {before or 'empty'} -> {after}")
        # One session key for every process of the deployment (issue 22 item 1), unless the config sets one.
        with lx.session() as s:
            _, made = ensure_secret_key(s, now=lx.now())
        if made and not lx.config.console.secret_key:
            click.echo(
                "已生成控制台会话密钥并保存在数据库中，所有进程共用 / "
                "made the console's session key and kept it in the database (shared by every worker)"
            )
