"""Custom-menu clicks (event CLICK): one menu serves villagers and cadres, so each key answers by who taps.

Every CLICK key answers exactly as its chat command would (the same handler, given the command's empty
argument); a key meant for the other audience gets a short note and that account's help. The menu itself
(the default buttons, validation against the platform's limits, ``menu/create``) is in bot/wechat/menu.py;
the keys are named here because only here is it known what they do.

Source for the event: WeChat pushes ``<MsgType>event</MsgType><Event>CLICK</Event><EventKey>KEY</EventKey>``
(https://developers.weixin.qq.com/doc/service/guide/product/message/Receiving_event_pushes.html, docs/wechat-rules.md §3e).
VIEW clicks (a console page opened) need no answer and fall to events.other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from handlers import guide, me, policy, tasks
from handlers.base import Context, Message, Route, Router, anyone
from handlers.common import is_cadre, is_villager
from storage.models import Cadre, Household, Link

# key -> the chat command it stands for (shown in docs and in `lianxin wechat menu`)
CONTACT, TASKS, MONTH, POLICY, HELP, HOUSEHOLDS = (
    "LX_CONTACT",
    "LX_TASKS",
    "LX_MONTH",
    "LX_POLICY",
    "LX_HELP",
    "LX_HOUSEHOLDS",
)
KEYS: dict[str, str] = {
    CONTACT: "联系干部（干部：农户）",
    TASKS: "任务",
    MONTH: "本月",
    POLICY: "政策",
    HELP: "帮助",
    HOUSEHOLDS: "农户",
}


def _contact(ctx: Context, msg: Message) -> str:
    """Villager: the linked cadre (name, post, phone). Cadre: my households. Not yet bound: how to link."""
    if is_cadre(ctx):
        return me.households(ctx, msg, "")
    if is_villager(ctx):
        link = ctx.session.scalar(select(Link).where(Link.household_id == ctx.identity.household_id).limit(1))
        cadre = ctx.session.get(Cadre, link.cadre_id) if link else None
        household = ctx.session.get(Household, ctx.identity.household_id)
        return ctx.render("menu_contact", cadre=cadre, household=household)
    return ctx.render("welcome")


def _cadre_only(answer: Callable[[Context, Message, str], str]) -> Callable[[Context, Message], str]:
    def run(ctx: Context, msg: Message) -> str:
        if is_cadre(ctx):
            return answer(ctx, msg, "")
        return ctx.render("menu_cadre_only") + "\n\n" + guide.show(ctx, msg)

    return run


ANSWERS: dict[str, Callable[[Context, Message], str]] = {
    CONTACT: _contact,
    TASKS: _cadre_only(tasks.my_tasks),
    MONTH: _cadre_only(me.month),
    HOUSEHOLDS: _cadre_only(me.households),
    POLICY: lambda ctx, msg: policy.lookup(ctx, msg, ""),
    HELP: lambda ctx, msg: guide.show(ctx, msg),
}


def _click(ctx: Context, msg: Message) -> dict[str, Any] | None:
    return {} if msg.kind == "event" and (msg.event or "").upper() == "CLICK" else None


def click(ctx: Context, msg: Message) -> str:
    answer = ANSWERS.get((msg.event_key or "").strip())
    if answer is None:  # a key from an older menu, or typed into [wechat.menu] wrongly
        return ctx.render("menu_unknown_key") + "\n\n" + guide.show(ctx, msg)
    return answer(ctx, msg)


router = Router("menu", anyone, (Route("menu.click", _click, click),))
