"""``lianxin init``: create or upgrade the database schema (Alembic)."""

from __future__ import annotations

import click

from bot.cli.base import command
from storage.migrate import current_revision, upgrade
from storage.runtime import Lianxin


def register(main: click.Group) -> None:
    @command(main, "init")
    def init_cmd(lx: Lianxin) -> None:
        """创建或升级数据库结构 / create or upgrade the database schema (Alembic)."""
        before = current_revision(lx.config.database_url)
        upgrade(lx.config.database_url, township=lx.config["general"]["township"])
        after = current_revision(lx.config.database_url)
        if before == after:
            click.echo(f"数据库已是最新 / schema up to date (revision {after})")
        else:
            click.echo(f"数据库已升级 / schema upgraded: {before or 'empty'} -> {after}")
