"""Follow (subscribe) and unfollow events. An unfollowed account is marked unreachable, never deleted:
its requests, diary and history stay, and a later follow makes it reachable again."""

from __future__ import annotations

from typing import Any

from handlers import request_notices, unreachable_notices
from handlers.base import Context, Message, Route, Router, anyone
from handlers.common import cadre_of, is_cadre
from handlers.guide import show
from storage import push_receipts, requests
from storage.push_receipts import TEMPLATE_JOB_FINISHED
from storage.reachability import REFUSED, UNFOLLOWED, mark_reachable, mark_unreachable


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
        # requests go to the office from now on (storage/requests.py).
        unreachable_notices.cadre_unreachable(
            ctx.session, ident, cadre_of(ctx), unfollowed=True, config=ctx.config, now=ctx.now()
        )
    ctx.session.flush()
    return None  # WeChat delivers nothing to an account that just unfollowed


def template_finished(ctx: Context, msg: Message) -> None:
    """WeChat's late word on a template message (``TEMPLATESENDJOBFINISH``, storage/push_receipts.py): a push
    that failed after all is marked; one the person refused marks them as refusing messages (no more tries until
    they write to us; the office told once) and a villager's request that never reached its cadre goes to the
    office. Nothing is said back: the event is WeChat's, not the person's."""
    raw = msg.raw
    msgid = (raw.get("MsgID") or raw.get("MsgId") or "").strip()
    status = (raw.get("Status") or "").strip()
    row = push_receipts.template_job_finished(
        ctx.session, openid=ctx.identity.openid, msgid=msgid, status=status
    )
    if row is None or row.status != "refused":
        return None
    ident = ctx.identity
    reason = f"{REFUSED}（{status}）"
    if mark_unreachable(ident, reason, unfollowed=False, now=ctx.now()):
        unreachable_notices.refuses_messages(
            ctx.session, ident, reason=reason, config=ctx.config, now=ctx.now()
        )
    number = str(((row.payload or {}).get("template") or {}).get("number", ""))
    if row.kind == "request" and is_cadre(ctx) and number.isdigit():
        if requests.reroute(
            ctx.session,
            number=int(number),
            reason=reason,
            key=row.idempotency_key,
            words=request_notices.WORDS,
            config=ctx.config,
            now=ctx.now(),
        ):
            row.status, row.last_error = "failed", f"{row.last_error}（诉求已转办公室）"
    ctx.session.flush()
    return None


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
        Route("events.template_finished", _event(TEMPLATE_JOB_FINISHED), template_finished),
        Route("events.other", _any_event, other_event),
    ),
)
