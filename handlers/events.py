"""Follow (subscribe) and unfollow events. An unfollowed account is marked unreachable, never deleted:
its requests, diary and history stay, and a later follow makes it reachable again."""

from __future__ import annotations

from typing import Any

from handlers.base import Context, Message, Route, Router, anyone
from handlers.common import cadre_of, is_cadre
from handlers.guide import show
from storage.models import Cadre
from storage.reachability import UNFOLLOWED, mark_reachable, mark_unreachable
from storage.tasks import office_recipients


def _event(name: str) -> Any:
    def match(ctx: Context, msg: Message) -> dict[str, Any] | None:
        return {} if msg.kind == "event" and msg.event == name else None

    return match


def subscribe(ctx: Context, msg: Message) -> str:
    mark_reachable(ctx.identity)
    ctx.session.flush()
    return show(ctx, msg)


def unsubscribe(ctx: Context, msg: Message) -> None:
    ident = ctx.identity
    newly = mark_unreachable(ident, UNFOLLOWED, unfollowed=True, now=ctx.now())
    if newly and is_cadre(ctx):
        # Nothing reaches this cadre any more: the office hears it now, not when a push fails; their villagers'
        # requests go to the office from now on (handlers/request_routing.py).
        tell_office_cadre_unreachable(ctx, cadre_of(ctx), unfollowed=True)
    ctx.session.flush()
    return None  # WeChat delivers nothing to an account that just unfollowed


def tell_office_cadre_unreachable(ctx: Context, cadre: Cadre, *, unfollowed: bool) -> None:
    text = ctx.render("cadre_unreachable_notice", cadre=cadre, unfollowed=unfollowed)
    sched = ctx.config["scheduler"]
    offices = office_recipients(
        ctx.session,
        sched["office_openids"],
        township_id=cadre.township_id,
        by_township=sched["township_office_openids"],
    )
    stamp = int(ctx.now().timestamp())
    for openid in offices:
        ctx.outbox.enqueue(
            openid,
            "notice",
            text,
            key=f"cadre-unreachable:{ctx.identity.openid}:{stamp}:{openid}",
            template={"title": f"{cadre.name}的微信无法接收", "text": "其联系户诉求将转给办公室"},
        )


def other_event(ctx: Context, msg: Message) -> None:
    """Menu clicks, location reports, template-send receipts …: nothing to say."""
    return None


def _any_event(ctx: Context, msg: Message) -> dict[str, Any] | None:
    return {} if msg.kind == "event" else None


router = Router(
    "events",
    anyone,
    (
        Route("events.subscribe", _event("subscribe"), subscribe),
        Route("events.unsubscribe", _event("unsubscribe"), unsubscribe),
        Route("events.other", _any_event, other_event),
    ),
)
