"""``lianxin import FILE`` and ``lianxin import --template F``: the link list (联户名单)."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.base import command, require_schema
from handlers import link_notices
from storage import import_archive, townships
from storage.importer import (
    ImportPlan,
    ImportRefused,
    apply_import,
    plan_import,
    read_rows,
    write_template,
)
from storage.runtime import Lianxin


def _progress(stage: str, done: int, total: int) -> None:
    names = {"read": "已读取", "check": "已校验", "plan": "已比对", "write": "已写入"}
    of = f" / {total}" if total else ""
    click.echo(f"… {names.get(stage, stage)} {done}{of} 行", err=True)


def _refuse_register_edits(file: Path, plan: ImportPlan) -> None:
    """The list would undo changes made in the register since (storage/importer/register_edits.py): say which,
    write nothing, and ask for ``--yes``."""
    click.echo(
        f"文件 {file.name} 与 {len(plan.register_edits)} 处登记变更不一致，未导入任何数据 / the list undoes "
        "changes made in the register; nothing written:",
        err=True,
    )
    for e in plan.register_edits:
        click.echo(f"  {e}", err=True)
    click.echo("核对无误后，加 --yes 按名单导入 / add --yes to apply the list as it is", err=True)
    raise SystemExit(1)


def _report(file: Path, plan: ImportPlan, told: int) -> None:
    """What the import did (or why it wrote nothing: then exit 1)."""
    if not plan.ok:
        click.echo(
            f"文件 {file.name} 有 {len(plan.problems)} 处问题，未导入任何数据 / refused, nothing written:",
            err=True,
        )
        for p in plan.problems:
            click.echo(f"  {p}", err=True)
        raise SystemExit(1)
    click.echo(f"已导入 {file.name}（{plan.rows} 行）")
    for line in plan.summary_lines():
        click.echo(f"  {line}")
    for e in plan.register_edits:
        click.echo(f"  已按名单处理登记变更：{e}")
    if plan.moved_households:
        click.echo(
            f"  {len(plan.moved_households)} 户换了联户干部：服务卡换卡待发、承诺书待重签；已通知农户微信 {told} 个"
        )
    if (
        plan.counts.get("households_new", 0) + plan.counts.get("households_updated", 0) == 0
        and plan.counts.get("cadres_new", 0) + plan.counts.get("cadres_updated", 0) == 0
    ):
        click.echo("  全部未变 / everything unchanged")
    for w in plan.warnings:
        click.echo(f"警告：{w}")


def register(main: click.Group) -> None:
    @command(main, "import")
    @click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
    @click.option(
        "--template",
        "template",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="写出一个空白模板 (.xlsx)，含表头和一行示例 / write an empty template workbook",
    )
    @click.option(
        "--township",
        default=None,
        help="名单所属乡镇（名单无「乡镇」列时；全县部署需指明）/ the township of a list without a 乡镇 column",
    )
    @click.option(
        "--yes",
        is_flag=True,
        default=False,
        help="名单与登记变更（销户、新增、改联户干部）不一致时，确认按名单导入 / apply although the list undoes "
        "changes made in the register",
    )
    def import_cmd(
        lx: Lianxin, file: Path | None, template: Path | None, township: str | None, yes: bool
    ) -> None:
        """导入联户名单 (.xlsx / .csv) / import a link list; re-importing the same file changes nothing."""
        if template is not None:
            if file is not None:
                raise click.UsageError("give either FILE or --template F, not both")
            if template.suffix.lower() != ".xlsx":
                template = template.with_suffix(".xlsx")
            write_template(template)
            click.echo(f"已写出模板 / template written: {template}")
            return
        if file is None:
            raise click.UsageError("missing FILE (or --template F)")
        if not file.is_file():
            raise click.ClickException(f"找不到文件 / no such file: {file}")
        require_schema(lx)
        table = read_rows(file, progress=_progress)
        with lx.session() as s:
            if table.has_township and township:
                raise click.UsageError(
                    "名单已有「乡镇」列，不能再用 --township / the list names its townships"
                )
            try:
                name = (
                    lx.config.general.township
                    if table.has_township
                    else townships.resolve_name(s, township, default=lx.config.general.township)
                )
            except townships.TownshipRefused as e:
                raise click.ClickException(str(e)) from None
            told = 0
            plan = plan_import(
                s, table, township=name, minimum=lx.config.score.min_households, progress=_progress
            )
            if plan.ok and plan.needs_yes and not yes:
                _refuse_register_edits(file, plan)
            if plan.ok:
                try:
                    apply_import(s, plan, actor="cli", now=lx.now(), progress=_progress, yes=yes)
                    import_archive.keep(  # the list as submitted (storage/import_archive.py)
                        s,
                        data=file.read_bytes(),
                        filename=file.name,
                        township_id=None if plan.parts else plan.township_id,
                        rows=plan.rows,
                        counts=plan.counts,
                        actor="cli",
                        now=lx.now(),
                    )
                    told = link_notices.tell_villagers(s, plan.moved_households, tz=lx.config.tz)
                except ImportRefused as e:  # pragma: no cover - plan.ok was checked
                    raise click.ClickException(str(e)) from None
        _report(file, plan, told)
