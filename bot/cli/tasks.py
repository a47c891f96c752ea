"""Supervision cards, scheduled jobs, the scheduler and the outbox from the command line.

``lianxin task create|list|show|return|extend|cancel|overdue``, ``lianxin jobs list|run``,
``lianxin scheduler``, ``lianxin outbox [--failed] [--retry ID]``. Times without a zone are read in the
configured time zone; a deadline given as a bare date means the end of that day (23:59).

One function per command (each adds its command to the group it is given); ``register`` lists them.
"""

from __future__ import annotations

import json
import re
import signal
import threading
from datetime import date, datetime, time
from typing import Any

import click

from bot.cli.base import command, require_schema, township_scope
from reminders import delivery, holds, jobs, scheduler
from reminders.idle import why_idle
from storage import tasks, townships
from storage.cards import mask_openid
from storage.runtime import Lianxin
from storage.words import EXTENSION_ZH, JOB_ZH, PUSH_KIND_ZH, shorten, status_zh, trigger_zh


def parse_when(value: str, tz: Any, *, end_of_day: bool = False, what: str = "time") -> datetime:
    v = value.strip().replace("/", "-")
    try:
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", v):
            y, m, d = (int(x) for x in v.split("-"))
            return datetime.combine(date(y, m, d), time(23, 59) if end_of_day else time(0, 0), tzinfo=tz)
        dt = datetime.fromisoformat(v)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: 应为 ISO 时间，如 2026-12-01T18:00 或 2026-12-01", param_hint=what
        ) from None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=tz)


def _local(lx: Lianxin, moment: datetime | None) -> str:
    return moment.astimezone(lx.config.tz).strftime("%Y-%m-%d %H:%M") if moment else "-"


LIGHT = {"green": "绿", "yellow": "黄", "red": "红", "late": "逾期完成"}


def task_group(parent: click.Group) -> click.Group:
    @parent.group("task")
    def group() -> None:
        """督办卡 / supervision cards."""

    return group


def task_create(parent: click.Group) -> None:
    @command(parent, "create")
    @click.option("--title", required=True, help="标题")
    @click.option("--body", default="", help="内容")
    @click.option("--deadline", required=True, help="截止时间 ISO（只写日期 = 当天 23:59）")
    @click.option(
        "--to",
        "targets",
        multiple=True,
        help="对象：all | township:乡镇 | village:村名 | cadre:电话（可重复；默认 all）",
    )
    @click.option(
        "--township",
        default=None,
        help="以该乡镇办公室名义下发，只发该乡镇干部；不写 = 县里下发 / issue as this township's office",
    )
    @click.option("--publish-at", "publish_at", default=None, help="定时发布 ISO（默认立即）")
    @click.option("--household", "households", multiple=True, help="相关农户的服务卡号（可重复）")
    def create_cmd(
        lx: Lianxin,
        title: str,
        body: str,
        deadline: str,
        targets: tuple[str, ...],
        township: str | None,
        publish_at: str | None,
        households: tuple[str, ...],
    ) -> None:
        """发布督办卡；最后一行输出编号 / issue a card; prints its number last."""
        require_schema(lx)
        tz = lx.config.tz
        dl = parse_when(deadline, tz, end_of_day=True, what="--deadline")
        pa = parse_when(publish_at, tz, what="--publish-at") if publish_at else None
        # A one-township deployment's cards are its township's; in a county a card without --township is the
        # county's (``--to all`` then reaches every cadre of the county).
        with lx.session() as s:
            single = townships.count(s) <= 1
        scope = township_scope(lx, township) if township or single else None
        try:
            with lx.session() as s:
                hh = tasks.households_by_cards(s, list(households)) if households else []
                to = tasks.parse_targets(s, targets, scope[0] if scope else None)  # the --to words, once
                office = scope[1] if scope else lx.config.general.township
                task = tasks.create_task(
                    s,
                    title=title,
                    body=body,
                    deadline=dl,
                    targets=to,
                    publish_at=pa,
                    actor="cli",
                    households=hh,
                    now=lx.now(),
                    tz=tz,
                    words=lx.wording().task_published(tz, office),
                    township_id=scope[0] if scope else None,
                )
                n = len(task.assignments) if task.published_at else 0
                number, published = task.number, task.published_at
        except tasks.TaskError as e:
            raise click.ClickException(str(e)) from None
        if published:
            click.echo(f"督办卡第{number}号已发布，派给 {n} 名干部，推送已排队（dispatch_outbox 发送）。")
        else:
            click.echo(f"督办卡第{number}号将于 {_local(lx, pa)} 发布。")
        click.echo(str(number))


