"""Follow (subscribe) and unfollow events. An unfollowed account is marked unreachable, never deleted:
its requests, diary and history stay, and a later follow makes it reachable again."""

from __future__ import annotations

from typing import Any

from handlers.base import Context, Message, Route, Router, anyone
from handlers.guide import show


def _event(name: str) -> Any:
    def match(ctx: Context, msg: Message) -> dict[str, Any] | None:
        return {} if msg.kind == "event" and msg.event == name else None

    return match


def subscribe(ctx: Context, msg: Message) -> str:
    ident = ctx.identity
    ident.subscribed = True
    ident.unsubscribed_at = None
    ident.unreachable = False
    ident.unreachable_reason = None
    ctx.session.flush()
    return show(ctx, msg)


def unsubscribe(ctx: Context, msg: Message) -> None:
    ident = ctx.identity
    ident.subscribed = False
    ident.unsubscribed_at = ctx.now()
    ident.unreachable = True
    ident.unreachable_reason = "取消关注"
    ctx.session.flush()
    return None  # WeChat delivers nothing to an account that just unfollowed


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
