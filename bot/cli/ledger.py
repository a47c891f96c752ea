"""``lianxin ledger``: the 五个一 ledger — each cadre's duties to each household, done and missing."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.base import TOWNSHIP_HELP, command, require_schema, township_scope
from console.documents import ledger as ledger_render
from storage import audit
from storage.ledger import LedgerError, build_ledger
from storage.periods import parse_period
from storage.runtime import Lianxin


def run_ledger(
    lx: Lianxin,
    *,
    village: str | None,
    cadre: str | None,
    fmt: str,
    out: str | None,
    month: str | None = None,
    township: tuple[int, str] | None = None,
    tag: str | None = None,
) -> str | bytes:
    """Build, render, audit and (with ``out``) write the ledger; returns what was rendered."""
    today = lx.now().astimezone(lx.config.tz).date()
    with lx.session() as s:
        led = build_ledger(
            s,
            today=today,
            village=village,
            cadre_phone=cadre,
            month=month,
            township_id=township[0] if township else None,
            tag=tag,
        )
        content: str | bytes
        if fmt == "json":
            content = ledger_render.to_json(led)
        elif fmt == "html":
            content = ledger_render.to_html(
                led, township=township[1] if township else lx.config.general.township
            )
        else:
            content = ledger_render.to_xlsx(led)
        if out:  # write first, audit second (same transaction): a failed write leaves no "exported" record
            data = content.encode("utf-8") if isinstance(content, str) else content
            Path(out).write_bytes(data)  # an OSError rolls the session back (no audit record)
        audit.record(
            s,
            actor="cli",
            action="ledger.export",
            target=out or "stdout",
            detail={
                "format": fmt,
                "village": village,
                "tag": tag,
                "cadre": led["filters"]["cadre"],
                "month": led["month"],
                "cadres": len(led["cadres"]),
                "missing": len(led["missing"]),
            },
        )
    return content


def register(main: click.Group) -> None:
    @command(main, "ledger")
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    @click.option("--village", default=None, help="只看这个村（居） / one village")
    @click.option(
        "--cadre", "cadre", default=None, metavar="PHONE", help="只看这位干部 / one cadre, by phone"
    )
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["json", "xlsx", "html"]),
        default=None,
        help="json (default without --out), xlsx or html; with --out the suffix decides",
    )
    @click.option("--out", default=None, metavar="FILE", help="write to FILE instead of standard output")
    @click.option(
        "--month",
        default=None,
        metavar="YYYY-MM",
        help="month whose diary visits count (default: this month)",
    )
    @click.option(
        "--tag", default=None, metavar="T", help="只计有此重点人群标签的农户 / only households tagged T"
    )
    def ledger_cmd(
        lx: Lianxin,
        township: str | None,
        village: str | None,
        cadre: str | None,
        fmt: str | None,
        out: str | None,
        month: str | None,
        tag: str | None,
    ) -> None:
        """五个一台账：每位干部对每户的五个一完成情况与缺项 / the 五个一 ledger."""
        require_schema(lx)
        if fmt is None:
            suffix = Path(out).suffix.lower().lstrip(".") if out else ""
            fmt = suffix if suffix in ("json", "xlsx", "html") else "json"
        if fmt == "xlsx" and not out:
            raise click.ClickException("xlsx 需要 --out 文件 / xlsx needs --out FILE")
        if month is not None:
            try:
                month = parse_period("month", month).key
            except ValueError as e:
                raise click.ClickException(str(e)) from None
        try:
            content = run_ledger(
                lx,
                village=village,
                cadre=cadre,
                fmt=fmt,
                out=out,
                month=month,
                township=township_scope(lx, township),
                tag=tag,
            )
        except LedgerError as e:
            raise click.ClickException(str(e)) from None
        if out:
            click.echo(f"已写出五个一台账 / ledger written: {out}")
        else:
            assert isinstance(content, str)
            click.echo(content)
