"""``lianxin report month YYYY-MM | quarter YYYYQn | year YYYY [--format json|xlsx|html] [--out F]``, and the
published circulars: ``lianxin report publish KIND PERIOD [--township T | --county]``, ``lianxin report published
[KIND PERIOD] [--township T | --county]`` (a county: each township publishes its own, the county its county report).

``report`` is a group whose first word may also be a report kind: ``report month 2026-11`` runs the live report
(the interface fixed before publishing existed), ``report publish …``/``report published …`` the others.
One function per command (each adds its command to the group it is given); ``register`` lists them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bot.cli.base import TOWNSHIP_HELP, command, require_schema, township_scope
from console.documents import county_report as county_document
from console.documents import insights as insights_document
from console.documents import publishing
from console.documents.report import render
from storage import circulars, townships
from storage.actors import Names
from storage.assessment import build_report
from storage.assessment.county import build_county_report
from storage.audit import record
from storage.periods import parse_period
from storage.runtime import Lianxin
from storage.words import REPORT_KIND_ZH

KINDS = ("month", "quarter", "year")


class ReportGroup(click.Group):
    """``report KIND PERIOD …`` goes to the live report; ``report publish|published …`` to their commands."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] in KINDS:
            cmd = self.get_command(ctx, "live")
            assert cmd is not None
            return "live", cmd, args
        return super().resolve_command(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(
            ctx.command_path,
            "month|quarter|year PERIOD [--format F] [--out F] | publish KIND PERIOD"
            " | published [KIND PERIOD]"
            " [--township T | --county]",
        )


def report_group(parent: click.Group) -> click.Group:
    @parent.group("report", cls=ReportGroup)
    def group() -> None:
        """月通报、季点评、年考核；发布与已发布的通报 / reports, and the published circulars."""

    return group


def _emit(content: bytes, out: str | None) -> None:
    """A report's bytes to the file ``--out`` names, or to standard output."""
    if out:  # an OSError rolls the session back; the CLI wrapper explains it in one line
        Path(out).write_bytes(content)
    else:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()


def _live_format(fmt: str | None, out: str | None) -> str:
    """``--format``, else the suffix of ``--out``, else json; xlsx only into a file."""
    if fmt is None:
        suffix = Path(out).suffix.lower().lstrip(".") if out else "json"
        if suffix not in ("json", "xlsx", "html"):
            raise click.UsageError(f"无法从文件名 {out} 判断格式，请加 --format json、xlsx 或 html")
        fmt = suffix
    if fmt == "xlsx" and not out:
        raise click.UsageError("xlsx 需要用 --out 指定输出文件，例如 --out 月通报.xlsx")
    return fmt


def report_live(parent: click.Group) -> None:
    @command(parent, "live", hidden=True)
    @click.argument("kind", type=click.Choice(list(KINDS)))
    @click.argument("period")
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["json", "xlsx", "html"]),
        default=None,
        help="json（默认）、xlsx 或 html；省略时按 --out 的后缀决定",
    )
    @click.option(
        "--out",
        "out",
        type=click.Path(dir_okay=False, writable=True),
        default=None,
        help="输出文件；json 省略时输出到屏幕，xlsx 必须指定",
    )
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    @click.option("--county", is_flag=True, help="全县报表：各乡镇排名与全县干部排名 / the county report")
    def report_cmd(
        lx: Lianxin,
        kind: str,
        period: str,
        fmt: str | None,
        out: str | None,
        township: str | None,
        county: bool,
    ) -> None:
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
        fmt = _live_format(fmt, out)
        require_schema(lx)
        if county and township:
            raise click.UsageError("--county 与 --township 只能选一个 / give one of --county and --township")
        if county:
            _county_report(lx, kind, period, fmt, out)
            return
        scope = township_scope(lx, township)
        with lx.session() as s:
            report = build_report(s, lx.config, kind, period, now=lx.now(), township=scope)
            insights_document.attach(s, lx.config, report, scope[0] if scope else None)
            # write first, audit second (same transaction): a failed write leaves no "exported" record
            _emit(render(report, fmt), out)
            record(
                s,
                actor="cli",
                action="report.export",
                target=f"{kind}:{report.period}",
                detail={"format": fmt, "out": out or "-", "cadres": len(report.cadres)},
            )
        if out:
            click.echo(f"已导出 {out}（{len(report.cadres)} 名干部）", err=True)


def _county_report(lx: Lianxin, kind: str, period: str, fmt: str, out: str | None) -> None:
    """``report KIND PERIOD --county``: the county report (every township ranked, every cadre of the county)."""
    with lx.session() as s:
        data = build_county_report(s, lx.config, kind, period, now=lx.now())
        _emit(county_document.render(data, fmt), out)
        record(
            s,
            actor="cli",
            action="report.export",
            target=f"county:{kind}:{data['period']}",
            detail={
                "format": fmt,
                "out": out or "-",
                "townships": len(data["townships"]),
                "cadres": len(data["cadres"]),
            },
        )
    if out:
        click.echo(f"已导出 {out}（{len(data['townships'])} 个乡镇，{len(data['cadres'])} 名干部）", err=True)