def task_list(parent: click.Group) -> None:
    @command(parent, "list")
    def list_cmd(lx: Lianxin) -> None:
        """所有督办卡及进度 / every card with its progress."""
        require_schema(lx)
        with lx.session() as s:
            rows = tasks.list_tasks(s, now=lx.now(), yellow_hours=lx.config.scheduler.yellow_hours)
        if not rows:
            click.echo("还没有督办卡。")
        for r in rows:
            state = (
                "待发布"
                if not r["published_at"]
                else f"{r['answered']}/{r['assigned']} 已反馈，{r['done']} 完成，{r['overdue']} 逾期"
            )
            click.echo(
                f"{r['number']:>4}  [{LIGHT[r['light']]}] {r['title']}  截止 {_local(lx, r['deadline'])}  {state}"
            )


def task_show(parent: click.Group) -> None:
    @command(parent, "show")
    @click.argument("number", type=int)
    def show_cmd(lx: Lianxin, number: int) -> None:
        """一张督办卡的进度看板 / one card's progress board."""
        require_schema(lx)
        try:
            with lx.session() as s:
                b = tasks.board(s, number=number, now=lx.now(), yellow_hours=lx.config.scheduler.yellow_hours)
        except tasks.TaskError as e:
            raise click.ClickException(str(e)) from None
        t = b.task
        click.echo(f"督办卡第{t.number}号：{t.title}")
        if t.body:
            click.echo(t.body)
        click.echo(
            f"截止 {_local(lx, t.deadline)}；发布 {_local(lx, t.published_at) if t.published_at else '未发布（定时 ' + _local(lx, t.publish_at) + '）'}；对象 {'、'.join(_target_zh(x) for x in t.targets)}"
        )
        click.echo(
            "状态："
            + "，".join(f"{tasks.STATUS_LABELS[k]} {v}" for k, v in sorted(b.counts.items()))
            + "；灯："
            + "，".join(f"{LIGHT[k]} {v}" for k, v in sorted(b.lights.items()))
        )
        for r in b.rows:
            ext = f" {EXTENSION_ZH.get(r.extension_status, r.extension_status)}" if r.extension_status else ""
            fb = f"  「{r.last_feedback}」" if r.last_feedback else ""
            click.echo(
                f"  [{LIGHT[r.light]}] {r.village} {r.cadre_name} {r.phone}  {r.status_label}  截止 {_local(lx, r.deadline)}{ext}{fb}"
            )


def task_return(parent: click.Group) -> None:
    @command(parent, "return")
    @click.argument("number", type=int)
    @click.argument("phone")
    @click.option("--reason", required=True, help="退回原因")
    def return_cmd(lx: Lianxin, number: int, phone: str, reason: str) -> None:
        """退回干部的反馈，要求整改 / send a cadre's feedback back for rework."""
        require_schema(lx)
        try:
            with lx.session() as s:
                a = tasks.return_feedback(
                    s,
                    number=number,
                    phone=phone,
                    reason=reason,
                    actor="cli",
                    now=lx.now(),
                    words=lx.wording().task_returned(reason),
                )
                name = a.cadre.name
        except tasks.TaskError as e:
            raise click.ClickException(str(e)) from None
        click.echo(f"已退回 {name} 对第{number}号督办卡的反馈，并通知本人。")


def task_extend(parent: click.Group) -> None:
    @command(parent, "extend")
    @click.argument("number", type=int)
    @click.argument("phone")
    @click.option("--grant/--refuse", default=True, help="同意（默认）或不同意延期申请")
    @click.option("--until", "until", default=None, help="同意时改为此日期（默认按申请）")
    @click.option("--reason", default="", help="不同意时的说明")
    def extend_cmd(lx: Lianxin, number: int, phone: str, grant: bool, until: str | None, reason: str) -> None:
        """答复延期申请 / grant or refuse an extension."""
        require_schema(lx)
        day = parse_when(until, lx.config.tz, what="--until").date() if until else None
        try:
            with lx.session() as s:
                a = tasks.answer_extension(
                    s,
                    number=number,
                    phone=phone,
                    grant=grant,
                    actor="cli",
                    now=lx.now(),
                    until=day,
                    reason=reason,
                    tz=lx.config.tz,
                    words=lx.wording().extension_answered(lx.config.tz, reason),
                )
                name, deadline = a.cadre.name, a.deadline
        except tasks.TaskError as e:
            raise click.ClickException(str(e)) from None
        click.echo(f"{'已同意' if grant else '未同意'} {name} 的延期申请；截止时间 {_local(lx, deadline)}。")


def task_cancel(parent: click.Group) -> None:
    @command(parent, "cancel")
    @click.argument("number", type=int)
    def cancel_cmd(lx: Lianxin, number: int) -> None:
        """撤销督办卡 / cancel a card."""
        require_schema(lx)
        try:
            with lx.session() as s:
                tasks.cancel_task(s, number=number, actor="cli", now=lx.now())
        except tasks.TaskError as e:
            raise click.ClickException(str(e)) from None
        click.echo(f"督办卡第{number}号已撤销。")


