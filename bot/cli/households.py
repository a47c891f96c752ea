"""``lianxin household add`` and ``lianxin household close``: the household register without re-importing
(storage/register.py; the accounts of a closed household are told by handlers/household_notices.py). Every change
is audited as actor ``cli``. ``household move`` belongs with the cadres' handover and joins the same group.
"""

from __future__ import annotations

from datetime import date

import click

from bot.cli.base import TOWNSHIP_HELP, cli_date, command, require_schema, township_scope
from handlers import household_notices
from storage import register as register_svc
from storage.runtime import Lianxin


def household_group(main: click.Group) -> click.Group:
    """The ``household`` group: made here, or the one another module of the command line made already."""
    existing = main.commands.get("household")
    if isinstance(existing, click.Group):
        return existing

    @main.group("household")
    def group() -> None:
        """农户登记：新增、销户 / the household register: add, close."""

    return group


def _township_id(lx: Lianxin, township: str | None) -> int:
    scope = township_scope(lx, township)
    if scope is None:
        raise click.ClickException("尚无乡镇数据，请先导入联户名单 / import a link list first")
    return scope[0]


def add_household(lx: Lianxin, new: register_svc.NewHousehold, *, township: str | None = None) -> list[str]:
    """Add the household; the lines to print, its card number last."""
    require_schema(lx)
    township_id = _township_id(lx, township)
    try:
        with lx.session() as s:
            h = register_svc.add_household(s, new, township_id=township_id, actor="cli", now=lx.now())
            assert h.card is not None and h.link is not None
            number, cadre = h.card.number, h.link.cadre
            village = h.village.name + (h.group.name if h.group else "")
            lines = [f"已新增农户 {h.head_name}（{village}），联户干部 {cadre.name}（{cadre.phone}）。"]
    except register_svc.RegisterError as e:
        raise click.ClickException(str(e)) from None
    return [*lines, "服务卡号：", number]


def close_household(
    lx: Lianxin, card: str, *, reason: str, on: date | None, township: str | None = None
) -> str:
    require_schema(lx)
    now = lx.now()
    try:
        with lx.session() as s:
            h = register_svc.household_by_card(s, card)
            if township is not None and h.village.township_id != _township_id(lx, township):
                raise register_svc.RegisterError(f"卡号 {card} 不属于{township}")
            closed = register_svc.close_household(
                s,
                h,
                reason=reason,
                on=on or now.astimezone(lx.config.tz).date(),
                actor="cli",
                now=now,
                tz=lx.config.tz,
            )
            told = household_notices.tell_closed(s, closed, tz=lx.config.tz)
            assert h.closed_on is not None
            return (
                f"已销户：{h.head_name} 户（{h.village.name}），{h.closed_on.isoformat()}，{reason}；"
                f"解除了 {len(closed.unlinked)} 个微信账号的关联，已通知 {told} 个。"
            )
    except register_svc.RegisterError as e:
        raise click.ClickException(str(e)) from None


def register(main: click.Group) -> None:
    group = household_group(main)

    @command(group, "add")
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    @click.option("--village", required=True, help="村(居) / the village")
    @click.option("--group", "group_name", default="", help="村民小组 / the villager group")
    @click.option("--head", required=True, help="户主姓名 / the head of the household")
    @click.option("--phone", default="", help="户主电话 / the head's phone")
    @click.option("--size", type=int, required=True, help="家庭人口 / people in the household")
    @click.option("--cadre", "cadre", required=True, metavar="PHONE", help="联户干部电话 / the cadre's phone")
    @click.option("--tag", "tags", multiple=True, metavar="T", help="重点人群标签，可多次 / a 重点人群 tag")
    def add_cmd(
        lx: Lianxin,
        township: str | None,
        village: str,
        group_name: str,
        head: str,
        phone: str,
        size: int,
        cadre: str,
        tags: tuple[str, ...],
    ) -> None:
        """新增一户（不必重新导入名单）；最后一行是服务卡号 / add a household; prints its card number last."""
        new = register_svc.NewHousehold(
            village=village,
            group=group_name,
            head=head,
            phone=phone,
            size=size,
            cadre_phone=cadre,
            tags=tags,
        )
        for line in add_household(lx, new, township=township):
            click.echo(line)

    @command(group, "close")
    @click.argument("card")
    @click.option("--reason", type=click.Choice(list(register_svc.REASONS)), required=True)
    @click.option(
        "--date", "on", default=None, metavar="YYYY-MM-DD", help="销户日期，默认今天 / default today"
    )
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    def close_cmd(lx: Lianxin, card: str, reason: str, on: str | None, township: str | None) -> None:
        """销户：该户退出联户，卡号不再关联，已关联的微信被解除并通知 / the household leaves the programme."""
        click.echo(close_household(lx, card, reason=reason, on=cli_date(on, "--date"), township=township))
