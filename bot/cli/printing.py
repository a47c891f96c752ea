"""`lianxin cards`, `lianxin listing` and `lianxin commitments`: print service cards / the public listing / the
联户工作承诺书, a letter per linked household (renderers in
console/documents/printing.py; QR codes made through the API in console/documents/card_codes.py)."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.base import TOWNSHIP_HELP, command, require_schema, township_scope
from console.documents import card_codes
from console.documents import printing as docs
from storage import cards
from storage.audit import record
from storage.periods import local_day
from storage.runtime import Lianxin


def register(main: click.Group) -> None:
    @command(main, "cards")
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    @click.option("--village", default=None, help="只打印这个村(居) / only this village")
    @click.option(
        "--out", "out", required=True, type=click.Path(dir_okay=False), help="输出文件 .html 或 .pdf"
    )
    @click.option(
        "--renumber",
        is_flag=True,
        help="打印前给这些卡换发新的随机卡号（旧号作废，二维码不变）/ re-issue random numbers first",
    )
    def cards_cmd(lx: Lianxin, township: str | None, village: str | None, out: str, renumber: bool) -> None:
        """打印便民服务卡（A4 每页 8 张，含微信二维码）/ print service cards."""
        _check_out(out)
        require_schema(lx)
        tid = _township_id(lx, township)
        if renumber:
            _renumber(lx, village, tid)
        try:
            with lx.session() as s:
                ids = [c.id for c in docs.printable_cards(s, village=village, township_id=tid)]
        except docs.PrintError as e:
            raise click.ClickException(str(e)) from None

        def progress(i: int, n: int) -> None:
            if i and (i == n or i % 50 == 0):
                click.echo(f"二维码 {i}/{n}", err=True)

        # Never refused for the account's sake (48001 while 微信认证 is pending, no credentials, …): the cards
        # print without the codes it could not make, and say why; a later print adds them.
        got = card_codes.codes_for_print(lx, ids, progress=progress)
        if got.run.created:
            with lx.session() as s:
                record(
                    s,
                    actor="cli",
                    action="cards.qr_create",
                    target=f"village:{village or '*'}",
                    detail={"created": got.run.created},
                )
            click.echo(f"新建二维码 {got.run.created} 个，沿用 {got.run.kept} 个", err=True)
        if got.notice:
            click.echo(got.notice, err=True)
        notice = got.notice
        _print(lx, "cards", village, out, tid, notice=notice)

    @command(main, "listing")
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    @click.option("--village", default=None, help="只公示这个村(居) / only this village")
    @click.option(
        "--out", "out", required=True, type=click.Path(dir_okay=False), help="输出文件 .html 或 .pdf"
    )
    def listing_cmd(lx: Lianxin, township: str | None, village: str | None, out: str) -> None:
        """打印联户名单公示（不含卡号）/ print the public listing of links (no card numbers)."""
        _check_out(out)
        require_schema(lx)
        _print(lx, "listing", village, out, _township_id(lx, township))

    commitments_command(main)  # lianxin commitments (联户工作承诺书)


def commitments_command(main: click.Group) -> None:
    @command(main, "commitments")
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    @click.option("--village", default=None, help="只打印这个村(居) / only this village")
    @click.option(
        "--out", "out", required=True, type=click.Path(dir_okay=False), help="输出文件 .html 或 .pdf"
    )
    def commitments_cmd(lx: Lianxin, township: str | None, village: str | None, out: str) -> None:
        """打印联户工作承诺书（每户一页）/ print the commitment letters, one per linked household."""
        _check_out(out)
        require_schema(lx)
        _print(lx, "commitments", village, out, _township_id(lx, township))


def _township_id(lx: Lianxin, name: str | None) -> int | None:
    scope = township_scope(lx, name)
    return scope[0] if scope else None


def _check_out(out: str) -> None:
    suffix = Path(out).suffix.lower()
    if suffix not in (".html", ".htm", ".pdf"):
        raise click.ClickException(f"不支持的输出格式 {suffix or '（无后缀）'}：请用 .html 或 .pdf")
    if suffix == ".pdf" and docs.find_chromium() is None:
        raise click.ClickException(
            "未找到 Chromium，无法生成 PDF。请安装 chromium（Debian：apt-get install chromium），"
            "或改用 --out 文件.html 后在浏览器中打印。"
        )


def _renumber(lx: Lianxin, village: str | None, township_id: int | None) -> None:
    """New random numbers for the cards about to be printed; the old numbers stop linking. Audited."""
    try:
        with lx.session() as s:
            printable = docs.printable_cards(s, village=village, township_id=township_id)
            changes = cards.renumber(s, printable, changed_by="cli", now=lx.now())
            record(
                s,
                actor="cli",
                action="cards.renumber",
                target=f"village:{village or '*'}",
                detail={"count": len(changes)},
            )
    except docs.PrintError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"已换发 {len(changes)} 个新卡号（旧卡号即日起不能再用于关联）", err=True)


def _print(
    lx: Lianxin,
    kind: str,
    village: str | None,
    out: str,
    township_id: int | None,
    *,
    notice: str | None = None,
) -> None:
    try:
        with lx.session() as s:
            if kind == "cards":
                html, n = docs.render_cards(
                    s, lx.config, village=village, now=lx.now(), notice=notice, township_id=township_id
                )
                what = f"{n} 张服务卡（{(n + docs.CARDS_PER_PAGE - 1) // docs.CARDS_PER_PAGE} 页）"
            elif kind == "commitments":
                html, n = docs.render_commitments(
                    s,
                    lx.config,
                    village=village,
                    today=local_day(lx.now(), lx.config.tz),
                    township_id=township_id,
                )
                what = f"{n} 份联户工作承诺书"
            else:
                html, n = docs.render_listing(
                    s,
                    lx.config,
                    village=village,
                    today=local_day(lx.now(), lx.config.tz),
                    mark=True,
                    township_id=township_id,
                )
                what = f"{n} 户的联户公示"
            path = docs.write(html, out)
            record(
                s,
                actor="cli",
                action=f"{kind}.print",
                target=f"village:{village or '*'}",
                detail={"count": n, "out": str(path)},
            )
    except docs.PrintError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"已生成 {what}：{path}")
