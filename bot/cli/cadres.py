"""``lianxin cadre list|handover|retire|phone|edit`` and ``lianxin household move`` (issue 24 items 1–4: people
change over a year). Thin wrappers over storage/cadres.py and storage/handover.py; every change is audited there.
"""

from __future__ import annotations

import json
from datetime import date

import click

from bot.cli.base import command, require_schema
from handlers import link_notices
from storage import cadres, handover
from storage.cadres import CadreError
from storage.handover import Handed, HandoverError
from storage.periods import local_day
from storage.runtime import Lianxin

ACTOR = "cli"


def _said(handed: Handed, name: str) -> str:
    return (
        f"已将 {len(handed.households)} 户交给 {name}：随户转交未答复诉求 {len(handed.requests)} 条、"
        f"督办卡 {len(handed.cards)} 张，已通知农户微信 {handed.villagers_told} 个；"
        "服务卡需重新发放，承诺书需重新签订。"
    )


def register(main: click.Group) -> None:
    @main.group("cadre")
    def cadre_group() -> None:
        """联户干部：名单、交接、退出、改电话 / cadres: list, hand over, retire, change phone."""

    @main.group("household")
    def household_group() -> None:
        """农户：转给另一名干部 / households: move to another cadre."""

    _list_and_handover(cadre_group)
    _retire_phone_edit(cadre_group)
    _move(household_group)


def _list_and_handover(cadre_group: click.Group) -> None:
    @command(cadre_group, "list")
    @click.option("--village", default=None, help="只列该村的干部 / one village's cadres")
    @click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
    def list_cmd(lx: Lianxin, village: str | None, fmt: str) -> None:
        """干部名单（联系户数、是否绑定微信、在岗或已退出）/ the cadres, with households, binding and status."""
        require_schema(lx)
        with lx.read_session() as s:
            rows = cadres.listing(s, village)
        if fmt == "json":
            click.echo(json.dumps({"cadres": rows}, ensure_ascii=False, indent=2))
            return
        for r in rows:
            status = "在岗" if r["status"] == "active" else f"已退出（{r['retired_on'] or ''}）"
            bound = "已绑定" if r["bound"] else "未绑定"
            click.echo(
                f"{r['name']}\t{r['phone']}\t{r['post']}\t{r['village']}\t{r['households']}户\t{bound}\t{status}"
            )

    @command(cadre_group, "handover")
    @click.argument("phone")
    @click.option("--to", "to", required=True, help="接手干部的电话 / the successor's phone")
    @click.option("--name", default=None, help="新干部姓名（接手者还不是干部时）/ a new successor's name")
    @click.option("--post", default=None, help="新干部岗位 / a new successor's post")
    @click.option("--village", default=None, help="新干部所在村（默认同交出者）/ a new successor's village")
    @click.option("--card", "cards", multiple=True, help="只交接这些卡号的农户（可重复）/ only these cards")
    def handover_cmd(
        lx: Lianxin,
        phone: str,
        to: str,
        name: str | None,
        post: str | None,
        village: str | None,
        cards: tuple[str, ...],
    ) -> None:
        """把干部联系的农户（全部或 --card 指定的）从现在起交给另一名干部 / hand households to a successor."""
        require_schema(lx)
        words = link_notices.handover_words(lx.wording(), lx.config.tz)
        try:
            with lx.session() as s:
                old = cadres.find(s, phone)
                new, made = cadres.successor(
                    s, to, name=name, post=post, village=village, like=old, actor=ACTOR
                )
                if new.id == old.id:
                    raise CadreError("交出和接手的是同一名干部")
                ids = handover.households_of(s, old.id, cards)
                handed = handover.hand_over(
                    s,
                    household_ids=ids,
                    successor=new,
                    actor=ACTOR,
                    now=lx.now(),
                    words=words,
                    config=lx.config,
                )
                new_name = new.name
        except (CadreError, HandoverError) as e:
            raise click.ClickException(str(e)) from None
        if made:
            phone2 = cadres.valid_phone(to)
            click.echo(
                f"已新建干部 {new_name}（{phone2}），请用 lianxin bind-code {phone2} 为其生成微信绑定码"
            )
        click.echo(_said(handed, new_name))


