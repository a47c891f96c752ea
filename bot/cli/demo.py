"""``lianxin demo``: create the schema, seed the demo township (idempotent) and serve it."""

from __future__ import annotations

import click
from sqlalchemy.engine import make_url

from bot import serve
from bot.cli.base import command
from storage.db import read_only
from storage.demo.seed import foreign_data, seed_demo
from storage.migrate import upgrade
from storage.runtime import Lianxin
from storage.secrets import ensure_secret_key


def register(main: click.Group) -> None:
    @command(main, "demo")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8000, show_default=True, type=int)
    @click.option("--no-serve", is_flag=True, help="只建库和填充演示数据，不启动服务 / seed only")
    @click.option("--no-scheduler", is_flag=True, help="不在本进程运行定时任务 / do not run the scheduler")
    def demo_cmd(lx: Lianxin, host: str, port: int, no_serve: bool, no_scheduler: bool) -> None:
        """填充演示乡镇并启动服务 / seed a demo township into the configured database and serve it."""
        if not no_serve:  # a busy port is said before anything is written or "serving" is printed
            try:
                serve.check_port(host, port, again="./dev.sh demo")
            except serve.ServeRefused as e:
                raise click.ClickException(str(e)) from None
        url = make_url(lx.config.database_url).render_as_string(hide_password=True)
        with read_only(lx.engine).connect() as conn:
            foreign = foreign_data(conn)
        if foreign:
            found = "、".join(f"{what} {n} 个" for what, n in foreign.items())
            raise click.ClickException(
                f"数据库 {url} 中已有不是演示程序生成的数据（{found}），演示不会写入，以免混入真实数据。"
                "请为演示另用一个空数据库，例如：LIANXIN_DATABASE_URL=sqlite:///demo.db lianxin demo"
                "（或在配置文件的 [database] url 中指定）。"
                f" / {url} holds data the demo did not make; nothing was written. Run the demo on an empty "
                "database, e.g. LIANXIN_DATABASE_URL=sqlite:///demo.db lianxin demo"
            )
        upgrade(lx.config.database_url, township=lx.config.general.township)
        # The demo's chat simulator speaks as its demo accounts; a real deployment turns it on only by choice.
        lx.config.console.simulator = True
        tz = lx.config.tz
        with lx.session() as s:
            ensure_secret_key(s, now=lx.now())  # as `lianxin init` does
            report = seed_demo(s, tz=tz, now=lx.now(), township=lx.config.general.township)
        if report.added:
            added = "，".join(f"{k} {v}" for k, v in sorted(report.added.items()))
            click.echo(f"演示数据已填充 / demo data seeded into {url}: {added}")
        else:
            click.echo(f"演示数据已存在，未重复添加 / demo data already present in {url}; nothing added")
        click.echo("演示账号 / demo logins:")
        for username, password, role, village in report.users:
            click.echo(f"  {username} / {password}  ({role}{'，' + village if village else ''})")
        click.echo("演示干部 openid：demo-cadre-01 … demo-cadre-10；村民 openid：demo-villager-001 …")
        click.echo("命令行 / the CLI: .venv/bin/lianxin --help（或 ./dev.sh lianxin …）")
        if no_serve:
            return
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        click.echo(f"控制台 / console: http://{shown}:{port}/")
        scheduler = not no_scheduler and lx.config.scheduler.enabled
        if scheduler and not lx.config.wechat.app_id:
            # The demo's WeChat accounts are fake: without a configured Official Account the scheduler would
            # queue pushes that can only fail against the real API. `lianxin jobs run NAME` still shows them.
            scheduler = False
            click.echo(
                "未配置公众号 [wechat] app_id：演示不运行定时推送（可用 lianxin jobs run NAME 手动试）/ "
                "no app_id configured: the scheduler is not started"
            )
        click.echo("按 Ctrl+C 停止 / Ctrl+C stops it")
        try:
            serve.serve(lx, host=host, port=port, workers=1, scheduler=scheduler, access_log=False)
        except serve.ServeRefused as e:
            raise click.ClickException(str(e)) from None
