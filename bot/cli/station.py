"""The station's commands (PRODUCT.md "The station"):

- ``lianxin insights month YYYY-MM [--village V] [--format json|html] [--out F]``: 民情分析 of the month
  (console/documents/insights.py; counts only, no personal data). The export is audited as actor ``cli``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli.base import TOWNSHIP_HELP, command, require_schema, township_scope
from console.documents import insights as insights_document
from storage.audit import record
from storage.diary_book import DiaryBookError, village_by_name
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


def register(main: click.Group) -> None:
    insights_group(main)