def task_overdue(parent: click.Group) -> None:
    @command(parent, "overdue")
    def overdue_cmd(lx: Lianxin) -> None:
        """逾期名单 / the overdue list."""
        require_schema(lx)
        with lx.session() as s:
            rows = tasks.overdue(s, now=lx.now())
        if not rows:
            click.echo("没有逾期未反馈的督办卡。")
        for r in rows:
            click.echo(
                f"第{r.task_number}号 {r.task_title}  {r.village} {r.cadre_name} {r.phone}  截止 {_local(lx, r.deadline)}"
            )


def jobs_group(parent: click.Group) -> click.Group:
    @parent.group("jobs")
    def group() -> None:
        """定时任务 / scheduled jobs."""

    return group


def jobs_list(parent: click.Group) -> None:
    @command(parent, "list")
    def jobs_list_cmd(lx: Lianxin) -> None:
        """每个定时任务及下次运行时间 / each job and its next run."""
        require_schema(lx)
        for j in scheduler.list_jobs(lx):
            nxt = _local(lx, j["next_run"]) if j["next_run"] else "暂停"
            click.echo(
                f"{j['name']:<20} {JOB_ZH.get(j['name'], '')}  下次 {nxt}   {trigger_zh(str(j['trigger']))}"
            )
        held = scheduler.lease_holder(lx)
        click.echo(
            f"当前调度进程：{held[0]}"
            if held
            else "当前没有运行中的调度进程（lianxin scheduler 或 lianxin serve）。"
        )


def jobs_run(parent: click.Group) -> None:
    @command(parent, "run")
    @click.argument("name")
    @click.option("--now", "now", default=None, help="假定的当前时间 ISO（默认现在）")
    def jobs_run_cmd(lx: Lianxin, name: str, now: str | None) -> None:
        """立即运行一个定时任务 / run one job now (as if the clock read --now)."""
        require_schema(lx)
        if name not in jobs.JOBS:
            raise click.BadParameter(f"未知任务 {name}；可选：{', '.join(jobs.JOBS)}", param_hint="NAME")
        at = parse_when(now, lx.config.tz, what="--now") if now else lx.now()
        result = jobs.run(lx, name, at)
        click.echo(result.words())


def scheduler_command(parent: click.Group) -> None:
    @command(parent, "scheduler")
    def scheduler_cmd(lx: Lianxin) -> None:
        """只运行调度器（每个数据库只有一个在工作）/ run only the scheduler (one active per database)."""
        require_schema(lx)
        scheduler.run_forever(lx, echo=lambda m: click.echo(m))


def dispatch_command(parent: click.Group) -> None:
    @command(parent, "dispatch")
    @click.option(
        "--interval",
        default=None,
        type=float,
        help="两轮之间的秒数（默认 [scheduler] dispatch_interval_seconds）",
    )
    @click.option("--once", is_flag=True, help="只投递一轮")
    def dispatch_cmd(lx: Lianxin, interval: float | None, once: bool) -> None:
        """投递进程：循环发送待发消息并下载媒体（可多开，PostgreSQL 上分摊）/ a dispatcher loop."""
        require_schema(lx)
        wait = interval if interval is not None else lx.config.scheduler.dispatch_interval_seconds
        stop = threading.Event()
        if not once:
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            signal.signal(signal.SIGINT, lambda *_: stop.set())
        while True:
            result = jobs.run(lx, "dispatch_outbox", lx.now())
            if once or result.sent or result.detail.get("failed"):
                click.echo(result.words())
            if once or stop.wait(wait):
                break


def outbox_command(parent: click.Group) -> None:
    @command(parent, "outbox")
    @click.option("--failed", is_flag=True, help="只列出发送失败的消息")
    @click.option(
        "--expired",
        is_flag=True,
        help="只列出过期未发的提醒（时段已过，不再补发）/ reminders dropped as expired",
    )
    @click.option("--retry", "retry_id", type=int, default=None, help="把失败的消息重新排队")
    @click.option("--resume", is_flag=True, help="原因已消除：立即恢复暂停的投递 / resume held delivery now")
    @click.option("--limit", default=50, show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="JSON 输出")
    def outbox_cmd(
        lx: Lianxin,
        failed: bool,
        expired: bool,
        retry_id: int | None,
        resume: bool,
        limit: int,
        as_json: bool,
    ) -> None:
        """待发消息队列、暂停原因与失败消息 / the outbox, why delivery is held, and its failures."""
        require_schema(lx)
        if resume:
            _resume(lx)
            return
        if retry_id is not None:
            _retry(lx, retry_id)
            return
        with lx.read_session() as s:
            counts = delivery.outbox_counts(s)
            rows = delivery.list_outbox(
                s, status="failed" if failed else "expired" if expired else None, limit=limit
            )
        held = holds.active(lx)
        if as_json:
            click.echo(json.dumps(_outbox_json(counts, held, rows), ensure_ascii=False, indent=2))
            return
        _echo_outbox(lx, counts, held, rows)


