"""The station on the command line (issue 26; docs/station.md): ``lianxin department add|list`` (a township's
站办所 and its staff's WeChat accounts) and ``lianxin request transfer|answer|close|list`` (转办, the department's
answer, 办结, the requests with their departments). Thin wrappers over storage/station/; every change is audited
as actor ``cli``; the pushes are worded by ``Lianxin.words``."""

from __future__ import annotations

import json

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cli.base import TOWNSHIP_HELP, cli_date, command, require_schema, township_scope
from storage import station
from storage.models import Department, VillagerRequest
from storage.periods import local_text
from storage.runtime import Lianxin


def _township_id(lx: Lianxin, township: str | None) -> int:
    scope = township_scope(lx, township)
    if scope is None:
        raise click.ClickException("还没有导入任何乡镇 / import a township first (lianxin import)")
    return scope[0]


def _request(s: Session, number: int) -> VillagerRequest:
    req = s.scalar(select(VillagerRequest).where(VillagerRequest.number == number))
    if req is None:
        raise click.ClickException(f"没有第{number}号诉求 / no request {number}")
    return req


def department_commands(main: click.Group) -> None:
    @main.group("department")
    def department_group() -> None:
        """乡镇的站办所（转办诉求的部门）/ a township's departments (requests are passed to them)."""

    @command(department_group, "add")
    @click.argument("name")
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    @click.option(
        "--openid",
        "openids",
        multiple=True,
        help="部门工作人员的微信 openid（可多次；给出时替换原有的）/ a staff member's WeChat openid (repeatable; "
        "replaces the department's list when given)",
    )
    def department_add_cmd(lx: Lianxin, name: str, township: str | None, openids: tuple[str, ...]) -> None:
        """添加部门，或更新其工作人员微信 / add a department, or set its staff's WeChat accounts."""
        require_schema(lx)
        tid = _township_id(lx, township)
        try:
            with lx.session() as s:
                dept, made = station.add_or_update(
                    s, township_id=tid, name=name, actor="cli", openids=list(openids) if openids else None
                )
                click.echo(
                    f"{'已添加' if made else '已更新'}部门 {dept.name}（接收提醒的微信 {len(dept.openids or [])} 个）"
                )
        except station.StationError as e:
            raise click.ClickException(str(e)) from None

    @command(department_group, "list")
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    def department_list_cmd(lx: Lianxin, township: str | None) -> None:
        """各部门：控制台账号数、接收提醒的微信数、在办诉求数 / each department with its accounts and open requests."""
        require_schema(lx)
        scope = township_scope(lx, township)
        with lx.session() as s:
            rows = station.summary(s, scope[0] if scope else None)
            for row in rows:
                d = row["department"]
                assert isinstance(d, Department)
                click.echo(
                    f"{d.name}\t账号 {row['accounts']}\t微信 {row['openids']}\t在办 {row['open']}"
                    + ("" if d.active else "\t（已停用）")
                )
            if not rows:
                click.echo("还没有部门；用 lianxin department add 名称 添加 / no departments yet")


def transfer_commands(request_group: click.Group) -> None:
    @command(request_group, "transfer")
    @click.argument("number", type=int)
    @click.option("--to", "to", required=True, help="部门名称 / the department")
    @click.option("--due", default=None, metavar="DATE", help="办理时限 YYYY-MM-DD（默认若干工作日后）")
    @click.option("--note", default="", help="转办说明 / a note for the department")
    def request_transfer_cmd(lx: Lianxin, number: int, to: str, due: str | None, note: str) -> None:
        """把群众诉求转给部门办理（转办）/ pass a villager's request to a department."""
        require_schema(lx)
        day = cli_date(due, "--due")
        try:
            with lx.session() as s:
                req = _request(s, number)
                dept = station.by_name(s, station.township_of(s, req), to)
                t = station.transfer(
                    s,
                    request=req,
                    department=dept,
                    actor="cli",
                    now=lx.now(),
                    config=lx.config,
                    words=lx.wording().station(lx.config.tz),
                    due=day,
                    note=note,
                )
                click.echo(
                    f"已把第{number}号诉求转交{dept.name}办理，时限 {local_text(t.due, lx.config.tz)}。"
                )
        except station.StationError as e:
            raise click.ClickException(str(e)) from None

    @command(request_group, "answer")
    @click.argument("number", type=int)
    @click.option("--as", "as_", required=True, help="答复的部门 / the department answering")
    @click.option("--text", required=True, help="答复内容 / the answer")
    def request_answer_cmd(lx: Lianxin, number: int, as_: str, text: str) -> None:
        """部门答复转办的诉求（转给村民，并告诉联户干部）/ a department's answer to a request passed to it."""
        require_schema(lx)
        try:
            with lx.session() as s:
                req = _request(s, number)
                dept = station.by_name(s, station.township_of(s, req), as_)
                station.answer(
                    s,
                    request=req,
                    department=dept,
                    text=text,
                    actor="cli",
                    now=lx.now(),
                    config=lx.config,
                    words=lx.wording().station(lx.config.tz),
                )
                click.echo(f"已记录{dept.name}对第{number}号诉求的答复，并转给村民和联户干部。")
        except station.StationError as e:
            raise click.ClickException(str(e)) from None

    @command(request_group, "close")
    @click.argument("number", type=int)
    def request_close_cmd(lx: Lianxin, number: int) -> None:
        """办结诉求（连同转办）/ close a request (and its passing to a department)."""
        require_schema(lx)
        with lx.session() as s:
            req = _request(s, number)
            closed = station.close(s, request=req, actor="cli", now=lx.now())
        click.echo(f"第{number}号诉求{'已办结' if closed else '此前已办结'}。")


def list_command(request_group: click.Group) -> None:
    @command(request_group, "list")
    @click.option(
        "--department", default=None, help="只列转给该部门的 / only those passed to this department"
    )
    @click.option("--status", type=click.Choice(list(station.REQUEST_STATUSES)), default=None)
    @click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
    @click.option("--township", default=None, help=TOWNSHIP_HELP)
    def request_list_cmd(
        lx: Lianxin, department: str | None, status: str | None, fmt: str, township: str | None
    ) -> None:
        """群众诉求及其转办部门、时限 / villagers' requests with their departments and time limits."""
        require_schema(lx)
        scope = township_scope(lx, township)
        try:
            with lx.session() as s:
                dept_id = None
                if department:
                    if scope is None:
                        raise station.StationError(f"没有名为「{department}」的部门")
                    dept_id = station.by_name(s, scope[0], department).id
                rows = station.request_rows(
                    s,
                    tz=lx.config.tz,
                    township_id=scope[0] if scope else None,
                    department_id=dept_id,
                    status=status,
                )
        except station.StationError as e:
            raise click.ClickException(str(e)) from None
        if fmt == "json":
            click.echo(json.dumps({"requests": rows}, ensure_ascii=False, indent=2))
            return
        for r in rows:
            click.echo(
                "\t".join(
                    str(r[k] if r[k] is not None else "-")
                    for k in ("number", "household", "cadre", "department", "status", "received_at", "due")
                )
            )


def register(main: click.Group) -> None:
    """Add this file's commands to ``lianxin``."""
    department_commands(main)

    @main.group("request")
    def request_group() -> None:
        """群众诉求：转办、答复、办结、列表 / villagers' requests: transfer, answer, close, list."""

    transfer_commands(request_group)
    list_command(request_group)
