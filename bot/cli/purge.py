"""``lianxin purge``: remove one household's personal data on request (see storage.purge), audited."""

from __future__ import annotations

import click

from bot.cli.base import command, require_schema
from storage.purge import PurgeError, find_household, purge_household
from storage.runtime import Lianxin


def register(main: click.Group) -> None:
    @command(main, "purge")
    @click.option(
        "--card", default=None, metavar="NUMBER", help="服务卡号 / the household's service-card number"
    )
    @click.option(
        "--household", "household_id", type=int, default=None, metavar="ID", help="农户编号 / household id"
    )
    @click.option("--phone", default=None, metavar="PHONE", help="户主电话 / the head of household's phone")
    @click.option("--reason", default="", help="原因（记入审计日志） / why (recorded in the audit log)")
    @click.option("--yes", is_flag=True, help="不再确认 / do not ask for confirmation")
    def purge_cmd(
        lx: Lianxin, card: str | None, household_id: int | None, phone: str | None, reason: str, yes: bool
    ) -> None:
        """按本人要求清除一户的个人信息（保留统计） / remove a household's personal data on request."""
        require_schema(lx)
        try:
            with lx.session() as s:
                h = find_household(s, card=card, household_id=household_id, phone=phone)
                if h.purged_at is not None:
                    click.echo(
                        f"农户 {h.id} 已于 {h.purged_at.astimezone(lx.config.tz):%Y-%m-%d %H:%M} 清除，未做改动"
                        f" / household {h.id} was already purged; nothing changed"
                    )
                    return
                if not yes:
                    click.confirm(
                        f"清除农户 {h.id}（{h.head_name}）的个人信息？此操作不可撤销 / purge household {h.id}?",
                        abort=True,
                    )
                res = purge_household(
                    s,
                    h,
                    actor="cli",
                    now=lx.now(),
                    reason=reason,
                    media_root=lx.config.general.media_dir,
                )
        except PurgeError as e:
            raise click.ClickException(str(e)) from None
        detail = "，".join(f"{k} {v}" for k, v in sorted(res.counts.items()))
        click.echo(
            f"已清除农户 {res.household_id} 的个人信息（{detail}），已记入审计日志"
            f" / household {res.household_id} purged and audited"
        )
