"""Small pieces every chat feature uses: who is talking, command predicates, local time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from handlers import keywords
from handlers.base import Context, Message, Predicate
from storage.models import Cadre, VillagerRequest, WechatIdentity

# ---------------------------------------------------------------------------------------------- who


def is_cadre(ctx: Context) -> bool:
    return ctx.identity.kind == "cadre" and ctx.identity.cadre_id is not None


def is_villager(ctx: Context) -> bool:
    return ctx.identity.kind == "villager" and ctx.identity.household_id is not None


def is_unknown(ctx: Context) -> bool:
    return not (is_cadre(ctx) or is_villager(ctx))


def unbound_or_villager(ctx: Context) -> bool:
    """Accounts a service card can (re)link: not yet bound, or already a household's."""
    return is_unknown(ctx) or is_villager(ctx)


def cadre_of(ctx: Context) -> Cadre:
    cadre = ctx.session.get(Cadre, ctx.identity.cadre_id)
    assert cadre is not None, "is_cadre() guards every cadre route"
    return cadre


def own_request(ctx: Context, cadre: Cadre, number: int | None) -> VillagerRequest | None:
    """Request ``number`` when it is ``cadre``'s; another cadre's is None exactly like a missing one (numbers
    reveal nothing), for 回复, 转办 and 调解 alike."""
    if number is None:
        return None
    req = ctx.session.scalar(select(VillagerRequest).where(VillagerRequest.number == number))
    return req if req is not None and req.cadre_id == cadre.id else None


def cadre_openid(session: Session, cadre_id: int) -> str | None:
    """The WeChat account bound to a cadre (the most recently bound one), or None."""
    return session.scalar(_CADRE_OPENID, {"b_cadre": cadre_id})


_CADRE_OPENID = (  # built once per process: every villager request runs it
    select(WechatIdentity.openid)
    .where(WechatIdentity.cadre_id == bindparam("b_cadre"), WechatIdentity.kind == "cadre")
    .order_by(WechatIdentity.bound_at.desc().nullslast(), WechatIdentity.id.desc())
    .limit(1)
)


# ---------------------------------------------------------------------------------------- predicates


def command(name: str, *, bare_only: bool = False) -> Predicate:
    """A predicate matching the keyword ``name`` (any synonym/width/Traditional form); hands over ``rest``."""

    def match(ctx: Context, msg: Message) -> dict[str, Any] | None:
        if msg.kind != "text":
            return None
        parsed = keywords.parse(msg.text)
        if parsed is None or parsed.name != name:
            return None
        if bare_only and parsed.rest:
            return None
        return {"rest": parsed.rest}

    return match


def kinds(*names: str) -> Predicate:
    def match(ctx: Context, msg: Message) -> dict[str, Any] | None:
        return {} if msg.kind in names else None

    return match


# ------------------------------------------------------------------------------------------- time


def local_time_text(ctx: Context, moment: datetime) -> str:
    return moment.astimezone(ctx.config.tz).strftime("%H:%M")
