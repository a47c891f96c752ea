"""The office's remarks on the command line, under ``lianxin report``: ``report comment QUARTER (--cadre PHONE
| --village V) --text T`` (the 季点评; ``--text ""`` removes it), ``report commend YEAR PHONE --reason R``
(表彰; ``--withdraw`` takes it back) and ``report commended YEAR [--out F.xlsx]`` (the year's list for the
年终绩效考核). Thin wrappers over storage/remarks.py; every change and export is audited as actor ``cli``.
One function per command (each adds its command to the group it is given); ``register`` lists them.
"""

from __future__ import annotations

import click
from sqlalchemy import select

from bot.cli.base import TOWNSHIP_HELP, command, require_schema, township_scope
from console.documents.report import render_commendations_xlsx
from storage import remarks
from storage.assessment import build_report
from storage.audit import record
from storage.leave import LeaveError, cadre_by_phone
from storage.models import Village
from storage.runtime import Lianxin

SAID = {"saved": "已保存", "removed": "已删除", "unchanged": "没有变化"}


def report_comment(parent: click.Group) -> None:
    @command(parent, "comment")
    @click.argument("quarter", metavar="YYYYQn")
    @click.option("--cadre", "phone", default=None, metavar="PHONE", help="the cadre commented on")
    @click.option("--village", default=None, metavar="V", help="the village commented on")
    @click.option("--text", required=True, help='the 点评 (500 characters at most); --text "" removes it')
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    def comment_cmd(
        lx: Lianxin, quarter: str, phone: str | None, village: str | None, text: str, township: str | None
    ) -> None:
        """季度点评：对一个村(居)或一名干部 / the office's quarterly comment on a village or a cadre."""
        require_schema(lx)
        if (phone is None) == (village is None):
            raise click.UsageError("请给出 --cadre 电话 或 --village 村名（二者之一）")
        # a phone identifies a cadre across the county; a village's name needs its township there
        scope = township_scope(lx, township) if township is not None or village is not None else None
        try:
            with lx.session() as s:
                cadre = cadre_by_phone(s, phone) if phone is not None else None
                if cadre is not None and scope is not None and cadre.township_id != scope[0]:
                    raise remarks.RemarkError(f"干部 {cadre.name}（{cadre.phone}）不属于{scope[1]}")
                vil = None
                if village is not None:
                    stmt = select(Village).where(Village.name == village.strip())
                    if scope is not None:
                        stmt = stmt.where(Village.township_id == scope[0])
                    vil = s.scalar(stmt)
                    if vil is None:
                        raise remarks.RemarkError(f"没有名为「{village}」的村(居)")
                out = remarks.set_comment(
                    s, quarter=quarter, text=text, actor="cli", now=lx.now(), cadre=cadre, village=vil
                )
                who = cadre.name if cadre is not None else vil.name  # type: ignore[union-attr]
                click.echo(f"{remarks.quarter_key(quarter)} 对{who}的点评：{SAID[out]}。")
        except (remarks.RemarkError, LeaveError) as e:
            raise click.ClickException(str(e)) from None


def report_commend(parent: click.Group) -> None:
    @command(parent, "commend")
    @click.argument("year", metavar="YYYY")
    @click.argument("phone")
    @click.option("--reason", default=None, help="表彰事由 (100 characters at most)")
    @click.option("--withdraw", is_flag=True, help="take the commendation back")
    def commend_cmd(lx: Lianxin, year: str, phone: str, reason: str | None, withdraw: bool) -> None:
        """年度表彰：列入或撤销 / mark a cadre commended for the year (or withdraw it)."""
        require_schema(lx)
        try:
            with lx.session() as s:
                cadre = cadre_by_phone(s, phone)
                if withdraw:
                    out = remarks.uncommend(s, year=year, cadre=cadre, actor="cli", now=lx.now())
                else:
                    out = remarks.commend(s, year=year, cadre=cadre, reason=reason, actor="cli", now=lx.now())
                click.echo(f"{remarks.year_key(year)} 年度表彰 {cadre.name}（{cadre.phone}）：{SAID[out]}。")
        except (remarks.RemarkError, LeaveError) as e:
            raise click.ClickException(str(e)) from None


def report_commended(parent: click.Group) -> None:
    @command(parent, "commended")
    @click.argument("year", metavar="YYYY")
    @click.option(
        "--out", default=None, metavar="F.xlsx", help="write the list as xlsx (for the 年终绩效考核)"
    )
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    def commended_cmd(lx: Lianxin, year: str, out: str | None, township: str | None) -> None:
        """年度表彰名单 / the cadres commended for the year (xlsx with --out)."""
        require_schema(lx)
        scope = township_scope(lx, township)  # one township's list; a county deployment names which
        if out is not None and not out.lower().endswith(".xlsx"):
            raise click.UsageError("--out 应为 .xlsx 文件")
        try:
            key = remarks.year_key(year)
        except remarks.RemarkError as e:
            raise click.ClickException(str(e)) from None
        with lx.session() as s:
            if out is not None:
                report = build_report(s, lx.config, "year", key, now=lx.now(), township=scope)
                with open(out, "wb") as fh:
                    fh.write(render_commendations_xlsx(report))
                record(
                    s,
                    actor="cli",
                    action="report.export",
                    target=f"commendations:{key}",
                    detail={"format": "xlsx", "cadres": sum(1 for c in report.cadres if c.commended)},
                )
            rows = remarks.commendations(s, key, township_id=scope[0] if scope else None)
            for r in rows:
                click.echo("\t".join([r.village or "-", r.cadre.name, r.cadre.phone, r.reason]))
            click.echo(f"{key} 年度表彰：共 {len(rows)} 人。" + (f" 已写入 {out}" if out else ""))


def register(main: click.Group) -> None:
    """Add this file's commands to ``lianxin report`` (bot/cli/report.py makes the group; it registers first)."""
    report_group = main.commands["report"]
    assert isinstance(report_group, click.Group)
    for add in (report_comment, report_commend, report_commended):
        add(report_group)