def _scope(lx: Lianxin, township: str | None, county: bool) -> tuple[int, str] | None:
    """The township a published circular is for; None: the county's (``--county``)."""
    if county and township:
        raise click.UsageError("--county 与 --township 只能选一个 / give one of --county and --township")
    if county:
        return None
    scope = township_scope(lx, township)
    if scope is None:
        raise click.ClickException("尚无乡镇的数据，请先导入联户名单 / nothing imported yet")
    return scope


def _county_deployment(lx: Lianxin) -> bool:
    with lx.session() as s:
        return townships.is_county(s)


def report_publish(parent: click.Group) -> None:
    @command(parent, "publish")
    @click.argument("kind", type=click.Choice(list(KINDS)))
    @click.argument("period")
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    @click.option(
        "--county", is_flag=True, help="发布全县报表（不推送）/ publish the county report (no pushes)"
    )
    def publish_cmd(lx: Lianxin, kind: str, period: str, township: str | None, county: bool) -> None:
        """发布通报：冻结本乡镇本期报告（json、xlsx、html、pdf）并把各自在本乡镇的得分和名次推送给每位已绑定的干部 /
        publish the township's circular (frozen) and push each bound cadre their own score and rank, once."""
        require_schema(lx)
        scope = _scope(lx, township, county)
        try:
            with lx.session() as s:
                if scope is None:
                    out = publishing.publish_county(s, lx.config, kind, period, actor="cli", now=lx.now())
                else:
                    out = publishing.publish(
                        s, lx.config, kind, period, township=scope, actor="cli", now=lx.now()
                    )
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="PERIOD") from None
        key = parse_period(kind, period).key
        whose = "全县" if scope is None else (scope[1] if _county_deployment(lx) else "")
        if not out.published:
            click.echo(
                f"{whose}{REPORT_KIND_ZH[kind]} {key} 已经发布过，未做任何改动，也没有再推送 / already published: nothing sent"
            )
            return
        click.echo(
            f"已发布{whose}{REPORT_KIND_ZH[kind]} {key}：{len(out.formats)} 个文件（{'、'.join(out.formats)}），{out.cadres} 名干部，"
            f"推送 {out.pushes} 条（由投递进程发出）"
        )
        if out.pdf_error:
            click.echo(f"注意：没有 PDF —— {out.pdf_error}", err=True)


def report_published(parent: click.Group) -> None:
    @command(parent, "published")
    @click.argument("kind", type=click.Choice(list(KINDS)), required=False)
    @click.argument("period", required=False)
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(list(circulars.FORMATS)),
        default=None,
        help="json（默认）、xlsx、html 或 pdf；省略时按 --out 的后缀决定",
    )
    @click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None)
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    @click.option("--county", is_flag=True, help="全县报表 / the county report")
    def published_cmd(
        lx: Lianxin,
        kind: str | None,
        period: str | None,
        fmt: str | None,
        out: str | None,
        township: str | None,
        county: bool,
    ) -> None:
        """已发布的通报；给出期别时输出发布时保存的文件 / the published circulars, or one as published.

        不给期别时：全县部署未指明 --township 列出所有乡镇和全县的 / without a period, a county lists every one."""
        require_schema(lx)
        if kind is None:
            _list_published(lx, township, county)
            return
        if period is None:
            raise click.UsageError("请给出期别，例如 lianxin report published month 2026-11")
        try:
            key = parse_period(kind, period).key
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="PERIOD") from None
        if fmt is None:
            fmt = Path(out).suffix.lower().lstrip(".") if out else "json"
            if fmt not in circulars.FORMATS:
                raise click.UsageError(f"无法从文件名 {out} 判断格式，请加 --format")
        if fmt in ("xlsx", "pdf") and not out:
            raise click.UsageError(f"{fmt} 需要用 --out 指定输出文件")
        scope = _scope(lx, township, county)
        tid = scope[0] if scope else None
        with lx.session() as s:
            content = circulars.stored_file(s, kind, key, fmt, tid)
            if content is None:
                raise click.ClickException(
                    f"{REPORT_KIND_ZH[kind]} {key} 没有已发布的 {fmt} 文件 / not published"
                    + ("" if circulars.is_published(s, kind, key, tid) else "（尚未发布）")
                )
            _emit(content, out)
            record(
                s,
                actor="cli",
                action="report.export_published",
                target=f"{kind}:{key}" + (":county" if tid is None else f":township:{tid}"),
                detail={"format": fmt, "out": out or "-"},
            )


def _list_published(lx: Lianxin, township: str | None, county: bool) -> None:
    """``report published`` without a period: one township's circulars, or in a county (no ``--township``) every
    township's and the county's."""
    every = not county and not township and _county_deployment(lx)
    tid = None if every else (scope[0] if (scope := _scope(lx, township, county)) else None)
    with lx.session() as s:
        rows = circulars.published(s, tid, every=every)
        names = Names(s).load(actors=[p.published_by for p in rows])
    for p in rows:
        click.echo(
            f"{REPORT_KIND_ZH.get(p.kind, p.kind)}\t{p.period}\t{p.published_at.astimezone(lx.config.tz):%Y-%m-%d %H:%M}\t"
            f"{names.actor(p.published_by)}\t{','.join(sorted(p.formats))}"
            + (f"\t{p.township or '全县'}" if every else "")
        )
    click.echo(f"共 {len(rows)} 期已发布。")


def register(main: click.Group) -> None:
    """Add this file's commands to ``lianxin``: the group, then one function per command."""
    group = report_group(main)
    for add in (report_live, report_publish, report_published):
        add(group)
