"""``lianxin diary-book --cadre PHONE --month YYYY-MM --out F``: a cadre's 民情日记 of the month for the archive,
as .html or .pdf by the suffix of F (console/documents/diary_book.py); ``--village V`` instead of ``--cadre``
prints every cadre of the village in one file. The export is audited as actor ``cli``.
"""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.base import TOWNSHIP_HELP, command, require_schema, township_scope
from console.documents import diary_book, printing
from storage import diary_book as book_data
from storage.runtime import Lianxin


def make(
    lx: Lianxin,
    *,
    month: str,
    out: str,
    phone: str | None = None,
    village: str | None = None,
    township: str | None = None,
) -> str:
    """Write the book to ``out``; returns the line to print. DiaryBookError / PrintError say what is wrong,
    before anything is written."""
    suffix = Path(out).suffix.lower()
    if suffix not in (".html", ".htm", ".pdf"):
        raise printing.PrintError(f"不支持的输出格式 {suffix or '（无后缀）'}：请用 .html 或 .pdf")
    if (phone is None) == (village is None):
        raise book_data.DiaryBookError("请给出 --cadre 电话 或 --village 村名（二者之一）")
    book_data.month_period(month)  # a bad month is refused before the database is read
    # A cadre's phone identifies them across a county (--township only checks it); a village's name needs its
    # township where the deployment holds several (township_scope stops with the names).
    scope = township_scope(lx, township) if township is not None or village is not None else None
    with lx.read_session() as s:
        cadre = book_data.cadre_by_phone(s, phone) if phone is not None else None
        if cadre is not None and scope is not None and cadre.township_id != scope[0]:
            raise book_data.DiaryBookError(
                f"干部 {cadre.name}（{cadre.phone}）不属于{scope[1]} / not of that township"
            )
        vil = (
            book_data.village_by_name(s, village, township_id=scope[0] if scope else None)
            if village is not None
            else None
        )
        today = lx.now().astimezone(lx.config.tz).date()
        book = diary_book.make_book(s, lx.config, month=month, cadre=cadre, village=vil, today=today)
    path = printing.write(book.html, out)  # a failed PDF stops here: no audit row for a book not made
    with lx.session() as s:
        diary_book.record_export(s, book, actor="cli", fmt=suffix.lstrip("."))
    who = f"{book.cadres} 名干部" if vil is not None else "1 名干部"
    return f"已生成 {book.name}：{who}，{book.entries} 条日记 → {path}"


def register(main: click.Group) -> None:
    @command(main, "diary-book")
    @click.option("--cadre", "phone", default=None, metavar="PHONE", help="the cadre's phone (干部电话)")
    @click.option(
        "--village", default=None, metavar="V", help="instead of --cadre: every cadre of the village"
    )
    @click.option("--month", required=True, metavar="YYYY-MM")
    @click.option("--out", required=True, metavar="F", help=".html or .pdf")
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    def diary_book_cmd(
        lx: Lianxin, phone: str | None, village: str | None, month: str, out: str, township: str | None
    ) -> None:
        """打印干部的《民情日记》月册 / print a cadre's diary of the month (A4, .html or .pdf)."""
        require_schema(lx)
        try:
            click.echo(make(lx, month=month, out=out, phone=phone, village=village, township=township))
        except (book_data.DiaryBookError, printing.PrintError) as e:
            raise click.ClickException(str(e)) from None
