"""The office's month on the command line: ``lianxin leave add|list`` (a cadre's leave) and ``lianxin record
diary|request`` (a paper diary entry, a villager's request received by phone, visit or letter).

Thin wrappers: the work is in storage/leave.py and storage/offline.py (a request is made by storage/requests.py,
its push worded by ``Lianxin.words``); every change is audited as actor ``cli``. One function per command (each
adds its command to the group it is given); ``register`` lists them.
"""

from __future__ import annotations

from datetime import date, datetime

import click

from bot.cli.base import TOWNSHIP_HELP, cli_date, command, require_schema, township_scope
from storage import leave as leave_svc
from storage import offline
from storage.periods import parse_period
from storage.runtime import Lianxin


def _moment(lx: Lianxin, value: str | None) -> datetime:
    if value is None:
        return lx.now()
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"应为 ISO 时间 / expected ISO time: {value!r}", param_hint="--at") from None
    return t.replace(tzinfo=lx.config.tz) if t.tzinfo is None else t


def _mine(lx: Lianxin, township: str | None, township_id: int | None, what: str) -> None:
    """A cadre's phone or a card's number identifies them across the county; ``--township`` only checks it."""
    if township is None:
        return
    scope = township_scope(lx, township)
    if scope is not None and scope[0] != township_id:
        raise click.ClickException(f"{what}不属于{scope[1]} / not of that township")


def add_leave(
    lx: Lianxin, *, phone: str, start: date, end: date, reason: str | None, township: str | None = None
) -> str:
    with lx.session() as s:
        cadre = leave_svc.cadre_by_phone(s, phone)
        _mine(lx, township, cadre.township_id, f"干部 {cadre.name}（{cadre.phone}）")
        lv = leave_svc.add_leave(
            s, cadre=cadre, start=start, end=end, reason=reason, actor="cli", now=lx.now()
        )
        return f"已登记 {cadre.name}（{cadre.phone}）请假 {lv.start_date} 至 {lv.end_date}，共 {(lv.end_date - lv.start_date).days + 1} 天。"


def list_leave(lx: Lianxin, *, month: str, township: str | None = None) -> list[str]:
    p = parse_period("month", month)
    scope = township_scope(lx, township)
    lines = []
    with lx.session() as s:
        for row in leave_svc.month_leave(
            s, p.first.year, p.first.month, township_id=scope[0] if scope else None
        ):
            lv = row.leave
            lines.append(
                "\t".join(
                    [
                        row.village or "-",
                        row.cadre.name,
                        row.cadre.phone,
                        str(lv.start_date),
                        str(lv.end_date),
                        leave_svc.status_text(lv.status),
                        lv.reason or "",
                    ]
                )
            )
    return lines


def leave_group(parent: click.Group) -> click.Group:
    @parent.group("leave")
    def group() -> None:
        """干部请假 / a cadre's leave (no diary owed, no reminder on those days)."""

    return group


def leave_add(parent: click.Group) -> None:
    @command(parent, "add")
    @click.argument("phone")
    @click.option("--from", "start", required=True, metavar="DATE", help="first day (YYYY-MM-DD)")
    @click.option("--to", "end", required=True, metavar="DATE", help="last day (YYYY-MM-DD), inclusive")
    @click.option("--reason", default=None, help="事由 / reason")
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    def leave_add_cmd(
        lx: Lianxin, phone: str, start: str, end: str, reason: str | None, township: str | None
    ) -> None:
        """登记干部请假（即时批准） / record a cadre's leave (approved)."""
        require_schema(lx)
        try:
            click.echo(
                add_leave(
                    lx,
                    phone=phone,
                    start=cli_date(start, "--from"),
                    end=cli_date(end, "--to"),
                    reason=reason,
                    township=township,
                )
            )
        except leave_svc.LeaveError as e:
            raise click.ClickException(str(e)) from None