def _retire_phone_edit(cadre_group: click.Group) -> None:
    @command(cadre_group, "retire")
    @click.argument("phone")
    @click.option("--date", "on", default=None, help="退出日期 YYYY-MM-DD（默认今天）/ the retire date")
    def retire_cmd(lx: Lianxin, phone: str, on: str | None) -> None:
        """干部退出（须先交接全部农户）：不再收提醒、督办卡和推送，微信解除绑定 / retire a cadre."""
        require_schema(lx)
        try:
            day = date.fromisoformat(on) if on else local_day(lx.now(), lx.config.tz)
        except ValueError:
            raise click.ClickException(f"日期 {on} 应写作 YYYY-MM-DD") from None
        try:
            with lx.session() as s:
                cadre = cadres.find(s, phone)
                done = cadres.retire(
                    s, cadre, on=day, actor=ACTOR, now=lx.now(), words=link_notices.cadre_retired
                )
                name = cadre.name
        except CadreError as e:
            raise click.ClickException(str(e)) from None
        click.echo(
            f"干部 {name} 自 {day.isoformat()} 退出：撤回未到期督办卡 {len(done.cards_withdrawn)} 张，"
            f"解除微信绑定 {done.accounts_released} 个，作废绑定码 {done.codes_voided} 个；历史记录保留。"
        )

    @command(cadre_group, "phone")
    @click.argument("old")
    @click.argument("new")
    def phone_cmd(lx: Lianxin, old: str, new: str) -> None:
        """改干部电话（联系户、微信绑定和历史都保留）/ change a cadre's phone, keeping everything."""
        require_schema(lx)
        try:
            with lx.session() as s:
                cadre = cadres.find(s, old)
                was = cadres.change_phone(s, cadre, new, actor=ACTOR)
                name, now_phone = cadre.name, cadre.phone
        except CadreError as e:
            raise click.ClickException(str(e)) from None
        click.echo(f"干部 {name} 的电话已由 {was} 改为 {now_phone}")

    @command(cadre_group, "edit")
    @click.argument("phone")
    @click.option("--name", default=None, help="更正姓名 / the corrected name")
    @click.option("--post", default=None, help="更正岗位 / the corrected post")
    def edit_cmd(lx: Lianxin, phone: str, name: str | None, post: str | None) -> None:
        """更正干部姓名、岗位 / correct a cadre's name and post."""
        require_schema(lx)
        try:
            with lx.session() as s:
                cadre = cadres.find(s, phone)
                changed = cadres.correct(
                    s,
                    cadre,
                    name=name if name is not None else cadre.name,
                    post=post if post is not None else (cadre.post or ""),
                    actor=ACTOR,
                )
                shown = f"{cadre.name}（{cadre.post or '无岗位'}）"
        except CadreError as e:
            raise click.ClickException(str(e)) from None
        click.echo(f"已更正为 {shown}" if changed else "没有改动")


def _move(household_group: click.Group) -> None:
    @command(household_group, "move")
    @click.argument("card")
    @click.option("--cadre", "phone", required=True, help="接手干部的电话 / the new cadre's phone")
    def move_cmd(lx: Lianxin, card: str, phone: str) -> None:
        """把一户转给另一名干部（同交接）/ move one household to another cadre, as a handover."""
        require_schema(lx)
        words = link_notices.handover_words(lx.wording(), lx.config.tz)
        try:
            with lx.session() as s:
                household = handover.household_of_card(s, card)
                new = cadres.find(s, phone)
                handed = handover.hand_over(
                    s,
                    household_ids=[household.id],
                    successor=new,
                    actor=ACTOR,
                    now=lx.now(),
                    words=words,
                    config=lx.config,
                )
                new_name = new.name
        except (CadreError, HandoverError) as e:
            raise click.ClickException(str(e)) from None
        if not handed.households:
            click.echo(f"该户已由 {new_name} 联系，没有改动")
            return
        click.echo(_said(handed, new_name))
