"""`lianxin cards` and `lianxin listing`: print service cards / the public listing (renderers in console/documents/printing.py)."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.base import command, require_schema
from console.documents import printing as docs
from storage.audit import record
from storage.periods import local_day
from storage.runtime import Lianxin


def register(main: click.Group) -> None:
    @command(main, "cards")
    @click.option("--village", default=None, help="只打印这个村(居) / only this village")
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="输出文件 .html 或 .pdf")
    def cards_cmd(lx: Lianxin, village: str | None, out: str) -> None:
        """打印便民服务卡（A4 每页 8 张，含二维码）/ print service cards."""
        _print(lx, "cards", village, out)

    @command(main, "listing")
    @click.option("--village", default=None, help="只公示这个村(居) / only this village")
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="输出文件 .html 或 .pdf")
    def listing_cmd(lx: Lianxin, village: str | None, out: str) -> None:
        """打印联户名单公示 / print the public listing of links."""
        _print(lx, "listing", village, out)


def _print(lx: Lianxin, kind: str, village: str | None, out: str) -> None:
    require_schema(lx)
    suffix = Path(out).suffix.lower()
    if suffix not in (".html", ".htm", ".pdf"):
        raise click.ClickException(f"不支持的输出格式 {suffix or '（无后缀）'}：请用 .html 或 .pdf")
    if suffix == ".pdf" and docs.find_chromium() is None:
        raise click.ClickException("未找到 Chromium，无法生成 PDF。请安装 chromium（Debian：apt-get install chromium），"
                                   "或改用 --out 文件.html 后在浏览器中打印。")
    try:
        with lx.session() as s:
            if kind == "cards":
                html, n = docs.render_cards(s, lx.config, village=village, now=lx.now())
                what = f"{n} 张服务卡（{(n + docs.CARDS_PER_PAGE - 1) // docs.CARDS_PER_PAGE} 页）"
            else:
                html, n = docs.render_listing(s, lx.config, village=village, today=local_day(lx.now(), lx.config.tz),
                                              mark=True)
                what = f"{n} 户的联户公示"
            path = docs.write(html, out)
            record(s, actor="cli", action=f"{kind}.print", target=f"village:{village or '*'}",
                   detail={"count": n, "out": str(path)})
    except docs.PrintError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"已生成 {what}：{path}")
