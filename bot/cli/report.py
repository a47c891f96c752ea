"""``lianxin report month YYYY-MM | quarter YYYYQn | year YYYY [--format json|xlsx|html] [--out F]``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli.base import command, require_schema
from console.documents.report import render
from storage.assessment import build_report
from storage.audit import record
from storage.periods import parse_period
from storage.runtime import Lianxin


def register(main: click.Group) -> None:
    @command(main, "report")
    @click.argument("kind", type=click.Choice(["month", "quarter", "year"]))
    @click.argument("period")
    @click.option("--format", "fmt", type=click.Choice(["json", "xlsx", "html"]), default=None,
                  help="json（默认）、xlsx 或 html；省略时按 --out 的后缀决定")
    @click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
                  help="输出文件；json 省略时输出到屏幕，xlsx 必须指定")
    def report_cmd(lx: Lianxin, kind: str, period: str, fmt: str | None, out: str | None) -> None:
        """月通报、季点评、年考核 / monthly circular, quarterly review, annual assessment.

        \b
        例 lianxin report month 2026-11
           lianxin report quarter 2026Q4 --format xlsx --out 2026Q4.xlsx
           lianxin report year 2026 --out 2026.html
        """
        try:
            parse_period(kind, period)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="PERIOD") from None
        if fmt is None:
            suffix = Path(out).suffix.lower().lstrip(".") if out else "json"
            if suffix not in ("json", "xlsx", "html"):
                raise click.UsageError(f"无法从文件名 {out} 判断格式，请加 --format json、xlsx 或 html")
            fmt = suffix
        if fmt == "xlsx" and not out:
            raise click.UsageError("xlsx 需要用 --out 指定输出文件，例如 --out 月通报.xlsx")
        require_schema(lx)
        with lx.session() as s:
            report = build_report(s, lx.config, kind, period, now=lx.now())
            content = render(report, fmt)
            # write first, audit second (same transaction): a failed write leaves no "exported" record
            if out:  # an OSError rolls the session back; the CLI wrapper explains it in one line
                Path(out).write_bytes(content)
            else:
                sys.stdout.buffer.write(content)
                sys.stdout.flush()
            record(s, actor="cli", action="report.export", target=f"{kind}:{report.period}",
                   detail={"format": fmt, "out": out or "-", "cadres": len(report.cadres)})
        if out:
            click.echo(f"已导出 {out}（{len(report.cadres)} 名干部）", err=True)
