"""``lianxin serve``: /wechat and the console (bot/serve.py), with the scheduler unless told otherwise."""

from __future__ import annotations

import click

from bot import serve
from bot.cli.base import command, require_schema
from storage.runtime import Lianxin


def register(main: click.Group) -> None:
    @command(main, "serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8000, show_default=True, type=int)
    @click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
    @click.option("--no-scheduler", is_flag=True, help="do not run the scheduler in this process")
    def serve_cmd(lx: Lianxin, host: str, port: int, workers: int, no_scheduler: bool) -> None:
        """运行 /wechat 与控制台 / serve /wechat and the console."""
        require_schema(lx)
        try:
            serve.serve(
                lx,
                host=host,
                port=port,
                workers=workers,
                scheduler=not no_scheduler and lx.config.scheduler.enabled,
            )
        except serve.ServeRefused as e:
            raise click.ClickException(str(e)) from None