def leave_list(parent: click.Group) -> None:
    @command(parent, "list")
    @click.option("--month", default=None, metavar="YYYY-MM", help="default: this month")
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    def leave_list_cmd(lx: Lianxin, month: str | None, township: str | None) -> None:
        """列出某月的请假（按村） / the month's leave, by village."""
        require_schema(lx)
        month = month or lx.now().astimezone(lx.config.tz).strftime("%Y-%m")
        try:
            lines = list_leave(lx, month=month, township=township)
        except ValueError as e:
            raise click.ClickException(str(e)) from None
        click.echo("\t".join(["村(居)", "干部", "电话", "开始", "结束", "状态", "事由"]))
        for line in lines:
            click.echo(line)
        click.echo(f"{month}：共 {len(lines)} 条请假记录。")


def record_group(parent: click.Group) -> click.Group:
    @parent.group("record")
    def group() -> None:
        """补录线下记录 / enter what reached the office on paper or by phone."""

    return group


def record_diary(parent: click.Group) -> None:
    @command(parent, "diary")
    @click.argument("phone")
    @click.option("--date", "day", required=True, metavar="DATE", help="the diary's day (YYYY-MM-DD)")
    @click.option("--text", required=True, help="the entry as written on paper")
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    def record_diary_cmd(lx: Lianxin, phone: str, day: str, text: str, township: str | None) -> None:
        """补录一条纸质民情日记 / enter a paper diary entry for a cadre and day."""
        require_schema(lx)
        d = cli_date(day, "--date")
        try:
            with lx.session() as s:
                cadre = leave_svc.cadre_by_phone(s, phone)
                _mine(lx, township, cadre.township_id, f"干部 {cadre.name}（{cadre.phone}）")
                entry = offline.add_paper_diary(
                    s,
                    cadre=cadre,
                    day=d,
                    text=text,
                    actor="cli",
                    now=lx.now(),
                    today=lx.now().astimezone(lx.config.tz).date(),
                )
                click.echo(
                    f"已补录 {cadre.name}（{cadre.phone}）{entry.day} 的民情日记（第 {entry.id} 条，标记为补录）。"
                )
        except (leave_svc.LeaveError, offline.OfflineError) as e:
            raise click.ClickException(str(e)) from None


def record_request(parent: click.Group) -> None:
    @command(parent, "request")
    @click.argument("card")
    @click.option("--text", required=True, help="what the villager asked")
    @click.option("--via", type=click.Choice(list(offline.CHANNELS)), default="phone", show_default=True)
    @click.option("--at", default=None, metavar="ISO", help="when it was received (default: now)")
    @click.option(
        "--tell-link",
        "tell_link",
        type=int,
        default=None,
        metavar="N",
        help="答复也发给该户第 N 个关联的微信（默认只告诉联户干部）/ also relay the answer to the household's "
        "linked account number N (default: only the cadre is told)",
    )
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    def record_request_cmd(
        lx: Lianxin,
        card: str,
        text: str,
        via: str,
        at: str | None,
        tell_link: int | None,
        township: str | None,
    ) -> None:
        """登记群众经电话、来访或来信反映的诉求 / register a villager's request received offline."""
        require_schema(lx)
        when = _moment(lx, at)
        try:
            with lx.session() as s:
                h = offline.household_by_card(s, card)
                _mine(lx, township, h.village.township_id, f"卡号 {card} 的农户")
                answer_to = (
                    offline.linked_account_by_number(s, h, tell_link) if tell_link is not None else None
                )
                req = offline.add_offline_request(
                    s,
                    household=h,
                    text=text,
                    channel=via,
                    at=when,
                    actor="cli",
                    now=lx.now(),
                    words=lx.wording().requests,
                    config=lx.config,
                    answer_to=answer_to,
                )
                click.echo(
                    f"已登记诉求（{offline.CHANNELS[via]}），转给联户干部 {req.cadre.name}（{req.cadre.phone}）；"
                    + (
                        f"答复将转给该户第{tell_link}个关联的微信。"
                        if tell_link is not None
                        else "答复不发到农户微信，由干部告知。"
                    )
                )
                click.echo(str(req.number))
        except offline.OfflineError as e:
            raise click.ClickException(str(e)) from None


def register(main: click.Group) -> None:
    """Add this file's commands to ``lianxin``."""
    leave = leave_group(main)
    for add in (leave_add, leave_list):
        add(leave)
    record = record_group(main)
    for add in (record_diary, record_request):
        add(record)