def _resume(lx: Lianxin) -> None:
    """``--resume``: the office says the cause is gone; lift every hold and try a delivery now."""
    n = holds.resume_now(lx, lx.now())
    if n == 0:
        click.echo("没有暂停的投递。")
        return
    r = delivery.dispatch_outbox(lx)
    still = holds.active(lx)
    click.echo(
        f"已试投：发出 {r.sent} 条"
        + (f"；仍暂停：{'、'.join(_scope_zh(h.scope) for h in still)}" if still else "；投递已恢复。")
    )
    for h in still:
        why, todo = holds.describe(h)
        click.echo(f"  {_scope_zh(h.scope)}：{why}\n    处理：{todo}")


def _retry(lx: Lianxin, retry_id: int) -> None:
    """``--retry ID``: a failed message queued again (audited)."""
    try:
        with lx.session() as s:
            delivery.retry(s, retry_id, now=lx.now(), actor="cli")
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"消息 {retry_id} 已重新排队。")


def _outbox_json(counts: dict[str, int], held: list[Any], rows: list[Any]) -> dict[str, Any]:
    """``--json``: the queue's counts, the holds with why and what to do, and the listed messages."""
    return {
        "counts": counts,
        "held": [
            {
                "scope": h.scope,
                "errcode": h.errcode,
                "why": holds.describe(h)[0],
                "todo": holds.describe(h)[1],
                "since": h.since.isoformat(),
                "next_probe_at": h.next_probe_at.isoformat(),
            }
            for h in held
        ],
        "messages": [
            {
                "id": m.id,
                "status": m.status,
                "kind": m.kind,
                "openid": m.openid,
                "attempts": m.attempts,
                "channel": m.channel,
                "last_error": m.last_error,
                "key": m.idempotency_key,
                "created_at": m.created_at.isoformat(),
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                "expires_at": m.expires_at.isoformat() if m.expires_at else None,
            }
            for m in rows
        ],
    }


def _scope_zh(scope: str) -> str:
    """What a hold stops (reminders/holds.py scope): every push, or one kind."""
    return "全部推送" if scope == "all" else f"“{PUSH_KIND_ZH.get(scope, scope)}”类推送"


def _target_zh(target: Any) -> str:
    """A card's target as the office says it (the console's filter says the same): 全体干部, 村 name, 干部 phone."""
    if str(target) == "all":
        return "全体干部"
    kind, _, label = str(target).partition(":")
    return {"village": label, "cadre": f"干部 {label}", "township": label}.get(kind, label)


_CHANNEL_ZH = {"custom": "客服消息", "template": "模板消息"}


def _echo_outbox(lx: Lianxin, counts: dict[str, int], held: list[Any], rows: list[Any]) -> None:
    """The same for a person: counts, a 45009 pause, each hold with what to do, one line per message."""
    click.echo("队列：" + ("，".join(f"{status_zh(k)} {v}" for k, v in sorted(counts.items())) or "空"))
    for idle in why_idle(lx):
        click.echo(f"没有发出：{idle.why}\n  处理：{idle.todo}")
    until = delivery.paused_until(lx)
    if until:
        click.echo(f"发送已暂停（45009 当日接口额度用完）至 {_local(lx, until)}")
    for h in held:
        why, todo = holds.describe(h)
        scope = _scope_zh(h.scope)
        click.echo(
            f"{scope}暂停投递（自 {_local(lx, h.since)}，消息保留，不会丢失）：{why}\n  处理：{todo}\n"
            f"  下次自动试投：{_local(lx, h.next_probe_at)}；原因消除后也可执行 lianxin outbox --resume"
        )
    for m in rows:
        text = shorten((m.payload or {}).get("text") or "", 40)
        err = f"  错误: {m.last_error}" if m.last_error else ""
        if m.status == "expired" and m.expires_at:
            err += f"  已过期（时段结束于 {_local(lx, m.expires_at)}，不再补发）"
        click.echo(
            f"{m.id:>6} {status_zh(m.status)} {PUSH_KIND_ZH.get(m.kind, m.kind)} {mask_openid(m.openid)}"
            f" 尝试{m.attempts}次 {_CHANNEL_ZH.get(m.channel or '', '-')}  {text}{err}"
        )


def register(main: click.Group) -> None:
    """Add this file's commands to ``lianxin``."""
    task = task_group(main)
    for add in (task_create, task_list, task_show, task_return, task_extend, task_cancel, task_overdue):
        add(task)
    job = jobs_group(main)
    for add in (jobs_list, jobs_run):
        add(job)
    for add in (scheduler_command, dispatch_command, outbox_command):
        add(main)
