"""The station's commands (PRODUCT.md "The station"):

- ``lianxin insights month YYYY-MM [--village V] [--format json|html] [--out F]``: 民情分析 of the month
  (console/documents/insights.py; counts only, no personal data). The export is audited as actor ``cli``.
- ``lianxin meeting add --village V --date D --title T [--villagers N] [--cadre PHONE …] [--note TEXT]
  [--notify]``: a 动员会 on the village's register (storage/meetings.py); ``--notify`` queues its notice to the
  village's linked households (handlers/meeting_notices.py), once. Audited as actor ``cli``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from bot.cli.base import TOWNSHIP_HELP, cli_date, command, require_schema, township_scope
from console.documents import insights as insights_document
from handlers import meeting_notices
from storage import meetings
from storage.audit import record
from storage.diary_book import DiaryBookError, village_by_name
from storage.models import Cadre
from storage.periods import parse_period
from storage.runtime import Lianxin


def insights_group(main: click.Group) -> None:
    @main.group("insights")
    def group() -> None:
        """民情分析：诉求类别、关键词、答复快慢 / what villagers asked about."""

    @command(group, "month")
    @click.argument("period", metavar="YYYY-MM")
    @click.option("--village", default=None, metavar="V", help="one village (村名)")
    @click.option("--format", "fmt", type=click.Choice(["json", "html"]), default=None)
    @click.option("--out", default=None, type=click.Path(dir_okay=False, writable=True), metavar="F")
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    def month_cmd(
        lx: Lianxin, period: str, village: str | None, fmt: str | None, out: str | None, township: str | None
    ) -> None:
        """一个月的民情分析（JSON 或 HTML，不含个人信息）/ a month's insights.

        \b
        例 lianxin insights month 2026-11
           lianxin insights month 2026-11 --village 新桥村 --out 新桥村11月.html
        """
        try:
            parse_period("month", period)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="YYYY-MM") from None
        fmt = fmt or ("html" if out and Path(out).suffix.lower() in (".html", ".htm") else "json")
        require_schema(lx)
        scope = township_scope(lx, township)
        with lx.session() as s:
            try:
                v = village_by_name(s, village, township_id=scope[0] if scope else None) if village else None
            except DiaryBookError as e:
                raise click.ClickException(str(e)) from None
            data = insights_document.build(
                s,
                lx.config,
                period,
                township_id=scope[0] if scope else None,
                village=(v.id, v.name) if v else None,
            )
            title = f"{data.village or (scope[1] if scope else '')}{data.period} 民情分析"
            content = (
                insights_document.render_json(data)
                if fmt == "json"
                else insights_document.render_html(data, title).encode("utf-8")
            )
            if out:
                Path(out).write_bytes(content)
            else:
                sys.stdout.buffer.write(content)
                sys.stdout.flush()
            record(
                s,
                actor="cli",
                action="insights.export",
                target=f"month:{data.period}",
                detail={"format": fmt, "out": out or "-", "village": data.village},
            )
        if out:
            click.echo(f"已导出 {out}（{data.requests} 件诉求）", err=True)


def meeting_group(main: click.Group) -> None:
    @main.group("meeting")
    def group() -> None:
        """动员会登记与通知 / a village's meeting register."""

    @command(group, "add")
    @click.option("--village", required=True, metavar="V", help="村名")
    @click.option("--date", "day", required=True, metavar="YYYY-MM-DD")
    @click.option("--title", required=True, metavar="T")
    @click.option("--villagers", default=0, type=int, help="到会群众人数 / villagers who came (a count)")
    @click.option("--cadre", "phones", multiple=True, metavar="PHONE", help="到会干部的电话（可多次）")
    @click.option("--note", default=None)
    @click.option("--notify", is_flag=True, help="通知本村已联户的农户（每个关联微信一条，重复执行不重发）")
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    def add_cmd(
        lx: Lianxin,
        village: str,
        day: str,
        title: str,
        villagers: int,
        phones: tuple[str, ...],
        note: str | None,
        notify: bool,
        township: str | None,
    ) -> None:
        """登记一次动员会（--notify 通知本村联户农户）/ record a 动员会 and, with --notify, tell the village.

        \b
        例 lianxin meeting add --village 新桥村 --date 2026-11-28 --title 冬季防火动员会 --villagers 45 --notify
        """
        when = cli_date(day, "--date")
        require_schema(lx)
        scope = township_scope(lx, township)
        with lx.session() as s:
            try:
                v = village_by_name(s, village, township_id=scope[0] if scope else None)
                cadres = [_cadre(s, p) for p in phones]
                meeting, new = meetings.add(
                    s,
                    village=v,
                    day=when,
                    title=title,
                    villagers=villagers,
                    cadres=cadres,
                    note=note,
                    by="cli",
                    now=lx.now(),
                )
            except (DiaryBookError, meetings.MeetingError) as e:
                raise click.ClickException(str(e)) from None
            if new:
                record(
                    s,
                    actor="cli",
                    action="meeting.add",
                    target=f"meeting:{meeting.id}",
                    detail={"village": v.name, "day": when.isoformat()},
                )
            said = f"已登记{v.name} {when.isoformat()}“{meeting.title}”" if new else f"{v.name}已有这次动员会"
            if notify:
                sent = meeting_notices.notify(s, meeting, config=lx.config, now=lx.now())
                record(
                    s,
                    actor="cli",
                    action="meeting.notify",
                    target=f"meeting:{meeting.id}",
                    detail={"villagers": sent.villagers, "cadres": sent.cadres},
                )
                said += f"；通知已排队：村民 {sent.villagers} 条，干部 {sent.cadres} 条"
        click.echo(said)


def _cadre(s: Any, phone: str) -> Cadre:
    found = s.scalar(select(Cadre).where(Cadre.phone == phone.strip()))
    if found is None:
        raise meetings.MeetingError(f"没有电话为 {phone} 的干部")
    return found


def register(main: click.Group) -> None:
    insights_group(main)
    meeting_group(main)
